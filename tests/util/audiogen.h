#ifndef AA_TESTS_AUDIOGEN_H
#define AA_TESTS_AUDIOGEN_H

/* Test audio: interleaved sines written in any format libsndfile writes. */

#include <stddef.h>

/* Writes frames x channels samples, channel c = amp[c] * sin(2 pi freq t), to path in the given libsndfile
 * format (SF_FORMAT_FLAC | SF_FORMAT_PCM_16, ...), clipping out-of-range values for integer formats.
 * Returns 0, or -1 if libsndfile cannot write that combination (e.g. Opus at 44.1 kHz). */
int ag_write_sines(const char *path, int format, int rate, int channels, size_t frames, double freq,
                   const double *amp);
/* Writes given interleaved float samples; fails the test on error. */
void ag_write_samples(const char *path, int format, int rate, int channels, const float *x, size_t frames);

/* Least-squares fit of a sin + b cos at freq over x[lo..hi) (sample rate rate); returns the residual's
 * power relative to the fit's, in dB (the SNR), and sets *a and *b. */
double ag_fit_sine(const float *x, size_t lo, size_t hi, int rate, double freq, double *a, double *b);

#endif
