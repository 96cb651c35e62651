/* A structural check of Ogg uploads before libsndfile sees them.
 *
 * libsndfile 1.2.0 leaks the vorbis_info of every Ogg Vorbis file it refuses (5784 bytes each; see
 * tests/lsan.supp), and a server lives long: 3000 uploads of a Vorbis file cut in half grew aa-infer --serve
 * by 17 MB. Most such uploads are broken at the container level (cut short, damaged bytes), which a walk
 * over the Ogg pages finds without decoding: every page must be whole, carry a correct CRC, the first page
 * must begin a logical stream and the last one end it (RFC 3533). The last rule catches a file cut at a
 * page boundary: one holding only its first page (the Vorbis identification header) is refused by
 * libsndfile as malformed and leaked 6.6 MB over 1000 uploads. Those never reach the decoder. */
#include <stdint.h>
#include <string.h>

#include "infer/http_internal.h"
#include "infer/serve.h"

#define OGG_HEADER 27
#define OGG_FLAG_BOS 0x02
#define OGG_FLAG_EOS 0x04

/* CRC-32 of Ogg pages: polynomial 0x04c11db7, MSB first, initial value 0, no final xor (RFC 3533). */
static uint32_t ogg_crc_update(uint32_t crc, const unsigned char *p, size_t n)
{
    while (n--) {
        crc ^= (uint32_t)*p++ << 24;
        for (int b = 0; b < 8; b++)
            crc = crc & 0x80000000u ? crc << 1 ^ 0x04c11db7u : crc << 1;
    }
    return crc;
}

static uint32_t read_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int aa_http_is_ogg(const void *data, size_t n)
{
    return n >= 4 && !memcmp(data, "OggS", 4);
}

int aa_http_ogg_check(const void *data, size_t n, const char *filename, aa_error *err)
{
    const unsigned char *p = data;
    if (!aa_http_is_ogg(data, n))
        return 0;
    size_t off = 0;
    int last_flags = 0;
    for (int page = 0; off < n; page++) {
        if (n - off < OGG_HEADER || memcmp(p + off, "OggS", 4) != 0)
            return aa_error_set(err, AA_SERVE_ERR_AUDIO, "%s: malformed Ogg file (no page at byte %zu)",
                                filename, off);
        const unsigned char *h = p + off;
        if (h[4] != 0)
            return aa_error_set(err, AA_SERVE_ERR_AUDIO, "%s: malformed Ogg file (page version %d at byte %zu)",
                                filename, h[4], off);
        if (page == 0 && !(h[5] & OGG_FLAG_BOS))
            return aa_error_set(err, AA_SERVE_ERR_AUDIO,
                                "%s: malformed Ogg file (the first page does not begin a stream)", filename);
        size_t nseg = h[26];
        if (n - off - OGG_HEADER < nseg)
            return aa_error_set(err, AA_SERVE_ERR_AUDIO, "%s: malformed Ogg file (cut short in the page at "
                                "byte %zu)", filename, off);
        size_t body = 0;
        for (size_t i = 0; i < nseg; i++)
            body += h[OGG_HEADER + i];
        size_t len = OGG_HEADER + nseg + body;
        if (n - off < len)
            return aa_error_set(err, AA_SERVE_ERR_AUDIO, "%s: malformed Ogg file (cut short in the page at "
                                "byte %zu)", filename, off);
        static const unsigned char zero[4];
        uint32_t crc = ogg_crc_update(0, h, 22);
        crc = ogg_crc_update(crc, zero, 4);
        crc = ogg_crc_update(crc, h + 26, len - 26);
        if (crc != read_le32(h + 22))
            return aa_error_set(err, AA_SERVE_ERR_AUDIO, "%s: malformed Ogg file (bad checksum in the page at "
                                "byte %zu)", filename, off);
        last_flags = h[5];
        off += len;
    }
    if (!(last_flags & OGG_FLAG_EOS))
        return aa_error_set(err, AA_SERVE_ERR_AUDIO, "%s: malformed Ogg file (cut short: no end-of-stream page)",
                            filename);
    return 0;
}
