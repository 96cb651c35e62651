/* train/ pieces on their own: option parsing and its help, the learning-rate schedule, the checkpoint's
 * training state, the soft-target step. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/util/testutil.h"
#include "train/checkpoint.h"
#include "train/options.h"
#include "train/progress.h"
#include "train/schedule.h"
#include "train/step.h"

static int parse(tr_options *o, const char *const *args, int n, aa_error *err)
{
    char *argv[64];
    argv[0] = "aa-train";
    for (int i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    tr_options_default(o);
    return tr_options_parse(o, n + 1, argv, err);
}

/* --task: the choice is stored as given; without it the class-name rule decides (AM_TASK_AUTO); any other
 * word is a usage error naming the choices. */
START_TEST(task_option)
{
    tr_options o;
    aa_error err;
    const char *none[] = {"data", "-o", "m.aam"};
    ck_assert_int_eq(parse(&o, none, 3, &err), TR_PARSE_OK);
    ck_assert_int_eq(o.task, AM_TASK_AUTO);
    const char *gen[] = {"data", "-o", "m.aam", "--task", "general"};
    ck_assert_int_eq(parse(&o, gen, 5, &err), TR_PARSE_OK);
    ck_assert_int_eq(o.task, AM_TASK_GENERAL);
    const char *resp[] = {"data", "-o", "m.aam", "--task=respiratory"};
    ck_assert_int_eq(parse(&o, resp, 4, &err), TR_PARSE_OK);
    ck_assert_int_eq(o.task, AM_TASK_RESPIRATORY);
    const char *bad[] = {"data", "-o", "m.aam", "--task", "medical"};
    ck_assert_int_eq(parse(&o, bad, 5, &err), TR_PARSE_USAGE);
    ck_assert_msg(strstr(err.msg, "--task") && strstr(err.msg, "respiratory|general"), "%s", err.msg);
}
END_TEST

START_TEST(options_parse_values)
{
    const char *args[] = {"data", "-o", "m.aam", "--epochs=7", "--batch", "16", "--lr", "0.002", "--seed", "42",
                          "--optimizer", "adamw", "--schedule=step", "--no-class-weights", "--no-augment",
                          "--hop", "1.5", "--max-windows", "3", "--per-class-gates", "-j", "2", "-q",
                          "--no-manifest", "--gate-target", "0.9"};
    tr_options o;
    aa_error err;
    ck_assert_int_eq(parse(&o, args, (int)(sizeof args / sizeof *args), &err), TR_PARSE_OK);
    ck_assert_str_eq(o.data_dir, "data");
    ck_assert_str_eq(o.model_path, "m.aam");
    ck_assert_int_eq(o.epochs, 7);
    ck_assert_int_eq(o.batch, 16);
    ck_assert(o.lr == 0.002);
    ck_assert(o.seed == 42);
    ck_assert_int_eq(o.optimizer, TR_OPT_ADAMW);
    ck_assert_int_eq(o.schedule, TR_SCHED_STEP);
    ck_assert_int_eq(o.class_weights, 0);
    ck_assert_int_eq(o.augment, 0);
    ck_assert(o.hop_s == 1.5);
    ck_assert_int_eq(o.max_windows, 3);
    ck_assert_int_eq(o.per_class_gates, 1);
    ck_assert_int_eq(o.threads, 2);
    ck_assert_int_eq(o.quiet, 1);
    ck_assert_str_eq(o.manifest, "");
    ck_assert(o.gate_target == 0.9);
    /* Untouched options keep their defaults. */
    tr_options d;
    tr_options_default(&d);
    ck_assert(o.val_frac == d.val_frac && o.patience == d.patience && o.label_smoothing == d.label_smoothing);
}
END_TEST

