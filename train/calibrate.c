/* Temperature and gate, chosen on the validation split only: the test split must stay unseen until the
 * model file is final. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/calibrate.h"

void tr_calibration_free(tr_calibration *c)
{
    if (!c)
        return;
    ev_gate_choice_free(c->gate);
    ev_eval_free(c->eval);
    ev_breakdown_free(c->breakdown);
    free(c->probs);
    memset(c, 0, sizeof *c);
}

int tr_calibrate_fit(tr_calibration *c, size_t n, int k, const int *labels, const float *logits, aa_error *err)
{
    memset(c, 0, sizeof *c);
    if (ev_fit_temperature(n, k, labels, logits, &c->fit, err))
        return 1;
    c->temperature = c->fit.t;
    /* A fit pinned at the lowest temperature means the validation items are separated with room to spare:
     * sharpening further would only make the model surer of itself on recordings unlike these. */
    if (c->fit.at_bound && c->fit.t < 1) {
        c->temperature = 1;
        c->temperature_rejected = 1;
    }
    return 0;
}

int tr_calibrate_gate(tr_calibration *c, size_t n, int k, const int *labels, const float *probs, int rest_unclear,
                      const tr_options *o, aa_error *err)
{
    free(c->probs);
    c->probs = malloc((n ? n : 1) * (size_t)k * sizeof *c->probs);
    if (!c->probs)
        return aa_error_set(err, AA_ERR_NOMEM, "calibration: out of memory");
    memcpy(c->probs, probs, n * (size_t)k * sizeof *c->probs);
    ev_gate_opts go = ev_gate_opts_default();
    go.target = o->gate_target;
    go.min_covered = (size_t)o->gate_min_covered;
    go.per_class = o->per_class_gates;
    go.rest_unclear = rest_unclear;
    c->gate = ev_choose_gate(n, k, labels, c->probs, &go, err);
    return c->gate ? 0 : 1;
}

int tr_calibrate(tr_calibration *c, size_t n, int k, const int *labels, const float *logits, const tr_options *o,
                 aa_error *err)
{
    if (tr_calibrate_fit(c, n, k, labels, logits, err))
        return 1;
    float *probs = malloc((n ? n : 1) * (size_t)k * sizeof *probs);
    if (!probs) {
        tr_calibration_free(c);
        return aa_error_set(err, AA_ERR_NOMEM, "calibration: out of memory");
    }
    ev_softmax(n, k, logits, c->temperature, probs);
    int rc = tr_calibrate_gate(c, n, k, labels, probs, 0, o, err);
    free(probs);
    if (rc)
        tr_calibration_free(c);
    return rc;
}
