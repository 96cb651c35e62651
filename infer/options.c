/* aa-infer's command line: parsing, --help, and loading the model the options describe. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsp/dsp.h"
#include "eval/eval.h"
#include "infer/infer.h"

#define USAGE INF_ERR_USAGE

void inf_options_default(inf_options *o)
{
    memset(o, 0, sizeof *o);
    o->mode = INF_CLASSIFY;
    o->format = INF_TEXT;
    o->min_confidence = -1;
    o->hop = 0.5;
    o->smooth = 0; /* the model's stored number, else AM_TIMELINE_SMOOTH */
    o->fa_budget = AM_TUNE_FA_BUDGET;
    o->event_threshold = -1;
    o->min_duration = -1;
    o->background = NULL; /* the model's background class */
    o->collar = ev_event_opts_default().collar;
    o->host = "127.0.0.1";
    o->port = 8501;
    o->max_upload_mb = 20;
    o->timeline_seconds = INF_SERVE_TIMELINE_SECONDS;
    o->max_per_ip = -1;
}

/* ---- the table ------------------------------------------------------------------------------------------ */

/* One table drives the parser, the --help text and the defaults it quotes, as aa-train's does: the help
 * cannot forget an option or quote a stale default. */

typedef enum {
    K_FLAG, /* no value */
    K_STR,  /* any string */
    K_INT,  /* whole number in [lo, hi] */
    K_NUM,  /* finite number in [lo, hi] */
    K_TEXT, /* a value checked by its own rule (--side, --threshold, --aggregate) */
} kind;

typedef enum {
    O_MODEL, O_JSON, O_CSV, O_MIN_CONFIDENCE, O_THRESHOLD, O_AGGREGATE, O_THREADS, O_MAX_SECONDS,
    O_EVAL, O_SIDE, O_SVG, O_NEGATIVES,
    O_TIMELINE, O_HOP, O_SMOOTH, O_BACKGROUND, O_REFERENCE, O_COLLAR, O_OFFSETS, O_OVERLAP,
    O_TUNE, O_FA_BUDGET, O_EVENT_THRESHOLD, O_MIN_DURATION, O_STREAM, O_RATE, O_SAMPLE_FORMAT, O_EVENTS, O_REFRACTORY,
    O_SERVE, O_HOST, O_PORT, O_WORKERS, O_MAX_UPLOAD, O_TIMELINE_SECONDS, O_MAX_CONNECTIONS, O_MAX_PER_IP, O_IDLE_TIMEOUT,
    O_ALLOW_HOST, O_ALLOW_ORIGIN,
    O_SELFTEST, O_HELP, O_VERSION,
} opt_id;

#define MODE(m) (1u << (m))

typedef struct {
    opt_id id;
    const char *name;    /* long name without the dashes */
    char short_name;     /* 0: none */
    kind k;
    const char *arg;     /* placeholder in the help; NULL for a flag */
    double lo, hi;       /* K_INT, K_NUM */
    unsigned only;       /* the modes (MODE(INF_...)) the option applies to; 0: every mode */
    const char *section; /* starts a new section of the help when set */
    const char *help;
    const char *words;   /* the default in words when it is not a value of the defaults (NULL: none, or
                          * see default_text) */
} opt_def;

