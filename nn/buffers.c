/* Every buffer of a model. Each stage's entry declares its own (its buffers method, through nn_mem_*); the
 * model adds each stage's act and its own blocks. The same declarations run twice: once counting, for a batch
 * of one and one thread's scratch (nn_model_plan refuses a model over NN_MAX_SAMPLE_BYTES before allocating
 * anything: a model file's few bytes of shape and architecture decide every size), once allocating. Every
 * allocation is recorded, so freeing needs no list of fields either. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "nn/nn_model.h"

_Static_assert(sizeof(nn_scratch) == NN_SC_COUNT * sizeof(float *), "nn_scratch: one named field per slot");

/* Buffers this large are mapped straight from the kernel. */
#define MAP_MIN ((size_t)64 << 10)

/* Under AddressSanitizer every buffer comes from calloc, so that the sanitizer sees their bounds. */
#if defined(__SANITIZE_ADDRESS__)
#define USE_MAP 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define USE_MAP 0
#endif
#endif
#ifndef USE_MAP
#define USE_MAP 1
#endif

/* 64-byte aligned, zeroed; NULL on failure. Freed with free_zero().
 * Zero pages rather than posix_memalign + memset: a fresh anonymous mapping reads as zeros without being
 * written, so a buffer the run never touches (the training buffers, when a model is loaded only to
 * classify) costs no page faults; memset wrote every page of them, about a third of a one-clip run.
 * calloc alone would not do: glibc clears a recycled heap chunk by hand, and its mmap threshold rises after
 * the first large free. The 16 bytes below the returned block say how to give it back: the mapping's
 * length (0 for calloc) and the start of the allocation. */
static void *alloc_zero(size_t bytes)
{
    if (bytes == 0)
        bytes = 64;
    if (bytes > SIZE_MAX / 2)
        return NULL;
    unsigned char *base;
    size_t map_len = 0;
    if (USE_MAP && bytes >= MAP_MIN) {
        map_len = (bytes + 64 + 4095) & ~(size_t)4095;
        base = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (base == MAP_FAILED)
            return NULL;
    } else if (!(base = calloc(1, bytes + 128))) {
        return NULL;
    }
    /* at least 65 bytes above base: room for the header at any calloc alignment */
    unsigned char *p = map_len ? base + 64 : (unsigned char *)(((uintptr_t)base + 128) & ~(uintptr_t)63);
    memcpy(p - 16, &map_len, sizeof map_len);
    memcpy(p - 8, &base, sizeof base);
    return p;
}

static void free_zero(void *p)
{
    if (!p)
        return;
    size_t map_len;
    unsigned char *base;
    memcpy(&map_len, (unsigned char *)p - 16, sizeof map_len);
    memcpy(&base, (unsigned char *)p - 8, sizeof base);
    if (map_len)
        munmap(base, map_len);
    else
        free(base);
}

struct nn_mem {
    nn_model *m;
    int counting;                /* count bytes, allocate nothing */
    size_t batch;                /* samples of a per-sample buffer */
    size_t bytes;                /* counted so far */
    int failed;                  /* an allocation failed */
    size_t scratch[NN_SC_COUNT]; /* floats per slot, the largest asked */
};

static void *take(nn_mem *mm, size_t bytes)
{
    if (mm->counting) {
        mm->bytes += bytes;
        return NULL;
    }
    nn_model *m = mm->m;
    if (mm->failed)
        return NULL;
    if (m->n_blocks == m->cap_blocks) {
        int cap = m->cap_blocks ? 2 * m->cap_blocks : 64;
        void **b = realloc(m->blocks, sizeof *b * (size_t)cap);
        if (!b) {
            mm->failed = 1;
            return NULL;
        }
        m->blocks = b, m->cap_blocks = cap;
    }
    void *p = alloc_zero(bytes);
    if (!p) {
        mm->failed = 1;
        return NULL;
    }
    m->blocks[m->n_blocks++] = p;
    return p;
}

