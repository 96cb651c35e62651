/* What aa-infer is asked to classify: files as given, folders walked for audio files, standard input. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "infer/infer.h"

int inf_is_audio_name(const char *name)
{
    static const char *const ext[] = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t e = strlen(ext[i]);
        if (n > e && !strcasecmp(name + n - e, ext[i]))
            return 1;
    }
    return 0;
}

typedef struct {
    inf_input *v;
    size_t n, cap;
    /* folders entered so far (device, inode): a symlink loop or a second link is walked once */
    struct { dev_t dev; ino_t ino; } *seen;
    size_t n_seen, cap_seen;
} walk;

static int push(walk *w, const char *path, const char *error)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 16;
        inf_input *v = realloc(w->v, cap * sizeof *v);
        if (!v)
            return -1;
        w->v = v;
        w->cap = cap;
    }
    inf_input *in = &w->v[w->n];
    in->path = strdup(path);
    in->error = error ? strdup(error) : NULL;
    if (!in->path || (error && !in->error)) {
        free(in->path);
        free(in->error);
        return -1;
    }
    w->n++;
    return 0;
}

static int mark_seen(walk *w, const struct stat *st)
{
    for (size_t i = 0; i < w->n_seen; i++)
        if (w->seen[i].dev == st->st_dev && w->seen[i].ino == st->st_ino)
            return 1;
    if (w->n_seen == w->cap_seen) {
        size_t cap = w->cap_seen ? 2 * w->cap_seen : 16;
        void *s = realloc(w->seen, cap * sizeof *w->seen);
        if (!s)
            return -1;
        w->seen = s;
        w->cap_seen = cap;
    }
    w->seen[w->n_seen].dev = st->st_dev;
    w->seen[w->n_seen].ino = st->st_ino;
    w->n_seen++;
    return 0;
}

static int walk_dir(walk *w, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        char msg[AA_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s: cannot read the folder (%s)", dir, strerror(errno));
        return push(w, dir, msg);
    }
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* ".", "..", and hidden files and folders */
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        char *p = malloc(n);
        if (!p) {
            rc = -1;
            break;
        }
        snprintf(p, n, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name);
        struct stat st;
        if (stat(p, &st) != 0) {
            /* a broken link or an entry that vanished: name it only if it looked like audio */
            if (inf_is_audio_name(e->d_name)) {
                char msg[AA_ERROR_MSG_MAX];
                snprintf(msg, sizeof msg, "%s: cannot be read (%s)", p, strerror(errno));
                rc = push(w, p, msg);
            }
        } else if (S_ISDIR(st.st_mode)) {
            int seen = mark_seen(w, &st);
            rc = seen < 0 ? -1 : seen ? 0 : walk_dir(w, p);
        } else if (S_ISREG(st.st_mode) && inf_is_audio_name(e->d_name)) {
            rc = push(w, p, NULL);
        }
        free(p);
    }
    closedir(d);
    return rc;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const inf_input *)a)->path, ((const inf_input *)b)->path);
}

inf_input *inf_inputs_expand(char *const *args, int n, size_t *n_out, aa_error *err)
{
    walk w = {0};
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        struct stat st;
        if (strcmp(args[i], "-") && stat(args[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            size_t first = w.n;
            w.n_seen = 0;
            rc = mark_seen(&w, &st) < 0 ? -1 : walk_dir(&w, args[i]);
            if (!rc && w.n > first) {
                qsort(w.v + first, w.n - first, sizeof *w.v, by_path);
            } else if (!rc) {
                /* a folder named among clips that holds none would otherwise vanish without a word */
                char msg[AA_ERROR_MSG_MAX];
                snprintf(msg, sizeof msg, "%s: no audio files (.wav .flac .ogg .oga .opus .mp3) in this folder",
                         args[i]);
                rc = push(&w, args[i], msg);
            }
        } else {
            rc = push(&w, args[i], NULL);
        }
    }
    free(w.seen);
    if (rc) {
        inf_inputs_free(w.v, w.n);
        aa_error_set(err, AA_ERR_NOMEM, "out of memory listing the inputs");
        return NULL;
    }
    *n_out = w.n;
    if (!w.v) /* no inputs at all (an empty folder): a valid, empty list */
        w.v = calloc(1, sizeof *w.v);
    return w.v;
}

void inf_inputs_free(inf_input *in, size_t n)
{
    for (size_t i = 0; in && i < n; i++) {
        free(in[i].path);
        free(in[i].error);
    }
    free(in);
}

size_t inf_stdin_limit(double max_seconds, size_t cap)
{
    if (max_seconds <= 0)
        return cap;
    /* The widest audio a file can hold, 8 channels of 64-bit samples at the highest rate the front end
     * takes, plus room for headers and tags: no recording within max_seconds is larger. */
    double bytes = max_seconds * DSP_MAX_RATE * DSP_MAX_CHANNELS * 8.0 + (double)(1 << 20);
    return bytes < (double)cap ? (size_t)bytes : cap;
}

unsigned char *inf_read_all(FILE *f, const char *name, size_t limit, size_t *size, aa_error *err)
{
    size_t cap = limit < (1 << 16) ? limit + 1 : 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        /* one byte past the limit says there is more; never more than that is held */
        if (n > limit) {
            free(buf);
            aa_error_set(err, DSP_ERR_TOO_LONG, "%s: more than %zu MB", name, limit >> 20);
            return NULL;
        }
        size_t want = cap > limit / 2 ? limit + 1 : cap * 2;
        unsigned char *nb = realloc(buf, want);
        if (!nb)
            free(buf);
        buf = nb;
        cap = want;
    }
    if (!buf) {
        aa_error_set(err, AA_ERR_NOMEM, "%s: out of memory", name);
        return NULL;
    }
    if (ferror(f)) {
        free(buf);
        aa_error_set(err, AA_ERR_IO, "%s: read error (%s)", name, strerror(errno));
        return NULL;
    }
    *size = n;
    return buf;
}
