/* The dataset audit in text, in JSON, and as the trainer's warnings. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "train/audit.h"

static const char *const KIND[] = {"exact", "same", "cut", "part"};
static const char *const KIND_TEXT[] = {"identical samples", "the same audio", "one cut from the other",
                                        "a shared stretch"};
static const char *const VERDICT[] = {"ok", "too_short", "silent", "clipped"};

static const char *side_name(int side)
{
    return side >= 0 && side < DS_N_SIDES ? ds_side_name(side) : "-";
}

/* A file's relative path, printable; "" if out of memory. The caller frees. */
static char *shown(const tr_audit *a, size_t f)
{
    char *s = ds_printable(a->cache->files[f].rel);
    return s ? s : calloc(1, 1);
}

static const char *cls_name(const tr_audit *a, int k)
{
    return a->cache->classes[k];
}

static int leaks(const tr_audit *a, const tr_same *s)
{
    int sa = tr_audit_side(a, s->a), sb = tr_audit_side(a, s->b);
    return sa != sb && sa != DS_SIDE_NONE && sb != DS_SIDE_NONE;
}

static int conflicts(const tr_audit *a, const tr_same *s)
{
    return a->cache->files[s->a].cls != a->cache->files[s->b].cls;
}

int tr_audit_text(FILE *out, const tr_audit *a, aa_error *err)
{
    size_t files = 0, decoded = 0;
    double secs = 0;
    for (int k = 0; k < a->k; k++) {
        files += a->per_class[k].files;
        decoded += a->per_class[k].decoded;
        secs += a->per_class[k].seconds;
    }
    char *root = ds_printable(a->list->root);
    fprintf(out, "Audit of %s: %zu recordings (%zu decoded) in %d classes, %zu groups, %.2f h of audio; nothing "
                 "was changed\n\n", root ? root : "DATA", files, decoded, a->k, a->cache->n_groups, secs / 3600);
    free(root);
    fprintf(out, "%-20s %6s %6s %8s %7s %8s %7s  %-7s %-7s %-7s %-9s  %s\n", "class", "files", "groups", "hours",
            "min s", "median s", "max s", "silent", "clipped", "short", "undecoded", "rates (Hz) and channels");
    for (int k = 0; k < a->k; k++) {
        const tr_audit_class *c = &a->per_class[k];
        char rates[256] = "";
        size_t at = 0;
        for (int i = 0; i < c->n_rates && at < sizeof rates; i++)
            at += (size_t)snprintf(rates + at, sizeof rates - at, "%s%d x%zu", i ? ", " : "", c->rates[i],
                                   c->rate_files[i]);
        if (c->rate_other && at < sizeof rates)
            at += (size_t)snprintf(rates + at, sizeof rates - at, ", %zu at other rates", c->rate_other);
        if (at < sizeof rates)
            snprintf(rates + at, sizeof rates - at, "; mono %zu, stereo %zu%s", c->mono, c->stereo,
                     c->more_channels ? ", more" : "");
        char *name = ds_printable(cls_name(a, k));
        fprintf(out, "%-20s %6zu %6zu %8.3f %7.1f %8.1f %7.1f  %-7zu %-7zu %-7zu %-9zu  %s\n", name ? name : "?",
                c->files, c->groups, c->seconds / 3600, c->min_s, c->median_s, c->max_s,
                c->verdicts[AM_QUALITY_SILENT], c->verdicts[AM_QUALITY_CLIPPED], c->verdicts[AM_QUALITY_TOO_SHORT],
                c->files - c->decoded, rates);
        free(name);
    }
    if (a->split) {
        fprintf(out, "\nfiles per side of the split (as aa-train would make it with these options):\n");
        for (int k = 0; k < a->k; k++) {
            char *name = ds_printable(cls_name(a, k));
            fprintf(out, "  %-20s train %zu, val %zu, test %zu\n", name ? name : "?", a->per_class[k].sides[DS_TRAIN],
                    a->per_class[k].sides[DS_VAL], a->per_class[k].sides[DS_TEST]);
            free(name);
        }
    } else {
        fprintf(out, "\nno split: these options cannot split the corpus (see the classes too small below)\n");
    }

    size_t n_leak = 0, n_conflict = 0;
    for (size_t i = 0; i < a->n_same; i++) {
        n_leak += leaks(a, &a->same[i]);
        n_conflict += conflicts(a, &a->same[i]);
    }
    fprintf(out, "\nsame audio: %zu pair%s (%zu across sides of the split, %zu across classes)\n", a->n_same,
            a->n_same == 1 ? "" : "s", n_leak, n_conflict);
    for (size_t i = 0; i < a->n_same; i++) {
        const tr_same *s = &a->same[i];
        char *pa = shown(a, s->a), *pb = shown(a, s->b);
        fprintf(out, "  %s (%s) and %s (%s): %s, %.1f s in common", pa, side_name(tr_audit_side(a, s->a)), pb,
                side_name(tr_audit_side(a, s->b)), KIND_TEXT[s->kind], s->seconds);
        if (s->kind != TR_SAME_EXACT)
            fprintf(out, " at %+.2f s, %.0f %% of bits differ", s->offset_s, 100 * s->bit_errors);
        fprintf(out, "%s%s\n", leaks(a, s) ? "  [across the split]" : "", conflicts(a, s) ? "  [two classes]" : "");
        free(pa);
        free(pb);
    }
    fprintf(out, "\ngroups with recordings in more than one class: %zu", a->n_spanning);
    if (a->n_spanning)
        fprintf(out, " (a group is always on one side of the split, so this leaks nothing; it means the classes "
                     "share their speakers or sources)");
    fprintf(out, "\n");
    for (size_t i = 0; i < a->n_spanning && i < 10; i++) {
        char *g = ds_printable(a->cache->groups[a->spanning[i]]);
        fprintf(out, "  %s\n", g ? g : "?");
        free(g);
    }
    if (a->n_spanning > 10)
        fprintf(out, "  ... and %zu more (--json lists them all)\n", a->n_spanning - 10);
    fprintf(out, "classes with fewer groups than the split's %d sides: %zu\n", a->sides_needed, a->n_small);
    for (size_t i = 0; i < a->n_small; i++) {
        char *name = ds_printable(cls_name(a, a->small[i]));
        fprintf(out, "  %s: %zu group%s\n", name ? name : "?", a->per_class[a->small[i]].groups,
                a->per_class[a->small[i]].groups == 1 ? "" : "s");
        free(name);
    }
    fflush(out);
    return ferror(out) ? aa_error_set(err, AA_ERR_IO, "audit: cannot write the report") : 0;
}

