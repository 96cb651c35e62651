/* Scored event tests made of a split's own recordings: coughs of one side placed into that side's backgrounds
 * at known times (ds_mixset_one, datasets/mixset.c: the mixtures the trainer tunes its timeline on), and
 * aa-infer --timeline's output scored against them (eval/'s event scorer), so that the training corpus's
 * validation side can say how single coughs in quiet rooms fare.
 *
 *   mixtures make SPLIT.tsv OUTDIR [--side val] [--count 20] [--seconds 60] [--events 4] [--seed 1]
 *                 [--stream 0 (1: the set aa-train tunes its timeline on, for --seed S the same as its own)]
 *                 [--level -50,-30] [--snr 8,25] [--class cough] [--background background_noise]
 *       OUTDIR/mix_NNN.wav (float, the model rate) and OUTDIR/reference.tsv (file, label, start_s, end_s):
 *       each recording a background of the side (its background-class files, and the quiet stretches of
 *       its other files, ds_quiet_find) at an RMS uniform in --level dBFS, with --events events of --class
 *       (ds_events_find on the side's files of that class) at an SNR uniform in --snr dB over it, at least
 *       6 s apart.
 *   mixtures score MODEL REFERENCE.tsv TIMELINE.txt [--collar S] [--overlap]
 *       TIMELINE.txt: aa-infer -m MODEL --timeline's text output for the mixtures; prints the event report
 *       (the background class ignored) and, last, one JSON line: recall, false events per 10 minutes.
 *
 * SPLIT.tsv is aa-train's MODEL.split.tsv (path, class, group, side). */
#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datasets/datasets.h"
#include "datasets/mixset.h"
#include "eval/eval.h"
#include "model/model.h"

static void die(const char *msg)
{
    fprintf(stderr, "mixtures: %s\n", msg);
    exit(1);
}

static int range(const char *s, double *lo, double *hi)
{
    return sscanf(s, "%lf,%lf", lo, hi) == 2 && *lo <= *hi ? 0 : -1;
}

/* ---- make ------------------------------------------------------------------------------------------------- */

