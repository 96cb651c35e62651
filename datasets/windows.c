/* Which clip windows a file contributes: the dsp window grid over the file, thinned evenly to a cap. */
#include <math.h>

#include "datasets/datasets.h"

#define MAX_PER_FILE_LIMIT 100000

void ds_window_opts_default(ds_window_opts *o)
{
    *o = (ds_window_opts){.hop_seconds = 2.0, .max_per_file = 12};
}

size_t ds_window_hop(const ds_window_opts *o, const dsp_settings *s)
{
    double h = floor(o->hop_seconds * s->sample_rate + 0.5);
    return h >= 1 ? (size_t)h : 1;
}

int ds_window_opts_validate(const ds_window_opts *o, const dsp_settings *s, aa_error *err)
{
    if (!(o->hop_seconds > 0) || !isfinite(o->hop_seconds) || o->hop_seconds > 3600)
        return aa_error_set(err, DS_ERR_ARG, "window hop %g s out of range (0, 3600]", o->hop_seconds);
    if (o->hop_seconds * s->sample_rate < 0.5)
        return aa_error_set(err, DS_ERR_ARG, "window hop %g s is less than one sample at %d Hz", o->hop_seconds,
                            s->sample_rate);
    if (o->max_per_file < 1 || o->max_per_file > MAX_PER_FILE_LIMIT)
        return aa_error_set(err, DS_ERR_ARG, "windows per file %d out of range (1..%d)", o->max_per_file,
                            MAX_PER_FILE_LIMIT);
    return 0;
}

size_t ds_window_plan(const dsp_settings *s, const ds_window_opts *o, size_t n, size_t *offsets, size_t cap)
{
    size_t len = dsp_clip_samples(s), hop = ds_window_hop(o, s);
    size_t count = dsp_window_offsets(n, len, hop, 1, NULL, 0);
    size_t max = (size_t)o->max_per_file;
    if (count <= max) {
        dsp_window_offsets(n, len, hop, 1, offsets, cap);
        return count;
    }
    /* Window j of the full grid, computed rather than stored (an hour at a 2 s hop is 1800 windows): the
     * regular windows j * hop, and the last one ends at n when the grid stops short of it. */
    size_t regular = (n - len) / hop + 1;
    for (size_t i = 0; i < max && i < cap; i++) {
        size_t j = max == 1 ? (count - 1) / 2 : (2 * i * (count - 1) + (max - 1)) / (2 * (max - 1));
        offsets[i] = j < regular ? j * hop : n - len;
    }
    return max;
}
