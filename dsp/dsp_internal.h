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

/* ---- resample.c: streaming mono sample-rate conversion ---- */
typedef struct dsp_resampler_state dsp_resampler_state;

/* NULL on failure; *src_err gets libsamplerate's error number (0 when out of memory). */
dsp_resampler_state *dsp_resampler_new(int in_rate, int out_rate, dsp_resampler quality, int *src_err);
void dsp_resampler_free(dsp_resampler_state *r);
/* Output samples that n input samples can produce in one call, with margin. */
size_t dsp_resampler_out_capacity(const dsp_resampler_state *r, size_t n_in);
/* Converts in[0..n_in) into out[0..cap): *used input samples consumed, *gen produced. eof: no input will
 * follow, flush. Returns 0 or libsamplerate's error number. */
int dsp_resampler_process(dsp_resampler_state *r, const float *in, size_t n_in, size_t *used, float *out,
                          size_t cap, size_t *gen, int eof);
const char *dsp_resampler_strerror(int src_err);

/* ---- logmel.c ---- */
/* The slot's buffer of dsp_clip_samples() floats where dsp_windows_logmel assembles a padded window (marked
 * as holding samples until dsp_logmel_wipe); NULL for a bad slot. */
float *dsp_logmel_slot_window(dsp_logmel *m, int slot);

/* ---- stats.c ---- */
/* Full-scale threshold for a source of the given integer bit depth (0: unknown -> as 16-bit). */
double dsp_full_scale(int bits);
/* 20 log10(rms) floored at -120 dBFS. */
double dsp_rms_dbfs(double sum_squares, double n);

#endif
