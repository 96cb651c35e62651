/* Outputs: how a path is written depends on what it names (see util.h). */
#define _GNU_SOURCE /* fopencookie: a stream whose every write is checked and whose first error is kept */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/util.h"

typedef enum { K_ATOMIC, K_THROUGH, K_STDOUT } out_kind;

struct aa_afile {
    FILE *f;      /* the cookie stream the caller writes to */
    int fd;
    int first_errno; /* the first failed write's errno: the reason a message gives, not a later EIO */
    out_kind kind;
    char *path;   /* as the caller named it, for messages */
    char *target; /* the file written: path with its symbolic links followed */
    char *tmp;    /* K_ATOMIC: target.tmp.PID */
};

/* ---- what a path names -------------------------------------------------------------------------------- */

/* path with every symbolic link of its last component followed, as open() would follow them, even to a
 * target that does not exist yet (a dangling link is replaced at its target, which is then created):
 * renaming over the link itself would turn it into a plain file. malloc'd; NULL with errno set. */
static char *follow_links(const char *path)
{
    char *cur = strdup(path);
    for (int hops = 0; cur; hops++) {
        struct stat st;
        if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode))
            return cur; /* a missing path is created where it is named */
        if (hops >= 40) {
            free(cur);
            errno = ELOOP;
            return NULL;
        }
        char link[PATH_MAX];
        ssize_t n = readlink(cur, link, sizeof link - 1);
        if (n < 0) {
            free(cur);
            return NULL;
        }
        link[n] = 0;
        char *next;
        const char *slash = strrchr(cur, '/');
        if (link[0] == '/' || !slash) {
            next = strdup(link);
        } else {
            size_t dir = (size_t)(slash - cur) + 1;
            next = malloc(dir + (size_t)n + 1);
            if (next) {
                memcpy(next, cur, dir);
                memcpy(next + dir, link, (size_t)n + 1);
            }
        }
        free(cur);
        cur = next;
    }
    errno = ENOMEM;
    return NULL;
}

static const char *kind_name(mode_t m)
{
    return S_ISDIR(m) ? "a directory" : S_ISBLK(m) ? "a block device" : S_ISCHR(m) ? "a character device"
           : S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket" : "a regular file";
}

/* How target is written: 0 and *kind, or an error naming path. A folder and a block device (a disk) are
 * never written over. */
static int classify(const char *path, const char *target, out_kind *kind, mode_t *mode, aa_error *err)
{
    struct stat st;
    *mode = 0;
    if (stat(target, &st) != 0) {
        if (errno != ENOENT)
            return aa_error_set(err, AA_ERR_IO, "%s: cannot write (%s)", path, strerror(errno));
        *kind = K_ATOMIC;
        return 0;
    }
    *mode = st.st_mode;
    if (S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode))
        return aa_error_set(err, AA_ERR_IO, "%s: cannot write (%s)", path, kind_name(st.st_mode));
    *kind = S_ISREG(st.st_mode) ? K_ATOMIC : K_THROUGH;
    return 0;
}

int aa_output_is_file(const char *path)
{
    if (!strcmp(path, "-"))
        return 0;
    char *target = follow_links(path);
    if (!target)
        return 1; /* opening will say why */
    struct stat st;
    int r = stat(target, &st) != 0 || S_ISREG(st.st_mode);
    free(target);
    return r;
}

/* ---- comparing places --------------------------------------------------------------------------------- */

