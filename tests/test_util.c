/* util/: CRC32, the RNG's reproducibility and ranges, outputs by kind of path (atomic files, links, devices,
 * FIFOs, sockets), little-endian helpers. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/util/testutil.h"
#include "util/util.h"

START_TEST(crc32_check_value)
{
    /* The standard check value of CRC-32/IEEE for "123456789". */
    ck_assert_uint_eq(aa_crc32(0, "123456789", 9), 0xCBF43926u);
    /* Feeding in chunks gives the same result as one call. */
    uint32_t c = aa_crc32(0, "1234", 4);
    ck_assert_uint_eq(aa_crc32(c, "56789", 5), 0xCBF43926u);
    ck_assert_uint_eq(aa_crc32(0, "", 0), 0u);
}
END_TEST

START_TEST(rng_reproducible_and_distinct)
{
    aa_rng a, b, c;
    aa_rng_seed(&a, 42);
    aa_rng_seed(&b, 42);
    aa_rng_seed(&c, 43);
    int same_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = aa_rng_u64(&a);
        ck_assert_uint_eq(x, aa_rng_u64(&b));
        same_c += x == aa_rng_u64(&c);
    }
    ck_assert_int_eq(same_c, 0);
    /* A fixed value pins the algorithm: a change of generator would silently change every seeded run. */
    aa_rng_seed(&a, 0);
    ck_assert_uint_eq(aa_rng_u64(&a), 0x99ec5f36cb75f2b4ULL);
}
END_TEST

START_TEST(rng_seed3_streams_differ)
{
    aa_rng a, b;
    aa_rng_seed3(&a, 7, 1, 0);
    aa_rng_seed3(&b, 7, 0, 1);
    ck_assert_uint_ne(aa_rng_u64(&a), aa_rng_u64(&b));
    aa_rng_seed3(&a, 7, 3, 5);
    aa_rng_seed3(&b, 7, 3, 5);
    ck_assert_uint_eq(aa_rng_u64(&a), aa_rng_u64(&b));
}
END_TEST

START_TEST(rng_ranges_and_moments)
{
    aa_rng r;
    aa_rng_seed(&r, 1);
    const int n = 200000;
    double sum = 0, sum2 = 0, nsum = 0, nsum2 = 0;
    int hist[7] = {0};
    for (int i = 0; i < n; i++) {
        float u = aa_rng_uniform(&r);
        ck_assert(u >= 0.0f && u < 1.0f);
        sum += u;
        sum2 += (double)u * u;
        uint64_t k = aa_rng_below(&r, 7);
        ck_assert_uint_lt(k, 7);
        hist[k]++;
        double z = aa_rng_normal(&r);
        nsum += z;
        nsum2 += z * z;
    }
    /* Sampling error of the mean of U(0,1) is 0.29/sqrt(n) = 6.5e-4; 5e-3 is ~8 sigma. */
    ck_assert(fabs(sum / n - 0.5) < 5e-3);
    ck_assert(fabs(sum2 / n - 1.0 / 3) < 5e-3);
    ck_assert(fabs(nsum / n) < 0.02);
    ck_assert(fabs(nsum2 / n - 1.0) < 0.02);
    for (int k = 0; k < 7; k++) /* expected 28571 each, sd ~156 */
        ck_assert_msg(abs(hist[k] - n / 7) < 1500, "bucket %d: %d", k, hist[k]);
}
END_TEST

START_TEST(rng_shuffle_is_permutation)
{
    aa_rng r;
    aa_rng_seed(&r, 9);
    size_t idx[100];
    for (size_t i = 0; i < 100; i++)
        idx[i] = i;
    aa_rng_shuffle(&r, idx, 100);
    int seen[100] = {0}, moved = 0;
    for (size_t i = 0; i < 100; i++) {
        ck_assert_uint_lt(idx[i], 100);
        seen[idx[i]]++;
        moved += idx[i] != i;
    }
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(seen[i], 1);
    ck_assert_int_gt(moved, 50);
}
END_TEST

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

START_TEST(afile_commit_and_abort)
{
    char dir[256], path[300];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "model.bin");
    aa_error err;
    ck_assert_int_eq(aa_write_file_atomic(path, "first", 5, &err), 0);

    /* An aborted write leaves the old file as it was and no temporary file behind. */
    aa_afile *a = aa_afile_open(path, &err);
    ck_assert_ptr_nonnull(a);
    fputs("second, longer", aa_afile_stream(a));
    aa_afile_abort(a);
    size_t n;
    char *got = tu_read_file(path, &n);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, "first");
    free(got);
    ck_assert_int_eq(count_entries(dir), 1);

    a = aa_afile_open(path, &err);
    fputs("second", aa_afile_stream(a));
    ck_assert_int_eq(aa_afile_commit(a, &err), 0);
    got = tu_read_file(path, &n);
    ck_assert_str_eq(got, "second");
    free(got);
    ck_assert_int_eq(count_entries(dir), 1);

    /* A directory that does not exist: an error naming the path. */
    char bad[400];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.bin", dir);
    ck_assert_int_ne(aa_write_file_atomic(bad, "x", 1, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, bad));
    tu_rmtree(dir);
}
END_TEST

