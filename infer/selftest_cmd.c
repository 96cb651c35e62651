/* aa-infer --selftest: does this build, on this machine, compute what training computed? */
#include "infer/infer.h"

int inf_cmd_selftest(const inf_options *o)
{
    aa_error err = {0};
    am_model *m = inf_open_model(o, 1, &err);
    if (!m) {
        inf_print_error(err.msg);
        return inf_exit_status(&err);
    }
    am_selftest_report rep;
    int rc = am_selftest(m, &rep, &err);
    am_free(m);
    if (rc) {
        inf_errorf("%s: self-test could not run: %s", o->model, err.msg);
        return 1;
    }
    const char *verdict = rep.pass ? "PASS" : "FAIL";
    if (o->format == INF_JSON) {
        printf("{\"model\": ");
        aa_buf b = {0};
        aa_json_str(&b, o->model);
        printf("%s, \"mel_max_abs_diff_db\": %.9g, \"mel_tolerance_db\": %g, \"logit_max_abs_diff\": %.9g, "
               "\"logit_tolerance\": %g, \"pass\": %s}\n",
               b.s ? b.s : "null", rep.mel_max_abs_diff, rep.mel_tolerance, rep.logit_max_abs_diff,
               rep.logit_tolerance, rep.pass ? "true" : "false");
        aa_buf_free(&b);
    } else {
        char nb[1024];
        printf("self-test of %s (the model's stored test signal, recomputed by this build):\n",
               aa_printable_into(o->model, nb, sizeof nb));
        printf("  log-mel: largest difference %.3g dB (tolerance %g dB) %s\n", rep.mel_max_abs_diff,
               rep.mel_tolerance, rep.mel_max_abs_diff <= rep.mel_tolerance ? "ok" : "TOO LARGE");
        printf("  logits:  largest difference %.3g (tolerance %g) %s\n", rep.logit_max_abs_diff,
               rep.logit_tolerance, rep.logit_max_abs_diff <= rep.logit_tolerance ? "ok" : "TOO LARGE");
        printf("%s%s\n", verdict,
               rep.pass ? ": inference sees exactly what training saw"
                        : ": this build does not reproduce the model's front end or network; its predictions "
                          "cannot be trusted");
    }
    return rep.pass ? 0 : 1;
}
