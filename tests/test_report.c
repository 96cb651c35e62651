/* eval/: the text report (contents, alignment), the JSON report (parsed back with a strict checker), the
 * SVG plots (checked for well-formed XML and their labels) and atomic saving (no temporary files left). */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"
#include "tests/util/jsonparse.h"
#include "tests/util/testutil.h"

/* ---- a well-formedness checker for the XML the plots are written in ---------------------------------- */

/* Character data or attribute text: no '<', and '&' only as a known entity or a character reference. */
static int xml_chars_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '<')
            return 0;
        if (s[i] == '&') {
            static const char *ent[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#"};
            int ok = 0;
            for (size_t e = 0; e < sizeof ent / sizeof ent[0]; e++)
                ok |= !strncmp(s + i, ent[e], strlen(ent[e]));
            if (!ok || !memchr(s + i, ';', n - i))
                return 0;
        }
    }
    return 1;
}

static int name_char(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && ((c >= '0' && c <= '9') || c == '-' || c == '.'));
}

/* Balanced tags, quoted attributes, escaped text, one root element named root. Returns the number of
 * elements, or -1 with the reason in why[256]. */
#define XML_FAIL(...)                                                                                      \
    do {                                                                                                   \
        snprintf(why, 256, __VA_ARGS__);                                                                   \
        return -1;                                                                                         \
    } while (0)
static int xml_try(const char *s, const char *root, char *why)
{
    const char *stack[256];
    size_t len[256];
    int depth = 0, elements = 0, roots = 0;
    const char *p = s;
    if (!strncmp(p, "<?xml", 5)) {
        if (!(p = strstr(p, "?>")))
            XML_FAIL("unterminated XML declaration");
        p += 2;
    }
    while (*p) {
        const char *lt = strchr(p, '<');
        size_t tn = lt ? (size_t)(lt - p) : strlen(p);
        if (!xml_chars_ok(p, tn))
            XML_FAIL("bad character data: %.40s", p);
        if (depth == 0)
            for (size_t i = 0; i < tn; i++)
                if (!strchr(" \t\r\n", p[i]))
                    XML_FAIL("text outside the root element");
        if (!lt)
            break;
        p = lt + 1;
        int closing = *p == '/';
        p += closing;
        const char *name = p;
        if (!name_char(*p, 1))
            XML_FAIL("bad tag name at %.20s", name);
        while (name_char(*p, 0))
            p++;
        size_t nl = (size_t)(p - name);
        if (closing) {
            if (*p != '>')
                XML_FAIL("bad closing tag %.20s", name);
            if (!(depth > 0 && len[depth - 1] == nl && !strncmp(stack[depth - 1], name, nl)))
                XML_FAIL("closing tag </%.*s> does not match", (int)nl, name);
            depth--;
            p++;
            continue;
        }
        for (;;) { /* attributes */
            while (*p == ' ' || *p == '\n')
                p++;
            if (*p == '>' || (p[0] == '/' && p[1] == '>'))
                break;
            if (!name_char(*p, 1))
                XML_FAIL("bad attribute in <%.*s>", (int)nl, name);
            while (name_char(*p, 0))
                p++;
            if (!(p[0] == '=' && p[1] == '"'))
                XML_FAIL("unquoted attribute in <%.*s>", (int)nl, name);
            const char *v = p + 2, *q = strchr(v, '"');
            if (!q)
                XML_FAIL("unterminated attribute value");
            if (!xml_chars_ok(v, (size_t)(q - v)))
                XML_FAIL("bad attribute value %.30s", v);
            p = q + 1;
        }
        elements++;
        if (depth == 0) {
            roots++;
            if (!(nl == strlen(root) && !strncmp(name, root, nl)))
                XML_FAIL("root element is not <%s>", root);
        }
        if (*p == '/') {
            p += 2;
            continue;
        }
        if (depth == 256)
            XML_FAIL("nested too deep");
        stack[depth] = name;
        len[depth++] = nl;
        p++;
    }
    if (depth != 0)
        XML_FAIL("%d elements left open", depth);
    if (roots != 1)
        XML_FAIL("%d root elements", roots);
    return elements;
}

