#ifndef AA_TESTS_BADAUDIO_H
#define AA_TESTS_BADAUDIO_H

/* The bad-input corpus's recordings, made by the tests: each case a file (or folder, or link) and what
 * loading it gives. docs/RELIABILITY.md lists them; tests/util/badaudio.c makes them. */

#include <stddef.h>

typedef enum { TU_LOADS, TU_FAILS } tu_outcome;

typedef struct {
    const char *file;   /* name in the case's folder; "<255 bytes>" and "<over PATH_MAX>" stand for names */
    tu_outcome out;
    int code;           /* TU_FAILS: the dsp status */
    const char *reason; /* TU_FAILS: a phrase of the message; TU_LOADS: NULL */
    double seconds;     /* TU_LOADS: expected duration of what loads (source frames / rate), -1 unchecked */
} tu_audio_case;

extern const tu_audio_case TU_BAD_AUDIO[];
extern const int TU_N_BAD_AUDIO;

/* Makes case c's file in dir and puts its path in path. "unreadable.wav" needs a reader other than root:
 * when the test runs as root it switches the process to "nobody" (tu_drop_root). Returns 0 when the case
 * cannot run here (skipped), 1 otherwise. */
int tu_make_audio_case(const char *dir, const tu_audio_case *c, char *path, size_t cap);

/* Root reads every file: makes this process (a forked Check test) "nobody" and gives it dir. Returns 1 when
 * the process is not root or now is nobody, 0 when that is impossible (CK_FORK=no). */
int tu_drop_root(const char *dir);

/* A 440 Hz tone (one decreasing amplitude per channel) in a libsndfile format; fails the test on error. */
void tu_bad_tone(const char *path, int format, int rate, int channels, size_t frames);

#endif
