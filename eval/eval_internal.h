#ifndef EV_EVAL_INTERNAL_H
#define EV_EVAL_INTERNAL_H

/* Helpers shared by the files of eval/; nothing outside the module includes this. */

#include <stdint.h>
#include <stdio.h>

#include "eval/eval.h"

/* a / b, or 0 when b is 0: every ratio in a report is defined, never NaN. */
double ev_ratio(size_t a, size_t b);
/* Harmonic mean of precision and recall; 0 when both are 0. */
double ev_f1(double precision, double recall);
/* Mean F1 over classes with support > 0 or predicted > 0; *used gets how many (may be NULL). */
double ev_macro_f1(const ev_class_metrics *m /* [K] */, int k, int *used);

/* Checks labels and probabilities as eval.h promises; names the first bad item in err. */
int ev_check_inputs(size_t n, int k, const int *labels, const float *probs, aa_error *err);
/* The confidence of a row, clamped into [0, 1] (rows may exceed 1 by rounding). */
double ev_confidence(const float *row, int c);

/* An item reduced to what selective prediction needs. */
typedef struct {
    double conf;
    int correct;
} ev_scored;

/* Selective-prediction points for every distinct confidence of items[] (sorted in place, most confident
 * first): a point covers the items whose confidence >= its threshold. Writes them to out in DESCENDING
 * threshold order (ascending coverage) and returns how many (at most n, 0 when n = 0). total is the N that
 * coverage is a fraction of. */
size_t ev_cov_points(size_t n, ev_scored *items /* [n] */, size_t total, ev_cov_point *out /* [n] */);

/* Counts into gated [K][K+1] (column K: withheld) and plain [K][K] (argmax, no gate); both zeroed first. */
void ev_confusion_fill(size_t n, int k, const int *labels, const float *probs /* [N][K] */,
                       const ev_gate *gate, size_t *gated, size_t *plain);
/* Per-class metrics from a confusion matrix with cols = K (argmax) or K + 1 (gated, column K withheld). */
void ev_class_metrics_from(const size_t *confusion /* [K][cols] */, int k, int cols,
                           ev_class_metrics *out /* [K] */);

/* ---- text encoding -------------------------------------------------------------------------------------- */

/* Code points in s (a byte that is not UTF-8 counts as one): the column width of a name in the text report
 * (names are not East-Asian wide). */
size_t ev_utf8_width(const char *s);
/* s as XML character data or attribute text (&, <, >, ", ' escaped; disallowed controls dropped). */
void ev_xml_text(FILE *out, const char *s);

/* Name of class c: names[c], or "class c" written into buf. */
const char *ev_class_name(const ev_report_info *info, int c, char *buf, size_t cap);
/* The same for text reports: control characters escaped (aa_printable_into, cut to cap). */
const char *ev_class_name_text(const ev_report_info *info, int c, char *buf, size_t cap);
/* info->unit or "items". */
const char *ev_unit(const ev_report_info *info);

/* 0, or EV_ERR_IO with a message naming what was being written if the stream has an error. */
int ev_stream_status(FILE *out, const char *what, aa_error *err);

/* Writes through writer() into a temporary file and renames it over path only if all went well. */
typedef int (*ev_writer)(FILE *out, const void *ctx, aa_error *err);
int ev_save_atomic(const char *path, ev_writer writer, const void *ctx, aa_error *err);

/* ---- SVG primitives (svg.c) -------------------------------------------------------------------------- */

/* Opens a self-contained SVG document of w x h pixels with a white background; title goes in <title>. */
void ev_svg_begin(FILE *out, int w, int h, const char *title);
void ev_svg_end(FILE *out);
/* The height a plot adds at its bottom for info->notice (0 without one), and the notice written there
 * (the document is w by h, that height included). */
int ev_svg_notice_height(const ev_report_info *info);
void ev_svg_notice(FILE *out, int w, int h, const ev_report_info *info);
/* <text> at (x, y); anchor "start"/"middle"/"end"; extra is raw attributes (may be NULL); s is escaped. */
void ev_svg_text(FILE *out, double x, double y, const char *anchor, const char *extra, const char *s);
/* Colour of a share in [0, 1] on a white-to-blue scale, as "#rrggbb" into buf[8]. */
void ev_svg_colour(double share, char buf[8]);

/* A plotting area: data (xmin..xmax, ymin..ymax) mapped onto pixels (x0, y0 top-left, w x h). */
typedef struct {
    double x0, y0, w, h;
    double xmin, xmax, ymin, ymax;
} ev_svg_frame;
double ev_svg_x(const ev_svg_frame *f, double v);
double ev_svg_y(const ev_svg_frame *f, double v);
/* A tick step of 1, 2 or 5 times a power of ten giving about `ticks` intervals over range. */
double ev_svg_nice_step(double range, int ticks);
/* Frame, grid lines, ticks with labels (printf format for each axis), axis titles and the panel title. */
void ev_svg_axes(FILE *out, const ev_svg_frame *f, double xstep, double ystep, const char *xfmt,
                 const char *yfmt, const char *xlabel, const char *ylabel, const char *title);
/* A polyline through the finite points (x[i], y[i]); dash may be NULL; markers draws a dot at each point. */
void ev_svg_series(FILE *out, const ev_svg_frame *f, const double *x, const double *y, size_t n,
                   const char *colour, const char *dash, int markers);

/* JSON members of the reports (report_json.c, events_json.c): "k": and a value, then a comma when asked. */
void ev_json_key(FILE *out, const char *k);
/* The drift table as the text report ends with it, and as the JSON report's member ("\"drift\":{...},\n"). */
void ev_drift_text(FILE *out, const ev_drift_table *t, const ev_report_info *info);
void ev_drift_json(FILE *out, const ev_drift_table *t);
void ev_json_num(FILE *out, const char *k, double v, int comma);
void ev_json_count(FILE *out, const char *k, size_t v, int comma);
/* A class's display name as a JSON string. */
void ev_json_class(FILE *out, const ev_report_info *info, int c);

#endif
