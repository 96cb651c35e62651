#ifndef AA_DEMO_H
#define AA_DEMO_H

/* demo/: a synthetic corpus of the four respiratory-sound classes, for `aa-train --make-demo`, the tests
 * and the benchmarks. Bursts, filtered noise and hum: it shows the pipeline working and is no substitute
 * for real recordings. Nothing else in the library uses it.
 *
 * Functions return 0 or an AA_ERR_* code and fill an aa_error with a printable message. */

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* The demo classes, in the order their indices name them. */
enum demo_class { DEMO_COUGH = 0, DEMO_HEAVY = 1, DEMO_NORMAL = 2, DEMO_BACKGROUND = 3 };
#define DEMO_N_CLASSES 4
#define DEMO_RATE 16000
/* "cough", "heavy_breathing", "normal_breathing", "background_noise"; NULL out of range. */
const char *demo_class_name(int cls);

/* Clip `index` of class `cls` spoken by `speaker` (a simulated person for the three breathing/cough classes,
 * a simulated place for background): mono float at 16 kHz in (-1, 1), mostly 4 s long (about a sixth are
 * 1.5-4 s, a sixth 4-8 s). Clips of one speaker share its vocal-tract, breathing and microphone traits, so
 * a split that separates speakers is harder than one that does not, as with real recordings. Deterministic
 * from (seed, cls, index, speaker) alone: clip i does not depend on any other clip.
 * On success *out (malloc'd, caller frees) holds *n samples. */
int demo_clip(float **out, size_t *n, int cls, uint64_t index, uint64_t speaker, uint64_t seed,
                  aa_error *err);

/* A foreground event in a long recording; time between events is background. */
typedef struct {
    double start, end; /* seconds */
    int cls;           /* DEMO_COUGH, DEMO_HEAVY or DEMO_NORMAL */
} demo_event;

/* A long recording: continuous background with cough bouts and breathing bouts at known, non-overlapping
 * times (at least 1.5 s of background between them). Recordings of 20 s or more hold at least one event of
 * each of the three foreground classes. *out (n samples) and *events (n_events) are malloc'd; caller frees.
 * seconds must be in [5, 600]. */
int demo_long(float **out, size_t *n, demo_event **events, size_t *n_events, double seconds,
                  uint64_t seed, aa_error *err);

/* The class a window [t0, t1) of a long recording should be given: cough if a cough event lies wholly inside
 * it (a cough is short, and a 4 s training clip with one cough in it is a cough clip); else the breathing
 * class covering at least half of it; else background. */
int demo_label_at(const demo_event *events, size_t n_events, double t0, double t1);

typedef struct {
    int per_class;  /* clips per class, >= 6 (three people, so that a grouped split has one per side); default 100 */
    uint64_t seed;  /* default 1 */
} demo_corpus_opts;

void demo_corpus_opts_default(demo_corpus_opts *o);

/* Writes DIR/<class>/NNNN.wav (16-bit PCM, 16 kHz mono) for the four classes and DIR/manifest.tsv
 * (path, class, group, duration_s). Clips 2j and 2j+1 of the cough and breathing classes come from the same
 * simulated person, group "person_jjj", who so has files in three classes; background clips 2j and 2j+1 share
 * a place, group "place_jjj". Clip i of a class is demo_clip(cls, i, i / 2, seed). Everything is written into a temporary sibling folder that is renamed to DIR at the end, so
 * DIR appears complete or not at all. DIR must not exist, or be an empty folder. */
int demo_corpus_write(const char *dir, const demo_corpus_opts *opts, aa_error *err);

/* Writes a long recording (16-bit PCM WAV) to wav_path and its events to events_path as TSV with a header
 * (start_s, end_s, class), both atomically. */
int demo_long_write(const char *wav_path, const char *events_path, double seconds, uint64_t seed, aa_error *err);

#endif
