/* aa-infer's command line: parsing, --help, and loading the model the options describe. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsp/dsp.h"
#include "infer/infer.h"

#define USAGE INF_ERR_USAGE

void inf_options_default(inf_options *o)
{
    memset(o, 0, sizeof *o);
    o->mode = INF_CLASSIFY;
    o->format = INF_TEXT;
    o->min_confidence = -1;
    o->hop = 0.5;
    o->smooth = 3;
    o->background = "background_noise";
    o->host = "127.0.0.1";
    o->port = 8501;
    o->max_upload_mb = 20;
    o->max_per_ip = -1;
}

void inf_usage(FILE *to)
{
    fprintf(to,
        "Usage: aa-infer -m MODEL [options] CLIP...          classify recordings\n"
        "       aa-infer -m MODEL --eval DATA [options]      evaluate on labelled recordings\n"
        "       aa-infer -m MODEL --timeline [options] FILE...  events in long recordings\n"
        "       aa-infer -m MODEL --stream -r RATE -         decisions on live 16-bit PCM from stdin\n"
        "       aa-infer -m MODEL --selftest                 check this build against the model's self-test\n"
        "       aa-infer -m MODEL --serve [options]          web page and JSON API\n"
        "       aa-infer --mel CLIP -o OUT.f32               the log-mel the model sees (--mel --help)\n"
        "Classify respiratory sounds (cough, heavy breathing, normal breathing, background noise) with a model\n"
        "file made by aa-train. A prediction below the model's confidence gate is reported as\n"
        "\"Unclear/Unknown\"; a recording that is too short, silent or clipped is flagged (and still classified).\n"
        "\n"
        "Inputs: CLIP is any file libsndfile reads (WAV, FLAC, Ogg, Opus, MP3, ...); a folder is searched\n"
        "recursively for .wav .flac .ogg .oga .opus .mp3 files; '-' reads one recording from standard input.\n"
        "\n"
        "Common options (default in brackets):\n"
        "  -m, --model FILE        the model file                                        [required]\n"
        "      --json              JSON: one object per line (per clip, per file's timeline, per stream\n"
        "                          decision; --eval: one report)                         [text for people]\n"
        "      --csv               CSV table with a header (classifying clips only)\n"
        "      --min-confidence P  withhold predictions below P, 0..1                    [the model's gate]\n"
        "      --threshold CLASS=P per-class gate (CLASS: folder name or label); repeat for more classes\n"
        "                                                                                [the model's]\n"
        "      --aggregate POLICY  how a recording longer than one clip is judged: loudest, mean@HOP (mean\n"
        "                          probability of windows HOP s apart), topK@HOP (that mean over the K\n"
        "                          loudest), rms@HOP, energy@HOP (weighted by each window's RMS or energy)\n"
        "                                                                                [the model's]\n"
        "      --threads N         threads: clips and --eval classify files in parallel, --timeline windows;\n"
        "                          0 = all cores (clips: at most one per file)           [0]\n"
        "      --max-seconds S     longest recording decoded whole (clips, --eval, uploads)\n"
        "                                                                                [3600; --serve 600]\n"
        "\n"
        "Evaluation (--eval):\n"
        "      --eval DATA         DATA/<class>/... folders (or DATA/{train,val,test}/<class>/...), or the\n"
        "                          MODEL.split.tsv aa-train writes (columns path, class, group, side)\n"
        "      --side SIDE         train, val or test: only those rows (or that folder)  [all]\n"
        "      --svg DIR           also write DIR/confusion.svg, reliability.svg, coverage.svg\n"
        "\n"
        "Long recordings (--timeline) and live input (--stream):\n"
        "      --timeline          slide the model's clip window over each FILE and print events\n"
        "      --hop S             seconds between windows                                [0.5]\n"
        "      --smooth N          centred moving average of the probabilities over N windows (odd;\n"
        "                          1 = none; --timeline only)                             [3]\n"
        "      --background CLASS  the class that is never an event                       [background_noise]\n"
        "      --stream            raw 16-bit little-endian mono PCM from '-' (or a file): one decision per\n"
        "                          hop once a clip's worth has arrived, and one at the end\n"
        "  -r, --rate HZ           sample rate of the raw PCM (8000..192000)              [required]\n"
        "\n"
        "Web page (--serve):\n"
        "      --host ADDR         address to listen on                                   [127.0.0.1]\n"
        "      --port N            TCP port (0: any free one)                             [8501]\n"
        "      --workers N         requests classified at once                            [cores, at most 8]\n"
        "      --max-upload MB     largest upload accepted                                [20]\n"
        "      --max-connections N open connections at once; more wait to be accepted     [512]\n"
        "      --max-per-ip N      open connections from one address (0: no limit); more  [32]\n"
        "                          are closed at once\n"
        "      --idle-timeout S    close a connection silent this long                    [15]\n"
        "                          Uploads in progress may hold 8 x --max-upload of memory together;\n"
        "                          past that the server answers 503 (try again). A body still arriving\n"
        "                          after 120 s is cut off.\n"
        "\n"
        "Other:\n"
        "      --selftest          recompute the model's stored test signal; PASS or FAIL (exit 1)\n"
        "  -h, --help              show this help and exit\n"
        "      --version           print the version and exit\n"
        "\n"
        "Examples:\n"
        "  aa-infer -m model.aam cough.wav recordings/\n"
        "  aa-infer -m model.aam --json --min-confidence 0.8 clip.flac\n"
        "  aa-infer -m model.aam --eval data/ --svg plots/\n"
        "  aa-infer -m model.aam --eval model.aam.split.tsv --side test --json\n"
        "  aa-infer -m model.aam --timeline --hop 0.25 night.flac\n"
        "  arecord -f S16_LE -r 16000 -c 1 -t raw | aa-infer -m model.aam --stream -r 16000 -\n"
        "  aa-infer -m model.aam --serve --port 8501      (then open http://127.0.0.1:8501/)\n"
        "\n"
        "Exit status: 0 success, 1 runtime error (a file that cannot be used, a bad model file, a failed\n"
        "self-test; other files are still processed), 2 usage error.\n"
        "Audio Audit is not a medical device; its output is not a diagnosis or health advice.\n");
}

/* ---- values ------------------------------------------------------------------------------------------- */

