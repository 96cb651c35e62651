/* The feature cache loader on arbitrary files: ds_cache_read, then, for a cache that reads, the checks and
 * uses the trainer makes of it against a listing (ds_cache_check, the split's windows, file weights).
 *
 * Input: one flag byte, then the file (handed over as a memfd named /proc/self/fd/N). With flag bit 0 the
 * target stamps the true file size and both checksums (the header's, at its recorded length, and the
 * whole file's) on the bytes, so that mutations reach the header parser behind them.
 * The listing is of fuzz/fixture_folder.h's folder, made once per process with the files and times the
 * seed cache was built from, so the seed passes ds_cache_check and its mutations test the comparison.
 * Properties: a refused file gets a cache status and one line naming the file; a cache that reads has a
 * decoded signal of its recorded length for each file it did not skip; a check passes or says what is
 * stale; a cache that passes gets features computed from its signals for each window (what the trainer
 * does next), finite, at windows that start inside their files, and gives each split side window indices
 * in range. */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "datasets/datasets.h"
#include "fuzz/fixture_folder.h"

#define REQUIRE(cond)                                                                                         \
    do {                                                                                                      \
        if (!(cond)) {                                                                                        \
            fprintf(stderr, "fuzz_cache: property failed: %s (line %d)\n", #cond, __LINE__);                  \
            abort();                                                                                          \
        }                                                                                                     \
    } while (0)

typedef struct {
    char dir[256];
    ds_list *list;
    ds_split *split;
    dsp_settings s;
    ds_window_opts w;
    int fd;
    char path[64];
} fixture;

static fixture fx; /* made once per process; the folder is removed at exit */

static void remove_folder(void)
{
    static const char *const rel[] = {"cough/a.wav", "cough/b.wav", "normal_breathing/c.wav",
                                      "normal_breathing/bad.wav", "cough", "normal_breathing", ""};
    char path[512];
    for (size_t i = 0; i < sizeof rel / sizeof *rel; i++) {
        snprintf(path, sizeof path, "%s/%s", fx.dir, rel[i]);
        remove(path);
    }
}

static fixture *get_fixture(void)
{
    if (!fx.list) {
        snprintf(fx.dir, sizeof fx.dir, "%s/fuzz-cache-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        REQUIRE(mkdtemp(fx.dir) != NULL);
        atexit(remove_folder);
        REQUIRE(fx_make_folder(fx.dir) == 0);
        aa_error err;
        ds_list_opts lo = {.manifest = ""};
        REQUIRE(ds_list_load(&fx.list, fx.dir, &lo, &err) == 0);
        ds_split_opts so;
        ds_split_opts_default(&so);
        so.frac[0] = 0.5, so.frac[1] = 0.5, so.frac[2] = 0;
        REQUIRE(ds_split_make(&fx.split, fx.list, &so, &err) == 0);
        fx.s = fx_settings();
        fx.w = fx_windows();
        fx.fd = memfd_create("fuzz-cache", MFD_CLOEXEC);
        REQUIRE(fx.fd >= 0);
        snprintf(fx.path, sizeof fx.path, "/proc/self/fd/%d", fx.fd);
    }
    return &fx;
}

static void put(int fd, const uint8_t *data, size_t size)
{
    REQUIRE(ftruncate(fd, 0) == 0);
    for (size_t done = 0; done < size;) {
        ssize_t w = pwrite(fd, data + done, size - done, (off_t)done);
        REQUIRE(w > 0);
        done += (size_t)w;
    }
}

static void exercise(const fixture *f, ds_cache *c)
{
    REQUIRE(c->n_mels == (size_t)c->dsp.n_mels && c->n_frames == dsp_clip_frames(&c->dsp));
    size_t windows = 0, skipped = 0;
    volatile float sink = 0;
    for (size_t i = 0; i < c->n_files; i++) {
        const ds_cache_file *cf = &c->files[i];
        REQUIRE(cf->cls >= 0 && cf->cls < c->n_classes && cf->group < c->n_groups);
        REQUIRE(cf->first_window == windows);
        windows += cf->n_windows;
        skipped += cf->status != 0;
        REQUIRE((cf->status != 0) == (cf->reason != NULL));
        REQUIRE((cf->status != 0) == (c->signal[i] == NULL) && (cf->status != 0) == (cf->n_samples == 0));
        if (c->signal[i]) /* both ends are inside an allocation (ASan) */
            sink += c->signal[i][0] + c->signal[i][cf->n_samples - 1];
    }
    REQUIRE(windows == c->n_windows && skipped == c->n_skipped);
    for (size_t w = 0; w < c->n_windows; w++) {
        const ds_window *win = &c->windows[w];
        REQUIRE(win->file < c->n_files && win->cls == c->files[win->file].cls);
        REQUIRE(win->offset < c->files[win->file].n_samples);
    }
    aa_error err;
    memset(&err, 0, sizeof err);
    int rc = ds_cache_check(c, f->list, &f->s, &f->w, &err);
    REQUIRE(rc == 0 || (rc == DS_ERR_CACHE_STALE && err.code == rc && err.msg[0]));
    if (rc)
        return;
    /* What the trainer does with a cache that passes: the windows' features from the signals. */
    aa_error ferr;
    memset(&ferr, 0, sizeof ferr);
    int frc = ds_cache_compute_features(c, 1, NULL, &ferr);
    REQUIRE(frc == 0 || (frc == DS_ERR_NOMEM && ferr.code == frc));
    if (frc)
        return;
    for (size_t w = 0; w < c->n_windows; w++) {
        const float *x = ds_cache_features(c, w);
        REQUIRE(x != NULL);
        REQUIRE(isfinite(x[0]) && isfinite(x[c->n_mels * c->n_frames - 1]));
        sink += x[0] + x[c->n_mels * c->n_frames - 1];
    }
    (void)sink;

    double *wt = malloc(sizeof *wt * (c->n_files ? c->n_files : 1));
    REQUIRE(wt != NULL);
    ds_cache_file_weights(c, wt);
    for (size_t i = 0; i < c->n_files; i++)
        REQUIRE(wt[i] > 0);
    free(wt);
    for (int side = 0; side < DS_N_SIDES; side++) {
        size_t *idx = NULL, n = 0;
        REQUIRE(ds_cache_side_windows(c, f->split, side, &idx, &n, &err) == 0);
        for (size_t i = 0; i < n; i++)
            REQUIRE(idx[i] < c->n_windows && (i == 0 || idx[i] > idx[i - 1]));
        free(idx);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fixture *f = get_fixture();
    const int fix = data[0] & 1;
    data++, size--;
    if (fix && size >= 40) {
        uint8_t *b = malloc(size);
        REQUIRE(b != NULL);
        memcpy(b, data, size);
        aa_put_u64(b + 24, size);
        uint64_t head = aa_get_u64(b + 16);
        if (head >= 32 && head <= size - 8)
            aa_put_u32(b + head, aa_crc32(0, b, (size_t)head));
        aa_put_u32(b + size - 4, aa_crc32(0, b, size - 4));
        put(f->fd, b, size);
        free(b);
    } else {
        put(f->fd, data, size);
    }
    ds_cache *c = NULL;
    aa_error err;
    memset(&err, 0, sizeof err);
    int rc = ds_cache_read(&c, f->path, &err);
    if (rc) {
        REQUIRE(c == NULL && err.code == rc);
        REQUIRE(rc == DS_ERR_CACHE_FORMAT || rc == DS_ERR_CACHE_VERSION || rc == DS_ERR_CACHE_CORRUPT ||
                rc == DS_ERR_NOMEM);
        REQUIRE(strncmp(err.msg, f->path, strlen(f->path)) == 0 && strchr(err.msg, '\n') == NULL);
        return 0;
    }
    REQUIRE(c != NULL);
    exercise(f, c);
    ds_cache_free(c);
    return 0;
}
