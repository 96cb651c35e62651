/* Seed inputs for the fuzz targets, made at run time (no audio is stored in the repository):
 *
 *   seedgen OUTDIR
 *
 * writes OUTDIR/audio/ (short valid recordings in every container the loader reads: WAV of several
 * encodings, rates and channel counts, FLAC, Ogg Vorbis, Opus, MP3, AIFF), OUTDIR/model/ (a small valid
 * model file and a training checkpoint, each behind the fuzz_model flag byte), OUTDIR/settings/ (settings
 * texts), OUTDIR/cache/ (a feature cache of fuzz/fixture_folder.h's folder, up to date for it, behind the
 * fuzz_cache flag byte). The shell script fuzz/make-seeds.sh adds the text seeds (multipart bodies, requests,
 * manifests). Exit 0, or 1 with a message. */
#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datasets/datasets.h"
#include "fuzz/fixture_folder.h"
#include "model/model.h"
#include "nn/nn.h"

static int fail(const char *what, const char *why)
{
    fprintf(stderr, "seedgen: %s: %s\n", what, why);
    return 1;
}

static int mkdir_p(const char *path)
{
    return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

/* frames of a two-tone signal with a click, channel c scaled by 1/(c+1) */
static int write_audio(const char *dir, const char *name, int format, int rate, int channels, int frames)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    SF_INFO info = {.samplerate = rate, .channels = channels, .format = format};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf)
        return fail(path, sf_strerror(NULL));
    float *x = malloc(sizeof(float) * (size_t)frames * (size_t)channels);
    if (!x)
        return fail(path, "out of memory");
    for (int t = 0; t < frames; t++)
        for (int c = 0; c < channels; c++) {
            double v = 0.4 * sin(2 * M_PI * 440.0 * t / rate) + 0.2 * sin(2 * M_PI * 1234.5 * t / rate);
            if (t == frames / 3)
                v = 0.95;
            x[(size_t)t * channels + c] = (float)(v / (c + 1));
        }
    sf_count_t w = sf_writef_float(sf, x, frames);
    free(x);
    int bad = w != frames;
    if (sf_close(sf) != 0 || bad)
        return fail(path, "write failed");
    return 0;
}

