/* A small labelled data folder that the seed generator and fuzz_cache both make, byte for byte and with the
 * same modification times, so that a feature cache built by one is up to date for the listing of the
 * other. Header-only: shared by fuzz/seedgen.c (a plain program) and fuzz/fuzz_cache.c (a fuzz target). */
#ifndef AA_FUZZ_FIXTURE_FOLDER_H
#define AA_FUZZ_FIXTURE_FOLDER_H

#include <fcntl.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datasets/datasets.h"
#include "dsp/dsp.h"

/* The front end of the seed model and cache: 8 x 16 features, so a cache file is a few kilobytes. */
static inline dsp_settings fx_settings(void)
{
    dsp_settings s = dsp_settings_default();
    s.sample_rate = 8000;
    s.clip_seconds = 0.25;
    s.n_fft = 256;
    s.win_length = 200;
    s.hop_length = 128;
    s.n_mels = 8;
    s.fmax = 4000;
    return s;
}

static inline ds_window_opts fx_windows(void)
{
    return (ds_window_opts){.hop_seconds = 0.25, .max_per_file = 4};
}

/* 0 on success. Files: cough/a.wav (0.6 s), cough/b.wav (0.3 s), normal_breathing/c.wav (0.9 s),
 * normal_breathing/bad.wav (text: a skipped file in the cache). */
static inline int fx_make_folder(const char *dir)
{
    static const char *const names[] = {"cough/a.wav", "cough/b.wav", "normal_breathing/c.wav",
                                        "normal_breathing/bad.wav"};
    static const int frames[] = {4800, 2400, 7200, 0};
    char path[4200];
    snprintf(path, sizeof path, "%s/cough", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/normal_breathing", dir);
    mkdir(path, 0755);
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (frames[i] == 0) {
            FILE *f = fopen(path, "wb");
            if (!f)
                return -1;
            fputs("not audio\n", f);
            fclose(f);
        } else {
            SF_INFO info = {.samplerate = 8000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
            SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
            if (!sf)
                return -1;
            float x[7200];
            for (int t = 0; t < frames[i]; t++)
                x[t] = (float)(0.3 * sin(2 * M_PI * (300.0 + 200.0 * i) * t / 8000.0) * (t % 1000 < 500 ? 1 : 0.2));
            sf_count_t w = sf_writef_float(sf, x, frames[i]);
            if (sf_close(sf) != 0 || w != frames[i])
                return -1;
        }
        struct timespec ts[2] = {{1600000000 + i, 0}, {1600000000 + i, 0}};
        if (utimensat(AT_FDCWD, path, ts, 0) != 0)
            return -1;
    }
    return 0;
}

#endif