static int xml_check(const char *s, const char *root)
{
    char why[256];
    int n = xml_try(s, root, why);
    ck_assert_msg(n >= 0, "SVG is not well-formed XML: %s", why);
    return n;
}

START_TEST(checkers_reject_bad_documents)
{
    /* The two checkers below would pass anything if they were broken: show that they can fail. */
    static const char *bad_json[] = {"{\"a\":1,}", "[1 2]", "{\"a\":nan}", "{\"a\":1}{", "\"tab\there\"",
                                     "{\"a\":01}", "{\"a\":1,\"a\":2}", "[\"\\x\"]", "{a:1}", "[1.]"};
    for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++) {
        jv v;
        size_t at;
        ck_assert_msg(!j_try(bad_json[i], &v, &at), "accepted %s", bad_json[i]);
        j_free(&v);
    }
    jv v;
    size_t at;
    ck_assert(j_try(" {\"a\":[1,-2.5e3,true,null,\"\\u00e9\"]} ", &v, &at));
    ck_assert_str_eq(v.kids[0].kids[4].str, "\xc3\xa9");
    j_free(&v);

    static const char *bad_xml[] = {"<svg><g></svg>", "<svg a=b/>", "<svg>&x</svg>", "<svg/><svg/>",
                                    "<svg><g>", "text<svg/>", "<g/>", "<svg a=\"<\"/>"};
    char why[256];
    for (size_t i = 0; i < sizeof bad_xml / sizeof bad_xml[0]; i++)
        ck_assert_msg(xml_try(bad_xml[i], "svg", why) < 0, "accepted %s", bad_xml[i]);
    ck_assert_int_eq(xml_try("<?xml version=\"1.0\"?>\n<svg a=\"&amp;\"><g/><t>x &lt; y</t></svg>\n", "svg", why), 3);
}
END_TEST

/* ---- the evaluated case -------------------------------------------------------------------------------- */

/* The 3-class case of test_metrics.c (labels, argmax, confidence), hand-computed there. */
enum { N = 10, K = 3 };
static const int label[N] = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2};
static const int pred[N] = {0, 0, 1, 2, 1, 1, 0, 2, 1, 2};
static const double conf[N] = {0.90, 0.80, 0.60, 0.50, 0.70, 0.40, 0.60, 0.95, 0.50, 0.45};

static ev_eval *eval_case(const ev_gate *gate)
{
    float probs[N * K];
    for (int i = 0; i < N; i++)
        for (int c = 0; c < K; c++)
            probs[i * K + c] = (float)(c == pred[i] ? conf[i] : (1 - conf[i]) / 2);
    ev_eval *ev = ev_evaluate(N, K, label, probs, gate, NULL);
    ck_assert_ptr_nonnull(ev);
    return ev;
}

/* Names that test the encoders: a non-ASCII name (wider in bytes than in columns), and one with every
 * character JSON and XML must escape plus a byte that is not UTF-8. */
static const char *const names[K] = {"Toux sèche", "Heavy Breathing", "A & \"B\" <c>\\\n\x01\xff"};

/* Everything written to a FILE * as one string (caller frees). */
typedef int (*writer)(FILE *, const ev_eval *, const ev_report_info *, aa_error *);
static char *render(writer w, const ev_eval *ev, const ev_report_info *info)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    ck_assert_ptr_nonnull(f);
    aa_error err;
    ck_assert_int_eq(w(f, ev, info, &err), 0);
    fclose(f);
    return buf;
}

