/* aa-infer classifying clips: output formats, the gate options, bad clips among good ones, folders, stdin,
 * quality verdicts, model-file errors, usage errors, --help, --selftest. Runs the binary; the model is the
 * tone model of tests/util/demomodel.h, whose answers are known from the clips. */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/model.h"
#include "tests/util/demomodel.h"
#include "tests/util/jsonscan.h"
#include "tests/util/testutil.h"

#define OUT_CAP (1 << 16)
#define RATE 16000

typedef struct {
    char dir[256];
    char model[320];
    char out[OUT_CAP], err[OUT_CAP];
} fixture;

static void setup_fixture(fixture *f)
{
    tu_mkdtemp(f->dir, sizeof f->dir);
    tu_path(f->model, sizeof f->model, f->dir, "tone.aam");
    char msg[512];
    ck_assert_msg(tu_make_tone_model(f->model, msg, sizeof msg) == 0, "%s", msg);
}

/* A clip of `seconds` whose class under the tone model is cls (0..2 a tone filling it; 3 the noise floor
 * alone; a cough is a burst in the middle). */
static void write_clip(const char *path, int cls, double seconds)
{
    size_t n = (size_t)lround(seconds * RATE);
    tu_tone_event ev = {cls == 0 ? seconds / 2 - TU_TONE_BURST_S / 2 : 0, cls == 0 ? TU_TONE_BURST_S : seconds, cls};
    float *x = tu_tone_recording(n, &ev, cls < 3 ? 1 : 0, 11 + (uint64_t)cls);
    ck_assert_ptr_nonnull(x);
    tu_write_wav(path, x, n, 1, RATE, SF_FORMAT_PCM_16);
    free(x);
}

