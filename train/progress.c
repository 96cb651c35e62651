/* Progress output. A terminal gets lines redrawn in place (\r and erase-to-end), anything else (a log file,
 * a pipe, CI) gets whole lines it can keep, so the output stays readable in both. */
#include <math.h>
#include <string.h>

#include "train/progress.h"

void tr_progress_init(tr_progress *p, FILE *out, int tty, int quiet, FILE *log)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = tty && !quiet;
    p->quiet = quiet;
    p->log = log;
    p->t0 = aa_now();
}

char *tr_format_seconds(double s, char *buf, size_t n)
{
    if (!(s >= 0) || !isfinite(s))
        snprintf(buf, n, "?");
    else if (s < 60)
        snprintf(buf, n, "%.1fs", s);
    else if (s < 3600)
        snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    return buf;
}

void tr_progress_break(tr_progress *p)
{
    if (p->line_open) {
        fputc('\n', p->out);
        fflush(p->out);
        p->line_open = 0;
    }
}

static void redraw(tr_progress *p, const char *line)
{
    fprintf(p->out, "\r%s\033[K", line);
    fflush(p->out);
    p->line_open = 1;
}

void tr_progress_extract(void *user, size_t done, size_t total)
{
    tr_progress *p = user;
    if (p->quiet)
        return;
    double now = aa_now();
    if (done == 0) {
        p->t0 = now;
        p->last_drawn = 0;
        p->last_draw_t = 0;
    }
    double el = now - p->t0;
    char line[160], t[32];
    if (p->tty) {
        if (done != total && done != 0 && now - p->last_draw_t < 0.1)
            return;
        p->last_draw_t = now;
        enum { W = 30 };
        char bar[W + 1];
        int fill = total ? (int)((double)done / (double)total * W) : W;
        for (int i = 0; i < W; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[W] = 0;
        double eta = done && done < total ? el / (double)done * (double)(total - done) : -1;
        char e[32];
        snprintf(line, sizeof line, "Features [%s] %zu/%zu files  %s  ETA %s", bar, done, total,
                 tr_format_seconds(el, t, sizeof t), done == total ? "0s" : tr_format_seconds(eta, e, sizeof e));
        redraw(p, line);
        if (done == total)
            tr_progress_break(p);
        return;
    }
    /* Plain output: the start, each quarter, and the end. */
    size_t q = total / 4 ? total / 4 : 1;
    if (done == 0)
        fprintf(p->out, "Features: extracting %zu files\n", total);
    else if (done == total)
        fprintf(p->out, "Features: %zu/%zu files in %s\n", done, total, tr_format_seconds(el, t, sizeof t));
    else if (done / q > p->last_drawn / q)
        fprintf(p->out, "Features: %zu/%zu files\n", done, total);
    else
        return;
    p->last_drawn = done;
    fflush(p->out);
}

void tr_progress_step(tr_progress *p, int epoch, int epochs, size_t done, size_t total, double loss)
{
    if (!p->tty)
        return;
    double now = aa_now();
    if (done != 1 && done != total && now - p->last_draw_t < 0.1)
        return;
    p->last_draw_t = now;
    char line[160];
    snprintf(line, sizeof line, "epoch %*d/%d  step %zu/%zu  loss %.4f", epochs >= 100 ? 3 : 2, epoch, epochs,
             done, total, loss);
    redraw(p, line);
}

static void log_epoch(FILE *log, const tr_epoch *e)
{
    fprintf(log, "{\"type\": \"epoch\", \"epoch\": %d, \"lr\": ", e->epoch);
    aa_json_fnum(log, e->lr);
    fputs(", \"train_loss\": ", log);
    aa_json_fnum(log, e->train_loss);
    fputs(", \"train_accuracy\": ", log);
    aa_json_fnum(log, e->train_accuracy);
    fputs(", \"val_loss\": ", log);
    aa_json_fnum(log, e->val_loss);
    fputs(", \"val_accuracy\": ", log);
    aa_json_fnum(log, e->val_accuracy);
    fputs(", \"val_macro_f1\": ", log);
    aa_json_fnum(log, e->val_macro_f1);
    fputs(", \"val_recording_accuracy\": ", log);
    aa_json_fnum(log, e->val_rec_accuracy);
    fputs(", \"val_recording_macro_f1\": ", log);
    aa_json_fnum(log, e->val_rec_macro_f1);
    fputs(", \"val_recording_window_mean_macro_f1\": ", log);
    aa_json_fnum(log, e->val_rec_mean_macro_f1);
    fputs(", \"seconds\": ", log);
    aa_json_fnum(log, e->seconds);
    fputs(", \"train_seconds\": ", log);
    aa_json_fnum(log, e->train_seconds);
    fprintf(log, ", \"samples\": %zu", e->samples);
    if (e->comm_bytes > 0) {
        fputs(", \"comm_seconds\": ", log);
        aa_json_fnum(log, e->comm_seconds);
        fprintf(log, ", \"comm_bytes\": %.0f", e->comm_bytes);
    }
    fprintf(log, ", \"best\": %s}\n", e->best ? "true" : "false");
    fflush(log);
}

void tr_progress_epoch(tr_progress *p, const tr_epoch *e, int epochs, double elapsed, double eta)
{
    if (p->log)
        log_epoch(p->log, e);
    if (p->quiet)
        return;
    char line[256], t1[32], t2[32], t3[32];
    snprintf(line, sizeof line,
             "epoch %*d/%d  loss %.4f  train acc %.3f  val loss %.4f  val acc %.3f  val macro-F1 %.3f%s  "
             "%s  (%s, ETA %s)",
             epochs >= 100 ? 3 : 2, e->epoch, epochs, e->train_loss, e->train_accuracy, e->val_loss,
             e->val_accuracy, e->val_macro_f1, e->best ? " *" : "  ", tr_format_seconds(e->seconds, t1, sizeof t1),
             tr_format_seconds(elapsed, t2, sizeof t2), eta < 0 ? "?" : tr_format_seconds(eta, t3, sizeof t3));
    if (p->tty) {
        redraw(p, line);
        tr_progress_break(p);
    } else {
        fprintf(p->out, "%s\n", line);
        fflush(p->out);
    }
}