START_TEST(text_report_contents_and_alignment)
{
    ev_gate gate = {.min_confidence = 0.55};
    ev_eval *ev = eval_case(&gate);
    const char *const plain[K] = {"Toux sèche", "Heavy Breathing", "Normal Breathing"};
    ev_report_info info = {.title = "Test split", .class_names = plain, .unit = "clips", .temperature = 1.25};
    char *t = render(ev_report_text, ev, &info);
    /* The figures hand-computed in test_metrics.c, with their counts. */
    ck_assert_ptr_nonnull(strstr(t, "Test split\n"));
    ck_assert_ptr_nonnull(strstr(t, "macro-F1 0.603 over 10 clips"));
    ck_assert_ptr_nonnull(strstr(t, "accuracy 0.600 (6/10 clips)"));
    ck_assert_ptr_nonnull(strstr(t, "coverage 0.600 (6/10 clips, 4 withheld)"));
    ck_assert_ptr_nonnull(strstr(t, "selective accuracy 0.667 (4/6)"));
    ck_assert_ptr_nonnull(strstr(t, "temperature 1.2500"));
    ck_assert_ptr_nonnull(strstr(t, EV_UNCLEAR_LABEL));
    ck_assert_ptr_nonnull(strstr(t, "Unclear"));

    /* The matrix block: header, one row per class, the totals row; every line the same width in columns
     * (the UTF-8 name takes one column per character, not per byte), counts in place. */
    const char *m = strstr(t, "true \\ predicted");
    ck_assert_ptr_nonnull(m);
    size_t width = 0;
    for (int line = 0; line < K + 2; line++) {
        const char *nl = strchr(m, '\n');
        ck_assert_ptr_nonnull(nl);
        char buf[256];
        size_t len = (size_t)(nl - m);
        ck_assert_uint_lt(len, sizeof buf);
        memcpy(buf, m, len);
        buf[len] = 0;
        size_t cols = 0;
        for (const char *q = buf; *q; q++)
            cols += ((unsigned char)*q & 0xC0) != 0x80;
        if (line == 0)
            width = cols;
        ck_assert_msg(cols == width, "matrix line %d is %zu columns, not %zu: '%s'", line, cols, width, buf);
        if (line == 1) { /* true class 0: 2 1 0 | 1 withheld | 4 */
            ck_assert_ptr_nonnull(strstr(buf, "[1] Toux sèche"));
            char *q = buf + strlen("[1] Toux sèche");
            size_t v[5];
            ck_assert_int_eq(sscanf(q, "%zu %zu %zu %zu %zu", &v[0], &v[1], &v[2], &v[3], &v[4]), 5);
            ck_assert(v[0] == 2 && v[1] == 1 && v[2] == 0 && v[3] == 1 && v[4] == 4);
        }
        m = nl + 1;
    }
    ck_assert_ptr_nonnull(strstr(t, "[3] Normal Breathing"));
    /* The coverage table has its 21 rows: 0.00 through 0.99. */
    ck_assert_ptr_nonnull(strstr(t, "     0.99 "));
    ck_assert_ptr_nonnull(strstr(t, "     0.50     0.800            8/10               0.500             4/8"));
    free(t);

    /* Without names or a unit: defaults, still the same figures. */
    t = render(ev_report_text, ev, NULL);
    ck_assert_ptr_nonnull(strstr(t, "[2] class 1"));
    ck_assert_ptr_nonnull(strstr(t, "macro-F1 0.603 over 10 items"));
    free(t);
    ev_eval_free(ev);
}
END_TEST

