/* aa-demo-model: trains a small classifier of the four demo classes with nn/ directly (tests/util/demomodel.c)
 * and saves it as a model file, so the web page can be tried and tested with a model that hears.
 *
 *   aa-demo-model OUT.aam [--epochs N] [--threads N]
 *   aa-demo-model --tone OUT.aam      the tone model of the tests (tests/util/demomodel.h): tones of known
 *                                     frequencies stand for the classes, so a timeline's events are known
 *
 * About 15 s on two cores. The model is a toy: small, trained on synthetic sounds for a few epochs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/util/demomodel.h"
#include "util/util.h"

int main(int argc, char **argv)
{
    tu_demo_train o;
    tu_demo_train_default(&o);
    const char *out = NULL;
    int tone = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tone")) {
            tone = 1;
        } else if (!strcmp(argv[i], "--epochs") && i + 1 < argc) {
            o.epochs = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            o.threads = atoi(argv[++i]);
        } else if (argv[i][0] != '-' && !out) {
            out = argv[i];
        } else {
            fprintf(stderr, "Usage: aa-demo-model OUT.aam [--epochs N] [--threads N] | --tone OUT.aam\n");
            return 2;
        }
    }
    if (!out || o.epochs < 1 || o.threads < 1) {
        fprintf(stderr, "Usage: aa-demo-model OUT.aam [--epochs N] [--threads N] | --tone OUT.aam\n");
        return 2;
    }
    char msg[512];
    if (tone) {
        if (tu_make_tone_model(out, msg, sizeof msg)) {
            fprintf(stderr, "aa-demo-model: %s\n", msg);
            return 1;
        }
        printf("aa-demo-model: wrote %s (the tone model)\n", out);
        return 0;
    }
    double acc = 0, t0 = aa_now();
    if (tu_train_demo_model(out, &o, &acc, msg, sizeof msg)) {
        fprintf(stderr, "aa-demo-model: %s\n", msg);
        return 1;
    }
    printf("aa-demo-model: wrote %s (%d epochs, training accuracy %.3f, %.1f s)\n", out, o.epochs, acc,
           aa_now() - t0);
    return 0;
}
