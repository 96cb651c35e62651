#include "tests/util/audiogen.h"

#include <check.h>
#include <math.h>
#include <sndfile.h>
#include <stdlib.h>

int ag_write_sines(const char *path, int format, int rate, int channels, size_t frames, double freq,
                   const double *amp)
{
    SF_INFO info = {.samplerate = rate, .channels = channels, .format = format};
    if (!sf_format_check(&info))
        return -1;
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    if (!f)
        return -1;
    sf_command(f, SFC_SET_CLIPPING, NULL, SF_TRUE);
    float *x = malloc(sizeof(float) * frames * (size_t)channels);
    ck_assert_ptr_nonnull(x);
    for (size_t t = 0; t < frames; t++) {
        double s = sin(2 * M_PI * freq * (double)t / rate);
        for (int c = 0; c < channels; c++)
            x[t * (size_t)channels + (size_t)c] = (float)(amp[c] * s);
    }
    sf_count_t wrote = sf_writef_float(f, x, (sf_count_t)frames);
    free(x);
    int closed = sf_close(f);
    return wrote == (sf_count_t)frames && closed == 0 ? 0 : -1;
}

void ag_write_samples(const char *path, int format, int rate, int channels, const float *x, size_t frames)
{
    SF_INFO info = {.samplerate = rate, .channels = channels, .format = format};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    ck_assert_msg(f != NULL, "sf_open %s: %s", path, sf_strerror(NULL));
    ck_assert(sf_writef_float(f, x, (sf_count_t)frames) == (sf_count_t)frames);
    ck_assert_int_eq(sf_close(f), 0);
}

double ag_fit_sine(const float *x, size_t lo, size_t hi, int rate, double freq, double *a, double *b)
{
    double ss = 0, cc = 0, sc = 0, ys = 0, yc = 0;
    for (size_t i = lo; i < hi; i++) {
        double w = 2 * M_PI * freq * (double)i / rate, s = sin(w), c = cos(w);
        ss += s * s, cc += c * c, sc += s * c, ys += x[i] * s, yc += x[i] * c;
    }
    double det = ss * cc - sc * sc;
    *a = (ys * cc - yc * sc) / det;
    *b = (yc * ss - ys * sc) / det;
    double sig = 0, res = 0;
    for (size_t i = lo; i < hi; i++) {
        double w = 2 * M_PI * freq * (double)i / rate, m = *a * sin(w) + *b * cos(w);
        sig += m * m, res += (x[i] - m) * (x[i] - m);
    }
    return 10 * log10(sig / (res > 0 ? res : 1e-300));
}