/* A reader at the other end of a FIFO or socket: counts the bytes until end of file. */
typedef struct {
    int fd;          /* socket: the listening socket; FIFO: -1 */
    const char *path;
    size_t got;
} drain_ctx;

static void *drain(void *arg)
{
    drain_ctx *c = arg;
    int fd = c->fd >= 0 ? accept(c->fd, NULL, NULL) : open(c->path, O_RDONLY);
    if (fd < 0)
        return NULL;
    char buf[4096];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;)
        c->got += (size_t)n;
    close(fd);
    return NULL;
}

static mode_t lmode(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 ? st.st_mode : 0;
}

/* Each kind of path is written its own way: a symlink's target replaced with the link kept, a dangling link's
 * target created, a device written through and left a device, a full device's error reported with its
 * reason, a FIFO and a socket written through to their readers, a folder refused; the check before work
 * agrees and opens nothing. */
START_TEST(outputs_by_kind)
{
    char dir[256], p[400], q[400];
    tu_mkdtemp(dir, sizeof dir);
    aa_error err;
    static const char body[] = "new contents\n";
    const size_t n = sizeof body - 1;

    /* a symlink: the target gets the contents, the link stays a link */
    tu_write_file(tu_path(p, sizeof p, dir, "target"), "old", 3);
    ck_assert_int_eq(symlink("target", tu_path(q, sizeof q, dir, "link")), 0);
    ck_assert_int_eq(aa_write_file_atomic(q, body, n, &err), 0);
    ck_assert(S_ISLNK(lmode(q)));
    size_t size = 0;
    char *got = tu_read_file(p, &size);
    ck_assert(got && size == n && !memcmp(got, body, n));
    free(got);
    /* a link to a link to nothing: the last target is created */
    ck_assert_int_eq(symlink("link3", tu_path(p, sizeof p, dir, "link2")), 0);
    ck_assert_int_eq(symlink("created", tu_path(q, sizeof q, dir, "link3")), 0);
    ck_assert_int_eq(aa_write_file_atomic(p, body, n, &err), 0);
    ck_assert(S_ISLNK(lmode(p)) && S_ISLNK(lmode(q)));
    ck_assert(S_ISREG(lmode(tu_path(p, sizeof p, dir, "created"))));
    ck_assert_int_eq(tu_count_entries(dir, ".tmp."), 0);
    ck_assert(aa_output_is_file(q));

    /* a character device: written through, still a device */
    ck_assert_int_eq(aa_output_check("/dev/null", 0, &err), 0);
    ck_assert(!aa_output_is_file("/dev/null"));
    ck_assert_int_eq(aa_write_file_atomic("/dev/null", body, n, &err), 0);
    ck_assert(S_ISCHR(lmode("/dev/null")));
    /* a full one: the reason, not a bare "write failed" */
    ck_assert_int_ne(aa_write_file_atomic("/dev/full", body, n, &err), 0);
    ck_assert_msg(strstr(err.msg, "/dev/full: write failed (No space left on device)") != NULL, "%s", err.msg);
    aa_afile *a = aa_afile_open("/dev/full", &err);
    ck_assert(a);
    for (int i = 0; i < 100000; i++) /* far past stdio's buffer: the failure comes during the writes */
        fputs("0123456789", aa_afile_stream(a));
    ck_assert_int_ne(aa_afile_commit(a, &err), 0);
    ck_assert_msg(strstr(err.msg, "No space left on device") != NULL, "%s", err.msg);
    ck_assert(S_ISCHR(lmode("/dev/full")));

    /* a FIFO: the check opens nothing (the reader would see an empty file); the write goes through */
    ck_assert_int_eq(mkfifo(tu_path(p, sizeof p, dir, "fifo"), 0600), 0);
    ck_assert_int_eq(aa_output_check(p, 0, &err), 0);
    drain_ctx fc = {.fd = -1, .path = p};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, drain, &fc), 0);
    ck_assert_int_eq(aa_write_file_atomic(p, body, n, &err), 0);
    pthread_join(th, NULL);
    ck_assert_uint_eq(fc.got, n);
    ck_assert(S_ISFIFO(lmode(p)));

    /* a UNIX stream socket: connected to */
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    tu_path(p, sizeof p, dir, "sock");
    ck_assert(strlen(p) < sizeof sa.sun_path);
    strcpy(sa.sun_path, p);
    ck_assert_int_eq(bind(ls, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(ls, 1), 0);
    drain_ctx sc = {.fd = ls, .path = p};
    ck_assert_int_eq(pthread_create(&th, NULL, drain, &sc), 0);
    ck_assert_int_eq(aa_write_file_atomic(p, body, n, &err), 0);
    pthread_join(th, NULL);
    close(ls);
    ck_assert_uint_eq(sc.got, n);
    ck_assert(S_ISSOCK(lmode(p)));

    /* a folder, and a link to one: refused, by the check too */
    ck_assert_int_ne(aa_write_file_atomic(dir, body, n, &err), 0);
    ck_assert_msg(strstr(err.msg, "cannot write (a directory)") != NULL, "%s", err.msg);
    ck_assert_int_eq(symlink(".", tu_path(p, sizeof p, dir, "dirlink")), 0);
    ck_assert_int_ne(aa_output_check(p, 0, &err), 0);
    ck_assert_msg(strstr(err.msg, "a directory") != NULL, "%s", err.msg);
    /* a missing folder: the check says so, and leaves nothing */
    ck_assert_int_ne(aa_output_check(tu_path(p, sizeof p, dir, "none/x"), 0, &err), 0);
    ck_assert_msg(strstr(err.msg, "cannot create (No such file or directory)") != NULL, "%s", err.msg);
    /* "-" is standard output only when asked for */
    ck_assert_int_eq(aa_output_check("-", 1, &err), 0);
    ck_assert(!aa_output_is_file("-"));
    ck_assert_int_eq(tu_count_entries(dir, ".tmp."), 0);
    tu_rmtree(dir);
}
END_TEST

