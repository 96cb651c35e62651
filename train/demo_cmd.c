/* aa-train --make-demo: the synthetic demo corpus on disk. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "demo/demo.h"
#include "train/demo_cmd.h"

void aa_cmd_make_demo_usage(FILE *to)
{
    fprintf(to,
            "Demo corpus (synthetic clips that show the pipeline; not a substitute for real recordings):\n"
            "  aa-train --make-demo DIR [--per-class N] [--seed S] [--long FILE [--long-seconds S]]\n"
            "      --make-demo DIR     write DIR/<class>/NNNN.wav (16 kHz mono) and DIR/manifest.tsv\n"
            "                          for cough, heavy_breathing, normal_breathing, background_noise;\n"
            "                          DIR must not exist or be empty\n"
            "      --per-class N       clips per class, 6..100000 (default 100)\n"
            "      --seed S            generator seed (default 1); the same seed gives the same files\n"
            "      --long FILE         also write a long recording FILE (WAV) with coughs and breathing\n"
            "                          bouts at known times, listed in FILE's name with .events.tsv\n"
            "      --long-seconds S    its length, 5..600 (default 30)\n"
            "  Example: aa-train --make-demo demo-data --per-class 100 --long demo-long.wav\n");
}

int aa_cmd_is_make_demo(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--make-demo") || !strncmp(argv[i], "--make-demo=", 12))
            return 1;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* "x.wav" -> "x.events.tsv"; other names get ".events.tsv" appended. Caller frees. */
static char *events_name(const char *wav)
{
    size_t n = strlen(wav);
    const char *dot = strrchr(wav, '.'), *slash = strrchr(wav, '/');
    if (dot && (!slash || dot > slash) && dot != wav && !(slash && dot == slash + 1))
        n = (size_t)(dot - wav);
    char *s = malloc(n + sizeof ".events.tsv");
    if (s) {
        memcpy(s, wav, n);
        strcpy(s + n, ".events.tsv");
    }
    return s;
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "aa-train: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see --help)\n");
    return 2;
}

int aa_cmd_make_demo(int argc, char **argv)
{
    demo_corpus_opts o;
    demo_corpus_opts_default(&o);
    const char *dir = NULL, *long_path = NULL;
    double long_s = 30;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t u;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            aa_cmd_make_demo_usage(stdout);
            return 0;
        } else if (!strncmp(a, "--make-demo=", 12)) {
            dir = a + 12;
        } else if (!strcmp(a, "--make-demo")) {
            /* an option is not a folder: "--make-demo --help" asks for help, not a folder named --help (a
             * folder whose name starts with '-' is ./-name or --make-demo=-name) */
            if (val && (!strcmp(val, "-h") || !strcmp(val, "--help"))) {
                aa_cmd_make_demo_usage(stdout);
                return 0;
            }
            if (!val)
                return usage_error("%s needs a folder", a);
            if (val[0] == '-')
                return usage_error("--make-demo needs a folder, not the option '%s'", val);
            dir = val, i++;
        } else if (!strcmp(a, "--per-class")) {
            if (parse_u64(val, &u) || u < 6 || u > 100000)
                return usage_error("--per-class needs a whole number from 6 to 100000, not '%s'", val ? val : "");
            o.per_class = (int)u, i++;
        } else if (!strcmp(a, "--seed")) {
            if (parse_u64(val, &u))
                return usage_error("--seed needs a non-negative whole number, not '%s'", val ? val : "");
            o.seed = u, i++;
        } else if (!strcmp(a, "--long")) {
            if (!val)
                return usage_error("%s needs a file name", a);
            long_path = val, i++;
        } else if (!strcmp(a, "--long-seconds")) {
            if (parse_double(val, &long_s) || !(long_s >= 5 && long_s <= 600))
                return usage_error("--long-seconds needs a number from 5 to 600, not '%s'", val ? val : "");
            i++;
        } else {
            return usage_error("unknown option '%s' for --make-demo", a);
        }
    }
    if (!dir || !*dir)
        return usage_error("%s", "--make-demo needs a folder");

    aa_error err;
    double t0 = aa_now();
    if (demo_corpus_write(dir, &o, &err)) {
        fprintf(stderr, "aa-train: %s\n", err.msg);
        return 1;
    }
    printf("Wrote %d clips (%d classes x %d, 16 kHz mono WAV) and manifest.tsv to %s in %.1f s (seed %llu).\n",
           DEMO_N_CLASSES * o.per_class, DEMO_N_CLASSES, o.per_class, dir, aa_now() - t0,
           (unsigned long long)o.seed);
    if (long_path) {
        char *ev = events_name(long_path);
        if (!ev) {
            fprintf(stderr, "aa-train: out of memory\n");
            return 1;
        }
        if (demo_long_write(long_path, ev, long_s, o.seed, &err)) {
            fprintf(stderr, "aa-train: %s\n", err.msg);
            free(ev);
            return 1;
        }
        printf("Wrote a %.0f s recording to %s and its events to %s.\n", long_s, long_path, ev);
        free(ev);
    }
    printf("This is synthetic demo data: it shows the pipeline, it is not a substitute for real recordings.\n");
    return 0;
}
