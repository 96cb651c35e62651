#include "tests/util/testutil.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *tu_build_dir(void)
{
    const char *b = getenv("AA_BUILD");
    return b && *b ? b : "build";
}

const char *tu_fixtures_dir(void)
{
    const char *f = getenv("AA_FIXTURES");
    return f && *f ? f : "tests/fixtures";
}

int tu_sanitized(void)
{
    const char *s = getenv("AA_SANITIZED");
    return s && *s && *s != '0';
}

char *tu_path(char *out, size_t n, const char *dir, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
    return out;
}

void tu_mkdtemp(char *out, size_t n)
{
    const char *base = getenv("TMPDIR");
    snprintf(out, n, "%s/aa-test-XXXXXX", base && *base ? base : "/tmp");
    ck_assert_msg(mkdtemp(out) != NULL, "mkdtemp %s: %s", out, strerror(errno));
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    chmod(path, 0700); /* tests make unreadable files; removal must still work */
    remove(path);
    return 0;
}

void tu_rmtree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void *tu_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    for (size_t got; buf && (got = fread(buf + len, 1, cap - len, f)) > 0;) {
        len += got;
        if (len == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[len] = 0;
        if (size)
            *size = len;
    }
    return buf;
}

void tu_write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "open %s: %s", path, strerror(errno));
    ck_assert_msg(fwrite(data, 1, size, f) == size, "write %s", path);
    ck_assert_int_eq(fclose(f), 0);
}

int tu_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int tu_count_entries(const char *dir, const char *part)
{
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "open %s: %s", dir, strerror(errno));
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && (!part || strstr(e->d_name, part));
    closedir(d);
    return n;
}

static void slurp_into(const char *path, char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return;
    buf[0] = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
    fclose(f);
}

int tu_vrun_bin(const char *bin, char *out, size_t out_cap, char *err, size_t err_cap, const char *fmt, va_list ap)
{
    char args[4096], cmd[4600];
    vsnprintf(args, sizeof args, fmt, ap);
    snprintf(cmd, sizeof cmd, "%s/%s %s", tu_build_dir(), bin, args);
    return tu_run(cmd, out, out_cap, err, err_cap);
}

int tu_run(const char *cmdline, char *out, size_t out_cap, char *err, size_t err_cap)
{
    char dir[256], o[300], e[300];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(o, sizeof o, dir, "out");
    tu_path(e, sizeof e, dir, "err");
    size_t n = strlen(cmdline) + 2 * sizeof o + 32;
    char *full = malloc(n);
    ck_assert_ptr_nonnull(full);
    snprintf(full, n, "( %s ) >'%s' 2>'%s'", cmdline, o, e);
    int st = system(full);
    free(full);
    slurp_into(o, out, out_cap);
    slurp_into(e, err, err_cap);
    tu_rmtree(dir);
    if (st == -1)
        return -1;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

void tu_write_wav(const char *path, const float *samples, size_t frames, int channels, int rate, int subtype)
{
    SF_INFO info = {.samplerate = rate, .channels = channels, .format = SF_FORMAT_WAV | subtype};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    ck_assert_msg(f != NULL, "sf_open %s: %s", path, sf_strerror(NULL));
    sf_command(f, SFC_SET_CLIPPING, NULL, SF_TRUE);
    ck_assert(sf_writef_float(f, samples, (sf_count_t)frames) == (sf_count_t)frames);
    ck_assert_int_eq(sf_close(f), 0);
}

int tu_count_lines(const char *s)
{
    int n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

pid_t tu_spawn_server(const char *model, int quiet_stderr, int *port, FILE **out)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    char bin[512];
    snprintf(bin, sizeof bin, "%s/aa-infer", tu_build_dir());
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        if (quiet_stderr) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 2);
        }
        execl(bin, bin, "-m", model, "--serve", "--port", "0", "--workers", "2", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    *out = fdopen(fds[0], "r");
    char line[1024];
    ck_assert_msg(fgets(line, sizeof line, *out) != NULL, "the server printed nothing");
    const char *p = strstr(line, "http://127.0.0.1:");
    ck_assert_msg(p != NULL, "%s", line);
    *port = atoi(p + strlen("http://127.0.0.1:"));
    ck_assert_int_gt(*port, 0);
    return pid;
}

static void deep_name(char name[201])
{
    memset(name, 'n', 200);
    name[200] = '\0';
}

void tu_make_deep(const char *dir, int levels)
{
    char name[201];
    deep_name(name);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    ck_assert_msg(fd >= 0, "open %s: %s", dir, strerror(errno));
    for (int i = 0; i < levels; i++) {
        ck_assert_int_eq(mkdirat(fd, name, 0755), 0);
        int next = openat(fd, name, O_RDONLY | O_DIRECTORY);
        ck_assert_int_ge(next, 0);
        close(fd);
        fd = next;
    }
    int f = openat(fd, "deep.wav", O_WRONLY | O_CREAT, 0644);
    ck_assert_int_ge(f, 0);
    ck_assert_int_eq(write(f, "RIFF", 4), 4);
    close(f);
    close(fd);
}

void tu_remove_deep(const char *dir, int levels)
{
    ck_assert(levels >= 0 && levels <= 64);
    char name[201];
    deep_name(name);
    int fds[65];
    fds[0] = open(dir, O_RDONLY | O_DIRECTORY);
    for (int i = 1; i <= levels; i++)
        fds[i] = openat(fds[i - 1], name, O_RDONLY | O_DIRECTORY);
    unlinkat(fds[levels], "deep.wav", 0);
    for (int i = levels; i >= 1; i--) {
        close(fds[i]);
        unlinkat(fds[i - 1], name, AT_REMOVEDIR);
    }
    close(fds[0]);
}