static const opt_def OPTS[] = {
    {O_MODEL, "model", 'm', K_STR, "FILE", 0, 0, 0, "Common options (default in brackets)", "the model file",
     "required"},
    {O_JSON, "json", 0, K_FLAG, NULL, 0, 0, 0, NULL,
     "JSON: one object per line (per clip, per file's timeline, per stream decision; --eval: one report)",
     "text for people"},
    {O_CSV, "csv", 0, K_FLAG, NULL, 0, 0, 0, NULL, "CSV table with a header (classifying clips only)", NULL},
    {O_MIN_CONFIDENCE, "min-confidence", 0, K_NUM, "P", 0, 1, 0, NULL, "withhold predictions below P, 0..1",
     "the model's gate"},
    {O_THRESHOLD, "threshold", 0, K_TEXT, "CLASS=P", 0, 0, 0, NULL,
     "per-class gate (CLASS: folder name or label); repeat for more classes", "the model's"},
    {O_AGGREGATE, "aggregate", 0, K_TEXT, "POLICY", 0, 0, 0, NULL,
     "how a recording longer than one clip is judged: loudest, mean@HOP (mean probability of windows HOP s "
     "apart), topK@HOP (that mean over the K loudest), rms@HOP, energy@HOP (weighted by each window's RMS or "
     "energy)", "the model's"},
    {O_THREADS, "threads", 0, K_INT, "N", 0, 1024, 0, NULL,
     "threads: clips and --eval classify files in parallel, --timeline windows; 0 = all cores (clips: at most "
     "one per file)", NULL},
    {O_MAX_SECONDS, "max-seconds", 0, K_NUM, "S", 0.001, 1e7, 0, NULL,
     "longest recording decoded whole (clips, --eval, uploads)", NULL},

    {O_EVAL, "eval", 0, K_STR, "DATA", 0, 0, 0, "Evaluation (--eval)",
     "DATA/<class>/... folders (or DATA/{train,val,test}/<class>/...), or the MODEL.split.tsv aa-train writes "
     "(columns path, class, group, side, source, negative); the report ends with a table per source and, with "
     "negatives, what they were called", NULL},
    {O_SIDE, "side", 0, K_TEXT, "SIDE", 0, 0, MODE(INF_EVAL), NULL, "train, val or test: only those rows (or "
     "that folder)", "all"},
    {O_NEGATIVES, "negatives", 0, K_STR, "DIR", 0, 0, MODE(INF_EVAL), NULL,
     "recordings of no class in DIR's folders (one kind each): reported as what the model calls them, per "
     "folder; repeatable", NULL},
    {O_SVG, "svg", 0, K_STR, "DIR", 0, 0, MODE(INF_EVAL), NULL,
     "also write DIR/confusion.svg, reliability.svg, coverage.svg", NULL},

    {O_TIMELINE, "timeline", 0, K_FLAG, NULL, 0, 0, 0, "Long recordings (--timeline) and live input (--stream)",
     "slide the model's clip window over each FILE and print events", NULL},
    {O_HOP, "hop", 0, K_NUM, "S", 0.01, 3600, MODE(INF_TIMELINE) | MODE(INF_STREAM), NULL,
     "seconds between windows", NULL},
    {O_SMOOTH, "smooth", 0, K_INT, "N", 1, 101, MODE(INF_TIMELINE), NULL,
     "centred moving average of the probabilities over N windows (odd; 1 = none); by default the number the "
     "model stores (aa-train tunes it), else", NULL},
    {O_BACKGROUND, "background", 0, K_STR, "CLASS", 0, 0, MODE(INF_TIMELINE) | MODE(INF_STREAM), NULL,
     "the class that is never an event (default: the model's class named background_noise or background, "
     "in any case and with any separator; none when it has no such class)", NULL},
    {O_REFERENCE, "reference", 0, K_STR, "REF.tsv", 0, 0, MODE(INF_TIMELINE), NULL,
     "score the events against the reference events of REF.tsv (columns file, label, start_s, end_s) and "
     "print one report for all the recordings: per class precision, recall, F1, false alarms per hour, onset "
     "and offset errors (with --json: one more line)", NULL},
    {O_COLLAR, "collar", 0, K_NUM, "S", 0, 3600, MODE(INF_TIMELINE), NULL,
     "a hit's onsets are at most S seconds apart (each event in at most one hit, matched optimally)", NULL},
    {O_OFFSETS, "offsets", 0, K_FLAG, NULL, 0, 0, MODE(INF_TIMELINE), NULL,
     "offsets must match too: within the larger of the collar and half the reference event's length "
     "(sed_eval's rule); by default only onsets are compared, since a window places an end only to within "
     "its length", NULL},
    {O_OVERLAP, "overlap", 0, K_FLAG, NULL, 0, 0, MODE(INF_TIMELINE), NULL,
     "a hit is an estimate that overlaps the reference event widened by the collar on each side, wherever "
     "its onset (a window says a cough is somewhere in its 4 s, not where); instead of the onset rule",
     NULL},
    {O_TUNE, "tune", 0, K_STR, "REF.tsv", 0, 0, MODE(INF_TIMELINE), NULL,
     "instead of events, the sweep of the event rule on the FILEs against REF.tsv's events (as --reference "
     "reads them): every threshold (the gate's rule, 19 from 0.01 to 0.95), smoothing (1, 3, 5, 7 windows) and minimum "
     "duration (0, 1, 1.5, 2 s), scored by the overlap rule for the model's cough class (else every class but "
     "the background): found, recall, precision, F1, false alarms per 10 min; then the row chosen for "
     "--fa-budget, as the options that give it", NULL},
    {O_FA_BUDGET, "fa-budget", 0, K_NUM, "N", 0, 1e6, MODE(INF_TIMELINE), NULL,
     "--tune: choose the row that finds the most events with at most N false alarms per 10 minutes (one every "
     "100 s: what a reviewer can dismiss, and enough in 30 minutes of tuning audio to tell settings apart)",
     NULL},
    {O_EVENT_THRESHOLD, "event-threshold", 0, K_NUM, "P", 0, 1, MODE(INF_TIMELINE), NULL,
     "a window the gate does not make an event of is one of the model's cough class (a model without one: "
     "its most probable class but the background) when that class's smoothed probability reaches P; a model "
     "with none stored uses the gate's rule alone",
     "the model's"},
    {O_MIN_DURATION, "min-duration", 0, K_NUM, "S", 0, 3600, MODE(INF_TIMELINE), NULL,
     "drop events whose run of windows lasts less than S seconds (a window counts for one hop); a model with "
     "none stored keeps every event", "the model's"},
    {O_STREAM, "stream", 0, K_FLAG, NULL, 0, 0, 0, NULL,
     "raw 16-bit little-endian mono PCM from '-' (or a file): one decision per hop once a clip's worth has "
     "arrived, and one at the end", NULL},
    {O_RATE, "rate", 'r', K_INT, "HZ", DSP_MIN_RATE, DSP_MAX_RATE, MODE(INF_STREAM), NULL,
     "sample rate of raw PCM, which needs it (a stream that starts with a WAV header says its own)", NULL},
    {O_SAMPLE_FORMAT, "sample-format", 0, K_TEXT, "s16|f32", 0, 0, MODE(INF_STREAM), NULL,
     "raw PCM: 16-bit integers or 32-bit floats, little-endian, mono (a WAV header says its own: 16-bit or "
     "float PCM, any channel count, mixed to mono)", "s16"},
    {O_EVENTS, "events", 0, K_FLAG, NULL, 0, 0, MODE(INF_STREAM), NULL,
     "print events instead of decisions: an onset line when a run of windows of one class starts, an offset "
     "line with its start and end (the --timeline rules, without smoothing) when it ends", NULL},
    {O_REFRACTORY, "refractory", 0, K_NUM, "S", 0, 3600, MODE(INF_STREAM), NULL,
     "--events: a run of the same class starting within S seconds of an event's end continues that event "
     "(its offset line waits S seconds)", NULL},

    {O_SERVE, "serve", 0, K_FLAG, NULL, 0, 0, 0, "Web page (--serve)",
     "serve the web page and the JSON API until interrupted", NULL},
    {O_HOST, "host", 0, K_STR, "ADDR", 0, 0, MODE(INF_SERVE), NULL, "address to listen on", NULL},
    {O_PORT, "port", 0, K_INT, "N", 0, 65535, MODE(INF_SERVE), NULL, "TCP port (0: any free one)", NULL},
    {O_WORKERS, "workers", 0, K_INT, "N", 1, 64, MODE(INF_SERVE), NULL, "requests classified at once",
     "cores, at most 8"},
    {O_MAX_UPLOAD, "max-upload", 0, K_NUM, "MB", 0.001, 4096, MODE(INF_SERVE), NULL,
     "largest upload accepted. Uploads in progress may hold 8 x --max-upload of memory together; past that "
     "the server answers 503 (try again). A body still arriving after 120 s is cut off", NULL},
    {O_TIMELINE_SECONDS, "timeline-seconds", 0, K_NUM, "S", 1, 1e6, MODE(INF_SERVE), NULL,
     "longest upload POST /api/timeline follows: S s of 48 kHz stereo in samples and S / 0.5 windows (more "
     "samples a second, or a hop under 0.5 s: fewer seconds). Half the workers follow timelines at once", NULL},
    {O_MAX_CONNECTIONS, "max-connections", 0, K_INT, "N", 1, 100000, MODE(INF_SERVE), NULL,
     "open connections at once; more wait to be accepted", NULL},
    {O_MAX_PER_IP, "max-per-ip", 0, K_INT, "N", 0, 100000, MODE(INF_SERVE), NULL,
     "open connections from one address (0: no limit); more are closed at once", NULL},
    {O_IDLE_TIMEOUT, "idle-timeout", 0, K_INT, "S", 1, 3600, MODE(INF_SERVE), NULL,
     "close a connection silent this long", NULL},
    {O_ALLOW_HOST, "allow-host", 0, K_STR, "NAME", 0, 0, MODE(INF_SERVE), NULL,
     "also answer requests whose Host is NAME (any port) or NAME:PORT, as behind a proxy or on a network "
     "address; repeat or separate with commas", "loopback, --host"},
    {O_ALLOW_ORIGIN, "allow-origin", 0, K_STR, "ORIGIN", 0, 0, MODE(INF_SERVE), NULL,
     "let pages of ORIGIN (scheme://host[:port]) call the API (CORS); repeat or separate with commas",
     "own page only"},

    {O_SELFTEST, "selftest", 0, K_FLAG, NULL, 0, 0, 0, "Other",
     "recompute the model's stored test signal; PASS or FAIL (exit 1)", NULL},
    {O_HELP, "help", 'h', K_FLAG, NULL, 0, 0, 0, NULL, "show this help and exit", NULL},
    {O_VERSION, "version", 0, K_FLAG, NULL, 0, 0, 0, NULL, "print the version and exit", NULL},
};
#define N_OPTS (sizeof OPTS / sizeof OPTS[0])