START_TEST(augment_options_are_the_batchers)
{
    /* The defaults are datasets' own, and each option lands in the ds_augment_opts the batcher is given. */
    tr_options o;
    tr_options_default(&o);
    ds_augment_opts d;
    ds_augment_opts_default(&d);
    ck_assert(o.augment == 1 && o.aug.shift_p == d.shift_p && o.aug.snr_max_db == d.snr_max_db &&
              o.aug.freq_mask_max == d.freq_mask_max && !strcmp(o.aug.background_class, d.background_class));
    const char *args[] = {"data", "-o", "m.aam", "--shift-p", "0.8", "--shift", "1", "--gain-p", "0.25",
                          "--gain", "3", "--noise-p", "0.5", "--snr-min", "0", "--snr-max", "20",
                          "--noise-class", "hum", "--specaug-p", "0.75", "--time-masks", "1", "--time-mask", "20",
                          "--freq-masks", "3", "--freq-mask", "12", "--mixup-p", "0.3", "--mixup-alpha", "0.4"};
    aa_error err;
    ck_assert_int_eq(parse(&o, args, (int)(sizeof args / sizeof *args), &err), TR_PARSE_OK);
    const ds_augment_opts *a = &o.aug;
    ck_assert(a->shift_p == 0.8 && a->shift_max_s == 1 && a->gain_p == 0.25 && a->gain_db == 3);
    ck_assert(a->noise_p == 0.5 && a->snr_min_db == 0 && a->snr_max_db == 20);
    ck_assert_str_eq(a->background_class, "hum");
    ck_assert(a->specaug_p == 0.75 && a->time_masks == 1 && a->time_mask_max == 20 && a->freq_masks == 3 &&
              a->freq_mask_max == 12);
    ck_assert(a->mixup_p == 0.3 && a->mixup_alpha == 0.4);
    ck_assert_int_eq(o.augment, 1);
}
END_TEST

START_TEST(options_usage_errors)
{
    struct {
        const char *args[6];
        const char *says;
    } bad[] = {
        {{"-o", "m"}, "missing DATA"},
        {{"data"}, "missing -o"},
        {{"data", "-o", "m", "--epochs", "0"}, "--epochs"},
        {{"data", "-o", "m", "--epochs", "3x"}, "--epochs"},
        {{"data", "-o", "m", "--lr", "-1"}, "--lr"},
        {{"data", "-o", "m", "--lr", "nan"}, "--lr"},
        {{"data", "-o", "m", "--optimizer", "sgd"}, "adam|adamw"},
        {{"data", "-o", "m", "--val-frac", "0"}, "--val-frac"},
        {{"data", "-o", "m", "--val-frac", "0.5", "--test-frac"}, "--test-frac"},
        {{"data", "-o", "m", "--bogus"}, "--bogus"},
        {{"data", "-o", "m", "--quiet=1"}, "no value"},
        {{"data", "-o", "m", "--stop-after", "2"}, "--checkpoint"},
        {{"data", "more", "-o", "m"}, "one DATA"},
        {{"data", "-o", "m", "--seed", "-3"}, "--seed"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int n = 0;
        while (n < 6 && bad[i].args[n])
            n++;
        tr_options o;
        aa_error err;
        ck_assert_msg(parse(&o, bad[i].args, n, &err) == TR_PARSE_USAGE, "case %zu accepted", i);
        ck_assert_msg(strstr(err.msg, bad[i].says) != NULL, "case %zu: '%s' does not say '%s'", i, err.msg,
                      bad[i].says);
        ck_assert_msg(!strchr(err.msg, '\n'), "case %zu: message of several lines", i);
    }
    const char *help[] = {"data", "--epochs", "x", "--help"};
    tr_options o;
    aa_error err;
    /* A bad value before --help is still a usage error: options are read in order. */
    ck_assert_int_eq(parse(&o, help, 4, &err), TR_PARSE_USAGE);
    ck_assert_int_eq(parse(&o, help + 3, 1, &err), TR_PARSE_HELP);
}
END_TEST

START_TEST(help_lists_every_option_with_default)
{
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    tr_usage(f);
    fclose(f);
    int count = 0;
    for (int i = 0; tr_option_name(i); i++, count++) {
        char want[80];
        snprintf(want, sizeof want, "--%s", tr_option_name(i));
        ck_assert_msg(strstr(text, want) != NULL, "--help does not list %s", want);
    }
    ck_assert_int_ge(count, 50);
    /* Defaults are quoted from the same values tr_options_default sets. */
    ck_assert_ptr_nonnull(strstr(text, "most epochs to train (default 30)"));
    ck_assert_ptr_nonnull(strstr(text, "e.g. --epochs 50"));
    ck_assert_ptr_nonnull(strstr(text, "Exit status"));
    /* Every line fits in 100 columns. */
    for (char *line = text; *line;) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        ck_assert_msg(len <= 100, "help line too long: %.*s", (int)len, line);
        line += len + (end != NULL);
    }
    free(text);
}
END_TEST