void *nn_mem_batch(nn_mem *mm, size_t per_sample)
{
    return take(mm, per_sample * mm->batch);
}

void *nn_mem_once(nn_mem *mm, size_t bytes)
{
    return take(mm, bytes);
}

void nn_mem_scratch(nn_mem *mm, nn_scratch_slot slot, size_t floats)
{
    if (floats > mm->scratch[slot])
        mm->scratch[slot] = floats;
}

/* Each stage's act and its entry's buffers, then the model's own. */
static void declare(nn_model *m, nn_mem *mm)
{
    const size_t in_size = (size_t)m->in_c * m->in_h * m->in_w;
    size_t max_io = in_size;
    nn_mem_scratch(mm, NN_SC_PING, in_size);
    nn_mem_scratch(mm, NN_SC_PONG, in_size);
    for (int i = 0; i < m->n_stages; i++) {
        nn_stage *st = &m->stages[i];
        st->act = nn_mem_batch(mm, sizeof(float) * st->out_size);
        nn_mem_scratch(mm, NN_SC_PING, st->out_size);
        nn_mem_scratch(mm, NN_SC_PONG, st->out_size);
        if (st->out_size > max_io)
            max_io = st->out_size;
        if (st->op->buffers)
            st->op->buffers(m, st, mm);
    }
    m->params = nn_mem_once(mm, sizeof(float) * m->n_params);
    m->grads = nn_mem_once(mm, sizeof(float) * m->n_params);
    m->stats = nn_mem_once(mm, sizeof(float) * m->n_stats);
    m->gsamp = nn_mem_batch(mm, sizeof(float) * m->n_params);
    m->input = nn_mem_batch(mm, sizeof(float) * in_size);
    m->dbuf[0] = nn_mem_batch(mm, sizeof(float) * max_io);
    m->dbuf[1] = nn_mem_batch(mm, sizeof(float) * max_io);
    m->dlogits = nn_mem_batch(mm, sizeof(float) * (size_t)m->n_classes);
    m->probs = nn_mem_batch(mm, sizeof(float) * (size_t)m->n_classes);
    for (int i = 0; i < m->n_stages; i++)
        m->stages[i].in = i ? m->stages[i - 1].act : m->input;
}

size_t nn_buffers_one_sample(nn_model *m)
{
    nn_mem mm = {.m = m, .counting = 1, .batch = 1};
    declare(m, &mm);
    size_t bytes = mm.bytes;
    for (int k = 0; k < NN_SC_COUNT; k++)
        bytes += sizeof(float) * mm.scratch[k];
    return bytes;
}

int nn_buffers_alloc(nn_model *m)
{
    nn_mem mm = {.m = m, .batch = (size_t)m->max_batch};
    declare(m, &mm);
    if (mm.failed)
        return NN_ERR_NOMEM;
    memcpy(m->scratch_floats, mm.scratch, sizeof mm.scratch);
    return nn_buffers_scratch(m, 1);
}

int nn_buffers_scratch(nn_model *m, int n)
{
    if (n <= m->n_scratch)
        return 0;
    nn_scratch *sc = realloc(m->scratch, sizeof *sc * (size_t)n);
    if (!sc)
        return NN_ERR_NOMEM;
    m->scratch = sc;
    nn_mem mm = {.m = m, .batch = 1};
    for (int t = m->n_scratch; t < n; t++) {
        for (int k = 0; k < NN_SC_COUNT; k++)
            sc[t].slot[k] = take(&mm, sizeof(float) * m->scratch_floats[k]);
        if (mm.failed)
            return NN_ERR_NOMEM; /* what was taken is freed with the model */
        m->n_scratch = t + 1;
    }
    return 0;
}

void nn_buffers_free(nn_model *m)
{
    for (int i = 0; i < m->n_blocks; i++)
        free_zero(m->blocks[i]);
    free(m->blocks);
    free(m->scratch);
}