static void write_wav(const char *path, const float *x, size_t n, int rate)
{
    SF_INFO info = {.samplerate = rate, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    if (!f || sf_writef_float(f, x, (sf_count_t)n) != (sf_count_t)n || sf_close(f)) {
        fprintf(stderr, "mixtures: %s: cannot write (%s)\n", path, sf_strerror(f));
        exit(1);
    }
}

static int cmd_make(int argc, char **argv)
{
    if (argc < 4)
        die("usage: mixtures make SPLIT.tsv OUTDIR [options]");
    const char *split = argv[2], *out = argv[3], *side = "val", *cls = "cough", *bgcls = "background_noise";
    int count = 20, events = 4;
    double seconds = 60, lv_lo = -50, lv_hi = -30, snr_lo = 8, snr_hi = 25;
    uint64_t seed = 1, stream = 0;
    for (int i = 4; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--side"))
            side = v;
        else if (!strcmp(k, "--count"))
            count = atoi(v);
        else if (!strcmp(k, "--seconds"))
            seconds = atof(v);
        else if (!strcmp(k, "--events"))
            events = atoi(v);
        else if (!strcmp(k, "--seed"))
            seed = strtoull(v, NULL, 10);
        else if (!strcmp(k, "--stream"))
            stream = strtoull(v, NULL, 10);
        else if (!strcmp(k, "--level") && !range(v, &lv_lo, &lv_hi))
            ;
        else if (!strcmp(k, "--snr") && !range(v, &snr_lo, &snr_hi))
            ;
        else if (!strcmp(k, "--class"))
            cls = v;
        else if (!strcmp(k, "--background"))
            bgcls = v;
        else
            die("unknown option or bad value");
    }
    if (count < 1 || events < 1 || events > DS_MIX_MAX_EVENTS || !(seconds >= 10))
        die("--count, --events or --seconds out of range");
    FILE *f = fopen(split, "r");
    if (!f)
        die("cannot open the split file");
    dsp_settings s = dsp_settings_default();
    ds_mix_material *m = ds_mix_material_new();
    if (!m)
        die("out of memory");
    char line[8192];
    size_t files = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *path = strtok(line, "\t"), *c = strtok(NULL, "\t"), *g = strtok(NULL, "\t"), *sd = strtok(NULL, "\t");
        (void)g;
        if (!path || !c || !sd || strcmp(sd, side) || !strcmp(path, "path"))
            continue;
        dsp_audio a;
        aa_error err;
        if (dsp_load(path, &s, 0, &a, &err)) {
            fprintf(stderr, "mixtures: skipped %s\n", err.msg);
            continue;
        }
        files++;
        if (ds_mix_material_add(m, a.samples, a.n, s.sample_rate, strcmp(c, cls) ? -1 : 0, !strcmp(c, bgcls), &err))
            die(err.msg);
        dsp_audio_free(&a);
    }
    fclose(f);
    fprintf(stderr, "mixtures: %zu %s files read: %zu %s events, %zu backgrounds\n", files, side,
            ds_mix_material_events(m), cls, ds_mix_material_backgrounds(m));
    if (!ds_mix_material_events(m) || !ds_mix_material_backgrounds(m))
        die("no events or no backgrounds on that side");
    if (mkdir(out, 0777) && errno != EEXIST)
        die("cannot make OUTDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/reference.tsv", out);
    FILE *ref = fopen(path, "w");
    if (!ref)
        die("cannot write reference.tsv");
    fprintf(ref, "file\tlabel\tstart_s\tend_s\tsnr_db\tbackground_dbfs\n");
    ds_mixset_opts o;
    ds_mixset_opts_default(&o);
    o.count = count;
    o.seconds = seconds;
    o.seed = seed;
    o.stream = stream;
    o.mix.events_min = o.mix.events_max = events;
    o.mix.snr_min_db = snr_lo;
    o.mix.snr_max_db = snr_hi;
    o.mix.level_min_db = lv_lo;
    o.mix.level_max_db = lv_hi;
    size_t n = ds_mixset_samples(&o, s.sample_rate);
    float *x = malloc(n * sizeof *x);
    if (!x)
        die("out of memory");
    for (int i = 0; i < count; i++) {
        ds_mixture mx;
        aa_error err;
        if (ds_mixset_one(m, s.sample_rate, &o, i, x, n, &mx, &err))
            die(err.msg);
        char name[64];
        snprintf(name, sizeof name, "mix_%03d.wav", i);
        snprintf(path, sizeof path, "%s/%s", out, name);
        write_wav(path, x, n, s.sample_rate);
        for (size_t j = 0; j < mx.n_events; j++)
            fprintf(ref, "%s\t%s\t%.3f\t%.3f\t%.1f\t%.1f\n", name, cls, (double)mx.events[j].onset / s.sample_rate,
                    (double)mx.events[j].offset / s.sample_rate, mx.events[j].snr_db, mx.bg_rms_db);
    }
    free(x);
    ds_mix_material_free(m);
    if (fclose(ref))
        die("cannot write reference.tsv");
    printf("{\"recordings\": %d, \"events\": %d, \"seconds\": %g}\n", count, count * events, seconds);
    return 0;
}

/* ---- score ------------------------------------------------------------------------------------------------ */

typedef struct {
    char **names;
    ev_recording *recs;
    ev_event *est;
    size_t n_rec, n_est, cap_rec, cap_est;
} timeline;

static int class_of_label(const am_model *mdl, const char *label)
{
    for (int c = 0; c < am_n_classes(mdl); c++)
        if (!strcmp(am_class_label(mdl, c), label) || !strcmp(am_class_name(mdl, c), label))
            return c;
    return -1;
}