START_TEST(fingerprint_covers_training_options_only)
{
    const char *a[] = {"data", "-o", "m"}, *b[] = {"data", "-o", "other", "-j", "3", "--quiet", "--log", "x"},
               *c[] = {"data", "-o", "m", "--lr", "0.0011"};
    tr_options oa, ob, oc;
    aa_error err;
    ck_assert_int_eq(parse(&oa, a, 3, &err), 0);
    ck_assert_int_eq(parse(&ob, b, 8, &err), 0);
    ck_assert_int_eq(parse(&oc, c, 5, &err), 0);
    char *fa = tr_options_fingerprint(&oa), *fb = tr_options_fingerprint(&ob), *fc = tr_options_fingerprint(&oc);
    ck_assert_str_eq(fa, fb);      /* output, threads and verbosity do not shape the model */
    ck_assert_str_ne(fa, fc);
    ck_assert_ptr_nonnull(strstr(fc, "lr=0.0011"));
    free(fa), free(fb), free(fc);
}
END_TEST

START_TEST(schedule_cosine_and_step)
{
    tr_options o;
    tr_options_default(&o);
    o.lr = 0.01;
    o.epochs = 10;
    o.warmup_epochs = 1;
    o.min_lr_frac = 0.1;
    tr_schedule sc = tr_schedule_make(&o, 5); /* 50 steps, 5 of warm-up */
    ck_assert(sc.total == 50 && sc.warmup == 5);
    /* Exact to float rounding (the rate is computed in double, then rounded once). */
    ck_assert_float_eq_tol(tr_schedule_lr(&sc, 0), 0.002f, 1e-9f);
    ck_assert_float_eq_tol(tr_schedule_lr(&sc, 4), 0.01f, 1e-9f);
    ck_assert_float_eq_tol(tr_schedule_lr(&sc, 5), 0.01f, 1e-9f);
    ck_assert_float_eq_tol(tr_schedule_lr(&sc, 49), 0.001f, 1e-9f);
    /* Halfway through the decay the cosine is at the mean of its ends. */
    float mid = tr_schedule_lr(&sc, 5 + 22), mid2 = tr_schedule_lr(&sc, 5 + 22);
    ck_assert(mid == mid2);
    ck_assert_float_eq_tol(tr_schedule_lr(&sc, 5 + 22), (float)(0.001 + 0.009 * 0.5 * (1 + cos(M_PI * 22 / 44))),
                           1e-9f);
    for (uint64_t s = 6; s < 50; s++)
        ck_assert(tr_schedule_lr(&sc, s) <= tr_schedule_lr(&sc, s - 1));

    o.schedule = TR_SCHED_STEP;
    o.step_epochs = 3;
    o.step_gamma = 0.5;
    sc = tr_schedule_make(&o, 5);
    ck_assert_float_eq_tol(tr_schedule_lr(&sc, 5), 0.01f, 1e-9f);
    ck_assert_float_eq_tol(tr_schedule_lr(&sc, 5 + 14), 0.01f, 1e-9f);
    ck_assert_float_eq_tol(tr_schedule_lr(&sc, 5 + 15), 0.005f, 1e-9f);
    ck_assert_float_eq_tol(tr_schedule_lr(&sc, 5 + 30), 0.0025f, 1e-9f);

    /* A one-step run: no warm-up left, and the single step runs at the peak. */
    o.schedule = TR_SCHED_COSINE;
    o.epochs = 1;
    sc = tr_schedule_make(&o, 1);
    ck_assert(sc.warmup == 0);
    ck_assert_float_eq_tol(tr_schedule_lr(&sc, 0), 0.01f, 1e-9f);
}
END_TEST