static int parse_double(const char *opt, const char *v, double lo, double hi, double *out, aa_error *err)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end || errno || !isfinite(d) || d < lo || d > hi)
        return aa_error_set(err, USAGE, "%s: '%s' is not a number in [%g, %g]", opt, v, lo, hi);
    *out = d;
    return 0;
}

static int parse_int(const char *opt, const char *v, long lo, long hi, int *out, aa_error *err)
{
    char *end;
    errno = 0;
    long l = strtol(v, &end, 10);
    if (end == v || *end || errno || l < lo || l > hi)
        return aa_error_set(err, USAGE, "%s: '%s' is not a whole number in [%ld, %ld]", opt, v, lo, hi);
    *out = (int)l;
    return 0;
}

static int parse_threshold(inf_options *o, const char *v, aa_error *err)
{
    const char *eq = strrchr(v, '=');
    if (!eq || eq == v)
        return aa_error_set(err, USAGE, "--threshold: '%s' is not CLASS=P", v);
    if (o->n_thresholds >= AM_MAX_CLASSES)
        return aa_error_set(err, USAGE, "--threshold: more than %d given", AM_MAX_CLASSES);
    inf_threshold *t = &o->thresholds[o->n_thresholds];
    if (parse_double("--threshold", eq + 1, 0, 1, &t->p, err))
        return USAGE;
    /* the class name ends at '=': argv is ours to cut (it lives as long as the options) */
    *(char *)eq = '\0';
    t->cls = v;
    o->n_thresholds++;
    return 0;
}

/* ---- parsing ------------------------------------------------------------------------------------------ */

typedef struct {
    const char *name;  /* long form */
    char short_name;   /* 0: none */
    int takes_value;
} opt_spec;

static const opt_spec OPTS[] = {
    {"model", 'm', 1},      {"json", 0, 0},          {"csv", 0, 0},         {"min-confidence", 0, 1},
    {"threshold", 0, 1},    {"threads", 0, 1},       {"max-seconds", 0, 1}, {"eval", 0, 1},
    {"side", 0, 1},         {"svg", 0, 1},           {"timeline", 0, 0},    {"hop", 0, 1},
    {"smooth", 0, 1},       {"background", 0, 1},    {"stream", 0, 0},      {"rate", 'r', 1},
    {"serve", 0, 0},        {"host", 0, 1},          {"port", 0, 1},        {"workers", 0, 1},
    {"max-upload", 0, 1},   {"selftest", 0, 0},      {"help", 'h', 0},      {"version", 0, 0},
    {"max-connections", 0, 1}, {"max-per-ip", 0, 1},  {"idle-timeout", 0, 1},
    {"aggregate", 0, 1},
};

static const opt_spec *find_opt(const char *arg, const char **inline_value)
{
    *inline_value = NULL;
    if (arg[0] == '-' && arg[1] && arg[1] != '-' && !arg[2]) {
        for (size_t i = 0; i < sizeof OPTS / sizeof OPTS[0]; i++)
            if (OPTS[i].short_name == arg[1])
                return &OPTS[i];
        return NULL;
    }
    if (strncmp(arg, "--", 2))
        return NULL;
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    for (size_t i = 0; i < sizeof OPTS / sizeof OPTS[0]; i++)
        if (strlen(OPTS[i].name) == len && !strncmp(OPTS[i].name, name, len)) {
            if (eq)
                *inline_value = eq + 1;
            return &OPTS[i];
        }
    return NULL;
}

