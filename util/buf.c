/* The growable buffer that the JSON writers, the server's answers and the cache writer append to, and the
 * path join built on it. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

int aa_buf_reserve(aa_buf *b, size_t more)
{
    if (b->oom)
        return AA_ERR_NOMEM;
    if (more < b->cap && b->len < b->cap - more) /* room for the bytes and the NUL */
        return 0;
    if (more > SIZE_MAX / 2 - b->len) {
        b->oom = 1;
        return AA_ERR_NOMEM;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = 1;
        return AA_ERR_NOMEM;
    }
    b->s = s;
    b->cap = cap;
    return 0;
}

void *aa_buf_room(aa_buf *b, size_t n)
{
    if (aa_buf_reserve(b, n))
        return NULL;
    char *at = b->s + b->len;
    b->len += n;
    b->s[b->len] = 0;
    return at;
}

int aa_buf_add(aa_buf *b, const void *data, size_t n)
{
    void *at = aa_buf_room(b, n);
    if (!at)
        return AA_ERR_NOMEM;
    if (n)
        memcpy(at, data, n);
    return 0;
}

int aa_buf_printf(aa_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1; /* an encoding error: the text would be incomplete, as after a failed allocation */
        return AA_ERR_NOMEM;
    }
    if (aa_buf_reserve(b, (size_t)n))
        return AA_ERR_NOMEM;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *aa_buf_take(aa_buf *b)
{
    if (b->oom || aa_buf_reserve(b, 0)) {
        aa_buf_free(b);
        return NULL;
    }
    char *s = b->s;
    s[b->len] = 0;
    memset(b, 0, sizeof *b);
    return s;
}

void aa_buf_free(aa_buf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

char *aa_path_join(const char *dir, const char *name)
{
    aa_buf b = {0};
    aa_buf_printf(&b, "%s/%s", dir, name);
    return aa_buf_take(&b);
}
