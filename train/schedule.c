/* Learning-rate schedules. Everything is a pure function of the step number, so a run resumed from a
 * checkpoint (which restores the optimiser's step count) gets exactly the rates the uninterrupted run had. */
#include <math.h>

#include "train/schedule.h"

tr_schedule tr_schedule_make(const tr_options *o, uint64_t steps_per_epoch)
{
    tr_schedule sc = {.kind = o->schedule, .base_lr = o->lr, .gamma = o->step_gamma};
    if (steps_per_epoch < 1)
        steps_per_epoch = 1;
    sc.total = steps_per_epoch * (uint64_t)o->epochs;
    sc.warmup = (uint64_t)llround(o->warmup_epochs * (double)steps_per_epoch);
    if (sc.warmup >= sc.total)
        sc.warmup = sc.total - 1;
    sc.min_lr = o->lr * o->min_lr_frac;
    sc.step_every = steps_per_epoch * (uint64_t)(o->step_epochs > 0 ? o->step_epochs : 1);
    return sc;
}

float tr_schedule_lr(const tr_schedule *sc, uint64_t s)
{
    if (s < sc->warmup)
        return (float)(sc->base_lr * (double)(s + 1) / (double)sc->warmup);
    uint64_t k = s - sc->warmup;
    if (sc->kind == TR_SCHED_STEP)
        return (float)(sc->base_lr * pow(sc->gamma, (double)(k / sc->step_every)));
    uint64_t span = sc->total - sc->warmup; /* >= 1: warmup < total */
    double t = span > 1 ? (double)k / (double)(span - 1) : 0.0;
    if (t > 1)
        t = 1;
    return (float)(sc->min_lr + (sc->base_lr - sc->min_lr) * 0.5 * (1 + cos(M_PI * t)));
}
