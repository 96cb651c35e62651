/* The confusion matrices: true class against predicted class, with and without the Unclear gate. */
#include <string.h>

#include "eval/eval_internal.h"

void ev_confusion_fill(size_t n, int k, const int *labels, const float *probs, const ev_gate *gate,
                       size_t *gated, size_t *plain)
{
    size_t K = (size_t)k;
    memset(gated, 0, K * (K + 1) * sizeof *gated);
    memset(plain, 0, K * K * sizeof *plain);
    for (size_t i = 0; i < n; i++) {
        const float *row = probs + i * K;
        int c = ev_argmax(row, k);
        size_t t = (size_t)labels[i];
        plain[t * K + (size_t)c]++;
        int withheld = ev_gate_withholds_row(gate, row, k);
        gated[t * (K + 1) + (withheld ? K : (size_t)c)]++;
    }
}