/* The absolute form of path with ".", ".." and repeated slashes taken out lexically; malloc'd. */
static char *lexical_absolute(const char *path)
{
    char cwd[PATH_MAX];
    if (path[0] != '/' && !getcwd(cwd, sizeof cwd))
        return NULL;
    size_t n = strlen(path) + (path[0] == '/' ? 0 : strlen(cwd) + 1) + 2;
    char *in = malloc(n), *out = malloc(n);
    if (!in || !out) {
        free(in);
        free(out);
        return NULL;
    }
    if (path[0] == '/')
        snprintf(in, n, "%s", path);
    else
        snprintf(in, n, "%s/%s", cwd, path);
    size_t len = 0;
    for (char *save = NULL, *part = strtok_r(in, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        if (!strcmp(part, "."))
            continue;
        if (!strcmp(part, "..")) {
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--; /* the slash before the removed component */
            continue;
        }
        out[len++] = '/';
        size_t pl = strlen(part);
        memcpy(out + len, part, pl);
        len += pl;
    }
    if (len == 0)
        out[len++] = '/';
    out[len] = 0;
    free(in);
    return out;
}

/* Where path would be created: its links followed, the longest part of it that exists resolved with
 * realpath(), the rest as written (normalised). malloc'd; NULL when out of memory. */
static char *normal_place(const char *path)
{
    char *target = follow_links(path);
    char *abs = target ? lexical_absolute(target) : NULL;
    free(target);
    if (!abs)
        return NULL;
    for (size_t cut = strlen(abs); cut > 0;) {
        char keep = abs[cut];
        abs[cut] = 0;
        char *real = realpath(abs, NULL);
        abs[cut] = keep;
        if (real) {
            size_t rl = strlen(real), tl = strlen(abs + cut);
            char *joined = malloc(rl + tl + 1);
            if (joined) {
                memcpy(joined, real, rl);
                memcpy(joined + rl, abs + cut, tl + 1);
            }
            free(real);
            free(abs);
            return joined;
        }
        while (cut > 0 && abs[cut - 1] != '/')
            cut--;
        if (cut > 0)
            cut--; /* before that slash */
    }
    return abs;
}

int aa_path_same(const char *a, const char *b)
{
    if (!strcmp(a, "-") || !strcmp(b, "-"))
        return !strcmp(a, b);
    struct stat sa, sb;
    int ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
    if (ea && eb)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    if (ea != eb)
        return 0;
    char *na = normal_place(a), *nb = normal_place(b);
    int same = na && nb ? !strcmp(na, nb) : !strcmp(a, b);
    free(na);
    free(nb);
    return same;
}

/* ---- the checked stream ------------------------------------------------------------------------------- */

static ssize_t cookie_write(void *c, const char *buf, size_t n)
{
    aa_afile *a = c;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(a->fd, buf + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (!a->first_errno)
                a->first_errno = w < 0 ? errno : EIO;
            /* stdio treats a short count as an error and sets the stream's error flag */
            return done ? (ssize_t)done : -1;
        }
        done += (size_t)w;
    }
    return (ssize_t)done;
}

static int cookie_close(void *c)
{
    (void)c; /* the descriptor is closed by commit or abort, which check and report it */
    return 0;
}

/* A UNIX socket cannot be open()ed; a stream socket listening at the path is connected to. */
static int connect_socket(const char *target)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(target) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(sa.sun_path, target);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static void afile_free(aa_afile *a)
{
    free(a->tmp);
    free(a->target);
    free(a->path);
    free(a);
}

