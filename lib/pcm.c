/* Samples from a caller's buffer take the route of a file: they are wrapped as the bytes of a 32-bit float
 * WAV file and decoded by dsp/ like any upload. So the channels are mixed, the mix resampled, the samples
 * checked (NaN, range) and the quality figures counted exactly as for a file holding the same samples, by
 * the same code, at the price of one copy of the buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dsp.h"
#include "lib/lib_internal.h"

#define WAV_HEADER 44

unsigned char *aul_pcm_wav(const float *pcm, size_t frames, int rate, int channels, size_t *size,
                           audioaudit_error *err)
{
    if (!pcm && frames)
        return aul_error_set(err, AUDIOAUDIT_ERR_ARG, "samples: buffer is NULL"), NULL;
    if (rate < DSP_MIN_RATE || rate > DSP_MAX_RATE)
        return aul_error_set(err, AUDIOAUDIT_ERR_ARG, "samples: rate %d Hz out of range (%d..%d)", rate,
                             DSP_MIN_RATE, DSP_MAX_RATE),
               NULL;
    if (channels < 1 || channels > DSP_MAX_CHANNELS)
        return aul_error_set(err, AUDIOAUDIT_ERR_ARG, "samples: %d channels out of range (1..%d)", channels,
                             DSP_MAX_CHANNELS),
               NULL;
    /* The longest recording a classification decodes, refused here before a copy of it is made. */
    if ((double)frames / rate > DSP_LOAD_MAX_SECONDS)
        return aul_error_set(err, AUDIOAUDIT_ERR_AUDIO, "samples: recording too long (%.0f s, more than %.0f s)",
                             (double)frames / rate, DSP_LOAD_MAX_SECONDS),
               NULL;
    size_t block = (size_t)channels * sizeof(float);
    if (frames > (UINT32_MAX - WAV_HEADER) / block)
        return aul_error_set(err, AUDIOAUDIT_ERR_ARG, "samples: %zu frames of %d channels exceed 4 GiB", frames,
                             channels),
               NULL;
    uint32_t data = (uint32_t)(frames * block);
    unsigned char *w = malloc(WAV_HEADER + (size_t)data);
    if (!w)
        return aul_error_set(err, AUDIOAUDIT_ERR_NOMEM, "samples: out of memory for %zu frames", frames), NULL;
    unsigned char *p = w;
    memcpy(p, "RIFF", 4), p += 4;
    aa_put_u32(p, 36 + data), p += 4;
    memcpy(p, "WAVEfmt ", 8), p += 8;
    aa_put_u32(p, 16), p += 4;
    p[0] = 3, p[1] = 0; /* WAVE_FORMAT_IEEE_FLOAT */
    p[2] = (unsigned char)channels, p[3] = 0, p += 4;
    aa_put_u32(p, (uint32_t)rate), p += 4;
    aa_put_u32(p, (uint32_t)((size_t)rate * block)), p += 4;
    p[0] = (unsigned char)block, p[1] = 0, p[2] = 32, p[3] = 0, p += 4; /* block align, bits */
    memcpy(p, "data", 4), p += 4;
    aa_put_u32(p, data), p += 4;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (data)
        memcpy(p, pcm, data); /* WAV is little-endian, as the floats already are */
#else
    for (size_t i = 0; i < frames * (size_t)channels; i++, p += 4)
        aa_put_f32(p, pcm[i]);
#endif
    *size = WAV_HEADER + (size_t)data;
    return w;
}
