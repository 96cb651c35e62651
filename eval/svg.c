/* SVG primitives shared by the plots: document, text, colour scale, axes and line series. */
#include <math.h>
#include <stdio.h>

#include "eval/eval_internal.h"

void ev_svg_begin(FILE *out, int w, int h, const char *title)
{
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n<title>",
            w, h, w, h);
    ev_xml_text(out, title ? title : "");
    fprintf(out, "</title>\n<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", w, h);
}

void ev_svg_end(FILE *out)
{
    fputs("</svg>\n", out);
}

int ev_svg_notice_height(const ev_report_info *info)
{
    return info && info->notice ? 24 : 0;
}

void ev_svg_notice(FILE *out, int w, int h, const ev_report_info *info)
{
    if (info && info->notice)
        ev_svg_text(out, w / 2.0, h - 8, "middle", "font-size=\"11\" font-weight=\"bold\" fill=\"#333333\"",
                    info->notice);
}

void ev_svg_text(FILE *out, double x, double y, const char *anchor, const char *extra, const char *s)
{
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s%s>", x, y, anchor, extra ? " " : "",
            extra ? extra : "");
    ev_xml_text(out, s);
    fputs("</text>\n", out);
}

void ev_svg_colour(double share, char buf[8])
{
    /* White to a dark blue, linear in each channel: monotone in lightness, readable in greyscale. */
    static const double lo[3] = {255, 255, 255}, hi[3] = {8, 48, 107};
    double s = share < 0 ? 0 : share > 1 ? 1 : share;
    int c[3];
    for (int i = 0; i < 3; i++)
        c[i] = (int)lround(lo[i] + (hi[i] - lo[i]) * s);
    snprintf(buf, 8, "#%02x%02x%02x", c[0], c[1], c[2]);
}

double ev_svg_x(const ev_svg_frame *f, double v)
{
    double span = f->xmax - f->xmin;
    return f->x0 + (span > 0 ? (v - f->xmin) / span : 0.5) * f->w;
}

double ev_svg_y(const ev_svg_frame *f, double v)
{
    double span = f->ymax - f->ymin;
    return f->y0 + f->h - (span > 0 ? (v - f->ymin) / span : 0.5) * f->h;
}

double ev_svg_nice_step(double range, int ticks)
{
    if (!(range > 0) || ticks < 1)
        return 1;
    double raw = range / ticks, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/* Tick indices i0..i1 with i * step inside [min, max]; the 1e-9 absorbs rounding; at most 200 ticks. */
static void tick_range(double min, double max, double step, long *i0, long *i1)
{
    *i0 = (long)ceil(min / step - 1e-9);
    *i1 = (long)floor(max / step + 1e-9);
    if (*i1 - *i0 > 200)
        *i1 = *i0 + 200;
}

void ev_svg_axes(FILE *out, const ev_svg_frame *f, double xstep, double ystep, const char *xfmt,
                 const char *yfmt, const char *xlabel, const char *ylabel, const char *title)
{
    char buf[64];
    long x0, x1, y0, y1;
    tick_range(f->xmin, f->xmax, xstep, &x0, &x1);
    tick_range(f->ymin, f->ymax, ystep, &y0, &y1);
    fputs("<g stroke=\"#dddddd\" stroke-width=\"1\">\n", out);
    for (long i = x0; i <= x1; i++)
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", ev_svg_x(f, i * xstep),
                f->y0, ev_svg_x(f, i * xstep), f->y0 + f->h);
    for (long i = y0; i <= y1; i++)
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", f->x0, ev_svg_y(f, i * ystep),
                f->x0 + f->w, ev_svg_y(f, i * ystep));
    fputs("</g>\n", out);
    fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#333333\"/>\n",
            f->x0, f->y0, f->w, f->h);
    for (long i = x0; i <= x1; i++) {
        snprintf(buf, sizeof buf, xfmt, i * xstep);
        ev_svg_text(out, ev_svg_x(f, i * xstep), f->y0 + f->h + 15, "middle", NULL, buf);
    }
    for (long i = y0; i <= y1; i++) {
        snprintf(buf, sizeof buf, yfmt, i * ystep);
        ev_svg_text(out, f->x0 - 5, ev_svg_y(f, i * ystep) + 4, "end", NULL, buf);
    }
    if (xlabel)
        ev_svg_text(out, f->x0 + f->w / 2, f->y0 + f->h + 34, "middle", NULL, xlabel);
    if (ylabel) {
        char tr[96];
        double x = f->x0 - 42, y = f->y0 + f->h / 2;
        snprintf(tr, sizeof tr, "transform=\"rotate(-90 %.1f %.1f)\"", x, y);
        ev_svg_text(out, x, y, "middle", tr, ylabel);
    }
    if (title)
        ev_svg_text(out, f->x0 + f->w / 2, f->y0 - 10, "middle", "font-size=\"14\" font-weight=\"bold\"", title);
}

void ev_svg_series(FILE *out, const ev_svg_frame *f, const double *x, const double *y, size_t n,
                   const char *colour, const char *dash, int markers)
{
    fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"", colour);
    if (dash)
        fprintf(out, " stroke-dasharray=\"%s\"", dash);
    fputs(" points=\"", out);
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]))
            continue; /* a value that was not recorded */
        fprintf(out, "%s%.2f,%.2f", first ? "" : " ", ev_svg_x(f, x[i]), ev_svg_y(f, y[i]));
        first = 0;
    }
    fputs("\"/>\n", out);
    if (!markers)
        return;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]) && isfinite(y[i]))
            fprintf(out, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.5\" fill=\"%s\"/>\n", ev_svg_x(f, x[i]),
                    ev_svg_y(f, y[i]), colour);
}