START_TEST(json_report_parses_and_carries_everything)
{
    ev_gate gate = {.min_confidence = 0.55};
    ev_eval *ev = eval_case(&gate);
    ev_temp_fit fit = {.t = 1.5, .nll_before = 0.9, .nll_after = 0.7, .ece_before = 0.2, .ece_after = 0.05,
                       .n = 123};
    /* A gate choice from data of our own, to carry its threshold through JSON. */
    float p2[40 * 2];
    int l2[40];
    for (int i = 0; i < 40; i++) {
        p2[2 * i] = (float)(0.99 - 0.01 * i);
        p2[2 * i + 1] = 1 - p2[2 * i];
        l2[i] = (i == 5 || i >= 25) ? 1 : 0;
    }
    ev_gate_choice *g = ev_choose_gate(40, 2, l2, p2, NULL, NULL);
    ck_assert_ptr_nonnull(g);
    ev_report_info info = {.title = "val \"x\"", .class_names = names, .unit = "clips", .temperature = 1.5,
                           .fit = &fit, .gate_choice = g};
    char *s = render(ev_report_json, ev, &info);
    ck_assert(s[strlen(s) - 1] == '\n');
    jv root = j_parse(s);

    ck_assert_str_eq(j_get(&root, "format")->str, "audio-audit-eval");
    ck_assert_double_eq(j_num(&root, "version"), 1);
    ck_assert_str_eq(j_get(&root, "title")->str, "val \"x\"");
    ck_assert_str_eq(j_get(&root, "unit")->str, "clips");
    ck_assert_double_eq(j_num(&root, "n"), N);
    /* Class names survive escaping exactly; the byte that is not UTF-8 became U+FFFD. */
    const jv *classes = j_get(&root, "classes");
    ck_assert_uint_eq(classes->n, K);
    ck_assert_str_eq(classes->kids[0].str, "Toux sèche");
    ck_assert_str_eq(classes->kids[2].str, "A & \"B\" <c>\\\n\x01\xef\xbf\xbd");

    /* Numbers round-trip: each figure reads back as exactly the double ev holds (aa_json_num), and the
     * hand-computed values agree within rounding of the arithmetic. */
    ck_assert(j_num(&root, "accuracy") == ev->accuracy);
    ck_assert(j_num(&root, "macro_f1") == ev->macro_f1);
    ck_assert(j_num(&root, "ece") == ev->ece && j_num(&root, "nll") == ev->nll);
    ck_assert_double_eq_tol(j_num(&root, "accuracy"), 0.6, 1e-11);
    ck_assert_double_eq(j_num(&root, "correct"), 6);
    ck_assert_double_eq_tol(j_num(&root, "macro_f1"), 38.0 / 63, 1e-11);
    ck_assert_double_eq(j_num(&root, "covered"), 6);
    ck_assert_double_eq(j_num(&root, "withheld"), 4);
    ck_assert_double_eq_tol(j_num(&root, "selective_accuracy"), 4.0 / 6, 1e-11);
    ck_assert_double_eq_tol(j_num(&root, "ece"), ev->ece, 1e-11);
    ck_assert_double_eq_tol(j_num(&root, "nll"), ev->nll, 1e-11);
    ck_assert_double_eq(j_num(&root, "ece_bins"), EV_ECE_BINS);
    ck_assert_double_eq_tol(j_num(j_get(&root, "gate"), "min_confidence"), 0.55, 1e-12);
    ck_assert_int_eq(j_get(j_get(&root, "gate"), "class_thresholds")->type, J_NULL);
    ck_assert_double_eq(j_num(&root, "temperature"), 1.5);
    ck_assert_double_eq(j_num(j_get(&root, "calibration"), "n"), 123);
    ck_assert_int_eq(j_get(j_get(&root, "calibration"), "at_bound")->type, J_BOOL);

    /* The gate's threshold, read back and rounded to float, is the same float. */
    const jv *gc = j_get(&root, "gate_choice");
    ck_assert_str_eq(j_get(gc, "status")->str, "met");
    ck_assert((float)j_num(gc, "threshold") == (float)g->global.threshold);
    ck_assert_double_eq(j_num(gc, "covered"), 25);
    ck_assert_int_eq(j_get(gc, "per_class")->type, J_NULL);

    /* Per class, with the gated figures and counts. */
    const jv *pc = j_get(&root, "per_class");
    ck_assert_uint_eq(pc->n, K);
    ck_assert_str_eq(j_get(&pc->kids[1], "class")->str, "Heavy Breathing");
    ck_assert_double_eq(j_num(&pc->kids[0], "support"), 4);
    ck_assert_double_eq_tol(j_num(&pc->kids[0], "f1"), 4.0 / 7, 1e-11);
    ck_assert(j_num(&pc->kids[0], "f1") == ev->per_class[0].f1);
    ck_assert_double_eq(j_num(j_get(&pc->kids[2], "gated"), "withheld"), 2);
    ck_assert_double_eq_tol(j_num(j_get(&pc->kids[1], "gated"), "recall"), 1.0 / 3, 1e-11);

    /* Confusion matrix: K rows of K + 1 counts equal to ev's, the Unclear column named. */
    const jv *cm = j_get(&root, "confusion");
    const jv *cols = j_get(cm, "columns"), *counts = j_get(cm, "counts");
    ck_assert_uint_eq(cols->n, K + 1);
    ck_assert_str_eq(cols->kids[K].str, EV_UNCLEAR_LABEL);
    ck_assert_uint_eq(counts->n, K);
    for (int r = 0; r < K; r++) {
        ck_assert_uint_eq(counts->kids[r].n, K + 1);
        for (int c = 0; c <= K; c++)
            ck_assert_double_eq(counts->kids[r].kids[c].num, (double)ev->confusion[r * (K + 1) + c]);
    }
    ck_assert_uint_eq(j_get(&root, "confusion_argmax")->n, K);

    /* Reliability bins add up to n; the table has its rows; the curve one point per distinct confidence. */
    const jv *rel = j_get(&root, "reliability");
    ck_assert_uint_eq(rel->n, EV_ECE_BINS);
    double total = 0;
    for (size_t m = 0; m < rel->n; m++)
        total += j_num(&rel->kids[m], "count");
    ck_assert_double_eq(total, N);
    ck_assert_uint_eq(j_get(&root, "coverage_table")->n, EV_TABLE_ROWS);
    ck_assert_uint_eq(j_get(&root, "coverage_curve")->n, ev->n_curve);
    j_free(&root);
    free(s);

    /* Optional parts: null when absent, the curve left out on request. */
    ev_report_info bare = {.omit_curve = 1};
    s = render(ev_report_json, ev, &bare);
    root = j_parse(s);
    ck_assert(!j_has(&root, "coverage_curve"));
    ck_assert_int_eq(j_get(&root, "title")->type, J_NULL);
    ck_assert_int_eq(j_get(&root, "temperature")->type, J_NULL);
    ck_assert_int_eq(j_get(&root, "calibration")->type, J_NULL);
    ck_assert_int_eq(j_get(&root, "gate_choice")->type, J_NULL);
    ck_assert_str_eq(j_get(&root, "classes")->kids[0].str, "class 0");
    j_free(&root);
    free(s);
    ev_gate_choice_free(g);
    ev_eval_free(ev);
}
END_TEST

