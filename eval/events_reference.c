/* The reference events of a TSV file (format in eval.h): header, rows, labels to classes, merging. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "eval/events_internal.h"

/* Larger than any reference a person writes (about 8 million events), small enough to hold in memory. */
#define MAX_BYTES ((size_t)256 << 20)

enum { COL_FILE, COL_LABEL, COL_START, COL_END, N_COLS };
/* Columns looked at: far more than a reference has, and a bound on the fields held per line. */
#define MAX_FIELDS 64

static const char *const COL_NAME[N_COLS] = {"file", "label", "start_s", "end_s"};
static const char *const COL_ALIAS[N_COLS][3] = {
    {"file", "filename", "path"},
    {"label", "class", "event_label"},
    {"start_s", "onset", "event_onset"},
    {"end_s", "offset", "event_offset"},
};

/* ---- text helpers ------------------------------------------------------------------------------------ */

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* ASCII case-insensitive equality, not the locale's. */
static int same_ci(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (lower((unsigned char)*a) != lower((unsigned char)*b))
            return 0;
    return *a == *b;
}

/* s without leading and trailing spaces, in place. */
static char *trim(char *s)
{
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ')
        s[--n] = 0;
    return s;
}

const char *ev_events_printable(const char *s, char *out, size_t cap)
{
    size_t o = 0, used = 0;
    while (*s && o + 8 < cap) {
        if (used >= EV_QUOTE_MAX) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        uint32_t cp = 0;
        size_t n = aa_utf8_seq(s, &cp);
        int invalid = n == 0;
        if (invalid)
            n = 1;
        if (invalid || cp < 0x20 || cp == 0x7F) {
            for (size_t i = 0; i < n && o + 8 < cap; i++)
                o += (size_t)snprintf(out + o, cap - o, "\\x%02X", (unsigned char)s[i]);
        } else {
            memcpy(out + o, s, n);
            o += n;
        }
        s += n;
        used += n;
    }
    out[o] = 0;
    return out;
}

/* The escapes aa-train's TSV writes (\t, \n, \\), undone in place. */
static void unescape(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s == '\\' && (s[1] == 't' || s[1] == 'n' || s[1] == '\\')) {
            s++;
            *o++ = *s == 't' ? '\t' : *s == 'n' ? '\n' : '\\';
        } else {
            *o++ = *s;
        }
    }
    *o = 0;
}

/* Splits line in place at tabs; f [cap] gets the first cap fields. Returns the number of fields. */
static size_t split_tabs(char *line, char **f, size_t cap)
{
    size_t n = 0;
    for (char *p = line;;) {
        if (n < cap)
            f[n] = p;
        n++;
        char *tab = strchr(p, '\t');
        if (!tab)
            return n;
        *tab = 0;
        p = tab + 1;
    }
}

/* ---- parsing ------------------------------------------------------------------------------------------- */

typedef struct {
    const char *name; /* the file, for messages */
    int k;
    const char *const *classes, *const *labels;
    int col[N_COLS];       /* field index of each column, -1 when absent */
    char *col_title[N_COLS]; /* the header's own word for each */
    size_t need;           /* fields a row needs: 1 + the largest column index */
    /* rows read */
    ev_event *ev;
    size_t *line;
    char **fname; /* [rows] the row's file name, into the text */
    size_t n, cap;
    aa_error *err;
} parser;