static int set_mode(inf_options *o, inf_mode m, int *mode_set, const char *opt, aa_error *err)
{
    if (*mode_set && o->mode != m)
        return aa_error_set(err, USAGE, "%s cannot be combined with another mode (--eval, --timeline, --stream, "
                                        "--selftest, --serve)", opt);
    o->mode = m;
    *mode_set = 1;
    return 0;
}

static int apply(inf_options *o, const opt_spec *s, const char *v, int *mode_set, aa_error *err)
{
    const char *n = s->name;
    char opt[40];
    snprintf(opt, sizeof opt, "--%s", n);
    if (!strcmp(n, "model")) o->model = v;
    else if (!strcmp(n, "json")) o->format = INF_JSON;
    else if (!strcmp(n, "csv")) o->format = INF_CSV;
    else if (!strcmp(n, "min-confidence")) return parse_double(opt, v, 0, 1, &o->min_confidence, err);
    else if (!strcmp(n, "threshold")) return parse_threshold(o, v, err);
    else if (!strcmp(n, "aggregate")) {
        am_aggregate a;
        aa_error e;
        aa_error_clear(&e);
        if (am_aggregate_parse(v, &a, &e))
            return aa_error_set(err, USAGE, "--aggregate: %s", e.msg);
        o->aggregate = v;
    }
    else if (!strcmp(n, "threads")) return parse_int(opt, v, 0, 1024, &o->threads, err);
    else if (!strcmp(n, "max-seconds")) return parse_double(opt, v, 0.001, 1e7, &o->max_seconds, err);
    else if (!strcmp(n, "eval")) { o->eval_data = v; return set_mode(o, INF_EVAL, mode_set, opt, err); }
    else if (!strcmp(n, "side")) {
        if (strcmp(v, "train") && strcmp(v, "val") && strcmp(v, "test"))
            return aa_error_set(err, USAGE, "--side: '%s' is not train, val or test", v);
        o->side = v;
    }
    else if (!strcmp(n, "svg")) o->svg_dir = v;
    else if (!strcmp(n, "timeline")) return set_mode(o, INF_TIMELINE, mode_set, opt, err);
    else if (!strcmp(n, "hop")) return parse_double(opt, v, 0.01, 3600, &o->hop, err);
    else if (!strcmp(n, "smooth")) {
        if (parse_int(opt, v, 1, 101, &o->smooth, err))
            return USAGE;
        if (o->smooth % 2 == 0)
            return aa_error_set(err, USAGE, "--smooth: %d is even; a centred average needs an odd count", o->smooth);
    }
    else if (!strcmp(n, "background")) o->background = v;
    else if (!strcmp(n, "stream")) return set_mode(o, INF_STREAM, mode_set, opt, err);
    else if (!strcmp(n, "rate")) return parse_int(opt, v, DSP_MIN_RATE, DSP_MAX_RATE, &o->rate, err);
    else if (!strcmp(n, "serve")) return set_mode(o, INF_SERVE, mode_set, opt, err);
    else if (!strcmp(n, "host")) o->host = v;
    else if (!strcmp(n, "port")) return parse_int(opt, v, 0, 65535, &o->port, err);
    else if (!strcmp(n, "workers")) return parse_int(opt, v, 1, 64, &o->workers, err);
    else if (!strcmp(n, "max-upload")) return parse_double(opt, v, 0.001, 4096, &o->max_upload_mb, err);
    else if (!strcmp(n, "max-connections")) return parse_int(opt, v, 1, 100000, &o->max_connections, err);
    else if (!strcmp(n, "max-per-ip")) return parse_int(opt, v, 0, 100000, &o->max_per_ip, err);
    else if (!strcmp(n, "idle-timeout")) return parse_int(opt, v, 1, 3600, &o->idle_timeout_s, err);
    else if (!strcmp(n, "selftest")) return set_mode(o, INF_SELFTEST, mode_set, opt, err);
    else if (!strcmp(n, "help")) o->help = 1;
    else if (!strcmp(n, "version")) o->version = 1;
    return 0;
}

