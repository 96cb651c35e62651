/* Models: loading (from a file or from memory), what they know, and the pool of workers that lets one
 * model be shared by threads. */
#define _GNU_SOURCE /* memfd_create */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/lib_internal.h"

_Static_assert(AUDIOAUDIT_VERSION_NUMBER >= 0, "version number");

const char *audioaudit_version(void)
{
    return AA_VERSION;
}

int audioaudit_version_number(void)
{
    return AUDIOAUDIT_VERSION_NUMBER;
}

/* ---- the pool ------------------------------------------------------------------------------------------- */

int aul_take_slot(audioaudit_model *m)
{
    pthread_mutex_lock(&m->mu);
    while (m->whole || m->whole_waiting || m->n_busy == m->workers)
        pthread_cond_wait(&m->cv, &m->mu);
    int slot = 0;
    while (m->busy[slot])
        slot++;
    m->busy[slot] = 1;
    m->n_busy++;
    pthread_mutex_unlock(&m->mu);
    return slot;
}

void aul_give_slot(audioaudit_model *m, int slot)
{
    pthread_mutex_lock(&m->mu);
    m->busy[slot] = 0;
    m->n_busy--;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

void aul_take_all(audioaudit_model *m)
{
    pthread_mutex_lock(&m->mu);
    m->whole_waiting++;
    while (m->whole || m->n_busy)
        pthread_cond_wait(&m->cv, &m->mu);
    m->whole_waiting--;
    m->whole = 1;
    pthread_mutex_unlock(&m->mu);
}

void aul_give_all(audioaudit_model *m)
{
    pthread_mutex_lock(&m->mu);
    m->whole = 0;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

/* ---- loading -------------------------------------------------------------------------------------------- */

static int check_workers(int *workers, audioaudit_error *err)
{
    if (*workers == 0)
        *workers = 1;
    if (*workers < 1 || *workers > AUL_MAX_WORKERS)
        return aul_error_set(err, AUDIOAUDIT_ERR_ARG, "workers %d out of range (1..%d)", *workers,
                             AUL_MAX_WORKERS);
    return 0;
}

static audioaudit_model *wrap(am_model *am, int workers, audioaudit_error *err)
{
    audioaudit_model *m = calloc(1, sizeof *m);
    char *settings = malloc(DSP_SETTINGS_TEXT_MAX);
    if (!m || !settings || pthread_mutex_init(&m->mu, NULL)) {
        free(m);
        free(settings);
        am_free(am);
        aul_error_set(err, AUDIOAUDIT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (pthread_cond_init(&m->cv, NULL)) {
        pthread_mutex_destroy(&m->mu);
        free(m);
        free(settings);
        am_free(am);
        aul_error_set(err, AUDIOAUDIT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    m->am = am;
    m->workers = workers;
    dsp_settings_format(am_dsp(am), settings, DSP_SETTINGS_TEXT_MAX);
    m->settings = settings;
    am_aggregate agg = am_get_aggregate(am);
    am_aggregate_format(&agg, m->aggregate, sizeof m->aggregate);
    aul_error_clear(err);
    return m;
}

audioaudit_model *audioaudit_model_load(const char *path, int workers, audioaudit_error *err)
{
    if (!path)
        return aul_error_set(err, AUDIOAUDIT_ERR_ARG, "model path is NULL"), NULL;
    if (check_workers(&workers, err))
        return NULL;
    /* nn/ reports every failure to open as an I/O error; a missing file is worth its own code. */
    struct stat st;
    if (stat(path, &st) && errno == ENOENT)
        return aul_error_set(err, AUDIOAUDIT_ERR_NOT_FOUND, "%s: no such file", path), NULL;
    aa_error e = {0};
    am_model *am = am_load(path, workers, &e);
    if (!am)
        return aul_error_from(err, &e, AUL_LOAD), NULL;
    return wrap(am, workers, err);
}

/* The message with every occurrence of the stand-in path replaced by what the caller knows the model as. */
static void rename_in(audioaudit_error *err, const char *from, const char *to)
{
    if (!err)
        return;
    char out[AUDIOAUDIT_MESSAGE_MAX];
    size_t n = 0, fl = strlen(from), tl = strlen(to);
    for (const char *p = err->message; *p && n + 1 < sizeof out;) {
        if (!strncmp(p, from, fl)) {
            size_t k = tl < sizeof out - 1 - n ? tl : sizeof out - 1 - n;
            memcpy(out + n, to, k);
            n += k;
            p += fl;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = 0;
    memcpy(err->message, out, n + 1);
}

/* model/ reads models from files only; the bytes go into an anonymous memory file that it opens by its
 * /proc path, so no temporary file is left on a disk. */
audioaudit_model *audioaudit_model_load_memory(const void *data, size_t size, int workers, audioaudit_error *err)
{
    if (!data && size)
        return aul_error_set(err, AUDIOAUDIT_ERR_ARG, "model data is NULL"), NULL;
    if (check_workers(&workers, err))
        return NULL;
    int fd = memfd_create("audioaudit-model", MFD_CLOEXEC);
    if (fd < 0)
        return aul_error_set(err, AUDIOAUDIT_ERR_IO, "model in memory: cannot make a memory file (%s)",
                             strerror(errno)),
               NULL;
    for (size_t done = 0; done < size;) {
        ssize_t w = write(fd, (const char *)data + done, size - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            return aul_error_set(err, e == ENOMEM || e == ENOSPC ? AUDIOAUDIT_ERR_NOMEM : AUDIOAUDIT_ERR_IO,
                                 "model in memory: cannot copy %zu bytes (%s)", size, strerror(e)),
                   NULL;
        }
        done += (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    aa_error e = {0};
    am_model *am = am_load(path, workers, &e);
    close(fd);
    if (!am) {
        aul_error_from(err, &e, AUL_LOAD);
        rename_in(err, path, "model in memory");
        return NULL;
    }
    return wrap(am, workers, err);
}

void audioaudit_model_free(audioaudit_model *m)
{
    if (!m)
        return;
    am_free(m->am);
    free(m->settings);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* ---- what the model knows -------------------------------------------------------------------------------- */

int audioaudit_model_n_classes(const audioaudit_model *m) { return m ? am_n_classes(m->am) : -1; }
const char *audioaudit_model_class_name(const audioaudit_model *m, int c) { return m ? am_class_name(m->am, c) : NULL; }
const char *audioaudit_model_class_label(const audioaudit_model *m, int c) { return m ? am_class_label(m->am, c) : NULL; }
double audioaudit_model_min_confidence(const audioaudit_model *m) { return m ? am_min_confidence(m->am) : -1; }
double audioaudit_model_temperature(const audioaudit_model *m) { return m ? am_temperature(m->am) : -1; }
int audioaudit_model_sample_rate(const audioaudit_model *m) { return m ? am_dsp(m->am)->sample_rate : -1; }
double audioaudit_model_clip_seconds(const audioaudit_model *m) { return m ? am_dsp(m->am)->clip_seconds : -1; }
int audioaudit_model_workers(const audioaudit_model *m) { return m ? m->workers : -1; }
const char *audioaudit_model_arch(const audioaudit_model *m) { return m ? am_arch(m->am) : NULL; }
const char *audioaudit_model_aggregate(const audioaudit_model *m) { return m ? m->aggregate : NULL; }
const char *audioaudit_model_settings(const audioaudit_model *m) { return m ? m->settings : NULL; }
int audioaudit_model_is_respiratory(const audioaudit_model *m) { return m ? am_is_respiratory(m->am) : 0; }
const char *audioaudit_model_task(const audioaudit_model *m) { return m ? am_task_name(am_get_task(m->am)) : NULL; }
const char *audioaudit_model_disclaimer(const audioaudit_model *m) { return m ? am_disclaimer(m->am) : NULL; }

double audioaudit_model_class_threshold(const audioaudit_model *m, int c)
{
    return m && c >= 0 && c < am_n_classes(m->am) ? am_class_threshold(m->am, c) : -1;
}

int audioaudit_model_set_gate(audioaudit_model *m, double p, audioaudit_error *err)
{
    if (!m)
        return aul_error_set(err, AUDIOAUDIT_ERR_ARG, "model is NULL");
    if (!(p >= 0 && p <= 1))
        return aul_error_set(err, AUDIOAUDIT_ERR_ARG, "gate %g outside [0, 1]", p);
    aul_take_all(m);
    am_set_min_confidence(m->am, p);
    aul_give_all(m);
    aul_error_clear(err);
    return 0;
}

int audioaudit_model_selftest(audioaudit_model *m, audioaudit_error *err)
{
    if (!m)
        return aul_error_set(err, AUDIOAUDIT_ERR_ARG, "model is NULL");
    aa_error e = {0};
    am_selftest_report rep;
    aul_take_all(m);
    int rc = am_selftest(m->am, &rep, &e);
    aul_give_all(m);
    if (rc)
        return aul_error_from(err, &e, AUL_OTHER);
    if (!rep.pass)
        return aul_error_set(err, AUDIOAUDIT_ERR_MODEL,
                             "self-test failed: log-mel differs by %.3g dB (tolerance %g), logits by %.3g "
                             "(tolerance %g)",
                             rep.mel_max_abs_diff, rep.mel_tolerance, rep.logit_max_abs_diff, rep.logit_tolerance);
    aul_error_clear(err);
    return 0;
}
