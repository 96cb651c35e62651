/* Writes the demo corpus and long demo recordings to disk (16-bit PCM WAV through libsndfile). */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "demo/demo_internal.h"

#define MAX_PER_CLASS 100000

void demo_corpus_opts_default(demo_corpus_opts *o)
{
    *o = (demo_corpus_opts){.per_class = 100, .seed = 1};
}

static int write_wav(const char *path, const float *x, size_t n, aa_error *err)
{
    SF_INFO info = {.samplerate = DEMO_RATE, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    if (!f)
        return aa_error_set(err, AA_ERR_IO, "%s: cannot create (%s)", path, sf_strerror(NULL));
    /* Samples are kept inside (-1, 1) by the generator; clipping mode only guards the conversion. */
    sf_command(f, SFC_SET_CLIPPING, NULL, SF_TRUE);
    sf_count_t w = sf_write_float(f, x, (sf_count_t)n);
    int bad = w != (sf_count_t)n;
    if (sf_close(f) != 0 || bad) {
        remove(path);
        return aa_error_set(err, AA_ERR_IO, "%s: write failed", path);
    }
    return 0;
}

/* Removes what the corpus writer made under tmp: files of known names, then the folders. */
static void remove_partial(const char *tmp)
{
    for (int c = 0; c < DEMO_N_CLASSES; c++) {
        char *dir = aa_path_join(tmp, demo_class_name(c));
        if (!dir)
            continue;
        DIR *d = opendir(dir);
        if (d) {
            for (struct dirent *e; (e = readdir(d));) {
                if (e->d_name[0] == '.')
                    continue;
                char *p = aa_path_join(dir, e->d_name);
                if (p)
                    remove(p);
                free(p);
            }
            closedir(d);
        }
        rmdir(dir);
        free(dir);
    }
    char *m = aa_path_join(tmp, "manifest.tsv");
    if (m)
        remove(m);
    free(m);
    rmdir(tmp);
}

/* 0 if dir is absent or an empty folder (*exists says which), else an error naming the problem. */
static int check_target(const char *dir, int *exists, aa_error *err)
{
    struct stat st;
    *exists = 0;
    if (lstat(dir, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        return aa_error_set(err, AA_ERR_IO, "%s: cannot check (%s)", dir, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode))
        return aa_error_set(err, AA_ERR_IO, "%s: exists and is not a folder; choose a new name", dir);
    DIR *d = opendir(dir);
    if (!d)
        return aa_error_set(err, AA_ERR_IO, "%s: cannot read (%s)", dir, strerror(errno));
    int entries = 0;
    for (struct dirent *e; (e = readdir(d));)
        entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    if (entries)
        return aa_error_set(err, AA_ERR_IO, "%s: exists and is not empty; choose a new folder", dir);
    *exists = 1;
    return 0;
}

int demo_corpus_write(const char *dir, const demo_corpus_opts *opts, aa_error *err)
{
    demo_corpus_opts def;
    demo_corpus_opts_default(&def);
    const demo_corpus_opts *o = opts ? opts : &def;
    if (o->per_class < 6 || o->per_class > MAX_PER_CLASS)
        return aa_error_set(err, AA_ERR_ARG, "demo corpus: %d clips per class; allowed 6 to %d", o->per_class,
                            MAX_PER_CLASS);
    int exists, rc = check_target(dir, &exists, err);
    if (rc)
        return rc;
    size_t tn = strlen(dir) + 48;
    char *tmp = malloc(tn);
    if (!tmp)
        return aa_error_set(err, AA_ERR_NOMEM, "out of memory");
    /* A sibling of DIR, so the final rename stays on one file system. */
    snprintf(tmp, tn, "%s.tmp.%ld", dir, (long)getpid());
    if (mkdir(tmp, 0777) != 0) {
        rc = aa_error_set(err, AA_ERR_IO, "%s: cannot create (%s)", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    FILE *man = NULL;
    char *man_path = aa_path_join(tmp, "manifest.tsv");
    if (!man_path || !(man = fopen(man_path, "w")))
        rc = aa_error_set(err, AA_ERR_IO, "%s: cannot create manifest.tsv", tmp);
    else
        fprintf(man, "path\tclass\tgroup\tduration_s\n");
    for (int c = 0; !rc && c < DEMO_N_CLASSES; c++) {
        const char *name = demo_class_name(c);
        char *cdir = aa_path_join(tmp, name);
        if (!cdir || mkdir(cdir, 0777) != 0) {
            rc = aa_error_set(err, AA_ERR_IO, "%s/%s: cannot create (%s)", tmp, name, strerror(errno));
            free(cdir);
            break;
        }
        for (int i = 0; !rc && i < o->per_class; i++) {
            float *x;
            size_t n;
            /* Clips 2j and 2j+1 of every class belong to person (or place) j. */
            uint64_t who = (uint64_t)i / 2;
            if ((rc = demo_clip(&x, &n, c, (uint64_t)i, who, o->seed, err)))
                break;
            char file[32], path_rel[96];
            snprintf(file, sizeof file, "%04d.wav", i);
            char *p = aa_path_join(cdir, file);
            rc = p ? write_wav(p, x, n, err) : aa_error_set(err, AA_ERR_NOMEM, "out of memory");
            snprintf(path_rel, sizeof path_rel, "%s/%s", name, file);
            fprintf(man, "%s\t%s\t%s_%03llu\t%.3f\n", path_rel, name, c == DEMO_BACKGROUND ? "place" : "person",
                    (unsigned long long)who, (double)n / DEMO_RATE);
            free(p);
            free(x);
        }
        free(cdir);
    }
    if (man && (ferror(man) | fclose(man)) && !rc)
        rc = aa_error_set(err, AA_ERR_IO, "%s: write failed", man_path);
    free(man_path);
    if (!rc && exists && rmdir(dir) != 0)
        rc = aa_error_set(err, AA_ERR_IO, "%s: cannot replace the empty folder (%s)", dir, strerror(errno));
    if (!rc && rename(tmp, dir) != 0)
        rc = aa_error_set(err, AA_ERR_IO, "%s: cannot rename %s to it (%s)", dir, tmp, strerror(errno));
    if (rc)
        remove_partial(tmp);
    free(tmp);
    return rc;
}

int demo_long_write(const char *wav_path, const char *events_path, double seconds, uint64_t seed, aa_error *err)
{
    float *x;
    size_t n, ne;
    demo_event *ev;
    int rc = demo_long(&x, &n, &ev, &ne, seconds, seed, err);
    if (rc)
        return rc;
    size_t tn = strlen(wav_path) + 48;
    char *tmp = malloc(tn);
    if (!tmp) {
        free(x);
        free(ev);
        return aa_error_set(err, AA_ERR_NOMEM, "out of memory");
    }
    /* libsndfile writes by name, so the atomic step is done by hand: a temporary name, then rename. */
    snprintf(tmp, tn, "%s.tmp.%ld.wav", wav_path, (long)getpid());
    rc = write_wav(tmp, x, n, err);
    if (!rc && rename(tmp, wav_path) != 0) {
        rc = aa_error_set(err, AA_ERR_IO, "%s: cannot rename into place (%s)", wav_path, strerror(errno));
        remove(tmp);
    }
    free(tmp);
    free(x);
    if (!rc) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f) {
            rc = aa_error_set(err, AA_ERR_NOMEM, "out of memory");
        } else {
            fprintf(f, "start_s\tend_s\tclass\n");
            for (size_t i = 0; i < ne; i++)
                fprintf(f, "%.3f\t%.3f\t%s\n", ev[i].start, ev[i].end, demo_class_name(ev[i].cls));
            fclose(f);
            rc = aa_write_file_atomic(events_path, buf, len, err);
            free(buf);
        }
    }
    free(ev);
    return rc;
}
