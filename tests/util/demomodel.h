#ifndef AA_TESTS_DEMOMODEL_H
#define AA_TESTS_DEMOMODEL_H

/* Model files for the tests of aa-infer, made without the trainer binary: a random network (for tests
 * that only need the plumbing) or a small network trained here with nn/ on the synthetic demo sounds (for
 * tests that need a model that hears: timelines, the web page). Neither uses Check, so a helper program
 * (tests/browser/demo_model.c) can use them too. */

#include <stddef.h>
#include <stdint.h>

/* The demo classes in the model's output order (demo_class order: cough, heavy_breathing,
 * normal_breathing, background_noise). */
extern const char *const TU_DEMO_CLASSES[4];

/* A small architecture: two 2x2 pools first (64x401 -> 16x100), then three narrow conv blocks. About
 * 1 M multiply-adds per clip, so a few thousand training steps take seconds. */
#define TU_TINY_ARCH "p2 p2 c12 bn relu p2 c24 bn relu p2 c32 bn relu gap fc"

/* Saves a He-initialised network of arch (NULL: TU_TINY_ARCH) with the default front end, the four demo
 * classes, plausible normalisation, the given temperature and global gate. Returns 0, or -1 with msg. */
int tu_make_random_model(const char *path, const char *arch, uint64_t seed, double temperature,
                         double min_confidence, char *msg, size_t cap);

/* ---- a model with a known rule, for exact tests -------------------------------------------------------------
 *
 * Stand-ins for the demo classes that a linear network can tell apart exactly: over a quiet noise floor,
 *   cough             a short 1000 Hz tone burst (TU_TONE_BURST_S long)
 *   heavy_breathing   a long 2500 Hz tone
 *   normal_breathing  a long 1600 Hz tone
 *   background_noise  the noise floor alone
 * The network is one dense layer ("fc") over the log-mel whose weights average each tone's mel bands over
 * time, scaled so that a class's logit is 30 (f - fmin) where f is the fraction of the window its tone fills
 * and fmin its threshold: 0.1 for the burst (a window holding 0.4 s of the 0.5 s burst flags it, as a
 * window with a whole cough in it is a cough clip) and 0.5 for the long tones (a window at least half
 * filled), the background's logit 0. The gate is 0.5. So which windows carry which class is known from
 * the event times alone. */
#define TU_TONE_BURST_S 0.5
#define TU_TONE_AMP 0.3
#define TU_TONE_NOISE 0.01

typedef struct {
    double start; /* s */
    double len;   /* s; TU_TONE_BURST_S for class 0 */
    int cls;      /* 0 cough, 1 heavy_breathing, 2 normal_breathing */
} tu_tone_event;

int tu_make_tone_model(const char *path, char *msg, size_t cap);
/* The same rule under other class names (NULL: the demo classes), the task by the class-name rule: with
 * TU_GENERAL_CLASSES ("low_beep", "high_whistle", "mid_hum", "Background": the last the background by its
 * name) a general sound classifier that hears exactly as the tone model does. */
extern const char *const TU_GENERAL_CLASSES[4];
int tu_make_tone_model_named(const char *path, const char *const *names, char *msg, size_t cap);
/* The tone recording of n samples at 16 kHz: noise floor (seeded) with the events' tones added (10 ms
 * raised-cosine edges). Caller frees. */
float *tu_tone_recording(size_t n, const tu_tone_event *ev, size_t n_ev, uint64_t seed);
/* The frequency of a class's tone (Hz). */
double tu_tone_freq(int cls);

typedef struct {
    const char *arch;   /* NULL: TU_TINY_ARCH */
    int recordings;     /* long demo recordings (demo_long) whose windows are training items */
    double seconds;     /* length of each */
    double hop;         /* s between training windows */
    int clips_per_class;/* demo clips (demo_clip, cropped as inference crops) added per class */
    int epochs;
    uint64_t seed;      /* data seeds are seed*1000 + r; never the seed of a test recording (those use < 1000) */
    int threads;
    double min_confidence; /* the gate stored in the model */
} tu_demo_train;

/* Defaults: 6 recordings of 90 s, hop 1 s, 12 clips per class, 12 epochs, seed 7, 2 threads, gate 0.5. */
void tu_demo_train_default(tu_demo_train *o);

/* Trains and saves. Window labels follow demo_label_at, the rule the timeline test judges by. Adam,
 * batch 32, class-weighted cross-entropy; deterministic for a given thread count. Returns 0, or -1 with
 * msg. *train_accuracy (may be NULL) gets the last epoch's training accuracy. */
int tu_train_demo_model(const char *path, const tu_demo_train *o, double *train_accuracy, char *msg,
                        size_t cap);

#endif