int tr_audit_json(FILE *out, const tr_audit *a, aa_error *err)
{
    aa_buf b = {0};
    aa_buf_printf(&b, "{\"format\": \"audio-audit-audit\", \"version\": 1, \"data\": ");
    aa_json_str(&b, a->list->root);
    aa_buf_printf(&b, ", \"groups\": %zu, \"split\": %s, \"classes\": [", a->cache->n_groups,
                  a->split ? "true" : "false");
    for (int k = 0; k < a->k; k++) {
        const tr_audit_class *c = &a->per_class[k];
        aa_buf_printf(&b, "%s{\"class\": ", k ? ", " : "");
        aa_json_str(&b, cls_name(a, k));
        aa_buf_printf(&b, ", \"files\": %zu, \"decoded\": %zu, \"groups\": %zu, \"seconds\": ", c->files, c->decoded,
                      c->groups);
        aa_json_num(&b, c->seconds);
        aa_buf_printf(&b, ", \"min_s\": ");
        aa_json_num(&b, c->min_s);
        aa_buf_printf(&b, ", \"median_s\": ");
        aa_json_num(&b, c->median_s);
        aa_buf_printf(&b, ", \"max_s\": ");
        aa_json_num(&b, c->max_s);
        aa_buf_printf(&b, ", \"quality\": {");
        for (int v = 0; v < 4; v++)
            aa_buf_printf(&b, "%s\"%s\": %zu", v ? ", " : "", VERDICT[v], c->verdicts[v]);
        aa_buf_printf(&b, "}, \"rates\": {");
        for (int i = 0; i < c->n_rates; i++)
            aa_buf_printf(&b, "%s\"%d\": %zu", i ? ", " : "", c->rates[i], c->rate_files[i]);
        aa_buf_printf(&b, "}, \"rate_other\": %zu, \"channels\": {\"mono\": %zu, \"stereo\": %zu, \"more\": %zu}, "
                          "\"sides\": {\"train\": %zu, \"val\": %zu, \"test\": %zu}}",
                      c->rate_other, c->mono, c->stereo, c->more_channels, c->sides[DS_TRAIN], c->sides[DS_VAL],
                      c->sides[DS_TEST]);
    }
    aa_buf_printf(&b, "], \"same_audio\": [");
    for (size_t i = 0; i < a->n_same; i++) {
        const tr_same *s = &a->same[i];
        aa_buf_printf(&b, "%s{\"a\": ", i ? ", " : "");
        aa_json_str(&b, a->cache->files[s->a].rel);
        aa_buf_printf(&b, ", \"b\": ");
        aa_json_str(&b, a->cache->files[s->b].rel);
        aa_buf_printf(&b, ", \"class_a\": ");
        aa_json_str(&b, cls_name(a, a->cache->files[s->a].cls));
        aa_buf_printf(&b, ", \"class_b\": ");
        aa_json_str(&b, cls_name(a, a->cache->files[s->b].cls));
        aa_buf_printf(&b, ", \"side_a\": ");
        aa_json_str(&b, tr_audit_side(a, s->a) == DS_SIDE_NONE ? NULL : side_name(tr_audit_side(a, s->a)));
        aa_buf_printf(&b, ", \"side_b\": ");
        aa_json_str(&b, tr_audit_side(a, s->b) == DS_SIDE_NONE ? NULL : side_name(tr_audit_side(a, s->b)));
        aa_buf_printf(&b, ", \"kind\": \"%s\", \"seconds\": ", KIND[s->kind]);
        aa_json_num(&b, s->seconds);
        aa_buf_printf(&b, ", \"offset_s\": ");
        aa_json_num(&b, s->offset_s);
        aa_buf_printf(&b, ", \"bit_errors\": ");
        aa_json_num(&b, s->bit_errors);
        aa_buf_printf(&b, "}");
    }
    aa_buf_printf(&b, "], \"groups_spanning_classes\": [");
    for (size_t i = 0; i < a->n_spanning; i++) {
        size_t g = a->spanning[i];
        aa_buf_printf(&b, "%s{\"group\": ", i ? ", " : "");
        aa_json_str(&b, a->cache->groups[g]);
        aa_buf_printf(&b, ", \"classes\": [");
        int first = 1;
        for (int k = 0; k < a->k; k++) {
            int in = 0;
            for (size_t f = 0; f < a->cache->n_files && !in; f++)
                in = a->cache->files[f].group == g && a->cache->files[f].cls == k;
            if (in) {
                aa_buf_printf(&b, "%s", first ? "" : ", ");
                aa_json_str(&b, cls_name(a, k));
                first = 0;
            }
        }
        aa_buf_printf(&b, "]}");
    }
    aa_buf_printf(&b, "], \"small_classes\": [");
    for (size_t i = 0; i < a->n_small; i++) {
        aa_buf_printf(&b, "%s", i ? ", " : "");
        aa_json_str(&b, cls_name(a, a->small[i]));
    }
    aa_buf_printf(&b, "], \"sides_needed\": %d}\n", a->sides_needed);
    char *s = aa_buf_take(&b);
    if (!s)
        return aa_error_set(err, AA_ERR_NOMEM, "audit: out of memory");
    fputs(s, out);
    free(s);
    fflush(out);
    return ferror(out) ? aa_error_set(err, AA_ERR_IO, "audit: cannot write the report") : 0;
}

