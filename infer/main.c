/* aa-infer: a model file + recordings -> gated predictions, evaluations, timelines, a web page. */
#include <stdio.h>
#include <string.h>

#include "infer/mel_cmd.h"
#include "train/version.h"

static void usage(FILE *to)
{
    fprintf(to,
            "Usage: aa-infer -m MODEL [options] CLIP...\n"
            "Classify respiratory-sound clips with a model trained by aa-infer.\n"
            "\n"
            "      --mel CLIP -o OUT.f32  write the log-mel the model sees for CLIP (see --mel --help)\n"
            "  -h, --help     show this help and exit\n"
            "      --version  print the version and exit\n"
            "\n"
            "Exit status: 0 success, 1 runtime error, 2 usage error.\n"
            "Audio Audit is not a medical device; its output is not a diagnosis or health advice.\n");
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--mel"))
            return aa_cmd_mel(argc, argv);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--version")) {
            printf("aa-infer %s\n", AA_VERSION);
            return 0;
        }
        fprintf(stderr, "aa-infer: unknown option '%s' (see --help)\n", argv[i]);
        return 2;
    }
    usage(stderr);
    return 2;
}
