#include <string.h>

#include "model/model_internal.h"

const dsp_settings *am_dsp(const am_model *m) { return &m->dsp; }
int am_n_classes(const am_model *m) { return m->n_classes; }
const char *am_class_name(const am_model *m, int c) { return c >= 0 && c < m->n_classes ? m->classes[c] : NULL; }
const char *am_class_label(const am_model *m, int c) { return c >= 0 && c < m->n_classes ? m->labels[c] : NULL; }
int am_n_outputs(const am_model *m) { return m->n_outputs; }
const char *am_output_name(const am_model *m, int o) { return o >= 0 && o < m->n_outputs ? m->outputs[o] : NULL; }
int am_output_class(const am_model *m, int o) { return o >= 0 && o < m->n_outputs ? m->map[o] : AM_MAP_UNCLEAR; }
int am_has_unclear(const am_model *m) { return m->has_unclear; }
double am_temperature(const am_model *m) { return m->temperature; }
double am_min_confidence(const am_model *m) { return m->min_confidence; }
double am_class_threshold(const am_model *m, int c) { return c >= 0 && c < m->n_classes ? m->class_threshold[c] : 0; }
const char *am_arch(const am_model *m) { return m->arch; }
const char *am_train_json(const am_model *m) { return m->train_json; }
int am_n_slots(const am_model *m) { return m->n_slots; }
int am_n_networks(const am_model *m) { return m->n_nets; }
size_t am_mel_size(const am_model *m) { return (size_t)m->dsp.n_mels * m->n_frames; }

void am_set_min_confidence(am_model *m, double p)
{
    m->min_confidence = p < 0 ? 0 : p > 1 ? 1 : p;
}

int am_set_class_threshold(am_model *m, const char *class_name, double p, aa_error *err)
{
    if (!(p >= 0 && p <= 1))
        return aa_error_set(err, AM_ERR_ARG, "threshold %g for %s outside [0, 1]", p, class_name);
    for (int c = 0; c < m->n_classes; c++)
        if (!strcmp(m->classes[c], class_name) || !strcmp(m->labels[c], class_name)) {
            m->class_threshold[c] = p;
            return 0;
        }
    return aa_error_set(err, AM_ERR_ARG, "no class called '%s' in this model", class_name);
}

void am_set_threads(am_model *m, int n)
{
    for (int s = 0; s < m->n_slots; s++)
        for (int i = 0; i < m->n_nets; i++)
            nn_set_threads(m->slots[s].nets[i], n);
}

am_aggregate am_get_aggregate(const am_model *m)
{
    return m->aggregate;
}

int am_set_aggregate(am_model *m, const am_aggregate *a, aa_error *err)
{
    if (am_aggregate_check(a, err))
        return AM_ERR_ARG;
    m->aggregate = *a;
    return 0;
}

int am_negatives_class(const am_model *m)
{
    /* The negatives' output is internal: not reported under its own name (a class a user named "other" is
     * just a class). */
    for (int o = 0; o < m->n_outputs; o++)
        if (!strcmp(m->outputs[o], AM_OTHER_OUTPUT) && (m->map[o] < 0 || strcmp(m->classes[m->map[o]], AM_OTHER_OUTPUT)))
            return m->map[o];
    int bg = am_background_class(m);
    return bg >= 0 ? bg : AM_MAP_UNCLEAR;
}
