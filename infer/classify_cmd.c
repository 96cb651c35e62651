/* aa-infer -m MODEL CLIP...: each recording -> label or Unclear/Unknown, probabilities, quality. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "infer/infer.h"

/* Standard input is read whole; a recording over this (or over what --max-seconds allows) is refused
 * rather than swapped. */
#define STDIN_MAX ((size_t)1 << 30)

static int classify_one(am_model *m, int slot, const inf_input *in, double max_seconds, am_file_result *r,
                        aa_error *err)
{
    if (in->error)
        return aa_error_set(err, AA_ERR_IO, "%s", in->error);
    if (strcmp(in->path, "-"))
        return am_classify_file(m, slot, in->path, max_seconds, r, NULL, err);
    size_t size = 0;
    unsigned char *data = inf_read_all(stdin, "stdin", inf_stdin_limit(max_seconds, STDIN_MAX), &size, err);
    if (!data) {
        if (err->code == DSP_ERR_TOO_LONG && max_seconds > 0)
            aa_error_set(err, DSP_ERR_TOO_LONG, "stdin: more bytes than %g s of audio can be (--max-seconds)",
                         max_seconds);
        return err->code;
    }
    int rc = am_classify_memory(m, slot, data, size, "stdin", max_seconds, r, NULL, err);
    free(data);
    return rc;
}

static int print_one(const am_model *m, const inf_options *o, const char *file, const am_file_result *r)
{
    switch (o->format) {
    case INF_JSON: {
        char *json = inf_result_json(m, file, r, NULL);
        if (!json)
            return -1;
        printf("%s\n", json);
        free(json);
        break;
    }
    case INF_CSV: inf_result_csv(stdout, m, file, r); break;
    default: inf_result_text(stdout, m, file, r);
    }
    return 0;
}

int inf_cmd_classify(const inf_options *o)
{
    aa_error err = {0};
    size_t n = 0;
    inf_input *in = inf_inputs_expand(o->inputs, o->n_inputs, &n, &err);
    if (!in) {
        inf_print_error(err.msg);
        return 1;
    }
    if (n == 0) {
        fprintf(stderr, "aa-infer: no audio files (.wav .flac .ogg .oga .opus .mp3) found in the folders given\n");
        inf_inputs_free(in, n);
        return 1;
    }
    int threads = inf_threads_for(o, n);
    am_model *m = inf_open_model(o, threads, &err);
    if (!m) {
        inf_print_error(err.msg);
        inf_inputs_free(in, n);
        return inf_exit_status(&err);
    }
    if (o->format == INF_CSV)
        inf_csv_header(stdout, m);
    int failed = 0;
    /* Files in parallel, one model slot per thread; results are printed in input order as they complete
     * (ordered), so the output does not depend on the thread count and arrives while the rest work. */
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) ordered reduction(| : failed)
    for (size_t i = 0; i < n; i++) {
        am_file_result r;
        aa_error e = {0};
        int rc = classify_one(m, omp_get_thread_num(), &in[i], o->max_seconds, &r, &e);
#pragma omp ordered
        {
            if (rc) {
                fflush(stdout);
                inf_print_error(e.msg);
                failed = 1;
            } else if (print_one(m, o, in[i].path, &r)) {
                inf_errorf("%s: out of memory formatting the result", in[i].path);
                failed = 1;
            }
        }
    }
    if (o->format == INF_TEXT)
        inf_text_disclaimer(stdout, m);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "aa-infer: stdout: write error\n");
        failed = 1;
    }
    am_free(m);
    inf_inputs_free(in, n);
    return failed ? 1 : 0;
}
