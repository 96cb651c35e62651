#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

struct aa_afile {
    FILE *f;
    char *path;
    char *tmp;
};

aa_afile *aa_afile_open(const char *path, aa_error *err)
{
    aa_afile *a = calloc(1, sizeof *a);
    size_t n = strlen(path) + 32;
    if (!a || !(a->path = strdup(path)) || !(a->tmp = malloc(n))) {
        if (a) {
            free(a->path);
            free(a);
        }
        aa_error_set(err, AA_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    /* Same directory as the target, so rename() is atomic (no cross-device move). */
    snprintf(a->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    a->f = fopen(a->tmp, "wb");
    if (!a->f) {
        aa_error_set(err, AA_ERR_IO, "%s: cannot create (%s)", path, strerror(errno));
        free(a->tmp);
        free(a->path);
        free(a);
        return NULL;
    }
    return a;
}

FILE *aa_afile_stream(aa_afile *a)
{
    return a->f;
}

static void afile_free(aa_afile *a)
{
    free(a->tmp);
    free(a->path);
    free(a);
}

int aa_afile_commit(aa_afile *a, aa_error *err)
{
    int bad = ferror(a->f) != 0;
    int e = bad ? EIO : 0;
    if (!bad && fflush(a->f) != 0)
        bad = 1, e = errno;
    if (!bad && fsync(fileno(a->f)) != 0 && errno != EINVAL)
        bad = 1, e = errno;
    if (fclose(a->f) != 0 && !bad)
        bad = 1, e = errno;
    if (!bad && rename(a->tmp, a->path) != 0)
        bad = 1, e = errno;
    if (bad) {
        aa_error_set(err, AA_ERR_IO, "%s: write failed (%s)", a->path, strerror(e));
        remove(a->tmp);
        afile_free(a);
        return AA_ERR_IO;
    }
    afile_free(a);
    return 0;
}

void aa_afile_abort(aa_afile *a)
{
    if (!a)
        return;
    fclose(a->f);
    remove(a->tmp);
    afile_free(a);
}

int aa_write_file_atomic(const char *path, const void *data, size_t size, aa_error *err)
{
    aa_afile *a = aa_afile_open(path, err);
    if (!a)
        return AA_ERR_IO;
    if (size && fwrite(data, 1, size, a->f) != size) {
        aa_error_set(err, AA_ERR_IO, "%s: write failed (%s)", path, strerror(errno));
        aa_afile_abort(a);
        return AA_ERR_IO;
    }
    return aa_afile_commit(a, err);
}