static nn_model *tiny_net(int batch)
{
    aa_error err;
    nn_model *m = nn_model_new("c4 bn relu p2 gap fc", 1, 8, 12, 3, batch, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    nn_init_he(m, 5);
    return m;
}

/* With one-hot targets the soft step is the hard step: same loss, same parameters after the update. */
START_TEST(soft_step_equals_hard_step_on_one_hot)
{
    enum { B = 4, K = 3, N = 8 * 12 };
    nn_model *a = tiny_net(B), *b = tiny_net(B);
    aa_error err;
    nn_opt_config cfg = nn_opt_defaults(NN_OPT_ADAM);
    nn_optimizer *oa = nn_opt_new(a, &cfg, &err), *ob = nn_opt_new(b, &cfg, &err);
    float x[B * N], t[B * K] = {0}, cw[K] = {0.5f, 1.0f, 2.0f};
    int labels[B] = {0, 2, 1, 2};
    aa_rng r;
    aa_rng_seed(&r, 9);
    for (int i = 0; i < B * N; i++)
        x[i] = (float)aa_rng_normal(&r);
    for (int i = 0; i < B; i++)
        t[i * K + labels[i]] = 1;
    nn_loss_opts lo = {.class_weights = cw, .label_smoothing = 0.1f};
    nn_step_result ra, rb;
    ck_assert_int_eq(nn_train_step(a, oa, x, labels, B, &lo, 7, 0.01f, NULL, &ra, &err), 0);
    ck_assert_int_eq(tr_soft_step(b, ob, x, t, labels, B, cw, 0.1f, 7, 0.01f, &rb, &err), 0);
    /* nn's loss is summed in float, ours in double: they agree to float rounding over a few terms. */
    ck_assert_float_eq_tol(ra.loss, rb.loss, 1e-5f * fabsf(ra.loss));
    ck_assert_int_eq(ra.correct, rb.correct);
    size_t np = nn_model_get_info(a).n_params;
    const float *pa = nn_params(a), *pb = nn_params(b);
    double worst = 0;
    for (size_t i = 0; i < np; i++)
        worst = fmax(worst, fabs((double)pa[i] - pb[i]));
    /* The logit gradients differ by float rounding; Adam's first step moves each weight by about lr
     * whatever the gradient's size, so the difference stays a tiny fraction of lr = 0.01. */
    ck_assert_msg(worst < 1e-5, "parameters differ by %g", worst);
    nn_opt_free(oa), nn_opt_free(ob);
    nn_model_free(a), nn_model_free(b);
}
END_TEST

START_TEST(checkpoint_state_roundtrip_and_refusal)
{
    char dir[256], path[320];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "run.ckpt");
    nn_model *net = tiny_net(4);
    aa_error err;
    nn_opt_config cfg = nn_opt_defaults(NN_OPT_ADAM);
    nn_optimizer *opt = nn_opt_new(net, &cfg, &err);
    tr_state s;
    ck_assert_int_eq(tr_state_init(&s, net, 10, 0, &err), 0);
    s.epochs_done = s.n_history = 2;
    s.best_epoch = 1;
    s.best_f1 = 0.1 + 0.2; /* a double with no short decimal form */
    s.best_loss = 1.0 / 3;
    s.bad_epochs = 1;
    s.history[0] = (tr_epoch){.epoch = 1, .lr = 1e-3, .train_loss = 2.0 / 3, .val_macro_f1 = s.best_f1,
                              .val_rec_macro_f1 = NAN, .best = 1};
    s.history[1] = (tr_epoch){.epoch = 2, .lr = 5e-4, .train_loss = M_PI, .val_macro_f1 = 0.25};
    s.best_params[0] = 123.5f;
    aa_rng rng, back_rng;
    aa_rng_seed(&rng, 77);
    ck_assert_msg(tr_checkpoint_save(path, net, opt, &rng, &s, "a=1\nb=2\n", &err) == 0, "%s", err.msg);

    nn_model *net2;
    nn_optimizer *opt2;
    tr_state t;
    ck_assert_msg(tr_checkpoint_load(path, 4, 10, 0, "a=1\nb=2\n", &net2, &opt2, &back_rng, &t, &err) == 0, "%s",
                  err.msg);
    ck_assert(t.epochs_done == 2 && t.n_history == 2 && t.best_epoch == 1 && t.bad_epochs == 1);
    ck_assert(t.best_f1 == s.best_f1 && t.best_loss == s.best_loss); /* bit-exact doubles */
    ck_assert(t.history[0].train_loss == s.history[0].train_loss && t.history[1].train_loss == M_PI);
    ck_assert(isnan(t.history[0].val_rec_macro_f1) && t.history[0].best == 1);
    ck_assert(t.best_params[0] == 123.5f);
    ck_assert(memcmp(&rng, &back_rng, sizeof rng) == 0);
    tr_state_free(&t);
    nn_model_free(net2);
    nn_opt_free(opt2);

    /* Other options: refused, naming the first setting that differs. */
    ck_assert_int_ne(tr_checkpoint_load(path, 4, 10, 0, "a=1\nb=3\n", &net2, &opt2, NULL, &t, &err), 0);
    ck_assert_msg(strstr(err.msg, "b=2 in the checkpoint, b=3 now") != NULL, "%s", err.msg);
    ck_assert_ptr_null(net2);
    tr_state_free(&s);
    nn_opt_free(opt);
    nn_model_free(net);
    tu_rmtree(dir);
}
END_TEST