/* EV_ERR_ARG with "NAME: line N: " before the message (text from the file already made printable). */
static int fail(parser *p, size_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(parser *p, size_t line, const char *fmt, ...)
{
    char msg[AA_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return aa_error_set(p->err, EV_ERR_ARG, "%s: line %zu: %s", p->name, line, msg);
}

static int header(parser *p, char *line, size_t line_no)
{
    for (int c = 0; c < N_COLS; c++)
        p->col[c] = -1;
    char *f[MAX_FIELDS];
    size_t nf = split_tabs(line, f, MAX_FIELDS), used = nf < MAX_FIELDS ? nf : MAX_FIELDS;
    for (size_t i = 0; i < used; i++) {
        char *w = trim(f[i]);
        for (int c = 0; c < N_COLS; c++) {
            int hit = 0;
            for (int a = 0; a < 3; a++)
                hit |= same_ci(w, COL_ALIAS[c][a]);
            if (!hit)
                continue;
            if (p->col[c] >= 0) /* titles that name a column are ASCII: no quoting needed */
                return fail(p, line_no, "columns '%s' and '%s' both give the %s", p->col_title[c], w, COL_NAME[c]);
            p->col[c] = (int)i;
            p->col_title[c] = w;
        }
    }
    for (int c = COL_LABEL; c < N_COLS; c++)
        if (p->col[c] < 0)
            return fail(p, line_no, "no '%s' column (the first line names the columns: file, label, start_s, end_s)",
                        COL_NAME[c]);
    p->need = 0;
    for (int c = 0; c < N_COLS; c++)
        if (p->col[c] >= 0 && (size_t)p->col[c] + 1 > p->need)
            p->need = (size_t)p->col[c] + 1;
    return 0;
}

/* Class of a label: a folder name, else a display name, case-insensitively; -1 if none. */
static int class_of(const parser *p, const char *label)
{
    char want[256], have[256];
    for (int c = 0; c < p->k; c++)
        if (same_ci(label, p->classes[c]))
            return c;
    ev_display_name(label, want, sizeof want);
    for (int c = 0; c < p->k; c++) {
        const char *shown = p->labels && p->labels[c] ? p->labels[c] : NULL;
        if (!shown) {
            ev_display_name(p->classes[c], have, sizeof have);
            shown = have;
        }
        if (same_ci(label, shown) || same_ci(want, shown))
            return c;
    }
    return -1;
}

static int unknown_label(parser *p, size_t line_no, const char *label)
{
    char list[300];
    size_t o = 0;
    for (int c = 0; c < p->k && o + 1 < sizeof list; c++) {
        int w = snprintf(list + o, sizeof list - o, "%s%s", c ? ", " : "", p->classes[c]);
        o = w < 0 ? sizeof list : o + (size_t)w;
    }
    if (o >= sizeof list)
        memcpy(list + sizeof list - 4, "...", 4);
    /* the class list is the caller's and printed as it is: only the label came from the file */
    char q[EV_QUOTE_BUF];
    return fail(p, line_no, "unknown label '%s' (the classes: %s)", ev_events_printable(label, q, sizeof q), list);
}

/* A time field: a finite decimal number >= 0. */
static int time_of(parser *p, size_t line_no, int col, char *field, double *out)
{
    char *s = trim(field), *end, qv[EV_QUOTE_BUF];
    const char *title = p->col_title[col];
    if (!*s)
        return fail(p, line_no, "%s is empty", title);
    double v = strtod(s, &end);
    ev_events_printable(s, qv, sizeof qv);
    if (end == s || *end)
        return fail(p, line_no, "%s '%s' is not a number", title, qv);
    if (!isfinite(v)) /* nan, inf, or out of range (1e999) */
        return fail(p, line_no, "%s '%s' is not a finite number", title, qv);
    /* strtod also takes leading tabs or carriage returns and hexadecimal: not what a person writes */
    if (strspn(s, "0123456789.eE+-") != strlen(s))
        return fail(p, line_no, "%s '%s' is not a decimal number", title, qv);
    if (v < 0)
        return fail(p, line_no, "%s %s is negative", title, qv);
    *out = v;
    return 0;
}

static int row(parser *p, char *line, size_t line_no)
{
    char *f[MAX_FIELDS];
    size_t nf = split_tabs(line, f, MAX_FIELDS);
    if (nf < p->need)
        return fail(p, line_no, "%zu field%s, the header names %zu columns", nf, nf == 1 ? "" : "s", p->need);
    for (int c = 0; c < N_COLS; c++)
        if (p->col[c] >= 0)
            unescape(f[p->col[c]]);
    ev_event e = {0};
    char *start = trim(f[p->col[COL_START]]), *end = trim(f[p->col[COL_END]]);
    int rc = time_of(p, line_no, COL_START, start, &e.onset);
    if (!rc)
        rc = time_of(p, line_no, COL_END, end, &e.offset);
    if (rc)
        return rc;
    if (!(e.onset < e.offset)) {
        /* both are decimal numbers, so printable */
        return fail(p, line_no, "%s %.40s is not before %s %.40s", p->col_title[COL_START], start,
                    p->col_title[COL_END], end);
    }
    char *label = trim(f[p->col[COL_LABEL]]);
    if (!*label)
        return fail(p, line_no, "empty %s", p->col_title[COL_LABEL]);
    if ((e.cls = class_of(p, label)) < 0)
        return unknown_label(p, line_no, label);
    char *fname = "";
    if (p->col[COL_FILE] >= 0) {
        fname = f[p->col[COL_FILE]];
        if (!*fname)
            return fail(p, line_no, "empty %s", p->col_title[COL_FILE]);
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 256;
        ev_event *ev = realloc(p->ev, cap * sizeof *ev);
        if (ev)
            p->ev = ev;
        size_t *ln = ev ? realloc(p->line, cap * sizeof *ln) : NULL;
        if (ln)
            p->line = ln;
        char **fn = ln ? realloc(p->fname, cap * sizeof *fn) : NULL;
        if (!fn)
            return aa_error_set(p->err, EV_ERR_NOMEM, "%s: out of memory (%zu events)", p->name, p->n);
        p->fname = fn;
        p->cap = cap;
    }
    p->ev[p->n] = e;
    p->line[p->n] = line_no;
    p->fname[p->n++] = fname;
    return 0;
}

/* ---- files and merging --------------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    size_t row;
} named_row;

static int by_name_then_row(const void *pa, const void *pb)
{
    const named_row *a = pa, *b = pb;
    int c = strcmp(a->name, b->name);
    return c ? c : (a->row > b->row) - (a->row < b->row);
}

typedef struct {
    size_t first_row;  /* the row that names it first */
    size_t start, end; /* its rows' range in the name-sorted rows */
} file_group;

static int by_first_row(const void *pa, const void *pb)
{
    const file_group *a = pa, *b = pb;
    return (a->first_row > b->first_row) - (a->first_row < b->first_row);
}

/* Numbers the distinct file names in order of first appearance (by sorting, so that a reference of many
 * files stays n log n) and sets each row's event's file. */
static int number_files(parser *p, ev_reference *r)
{
    named_row *nr = malloc((p->n ? p->n : 1) * sizeof *nr);
    file_group *g = malloc((p->n ? p->n : 1) * sizeof *g);
    size_t ng = 0;
    if (!nr || !g)
        goto oom;
    for (size_t i = 0; i < p->n; i++)
        nr[i] = (named_row){p->fname[i], i};
    qsort(nr, p->n, sizeof *nr, by_name_then_row);
    for (size_t i = 0; i < p->n; i++) {
        if (i == 0 || strcmp(nr[i].name, nr[i - 1].name))
            g[ng++] = (file_group){.first_row = nr[i].row, .start = i}; /* rows of a name sort by row */
        g[ng - 1].end = i + 1;
    }
    qsort(g, ng, sizeof *g, by_first_row);
    /* without a file column, the one recording scored, even when the reference has no rows */
    size_t nf = r->has_file_column ? ng : 1;
    r->files = calloc(nf ? nf : 1, sizeof *r->files);
    r->file_line = calloc(nf ? nf : 1, sizeof *r->file_line);
    if (!r->files || !r->file_line)
        goto oom;
    for (size_t id = 0; id < nf; id++) {
        const char *name = id < ng ? p->fname[g[id].first_row] : "";
        if (!(r->files[id] = strdup(name)))
            goto oom;
        r->n_files = id + 1;
        r->file_line[id] = id < ng ? p->line[g[id].first_row] : 0;
        for (size_t i = id < ng ? g[id].start : 0; id < ng && i < g[id].end; i++)
            p->ev[nr[i].row].file = id;
    }
    free(nr);
    free(g);
    return 0;
oom:
    free(nr);
    free(g);
    return aa_error_set(p->err, EV_ERR_NOMEM, "%s: out of memory", p->name);
}

typedef struct {
    ev_event e;
    size_t line;
} event_line;

static int by_file_class_onset(const void *pa, const void *pb)
{
    const event_line *a = pa, *b = pb;
    if (a->e.file != b->e.file)
        return a->e.file < b->e.file ? -1 : 1;
    if (a->e.cls != b->e.cls)
        return a->e.cls < b->e.cls ? -1 : 1;
    if (a->e.onset != b->e.onset)
        return a->e.onset < b->e.onset ? -1 : 1;
    if (a->e.offset != b->e.offset)
        return a->e.offset < b->e.offset ? -1 : 1;
    return (a->line > b->line) - (a->line < b->line);
}

static int by_file_onset(const void *pa, const void *pb)
{
    const event_line *a = pa, *b = pb;
    if (a->e.file != b->e.file)
        return a->e.file < b->e.file ? -1 : 1;
    if (a->e.onset != b->e.onset)
        return a->e.onset < b->e.onset ? -1 : 1;
    if (a->e.cls != b->e.cls)
        return a->e.cls < b->e.cls ? -1 : 1;
    if (a->e.offset != b->e.offset)
        return a->e.offset < b->e.offset ? -1 : 1;
    return (a->line > b->line) - (a->line < b->line);
}

/* Merges overlapping events of one class and file, then orders them by file and onset. */
static int merge(parser *p, ev_reference *r)
{
    event_line *el = malloc((p->n ? p->n : 1) * sizeof *el);
    r->events = malloc((p->n ? p->n : 1) * sizeof *r->events);
    r->line = malloc((p->n ? p->n : 1) * sizeof *r->line);
    if (!el || !r->events || !r->line) {
        free(el);
        return aa_error_set(p->err, EV_ERR_NOMEM, "%s: out of memory", p->name);
    }
    for (size_t i = 0; i < p->n; i++)
        el[i] = (event_line){p->ev[i], p->line[i]};
    qsort(el, p->n, sizeof *el, by_file_class_onset);
    size_t m = 0;
    for (size_t i = 0; i < p->n; i++) {
        event_line *last = m ? &el[m - 1] : NULL;
        if (last && last->e.file == el[i].e.file && last->e.cls == el[i].e.cls && el[i].e.onset < last->e.offset) {
            if (el[i].e.offset > last->e.offset)
                last->e.offset = el[i].e.offset;
            if (el[i].line < last->line)
                last->line = el[i].line;
            r->merged++;
            continue;
        }
        el[m++] = el[i];
    }
    qsort(el, m, sizeof *el, by_file_onset);
    for (size_t i = 0; i < m; i++) {
        r->events[i] = el[i].e;
        r->line[i] = el[i].line;
    }
    r->n = m;
    free(el);
    return 0;
}

/* ---- the reader ---------------------------------------------------------------------------------------- */

void ev_reference_free(ev_reference *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_files; i++)
        free(r->files[i]);
    free(r->files);
    free(r->file_line);
    free(r->events);
    free(r->line);
    free(r->name);
    free(r);
}

