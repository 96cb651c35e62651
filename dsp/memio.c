/* A file held in memory (a web upload) as a libsndfile virtual file: sf_open_virtual reads it in place,
 * without a temporary file. */
#include <string.h>

#include "dsp/dsp_internal.h"

static sf_count_t mem_len(void *user)
{
    return ((dsp_memfile *)user)->size;
}

static sf_count_t mem_seek(sf_count_t offset, int whence, void *user)
{
    dsp_memfile *m = user;
    sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : m->size;
    sf_count_t to = base + offset;
    /* Past the end is allowed, as with a file: reads there return nothing. */
    if (to < 0)
        return -1;
    m->pos = to;
    return to;
}

static sf_count_t mem_read(void *ptr, sf_count_t count, void *user)
{
    dsp_memfile *m = user;
    if (count <= 0 || m->pos >= m->size)
        return 0;
    sf_count_t n = m->size - m->pos < count ? m->size - m->pos : count;
    memcpy(ptr, m->data + m->pos, (size_t)n);
    m->pos += n;
    return n;
}

static sf_count_t mem_write(const void *ptr, sf_count_t count, void *user)
{
    (void)ptr, (void)count, (void)user;
    return 0; /* read-only */
}

static sf_count_t mem_tell(void *user)
{
    return ((dsp_memfile *)user)->pos;
}

const SF_VIRTUAL_IO dsp_memfile_io = {mem_len, mem_seek, mem_read, mem_write, mem_tell};
