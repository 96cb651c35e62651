/* A file held in memory (a web upload) as a libsndfile virtual file: sf_open_virtual reads it in place,
 * without a temporary file. And a regular file the same way through its descriptor (see dsp_internal.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

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

/* ---- a regular file through its descriptor ---------------------------------------------------------- */

static sf_count_t fd_len(void *user)
{
    return ((dsp_fdfile *)user)->size;
}

static sf_count_t fd_seek(sf_count_t offset, int whence, void *user)
{
    dsp_fdfile *f = user;
    sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? f->pos : f->size;
    sf_count_t to = base + offset;
    if (to < 0)
        return -1;
    f->pos = to;
    return to;
}

static sf_count_t fd_read(void *ptr, sf_count_t count, void *user)
{
    dsp_fdfile *f = user;
    sf_count_t done = 0;
    while (done < count) {
        ssize_t n = pread(f->fd, (char *)ptr + done, (size_t)(count - done), (off_t)(f->pos + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* end of file, or an error libsndfile sees as a short read */
        done += n;
    }
    f->pos += done;
    return done;
}

static sf_count_t fd_tell(void *user)
{
    return ((dsp_fdfile *)user)->pos;
}

const SF_VIRTUAL_IO dsp_fdfile_io = {fd_len, fd_seek, fd_read, mem_write, fd_tell};