/* The default --help quotes for d, from the same values inf_options_default and the server's defaults set;
 * 0 when it has none. */
static int default_text(const opt_def *d, char *buf, size_t n)
{
    if (d->words) {
        snprintf(buf, n, "%s", d->words);
        return 1;
    }
    inf_options o;
    inf_options_default(&o);
    aa_serve_config c; /* what the server does with the options left at 0 (or -1) */
    aa_serve_config_default(&c);
    switch (d->id) {
    case O_THREADS: snprintf(buf, n, "%d", o.threads); return 1;
    case O_MAX_SECONDS: snprintf(buf, n, "%g; --serve %g", DSP_LOAD_MAX_SECONDS, INF_SERVE_MAX_SECONDS); return 1;
    case O_HOP: snprintf(buf, n, "%g", o.hop); return 1;
    case O_SMOOTH: snprintf(buf, n, "%d", AM_TIMELINE_SMOOTH); return 1;
    case O_FA_BUDGET: snprintf(buf, n, "%g", o.fa_budget); return 1;
    case O_COLLAR: snprintf(buf, n, "%g", o.collar); return 1;
    case O_REFRACTORY: snprintf(buf, n, "%g", o.refractory); return 1;
    case O_HOST: snprintf(buf, n, "%s", o.host); return 1;
    case O_PORT: snprintf(buf, n, "%d", o.port); return 1;
    case O_MAX_UPLOAD: snprintf(buf, n, "%g", o.max_upload_mb); return 1;
    case O_TIMELINE_SECONDS: snprintf(buf, n, "%g", o.timeline_seconds); return 1;
    case O_MAX_CONNECTIONS: snprintf(buf, n, "%d", c.max_connections); return 1;
    case O_MAX_PER_IP: snprintf(buf, n, "%d", c.max_per_ip); return 1;
    case O_IDLE_TIMEOUT: snprintf(buf, n, "%d", c.timeout_s); return 1;
    default: return 0;
    }
}