START_TEST(json_per_class_gate_and_empty_set)
{
    ev_gate gate = {.min_confidence = 0, .class_threshold = (const double[]){0.85, 0, 0.9}};
    ev_eval *ev = eval_case(&gate);
    ev_report_info info = {.class_names = names};
    char *s = render(ev_report_json, ev, &info);
    jv root = j_parse(s);
    const jv *ct = j_get(j_get(&root, "gate"), "class_thresholds");
    ck_assert_int_eq(ct->type, J_ARR);
    ck_assert_uint_eq(ct->n, K);
    ck_assert_double_eq_tol(ct->kids[0].num, 0.85, 1e-12);
    ck_assert_double_eq_tol(ct->kids[2].num, 0.9, 1e-12);
    j_free(&root);
    free(s);
    ev_eval_free(ev);

    /* An empty evaluation still gives a valid document with zeros, never NaN. */
    ev = ev_evaluate(0, K, NULL, NULL, NULL, NULL);
    s = render(ev_report_json, ev, NULL);
    ck_assert_ptr_null(strstr(s, "nan"));
    root = j_parse(s);
    ck_assert_double_eq(j_num(&root, "macro_f1"), 0);
    ck_assert_uint_eq(j_get(&root, "coverage_curve")->n, 0);
    j_free(&root);
    free(s);
    ev_eval_free(ev);
}
END_TEST

