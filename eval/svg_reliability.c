/* Reliability diagram: accuracy against confidence per bin, beside the diagonal of perfect calibration. */
#include <stdio.h>

#include "eval/eval_internal.h"

int ev_svg_reliability(FILE *out, const ev_eval *ev, const ev_report_info *info, aa_error *err)
{
    char buf[160];
    ev_svg_frame f = {.x0 = 70, .y0 = 60, .w = 420, .h = 360, .xmin = 0, .xmax = 1, .ymin = 0, .ymax = 1};
    snprintf(buf, sizeof buf, "Reliability%s%s", info && info->title ? ": " : "",
             info && info->title ? info->title : "");
    int height = 500 + ev_svg_notice_height(info);
    ev_svg_begin(out, 520, height, buf);
    ev_svg_text(out, f.x0 + f.w / 2, 22, "middle", "font-size=\"15\" font-weight=\"bold\"", buf);
    snprintf(buf, sizeof buf, "ECE %.3f over %zu %s (%d equal-width bins)", ev->ece, ev->n, ev_unit(info),
             EV_ECE_BINS);
    ev_svg_text(out, f.x0 + f.w / 2, 40, "middle", "font-size=\"11\" fill=\"#555555\"", buf);
    ev_svg_axes(out, &f, 0.2, 0.2, "%.1f", "%.1f", "confidence (probability of the predicted class)",
                "accuracy", NULL);
    for (int m = 0; m < EV_ECE_BINS; m++) {
        const ev_bin *b = &ev->bins[m];
        if (!b->count)
            continue;
        double x = ev_svg_x(&f, b->lo) + 1, w = ev_svg_x(&f, b->hi) - ev_svg_x(&f, b->lo) - 2;
        double y = ev_svg_y(&f, b->accuracy);
        fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#4a7ab5\"/>\n", x, y, w,
                ev_svg_y(&f, 0) - y);
        /* The bin's mean confidence: the gap to the bar's top is that bin's calibration error. */
        double yc = ev_svg_y(&f, b->mean_confidence);
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" stroke-width=\"2\"/>\n",
                x, yc, x + w, yc);
        snprintf(buf, sizeof buf, "%zu", b->count);
        ev_svg_text(out, x + w / 2, (y < yc ? y : yc) - 4, "middle", "font-size=\"9\"", buf);
    }
    /* Drawn over the bars so that the line of perfect calibration stays visible. */
    fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#222222\" stroke-dasharray=\"5,4\"/>\n",
            ev_svg_x(&f, 0), ev_svg_y(&f, 0), ev_svg_x(&f, 1), ev_svg_y(&f, 1));
    double ly = f.y0 + 14;
    fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"10\" fill=\"#4a7ab5\"/>\n", f.x0 + 10, ly - 9);
    ev_svg_text(out, f.x0 + 30, ly, "start", "font-size=\"11\"", "accuracy in the bin (count above)");
    fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" stroke-width=\"2\"/>\n",
            f.x0 + 10, ly + 12, f.x0 + 24, ly + 12);
    ev_svg_text(out, f.x0 + 30, ly + 16, "start", "font-size=\"11\"", "mean confidence in the bin");
    ev_svg_notice(out, 520, height, info);
    ev_svg_end(out);
    return ev_stream_status(out, "reliability SVG", err);
}
