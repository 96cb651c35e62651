/* Atomic writes under SIGKILL: aa-train, given a model file and a checkpoint from an earlier run, is killed
 * at many moments of its run (spread over it, and right after its temporary model or checkpoint file
 * appears, i.e. inside a write). After every kill the model and the checkpoint each are either the previous
 * file, byte for byte, or a complete new one: both load with their checksum verified. A temporary file a
 * kill leaves is removed by the next successful write of its target, and --resume from whatever checkpoint
 * survived completes. AA_SIGKILL_KILLS=N runs N kills instead of the default 100 (40 under make asan). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "demo/demo.h"
#include "model/model.h"
#include "nn/nn.h"
#include "tests/util/testutil.h"

/* A network of a few hundred parameters behind two pools: a run is a fraction of a second, so many runs
 * (and many write windows) fit in the test's time. */
#define ARCH "p2 p2 c4 relu gap fc"
#define EPOCHS "4"

typedef struct {
    char dir[256], data[320], model[320], ckpt[320], cache[320];
} kill_env;

static void make_env(kill_env *e)
{
    tu_mkdtemp(e->dir, sizeof e->dir);
    tu_path(e->data, sizeof e->data, e->dir, "demo");
    tu_path(e->model, sizeof e->model, e->dir, "m.aam");
    tu_path(e->ckpt, sizeof e->ckpt, e->dir, "run.ckpt");
    tu_path(e->cache, sizeof e->cache, e->dir, "feats.aacache");
    demo_corpus_opts o;
    demo_corpus_opts_default(&o);
    o.per_class = 8; /* 4 simulated people per class: enough for a grouped three-way split */
    o.seed = 5;
    aa_error err;
    ck_assert_msg(demo_corpus_write(e->data, &o, &err) == 0, "%s", err.msg);
}

/* Starts aa-train on the environment (seed decides which model a complete run writes; resume: continue
 * from the checkpoint), output discarded. Returns its pid. */
static pid_t spawn_train(const kill_env *e, int seed, int resume)
{
    char bin[512], seed_s[16];
    snprintf(bin, sizeof bin, "%s/aa-train", tu_build_dir());
    snprintf(seed_s, sizeof seed_s, "%d", seed);
    const char *argv[] = {bin, e->data, "-o", e->model, resume ? "--resume" : "--checkpoint", e->ckpt,
                          "--cache", e->cache, "--arch", ARCH, "--epochs", EPOCHS, "--patience", "0",
                          "--batch", "8", "-j", "1", "-q", "--seed", seed_s, NULL};
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static int wait_exit(pid_t pid)
{
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void sleep_s(double s)
{
    struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&t, &t) && errno == EINTR) {
    }
}

static void tmp_name(char *out, size_t cap, const char *target, pid_t pid)
{
    snprintf(out, cap, "%s.tmp.%ld", target, (long)pid);
}

/* The model and the checkpoint load, checksums verified. */
static void assert_both_load(const kill_env *e, int kill_no)
{
    aa_error err;
    am_model *m = am_load(e->model, 1, &err);
    ck_assert_msg(m != NULL, "kill %d: the model does not load: %s", kill_no, err.msg);
    am_free(m);
    nn_model *net = NULL;
    nn_optimizer *opt = NULL;
    nn_meta *meta = NULL;
    ck_assert_msg(nn_checkpoint_load(e->ckpt, 8, &net, &opt, NULL, &meta, &err) == 0,
                  "kill %d: the checkpoint does not load: %s", kill_no, err.msg);
    nn_model_free(net);
    nn_opt_free(opt);
    nn_meta_free(meta);
}

typedef struct {
    int kills;            /* runs that died of the SIGKILL (not finished before it) */
    int finished;         /* runs that ended on their own before the kill arrived */
    int in_model_write;   /* kills that left the model's temporary file: between open and rename */
    int in_ckpt_write;    /* the same for the checkpoint */
    int in_other_write;   /* another temporary file (split table, feature cache) */
    int model_kept, model_new, ckpt_kept, ckpt_new;
} kill_tally;

