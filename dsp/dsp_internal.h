#ifndef AA_DSP_INTERNAL_H
#define AA_DSP_INTERNAL_H

/* Shared by the files of dsp/ only. */

#include <sndfile.h>

#include "dsp/dsp.h"

/* ---- memio.c: a memory buffer as a libsndfile virtual file ---- */
typedef struct {
    const unsigned char *data;
    sf_count_t size, pos;
} dsp_memfile;

/* The callbacks sf_open_virtual needs, reading from the dsp_memfile passed as user data. */
extern const SF_VIRTUAL_IO dsp_memfile_io;

/* A regular file through its descriptor, read with pread: libsndfile never holds the descriptor, so it
 * cannot close it (sf_open_fd closed it on some refusals, which made the reader's own close a second one,
 * of whatever file another thread had opened under that number meanwhile). */
typedef struct {
    int fd;
    sf_count_t size, pos;
} dsp_fdfile;
extern const SF_VIRTUAL_IO dsp_fdfile_io;

/* ---- logmel.c ---- */
/* The slot's buffer of dsp_clip_samples() floats where dsp_windows_logmel assembles a padded window (marked
 * as holding samples until dsp_logmel_wipe); NULL for a bad slot. */
float *dsp_logmel_slot_window(dsp_logmel *m, int slot);
/* The lock around FFTW's planner: every plan dsp_ makes or destroys is made or destroyed under it. */
void dsp_planner_lock(void);
void dsp_planner_unlock(void);

/* ---- melfilter.c ---- */
/* The first mel filter whose every float32 weight is zero (no FFT bin lies inside its band), with that band
 * in Hz, or -1 when every filter holds a bin. For dsp_settings_validate, which has checked every other field
 * first; n_mels <= DSP_MAX_MELS. */
int dsp_mel_first_empty(const dsp_settings *s, double *band_lo, double *band_hi);

/* ---- stats.c ---- */
/* Full-scale threshold for a source of the given integer bit depth (0: unknown -> as 16-bit). */
double dsp_full_scale(int bits);
/* 20 log10(rms) floored at -120 dBFS. */
double dsp_rms_dbfs(double sum_squares, double n);

#endif