/* No scripts, no external fonts, images or links: the file must render alone. */
static void assert_self_contained(const char *svg)
{
    ck_assert_ptr_null(strstr(svg, "<script"));
    ck_assert_ptr_null(strstr(svg, "href"));
    ck_assert_ptr_null(strstr(svg, "url("));
    ck_assert_ptr_null(strstr(svg, "@import"));
    ck_assert_ptr_null(strstr(svg, "@font-face"));
    ck_assert_ptr_null(strstr(svg, "nan"));
    /* The one URL allowed is the SVG namespace name, which is never fetched. */
    const char *http = strstr(svg, "http");
    ck_assert_ptr_nonnull(http);
    ck_assert(!strncmp(http, "http://www.w3.org/2000/svg\"", 27));
    ck_assert_ptr_null(strstr(http + 1, "http"));
}

START_TEST(svg_plots_are_well_formed)
{
    ev_gate gate = {.min_confidence = 0.55};
    ev_eval *ev = eval_case(&gate);
    ev_report_info info = {.title = "Test <split>", .class_names = names, .unit = "clips"};

    char *s = render(ev_svg_confusion, ev, &info);
    /* Every class is a row and a column: K row rects of K + 1 cells, plus the title, key and frame. */
    ck_assert_int_gt(xml_check(s, "svg"), K * (K + 1));
    assert_self_contained(s);
    ck_assert_ptr_nonnull(strstr(s, ">Toux sèche<"));
    ck_assert_ptr_nonnull(strstr(s, ">Heavy Breathing<"));
    ck_assert_ptr_nonnull(strstr(s, "A &amp; &quot;B&quot; &lt;c&gt;\\\n\xef\xbf\xbd")); /* \x01 dropped */
    ck_assert_ptr_nonnull(strstr(s, ">" EV_UNCLEAR_LABEL "<"));
    ck_assert_ptr_nonnull(strstr(s, "Test &lt;split&gt;"));
    /* Counts in the cells: row 2 (true class 2) is 0 0 1 | 2 withheld; totals 4, 3, 3. */
    ck_assert_ptr_nonnull(strstr(s, "font-size=\"14\">2</text>"));
    ck_assert_ptr_nonnull(strstr(s, ">67%</text>"));
    ck_assert_ptr_nonnull(strstr(s, ">4</text>"));
    free(s);

    s = render(ev_svg_reliability, ev, &info);
    xml_check(s, "svg");
    assert_self_contained(s);
    ck_assert_ptr_nonnull(strstr(s, "ECE"));
    free(s);

    s = render(ev_svg_coverage, ev, &info);
    xml_check(s, "svg");
    assert_self_contained(s);
    /* The gate's operating point with its counts. */
    ck_assert_ptr_nonnull(strstr(s, "coverage 0.600 (6/10), accuracy 0.667 (4/6)"));
    free(s);
    ev_eval_free(ev);
}
END_TEST

static int count_substr(const char *s, const char *sub)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, sub)); p++)
        n++;
    return n;
}