static int run(fixture *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(fixture *f, const char *fmt, ...)
{
    char args[4096], cmd[4600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s/aa-infer %s", tu_build_dir(), args);
    return tu_run(cmd, f->out, sizeof f->out, f->err, sizeof f->err);
}

/* The n-th line of s (0-based) into out. */
static char *line_of(const char *s, int n, char *out, size_t cap)
{
    for (int i = 0; i < n && s; i++)
        if ((s = strchr(s, '\n')))
            s++;
    ck_assert_msg(s && *s, "no line %d", n);
    size_t len = strcspn(s, "\n");
    ck_assert(len < cap);
    memcpy(out, s, len);
    out[len] = '\0';
    return out;
}

static const char *LABELS[4] = {"Cough", "Heavy Breathing", "Normal Breathing", "Background Noise"};
static const char *CLASSES[4] = {"cough", "heavy_breathing", "normal_breathing", "background_noise"};

START_TEST(json_lines_match_the_library)
{
    fixture f;
    setup_fixture(&f);
    char paths[4][320], args[2048] = "";
    for (int c = 0; c < 4; c++) {
        char name[32];
        snprintf(name, sizeof name, "c%d.wav", c);
        tu_path(paths[c], sizeof paths[c], f.dir, name);
        write_clip(paths[c], c, 4.0);
        strcat(args, " '");
        strcat(args, paths[c]);
        strcat(args, "'");
    }
    ck_assert_msg(run(&f, "-m '%s' --json%s", f.model, args) == 0, "%s", f.err);
    ck_assert_int_eq(tu_count_lines(f.out), 4);
    ck_assert_str_eq(f.err, "");

    aa_error err;
    am_model *m = am_load(f.model, 1, &err);
    ck_assert_ptr_nonnull(m);
    for (int c = 0; c < 4; c++) {
        char line[8192], s[512];
        line_of(f.out, c, line, sizeof line);
        ck_assert_str_eq(tu_json_str(line, "file", s, sizeof s), paths[c]);
        /* the tone model's rule: each clip is its class, confidently */
        ck_assert_str_eq(tu_json_str(line, "label", s, sizeof s), LABELS[c]);
        ck_assert_str_eq(tu_json_str(line, "class", s, sizeof s), CLASSES[c]);
        ck_assert_ptr_nonnull(strstr(line, "\"gated\": false"));
        ck_assert_ptr_nonnull(strstr(line, "\"disclaimer\": \"" AM_DISCLAIMER "\""));
        ck_assert_ptr_null(strstr(line, "\"mel\""));
        ck_assert_str_eq(tu_json_str(line, "verdict", s, sizeof s), "ok");
        ck_assert(fabs(tu_json_num(line, "duration_s") - 4.0) < 1e-3);

        /* The same numbers as the library's: printed with 6 significant digits, so agreement within 5e-6
         * relative (half a unit in the 6th digit) plus 1e-12 for values that are 0. */
        am_file_result r;
        ck_assert_int_eq(am_classify_file(m, 0, paths[c], 0, &r, NULL, &err), 0);
        const char *probs = tu_json_find(line, "probabilities");
        ck_assert_ptr_nonnull(probs);
        for (int k = 0; k < 4; k++) {
            double p = tu_json_num(probs, LABELS[k]);
            ck_assert_msg(fabs(p - r.result.probs[k]) <= 5e-6 * fabs(r.result.probs[k]) + 1e-12,
                          "clip %d class %d: %.9g vs %.9g", c, k, p, (double)r.result.probs[k]);
        }
        ck_assert(fabs(tu_json_num(line, "confidence") - r.result.confidence) <= 5e-6 * r.result.confidence);
        ck_assert(fabs(tu_json_num(line, "rms_dbfs") - r.stats.rms_dbfs) <= 0.005);
        /* a 4 s clip is one window starting at 0 */
        ck_assert(tu_json_num(line, "windows") == (double)r.result.windows && r.result.windows == 1);
        ck_assert(fabs(tu_json_num(line, "clip_start_s")) < 1e-9);
    }
    am_free(m);

    /* a 6.5 s clip judged by energy@1: windows at 0, 1, 2 and 2.5 s (the last ends at the end) */
    char longer[1024], line[8192];
    snprintf(longer, sizeof longer, "%s/long.wav", f.dir);
    write_clip(longer, 1, 6.5);
    ck_assert_msg(run(&f, "-m '%s' --json --aggregate energy@1 '%s'", f.model, longer) == 0, "%s", f.err);
    line_of(f.out, 0, line, sizeof line);
    ck_assert(tu_json_num(line, "windows") == 4);
    double at = tu_json_num(line, "clip_start_s");
    ck_assert_msg(at >= 0 && at <= 2.5 + 1e-9, "clip_start_s %g", at);
    tu_rmtree(f.dir);
}
END_TEST

START_TEST(text_and_csv)
{
    fixture f;
    setup_fixture(&f);
    char a[320], b[320];
    tu_path(a, sizeof a, f.dir, "heavy.wav");
    write_clip(a, 1, 4.0);
    tu_path(b, sizeof b, f.dir, "with,comma \"q\".wav");
    write_clip(b, 3, 4.0);
    ck_assert_msg(run(&f, "-m '%s' '%s' '%s'", f.model, a, b) == 0, "%s", f.err);
    char line[1024];
    ck_assert_ptr_nonnull(strstr(line_of(f.out, 0, line, sizeof line), "Heavy Breathing ("));
    for (int c = 0; c < 4; c++)
        ck_assert_msg(strstr(f.out, LABELS[c]) != NULL, "no %s", LABELS[c]);
    ck_assert_ptr_nonnull(strstr(f.out, "quality: ok"));
    /* one disclaimer, on the last line */
    const char *d = strstr(f.out, AM_DISCLAIMER);
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_null(strstr(d + 1, AM_DISCLAIMER));
    ck_assert_str_eq(d + strlen(AM_DISCLAIMER), "\n");

    ck_assert_msg(run(&f, "-m '%s' --csv '%s' '%s'", f.model, a, b) == 0, "%s", f.err);
    ck_assert_int_eq(tu_count_lines(f.out), 3);
    ck_assert_str_eq(line_of(f.out, 0, line, sizeof line),
                     "file,label,class,confidence,gated,p_cough,p_heavy_breathing,p_normal_breathing,"
                     "p_background_noise,quality,duration_s,drift_score,drifted,disclaimer");
    char want[600];
    snprintf(want, sizeof want, "%s,Heavy Breathing,heavy_breathing,", a);
    ck_assert_msg(!strncmp(line_of(f.out, 1, line, sizeof line), want, strlen(want)), "%s", line);
    /* RFC 4180: the name with a comma and quotes is quoted, its quotes doubled */
    char quoted[600];
    snprintf(quoted, sizeof quoted, "\"%s/with,comma \"\"q\"\".wav\",Background Noise,background_noise,", f.dir);
    ck_assert_msg(!strncmp(line_of(f.out, 2, line, sizeof line), quoted, strlen(quoted)), "%s", line);
    /* a respiratory model's rows each end with the disclaimer, a column every CSV reader keeps */
    for (int i = 1; i <= 2; i++) {
        line_of(f.out, i, line, sizeof line);
        ck_assert_msg(strlen(line) > strlen(AM_DISCLAIMER) &&
                      !strcmp(line + strlen(line) - strlen(AM_DISCLAIMER) - 1, "," AM_DISCLAIMER), "%s", line);
    }
    tu_rmtree(f.dir);
}
END_TEST

START_TEST(gate_options)
{
    fixture f;
    setup_fixture(&f);
    char a[320];
    tu_path(a, sizeof a, f.dir, "cough.wav");
    write_clip(a, 0, 4.0);
    char s[256];
    ck_assert_int_eq(run(&f, "-m '%s' --json '%s'", f.model, a), 0);
    ck_assert_str_eq(tu_json_str(f.out, "label", s, sizeof s), "Cough");
    double conf = tu_json_num(f.out, "confidence");
    ck_assert(conf > 0.5 && conf < 1);

    /* a global gate above the confidence withholds it: Unclear/Unknown, class null, same probabilities */
    ck_assert_int_eq(run(&f, "-m '%s' --json --min-confidence %.6f '%s'", f.model, conf + 1e-4, a), 0);
    ck_assert_str_eq(tu_json_str(f.out, "label", s, sizeof s), AM_UNCLEAR_LABEL);
    ck_assert_ptr_null(tu_json_str(f.out, "class", s, sizeof s));
    ck_assert_ptr_nonnull(strstr(f.out, "\"gated\": true"));
    ck_assert(fabs(tu_json_num(f.out, "confidence") - conf) < 1e-9);
    ck_assert_int_eq(run(&f, "-m '%s' --min-confidence 1 '%s'", f.model, a), 0);
    ck_assert_ptr_nonnull(strstr(f.out, "Unclear/Unknown (best guess Cough"));

    /* a per-class threshold, by folder name or by label; another class's threshold changes nothing */
    ck_assert_int_eq(run(&f, "-m '%s' --json --threshold cough=0.999 '%s'", f.model, a), 0);
    ck_assert_ptr_nonnull(strstr(f.out, "\"gated\": true"));
    ck_assert_int_eq(run(&f, "-m '%s' --json --threshold 'Heavy Breathing=0.999' '%s'", f.model, a), 0);
    ck_assert_ptr_nonnull(strstr(f.out, "\"gated\": false"));
    /* the gate open: nothing withheld */
    ck_assert_int_eq(run(&f, "-m '%s' --json --min-confidence 0 '%s'", f.model, a), 0);
    ck_assert_ptr_nonnull(strstr(f.out, "\"gated\": false"));
    /* a class the model does not have is a usage error, found once the model is read */
    ck_assert_int_eq(run(&f, "-m '%s' --threshold wheeze=0.5 '%s'", f.model, a), 2);
    ck_assert_ptr_nonnull(strstr(f.err, "wheeze"));
    ck_assert_int_eq(tu_count_lines(f.err), 1);
    tu_rmtree(f.dir);
}
END_TEST

START_TEST(bad_clip_among_good_ones)
{
    fixture f;
    setup_fixture(&f);
    char a[320], bad[320], missing[320], c[320];
    tu_path(a, sizeof a, f.dir, "a.wav");
    write_clip(a, 1, 4.0);
    tu_path(bad, sizeof bad, f.dir, "broken.wav");
    tu_write_file(bad, "RIFF\x10\0\0\0WAVEjunkjunk", 20);
    tu_path(missing, sizeof missing, f.dir, "missing.wav");
    tu_path(c, sizeof c, f.dir, "c.wav");
    write_clip(c, 2, 4.0);
    for (int threads = 1; threads <= 2; threads++) {
        ck_assert_int_eq(run(&f, "-m '%s' --json --threads %d '%s' '%s' '%s' '%s'", f.model, threads, a, bad,
                             missing, c), 1);
        /* the good clips, in order; one line per bad one on stderr naming it and saying why */
        ck_assert_int_eq(tu_count_lines(f.out), 2);
        char line[8192], s[512];
        ck_assert_str_eq(tu_json_str(line_of(f.out, 0, line, sizeof line), "file", s, sizeof s), a);
        ck_assert_str_eq(tu_json_str(line_of(f.out, 1, line, sizeof line), "file", s, sizeof s), c);
        ck_assert_int_eq(tu_count_lines(f.err), 2);
        ck_assert_msg(strstr(line_of(f.err, 0, line, sizeof line), "broken.wav: ") != NULL, "%s", f.err);
        ck_assert_msg(strstr(line_of(f.err, 1, line, sizeof line), "missing.wav: no such file") != NULL, "%s",
                      f.err);
    }
    tu_rmtree(f.dir);
}
END_TEST

START_TEST(folders_stdin_and_threads)
{
    fixture f;
    setup_fixture(&f);
    char d[320], p[400];
    tu_path(d, sizeof d, f.dir, "data");
    mkdir(d, 0755);
    snprintf(p, sizeof p, "%s/sub", d);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/.hidden", d);
    mkdir(p, 0755);
    const char *names[] = {"b.wav", "A.FLAC", "sub/c.wav", "sub/z.ogg", ".hidden/x.wav", ".dot.wav", "notes.txt"};
    for (int i = 0; i < 7; i++) {
        snprintf(p, sizeof p, "%s/%s", d, names[i]);
        if (strstr(names[i], ".txt")) {
            tu_write_file(p, "hi\n", 3);
        } else if (strstr(names[i], ".FLAC") || strstr(names[i], ".ogg")) {
            size_t n = 2 * RATE;
            float *x = tu_tone_recording(n, NULL, 0, 3);
            SF_INFO info = {.samplerate = RATE, .channels = 1,
                            .format = strstr(names[i], ".ogg") ? SF_FORMAT_OGG | SF_FORMAT_VORBIS
                                                              : SF_FORMAT_FLAC | SF_FORMAT_PCM_16};
            SNDFILE *sf = sf_open(p, SFM_WRITE, &info);
            ck_assert_ptr_nonnull(sf);
            sf_writef_float(sf, x, (sf_count_t)n);
            sf_close(sf);
            free(x);
        } else {
            write_clip(p, i % 4, 3.0);
        }
    }
    ck_assert_msg(run(&f, "-m '%s' --csv '%s'", f.model, d) == 0, "%s", f.err);
    /* audio files only, hidden ones skipped, in bytewise path order (upper case first) */
    ck_assert_int_eq(tu_count_lines(f.out), 5);
    char line[2048], want[400];
    const char *order[] = {"A.FLAC", "b.wav", "sub/c.wav", "sub/z.ogg"};
    for (int i = 0; i < 4; i++) {
        snprintf(want, sizeof want, "%s/%s,", d, order[i]);
        ck_assert_msg(!strncmp(line_of(f.out, i + 1, line, sizeof line), want, strlen(want)), "%s", line);
    }
    /* threads change nothing in the output */
    char one[OUT_CAP];
    ck_assert_int_eq(run(&f, "-m '%s' --csv --threads 1 '%s'", f.model, d), 0);
    memcpy(one, f.out, sizeof one);
    ck_assert_int_eq(run(&f, "-m '%s' --csv --threads 3 '%s'", f.model, d), 0);
    ck_assert_str_eq(f.out, one);

    /* '-' reads one recording from standard input: the same answer as the file */
    snprintf(p, sizeof p, "%s/b.wav", d);
    ck_assert_int_eq(run(&f, "-m '%s' --json '%s'", f.model, p), 0);
    char from_file[8192];
    snprintf(from_file, sizeof from_file, "%s", strstr(f.out, "\"label\""));
    ck_assert_int_eq(run(&f, "-m '%s' --json - < '%s'", f.model, p), 0);
    ck_assert_ptr_nonnull(strstr(f.out, "\"file\": \"-\""));
    ck_assert_str_eq(strstr(f.out, "\"label\""), from_file);
    ck_assert_int_eq(run(&f, "-m '%s' - < '%s'", f.model, p), 0);
    ck_assert_ptr_nonnull(strstr(f.out, "stdin: "));

    /* an empty folder: nothing to do is an error */
    snprintf(p, sizeof p, "%s/empty", f.dir);
    mkdir(p, 0755);
    ck_assert_int_eq(run(&f, "-m '%s' '%s'", f.model, p), 1);
    ck_assert_ptr_nonnull(strstr(f.err, "no audio files"));
    tu_rmtree(f.dir);
}
END_TEST

START_TEST(quality_verdicts_apart_from_unclear)
{
    fixture f;
    setup_fixture(&f);
    char p[320], s[256];
    /* too short: 0.3 s */
    tu_path(p, sizeof p, f.dir, "short.wav");
    write_clip(p, 1, 0.3);
    ck_assert_int_eq(run(&f, "-m '%s' --json '%s'", f.model, p), 0);
    ck_assert_str_eq(tu_json_str(f.out, "verdict", s, sizeof s), "too_short");
    ck_assert_ptr_nonnull(strstr(f.out, "\"ok\": false"));
    ck_assert_ptr_nonnull(tu_json_str(f.out, "label", s, sizeof s)); /* still classified */
    ck_assert_int_eq(run(&f, "-m '%s' '%s'", f.model, p), 0);
    ck_assert_ptr_nonnull(strstr(f.out, "quality: too_short! "));

    /* silent: digital silence */
    float *z = calloc(4 * RATE, sizeof *z);
    tu_path(p, sizeof p, f.dir, "silent.wav");
    tu_write_wav(p, z, 4 * RATE, 1, RATE, SF_FORMAT_PCM_16);
    ck_assert_int_eq(run(&f, "-m '%s' --json '%s'", f.model, p), 0);
    ck_assert_str_eq(tu_json_str(f.out, "verdict", s, sizeof s), "silent");
    ck_assert(tu_json_num(f.out, "rms_dbfs") <= -100);

    /* clipped: a square wave at full scale */
    for (size_t i = 0; i < 4 * RATE; i++)
        z[i] = (i / 20) % 2 ? 1.0f : -1.0f;
    tu_path(p, sizeof p, f.dir, "clipped.wav");
    tu_write_wav(p, z, 4 * RATE, 1, RATE, SF_FORMAT_PCM_16);
    free(z);
    ck_assert_int_eq(run(&f, "-m '%s' --json '%s'", f.model, p), 0);
    ck_assert_str_eq(tu_json_str(f.out, "verdict", s, sizeof s), "clipped");
    ck_assert(tu_json_num(f.out, "clipped_fraction") > 0.5);
    ck_assert(fabs(tu_json_num(f.out, "peak_dbfs")) < 0.01);
    tu_rmtree(f.dir);
}
END_TEST

START_TEST(model_file_errors_are_one_line)
{
    fixture f;
    setup_fixture(&f);
    char clip[320], p[320];
    tu_path(clip, sizeof clip, f.dir, "c.wav");
    write_clip(clip, 1, 4.0);
    size_t size;
    unsigned char *good = tu_read_file(f.model, &size);
    ck_assert_ptr_nonnull(good);

    struct { const char *name; size_t len; int flip; const char *want; } cases[] = {
        {"missing.aam", 0, -1, NULL},
        {"truncated.aam", 0, -2, "truncated"},
        {"wav.aam", 0, -3, NULL},
        {"flipped.aam", 0, 0, "checksum"},
        {"newer.aam", 0, -4, "newer"},
    };
    cases[1].len = size / 2;
    cases[3].flip = (int)(size / 2);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tu_path(p, sizeof p, f.dir, cases[i].name);
        if (cases[i].flip == -2) {
            tu_write_file(p, good, cases[i].len);
        } else if (cases[i].flip == -3) {
            size_t n;
            void *w = tu_read_file(clip, &n);
            tu_write_file(p, w, n);
            free(w);
        } else if (cases[i].flip == -4) {
            unsigned char v = good[8];
            good[8] = 99; /* the container's format version (nn/file.c) */
            tu_write_file(p, good, size);
            good[8] = v;
        } else if (cases[i].flip >= 0) {
            good[cases[i].flip] ^= 0x10;
            tu_write_file(p, good, size);
            good[cases[i].flip] ^= 0x10;
        }
        ck_assert_int_eq(run(&f, "-m '%s' '%s'", p, clip), 1);
        ck_assert_msg(tu_count_lines(f.err) == 1, "%s: %s", cases[i].name, f.err);
        ck_assert_msg(strstr(f.err, cases[i].name) != NULL, "%s: %s", cases[i].name, f.err);
        if (cases[i].want)
            ck_assert_msg(strstr(f.err, cases[i].want) != NULL, "%s: %s", cases[i].name, f.err);
        ck_assert_str_eq(f.out, "");
    }
    free(good);
    tu_rmtree(f.dir);
}
END_TEST

START_TEST(usage_errors_exit_2)
{
    fixture f;
    setup_fixture(&f);
    const char *args[] = {
        "x.wav",                                     /* no model */
        "-m M",                                      /* no clips */
        "-m M --bogus x.wav",                        /* unknown option */
        "-m M --min-confidence 1.5 x.wav",           /* out of range */
        "-m M --min-confidence abc x.wav",
        "-m M --threshold cough x.wav",              /* not CLASS=P */
        "-m M --threads -1 x.wav",
        "-m M --timeline --csv x.wav",               /* CSV is for clips */
        "-m M --timeline --smooth 2 x.wav",          /* even */
        "-m M --stream --sample-format f64 -",       /* no such sample format (a missing rate is found
                                                        once the input shows no WAV header: test_stream) */
        "-m M --timeline --refractory 1 x.wav",      /* --stream only */
        "-m M --stream -r 16000 a b",                /* two inputs */
        "-m M --eval d --timeline",                  /* two modes */
        "-m M --svg d x.wav",                        /* --svg without --eval */
        "-m M --port 80 x.wav",                      /* --port without --serve */
        "-m M --selftest x.wav",                     /* extra argument */
        "-m",                                        /* missing value */
        "-m M --json=yes x.wav",                     /* flag with a value */
    };
    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++) {
        ck_assert_msg(run(&f, "%s", args[i]) == 2, "'%s': exit status not 2 (stderr %s)", args[i], f.err);
        ck_assert_msg(tu_count_lines(f.err) == 1, "'%s': %s", args[i], f.err);
        ck_assert_msg(!strncmp(f.err, "aa-infer: ", 10), "'%s': %s", args[i], f.err);
        ck_assert_str_eq(f.out, "");
    }
    tu_rmtree(f.dir);
}
END_TEST