static char *capture(int tty, void (*fn)(tr_progress *))
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    tr_progress p;
    tr_progress_init(&p, f, tty, 0, NULL);
    fn(&p);
    fclose(f);
    return s;
}

static void some_progress(tr_progress *p)
{
    for (size_t i = 0; i <= 8; i++)
        tr_progress_extract(p, i, 8);
    tr_epoch e = {.epoch = 3, .train_loss = 0.5, .train_accuracy = 0.75, .val_loss = 0.6, .val_accuracy = 0.7,
                  .val_macro_f1 = 0.65, .seconds = 2, .best = 1};
    tr_progress_step(p, 3, 10, 1, 10, 0.5);
    tr_progress_epoch(p, &e, 10, 6, 14);
}

/* A terminal gets redrawn lines; a file or pipe gets whole lines and no control characters. */
START_TEST(progress_terminal_and_plain)
{
    char *plain = capture(0, some_progress), *tty = capture(1, some_progress);
    ck_assert_ptr_null(strchr(plain, '\r'));
    ck_assert_ptr_null(strchr(plain, '\033'));
    ck_assert_ptr_nonnull(strstr(plain, "Features: extracting 8 files\n"));
    ck_assert_ptr_nonnull(strstr(plain, "Features: 8/8 files in "));
    ck_assert_ptr_nonnull(strstr(plain, "epoch  3/10  loss 0.5000  train acc 0.750  val loss 0.6000  val acc 0.700  "
                                        "val macro-F1 0.650 *"));
    ck_assert_ptr_nonnull(strstr(plain, "ETA 14.0s"));
    ck_assert_int_eq(tu_count_lines(plain), 5 + 1); /* the start, three quarters, the end, the epoch */
    ck_assert_ptr_nonnull(strstr(tty, "\rFeatures ["));
    ck_assert_ptr_nonnull(strstr(tty, "\033[K"));
    ck_assert_ptr_nonnull(strstr(tty, "8/8 files"));
    ck_assert_ptr_nonnull(strstr(tty, "\repoch  3/10  step 1/10  loss 0.5000"));
    ck_assert(tty[strlen(tty) - 1] == '\n'); /* the epoch line is closed */
    char buf[32];
    ck_assert_str_eq(tr_format_seconds(3725, buf, sizeof buf), "1h02m");
    ck_assert_str_eq(tr_format_seconds(185, buf, sizeof buf), "3m05s");
    free(plain), free(tty);
}
END_TEST

Suite *train_units_suite(void)
{
    Suite *s = suite_create("train_units");
    TCase *tc = tcase_create("units");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, options_parse_values);
    tcase_add_test(tc, task_option);
    tcase_add_test(tc, augment_options_are_the_batchers);
    tcase_add_test(tc, options_usage_errors);
    tcase_add_test(tc, help_lists_every_option_with_default);
    tcase_add_test(tc, fingerprint_covers_training_options_only);
    tcase_add_test(tc, schedule_cosine_and_step);
    tcase_add_test(tc, soft_step_equals_hard_step_on_one_hot);
    tcase_add_test(tc, checkpoint_state_roundtrip_and_refusal);
    tcase_add_test(tc, progress_terminal_and_plain);
    suite_add_tcase(s, tc);
    return s;
}