ev_reference *ev_reference_parse(const char *text, size_t size, const char *name, int k,
                                 const char *const *classes, const char *const *labels, aa_error *err)
{
    if (!name)
        name = "reference";
    if (k < 1 || !classes || (size && !text)) {
        aa_error_set(err, EV_ERR_ARG, "%s: nothing to read it with (%d classes)", name, k);
        return NULL;
    }
    const char *nul = size ? memchr(text, 0, size) : NULL;
    if (nul) {
        size_t line = 1;
        for (const char *q = text; q < nul; q++)
            line += *q == '\n';
        aa_error_set(err, EV_ERR_ARG, "%s: line %zu: a NUL byte (not a text file)", name, line);
        return NULL;
    }
    if (size > MAX_BYTES) {
        aa_error_set(err, EV_ERR_ARG, "%s: %zu bytes, more than a reference may have (%zu MB)", name, size,
                     MAX_BYTES >> 20);
        return NULL;
    }
    char *buf = malloc(size + 1);
    ev_reference *r = calloc(1, sizeof *r);
    parser p = {.name = name, .k = k, .classes = classes, .labels = labels, .err = err};
    int rc = 0, have_header = 0;
    if (!buf || !r || !(r->name = strdup(name))) {
        rc = aa_error_set(err, EV_ERR_NOMEM, "%s: out of memory", name);
        goto done;
    }
    memcpy(buf, text, size);
    buf[size] = 0;
    r->k = k;
    char *s = buf, *end = buf + size;
    if (size >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
        s += 3;
    for (size_t line_no = 1; s < end && !rc; line_no++) {
        char *eol = memchr(s, '\n', (size_t)(end - s));
        char *line = s;
        if (eol)
            *eol = 0;
        s = eol ? eol + 1 : end;
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r')
            line[--len] = 0;
        if (strspn(line, " \t") == len)
            continue;
        if (!have_header) {
            rc = header(&p, line, line_no);
            have_header = 1;
            r->has_file_column = p.col[COL_FILE] >= 0;
        } else {
            rc = row(&p, line, line_no);
        }
    }
    if (!rc && !have_header)
        rc = aa_error_set(err, EV_ERR_ARG,
                          "%s: empty (the first line names the columns: file, label, start_s, end_s)", name);
    if (!rc) {
        r->rows = p.n;
        rc = number_files(&p, r);
    }
    if (!rc)
        rc = merge(&p, r);
done:
    free(p.ev);
    free(p.line);
    free(p.fname);
    free(buf);
    if (rc) {
        ev_reference_free(r);
        return NULL;
    }
    return r;
}

ev_reference *ev_reference_read(const char *path, int k, const char *const *classes, const char *const *labels,
                                aa_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        aa_error_set(err, EV_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t size = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (size == cap) {
            if (cap > MAX_BYTES) {
                rc = aa_error_set(err, EV_ERR_ARG, "%s: more than a reference may have (%zu MB)", path,
                                  MAX_BYTES >> 20);
                break;
            }
            cap = cap ? 2 * cap : 65536;
            char *t = realloc(text, cap);
            if (!t) {
                rc = aa_error_set(err, EV_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
            text = t;
        }
        size_t got = fread(text + size, 1, cap - size, f);
        size += got;
        if (got == 0) {
            if (ferror(f))
                rc = aa_error_set(err, EV_ERR_IO, "%s: cannot read (%s)", path, strerror(errno ? errno : EIO));
            break;
        }
    }
    fclose(f);
    ev_reference *r = rc ? NULL : ev_reference_parse(text, size, path, k, classes, labels, err);
    free(text);
    return r;
}
