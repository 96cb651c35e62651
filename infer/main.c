/* aa-infer: a model file + recordings -> gated predictions, evaluations, timelines, a web page. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/infer.h"
#include "infer/mel_cmd.h"
#include "nn/nn.h"
#include "util/dist.h"

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--mel"))
            return aa_cmd_mel(argc, argv);
    inf_options o;
    aa_error err = {0};
    if (inf_parse(argc - 1, argv + 1, &o, &err)) {
        inf_print_error(err.msg);
        free(o.inputs);
        return 2;
    }
    int rc = 0;
    if (o.help) {
        inf_usage(stdout);
    } else if (o.version) {
        printf("aa-infer %s\n", AA_VERSION);
    } else {
        /* before any thread exists: it may set OpenBLAS's environment (see nn.h) */
        nn_blas_setup();
        /* under mpirun --eval shares out its recordings among the ranks (eval_cmd.c); MPI starts after the
         * line above because it starts threads of its own */
        if (dist_init(&argc, &argv, &err)) {
            inf_print_error(err.msg);
            free(o.inputs);
            return 1;
        }
        if (dist_size() > 1 && o.mode != INF_EVAL) {
            if (dist_rank() == 0)
                inf_print_error("under mpirun only --eval runs on several ranks; run the other modes as one process");
            dist_finalize();
            free(o.inputs);
            return 2;
        }
        switch (o.mode) {
        case INF_EVAL: rc = inf_cmd_eval(&o); break;
        case INF_TIMELINE: rc = inf_cmd_timeline(&o); break;
        case INF_STREAM: rc = inf_cmd_stream(&o); break;
        case INF_SELFTEST: rc = inf_cmd_selftest(&o); break;
        case INF_SERVE: rc = inf_cmd_serve(&o); break;
        default: rc = inf_cmd_classify(&o);
        }
        dist_finalize();
    }
    free(o.inputs);
    return rc;
}