/* aa-infer --timeline's text: "FILE: D s, ..." then "  START END LABEL CONF%" lines. */
static void read_timeline(const char *path, const am_model *mdl, timeline *t)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot open the timeline");
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        double a, b;
        int used = 0;
        char *colon = strstr(line, ": ");
        if (line[0] != ' ' && colon && strstr(colon, " windows of ")) {
            if (t->n_rec == t->cap_rec) {
                t->cap_rec = t->cap_rec ? 2 * t->cap_rec : 64;
                t->names = realloc(t->names, t->cap_rec * sizeof *t->names);
                t->recs = realloc(t->recs, t->cap_rec * sizeof *t->recs);
            }
            *colon = 0;
            t->names[t->n_rec] = strdup(line);
            t->recs[t->n_rec] = (ev_recording){t->names[t->n_rec], atof(colon + 2)};
            t->n_rec++;
        } else if (t->n_rec && sscanf(line, " %lf %lf %n", &a, &b, &used) == 2 && used) {
            char *label = line + used, *pct = strrchr(label, ' ');
            if (!pct)
                continue;
            while (pct > label && pct[-1] == ' ')
                pct--;
            *pct = 0;
            int c = class_of_label(mdl, label);
            if (c < 0) {
                fprintf(stderr, "mixtures: unknown label '%s'\n", label);
                exit(1);
            }
            if (t->n_est == t->cap_est) {
                t->cap_est = t->cap_est ? 2 * t->cap_est : 256;
                t->est = realloc(t->est, t->cap_est * sizeof *t->est);
            }
            t->est[t->n_est++] = (ev_event){a, b, c, t->n_rec - 1};
        }
    }
    fclose(f);
}

static int cmd_score(int argc, char **argv)
{
    if (argc < 5)
        die("usage: mixtures score MODEL REFERENCE.tsv TIMELINE.txt [--collar S] [--overlap]");
    aa_error err;
    am_model *mdl = am_load(argv[2], 1, &err);
    if (!mdl)
        die(err.msg);
    ev_event_opts o = ev_event_opts_default();
    for (int i = 5; i < argc; i++)
        if (!strcmp(argv[i], "--collar") && i + 1 < argc)
            o.collar = atof(argv[++i]);
        else if (!strcmp(argv[i], "--overlap"))
            o.overlap = 1;
        else
            die("score: unknown option (--collar S, --overlap)");
    int k = am_n_classes(mdl);
    const char *classes[AM_MAX_CLASSES], *labels[AM_MAX_CLASSES];
    int bg = -1, cough = -1;
    for (int c = 0; c < k; c++) {
        classes[c] = am_class_name(mdl, c);
        labels[c] = am_class_label(mdl, c);
        if (!strcmp(classes[c], "background_noise"))
            bg = c;
        if (!strcmp(classes[c], "cough"))
            cough = c;
    }
    o.ignore_class = bg;
    ev_reference *ref = ev_reference_read(argv[3], k, classes, labels, &err);
    if (!ref)
        die(err.msg);
    timeline t = {0};
    read_timeline(argv[4], mdl, &t);
    ev_event_eval *s = ev_events_score_reference(ref, t.n_est, t.est, t.n_rec, t.recs, k, &o, &err);
    if (!s)
        die(err.msg);
    ev_report_info info = {0};
    info.class_names = labels;
    info.title = "Coughs placed in the split's backgrounds";
    if (ev_events_report_text(stdout, s, &info, &err))
        die(err.msg);
    const ev_event_counts *c = cough >= 0 ? &s->per_class[cough] : &s->overall;
    printf("{\"collar_s\": %g, \"recordings\": %zu, \"minutes\": %.2f, \"coughs\": %zu, \"found\": %zu, "
           "\"recall\": %.4f, \"false_coughs\": %zu, \"false_coughs_per_10min\": %.3f, \"other_events\": %zu}\n",
           o.collar, t.n_rec, s->duration_s / 60, c->reference, c->hits, c->recall, c->false_alarms,
           s->duration_s > 0 ? (double)c->false_alarms / (s->duration_s / 600) : 0,
           s->overall.estimated - c->estimated);
    ev_event_eval_free(s);
    ev_reference_free(ref);
    am_free(mdl);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "make"))
        return cmd_make(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "score"))
        return cmd_score(argc, argv);
    die("usage: mixtures make SPLIT.tsv OUTDIR [options] | mixtures score MODEL REFERENCE.tsv TIMELINE.txt");
    return 2;
}