int inf_option(int i, inf_option_info *info, char *def, size_t n)
{
    if (i < 0 || (size_t)i >= N_OPTS)
        return 0;
    const opt_def *d = &OPTS[i];
    *info = (inf_option_info){.name = d->name, .arg = d->arg, .checked = d->k == K_INT || d->k == K_NUM ||
                                                                         d->k == K_TEXT};
    if (!default_text(d, def, n) && n)
        def[0] = 0;
    return 1;
}

/* ---- help ----------------------------------------------------------------------------------------------- */

enum {
    HELP_COL = 26,     /* where the help text starts */
    HELP_END = 100,    /* no line passes this column */
    DEFAULT_COL = 80,  /* where "[default]" starts: on the text's last line if it fits, else below */
};

void inf_usage(FILE *to)
{
    fprintf(to,
        "Usage: aa-infer -m MODEL [options] CLIP...          classify recordings\n"
        "       aa-infer -m MODEL --eval DATA [options]      evaluate on labelled recordings\n"
        "       aa-infer -m MODEL --timeline [options] FILE...  events in long recordings\n"
        "       aa-infer -m MODEL --stream -r RATE -         decisions on live 16-bit PCM from stdin\n"
        "       aa-infer -m MODEL --selftest                 check this build against the model's self-test\n"
        "       aa-infer -m MODEL --serve [options]          web page and JSON API\n"
        "       aa-infer --mel CLIP -o OUT.f32 [-m MODEL]    the log-mel a model sees (--mel --help)\n"
        "Classify recordings into the classes of a model file made by aa-train (a sound classifier: coughs\n"
        "and breathing, dog barks, machine faults, spoken words, whatever it was trained on). A prediction\n"
        "below the model's confidence gate is reported as \"Unclear/Unknown\"; a recording that is too\n"
        "short, silent or clipped is flagged (and still classified).\n"
        "\n"
        "Inputs: CLIP is any file libsndfile reads (WAV, FLAC, Ogg, Opus, MP3, ...); a folder is searched\n"
        "recursively for .wav .flac .ogg .oga .opus .mp3 files; '-' reads one recording from standard input.\n");
    for (size_t i = 0; i < N_OPTS; i++) {
        const opt_def *d = &OPTS[i];
        if (d->section)
            fprintf(to, "\n%s:\n", d->section);
        char head[64];
        if (d->short_name)
            snprintf(head, sizeof head, "-%c, --%s%s%s", d->short_name, d->name, d->arg ? " " : "",
                     d->arg ? d->arg : "");
        else
            snprintf(head, sizeof head, "    --%s%s%s", d->name, d->arg ? " " : "", d->arg ? d->arg : "");
        int col = fprintf(to, "  %-*s", HELP_COL - 3, head);
        if (col >= HELP_COL) { /* a long name and its placeholder push the text to the next line */
            fprintf(to, "\n%*s", HELP_COL, "");
            col = HELP_COL;
        } else {
            col += fprintf(to, "%*s", HELP_COL - col, "");
        }
        col = aa_wrap(to, d->help, col, HELP_COL, HELP_END);
        char def[64];
        if (default_text(d, def, sizeof def)) {
            if (col >= DEFAULT_COL - 1 || DEFAULT_COL + (int)strlen(def) + 2 > HELP_END) {
                fputc('\n', to);
                col = 0;
            }
            fprintf(to, "%*s[%s]", DEFAULT_COL - col, "", def);
        }
        fputc('\n', to);
    }
    fprintf(to,
        "\n"
        "Examples:\n"
        "  aa-infer -m model.aam cough.wav recordings/\n"
        "  aa-infer -m model.aam --json --min-confidence 0.8 clip.flac\n"
        "  aa-infer -m model.aam --eval data/ --svg plots/\n"
        "  aa-infer -m model.aam --eval model.aam.split.tsv --side test --json\n"
        "  aa-infer -m model.aam --timeline --hop 0.25 night.flac\n"
        "  aa-infer -m model.aam --timeline --tune ref.tsv --fa-budget 2 mixtures/\n"
        "  arecord -f S16_LE -r 16000 -c 1 -t raw | aa-infer -m model.aam --stream -r 16000 -\n"
        "  aa-infer -m model.aam --serve --port 8501      (then open http://127.0.0.1:8501/)\n"
        "\n"
        "Exit status: 0 success, 1 runtime error (a file that cannot be used, a bad model file, a failed\n"
        "self-test; other files are still processed), 2 usage error.\n"
        "A respiratory model (its file says so; aa-train --task) adds to every result, in every output:\n"
        "\"" AM_DISCLAIMER "\"\n");
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

static const opt_def *find_opt(const char *arg, const char **inline_value)
{
    *inline_value = NULL;
    if (arg[0] == '-' && arg[1] && arg[1] != '-' && !arg[2]) {
        for (size_t i = 0; i < N_OPTS; i++)
            if (OPTS[i].short_name == arg[1])
                return &OPTS[i];
        return NULL;
    }
    if (strncmp(arg, "--", 2))
        return NULL;
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    for (size_t i = 0; i < N_OPTS; i++)
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

static int apply(inf_options *o, const opt_def *d, const char *v, int *mode_set, aa_error *err)
{
    char opt[40];
    snprintf(opt, sizeof opt, "--%s", d->name);
    /* Numbers are read by kind, with the table's range, into the field the option names. */
    double x = 0;
    int n = 0;
    if (d->k == K_NUM && parse_double(opt, v, d->lo, d->hi, &x, err))
        return USAGE;
    if (d->k == K_INT && parse_int(opt, v, (long)d->lo, (long)d->hi, &n, err))
        return USAGE;
    switch (d->id) {
    case O_MODEL: o->model = v; break;
    case O_JSON: o->format = INF_JSON; break;
    case O_CSV: o->format = INF_CSV; break;
    case O_MIN_CONFIDENCE: o->min_confidence = x; break;
    case O_THRESHOLD: return parse_threshold(o, v, err);
    case O_AGGREGATE: {
        am_aggregate a;
        aa_error e;
        aa_error_clear(&e);
        if (am_aggregate_parse(v, &a, &e))
            return aa_error_set(err, USAGE, "--aggregate: %s", e.msg);
        o->aggregate = v;
        break;
    }
    case O_THREADS: o->threads = n; break;
    case O_MAX_SECONDS: o->max_seconds = x; break;
    case O_EVAL: o->eval_data = v; return set_mode(o, INF_EVAL, mode_set, opt, err);
    case O_SIDE:
        if (strcmp(v, "train") && strcmp(v, "val") && strcmp(v, "test"))
            return aa_error_set(err, USAGE, "--side: '%s' is not train, val or test", v);
        o->side = v;
        break;
    case O_SVG: o->svg_dir = v; break;
    case O_NEGATIVES:
        if (o->n_negatives == INF_MAX_NEGATIVES)
            return aa_error_set(err, USAGE, "--negatives: at most %d folders", INF_MAX_NEGATIVES);
        o->negatives[o->n_negatives++] = v;
        break;
    case O_TIMELINE: return set_mode(o, INF_TIMELINE, mode_set, opt, err);
    case O_HOP: o->hop = x; break;
    case O_SMOOTH:
        if (n % 2 == 0)
            return aa_error_set(err, USAGE, "--smooth: %d is even; a centred average needs an odd count", n);
        o->smooth = n;
        break;
    case O_BACKGROUND: o->background = v; break;
    case O_REFERENCE: o->reference = v; break;
    case O_COLLAR: o->collar = x; break;
    case O_OFFSETS: o->offsets = 1; break;
    case O_OVERLAP: o->overlap = 1; break;
    case O_TUNE: o->tune = v; break;
    case O_FA_BUDGET: o->fa_budget = x; break;
    case O_EVENT_THRESHOLD: o->event_threshold = x; break;
    case O_MIN_DURATION: o->min_duration = x; break;
    case O_STREAM: return set_mode(o, INF_STREAM, mode_set, opt, err);
    case O_RATE: o->rate = n; break;
    case O_SAMPLE_FORMAT:
        if (strcmp(v, "s16") && strcmp(v, "f32"))
            return aa_error_set(err, USAGE, "--sample-format: '%s' is not s16 or f32", v);
        o->float_pcm = !strcmp(v, "f32");
        break;
    case O_EVENTS: o->events = 1; break;
    case O_REFRACTORY: o->refractory = x; break;
    case O_SERVE: return set_mode(o, INF_SERVE, mode_set, opt, err);
    case O_HOST:
        /* an empty or blank address is a mistyped command line, not a network failure */
        if (!v[strspn(v, " \t")])
            return aa_error_set(err, USAGE, "--host needs an address, not '%s'", v);
        o->host = v;
        break;
    case O_PORT: o->port = n; break;
    case O_WORKERS: o->workers = n; break;
    case O_MAX_UPLOAD: o->max_upload_mb = x; break;
    case O_TIMELINE_SECONDS: o->timeline_seconds = x; break;
    case O_MAX_CONNECTIONS: o->max_connections = n; break;
    case O_MAX_PER_IP: o->max_per_ip = n; break;
    case O_IDLE_TIMEOUT: o->idle_timeout_s = n; break;
    case O_ALLOW_HOST:
    case O_ALLOW_ORIGIN: {
        int host = d->id == O_ALLOW_HOST;
        int *count = host ? &o->n_allow_hosts : &o->n_allow_origins;
        if (*count >= INF_SERVE_ALLOW_MAX)
            return aa_error_set(err, USAGE, "%s: given more than %d times (use commas)", opt, INF_SERVE_ALLOW_MAX);
        (host ? o->allow_hosts : o->allow_origins)[(*count)++] = v;
        break;
    }
    case O_SELFTEST: return set_mode(o, INF_SELFTEST, mode_set, opt, err);
    case O_HELP: o->help = 1; break;
    case O_VERSION: o->version = 1; break;
    }
    return 0;
}

/* "--eval", "--timeline or --stream": the modes in an option's `only`, as the message names them. */
static void only_modes(unsigned only, char *buf, size_t n)
{
    static const struct { inf_mode mode; const char *flag; } flags[] = {
        {INF_EVAL, "--eval"}, {INF_TIMELINE, "--timeline"}, {INF_STREAM, "--stream"},
        {INF_SELFTEST, "--selftest"}, {INF_SERVE, "--serve"},
    };
    size_t at = 0;
    buf[0] = 0;
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if ((only & MODE(flags[i].mode)) && at < n)
            at += (size_t)snprintf(buf + at, n - at, "%s%s", at ? " or " : "", flags[i].flag);
}

/* Options that belong to some modes only, so a mistyped command line is caught rather than ignored. */
static int check_combination(const inf_options *o, const int *given, aa_error *err)
{
    for (size_t j = 0; j < N_OPTS; j++)
        if (given[j] && OPTS[j].only && !(OPTS[j].only & MODE(o->mode))) {
            char modes[96];
            only_modes(OPTS[j].only, modes, sizeof modes);
            return aa_error_set(err, USAGE, "--%s only applies with %s", OPTS[j].name, modes);
        }
    if (o->format == INF_CSV && o->mode != INF_CLASSIFY)
        return aa_error_set(err, USAGE, "--csv only applies when classifying clips");
    for (size_t j = 0; j < N_OPTS; j++) {
        opt_id id = OPTS[j].id;
        if (given[j] && id == O_COLLAR && !o->reference && !o->tune)
            return aa_error_set(err, USAGE, "--collar only applies with --reference or --tune");
        if (given[j] && (id == O_OFFSETS || id == O_OVERLAP) && !o->reference)
            return aa_error_set(err, USAGE, "--%s only applies with --reference%s", OPTS[j].name,
                                o->tune ? " (--tune scores by the overlap rule)" : "");
        if (given[j] && id == O_FA_BUDGET && !o->tune)
            return aa_error_set(err, USAGE, "--fa-budget only applies with --tune");
        if (given[j] && o->tune && (id == O_SMOOTH || id == O_EVENT_THRESHOLD || id == O_MIN_DURATION))
            return aa_error_set(err, USAGE, "--%s: --tune sweeps it (the chosen row's value is printed)",
                                OPTS[j].name);
    }
    if (o->tune && o->reference)
        return aa_error_set(err, USAGE, "--tune and --reference: give one (the sweep, or the events scored)");
    if (o->overlap && o->offsets)
        return aa_error_set(err, USAGE, "--overlap and --offsets are two rules for a hit: give one");
    if (!o->model)
        return aa_error_set(err, USAGE, "no model given (-m MODEL)");
    switch (o->mode) {
    case INF_CLASSIFY:
    case INF_TIMELINE:
        if (o->n_inputs == 0)
            return aa_error_set(err, USAGE, "no recordings given (files, folders, or '-' for standard input)");
        break;
    case INF_STREAM:
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
    int given[N_OPTS] = {0};
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
        const opt_def *d = find_opt(a, &v);
        if (!d)
            return aa_error_set(err, USAGE, "unknown option '%s' (see --help)", a);
        if (d->k != K_FLAG && !v) {
            if (i + 1 >= argc)
                return aa_error_set(err, USAGE, "%s needs a value (see --help)", a);
            v = argv[++i];
        } else if (d->k == K_FLAG && v) {
            return aa_error_set(err, USAGE, "--%s takes no value", d->name);
        }
        given[d - OPTS] = 1;
        if (apply(o, d, v, &mode_set, err))
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
    if (o->event_threshold >= 0 || o->min_duration >= 0) {
        am_timeline t = am_get_timeline(m);
        if (o->event_threshold >= 0)
            t.threshold = o->event_threshold;
        if (o->min_duration >= 0)
            t.min_duration_s = o->min_duration;
        am_set_timeline(m, &t, NULL); /* the parser's ranges are the rule's */
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

int inf_option_set(inf_options *o, const char *name, const char *value, aa_error *err)
{
    for (size_t i = 0; i < N_OPTS; i++)
        if (!strcmp(OPTS[i].name, name) && OPTS[i].k != K_FLAG) {
            int mode_set = 0;
            return apply(o, &OPTS[i], value, &mode_set, err) ? USAGE : 0;
        }
    return aa_error_set(err, USAGE, "unknown option '--%s'", name);
}
