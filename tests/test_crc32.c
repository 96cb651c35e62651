/* aa_crc32's eight-bytes-per-step loop against the definition, bit by bit. */
#include <check.h>
#include <stdint.h>

#include "util/util.h"

/* CRC-32 straight from the polynomial: one bit per step, no tables. */
static uint32_t crc_bitwise(uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int b = 0; b < 8; b++)
            crc = crc & 1 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    }
    return ~crc;
}

/* Every length 0..300 at every start offset 0..7 (the fast loop's 8-byte steps meet every tail and
 * alignment), whole and split at every third byte, over bytes from a fixed generator. */
START_TEST(test_crc32_matches_bitwise)
{
    unsigned char buf[320];
    aa_rng r;
    aa_rng_seed(&r, 42);
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(aa_rng_u64(&r) >> 56);
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n <= 300; n++) {
            uint32_t want = crc_bitwise(0, buf + off, n);
            ck_assert_uint_eq(aa_crc32(0, buf + off, n), want);
            for (size_t cut = 0; cut <= n; cut += 3)
                ck_assert_uint_eq(aa_crc32(aa_crc32(0, buf + off, cut), buf + off + cut, n - cut), want);
        }
}
END_TEST

/* A large all-0xFF block, where a table entry off by one bit would show in every step. */
START_TEST(test_crc32_large_block)
{
    static unsigned char big[1 << 16];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = 0xff;
    ck_assert_uint_eq(aa_crc32(0, big, sizeof big), crc_bitwise(0, big, sizeof big));
}
END_TEST

Suite *crc32_suite(void)
{
    Suite *s = suite_create("crc32");
    TCase *tc = tcase_create("crc32");
    tcase_add_test(tc, test_crc32_matches_bitwise);
    tcase_add_test(tc, test_crc32_large_block);
    suite_add_tcase(s, tc);
    return s;
}
