/* classify MODEL CLIP: the label (or Unclear/Unknown) and its confidence, with the public library.
 *
 *   cc classify.c -o classify $(pkg-config --cflags --libs audioaudit)
 *   ./classify model.aam clip.wav          ->  Cough 0.912345 */
#include <audioaudit.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: classify MODEL CLIP\n");
        return 2;
    }
    audioaudit_error err;
    audioaudit_model *m = audioaudit_model_load(argv[1], 1, &err);
    if (!m) {
        fprintf(stderr, "classify: %s\n", err.message);
        return 1;
    }
    audioaudit_result *r = audioaudit_classify_file(m, argv[2], &err);
    if (!r) {
        fprintf(stderr, "classify: %s\n", err.message);
        audioaudit_model_free(m);
        return 1;
    }
    printf("%s %.6f\n", audioaudit_result_label(r), audioaudit_result_confidence(r));
    audioaudit_result_free(r);
    audioaudit_model_free(m);
    return 0;
}
