#ifndef AA_LIB_INTERNAL_H
#define AA_LIB_INTERNAL_H

/* The public library (include/audioaudit.h) over model/: the handles, the worker pool that makes one model
 * safe to share between threads, and the translation of the project's error codes into the public ones.
 * Nothing here is exported but what the public header declares (the build hides every other symbol). */

#include <pthread.h>

#include "include/audioaudit.h"
#include "model/model.h"

#define AUL_MAX_WORKERS 64

struct audioaudit_model {
    am_model *am;
    int workers;
    /* The pool: a classify call takes one free slot; a whole-model call (timeline, self-test, a new gate)
     * waits until no slot is busy and holds them all. A whole-model call that is waiting lets no new slot
     * be taken, so a stream of classify calls cannot starve it. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned char busy[AUL_MAX_WORKERS];
    int n_busy, whole, whole_waiting;
    char *settings;                        /* dsp_settings_format of the front end */
    char aggregate[AM_AGGREGATE_TEXT_MAX]; /* am_aggregate_format of the policy */
};

struct audioaudit_result {
    am_file_result fr;
    int n_classes;
    const char *label; /* the model's label of fr.result.cls, or AM_UNCLEAR_LABEL */
    int rate;          /* the model's, for the clip start in seconds */
};

/* What the public functions were asked to do when an internal code came back: the same code means
 * different things in each (a settings error while loading is the model file's fault). */
typedef enum { AUL_LOAD, AUL_AUDIO, AUL_OTHER } aul_context;

/* Copies an internal error into the public one (may be NULL), with its code translated. Returns the
 * public code. */
int aul_error_from(audioaudit_error *out, const aa_error *e, aul_context ctx);
/* Sets a public error directly; returns code. */
int aul_error_set(audioaudit_error *out, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void aul_error_clear(audioaudit_error *out);

/* The pool. aul_take_slot waits for a free slot and returns it; aul_take_all waits until every slot is
 * free and holds them all. Each is undone by its aul_give_*. */
int aul_take_slot(audioaudit_model *m);
void aul_give_slot(audioaudit_model *m, int slot);
void aul_take_all(audioaudit_model *m);
void aul_give_all(audioaudit_model *m);

/* Interleaved float samples as the bytes of a 32-bit float WAV file (caller frees; the copy should be
 * wiped with explicit_bzero before). NULL with a public error for a bad rate, channel count or size. */
unsigned char *aul_pcm_wav(const float *pcm, size_t frames, int rate, int channels, size_t *size,
                           audioaudit_error *err);

#endif
