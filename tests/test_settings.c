/* dsp_settings: the issue's defaults, validation of every field, the key=value text round trip. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dsp.h"

START_TEST(defaults_are_the_issues)
{
    dsp_settings s = dsp_settings_default();
    ck_assert_int_eq(s.sample_rate, 16000);
    ck_assert(s.clip_seconds == 4.0);
    ck_assert_int_eq(s.n_fft, 512);
    ck_assert_int_eq(s.win_length, 512);
    ck_assert_int_eq(s.hop_length, 160);
    ck_assert_int_eq(s.center, 1);
    ck_assert_int_eq(s.n_mels, 64);
    ck_assert(s.fmin == 0.0 && s.fmax == 8000.0);
    ck_assert_int_eq(s.mel_scale, DSP_MEL_SLANEY);
    ck_assert_int_eq(s.mel_norm, DSP_NORM_SLANEY);
    ck_assert(s.power == 2.0 && s.amin == 1e-10 && s.ref == 1.0 && s.top_db == 80.0);
    ck_assert_int_eq(s.crop, DSP_CROP_LOUDEST);
    ck_assert_int_eq(s.resampler, DSP_RESAMPLE_SOXR_HQ);
    ck_assert_int_eq(dsp_settings_validate(&s, NULL), 0);
    /* 4 s at 16 kHz, and librosa's frame count for centred frames: 1 + 64000 // 160. */
    ck_assert_uint_eq(dsp_clip_samples(&s), 64000);
    ck_assert_uint_eq(dsp_clip_frames(&s), 401);
    ck_assert_uint_eq(dsp_n_frames(&s, 16000), 101);
    ck_assert_uint_eq(dsp_n_frames(&s, 8000), 51);
    ck_assert_uint_eq(dsp_n_frames(&s, 159), 1);
    s.center = 0;
    ck_assert_uint_eq(dsp_n_frames(&s, 511), 0);
    ck_assert_uint_eq(dsp_n_frames(&s, 512), 1);
    ck_assert_uint_eq(dsp_n_frames(&s, 672), 2);
}
END_TEST

/* Each broken field is caught, with a message naming it. */
START_TEST(validate_rejects_each_bad_field)
{
    dsp_settings base = dsp_settings_default(), s;
    aa_error err;
#define EXPECT_BAD(stmt, word)                                                                               \
    do {                                                                                                     \
        s = base;                                                                                            \
        stmt;                                                                                                \
        ck_assert_int_eq(dsp_settings_validate(&s, &err), DSP_ERR_SETTINGS);                                 \
        ck_assert_int_eq(err.code, DSP_ERR_SETTINGS);                                                        \
        ck_assert_msg(strstr(err.msg, word) != NULL, "'%s' does not name %s", err.msg, word);                \
    } while (0)
    EXPECT_BAD(s.sample_rate = 7999, "sample_rate");
    EXPECT_BAD(s.sample_rate = 192001, "sample_rate");
    EXPECT_BAD(s.clip_seconds = 0, "clip_seconds");
    EXPECT_BAD(s.clip_seconds = -1, "clip_seconds");
    EXPECT_BAD(s.crop = (dsp_crop)7, "crop");
    EXPECT_BAD(s.resampler = (dsp_resampler)9, "resampler");
    EXPECT_BAD(s.n_fft = 8, "n_fft");
    EXPECT_BAD(s.win_length = 513, "win_length");
    EXPECT_BAD(s.win_length = 0, "win_length");
    EXPECT_BAD(s.hop_length = 0, "hop_length");
    EXPECT_BAD(s.center = 2, "center");
    EXPECT_BAD(s.n_mels = 0, "n_mels");
    EXPECT_BAD(s.fmin = -1, "fmin");
    EXPECT_BAD(s.fmin = 8000, "fmin");
    EXPECT_BAD(s.fmax = 8001, "fmax");
    EXPECT_BAD(s.mel_scale = (dsp_mel_scale)5, "mel_scale");
    EXPECT_BAD(s.mel_norm = (dsp_mel_norm)5, "mel_norm");
    EXPECT_BAD(s.power = 0, "power");
    EXPECT_BAD(s.amin = 0, "amin");
    EXPECT_BAD(s.ref = 0, "ref");
    EXPECT_BAD(s.top_db = 0, "top_db");
    EXPECT_BAD((s.center = 0, s.clip_seconds = 0.01), "n_fft");
#undef EXPECT_BAD
}
END_TEST

