/* Coverage against selective accuracy over every confidence threshold, with the gate's operating point. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "eval/eval_internal.h"

int ev_svg_coverage(FILE *out, const ev_eval *ev, const ev_report_info *info, aa_error *err)
{
    char buf[200];
    size_t n = ev->n_curve;
    double *x = malloc((n ? n : 1) * sizeof *x), *y = malloc((n ? n : 1) * sizeof *y);
    if (!x || !y) {
        free(x);
        free(y);
        return aa_error_set(err, EV_ERR_NOMEM, "coverage SVG: out of memory");
    }
    /* The accuracy axis starts at the tenth below the lowest point, so the interesting top is not squashed. */
    double lowest = 1;
    for (size_t i = 0; i < n; i++) {
        x[i] = ev->curve[i].coverage;
        y[i] = ev->curve[i].selective_accuracy;
        lowest = y[i] < lowest ? y[i] : lowest;
    }
    const ev_gate_choice *g = info ? info->gate_choice : NULL;
    if (g && g->opts.target < lowest)
        lowest = g->opts.target;
    double ymin = floor(lowest * 10 - 1e-9) / 10;
    ymin = ymin < 0 ? 0 : ymin > 0.9 ? 0.9 : ymin;
    ev_svg_frame f = {.x0 = 70, .y0 = 60, .w = 420, .h = 340, .xmin = 0, .xmax = 1, .ymin = ymin, .ymax = 1};

    snprintf(buf, sizeof buf, "Coverage and accuracy%s%s", info && info->title ? ": " : "",
             info && info->title ? info->title : "");
    int height = 480 + ev_svg_notice_height(info);
    ev_svg_begin(out, 520, height, buf);
    ev_svg_text(out, f.x0 + f.w / 2, 22, "middle", "font-size=\"15\" font-weight=\"bold\"", buf);
    snprintf(buf, sizeof buf, "%zu %s, one point per confidence threshold", ev->n, ev_unit(info));
    ev_svg_text(out, f.x0 + f.w / 2, 40, "middle", "font-size=\"11\" fill=\"#555555\"", buf);
    ev_svg_axes(out, &f, 0.2, ev_svg_nice_step(1 - ymin, 5), "%.1f", "%.2f",
                "coverage (fraction not withheld)", "selective accuracy", NULL);
    if (g) {
        double yt = ev_svg_y(&f, g->opts.target);
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#2ca02c\" stroke-dasharray=\"6,4\"/>\n",
                f.x0, yt, f.x0 + f.w, yt);
        snprintf(buf, sizeof buf, "target %.3f", g->opts.target);
        ev_svg_text(out, f.x0 + 6, yt - 4, "start", "font-size=\"10\" fill=\"#2ca02c\"", buf);
    }
    ev_svg_series(out, &f, x, y, n, "#1f77b4", NULL, n <= 60);
    if (ev->n) {
        double px = ev_svg_x(&f, ev->coverage), py = ev_svg_y(&f, ev->selective_accuracy);
        fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\"/>\n",
                px, py);
        snprintf(buf, sizeof buf, "gate: coverage %.3f (%zu/%zu), accuracy %.3f (%zu/%zu)", ev->coverage,
                 ev->covered, ev->n, ev->selective_accuracy, ev->covered_correct, ev->covered);
        ev_svg_text(out, f.x0 + f.w / 2, f.y0 + f.h + 56, "middle", "font-size=\"11\" fill=\"#d62728\"", buf);
    }
    ev_svg_notice(out, 520, height, info);
    ev_svg_end(out);
    free(x);
    free(y);
    return ev_stream_status(out, "coverage SVG", err);
}
