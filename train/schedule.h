#ifndef TR_SCHEDULE_H
#define TR_SCHEDULE_H

/* The learning rate of every optimiser step: a linear warm-up, then cosine decay or step drops. */

#include <stdint.h>

#include "train/options.h"

typedef struct {
    tr_sched_kind kind;
    double base_lr;       /* the peak rate, reached at the end of the warm-up */
    uint64_t warmup;      /* steps of warm-up (0: none) */
    uint64_t total;       /* steps of the whole run (>= 1) */
    double min_lr;        /* cosine: the rate of the last step */
    uint64_t step_every;  /* step: steps between drops (>= 1) */
    double gamma;         /* step: factor of each drop */
} tr_schedule;

/* The schedule of a run of `epochs` epochs of `steps_per_epoch` steps with the options' settings. */
tr_schedule tr_schedule_make(const tr_options *o, uint64_t steps_per_epoch);

/* The rate of step s (0-based). Warm-up: base * (s + 1) / warmup, so the first step already moves. Then
 * cosine: min + (base - min) (1 + cos(pi t)) / 2, t = (s - warmup) / (total - warmup - 1) in [0, 1], so the
 * last step runs at min (a single step after the warm-up runs at base); or step: base * gamma^floor((s - warmup) / step_every). Computed in double from the
 * step number alone, so a resumed run continues on the same curve. */
float tr_schedule_lr(const tr_schedule *sc, uint64_t s);

#endif