/* 1 if the file at path holds exactly `bytes` (n of them). */
static int same_bytes(const char *path, const void *bytes, size_t n)
{
    size_t m;
    void *b = tu_read_file(path, &m);
    int same = b && m == n && !memcmp(b, bytes, n);
    free(b);
    return same;
}

/* One run killed `delay` seconds after its start, or (poll_for != NULL) as soon as the temporary file
 * of poll_for appears after `delay`. Checks both files afterwards and tallies what happened. */
static void kill_once(const kill_env *e, int kill_no, int seed, double delay, const char *poll_for, double limit,
                      kill_tally *t)
{
    size_t nm, nc;
    void *prev_model = tu_read_file(e->model, &nm);
    void *prev_ckpt = tu_read_file(e->ckpt, &nc);
    ck_assert(prev_model && prev_ckpt);
    pid_t pid = spawn_train(e, seed, 0);
    char mt[400], ct[400], watched[400];
    tmp_name(mt, sizeof mt, e->model, pid);
    tmp_name(ct, sizeof ct, e->ckpt, pid);
    double t0 = now();
    sleep_s(delay);
    int st = 0;
    pid_t reaped = 0;
    if (poll_for) {
        /* The start-up check of the outputs opens and removes a temporary file at once; the delay skips
         * it, and the poll then waits for a real write. */
        tmp_name(watched, sizeof watched, poll_for, pid);
        while (access(watched, F_OK) != 0 && now() - t0 < limit && !(reaped = waitpid(pid, &st, WNOHANG))) {
        }
    }
    int rc;
    if (reaped == pid) {
        rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    } else {
        kill(pid, SIGKILL);
        rc = wait_exit(pid);
    }
    if (rc == 128 + SIGKILL) {
        t->kills++;
        int in_m = access(mt, F_OK) == 0, in_c = access(ct, F_OK) == 0;
        t->in_model_write += in_m;
        t->in_ckpt_write += in_c;
        char split[420], split_t[460], cache_t[460];
        snprintf(split, sizeof split, "%s.split.tsv", e->model);
        tmp_name(split_t, sizeof split_t, split, pid);
        tmp_name(cache_t, sizeof cache_t, e->cache, pid);
        t->in_other_write += !in_m && !in_c && (access(split_t, F_OK) == 0 || access(cache_t, F_OK) == 0);
    } else {
        ck_assert_msg(rc == 0, "kill %d: the run failed by itself (exit %d)", kill_no, rc);
        t->finished++;
    }
    assert_both_load(e, kill_no);
    int mk = same_bytes(e->model, prev_model, nm), ck = same_bytes(e->ckpt, prev_ckpt, nc);
    t->model_kept += mk, t->model_new += !mk;
    t->ckpt_kept += ck, t->ckpt_new += !ck;
    free(prev_model);
    free(prev_ckpt);
}

static int kills_wanted(void)
{
    const char *s = getenv("AA_SIGKILL_KILLS");
    int n = s ? atoi(s) : 0;
    /* A run takes about 0.1 s here (about 1 s under the sanitizers). */
    return n > 0 ? n : tu_sanitized() ? 40 : 100;
}