START_TEST(help_lists_every_option)
{
    fixture f;
    setup_fixture(&f);
    ck_assert_int_eq(run(&f, "--help"), 0);
    const char *opts[] = {"--model", "--json", "--csv", "--min-confidence", "--threshold", "--threads",
                          "--max-seconds", "--eval", "--side", "--svg", "--timeline", "--hop", "--smooth",
                          "--background", "--stream", "--rate", "--serve", "--host", "--port", "--workers",
                          "--max-upload", "--selftest", "--help", "--version", "--mel"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        ck_assert_msg(strstr(f.out, opts[i]) != NULL, "--help does not mention %s", opts[i]);
    const char *defaults[] = {"[0.5]", "[3]", "background_noise or background", "[127.0.0.1]", "[8501]", "[20]",
                              "Examples:", "Exit status: 0", "2 usage error", "A respiratory model"};
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        ck_assert_msg(strstr(f.out, defaults[i]) != NULL, "--help does not say %s", defaults[i]);
    /* --help wins over everything else on the line */
    ck_assert_int_eq(run(&f, "-m nothing --timeline --help"), 0);
    ck_assert_ptr_nonnull(strstr(f.out, "Usage:"));
    tu_rmtree(f.dir);
}
END_TEST

START_TEST(selftest_pass_and_fail)
{
    fixture f;
    setup_fixture(&f);
    ck_assert_msg(run(&f, "-m '%s' --selftest", f.model) == 0, "%s", f.err);
    ck_assert_ptr_nonnull(strstr(f.out, "PASS"));
    ck_assert_ptr_nonnull(strstr(f.out, "tolerance 0.01 dB"));
    ck_assert_ptr_nonnull(strstr(f.out, "largest difference 0 dB"));
    ck_assert_int_eq(run(&f, "-m '%s' --selftest --json", f.model), 0);
    ck_assert(tu_json_num(f.out, "logit_max_abs_diff") == 0);
    ck_assert_ptr_nonnull(strstr(f.out, "\"pass\": true"));

    /* the stored logits of another network: the recomputation no longer matches */
    char other[320];
    tu_path(other, sizeof other, f.dir, "other.aam");
    char msg[512];
    ck_assert_msg(tu_make_random_model(other, NULL, 3, 1.0, 0.5, msg, sizeof msg) == 0, "%s", msg);
    nn_meta *meta_tone = NULL, *meta_other = NULL;
    aa_error err;
    nn_model *tone = nn_model_load(f.model, 1, 0, &meta_tone, &err);
    nn_model *net = nn_model_load(other, 1, 0, &meta_other, &err);
    ck_assert_ptr_nonnull(tone);
    ck_assert_ptr_nonnull(net);
    int nd, dims[NN_MAX_DIMS];
    const float *st = nn_meta_get_tensor(meta_other, "aa.selftest.logits", &nd, dims);
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(nn_meta_set_tensor(meta_tone, "aa.selftest.logits", st, nd, dims, &err), 0);
    ck_assert_int_eq(nn_model_save(tone, meta_tone, f.model, &err), 0);
    ck_assert_int_eq(run(&f, "-m '%s' --selftest", f.model), 1);
    ck_assert_ptr_nonnull(strstr(f.out, "FAIL"));
    ck_assert_ptr_nonnull(strstr(f.out, "TOO LARGE"));
    nn_model_free(tone);
    nn_model_free(net);
    nn_meta_free(meta_tone);
    nn_meta_free(meta_other);
    tu_rmtree(f.dir);
}
END_TEST

Suite *infer_cli_suite(void)
{
    Suite *s = suite_create("infer_cli");
    TCase *tc = tcase_create("classify");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, json_lines_match_the_library);
    tcase_add_test(tc, text_and_csv);
    tcase_add_test(tc, gate_options);
    tcase_add_test(tc, bad_clip_among_good_ones);
    tcase_add_test(tc, folders_stdin_and_threads);
    tcase_add_test(tc, quality_verdicts_apart_from_unclear);
    suite_add_tcase(s, tc);
    TCase *te = tcase_create("errors");
    tcase_set_timeout(te, 60);
    tcase_add_test(te, model_file_errors_are_one_line);
    tcase_add_test(te, usage_errors_exit_2);
    tcase_add_test(te, help_lists_every_option);
    tcase_add_test(te, selftest_pass_and_fail);
    suite_add_tcase(s, te);
    return s;
}
