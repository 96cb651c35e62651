#ifndef AA_UTIL_H
#define AA_UTIL_H

/* Small pieces every module needs: the error carrier and the one list of error codes, a seeded RNG of our
 * own, CRC32, atomic file writes, little-endian I/O, UTF-8, a growable buffer, the JSON writer, the release
 * version. Nothing here holds global state. */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The release both binaries report (--version); file formats carry versions of their own. */
#define AA_VERSION "0.1.0"

/* ---- errors ------------------------------------------------------------------------------------------- */

/* Library functions report failure by returning non-zero and filling an aa_error: a code and a message
 * ready to print, naming the file and the reason ("clip.wav: empty file (0 samples)").
 * A NULL aa_error pointer is allowed everywhere and means "caller does not want the message". */
#define AA_ERROR_MSG_MAX 512
typedef struct {
    int code;                    /* 0: no error; otherwise one of the codes below */
    char msg[AA_ERROR_MSG_MAX];
} aa_error;

/* Sets code and a printf-style message; returns code so that `return aa_error_set(err, X, ...)` reads well. */
int aa_error_set(aa_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void aa_error_clear(aa_error *err);

/* One code space for the library and both programs, so that a code relayed from any module still says what
 * failed and no module translates another's codes. The conditions every module meets (I/O, memory, a bad
 * argument, a command-line mistake) have one code each, and each module's names for them are aliases of
 * those; the conditions of one module have codes in a range of their own:
 *      10..  99  shared          400..499  model/ (AM_)        700..799  infer/'s server (AA_SERVE_)
 *     100..199  dsp/ (DSP_)     500..599  eval/ (EV_)
 *     200..299  nn/ (NN_)       600..699  demo/ (shared codes only)
 *     300..399  datasets/ (DS_)
 * 1..9 are left unused so that no code equals a process exit status (0 ok, 1 runtime error, 2 usage
 * error): a code is never an exit status, and only AA_ERR_USAGE makes a binary exit 2.
 * Each list is X(NAME, VALUE, "what aa_strerror says"); the values are fixed (a feature cache stores the
 * dsp code that made a file unusable). tests/test_errors.c checks ranges, distinct values and texts. */
#define AA_ERRORS_SHARED(X)                                                                                  \
    X(AA_ERR_IO, 10, "input/output error")                                                                  \
    X(AA_ERR_NOMEM, 11, "out of memory")                                                                    \
    X(AA_ERR_ARG, 12, "invalid argument")                                                                   \
    X(AA_ERR_USAGE, 13, "command-line usage error")

#define AA_ERRORS_DSP(X)                                                                                     \
    X(DSP_ERR_MISSING, 100, "no such file")                                                                 \
    X(DSP_ERR_IO, 101, "cannot open or read the file") /* permissions, a directory, an I/O error */        \
    X(DSP_ERR_EMPTY, 102, "empty file")                                                                     \
    X(DSP_ERR_FORMAT, 103, "not a readable audio file") /* unknown, unsupported or malformed header */     \
    X(DSP_ERR_TOO_SHORT, 104, "too short (fewer than 2 samples)")                                           \
    X(DSP_ERR_NONFINITE, 105, "NaN, infinite or out-of-range samples") /* |x| > DSP_MAX_SAMPLE */          \
    X(DSP_ERR_RATE, 106, "sample rate out of range") /* outside DSP_MIN_RATE..DSP_MAX_RATE */              \
    X(DSP_ERR_CHANNELS, 107, "channel count out of range") /* outside 1..DSP_MAX_CHANNELS */               \
    X(DSP_ERR_DECODE, 108, "decode error") /* the decoder failed part-way through the file */              \
    X(DSP_ERR_TOO_LONG, 109, "recording too long") /* longer than the caller's limit */                    \
    X(DSP_ERR_SETTINGS, 111, "invalid front-end settings") /* or settings text that does not parse */      \
    X(DSP_ERR_RESAMPLE, 112, "resampling failed (libsoxr)")

#define AA_ERRORS_NN(X)                                                                                      \
    X(NN_ERR_ARCH, 200, "invalid architecture") /* malformed, or not buildable on this input */            \
    X(NN_ERR_FORMAT, 201, "not a file of the expected kind") /* or malformed contents */                   \
    X(NN_ERR_VERSION, 202, "file format version too new")                                                   \
    X(NN_ERR_TRUNCATED, 203, "file truncated") /* shorter than its header says */                          \
    X(NN_ERR_CHECKSUM, 204, "checksum mismatch")                                                            \
    X(NN_ERR_MISMATCH, 205, "file does not match the architecture") /* tensors missing or misshapen */     \
    X(NN_ERR_NUMERIC, 206, "non-finite loss or gradient") /* the step was not applied */                   \
    X(NN_ERR_STATE, 207, "call out of order") /* backward without a training forward and loss */

#define AA_ERRORS_DS(X)                                                                                      \
    X(DS_ERR_LAYOUT, 300, "unusable folder layout") /* empty class folder, < 2 classes, mixed layouts */   \
    X(DS_ERR_MANIFEST, 301, "unusable manifest") /* no header, no path or group column */                  \
    X(DS_ERR_SPLIT, 302, "split impossible") /* a side would have no example of some class */              \
    X(DS_ERR_CACHE_FORMAT, 303, "not a feature cache") /* wrong magic */                                   \
    X(DS_ERR_CACHE_VERSION, 304, "feature cache from a newer version")                                      \
    X(DS_ERR_CACHE_CORRUPT, 305, "corrupt feature cache") /* truncated, inconsistent, bad checksum */      \
    X(DS_ERR_CACHE_STALE, 306, "feature cache out of date") /* other DSP settings, windows or files */     \
    X(DS_ERR_DSP, 307, "audio front end failure") /* not the file's fault (see the message) */

#define AA_ERRORS_AM(X)                                                                                      \
    X(AM_ERR_FORMAT, 400, "not a usable model file") /* Audio Audit metadata missing or malformed */       \
    X(AM_ERR_AUDIO, 401, "recording not usable") /* the message says why */                                \
    X(AM_ERR_NUMERIC, 402, "non-finite values") /* where numbers were expected */

#define AA_ERRORS_SERVE(X)                                                                                   \
    X(AA_SERVE_ERR_CONFIG, 700, "server setting out of range")                                              \
    X(AA_SERVE_ERR_ADDRESS, 701, "cannot listen on that address") /* not an address, or bind/listen */     \
    X(AA_SERVE_ERR_START, 702, "web server would not start")                                                \
    X(AA_SERVE_ERR_AUDIO, 703, "upload is not usable audio") /* HTTP 422 */                                \
    X(AA_SERVE_ERR_REQUEST, 704, "malformed request") /* HTTP 400 */                                       \
    X(AA_SERVE_ERR_INTERNAL, 705, "server-side failure") /* HTTP 500 */                                    \
    X(AA_SERVE_ERR_BUSY, 706, "server out of upload memory for now") /* HTTP 503 */

#define AA_ERRORS_ALL(X)                                                                                     \
    AA_ERRORS_SHARED(X) AA_ERRORS_DSP(X) AA_ERRORS_NN(X) AA_ERRORS_DS(X) AA_ERRORS_AM(X) AA_ERRORS_SERVE(X)

#define AA_ERROR_ENUM_(name, value, text) name = value,
enum { AA_OK = 0, AA_ERRORS_ALL(AA_ERROR_ENUM_) };
#undef AA_ERROR_ENUM_

/* Each module's names for the shared conditions. */
enum {
    DSP_OK = AA_OK, DSP_ERR_NOMEM = AA_ERR_NOMEM, DSP_ERR_ARG = AA_ERR_ARG,
    NN_OK = AA_OK, NN_ERR_IO = AA_ERR_IO, NN_ERR_NOMEM = AA_ERR_NOMEM, NN_ERR_ARG = AA_ERR_ARG,
    DS_OK = AA_OK, DS_ERR_IO = AA_ERR_IO, DS_ERR_NOMEM = AA_ERR_NOMEM, DS_ERR_ARG = AA_ERR_ARG,
    AM_OK = AA_OK, AM_ERR_IO = AA_ERR_IO, AM_ERR_NOMEM = AA_ERR_NOMEM, AM_ERR_ARG = AA_ERR_ARG,
    EV_OK = AA_OK, EV_ERR_IO = AA_ERR_IO, EV_ERR_NOMEM = AA_ERR_NOMEM, EV_ERR_ARG = AA_ERR_ARG,
    AA_SERVE_OK = AA_OK, AA_SERVE_ERR_NOMEM = AA_ERR_NOMEM,
};

/* A short fixed description of any code above ("checksum mismatch"); "unknown error" for a value that is
 * none of them; never NULL. */
const char *aa_strerror(int code);

/* ---- random numbers ----------------------------------------------------------------------------------- */

/* xoshiro256** seeded through splitmix64: the same seed gives the same stream on every machine and
 * compiler, which the C library's rand() does not promise. The state is plain data, so a checkpoint can
 * store it and resume the exact stream. */
typedef struct {
    uint64_t s[4];
} aa_rng;

void aa_rng_seed(aa_rng *r, uint64_t seed);
/* Seeds an independent stream from (seed, stream, index), e.g. (run seed, epoch, sample index), so that
 * work split across threads draws the same numbers whatever the thread count. */
void aa_rng_seed3(aa_rng *r, uint64_t seed, uint64_t stream, uint64_t index);
uint64_t aa_rng_u64(aa_rng *r);
/* Uniform in [0, 1) with 24 random bits (exactly representable as float). */
float aa_rng_uniform(aa_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double aa_rng_uniform_d(aa_rng *r);
/* Uniform integer in [0, n), without modulo bias; n > 0. */
uint64_t aa_rng_below(aa_rng *r, uint64_t n);
/* Standard normal (Box-Muller on doubles, one value per call; deterministic). */
double aa_rng_normal(aa_rng *r);
/* Fisher-Yates shuffle of idx[0..n). */
void aa_rng_shuffle(aa_rng *r, size_t *idx, size_t n);

/* ---- checksums ---------------------------------------------------------------------------------------- */

/* CRC-32 (IEEE 802.3, as zlib's crc32): start with crc = 0, feed chunks in order. */
uint32_t aa_crc32(uint32_t crc, const void *data, size_t n);
/* FNV-1a, 64 bits: start with h = AA_FNV1A_INIT, feed chunks in order. A stable name for equal data (cache
 * file names, fingerprints), not a defence against a crafted collision. */
/* Writes text from column col, wrapped at word boundaries so that no line passes column `width` (a word
 * longer than the room stays whole); continuation lines start at column `indent`. Returns the column the
 * last line ends at. */
int aa_wrap(FILE *to, const char *text, int col, int indent, int width);
#define AA_FNV1A_INIT 0xcbf29ce484222325ULL
uint64_t aa_fnv1a(uint64_t h, const void *data, size_t n);

/* ---- outputs: atomic files, devices, pipes, standard output ---------------------------------------- */

/* Every file the programs write goes through aa_afile, which decides by what the path names:
 *  - a regular file, or nothing yet: written under a temporary name (TARGET.tmp.PID in the same directory)
 *    and renamed over it only on commit, after fsync: a reader sees the old file or the whole new one,
 *    never a half-written file, even if the process is killed. Abort (or a failed commit) removes the
 *    temporary file. A process killed between open and rename (SIGKILL) leaves its TARGET.tmp.PID; the next
 *    successful commit of the same target removes such files whose PID is no longer a running process.
 *  - a symbolic link: the same for the file it points to (followed through every link, created if the link
 *    dangles), so the link stays a link and its target gets the new contents.
 *  - a character device, a FIFO or a UNIX stream socket: written through (opened for writing; a FIFO waits
 *    for its reader; a socket is connected to), so /dev/null stays a device. Abort cannot take back what
 *    was already written.
 *  - a directory or a block device: refused at open.
 *  - "-" with aa_afile_open_std: standard output (flushed first, never closed).
 * Every write is checked and the first failure's reason kept: a full device (/dev/full) fails the commit
 * with "PATH: write failed (No space left on device)". */
typedef struct aa_afile aa_afile;

/* Returns NULL on failure (err says why). The caller writes through aa_afile_stream(). */
aa_afile *aa_afile_open(const char *path, aa_error *err);
/* The same, with "-" meaning standard output. */
aa_afile *aa_afile_open_std(const char *path, aa_error *err);
FILE *aa_afile_stream(aa_afile *f);
/* Flushes, fsyncs, closes and renames as the kind asks; frees f whatever happens. Non-zero on failure (a
 * temporary file removed). */
int aa_afile_commit(aa_afile *f, aa_error *err);
/* Closes (removing a temporary file); frees f. NULL is allowed. */
void aa_afile_abort(aa_afile *f);

/* Whether aa_afile_open(path) can be expected to succeed, found without writing anything into the path
 * (a FIFO is not opened, which would hand its reader an empty file): a device, FIFO or socket must be
 * writable; for a file, a temporary file is created and removed beside its target, so a read-only folder or
 * file system is found too. "-" passes when allow_stdout. 0, or an error naming path. */
int aa_output_check(const char *path, int allow_stdout, aa_error *err);
/* 1 when path (its links followed) is a regular file or names nothing: writing it keeps the contents where
 * they can be read back. 0 for a device, FIFO, socket, folder and "-". */
int aa_output_is_file(const char *path);

/* 1 when a and b name the same place: the same file (device and inode) when both exist, else the same
 * absolute path once links are followed, the existing part resolved and "." and ".." taken out; "-" is
 * only the same as "-". Used to refuse an output that is another output or an input. */
int aa_path_same(const char *a, const char *b);

/* A whole buffer: aa_afile_open + fwrite + commit. */
int aa_write_file_atomic(const char *path, const void *data, size_t size, aa_error *err);
/* The same with aa_afile_open_std ("-": standard output). */
int aa_write_output(const char *path, const void *data, size_t size, aa_error *err);

/* ---- little-endian serialisation ------------------------------------------------------------------------ */

/* Files are little-endian whatever the host; these read and write fixed-width values at p. */
void aa_put_u32(unsigned char *p, uint32_t v);
void aa_put_u64(unsigned char *p, uint64_t v);
void aa_put_f32(unsigned char *p, float v);
uint32_t aa_get_u32(const unsigned char *p);
uint64_t aa_get_u64(const unsigned char *p);
float aa_get_f32(const unsigned char *p);

/* ---- text: UTF-8, a growable buffer, JSON ------------------------------------------------------------ */

/* Length (1..4) of the well-formed UTF-8 sequence at s, or 0 if the bytes there are not one: overlong
 * forms, surrogates and values past U+10FFFF are refused (RFC 3629). A NUL is a sequence of length 1, and
 * a sequence cut off by the terminating NUL is not one, so nothing is read past the end. cp (may be NULL)
 * receives the code point when the length is not 0. */
size_t aa_utf8_seq(const char *s, uint32_t *cp);
/* 1 if s is well-formed UTF-8 throughout, else 0. */
int aa_utf8_valid(const char *s);

/* Text safe to show on a terminal or in a log, for names that come from file systems and files (a file
 * name, a class folder, a model's class labels): each byte that is a C0 control or DEL, or is not part of
 * well-formed UTF-8, becomes \xNN; a C1 control (U+0080..U+009F: U+009B acts as ESC [ on some terminals)
 * becomes \uNNNN; everything else is kept, other UTF-8 included. JSON output uses aa_json_* instead. */
/* malloc'd; NULL when out of memory. */
char *aa_printable(const char *s);
/* s itself when nothing needs escaping, else its escaped form in buf (cut, ending "...", when longer than
 * cap - 1). */
const char *aa_printable_into(const char *s, char *buf, size_t cap);
/* Writes the escaped form of s to f. */
void aa_fputs_printable(const char *s, FILE *f);

/* A string that grows as it is appended to. Start from {0}. After a failed allocation the buffer keeps what
 * it had, sets oom, and ignores further appends, so a writer can append freely and check once at the end. */
typedef struct {
    char *s;    /* owned; NUL-terminated once anything has been appended (NULL before) */
    size_t len; /* bytes in s, not counting the NUL */
    size_t cap; /* bytes allocated */
    int oom;    /* an append failed: the contents are incomplete */
} aa_buf;

/* Room for `more` bytes after len (plus the NUL): 0, or AA_ERR_NOMEM (and oom set). */
int aa_buf_reserve(aa_buf *b, size_t more);
/* Appends n bytes (they may contain NULs: the buffer also holds binary data). 0 or AA_ERR_NOMEM. */
int aa_buf_add(aa_buf *b, const void *data, size_t n);
/* Extends len by n bytes and returns where they start, for the caller to fill; NULL when out of memory.
 * The pointer is valid until the next append. */
void *aa_buf_room(aa_buf *b, size_t n);
int aa_buf_printf(aa_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the string over (caller frees; "" if nothing was appended) and empties b. After a failed append
 * (oom) it frees the contents and returns NULL. */
char *aa_buf_take(aa_buf *b);
void aa_buf_free(aa_buf *b);

/* malloc'd "dir/name"; NULL if out of memory. */
char *aa_path_join(const char *dir, const char *name);

/* JSON text (RFC 8259), written to a buffer or a stream.
 * A string is quoted; '"', '\\', the controls below 0x20, 0x7F and the C1 controls U+0080..U+009F are escaped
 * (\n, \r, \t, else \u00XX);
 * each byte that is not part of well-formed UTF-8 becomes U+FFFD, so the output is always valid UTF-8.
 * NULL writes null.
 * A number is written in the shortest of %.15g, %.16g, %.17g that reads back to the same double, so a
 * reader gets exactly the value the program computed (a report's figures compare equal to the program's,
 * not merely close), while values such as 0.1 or 0.75 stay short; non-finite values (JSON has no NaN)
 * write null, and -0 writes 0. */
void aa_json_str(aa_buf *b, const char *s);
void aa_json_num(aa_buf *b, double v);
void aa_json_fstr(FILE *f, const char *s);
void aa_json_fnum(FILE *f, double v);

/* ---- time --------------------------------------------------------------------------------------------- */

/* Monotonic seconds, for progress lines and benchmarks. */
double aa_now(void);

#endif