START_TEST(kills_never_tear_the_model_or_checkpoint)
{
    kill_env e;
    make_env(&e);
    /* The previous files: a complete run of seed 1. The first run also builds the feature cache, so the
     * killed runs spend their time training and writing; it is not the one timed, since building the cache
     * can double its length and delays scaled by it then land after most runs have ended. The delays are
     * scaled by the shorter of two runs with the cache there (seed 2, then seed 1 again). */
    ck_assert_int_eq(wait_exit(spawn_train(&e, 1, 0)), 0);
    double full = 0;
    for (int seed = 2; seed >= 1; seed--) {
        double t0 = now();
        ck_assert_int_eq(wait_exit(spawn_train(&e, seed, 0)), 0);
        double took = now() - t0;
        full = seed == 2 || took < full ? took : full;
    }
    ck_assert_int_eq(tu_count_entries(e.dir, ".tmp."), 0);
    assert_both_load(&e, 0);

    int n = kills_wanted();
    kill_tally t = {0};
    for (int k = 0; k < n; k++) {
        /* Seeds alternate, so a complete new model differs from the previous one and the tally can tell
         * "kept" from "new". Even kills: delays spread evenly over 1.2 runs' time. Odd kills: wait for a
         * temporary model or checkpoint file (alternately) after a delay spread over the run. */
        int seed = 1 + k % 2;
        double frac = (double)(k / 2) / (double)((n + 1) / 2);
        if (k % 2 == 0)
            kill_once(&e, k + 1, seed, 1.2 * full * frac, NULL, 0, &t);
        else
            kill_once(&e, k + 1, seed, 0.05 * full + 0.8 * full * frac, (k / 2) % 2 ? e.ckpt : e.model,
                      3 * full + 1, &t);
    }
    int stale = tu_count_entries(e.dir, ".tmp.");
    fprintf(stderr,
            "sigkill: %d runs, %d killed (%d inside the model's write, %d inside the checkpoint's, %d inside "
            "another), %d finished first; model kept %d / new %d, checkpoint kept %d / new %d; %d temporary "
            "files left; one run %.2f s\n",
            n, t.kills, t.in_model_write, t.in_ckpt_write, t.in_other_write, t.finished, t.model_kept,
            t.model_new, t.ckpt_kept, t.ckpt_new, stale, full);
    /* At least half the runs must die of the kill, and a good share inside a write, or the test proves
     * little: the polled kills (half the runs) are aimed at writes; a quarter of them is a loose floor
     * for a loaded machine where the poller may be descheduled past a short window. */
    ck_assert_msg(t.kills >= n / 2, "only %d of %d runs were killed", t.kills, n);
    ck_assert_msg(t.in_model_write + t.in_ckpt_write >= n / 8, "only %d kills landed inside a write",
                  t.in_model_write + t.in_ckpt_write);

    /* Resume from the checkpoint that survived the last kill: its options are seed 1 or 2, whichever run
     * wrote it last; the other seed is refused as a changed option, exit 1 before any training. */
    int rc = wait_exit(spawn_train(&e, 1, 1));
    if (rc != 0)
        rc = wait_exit(spawn_train(&e, 2, 1));
    ck_assert_msg(rc == 0, "resume failed: exit %d", rc);
    assert_both_load(&e, n + 1);
    /* A complete run commits the model, the split table and checkpoints: each commit removes the
     * temporaries its target's killed writers left (a later run's commit may already have removed some
     * before now, so one more of each is planted under a PID that has just exited). A temporary file of a
     * live process (this test's), and a name that is not TARGET.tmp.PID, are left alone. */
    pid_t dead = fork();
    ck_assert_int_ge(dead, 0);
    if (dead == 0)
        _exit(0);
    ck_assert_int_eq(wait_exit(dead), 0);
    char p[400];
    tmp_name(p, sizeof p, e.model, dead);
    tu_write_file(p, "torn", 4);
    tmp_name(p, sizeof p, e.ckpt, dead);
    tu_write_file(p, "torn", 4);
    char live[400], other[400];
    tmp_name(live, sizeof live, e.model, getpid());
    tu_write_file(live, "in use", 6);
    snprintf(other, sizeof other, "%s.tmp.12x", e.model);
    tu_write_file(other, "not ours", 8);
    ck_assert_int_eq(wait_exit(spawn_train(&e, 1, 0)), 0);
    ck_assert_msg(tu_exists(live) && tu_exists(other), "a live writer's or a foreign file was removed");
    remove(live);
    remove(other);
    ck_assert_msg(tu_count_entries(e.dir, ".tmp.") == 0, "%d temporary files are left after a complete run",
                  tu_count_entries(e.dir, ".tmp."));
    tu_rmtree(e.dir);
}
END_TEST

Suite *sigkill_suite(void)
{
    Suite *s = suite_create("sigkill");
    TCase *tc = tcase_create("sigkill");
    /* 100 runs of about 0.1 s each on an idle machine, 10 s in all (x8 under make asan, with 40 runs). */
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, kills_never_tear_the_model_or_checkpoint);
    suite_add_tcase(s, tc);
    return s;
}