/* Rules between fields: the message names every field of the combination, so that aa-train can name its
 * options and a model file's refusal says which fields disagree. Each bad case has a good one beside it
 * that differs only in the fields of the rule (at the edge where the rule is a bound). */
START_TEST(validate_names_both_fields_of_a_combination)
{
    static const struct {
        const char *what;
        dsp_settings bad, good;
        const char *words[3];
    } cases[] = {
        {"window longer than the FFT", {.win_length = 513}, {.win_length = 512}, {"win_length 513", "n_fft 512"}},
        {"fmax above Nyquist", {.sample_rate = 8000}, {.sample_rate = 8000, .fmax = 4000},
         {"fmax 8000", "sample_rate 8000", "Nyquist"}},
        {"fmin at fmax", {.fmin = 3000, .fmax = 3000}, {.fmin = 1000, .fmax = 3000}, {"fmin 3000", "fmax 3000"}},
        {"fmin above fmax", {.fmin = 5000, .fmax = 3000}, {.fmin = 1000, .fmax = 3000}, {"fmin 5000", "fmax 3000"}},
        {"clip shorter than a frame", {.clip_seconds = 511.0 / 16000}, {.clip_seconds = 512.0 / 16000},
         {"clip_seconds", "511 samples", "n_fft 512"}},
        {"empty mel filters", {.n_mels = 128, .n_fft = 256, .win_length = 256},
         {.n_mels = 64, .n_fft = 256, .win_length = 256}, {"n_mels 128", "n_fft 256", "no FFT bin"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        /* Fields left 0 in the table keep their defaults. */
        dsp_settings v[2];
        for (int j = 0; j < 2; j++) {
            const dsp_settings *c = j ? &cases[i].good : &cases[i].bad;
            dsp_settings s = dsp_settings_default();
            if (c->sample_rate) s.sample_rate = c->sample_rate;
            if (c->clip_seconds) s.clip_seconds = c->clip_seconds;
            if (c->n_fft) s.n_fft = c->n_fft;
            if (c->win_length) s.win_length = c->win_length;
            if (c->n_mels) s.n_mels = c->n_mels;
            if (c->fmin) s.fmin = c->fmin;
            if (c->fmax) s.fmax = c->fmax;
            v[j] = s;
        }
        aa_error err;
        ck_assert_msg(dsp_settings_validate(&v[1], &err) == 0, "%s: the edge case inside is refused: %s",
                      cases[i].what, err.msg);
        ck_assert_int_eq(dsp_settings_validate(&v[0], &err), DSP_ERR_SETTINGS);
        for (int w = 0; w < 3 && cases[i].words[w]; w++)
            ck_assert_msg(strstr(err.msg, cases[i].words[w]), "%s: '%s' does not say '%s'", cases[i].what, err.msg,
                          cases[i].words[w]);
        ck_assert_ptr_null(strchr(err.msg, '\n'));
    }
}
END_TEST

/* The empty-filter rule agrees with the filterbank itself: for each FFT size, the most mels that pass give
 * a filterbank whose every row has a non-zero weight, and one mel more is refused (librosa warns "Empty
 * filters detected" there and computes rows of zeros, which after the log are constant). */
START_TEST(most_mels_that_pass_leave_no_filter_empty)
{
    const int ffts[] = {64, 256, 512, 2048};
    for (size_t f = 0; f < sizeof ffts / sizeof *ffts; f++) {
        dsp_settings s = dsp_settings_default();
        s.n_fft = s.win_length = ffts[f];
        int n = 1;
        while (n < DSP_MAX_MELS) {
            s.n_mels = n + 1;
            if (dsp_settings_validate(&s, NULL))
                break;
            n++;
        }
        ck_assert_msg(n < DSP_MAX_MELS, "n_fft %d: %d mels pass", ffts[f], n);
        aa_error err;
        s.n_mels = n + 1;
        ck_assert_int_eq(dsp_settings_validate(&s, &err), DSP_ERR_SETTINGS);
        ck_assert_msg(strstr(err.msg, "no FFT bin"), "%s", err.msg);
        s.n_mels = n;
        int nb = s.n_fft / 2 + 1;
        float *fb = malloc(sizeof(float) * (size_t)(n * nb));
        ck_assert_int_eq(dsp_mel_filterbank(&s, fb, NULL), 0);
        for (int m = 0; m < n; m++) {
            float top = 0;
            for (int k = 0; k < nb; k++)
                top = fb[m * nb + k] > top ? fb[m * nb + k] : top;
            ck_assert_msg(top > 0, "n_fft %d, %d mels: filter %d is empty but passed", ffts[f], n, m);
        }
        free(fb);
    }
    /* The defaults are far from the edge. */
    dsp_settings d = dsp_settings_default();
    d.n_mels = 128;
    ck_assert_int_eq(dsp_settings_validate(&d, NULL), 0);
}
END_TEST

START_TEST(text_round_trip_is_exact)
{
    dsp_settings a = dsp_settings_default(), b;
    char buf[DSP_SETTINGS_TEXT_MAX];
    size_t n = dsp_settings_format(&a, buf, sizeof buf);
    ck_assert_uint_lt(n, sizeof buf);
    ck_assert_uint_eq(strlen(buf), n);
    ck_assert_msg(strstr(buf, "sample_rate=16000\n") && strstr(buf, "crop=loudest\n") &&
                      strstr(buf, "mel_scale=slaney\n") && strstr(buf, "resampler=soxr_hq\n") &&
                      strstr(buf, "amin=1e-10\n"),
                  "unexpected text:\n%s", buf);
    ck_assert_int_eq(dsp_settings_parse(buf, n, "t", &b, NULL), 0);
    ck_assert(dsp_settings_equal(&a, &b));

    /* Values whose decimal forms need all 17 digits must come back bit for bit. */
    a.clip_seconds = 0.1 + 0.2;
    a.fmin = 1.0 / 3.0;
    a.fmax = 7999.999999999999;
    a.amin = 1.2345678901234567e-7;
    a.top_db = 79.99999999999999;
    a.power = 1.0;
    a.crop = DSP_CROP_CENTER;
    a.mel_scale = DSP_MEL_HTK;
    a.mel_norm = DSP_NORM_NONE;
    a.resampler = DSP_RESAMPLE_SOXR_VHQ;
    a.center = 0;
    a.win_length = 400;
    n = dsp_settings_format(&a, buf, sizeof buf);
    ck_assert_int_eq(dsp_settings_parse(buf, n, "t", &b, NULL), 0);
    ck_assert(dsp_settings_equal(&a, &b));
    ck_assert(memcmp(&a.clip_seconds, &b.clip_seconds, sizeof(double)) == 0);

    /* A different value is a different setting. */
    b.hop_length++;
    ck_assert(!dsp_settings_equal(&a, &b));
}
END_TEST

START_TEST(format_reports_needed_length_when_truncated)
{
    dsp_settings a = dsp_settings_default();
    char full[DSP_SETTINGS_TEXT_MAX], small[32];
    size_t need = dsp_settings_format(&a, full, sizeof full);
    ck_assert_uint_eq(dsp_settings_format(&a, small, sizeof small), need);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    ck_assert(strncmp(small, full, sizeof small - 1) == 0);
    ck_assert_uint_eq(dsp_settings_format(&a, NULL, 0), need);
}
END_TEST

START_TEST(parse_accepts_crlf_and_blank_lines)
{
    dsp_settings a = dsp_settings_default(), b;
    char buf[DSP_SETTINGS_TEXT_MAX], crlf[2 * DSP_SETTINGS_TEXT_MAX];
    dsp_settings_format(&a, buf, sizeof buf);
    size_t j = 0;
    crlf[j++] = '\n';
    for (const char *p = buf; *p; p++) {
        if (*p == '\n')
            crlf[j++] = '\r';
        crlf[j++] = *p;
    }
    ck_assert_int_eq(dsp_settings_parse(crlf, j, "t", &b, NULL), 0);
    ck_assert(dsp_settings_equal(&a, &b));
}
END_TEST

/* Unknown, repeated and missing keys and bad values are errors naming the line; *out stays untouched. */
START_TEST(parse_rejects_bad_text)
{
    dsp_settings a = dsp_settings_default();
    char buf[DSP_SETTINGS_TEXT_MAX], text[2 * DSP_SETTINGS_TEXT_MAX];
    size_t n = dsp_settings_format(&a, buf, sizeof buf);
    struct {
        const char *text;
        const char *expect;
    } cases[] = {
        {"%sfoo=1\n", "unknown key 'foo'"},
        {"%sn_mels=64\n", "key 'n_mels' repeated"},
        {"%scolour\n", "not key=value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(text, sizeof text, cases[i].text, buf);
        dsp_settings out = {0};
        aa_error err;
        ck_assert_int_eq(dsp_settings_parse(text, strlen(text), "model.aam", &out, &err), DSP_ERR_SETTINGS);
        ck_assert_msg(strstr(err.msg, cases[i].expect) && strstr(err.msg, "model.aam"), "got '%s'", err.msg);
        ck_assert_int_eq(out.sample_rate, 0);
    }
    /* Each value replaced by garbage, and each key dropped. */
    const char *keys[] = {"sample_rate", "clip_seconds", "crop", "resampler", "n_fft", "win_length",
                          "hop_length", "center", "n_mels", "fmin", "fmax", "mel_scale", "mel_norm", "power",
                          "amin", "ref", "top_db"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        char key[64];
        snprintf(key, sizeof key, "\n%s=", keys[k]);
        /* the line "key=...", first or after a newline */
        char *at = strncmp(buf, key + 1, strlen(key + 1)) == 0 ? buf : strstr(buf, key);
        ck_assert_ptr_nonnull(at);
        if (*at == '\n')
            at++;
        size_t pre = (size_t)(at - buf), eol = pre + strcspn(at, "\n");
        aa_error err;
        dsp_settings out;
        /* garbage value */
        snprintf(text, sizeof text, "%.*s%s=12abc%s", (int)pre, buf, keys[k], buf + eol);
        ck_assert_int_eq(dsp_settings_parse(text, strlen(text), "t", &out, &err), DSP_ERR_SETTINGS);
        ck_assert_msg(strstr(err.msg, "bad value"), "%s: got '%s'", keys[k], err.msg);
        /* missing key */
        snprintf(text, sizeof text, "%.*s%s", (int)pre, buf, buf + eol + 1);
        ck_assert_int_eq(dsp_settings_parse(text, strlen(text), "t", &out, &err), DSP_ERR_SETTINGS);
        ck_assert_msg(strstr(err.msg, "missing") && strstr(err.msg, keys[k]), "%s: got '%s'", keys[k], err.msg);
    }
    /* Parsed but out of range: validation runs too. */
    snprintf(text, sizeof text, "%s", buf);
    char *v = strstr(text, "n_mels=64");
    memcpy(v, "n_mels=00", 9);
    dsp_settings out;
    aa_error err;
    ck_assert_int_eq(dsp_settings_parse(text, n, "t", &out, &err), DSP_ERR_SETTINGS);
    ck_assert_msg(strstr(err.msg, "n_mels 0 out of range"), "got '%s'", err.msg);
}
END_TEST

/* Every libsoxr recipe round-trips by name; libsamplerate's converters, which older model files and caches
 * name, are refused with a line that says why (dsp/settings.c explains refusing over mapping). */
START_TEST(parse_names_recipes_and_refuses_libsamplerate)
{
    static const char *const names[] = {"soxr_hq", "soxr_vhq", "soxr_mq", "soxr_lq", "soxr_qq"};
    static const dsp_resampler values[] = {DSP_RESAMPLE_SOXR_HQ, DSP_RESAMPLE_SOXR_VHQ, DSP_RESAMPLE_SOXR_MQ,
                                           DSP_RESAMPLE_SOXR_LQ, DSP_RESAMPLE_SOXR_QQ};
    char buf[DSP_SETTINGS_TEXT_MAX], text[2 * DSP_SETTINGS_TEXT_MAX];
    for (int i = 0; i < 5; i++) {
        dsp_settings a = dsp_settings_default(), b;
        a.resampler = values[i];
        size_t n = dsp_settings_format(&a, buf, sizeof buf);
        char line[64];
        snprintf(line, sizeof line, "\nresampler=%s\n", names[i]);
        ck_assert_msg(strstr(buf, line), "%s not written as '%s'", names[i], line + 1);
        ck_assert_int_eq(dsp_settings_parse(buf, n, "t", &b, NULL), 0);
        ck_assert_int_eq(b.resampler, values[i]);
    }
    static const char *const old[] = {"sinc_best", "sinc_medium", "sinc_fastest", "zoh", "linear"};
    dsp_settings a = dsp_settings_default();
    dsp_settings_format(&a, buf, sizeof buf);
    char *at = strstr(buf, "resampler=soxr_hq\n");
    ck_assert_ptr_nonnull(at);
    for (int i = 0; i < 5; i++) {
        snprintf(text, sizeof text, "%.*sresampler=%s\n%s", (int)(at - buf), buf, old[i],
                 at + strlen("resampler=soxr_hq\n"));
        dsp_settings out = {0};
        aa_error err;
        ck_assert_int_eq(dsp_settings_parse(text, strlen(text), "old.aam", &out, &err), DSP_ERR_SETTINGS);
        ck_assert_msg(strstr(err.msg, "old.aam: settings line 4: resampler") && strstr(err.msg, old[i]) &&
                          strstr(err.msg, "libsamplerate") && strstr(err.msg, "must be trained again"),
                      "got '%s'", err.msg);
        ck_assert_int_eq(out.sample_rate, 0);
    }
    /* A name that was never a converter is an ordinary bad value. */
    snprintf(text, sizeof text, "%.*sresampler=soxr_xq\n%s", (int)(at - buf), buf, at + strlen("resampler=soxr_hq\n"));
    aa_error err;
    dsp_settings out;
    ck_assert_int_eq(dsp_settings_parse(text, strlen(text), "t", &out, &err), DSP_ERR_SETTINGS);
    ck_assert_msg(strstr(err.msg, "bad value 'soxr_xq'"), "got '%s'", err.msg);
}
END_TEST

Suite *settings_suite(void)
{
    Suite *s = suite_create("settings");
    TCase *tc = tcase_create("settings");
    tcase_add_test(tc, defaults_are_the_issues);
    tcase_add_test(tc, validate_rejects_each_bad_field);
    tcase_add_test(tc, validate_names_both_fields_of_a_combination);
    tcase_add_test(tc, most_mels_that_pass_leave_no_filter_empty);
    tcase_add_test(tc, text_round_trip_is_exact);
    tcase_add_test(tc, format_reports_needed_length_when_truncated);
    tcase_add_test(tc, parse_accepts_crlf_and_blank_lines);
    tcase_add_test(tc, parse_rejects_bad_text);
    tcase_add_test(tc, parse_names_recipes_and_refuses_libsamplerate);
    suite_add_tcase(s, tc);
    return s;
}
