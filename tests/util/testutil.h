#ifndef AA_TESTUTIL_H
#define AA_TESTUTIL_H

/* Helpers shared by the tests: where things are, temporary folders, running the binaries, making audio. */

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* Directory of the build (binaries), from $AA_BUILD; default "build". */
const char *tu_build_dir(void);
/* Directory of the fixtures, from $AA_FIXTURES; default "tests/fixtures". */
const char *tu_fixtures_dir(void);
/* Non-zero when running under the sanitizers (make asan): tests may shrink their workloads. */
int tu_sanitized(void);

/* Joins into a static-free caller buffer: snprintf(out, n, "%s/%s", a, b); returns out. */
char *tu_path(char *out, size_t n, const char *dir, const char *name);

/* Makes a fresh temporary directory (mkdtemp) into out; fails the test on error. */
void tu_mkdtemp(char *out, size_t n);
/* Removes a directory tree (best effort). */
void tu_rmtree(const char *dir);

/* Reads a whole file; returns a malloc'd buffer (NUL-terminated) and its size, or NULL. Caller frees. */
void *tu_read_file(const char *path, size_t *size);
/* Writes bytes to a file; fails the test on error. */
void tu_write_file(const char *path, const void *data, size_t size);
int tu_exists(const char *path);
/* Entries of dir other than . and .., only those whose name contains `part` when it is not NULL; fails the
 * test when dir cannot be opened. */
int tu_count_entries(const char *dir, const char *part);

/* Runs a shell command line, capturing stdout and stderr (each up to cap-1 bytes, NUL-terminated; either
 * may be NULL). Returns the exit status (0..255), 128+signal if killed, or -1 if it could not run. */
int tu_run(const char *cmdline, char *out, size_t out_cap, char *err, size_t err_cap);
/* tu_run of "<build dir>/<bin> <arguments formatted from fmt and ap>" (the arguments up to 4 KB). */
int tu_vrun_bin(const char *bin, char *out, size_t out_cap, char *err, size_t err_cap, const char *fmt, va_list ap);

/* Makes dir/<levels folders of 200-byte names>/deep.wav (a 4-byte file) with *at() calls, so its path can
 * exceed PATH_MAX (21 levels do), which a plain mkdir of the whole path refuses; tu_remove_deep removes that
 * chain from the bottom (tu_rmtree's full paths would be too long). levels <= 64. */
void tu_make_deep(const char *dir, int levels);
void tu_remove_deep(const char *dir, int levels);

/* Starts `aa-infer -m MODEL --serve --port 0 --workers 2` with its stdout on a pipe (*out; stderr to
 * /dev/null when quiet_stderr) and reads the port from the line it prints first. Returns its pid; the
 * caller signals and reaps it and closes *out. Fails the test when it does not start. */
pid_t tu_spawn_server(const char *model, int quiet_stderr, int *port, FILE **out);

/* Writes a WAV (float or PCM per subtype, a libsndfile SF_FORMAT_* subtype) from interleaved samples. */
void tu_write_wav(const char *path, const float *samples, size_t frames, int channels, int rate, int subtype);

/* Counts lines of text. */
int tu_count_lines(const char *s);

#endif
