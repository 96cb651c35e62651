/* Learning curves: losses and accuracies per epoch, in two panels. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "eval/eval_internal.h"

typedef struct {
    const char *name, *colour, *dash;
    size_t offset; /* of the field in ev_epoch */
} series;

static const series loss_series[] = {
    {"train loss", "#1f77b4", NULL, offsetof(ev_epoch, train_loss)},
    {"validation loss", "#ff7f0e", "6,3", offsetof(ev_epoch, val_loss)},
};
static const series acc_series[] = {
    {"train accuracy", "#1f77b4", NULL, offsetof(ev_epoch, train_accuracy)},
    {"validation accuracy", "#ff7f0e", "6,3", offsetof(ev_epoch, val_accuracy)},
    {"validation macro-F1", "#2ca02c", "2,3", offsetof(ev_epoch, val_macro_f1)},
};

static double field(const ev_epoch *e, size_t offset)
{
    return *(const double *)((const char *)e + offset);
}

static void panel(FILE *out, const ev_svg_frame *f0, const ev_epoch *ep, size_t n, const series *s, int ns,
                  double *x, double *y, int is_loss, const char *title)
{
    ev_svg_frame f = *f0;
    double ymax = 0;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < ns; j++) {
            double v = field(&ep[i], s[j].offset);
            if (isfinite(v) && v > ymax)
                ymax = v;
        }
    double ystep;
    if (is_loss) {
        ystep = ev_svg_nice_step(ymax > 0 ? ymax : 1, 5);
        f.ymax = ceil((ymax > 0 ? ymax : 1) / ystep - 1e-9) * ystep;
    } else {
        ystep = 0.2;
        f.ymax = 1;
    }
    double xstep = ev_svg_nice_step(f.xmax - f.xmin, 6);
    xstep = xstep < 1 ? 1 : xstep; /* epochs are whole numbers */
    ev_svg_axes(out, &f, xstep, ystep, "%.0f", is_loss ? "%.3g" : "%.1f", "epoch", is_loss ? "loss" : "accuracy",
                title);
    for (int j = 0; j < ns; j++) {
        for (size_t i = 0; i < n; i++)
            y[i] = field(&ep[i], s[j].offset);
        ev_svg_series(out, &f, x, y, n, s[j].colour, s[j].dash, n <= 40);
        /* The legend sits under the panel, where no curve can hide it. */
        double ly = f.y0 + f.h + 58 + 16 * j, lx = f.x0 + 20;
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"%s%s%s/>\n",
                lx, ly - 4, lx + 22, ly - 4, s[j].colour, s[j].dash ? " stroke-dasharray=\"" : "",
                s[j].dash ? s[j].dash : "", s[j].dash ? "\"" : "");
        ev_svg_text(out, lx + 28, ly, "start", "font-size=\"11\"", s[j].name);
    }
}

int ev_svg_learning_curves(FILE *out, const ev_epoch *epochs, size_t n, const char *title, aa_error *err)
{
    double *x = malloc((n ? n : 1) * sizeof *x), *y = malloc((n ? n : 1) * sizeof *y);
    if (!x || !y) {
        free(x);
        free(y);
        return aa_error_set(err, EV_ERR_NOMEM, "learning-curve SVG: out of memory");
    }
    double xmin = n ? epochs[0].epoch : 0, xmax = xmin;
    for (size_t i = 0; i < n; i++) {
        x[i] = epochs[i].epoch;
        xmin = x[i] < xmin ? x[i] : xmin;
        xmax = x[i] > xmax ? x[i] : xmax;
    }
    if (xmax <= xmin)
        xmax = xmin + 1;
    char buf[160];
    snprintf(buf, sizeof buf, "Learning curves%s%s", title ? ": " : "", title ? title : "");
    ev_svg_begin(out, 940, 450, buf);
    ev_svg_text(out, 470, 22, "middle", "font-size=\"15\" font-weight=\"bold\"", buf);
    ev_svg_frame f = {.x0 = 70, .y0 = 60, .w = 380, .h = 270, .xmin = xmin, .xmax = xmax, .ymin = 0, .ymax = 1};
    panel(out, &f, epochs, n, loss_series, 2, x, y, 1, "loss");
    f.x0 = 540;
    panel(out, &f, epochs, n, acc_series, 3, x, y, 0, "accuracy and macro-F1");
    if (!n)
        ev_svg_text(out, 470, 200, "middle", "fill=\"#888888\"", "no epochs recorded");
    ev_svg_end(out);
    free(x);
    free(y);
    return ev_stream_status(out, "learning-curve SVG", err);
}
