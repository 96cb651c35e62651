/* aa-train: labelled folders of recordings -> a trained, calibrated, evaluated model file. */
#include <stdio.h>
#include <string.h>

#include "train/demo_cmd.h"
#include "train/version.h"

static void usage(FILE *to)
{
    fprintf(to,
            "Usage: aa-train DATA -o MODEL [options]\n"
            "Train a respiratory-sound classifier on DATA/<class>/ folders of recordings.\n"
            "\n"
            "  -h, --help     show this help and exit\n"
            "      --version  print the version and exit\n"
            "\n");
    aa_cmd_make_demo_usage(to);
    fprintf(to,
            "\n"
            "Exit status: 0 success, 1 runtime error, 2 usage error.\n"
            "Audio Audit is not a medical device; its output is not a diagnosis or health advice.\n");
}

int main(int argc, char **argv)
{
    if (aa_cmd_is_make_demo(argc, argv))
        return aa_cmd_make_demo(argc, argv);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--version")) {
            printf("aa-train %s\n", AA_VERSION);
            return 0;
        }
        fprintf(stderr, "aa-train: unknown option '%s' (see --help)\n", argv[i]);
        return 2;
    }
    usage(stderr);
    return 2;
}
