/* Confusion-matrix heatmap: each cell coloured by its share of the true class's row, its count written in it. */
#include <stdio.h>

#include "eval/eval_internal.h"

#define NAME_BUF 64
#define CELL_W 72
#define CELL_H 44
#define GAP 8     /* between the predicted classes and the Unclear column */
#define CHAR_W 7  /* rough advance of a 12 px sans-serif character, for margins */

int ev_svg_confusion(FILE *out, const ev_eval *ev, const ev_report_info *info, aa_error *err)
{
    size_t K = (size_t)ev->k;
    char nb[NAME_BUF], buf[160];
    size_t maxw = ev_utf8_width(EV_UNCLEAR_LABEL);
    for (int c = 0; c < ev->k; c++) {
        size_t w = ev_utf8_width(ev_class_name(info, c, nb, sizeof nb));
        maxw = w > maxw ? w : maxw;
    }
    double left = 40 + (double)maxw * CHAR_W + 10;
    double top = 70 + (double)maxw * CHAR_W * 0.72; /* column names are turned 45 degrees */
    double grid_w = (double)(K + 1) * CELL_W + GAP, grid_h = (double)K * CELL_H;
    int width = (int)(left + grid_w + 90), height = (int)(top + grid_h + 100) + ev_svg_notice_height(info);

    snprintf(buf, sizeof buf, "Confusion matrix%s%s", info && info->title ? ": " : "",
             info && info->title ? info->title : "");
    ev_svg_begin(out, width, height, buf);
    ev_svg_text(out, width / 2.0, 24, "middle", "font-size=\"15\" font-weight=\"bold\"", buf);
    snprintf(buf, sizeof buf, "%zu %s; colour: share of the true class's row; %s: withheld by the gate", ev->n,
             ev_unit(info), EV_UNCLEAR_LABEL);
    ev_svg_text(out, width / 2.0, 42, "middle", "font-size=\"11\" fill=\"#555555\"", buf);

    for (size_t c = 0; c <= K; c++) {
        double cx = left + (double)c * CELL_W + (c == K ? GAP : 0) + CELL_W / 2.0, cy = top - 8;
        char tr[96];
        snprintf(tr, sizeof tr, "transform=\"rotate(-45 %.1f %.1f)\"", cx, cy);
        ev_svg_text(out, cx, cy, "start", tr, c < K ? ev_class_name(info, (int)c, nb, sizeof nb) : EV_UNCLEAR_LABEL);
    }
    for (size_t r = 0; r < K; r++) {
        size_t total = 0;
        for (size_t c = 0; c <= K; c++)
            total += ev->confusion[r * (K + 1) + c];
        double y = top + (double)r * CELL_H;
        ev_svg_text(out, left - 8, y + CELL_H / 2.0 + 4, "end", NULL, ev_class_name(info, (int)r, nb, sizeof nb));
        for (size_t c = 0; c <= K; c++) {
            size_t v = ev->confusion[r * (K + 1) + c];
            double share = ev_ratio(v, total), x = left + (double)c * CELL_W + (c == K ? GAP : 0);
            char fill[8];
            ev_svg_colour(share, fill);
            fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%d\" fill=\"%s\" stroke=\"%s\"/>\n",
                    x, y, CELL_W, CELL_H, fill, r == c ? "#333333" : "#ffffff");
            /* Dark cells carry white text so every count stays readable. */
            const char *ink = share > 0.55 ? "fill=\"#ffffff\"" : "fill=\"#222222\"";
            snprintf(buf, sizeof buf, "%zu", v);
            char attrs[64];
            snprintf(attrs, sizeof attrs, "%s font-size=\"14\"", ink);
            ev_svg_text(out, x + CELL_W / 2.0, y + CELL_H / 2.0, "middle", attrs, buf);
            snprintf(buf, sizeof buf, "%.0f%%", share * 100);
            snprintf(attrs, sizeof attrs, "%s font-size=\"10\"", ink);
            ev_svg_text(out, x + CELL_W / 2.0, y + CELL_H / 2.0 + 14, "middle", attrs, buf);
        }
        snprintf(buf, sizeof buf, "%zu", total);
        ev_svg_text(out, left + grid_w + 10, y + CELL_H / 2.0 + 4, "start", NULL, buf);
    }
    ev_svg_text(out, left + grid_w + 10, top - 8, "start", "font-style=\"italic\"", "total");
    ev_svg_text(out, left + grid_w / 2, top + grid_h + 24, "middle", "font-weight=\"bold\"", "predicted class");
    snprintf(buf, sizeof buf, "transform=\"rotate(-90 16 %.1f)\" font-weight=\"bold\"", top + grid_h / 2);
    ev_svg_text(out, 16, top + grid_h / 2, "middle", buf, "true class");

    /* Colour key: the scale from 0 to 100 % of a row, in ten steps. */
    double ky = top + grid_h + 44, kx = left;
    for (int i = 0; i < 10; i++) {
        char fill[8];
        ev_svg_colour((i + 0.5) / 10, fill);
        fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"20\" height=\"12\" fill=\"%s\"/>\n", kx + i * 20, ky, fill);
    }
    fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"200\" height=\"12\" fill=\"none\" stroke=\"#333333\"/>\n", kx, ky);
    ev_svg_text(out, kx, ky + 26, "start", "font-size=\"10\"", "0%");
    ev_svg_text(out, kx + 200, ky + 26, "end", "font-size=\"10\"", "100% of the row");
    ev_svg_notice(out, width, height, info);
    ev_svg_end(out);
    return ev_stream_status(out, "confusion-matrix SVG", err);
}