START_TEST(printable_escapes_controls)
{
    /* C0 controls, DEL and bytes that are not UTF-8 as \xNN; C1 controls as \uNNNN; other UTF-8 kept */
    char *s = aa_printable("a\x1b[31mred\x7f\xff\xc2\x9b" "caf\xc3\xa9\t");
    ck_assert_str_eq(s, "a\\x1B[31mred\\x7F\\xFF\\u009Bcaf\xc3\xa9\\x09");
    free(s);
    char buf[16];
    const char *plain = "plain caf\xc3\xa9";
    ck_assert_ptr_eq(aa_printable_into(plain, buf, sizeof buf), plain); /* nothing to escape: no copy */
    ck_assert_str_eq(aa_printable_into("\x1b", buf, sizeof buf), "\\x1B");
    /* too long for the buffer: cut at a whole escape, marked */
    const char *cut = aa_printable_into("\x1b\x1b\x1b\x1b\x1b\x1b", buf, sizeof buf);
    ck_assert_str_eq(cut, "\\x1B\\x1B\\x1B...");
    ck_assert_uint_lt(strlen(cut), sizeof buf);
}
END_TEST

START_TEST(le_roundtrip)
{
    unsigned char b[8];
    aa_put_u32(b, 0x11223344u);
    ck_assert_uint_eq(b[0], 0x44);
    ck_assert_uint_eq(aa_get_u32(b), 0x11223344u);
    aa_put_u64(b, 0x0102030405060708ULL);
    ck_assert_uint_eq(b[7], 0x01);
    ck_assert_uint_eq(aa_get_u64(b), 0x0102030405060708ULL);
    aa_put_f32(b, -1.5f);
    ck_assert(aa_get_f32(b) == -1.5f);
}
END_TEST

START_TEST(error_set_formats)
{
    aa_error e;
    ck_assert_int_eq(aa_error_set(&e, 3, "%s: %d", "x.wav", 7), 3);
    ck_assert_int_eq(e.code, 3);
    ck_assert_str_eq(e.msg, "x.wav: 7");
    ck_assert_int_eq(aa_error_set(NULL, 4, "ignored"), 4);
    aa_error_clear(&e);
    ck_assert_int_eq(e.code, 0);
}
END_TEST

Suite *util_suite(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, crc32_check_value);
    tcase_add_test(tc, rng_reproducible_and_distinct);
    tcase_add_test(tc, rng_seed3_streams_differ);
    tcase_add_test(tc, rng_ranges_and_moments);
    tcase_add_test(tc, rng_shuffle_is_permutation);
    tcase_add_test(tc, afile_commit_and_abort);
    tcase_add_test(tc, outputs_by_kind);
    tcase_add_test(tc, printable_escapes_controls);
    tcase_add_test(tc, le_roundtrip);
    tcase_add_test(tc, error_set_formats);
    suite_add_tcase(s, tc);
    return s;
}