static void add_line(char **lines, size_t cap, size_t *n, char *line)
{
    if (*n < cap && line)
        lines[*n] = line;
    else
        free(line);
    (*n)++;
}

static char *line_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *line_printf(const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    return strdup(tmp);
}

size_t tr_audit_warnings(const tr_audit *a, char **lines, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n_same; i++) {
        const tr_same *s = &a->same[i];
        if (!leaks(a, s) && !conflicts(a, s))
            continue;
        char *pa = shown(a, s->a), *pb = shown(a, s->b);
        if (conflicts(a, s))
            add_line(lines, cap, &n, line_printf("%s and %s hold %s (%.1f s) under two classes", pa, pb,
                                                 KIND_TEXT[s->kind], s->seconds));
        else
            add_line(lines, cap, &n, line_printf("%s (%s) and %s (%s) hold %s (%.1f s): the %s figures are not "
                                                 "on unseen audio", pa, side_name(tr_audit_side(a, s->a)), pb,
                                                 side_name(tr_audit_side(a, s->b)), KIND_TEXT[s->kind], s->seconds,
                                                 tr_audit_side(a, s->a) == DS_TEST || tr_audit_side(a, s->b) == DS_TEST
                                                     ? "test"
                                                     : "validation"));
        free(pa);
        free(pb);
    }
    for (size_t i = 0; i < a->n_small; i++) {
        char *name = ds_printable(cls_name(a, a->small[i]));
        add_line(lines, cap, &n, line_printf("%s: %zu group%s for the split's %d sides", name ? name : "?",
                                             a->per_class[a->small[i]].groups,
                                             a->per_class[a->small[i]].groups == 1 ? "" : "s", a->sides_needed));
        free(name);
    }
    return n;
}