/* Options that belong to one mode only, so a mistyped command line is caught rather than ignored. */
static int check_combination(const inf_options *o, const int *given, aa_error *err)
{
    static const struct { const char *name; int mode; } only[] = {
        {"side", INF_EVAL}, {"svg", INF_EVAL}, {"smooth", INF_TIMELINE}, {"background", INF_TIMELINE},
        {"rate", INF_STREAM},
        {"host", INF_SERVE}, {"port", INF_SERVE}, {"workers", INF_SERVE}, {"max-upload", INF_SERVE},
        {"max-connections", INF_SERVE}, {"max-per-ip", INF_SERVE}, {"idle-timeout", INF_SERVE},
    };
    for (size_t i = 0; i < sizeof only / sizeof only[0]; i++)
        for (size_t j = 0; j < sizeof OPTS / sizeof OPTS[0]; j++)
            if (given[j] && !strcmp(OPTS[j].name, only[i].name) && (int)o->mode != only[i].mode)
                return aa_error_set(err, USAGE, "--%s only applies with --%s", only[i].name,
                                    only[i].mode == INF_EVAL ? "eval" : only[i].mode == INF_TIMELINE ? "timeline"
                                    : only[i].mode == INF_STREAM ? "stream" : "serve");
    for (size_t j = 0; j < sizeof OPTS / sizeof OPTS[0]; j++)
        if (given[j] && !strcmp(OPTS[j].name, "hop") && o->mode != INF_TIMELINE && o->mode != INF_STREAM)
            return aa_error_set(err, USAGE, "--hop only applies with --timeline or --stream");
    if (o->format == INF_CSV && o->mode != INF_CLASSIFY)
        return aa_error_set(err, USAGE, "--csv only applies when classifying clips");
    if (!o->model)
        return aa_error_set(err, USAGE, "no model given (-m MODEL)");
    switch (o->mode) {
    case INF_CLASSIFY:
    case INF_TIMELINE:
        if (o->n_inputs == 0)
            return aa_error_set(err, USAGE, "no recordings given (files, folders, or '-' for standard input)");
        break;
    case INF_STREAM:
        if (!o->rate)
            return aa_error_set(err, USAGE, "--stream needs the sample rate of the PCM (-r RATE)");
        if (o->n_inputs != 1)
            return aa_error_set(err, USAGE, "--stream reads one input ('-' for standard input)");
        break;
    default:
        if (o->n_inputs)
            return aa_error_set(err, USAGE, "unexpected argument '%s'", o->inputs[0]);
    }
    return 0;
}

int inf_parse(int argc, char **argv, inf_options *o, aa_error *err)
{
    inf_options_default(o);
    o->inputs = calloc((size_t)(argc > 0 ? argc : 1), sizeof *o->inputs);
    if (!o->inputs)
        return aa_error_set(err, USAGE, "out of memory");
    int given[sizeof OPTS / sizeof OPTS[0]] = {0};
    int mode_set = 0, only_inputs = 0;
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        if (only_inputs || a[0] != '-' || !strcmp(a, "-")) {
            o->inputs[o->n_inputs++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_inputs = 1;
            continue;
        }
        const char *v;
        const opt_spec *s = find_opt(a, &v);
        if (!s)
            return aa_error_set(err, USAGE, "unknown option '%s' (see --help)", a);
        if (s->takes_value && !v) {
            if (i + 1 >= argc)
                return aa_error_set(err, USAGE, "%s needs a value (see --help)", a);
            v = argv[++i];
        } else if (!s->takes_value && v) {
            return aa_error_set(err, USAGE, "--%s takes no value", s->name);
        }
        given[s - OPTS] = 1;
        if (apply(o, s, v, &mode_set, err))
            return USAGE;
    }
    if (o->help || o->version)
        return 0;
    return check_combination(o, given, err);
}

am_model *inf_open_model(const inf_options *o, int n_slots, aa_error *err)
{
    am_model *m = am_load(o->model, n_slots, err);
    if (!m)
        return NULL;
    if (o->min_confidence >= 0)
        am_set_min_confidence(m, o->min_confidence);
    am_aggregate agg;
    if (o->aggregate && (am_aggregate_parse(o->aggregate, &agg, err) || am_set_aggregate(m, &agg, err))) {
        err->code = INF_ERR_USAGE;
        am_free(m);
        return NULL;
    }
    for (int i = 0; i < o->n_thresholds; i++)
        if (am_set_class_threshold(m, o->thresholds[i].cls, o->thresholds[i].p, err)) {
            char msg[AA_ERROR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", err->msg);
            aa_error_set(err, INF_ERR_USAGE, "--threshold: %s (%s)", msg, o->model);
            am_free(m);
            return NULL;
        }
    return m;
}

int inf_threads_for(const inf_options *o, size_t n)
{
    if (o->threads > 0)
        return o->threads;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1)
        cpus = 1;
    if (n < 1)
        n = 1;
    return (size_t)cpus < n ? (int)cpus : (int)n;
}

int inf_exit_status(const aa_error *err)
{
    return err->code == INF_ERR_USAGE ? 2 : 1;
}
