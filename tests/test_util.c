/* util/: CRC32, the RNG's reproducibility and ranges, atomic file writes, little-endian helpers. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    tcase_add_test(tc, le_roundtrip);
    tcase_add_test(tc, error_set_formats);
    suite_add_tcase(s, tc);
    return s;
}
