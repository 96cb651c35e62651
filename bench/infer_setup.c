/* Files for bench/infer.sh: an aa-cnn-s model file (He-initialised: speed does not depend on what the weights
 * learned) with the default front end, and clips of 4 s of noise, as peer_infer.py classifies, plus the same
 * clip as a phone or browser records it (44.1 kHz stereo), which the front end mixes and resamples.
 *
 *   infer_setup DIR N     writes DIR/model.aam, DIR/clip.wav, DIR/clip44s.wav and DIR/clips/0000.wav ...
 *                         (N clips) */
#include <errno.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/model.h"

static const char *CLASSES[4] = {"cough", "heavy_breathing", "normal_breathing", "background_noise"};

/* n frames of uniform noise in [-0.5, 0.5) (peer_infer.py's clip) at rate, on each of ch channels. */
static int write_noise(const char *path, size_t n, uint64_t seed, int rate, int ch)
{
    float *x = malloc(n * (size_t)ch * sizeof *x);
    if (!x)
        return -1;
    aa_rng r;
    aa_rng_seed(&r, seed);
    for (size_t i = 0; i < n * (size_t)ch; i++)
        x[i] = aa_rng_uniform(&r) - 0.5f;
    SF_INFO info = {.samplerate = rate, .channels = ch, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    int rc = f && sf_writef_float(f, x, (sf_count_t)n) == (sf_count_t)n ? 0 : -1;
    if (f)
        sf_close(f);
    free(x);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: infer_setup DIR N\n");
        return 2;
    }
    const char *dir = argv[1];
    int n = atoi(argv[2]);
    char p[4096];
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/clips", dir);
    mkdir(p, 0755);

    dsp_settings s = dsp_settings_default();
    aa_error err;
    nn_model *net = nn_model_new(NN_ARCH_DEFAULT, 1, s.n_mels, (int)dsp_clip_frames(&s), 4, 1, &err);
    if (!net) {
        fprintf(stderr, "infer_setup: %s\n", err.msg);
        return 1;
    }
    nn_init_he(net, 1);
    float mean[1024], std[1024];
    for (int i = 0; i < s.n_mels; i++)
        mean[i] = -40.0f, std[i] = 15.0f;
    am_spec sp = {.dsp = s, .n_classes = 4, .norm_mean = mean, .norm_std = std, .temperature = 1.0,
                  .min_confidence = 0.5};
    for (int c = 0; c < 4; c++)
        sp.classes[c] = CLASSES[c];
    snprintf(p, sizeof p, "%s/model.aam", dir);
    if (am_save(p, net, &sp, &err)) {
        fprintf(stderr, "infer_setup: %s\n", err.msg);
        return 1;
    }
    nn_model_free(net);
    size_t len = dsp_clip_samples(&s);
    snprintf(p, sizeof p, "%s/clip.wav", dir);
    if (write_noise(p, len, 0, s.sample_rate, 1)) {
        fprintf(stderr, "infer_setup: %s: cannot write\n", p);
        return 1;
    }
    snprintf(p, sizeof p, "%s/clip44s.wav", dir);
    if (write_noise(p, (size_t)(s.clip_seconds * 44100), 0, 44100, 2)) {
        fprintf(stderr, "infer_setup: %s: cannot write\n", p);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        snprintf(p, sizeof p, "%s/clips/%04d.wav", dir, i);
        if (write_noise(p, len, (uint64_t)i + 1, s.sample_rate, 1)) {
            fprintf(stderr, "infer_setup: %s: cannot write\n", p);
            return 1;
        }
    }
    return 0;
}
