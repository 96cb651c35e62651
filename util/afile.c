#include <dirent.h>
#include <errno.h>
#include <signal.h>
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

/* A writer killed (SIGKILL, power loss) between open and rename leaves PATH.tmp.PID behind; nothing else
 * would ever remove it. After a successful rename of PATH, temporaries of the same target whose process no
 * longer exists go. A live process with that PID (even an unrelated one that reused it) keeps its file:
 * the error is a stale file left, never a live writer's file taken. Best effort: failures are ignored, the
 * commit has already succeeded. */
static void remove_stale_temps(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dir_len = slash ? (size_t)(slash - path) : 0;
    size_t base_len = strlen(base);
    char *dir = malloc(dir_len + 2);
    if (!dir)
        return;
    if (!slash)
        strcpy(dir, ".");
    else if (dir_len == 0)
        strcpy(dir, "/");
    else
        memcpy(dir, path, dir_len), dir[dir_len] = '\0';
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        const char *n = e->d_name;
        if (strncmp(n, base, base_len) || strncmp(n + base_len, ".tmp.", 5))
            continue;
        const char *digits = n + base_len + 5;
        char *end;
        errno = 0;
        long pid = strtol(digits, &end, 10);
        if (*digits < '1' || *digits > '9' || *end || errno || pid <= 0 || pid == (long)getpid() ||
            (pid_t)pid != pid)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        size_t full_len = strlen(dir) + strlen(n) + 2;
        char *full = malloc(full_len);
        if (full) {
            snprintf(full, full_len, "%s/%s", dir, n);
            unlink(full);
            free(full);
        }
    }
    if (d)
        closedir(d);
    free(dir);
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
    remove_stale_temps(a->path);
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
