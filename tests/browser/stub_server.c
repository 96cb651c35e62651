/* aa-stub-server: the web server with a stand-in classifier, for the browser test and for working on the
 * page without a trained model. Its answers are canned but depend on the upload's size, so different clips
 * give different labels:
 *   k = size % 5; k < 4 -> class k with confidence 0.70 + 0.05 k; k = 4 -> gated (Unclear/Unknown, 0.41).
 * Quality follows the duration (from a WAV header, else as if 16-bit 16 kHz mono): under 0.5 s -> "too_short".
 *
 *   aa-stub-server [--host H] [--port P]     prints "listening on http://H:PORT/" once ready; stops on
 *                                            SIGINT/SIGTERM. Port 0 picks a free one. */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/serve.h"

static const char *const LABELS[4] = {"Cough", "Heavy Breathing", "Normal Breathing", "Background Noise"};
static const char *const CLASSES[4] = {"cough", "heavy_breathing", "normal_breathing", "background_noise"};

static const char MODEL_JSON[] =
    "{\"classes\": [\"cough\", \"heavy_breathing\", \"normal_breathing\", \"background_noise\"], "
    "\"labels\": [\"Cough\", \"Heavy Breathing\", \"Normal Breathing\", \"Background Noise\"], "
    "\"sample_rate\": 16000, \"clip_seconds\": 4.0, \"n_mels\": 64, \"gate\": {\"min_confidence\": 0.62}, "
    "\"task\": \"respiratory\", \"stub\": true}\n";

#define N_MELS 64
#define N_FRAMES 401

/* Duration of a PCM WAV from its header (rate, channels, bits), else as if 16-bit 16 kHz mono. */
static double wav_seconds(const unsigned char *b, size_t n)
{
    if (n >= 44 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WAVE", 4)) {
        unsigned ch = b[22] | b[23] << 8, bits = b[34] | b[35] << 8;
        unsigned long rate = b[24] | b[25] << 8 | (unsigned long)b[26] << 16 | (unsigned long)b[27] << 24;
        if (ch && bits && rate)
            return (double)(n - 44) / ((double)rate * ch * (bits / 8.0));
    }
    return (double)(n - 44) / 32000.0;
}

static int stub_classify(void *ctx, int slot, const void *audio, size_t n, const char *filename, char **json_out,
                         aa_error *err)
{
    (void)ctx; (void)slot; (void)audio;
    if (n < 44)
        return aa_error_set(err, AA_SERVE_ERR_AUDIO, "%s: not a readable audio file (%zu bytes)", filename, n);
    int k = (int)(n % 5);
    int gated = k == 4;
    int top = gated ? (int)(n % 4) : k;
    double conf = gated ? 0.41 : 0.70 + 0.05 * k;
    double p[4];
    for (int i = 0; i < 4; i++)
        p[i] = i == top ? conf : (1.0 - conf) / 3.0;
    double dur = wav_seconds(audio, n);
    int short_clip = dur < 0.5;

    /* a spectrogram-like picture: a few harmonics drifting with time, brighter for bigger uploads */
    unsigned char *mel = malloc(N_MELS * N_FRAMES); /* [N_MELS][N_FRAMES] */
    if (!mel)
        return aa_error_set(err, AA_SERVE_ERR_INTERNAL, "out of memory");
    for (int m = 0; m < N_MELS; m++)
        for (int t = 0; t < N_FRAMES; t++) {
            double v = 0.25 + 0.2 * sin(0.05 * t + 0.3 * m + (double)(n % 17));
            v += 0.45 * exp(-0.5 * pow((m - 12 - 8 * sin(0.02 * t)) / 3.0, 2));
            v += 0.25 * exp(-0.5 * pow((m - 30 - top * 6) / 4.0, 2)) * (0.5 + 0.5 * sin(0.11 * t));
            mel[m * N_FRAMES + t] = (unsigned char)(v < 0 ? 0 : v > 1 ? 255 : v * 255);
        }
    char *b64 = aa_http_base64(mel, N_MELS * N_FRAMES);
    free(mel);

    aa_buf name = {0}; /* the file name as a JSON string literal */
    aa_json_str(&name, filename);
    char *fname = aa_buf_take(&name);
    if (!b64 || !fname) {
        free(b64);
        free(fname);
        return aa_error_set(err, AA_SERVE_ERR_INTERNAL, "out of memory");
    }
    char cls[40];
    snprintf(cls, sizeof cls, gated ? "null" : "\"%s\"", CLASSES[top]);
    size_t need = strlen(b64) + strlen(fname) + 2048;
    char *buf = malloc(need);
    if (buf)
        snprintf(buf, need,
                 "{\"file\": %s, \"label\": \"%s\", \"class\": %s, \"confidence\": %.4f, \"gated\": %s, "
                 "\"probabilities\": {\"%s\": %.4f, \"%s\": %.4f, \"%s\": %.4f, \"%s\": %.4f}, "
                 "\"quality\": {\"verdict\": \"%s\", \"ok\": %s, \"duration_s\": %.3f, \"rms_dbfs\": -23.1, "
                 "\"peak_dbfs\": -3.2, \"clipped_fraction\": 0.0, \"message\": \"%s\"}, "
                 "\"drift_score\": %.2f, \"drifted\": %s, \"duration_s\": %.3f, "
                 "\"mel\": {\"n_mels\": %d, \"n_frames\": %d, \"min_db\": -80.0, \"max_db\": 0.0, \"data\": \"%s\"}, "
                 "\"disclaimer\": \"Not a medical device: this is not a diagnosis or health advice.\"}\n",
                 fname, gated ? "Unclear/Unknown" : LABELS[top], cls, conf, gated ? "true" : "false", LABELS[0],
                 p[0], LABELS[1], p[1], LABELS[2], p[2], LABELS[3], p[3], short_clip ? "too_short" : "ok",
                 short_clip ? "false" : "true", dur,
                 short_clip ? "Less than 0.5 s of sound: record a longer clip." : "",
                 /* the stand-in calls its short clip drifted too: both warnings shown, each in its own box */
                 short_clip ? 9.5 : 1.0, short_clip ? "true" : "false", dur, N_MELS, N_FRAMES,
                 b64);
    free(b64);
    free(fname);
    if (!buf)
        return aa_error_set(err, AA_SERVE_ERR_INTERNAL, "out of memory");
    *json_out = buf;
    return 0;
}

int main(int argc, char **argv)
{
    aa_serve_config cfg;
    aa_serve_config_default(&cfg);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--host") && i + 1 < argc) {
            cfg.host = argv[++i];
        } else if (!strcmp(argv[i], "--port") && i + 1 < argc) {
            cfg.port = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("Usage: aa-stub-server [--host 127.0.0.1] [--port 8501]\n"
                   "The web page with a stand-in classifier (answers depend on upload size only).\n");
            return 0;
        } else {
            fprintf(stderr, "aa-stub-server: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    /* the server's threads inherit this mask, so the signals reach sigwait below and nothing else */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    aa_serve_handler h = {.classify = stub_classify, .ctx = NULL, .model_json = MODEL_JSON};
    aa_serve *s;
    aa_error err = {0};
    if (aa_serve_start(&cfg, &h, &s, &err) != 0) {
        fprintf(stderr, "aa-stub-server: %s\n", err.msg);
        return 1;
    }
    int v6 = strchr(cfg.host, ':') != NULL;
    printf("listening on http://%s%s%s:%d/\n", v6 ? "[" : "", cfg.host, v6 ? "]" : "", aa_serve_port(s));
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    aa_serve_stop(s);
    return 0;
}