static aa_afile *open_kind(const char *path, int allow_stdout, aa_error *err)
{
    aa_afile *a = calloc(1, sizeof *a);
    if (!a || !(a->path = strdup(path))) {
        free(a);
        aa_error_set(err, AA_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    a->fd = -1;
    mode_t mode = 0;
    if (allow_stdout && !strcmp(path, "-")) {
        a->kind = K_STDOUT;
        a->fd = STDOUT_FILENO;
        fflush(stdout); /* what the program printed there before comes first */
    } else {
        if (!(a->target = follow_links(path))) {
            aa_error_set(err, AA_ERR_IO, "%s: cannot write (%s)", path, strerror(errno));
            afile_free(a);
            return NULL;
        }
        if (classify(path, a->target, &a->kind, &mode, err)) {
            afile_free(a);
            return NULL;
        }
    }
    if (a->kind == K_ATOMIC) {
        /* Same directory as the target, so rename() is atomic (no cross-device move). */
        size_t n = strlen(a->target) + 32;
        if (!(a->tmp = malloc(n))) {
            aa_error_set(err, AA_ERR_NOMEM, "%s: out of memory", path);
            afile_free(a);
            return NULL;
        }
        snprintf(a->tmp, n, "%s.tmp.%ld", a->target, (long)getpid());
        a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (a->fd < 0) {
            aa_error_set(err, AA_ERR_IO, "%s: cannot create (%s)", path, strerror(errno));
            afile_free(a);
            return NULL;
        }
    } else if (a->kind == K_THROUGH) {
        /* A FIFO waits here for its reader, as a shell redirection does. */
        a->fd = S_ISSOCK(mode) ? connect_socket(a->target) : open(a->target, O_WRONLY | O_CLOEXEC);
        if (a->fd < 0) {
            aa_error_set(err, AA_ERR_IO, "%s: cannot write (%s)", path, strerror(errno));
            afile_free(a);
            return NULL;
        }
    }
    cookie_io_functions_t io = {.write = cookie_write, .close = cookie_close};
    if (!(a->f = fopencookie(a, "w", io))) {
        aa_error_set(err, AA_ERR_NOMEM, "%s: out of memory", path);
        aa_afile_abort(a);
        return NULL;
    }
    return a;
}

aa_afile *aa_afile_open(const char *path, aa_error *err)
{
    return open_kind(path, 0, err);
}

aa_afile *aa_afile_open_std(const char *path, aa_error *err)
{
    return open_kind(path, 1, err);
}

FILE *aa_afile_stream(aa_afile *a)
{
    return a->f;
}

/* ---- before any work ---------------------------------------------------------------------------------- */

int aa_output_check(const char *path, int allow_stdout, aa_error *err)
{
    if (allow_stdout && !strcmp(path, "-"))
        return 0;
    char *target = follow_links(path);
    if (!target)
        return aa_error_set(err, AA_ERR_IO, "%s: cannot write (%s)", path, strerror(errno));
    out_kind kind;
    mode_t mode;
    int rc = classify(path, target, &kind, &mode, err);
    if (!rc && kind == K_THROUGH && access(target, W_OK) != 0)
        rc = aa_error_set(err, AA_ERR_IO, "%s: cannot write (%s)", path, strerror(errno));
    if (!rc && kind == K_ATOMIC) {
        /* Creating a file beside the target is what the write will do; access(W_OK) would not see a
         * read-only file system for root, nor a folder on /proc. */
        size_t n = strlen(target) + 40;
        char *probe = malloc(n);
        if (!probe) {
            rc = aa_error_set(err, AA_ERR_NOMEM, "%s: out of memory", path);
        } else {
            snprintf(probe, n, "%s.tmp.%ld", target, (long)getpid());
            int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
            if (fd < 0 && errno != EEXIST)
                rc = aa_error_set(err, AA_ERR_IO, "%s: cannot create (%s)", path, strerror(errno));
            if (fd >= 0) {
                close(fd);
                unlink(probe);
            }
            free(probe);
        }
    }
    free(target);
    return rc;
}

/* ---- committing --------------------------------------------------------------------------------------- */

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
    int e = 0;
    if (fflush(a->f) != 0 || ferror(a->f))
        e = a->first_errno ? a->first_errno : EIO;
    fclose(a->f);
    /* fsync makes the rename publish the whole file; a device or a pipe has nothing to sync. */
    if (!e && a->kind == K_ATOMIC && fsync(a->fd) != 0 && errno != EINVAL)
        e = errno;
    if (a->kind != K_STDOUT && close(a->fd) != 0 && !e)
        e = errno;
    if (!e && a->kind == K_ATOMIC && rename(a->tmp, a->target) != 0)
        e = errno;
    if (e) {
        aa_error_set(err, AA_ERR_IO, "%s: write failed (%s)", a->path, strerror(e));
        if (a->kind == K_ATOMIC)
            remove(a->tmp);
        afile_free(a);
        return AA_ERR_IO;
    }
    if (a->kind == K_ATOMIC)
        remove_stale_temps(a->target);
    afile_free(a);
    return 0;
}

void aa_afile_abort(aa_afile *a)
{
    if (!a)
        return;
    if (a->f)
        fclose(a->f);
    if (a->kind != K_STDOUT && a->fd >= 0)
        close(a->fd);
    if (a->kind == K_ATOMIC && a->tmp)
        remove(a->tmp);
    afile_free(a);
}

static int write_whole(aa_afile *a, const char *path, const void *data, size_t size, aa_error *err)
{
    if (!a)
        return AA_ERR_IO;
    if (size && fwrite(data, 1, size, a->f) != size) {
        aa_error_set(err, AA_ERR_IO, "%s: write failed (%s)", path, strerror(a->first_errno ? a->first_errno : EIO));
        aa_afile_abort(a);
        return AA_ERR_IO;
    }
    return aa_afile_commit(a, err);
}

int aa_write_file_atomic(const char *path, const void *data, size_t size, aa_error *err)
{
    return write_whole(aa_afile_open(path, err), path, data, size, err);
}

int aa_write_output(const char *path, const void *data, size_t size, aa_error *err)
{
    return write_whole(aa_afile_open_std(path, err), path, data, size, err);
}