START_TEST(svg_learning_curves)
{
    ev_epoch e[6];
    for (int i = 0; i < 6; i++)
        e[i] = (ev_epoch){i + 1, 1.0 / (i + 1), 1.2 / (i + 1), 0.5 + 0.08 * i, 0.45 + 0.07 * i, 0.4 + 0.07 * i};
    e[2].val_loss = NAN; /* not recorded that epoch */
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    ck_assert_int_eq(ev_svg_learning_curves(f, e, 6, "run <1>", NULL), 0);
    fclose(f);
    xml_check(buf, "svg");
    assert_self_contained(buf);
    ck_assert_int_eq(count_substr(buf, "<polyline"), 5);
    /* Markers: 6 epochs x 5 series, less the missing validation loss. */
    ck_assert_int_eq(count_substr(buf, "<circle"), 6 * 5 - 1);
    ck_assert_ptr_nonnull(strstr(buf, "validation macro-F1"));
    ck_assert_ptr_nonnull(strstr(buf, "run &lt;1&gt;"));
    free(buf);

    /* No epochs: empty axes, still well-formed. */
    buf = NULL;
    f = open_memstream(&buf, &size);
    ck_assert_int_eq(ev_svg_learning_curves(f, NULL, 0, NULL, NULL), 0);
    fclose(f);
    xml_check(buf, "svg");
    ck_assert_ptr_nonnull(strstr(buf, "no epochs recorded"));
    free(buf);
}
END_TEST

static int dir_entries(const char *dir, int *tmp)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    *tmp = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        n++;
        *tmp += strstr(e->d_name, ".tmp") != NULL;
    }
    closedir(d);
    return n;
}

START_TEST(saves_are_atomic)
{
    char dir[256], path[512];
    tu_mkdtemp(dir, sizeof dir);
    ev_eval *ev = eval_case(NULL);
    ev_report_info info = {.class_names = names, .unit = "clips"};
    aa_error err;
    ck_assert_int_eq(ev_svg_save_all(dir, ev, &info, &err), 0);
    ck_assert_int_eq(ev_report_text_save(tu_path(path, sizeof path, dir, "report.txt"), ev, &info, &err), 0);
    ck_assert_int_eq(ev_report_json_save(tu_path(path, sizeof path, dir, "report.json"), ev, &info, &err), 0);
    ev_epoch e = {1, 1.0, 1.1, 0.5, 0.4, 0.3};
    ck_assert_int_eq(ev_svg_learning_curves_save(tu_path(path, sizeof path, dir, "learning.svg"), &e, 1, NULL, &err), 0);
    int tmp;
    ck_assert_int_eq(dir_entries(dir, &tmp), 6);
    ck_assert_int_eq(tmp, 0);
    /* What was saved is what the stream writer writes. */
    size_t n;
    char *saved = tu_read_file(tu_path(path, sizeof path, dir, "confusion.svg"), &n);
    char *direct = render(ev_svg_confusion, ev, &info);
    ck_assert_str_eq(saved, direct);
    free(saved);
    free(direct);
    saved = tu_read_file(tu_path(path, sizeof path, dir, "report.json"), &n);
    jv root = j_parse(saved);
    j_free(&root);
    free(saved);

    /* A directory that does not exist: an I/O error naming the file, nothing created. */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/missing", dir);
    ck_assert_int_eq(ev_svg_save_all(bad, ev, &info, &err), EV_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "missing/confusion.svg"));
    ck_assert_int_eq(dir_entries(dir, &tmp), 6);

    /* A full disk: the writer reports it (the stream is flushed before returning). */
    FILE *full = fopen("/dev/full", "w");
    if (full) {
        ck_assert_int_eq(ev_report_text(full, ev, &info, &err), EV_ERR_IO);
        ck_assert_int_eq(err.code, EV_ERR_IO);
        fclose(full);
    }
    ev_eval_free(ev);
    tu_rmtree(dir);
}
END_TEST

Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, checkers_reject_bad_documents);
    tcase_add_test(tc, text_report_contents_and_alignment);
    tcase_add_test(tc, json_report_parses_and_carries_everything);
    tcase_add_test(tc, json_per_class_gate_and_empty_set);
    tcase_add_test(tc, svg_plots_are_well_formed);
    tcase_add_test(tc, svg_learning_curves);
    tcase_add_test(tc, saves_are_atomic);
    suite_add_tcase(s, tc);
    return s;
}