static int audio_seeds(const char *out)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/audio", out);
    if (mkdir_p(dir))
        return fail(dir, strerror(errno));
    int rc = 0;
    rc |= write_audio(dir, "pcm16_16k_mono.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 1600);
    rc |= write_audio(dir, "float_44k_stereo.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 44100, 2, 900);
    rc |= write_audio(dir, "u8_8k_mono.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_U8, 8000, 1, 1200);
    rc |= write_audio(dir, "pcm24_48k_3ch.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 48000, 3, 400);
    rc |= write_audio(dir, "double_22k_mono.wav", SF_FORMAT_WAV | SF_FORMAT_DOUBLE, 22050, 1, 500);
    rc |= write_audio(dir, "ulaw_8k_mono.wav", SF_FORMAT_WAV | SF_FORMAT_ULAW, 8000, 1, 1000);
    rc |= write_audio(dir, "ima_adpcm_16k.wav", SF_FORMAT_WAV | SF_FORMAT_IMA_ADPCM, 16000, 1, 2000);
    rc |= write_audio(dir, "pcm16_192k_8ch.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 192000, 8, 200);
    rc |= write_audio(dir, "two_frames.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 2);
    rc |= write_audio(dir, "wavex_16k.wav", SF_FORMAT_WAVEX | SF_FORMAT_PCM_16, 16000, 2, 800);
    rc |= write_audio(dir, "flac_16k_mono.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1, 3000);
    rc |= write_audio(dir, "flac_24_48k_stereo.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 48000, 2, 2000);
    rc |= write_audio(dir, "vorbis_16k_mono.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 16000, 1, 4000);
    rc |= write_audio(dir, "opus_48k_mono.opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 48000, 1, 4800);
    rc |= write_audio(dir, "mp3_16k_mono.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 16000, 1, 4000);
    rc |= write_audio(dir, "aiff_16k_mono.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 16000, 1, 1000);
    rc |= write_audio(dir, "au_8k_mono.au", SF_FORMAT_AU | SF_FORMAT_PCM_16, 8000, 1, 800);
    rc |= write_audio(dir, "caf_16k_mono.caf", SF_FORMAT_CAF | SF_FORMAT_PCM_16, 16000, 1, 800);
    rc |= write_audio(dir, "w64_16k_mono.w64", SF_FORMAT_W64 | SF_FORMAT_PCM_16, 16000, 1, 800);
    return rc;
}

/* Writes a seed: flag byte + the file at path. */
static int prefixed(const char *from, const char *to, unsigned char flag)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    if (!in || !out) {
        if (in)
            fclose(in);
        if (out)
            fclose(out);
        return fail(to, "cannot open");
    }
    fputc(flag, out);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
    return fclose(out) == 0 ? 0 : fail(to, "write failed");
}

static int model_seeds(const char *out)
{
    char dir[1024], path[1100], seed[1100];
    snprintf(dir, sizeof dir, "%s/model", out);
    if (mkdir_p(dir))
        return fail(dir, strerror(errno));
    dsp_settings s = fx_settings();
    aa_error err;
    int n_frames = (int)dsp_clip_frames(&s);
    nn_model *net = nn_model_new("c4 bn relu p2 c8 bn relu gap drop0.2 fc", 1, s.n_mels, n_frames, 3, 2, &err);
    if (!net)
        return fail("model", err.msg);
    nn_init_he(net, 7);
    float mean[8], sd[8];
    for (int i = 0; i < 8; i++)
        mean[i] = -40.0f + (float)i, sd[i] = 10.0f + (float)i;
    double th[3] = {0, 0.6, 0.3};
    am_spec spec = {.dsp = s, .n_classes = 3, .classes = {"cough", "heavy_breathing", "background_noise"},
                    .norm_mean = mean, .norm_std = sd, .temperature = 1.25, .min_confidence = 0.4,
                    .class_threshold = th, .train_json = "{\"seed\": true}"};
    snprintf(path, sizeof path, "%s/model.aam.tmp", dir);
    if (am_save(path, net, &spec, &err))
        return fail(path, err.msg);
    /* flags: bit 0 fix checksum, bit 2 two worker slots (fuzz/fuzz_model.c) */
    static const unsigned char flags[] = {0, 1, 4, 5};
    for (size_t i = 0; i < sizeof flags; i++) {
        snprintf(seed, sizeof seed, "%s/model_%u", dir, flags[i]);
        if (prefixed(path, seed, flags[i]))
            return 1;
    }
    unlink(path);

    nn_opt_config oc = nn_opt_defaults(NN_OPT_ADAMW);
    nn_optimizer *o = nn_opt_new(net, &oc, &err);
    if (!o)
        return fail("optimizer", err.msg);
    float x[2 * 8 * 16];
    for (size_t i = 0; i < sizeof x / sizeof *x; i++)
        x[i] = (float)sin((double)i);
    int labels[2] = {0, 2};
    if (nn_train_step(net, o, x, labels, 2, NULL, 3, 0, NULL, NULL, &err))
        return fail("train step", err.msg);
    aa_rng rng;
    aa_rng_seed(&rng, 11);
    nn_meta *meta = nn_meta_new();
    if (!meta || nn_meta_set_num(meta, "epoch", 3, &err) || nn_meta_set_str(meta, "run", "seed", &err))
        return fail("checkpoint metadata", "cannot set");
    snprintf(path, sizeof path, "%s/ckpt.tmp", dir);
    if (nn_checkpoint_save(path, net, o, &rng, meta, &err))
        return fail(path, err.msg);
    static const unsigned char cflags[] = {2, 3};
    for (size_t i = 0; i < sizeof cflags; i++) {
        snprintf(seed, sizeof seed, "%s/ckpt_%u", dir, cflags[i]);
        if (prefixed(path, seed, cflags[i]))
            return 1;
    }
    unlink(path);
    nn_meta_free(meta);
    nn_opt_free(o);
    nn_model_free(net);
    return 0;
}

static int settings_seeds(const char *out)
{
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/settings", out);
    if (mkdir_p(dir))
        return fail(dir, strerror(errno));
    dsp_settings v[3] = {dsp_settings_default(), fx_settings(), dsp_settings_default()};
    v[2].sample_rate = 22050, v[2].fmax = 11025, v[2].center = 0, v[2].mel_scale = DSP_MEL_HTK,
    v[2].mel_norm = DSP_NORM_NONE, v[2].power = 1, v[2].crop = DSP_CROP_CENTER;
    v[2].resampler = DSP_RESAMPLE_SOXR_QQ;
    for (int i = 0; i < 3; i++) {
        char text[DSP_SETTINGS_TEXT_MAX];
        size_t n = dsp_settings_format(&v[i], text, sizeof text);
        snprintf(path, sizeof path, "%s/settings_%d.txt", dir, i);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(text, 1, n, f) != n || fclose(f) != 0)
            return fail(path, "write failed");
    }
    return 0;
}

static int rm_fixture(const char *dir)
{
    static const char *const rel[] = {"cough/a.wav", "cough/b.wav", "normal_breathing/c.wav",
                                      "normal_breathing/bad.wav", "cough", "normal_breathing", ""};
    char path[4200];
    for (size_t i = 0; i < sizeof rel / sizeof *rel; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, rel[i]);
        remove(path);
    }
    return 0;
}

static int cache_seeds(const char *out)
{
    char dir[1024], data[1100], path[1100], seed[1100];
    snprintf(dir, sizeof dir, "%s/cache", out);
    if (mkdir_p(dir))
        return fail(dir, strerror(errno));
    snprintf(data, sizeof data, "%s/data.XXXXXX", dir);
    if (!mkdtemp(data) || fx_make_folder(data))
        return fail(data, "cannot make the data folder");
    dsp_settings s = fx_settings();
    ds_list_opts lo = {.manifest = ""};
    ds_list *l = NULL;
    ds_cache *c = NULL;
    aa_error err;
    ds_cache_opts co;
    ds_cache_opts_default(&co);
    co.win = fx_windows();
    co.threads = 1;
    int rc = ds_list_load(&l, data, &lo, &err) || ds_cache_build(&c, l, &s, &co, &err);
    snprintf(path, sizeof path, "%s/cache.tmp", dir);
    if (!rc)
        rc = ds_cache_write(c, path, &err);
    ds_cache_free(c);
    ds_list_free(l);
    rm_fixture(data);
    if (rc)
        return fail("cache", err.msg);
    /* flags: bit 0 fix sizes and checksums (fuzz/fuzz_cache.c) */
    for (unsigned char flag = 0; flag < 2; flag++) {
        snprintf(seed, sizeof seed, "%s/cache_%u", dir, flag);
        if (prefixed(path, seed, flag))
            return 1;
    }
    unlink(path);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seedgen OUTDIR\n");
        return 2;
    }
    if (mkdir_p(argv[1]))
        return fail(argv[1], strerror(errno));
    int rc = audio_seeds(argv[1]);
    rc |= model_seeds(argv[1]);
    rc |= settings_seeds(argv[1]);
    rc |= cache_seeds(argv[1]);
    return rc ? 1 : 0;
}
