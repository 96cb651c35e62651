/* The plots written atomically to files. */
#include <stdio.h>

#include "eval/eval_internal.h"

typedef struct {
    int (*plot)(FILE *, const ev_eval *, const ev_report_info *, aa_error *);
    const ev_eval *ev;
    const ev_report_info *info;
} eval_plot;

static int write_eval_plot(FILE *out, const void *ctx, aa_error *err)
{
    const eval_plot *p = ctx;
    return p->plot(out, p->ev, p->info, err);
}

int ev_svg_confusion_save(const char *path, const ev_eval *ev, const ev_report_info *info, aa_error *err)
{
    eval_plot p = {ev_svg_confusion, ev, info};
    return ev_save_atomic(path, write_eval_plot, &p, err);
}

int ev_svg_reliability_save(const char *path, const ev_eval *ev, const ev_report_info *info, aa_error *err)
{
    eval_plot p = {ev_svg_reliability, ev, info};
    return ev_save_atomic(path, write_eval_plot, &p, err);
}

int ev_svg_coverage_save(const char *path, const ev_eval *ev, const ev_report_info *info, aa_error *err)
{
    eval_plot p = {ev_svg_coverage, ev, info};
    return ev_save_atomic(path, write_eval_plot, &p, err);
}

typedef struct {
    const ev_epoch *epochs;
    size_t n;
    const char *title;
} learning_plot;

static int write_learning(FILE *out, const void *ctx, aa_error *err)
{
    const learning_plot *p = ctx;
    return ev_svg_learning_curves(out, p->epochs, p->n, p->title, err);
}

int ev_svg_learning_curves_save(const char *path, const ev_epoch *epochs, size_t n, const char *title,
                                aa_error *err)
{
    learning_plot p = {epochs, n, title};
    return ev_save_atomic(path, write_learning, &p, err);
}

int ev_svg_save_all(const char *dir, const ev_eval *ev, const ev_report_info *info, aa_error *err)
{
    static const struct {
        const char *file;
        int (*save)(const char *, const ev_eval *, const ev_report_info *, aa_error *);
    } plots[] = {
        {"confusion.svg", ev_svg_confusion_save},
        {"reliability.svg", ev_svg_reliability_save},
        {"coverage.svg", ev_svg_coverage_save},
    };
    for (size_t i = 0; i < sizeof plots / sizeof plots[0]; i++) {
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s", dir, plots[i].file) >= (int)sizeof path)
            return aa_error_set(err, EV_ERR_ARG, "%s: directory name too long", dir);
        int rc = plots[i].save(path, ev, info, err);
        if (rc)
            return rc;
    }
    return 0;
}
