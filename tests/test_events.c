/* eval/: scoring a timeline's events against a reference — constructed cases with known answers (the
 * collar's edge, split events, double detections, two recordings, substitutions, empty lists, a case where
 * greedy pairing loses a hit, false alarms per hour, timing errors), the matching against brute force on
 * random cases, the reference reader (format, merging, every error, truncated and garbage input), the
 * file-name rule, and the text and JSON reports. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "demo/demo.h"
#include "eval/eval.h"
#include "tests/util/jsonparse.h"
#include "tests/util/testutil.h"

/* Every expected figure is a ratio of small integers or a sum of a few decimal times, computed in double
 * both here and in the code: 1e-12 leaves room for a different order of operations. */
#define EXACT 1e-12

enum { BG = 0, COUGH = 1, HEAVY = 2, NORMAL = 3, K = 4 };
static const char *const CLASSES[K] = {"background_noise", "cough", "heavy_breathing", "normal_breathing"};
static const char *const LABELS[K] = {"Background Noise", "Cough", "Heavy Breathing", "Normal Breathing"};

static ev_event E(double on, double off, int cls, size_t file)
{
    return (ev_event){on, off, cls, file};
}

/* One recording of an hour unless said otherwise. */
static const ev_recording ONE_HOUR[1] = {{"long.wav", 3600}};

static ev_event_eval *score(size_t nr, const ev_event *r, size_t ne, const ev_event *e, const ev_event_opts *o)
{
    aa_error err = {0};
    ev_event_eval *s = ev_events_score(nr, r, ne, e, 1, ONE_HOUR, K, o, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    return s;
}

static ev_event_opts onset_only(void)
{
    return ev_event_opts_default();
}

/* sed_eval's default rule: offsets compared too */
static ev_event_opts with_offsets(void)
{
    ev_event_opts o = ev_event_opts_default();
    o.offset = 1;
    return o;
}

/* ---- the matching rule ------------------------------------------------------------------------------------ */

START_TEST(defaults_are_stated)
{
    ev_event_opts o = ev_event_opts_default();
    ck_assert_double_eq(o.collar, 1.0);
    ck_assert_int_eq(o.offset, 0); /* onsets only: eval.h says why */
    ck_assert_double_eq(o.offset_length, 0.5);
    ck_assert_int_eq(o.ignore_class, -1);
}
END_TEST

START_TEST(hit_at_the_collar_edge_and_just_beyond)
{
    /* 2.2 - 1.2 is 1.0000000000000002 in binary: a comparison without the allowance would miss it */
    ck_assert(2.2 - 1.2 > 1.0);
    ev_event ref[1] = {E(1.2, 1.7, COUGH, 0)};
    /* onset 1 s late, offset 1 s late (the allowance is max(1, 0.5 x 0.5 s) = 1 s): both on the edge */
    ev_event late[1] = {E(2.2, 2.7, COUGH, 0)};
    ev_event_opts off = with_offsets();
    ev_event_eval *s = score(1, ref, 1, late, &off);
    ck_assert_uint_eq(s->overall.hits, 1);
    ck_assert_uint_eq(s->ref_hit[0], 0);
    ev_event_eval_free(s);
    /* 1 s early */
    ev_event early[1] = {E(0.2, 0.7, COUGH, 0)};
    s = score(1, ref, 1, early, &off);
    ck_assert_uint_eq(s->overall.hits, 1);
    ev_event_eval_free(s);
    /* a microsecond beyond the onset collar: a deletion and an insertion, no substitution (same class) */
    ev_event beyond[1] = {E(2.2 + 1e-6, 2.7, COUGH, 0)};
    s = score(1, ref, 1, beyond, NULL);
    ck_assert_uint_eq(s->overall.hits, 0);
    ck_assert_uint_eq(s->overall.deletions, 1);
    ck_assert_uint_eq(s->overall.insertions, 1);
    ck_assert_uint_eq(s->overall.substitutions, 0);
    ck_assert_uint_eq(s->ref_hit[0], EV_NO_EVENT);
    ck_assert_uint_eq(s->est_hit[0], EV_NO_EVENT);
    ev_event_eval_free(s);
    /* onset on time, offset a microsecond beyond its 1 s: a miss with offsets, a hit without (the default) */
    ev_event long_tail[1] = {E(1.2, 2.7 + 1e-6, COUGH, 0)};
    s = score(1, ref, 1, long_tail, &off);
    ck_assert_uint_eq(s->overall.hits, 0);
    ev_event_eval_free(s);
    s = score(1, ref, 1, long_tail, NULL);
    ck_assert_uint_eq(s->overall.hits, 1);
    ev_event_eval_free(s);
}
END_TEST

START_TEST(offset_allowance_grows_with_the_length)
{
    /* 4 s long: the offset allowance is max(1 s, 0.5 x 4 s) = 2 s */
    ev_event ref[1] = {E(10, 14, HEAVY, 0)};
    ev_event at[1] = {E(10, 16, HEAVY, 0)}, past[1] = {E(10, 16.001, HEAVY, 0)}, early[1] = {E(10.5, 12, HEAVY, 0)};
    ev_event_opts off = with_offsets();
    ev_event_eval *s = score(1, ref, 1, at, &off);
    ck_assert_uint_eq(s->overall.hits, 1);
    ev_event_eval_free(s);
    s = score(1, ref, 1, past, &off);
    ck_assert_uint_eq(s->overall.hits, 0);
    ev_event_eval_free(s);
    s = score(1, ref, 1, early, &off);
    ck_assert_uint_eq(s->overall.hits, 1);
    ev_event_eval_free(s);
    /* offset_length 0.25: the allowance is max(1, 1) = 1 s, so 16 is out and 15 in */
    ev_event_opts o = with_offsets();
    o.offset_length = 0.25;
    s = score(1, ref, 1, at, &o);
    ck_assert_uint_eq(s->overall.hits, 0);
    ev_event_eval_free(s);
    ev_event at15[1] = {E(10, 15, HEAVY, 0)};
    s = score(1, ref, 1, at15, &o);
    ck_assert_uint_eq(s->overall.hits, 1);
    ev_event_eval_free(s);
    /* a wider collar widens the onset window and the smallest offset allowance */
    o = with_offsets();
    o.collar = 2.5;
    ev_event far[1] = {E(12.5, 16.5, HEAVY, 0)};
    s = score(1, ref, 1, far, &o);
    ck_assert_uint_eq(s->overall.hits, 1);
    ev_event_eval_free(s);
}
END_TEST

START_TEST(short_sound_reported_a_window_long)
{
    /* The demo recording's first cough, [1.244, 2.230] s, as the demo model's timeline reports it from the
     * recording's first 4 s window: [0.75, 4.00]. Onsets alone: a hit whose offset is 1.77 s late. With
     * offsets: a miss and a false alarm, though the cough was found. */
    ev_event ref[1] = {E(1.244, 2.230, COUGH, 0)};
    ev_event est[1] = {E(0.75, 4.00, COUGH, 0)};
    ev_event_eval *s = score(1, ref, 1, est, NULL);
    ck_assert_uint_eq(s->overall.hits, 1);
    ck_assert_uint_eq(s->overall.false_alarms, 0);
    ck_assert_double_eq_tol(s->overall.offset.mean, 4.00 - 2.230, 1e-12);
    ck_assert_double_eq_tol(s->overall.onset.mean, 0.75 - 1.244, 1e-12);
    ev_event_eval_free(s);
    ev_event_opts o = with_offsets();
    s = score(1, ref, 1, est, &o);
    ck_assert_uint_eq(s->overall.hits, 0);
    ck_assert_uint_eq(s->overall.false_alarms, 1);
    ck_assert_uint_eq(s->overall.deletions, 1);
    ev_event_eval_free(s);
}
END_TEST

START_TEST(split_event_is_one_hit_and_one_insertion)
{
    /* one 10 s bout reported as two pieces: the first starts on time and ends 4.5 s early (allowance
     * max(1, 5) = 5 s), the second starts 6 s late */
    ev_event ref[1] = {E(10, 20, HEAVY, 0)};
    ev_event est[2] = {E(10.2, 15.5, HEAVY, 0), E(16, 20, HEAVY, 0)};
    for (int mode = 0; mode < 2; mode++) {
        ev_event_opts o = mode ? onset_only() : with_offsets();
        ev_event_eval *s = score(1, ref, 2, est, &o);
        ck_assert_uint_eq(s->overall.hits, 1);
        ck_assert_uint_eq(s->est_hit[0], 0);
        ck_assert_uint_eq(s->est_hit[1], EV_NO_EVENT);
        ck_assert_uint_eq(s->overall.insertions, 1);
        ck_assert_uint_eq(s->overall.deletions, 0);
        ck_assert_double_eq_tol(s->overall.precision, 0.5, EXACT);
        ck_assert_double_eq_tol(s->overall.recall, 1.0, EXACT);
        ck_assert_double_eq_tol(s->overall.f1, 2.0 / 3, EXACT);
        ck_assert_double_eq_tol(s->overall.error_rate, 1.0, EXACT); /* (0 + 0 + 1) / 1 */
        ck_assert_uint_eq(s->per_class[HEAVY].false_alarms, 1);
        ev_event_eval_free(s);
    }
}
END_TEST

START_TEST(two_detections_of_one_event)
{
    ev_event ref[1] = {E(5, 6, COUGH, 0)};
    ev_event est[2] = {E(5.1, 6.0, COUGH, 0), E(5.3, 6.1, COUGH, 0)};
    ev_event_eval *s = score(1, ref, 2, est, NULL);
    ck_assert_uint_eq(s->overall.hits, 1);
    ck_assert_uint_eq(s->overall.insertions, 1);
    ck_assert_uint_eq(s->overall.false_alarms, 1);
    ck_assert((s->est_hit[0] == EV_NO_EVENT) != (s->est_hit[1] == EV_NO_EVENT));
    ck_assert_double_eq_tol(s->per_class[COUGH].precision, 0.5, EXACT);
    ck_assert_double_eq_tol(s->per_class[COUGH].recall, 1.0, EXACT);
    ev_event_eval_free(s);
}
END_TEST

START_TEST(events_never_match_across_recordings)
{
    ev_recording recs[2] = {{"a.wav", 60}, {"b.wav", 60}};
    /* the same times in two recordings, and a pair that does match in the second */
    ev_event ref[2] = {E(3, 4, COUGH, 0), E(10, 11, COUGH, 1)};
    ev_event est[2] = {E(3, 4, COUGH, 1), E(10, 11, COUGH, 1)};
    aa_error err;
    ev_event_eval *s = ev_events_score(2, ref, 2, est, 2, recs, K, NULL, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    ck_assert_uint_eq(s->overall.hits, 1);
    ck_assert_uint_eq(s->ref_hit[1], 1);
    ck_assert_uint_eq(s->ref_hit[0], EV_NO_EVENT);
    ck_assert_uint_eq(s->overall.deletions, 1);
    ck_assert_uint_eq(s->overall.insertions, 1);
    ck_assert_uint_eq(s->overall.substitutions, 0);
    ck_assert_uint_eq(s->files[0].reference, 1);
    ck_assert_uint_eq(s->files[0].estimated, 0);
    ck_assert_uint_eq(s->files[0].hits, 0);
    ck_assert_uint_eq(s->files[1].reference, 1);
    ck_assert_uint_eq(s->files[1].estimated, 2);
    ck_assert_uint_eq(s->files[1].hits, 1);
    ck_assert_str_eq(s->files[1].name, "b.wav");
    ck_assert_double_eq_tol(s->duration_s, 120, EXACT);
    /* 1 false alarm in 2 minutes: 30 per hour */
    ck_assert_double_eq_tol(s->overall.false_alarms_per_hour, 30, EXACT);
    ev_event_eval_free(s);
    /* a label mismatch in another recording is no substitution either */
    ev_event other[1] = {E(3, 4, HEAVY, 1)};
    s = ev_events_score(1, ref, 1, other, 2, recs, K, NULL, &err);
    ck_assert_uint_eq(s->overall.substitutions, 0);
    ev_event_eval_free(s);
}
END_TEST

START_TEST(label_mismatch_is_a_substitution)
{
    ev_event ref[1] = {E(3, 4, COUGH, 0)};
    ev_event est[1] = {E(3.2, 4.1, HEAVY, 0)};
    ev_event_eval *s = score(1, ref, 1, est, NULL);
    ck_assert_uint_eq(s->overall.hits, 0);
    ck_assert_uint_eq(s->overall.substitutions, 1);
    ck_assert_uint_eq(s->overall.deletions, 0);
    ck_assert_uint_eq(s->overall.insertions, 0);
    ck_assert_uint_eq(s->overall.false_alarms, 1); /* still an estimate that found no event of its class */
    ck_assert_double_eq_tol(s->overall.error_rate, 1.0, EXACT);
    ck_assert_uint_eq(s->ref_sub[0], 0);
    ck_assert_uint_eq(s->est_sub[0], 0);
    /* per class there are no substitutions: a deletion of Cough, an insertion of Heavy Breathing */
    ck_assert_uint_eq(s->per_class[COUGH].deletions, 1);
    ck_assert_double_eq_tol(s->per_class[COUGH].error_rate, 1.0, EXACT);
    ck_assert_uint_eq(s->per_class[HEAVY].insertions, 1);
    ck_assert_double_eq_tol(s->per_class[HEAVY].error_rate, 0.0, EXACT); /* 1 insertion / 0 reference: 0 */
    ck_assert_double_eq_tol(s->per_class[HEAVY].false_alarms_per_hour, 1.0, EXACT);
    /* macro over the two classes with events (not background or normal breathing) */
    ck_assert_int_eq(s->macro_classes, 2);
    ck_assert_double_eq_tol(s->macro_f1, 0.0, EXACT);
    ck_assert_double_eq_tol(s->macro_error_rate, 0.5, EXACT);
    ev_event_eval_free(s);
    /* too far apart in time to be one event: a deletion and an insertion instead */
    ev_event far[1] = {E(8, 9, HEAVY, 0)};
    s = score(1, ref, 1, far, NULL);
    ck_assert_uint_eq(s->overall.substitutions, 0);
    ck_assert_uint_eq(s->overall.deletions, 1);
    ck_assert_uint_eq(s->overall.insertions, 1);
    ck_assert_double_eq_tol(s->overall.error_rate, 2.0, EXACT);
    ev_event_eval_free(s);
}
END_TEST

START_TEST(error_rate_counts_as_sed_eval)
{
    /* one of each: a hit, a substitution, a deletion, an insertion */
    ev_event ref[3] = {E(1, 2, COUGH, 0), E(10, 15, HEAVY, 0), E(30, 35, NORMAL, 0)};
    ev_event est[3] = {E(1.1, 2.0, NORMAL, 0), E(10.5, 15.2, HEAVY, 0), E(50, 51, COUGH, 0)};
    ev_event_eval *s = score(3, ref, 3, est, NULL);
    const ev_event_counts *o = &s->overall;
    ck_assert_uint_eq(o->reference, 3);
    ck_assert_uint_eq(o->estimated, 3);
    ck_assert_uint_eq(o->hits, 1);
    ck_assert_uint_eq(o->substitutions, 1);
    ck_assert_uint_eq(o->deletions, 1);
    ck_assert_uint_eq(o->insertions, 1);
    ck_assert_uint_eq(o->false_alarms, 2);
    ck_assert_double_eq_tol(o->precision, 1.0 / 3, EXACT);
    ck_assert_double_eq_tol(o->recall, 1.0 / 3, EXACT);
    ck_assert_double_eq_tol(o->error_rate, 1.0, EXACT);
    ck_assert_uint_eq(s->ref_sub[0], 0); /* Cough at 1 s was called Normal Breathing */
    ck_assert_uint_eq(s->ref_hit[1], 1);
    ck_assert_uint_eq(s->ref_sub[2], EV_NO_EVENT);
    /* per class: Cough 1 ref, 1 est, 0 hits -> ER (1 + 1) / 1; Heavy perfect; Normal 1 ref 1 est 0 hits */
    ck_assert_double_eq_tol(s->per_class[COUGH].error_rate, 2.0, EXACT);
    ck_assert_double_eq_tol(s->per_class[HEAVY].f1, 1.0, EXACT);
    ck_assert_double_eq_tol(s->per_class[NORMAL].error_rate, 2.0, EXACT);
    ck_assert_int_eq(s->macro_classes, 3);
    ck_assert_double_eq_tol(s->macro_f1, 1.0 / 3, EXACT);
    ck_assert_double_eq_tol(s->macro_error_rate, 4.0 / 3, EXACT);
    ck_assert_double_eq_tol(s->macro_precision, 1.0 / 3, EXACT);
    ev_event_eval_free(s);
}
END_TEST

START_TEST(empty_estimates)
{
    ev_event ref[3] = {E(1, 2, COUGH, 0), E(5, 9, HEAVY, 0), E(20, 21, COUGH, 0)};
    ev_event_eval *s = score(3, ref, 0, NULL, NULL);
    ck_assert_uint_eq(s->overall.estimated, 0);
    ck_assert_double_eq(s->overall.precision, 0); /* 0/0 reported as 0, with its counts */
    ck_assert_double_eq(s->overall.recall, 0);
    ck_assert_double_eq(s->overall.f1, 0);
    ck_assert_uint_eq(s->overall.deletions, 3);
    ck_assert_double_eq_tol(s->overall.error_rate, 1.0, EXACT);
    ck_assert_double_eq(s->overall.false_alarms_per_hour, 0);
    ck_assert_uint_eq(s->overall.onset.n, 0);
    ck_assert_double_eq(s->overall.onset.median_abs, 0);
    ck_assert_int_eq(s->macro_classes, 2);
    ev_event_eval_free(s);
}
END_TEST

START_TEST(empty_reference)
{
    ev_recording half[1] = {{"quiet.wav", 1800}};
    ev_event est[2] = {E(1, 2, COUGH, 0), E(5, 9, HEAVY, 0)};
    aa_error err;
    ev_event_eval *s = ev_events_score(0, NULL, 2, est, 1, half, K, NULL, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    ck_assert_double_eq(s->overall.precision, 0); /* 0/2 */
    ck_assert_double_eq(s->overall.recall, 0);    /* 0/0: reported as 0 */
    ck_assert_double_eq(s->overall.error_rate, 0); /* 2 insertions over 0 reference events: 0, not 4.5e15 */
    ck_assert_uint_eq(s->overall.insertions, 2);
    ck_assert_double_eq_tol(s->overall.false_alarms_per_hour, 4.0, EXACT); /* 2 in half an hour */
    ck_assert_double_eq_tol(s->per_class[COUGH].false_alarms_per_hour, 2.0, EXACT);
    ev_event_eval_free(s);
    /* nothing at all, and no recordings: every figure 0 */
    s = ev_events_score(0, NULL, 0, NULL, 0, NULL, K, NULL, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    ck_assert_double_eq(s->overall.f1, 0);
    ck_assert_double_eq(s->overall.false_alarms_per_hour, 0);
    ck_assert_int_eq(s->macro_classes, 0);
    ck_assert_double_eq(s->macro_f1, 0);
    ev_event_eval_free(s);
}
END_TEST

/* The pairing a greedy matcher makes: each reference event in onset order takes the first free estimate
 * (in onset order) that may pair with it — sed_eval's 'greedy' on sorted lists. */
static size_t greedy_hits(size_t nr, const ev_event *r, size_t ne, const ev_event *e, double collar)
{
    int used[16] = {0};
    ck_assert_uint_le(ne, 16);
    size_t hits = 0;
    for (size_t i = 0; i < nr; i++)
        for (size_t j = 0; j < ne; j++) {
            double allow = fmax(collar, 0.5 * (r[i].offset - r[i].onset));
            if (!used[j] && r[i].cls == e[j].cls && fabs(e[j].onset - r[i].onset) <= collar + 1e-9 &&
                fabs(e[j].offset - r[i].offset) <= allow + 1e-9) {
                used[j] = 1;
                hits++;
                break;
            }
        }
    return hits;
}

START_TEST(optimal_matching_beats_greedy)
{
    /* With offsets compared: P fits both reference events; Q, later, fits only A (its offset is 1.05 s from
     * B's). Greedy gives A
     * the first estimate, P, and leaves B nothing: 1 hit. The maximum matching pairs A-Q and B-P: 2. */
    ev_event ref[2] = {E(0, 0.5, COUGH, 0), E(0.8, 1.6, COUGH, 0)};
    ev_event est[2] = {E(0.4, 1.2, COUGH, 0), E(0.45, 0.55, COUGH, 0)};
    ck_assert_uint_eq(greedy_hits(2, ref, 2, est, 1.0), 1);
    ev_event_opts o = with_offsets();
    ev_event_eval *s = score(2, ref, 2, est, &o);
    ck_assert_uint_eq(s->overall.hits, 2);
    ck_assert_uint_eq(s->ref_hit[0], 1);
    ck_assert_uint_eq(s->ref_hit[1], 0);
    ck_assert_double_eq_tol(s->overall.f1, 1.0, EXACT);
    ev_event_eval_free(s);
}
END_TEST

START_TEST(false_alarms_per_hour_on_known_durations)
{
    ev_recording recs[2] = {{"a.wav", 1200}, {"b.wav", 2400}}; /* one hour */
    ev_event ref[1] = {E(100, 104, HEAVY, 1)};
    ev_event est[4] = {E(10, 11, COUGH, 0), E(500, 501, COUGH, 0), E(7, 8, COUGH, 1), E(100.5, 104.5, HEAVY, 1)};
    aa_error err;
    ev_event_eval *s = ev_events_score(1, ref, 4, est, 2, recs, K, NULL, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    ck_assert_double_eq_tol(s->per_class[COUGH].false_alarms_per_hour, 3.0, EXACT);
    ck_assert_double_eq_tol(s->per_class[HEAVY].false_alarms_per_hour, 0.0, EXACT);
    ck_assert_double_eq_tol(s->overall.false_alarms_per_hour, 3.0, EXACT);
    ev_event_eval_free(s);
    /* the same events in half the audio: twice the rate */
    recs[1].duration_s = 600;
    s = ev_events_score(1, ref, 4, est, 2, recs, K, NULL, &err);
    ck_assert_double_eq_tol(s->overall.false_alarms_per_hour, 6.0, EXACT);
    ev_event_eval_free(s);
}
END_TEST

START_TEST(onset_and_offset_errors_of_the_hits)
{
    /* onset errors +0.2, -0.3, +0.4, +0.1; offset errors +0.1, 0, -0.2, 0; one estimate that is no hit */
    ev_event ref[4] = {E(1, 2, COUGH, 0), E(10, 11, COUGH, 0), E(20, 21, COUGH, 0), E(30, 34, HEAVY, 0)};
    ev_event est[5] = {E(1.2, 2.1, COUGH, 0), E(9.7, 11.0, COUGH, 0), E(20.4, 20.8, COUGH, 0),
                       E(30.1, 34, HEAVY, 0), E(60, 61, COUGH, 0)};
    ev_event_eval *s = score(4, ref, 5, est, NULL);
    ck_assert_uint_eq(s->overall.hits, 4);
    const ev_time_error *on = &s->overall.onset, *off = &s->overall.offset;
    /* tolerance: the differences of decimal times carry about 1e-15 each */
    ck_assert_uint_eq(on->n, 4);
    ck_assert_double_eq_tol(on->mean, (0.2 - 0.3 + 0.4 + 0.1) / 4, 1e-12);
    ck_assert_double_eq_tol(on->mean_abs, (0.2 + 0.3 + 0.4 + 0.1) / 4, 1e-12);
    ck_assert_double_eq_tol(on->median_abs, (0.2 + 0.3) / 2, 1e-12); /* |e| sorted: .1 .2 .3 .4 */
    ck_assert_double_eq_tol(off->mean, (0.1 + 0 - 0.2 + 0) / 4, 1e-12);
    ck_assert_double_eq_tol(off->mean_abs, 0.3 / 4, 1e-12);
    ck_assert_double_eq_tol(off->median_abs, 0.05, 1e-12); /* |e| sorted: 0 0 .1 .2 */
    /* per class: Cough's three hits, odd count */
    const ev_time_error *c = &s->per_class[COUGH].onset;
    ck_assert_uint_eq(c->n, 3);
    ck_assert_double_eq_tol(c->median_abs, 0.3, 1e-12);
    ck_assert_double_eq_tol(c->mean, 0.1, 1e-12);
    ck_assert_uint_eq(s->per_class[HEAVY].onset.n, 1);
    ck_assert_double_eq_tol(s->per_class[HEAVY].onset.median_abs, 0.1, 1e-12);
    ev_event_eval_free(s);
}
END_TEST

START_TEST(ignored_class_is_left_out)
{
    ev_event ref[2] = {E(0, 40, BG, 0), E(5, 6, COUGH, 0)};
    ev_event est[3] = {E(0, 40, BG, 0), E(5, 6, COUGH, 0), E(12, 13, BG, 0)};
    ev_event_opts o = ev_event_opts_default();
    o.ignore_class = BG;
    ev_event_eval *s = score(2, ref, 3, est, &o);
    ck_assert_uint_eq(s->ignored_reference, 1);
    ck_assert_uint_eq(s->ignored_estimated, 2);
    ck_assert_uint_eq(s->overall.reference, 1);
    ck_assert_uint_eq(s->overall.estimated, 1);
    ck_assert_double_eq_tol(s->overall.f1, 1.0, EXACT);
    ck_assert_uint_eq(s->per_class[BG].reference, 0);
    ck_assert_uint_eq(s->ref_hit[0], EV_NO_EVENT);
    ck_assert_int_eq(s->macro_classes, 1);
    ck_assert_uint_eq(s->files[0].estimated, 1);
    ev_event_eval_free(s);
    /* without it, background is a class like any other */
    s = score(2, ref, 3, est, NULL);
    ck_assert_uint_eq(s->overall.hits, 2);
    ck_assert_uint_eq(s->overall.insertions, 1);
    ev_event_eval_free(s);
}
END_TEST

START_TEST(bad_inputs_are_refused)
{
    ev_event good[1] = {E(1, 2, COUGH, 0)};
    struct {
        ev_event e;
        const char *what;
    } bad[] = {
        {E(1, 2, 7, 0), "estimated event 0 has class 7 (classes are 0..3)"},
        {E(1, 2, -1, 0), "class -1"},
        {E(-0.5, 2, COUGH, 0), "negative onset"},
        {E(NAN, 2, COUGH, 0), "not finite"},
        {E(1, INFINITY, COUGH, 0), "not finite"},
        {E(3, 2, COUGH, 0), "onset 3 s after its offset 2 s"},
        {E(1, 2, COUGH, 1), "in recording 1 (1 recordings)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        aa_error err = {0};
        ck_assert_ptr_null(ev_events_score(1, good, 1, &bad[i].e, 1, ONE_HOUR, K, NULL, &err));
        ck_assert_int_eq(err.code, EV_ERR_ARG);
        ck_assert_msg(strstr(err.msg, bad[i].what), "case %zu: '%s'", i, err.msg);
        ck_assert_ptr_null(ev_events_score(1, &bad[i].e, 1, good, 1, ONE_HOUR, K, NULL, &err));
        ck_assert_msg(strstr(err.msg, "reference event 0"), "case %zu: '%s'", i, err.msg);
    }
    aa_error err;
    ev_event_opts o = ev_event_opts_default();
    o.collar = -1;
    ck_assert_ptr_null(ev_events_score(1, good, 1, good, 1, ONE_HOUR, K, &o, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "collar -1"));
    o.collar = NAN;
    ck_assert_ptr_null(ev_events_score(1, good, 1, good, 1, ONE_HOUR, K, &o, &err));
    o = ev_event_opts_default();
    o.offset_length = INFINITY;
    ck_assert_ptr_null(ev_events_score(1, good, 1, good, 1, ONE_HOUR, K, &o, &err));
    o = ev_event_opts_default();
    o.ignore_class = K;
    ck_assert_ptr_null(ev_events_score(1, good, 1, good, 1, ONE_HOUR, K, &o, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "ignored class 4"));
    ev_recording nan_long[1] = {{"x.wav", NAN}};
    ck_assert_ptr_null(ev_events_score(1, good, 1, good, 1, nan_long, K, NULL, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "duration"));
    ck_assert_ptr_null(ev_events_score(1, good, 1, good, 1, ONE_HOUR, 0, NULL, &err));
    ck_assert_int_eq(err.code, EV_ERR_ARG);
}
END_TEST

/* ---- the matching against brute force ------------------------------------------------------------------------ */

/* The largest number of hits any one-to-one pairing of r [nr] and e [ne] can make (nr, ne <= 8): a search
 * over the subsets of estimates already taken. */
static int best_pairing(size_t nr, const ev_event *r, size_t ne, const ev_event *e, const ev_event_opts *o, size_t i,
                        unsigned taken, int memo[9][256])
{
    if (i == nr)
        return 0;
    if (memo[i][taken] >= 0)
        return memo[i][taken];
    int best = best_pairing(nr, r, ne, e, o, i + 1, taken, memo);
    for (size_t j = 0; j < ne; j++) {
        if (taken & (1u << j) || r[i].cls != e[j].cls || r[i].file != e[j].file)
            continue;
        double allow = fmax(o->collar, o->offset_length * (r[i].offset - r[i].onset));
        if (fabs(e[j].onset - r[i].onset) > o->collar + EV_EVENT_TIME_EPS)
            continue;
        if (o->offset && fabs(e[j].offset - r[i].offset) > allow + EV_EVENT_TIME_EPS)
            continue;
        int v = 1 + best_pairing(nr, r, ne, e, o, i + 1, taken | (1u << j), memo);
        best = v > best ? v : best;
    }
    return memo[i][taken] = best;
}

START_TEST(matching_is_maximum_on_random_cases)
{
    aa_rng rng;
    aa_rng_seed(&rng, 16);
    ev_recording recs[2] = {{"a", 100}, {"b", 100}};
    int runs = tu_sanitized() ? 600 : 3000;
    for (int run = 0; run < runs; run++) {
        ev_event r[8], e[8];
        size_t nr = aa_rng_below(&rng, 9), ne = aa_rng_below(&rng, 9);
        /* crowded: onsets on a 0.25 s grid over 4 s, two classes, two recordings, lengths 0.25 to 3 s */
        for (size_t i = 0; i < nr + ne; i++) {
            ev_event *x = i < nr ? &r[i] : &e[i - nr];
            x->onset = 0.25 * (double)aa_rng_below(&rng, 17);
            x->offset = x->onset + 0.25 * (double)(1 + aa_rng_below(&rng, 12));
            x->cls = 1 + (int)aa_rng_below(&rng, 2);
            x->file = aa_rng_below(&rng, 2);
        }
        ev_event_opts o = ev_event_opts_default();
        o.collar = 0.25 * (double)aa_rng_below(&rng, 5);
        o.offset_length = 0.25 * (double)aa_rng_below(&rng, 4);
        o.offset = (int)aa_rng_below(&rng, 2);
        int memo[9][256];
        memset(memo, -1, sizeof memo);
        int want = best_pairing(nr, r, ne, e, &o, 0, 0, memo);
        aa_error err;
        ev_event_eval *s = ev_events_score(nr, r, ne, e, 2, recs, K, &o, &err);
        ck_assert_msg(s != NULL, "%s", err.msg);
        ck_assert_msg((int)s->overall.hits == want, "run %d: %zu hits, the best pairing has %d", run,
                      s->overall.hits, want);
        /* and the hits are a valid one-to-one pairing */
        for (size_t i = 0; i < nr; i++) {
            size_t j = s->ref_hit[i];
            if (j == EV_NO_EVENT)
                continue;
            ck_assert_uint_eq(s->est_hit[j], i);
            ck_assert(r[i].cls == e[j].cls && r[i].file == e[j].file);
            ck_assert(fabs(e[j].onset - r[i].onset) <= o.collar + EV_EVENT_TIME_EPS);
        }
        /* substitutions pair leftovers of different classes in one recording */
        size_t subs = 0;
        for (size_t i = 0; i < nr; i++) {
            size_t j = s->ref_sub[i];
            if (j == EV_NO_EVENT)
                continue;
            subs++;
            ck_assert_uint_eq(s->ref_hit[i], EV_NO_EVENT);
            ck_assert_uint_eq(s->est_hit[j], EV_NO_EVENT);
            ck_assert_uint_eq(s->est_sub[j], i);
            ck_assert(r[i].cls != e[j].cls && r[i].file == e[j].file);
        }
        ck_assert_uint_eq(subs, s->overall.substitutions);
        ck_assert_uint_eq(s->overall.hits + s->overall.substitutions + s->overall.deletions, nr);
        ck_assert_uint_eq(s->overall.hits + s->overall.substitutions + s->overall.insertions, ne);
        ev_event_eval_free(s);
    }
}
END_TEST

START_TEST(many_events_and_many_augmenting_paths)
{
    /* The greedy trap of optimal_matching_beats_greedy, tiled every 3 s (2.6 s between neighbouring tiles'
     * events, so tiles cannot pair with each other): every tile needs an augmenting path, 20000 reference
     * events in one recording and class. Then a crowded case: estimates 0.5 s after each reference event
     * with a 3 s collar, six candidates each. */
    size_t tiles = tu_sanitized() ? 2000 : 10000, n = 2 * tiles;
    ev_event *r = malloc(n * sizeof *r), *e = malloc(n * sizeof *e);
    ck_assert(r && e);
    for (size_t g = 0; g < tiles; g++) {
        double b = 3.0 * (double)g;
        r[2 * g] = E(b, b + 0.5, COUGH, 0);
        r[2 * g + 1] = E(b + 0.8, b + 1.6, COUGH, 0);
        e[2 * g] = E(b + 0.4, b + 1.2, COUGH, 0);
        e[2 * g + 1] = E(b + 0.45, b + 0.55, COUGH, 0);
    }
    ck_assert_uint_eq(greedy_hits(2, r, 2, e, 1.0), 1);
    ev_recording rec[1] = {{"tiles.wav", 3.0 * (double)tiles}};
    aa_error err;
    ev_event_opts off = with_offsets();
    ev_event_eval *s = ev_events_score(n, r, n, e, 1, rec, K, &off, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    ck_assert_uint_eq(s->overall.hits, n);
    ev_event_eval_free(s);

    for (size_t i = 0; i < n; i++) {
        r[i] = E((double)i, (double)i + 0.1, COUGH, 0);
        e[i] = E((double)i + 0.5, (double)i + 0.6, COUGH, 0);
    }
    ev_event_opts o = onset_only();
    o.collar = 3;
    s = ev_events_score(n, r, n, e, 1, rec, K, &o, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    ck_assert_uint_eq(s->overall.hits, n);
    ev_event_eval_free(s);
    free(r);
    free(e);
}
END_TEST

/* ---- the reference reader -------------------------------------------------------------------------------------- */

static ev_reference *parse(const char *text, aa_error *err)
{
    return ev_reference_parse(text, strlen(text), "ref.tsv", K, CLASSES, NULL, err);
}

START_TEST(reads_the_demo_events_file)
{
    char dir[256], wav[300], tsv[300];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(wav, sizeof wav, dir, "long.wav");
    tu_path(tsv, sizeof tsv, dir, "long.events.tsv");
    aa_error err;
    ck_assert_msg(demo_long_write(wav, tsv, 40, 3, &err) == 0, "%s", err.msg);
    const char *names[DEMO_N_CLASSES];
    for (int c = 0; c < DEMO_N_CLASSES; c++)
        names[c] = demo_class_name(c);
    ev_reference *r = ev_reference_read(tsv, DEMO_N_CLASSES, names, NULL, &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    size_t size;
    char *text = tu_read_file(tsv, &size);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(r->rows, (size_t)tu_count_lines(text) - 1); /* every line but the header */
    ck_assert_uint_ge(r->n, 3);                                    /* one of each foreground class at least */
    ck_assert_uint_eq(r->merged, 0);
    ck_assert_int_eq(r->has_file_column, 0);
    ck_assert_uint_eq(r->n_files, 1);
    /* the first row as written */
    double a, b;
    char cls[64];
    ck_assert_int_eq(sscanf(strchr(text, '\n') + 1, "%lf\t%lf\t%63s", &a, &b, cls), 3);
    ck_assert_double_eq_tol(r->events[0].onset, a, EXACT);
    ck_assert_double_eq_tol(r->events[0].offset, b, EXACT);
    ck_assert_str_eq(names[r->events[0].cls], cls);
    ck_assert_uint_eq(r->line[0], 2);
    for (size_t i = 1; i < r->n; i++)
        ck_assert(r->events[i].onset >= r->events[i - 1].offset); /* the demo's events never overlap */
    free(text);
    ev_reference_free(r);
    tu_rmtree(dir);
}
END_TEST

START_TEST(columns_in_any_order_with_synonyms)
{
    /* a byte-order mark, CRLF, an ignored column, names in other case, spaces, a blank line, an escaped
     * tab in a file name, labels by display name in any case */
    const char *text = "\xEF\xBB\xBFnote\t Offset \tFILE\tonset\tClass\r\n"
                       "x\t2.5\ta.wav\t1.0\tCough\r\n"
                       "\r\n"
                       "y\t 7 \tb\\tc.wav\t5\tHEAVY BREATHING\r\n"
                       "z\t9.25\ta.wav\t8\t normal_breathing \r\n";
    aa_error err;
    ev_reference *r = parse(text, &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    ck_assert_int_eq(r->has_file_column, 1);
    ck_assert_uint_eq(r->rows, 3);
    ck_assert_uint_eq(r->n, 3);
    ck_assert_uint_eq(r->n_files, 2);
    ck_assert_str_eq(r->files[0], "a.wav");
    ck_assert_str_eq(r->files[1], "b\tc.wav");
    ck_assert_uint_eq(r->file_line[1], 4);
    /* by file (order of first appearance), then onset; lines counted as in the file */
    ck_assert(r->events[0].file == 0 && r->events[0].cls == COUGH && r->events[0].onset == 1.0 &&
              r->events[0].offset == 2.5 && r->line[0] == 2);
    ck_assert(r->events[1].file == 0 && r->events[1].cls == NORMAL && r->events[1].onset == 8 &&
              r->events[1].offset == 9.25 && r->line[1] == 5);
    ck_assert(r->events[2].file == 1 && r->events[2].cls == HEAVY && r->events[2].onset == 5 && r->line[2] == 4);
    ev_reference_free(r);

    /* labels given by the caller's display names; sed_eval's column names */
    const char *const shown[K] = {"Quiet", "Toux", "Souffle fort", "Souffle"};
    const char *t2 = "event_onset\tevent_offset\tevent_label\n0\t1\ttoux\n2\t3\tsouffle fort\n4\t5\tcough\n";
    r = ev_reference_parse(t2, strlen(t2), "fr.tsv", K, CLASSES, shown, &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    ck_assert_int_eq(r->events[0].cls, COUGH);
    ck_assert_int_eq(r->events[1].cls, HEAVY);
    ck_assert_int_eq(r->events[2].cls, COUGH); /* the folder name still works */
    ev_reference_free(r);

    /* a header and no rows: a reference with no events */
    r = parse("label\tstart_s\tend_s\n", &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    ck_assert_uint_eq(r->n, 0);
    ck_assert_uint_eq(r->n_files, 1);
    ev_reference_free(r);
}
END_TEST

START_TEST(overlapping_events_of_one_class_are_merged)
{
    const char *text = "label\tstart_s\tend_s\n"
                       "cough\t1\t2\n"
                       "cough\t1.5\t3\n"   /* overlaps the first: merged into [1, 3] */
                       "heavy_breathing\t1\t2\n" /* another class: kept */
                       "cough\t3\t4\n"     /* only touches [1, 3]: kept */
                       "cough\t3.5\t3.75\n"; /* inside [3, 4]: merged, the end stays 4 */
    aa_error err;
    ev_reference *r = parse(text, &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    ck_assert_uint_eq(r->rows, 5);
    ck_assert_uint_eq(r->merged, 2);
    ck_assert_uint_eq(r->n, 3);
    ck_assert(r->events[0].cls == COUGH && r->events[0].onset == 1 && r->events[0].offset == 3 && r->line[0] == 2);
    ck_assert(r->events[1].cls == HEAVY && r->events[1].onset == 1 && r->events[1].offset == 2);
    ck_assert(r->events[2].cls == COUGH && r->events[2].onset == 3 && r->events[2].offset == 4 && r->line[2] == 5);
    ev_reference_free(r);
}
END_TEST

/* The message is one printable line naming the file. */
static void assert_one_line(const aa_error *err, const char *name)
{
    ck_assert_msg(!strncmp(err->msg, name, strlen(name)), "'%s' does not start with %s", err->msg, name);
    for (const unsigned char *p = (const unsigned char *)err->msg; *p; p++)
        ck_assert_msg(*p >= 0x20 && *p != 0x7F, "control byte in '%s'", err->msg);
}

START_TEST(every_error_names_the_file_and_line)
{
    static const struct {
        const char *text;
        const char *msg;
    } cases[] = {
        {"", "ref.tsv: empty (the first line names the columns"},
        {"\n \n\t\n", "ref.tsv: empty"},
        {"start_s\tend_s\n", "ref.tsv: line 1: no 'label' column (the first line names the columns: file, label, "
                             "start_s, end_s)"},
        {"\nlabel\tstart_s\n", "ref.tsv: line 2: no 'end_s' column"},
        {"0.5\t1.2\tcough\n", "ref.tsv: line 1: no 'label' column"}, /* no header at all */
        {"label\tclass\tstart_s\tend_s\n", "ref.tsv: line 1: columns 'label' and 'class' both give the label"},
        {"label\tstart_s\tend_s\ncough\t2\t1\n", "ref.tsv: line 2: start_s 2 is not before end_s 1"},
        {"label\tonset\toffset\ncough\t0\t1\ncough\t2.5\t2.5\n", "ref.tsv: line 3: onset 2.5 is not before offset 2.5"},
        {"label\tstart_s\tend_s\ncough\t-1\t2\n", "ref.tsv: line 2: start_s -1 is negative"},
        {"label\tstart_s\tend_s\ncough\tnan\t2\n", "ref.tsv: line 2: start_s 'nan' is not a finite number"},
        {"label\tstart_s\tend_s\ncough\t1\tinf\n", "ref.tsv: line 2: end_s 'inf' is not a finite number"},
        {"label\tstart_s\tend_s\ncough\t1\t1e999\n", "ref.tsv: line 2: end_s '1e999' is not a finite number"},
        {"label\tstart_s\tend_s\ncough\t1.5s\t2\n", "ref.tsv: line 2: start_s '1.5s' is not a number"},
        {"label\tstart_s\tend_s\ncough\t\t2\n", "ref.tsv: line 2: start_s is empty"},
        {"label\tstart_s\tend_s\ncough\t0x1p3\t9\n", "ref.tsv: line 2: start_s '0x1p3' is not a decimal number"},
        {"label\tstart_s\tend_s\ncough\t1\t\r2\n", "ref.tsv: line 2: end_s '\\x0D2' is not a decimal number"},
        {"label\tstart_s\tend_s\ncough\t1\t2\n\nwheeze\t3\t4\n",
         "ref.tsv: line 4: unknown label 'wheeze' (the classes: background_noise, cough, heavy_breathing, "
         "normal_breathing)"},
        {"label\tstart_s\tend_s\n\x01\xff\t3\t4\n", "ref.tsv: line 2: unknown label '\\x01\\xFF'"},
        {"label\tstart_s\tend_s\n\t3\t4\n", "ref.tsv: line 2: empty label"},
        {"label\tstart_s\tend_s\ncough\t1\n", "ref.tsv: line 2: 2 fields, the header names 3 columns"},
        {"file\tlabel\tstart_s\tend_s\n\tcough\t1\t2\n", "ref.tsv: line 2: empty file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        aa_error err = {0};
        ev_reference *r = parse(cases[i].text, &err);
        ck_assert_msg(r == NULL, "case %zu accepted", i);
        ck_assert_int_eq(err.code, EV_ERR_ARG);
        ck_assert_msg(strstr(err.msg, cases[i].msg), "case %zu: '%s', wanted '%s'", i, err.msg, cases[i].msg);
        assert_one_line(&err, "ref.tsv: ");
    }
    /* a NUL byte (not a text file), on its line */
    static const char nul[] = "label\tstart_s\tend_s\ncough\t1\t2\nco\0gh\t3\t4\n";
    aa_error err;
    ck_assert_ptr_null(ev_reference_parse(nul, sizeof nul - 1, "ref.tsv", K, CLASSES, NULL, &err));
    ck_assert_str_eq(err.msg, "ref.tsv: line 3: a NUL byte (not a text file)");
    /* a long label is cut in the message */
    char longer[400] = "label\tstart_s\tend_s\n";
    memset(longer + strlen(longer), 'w', 200);
    strcat(longer, "\t1\t2\n");
    ck_assert_ptr_null(parse(longer, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "wwwwww...' (the classes"));
    /* on disk: a missing file, a folder */
    ck_assert_ptr_null(ev_reference_read("/nonexistent/ref.tsv", K, CLASSES, NULL, &err));
    ck_assert_int_eq(err.code, EV_ERR_IO);
    ck_assert_str_eq(err.msg, "/nonexistent/ref.tsv: cannot open (No such file or directory)");
    char dir[256];
    tu_mkdtemp(dir, sizeof dir);
    ck_assert_ptr_null(ev_reference_read(dir, K, CLASSES, NULL, &err));
    ck_assert_int_eq(err.code, EV_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "cannot read"));
    tu_rmtree(dir);
}
END_TEST

/* What any accepted reference promises. */
static void assert_valid(const ev_reference *r)
{
    ck_assert_uint_eq(r->rows - r->merged, r->n);
    ck_assert_uint_ge(r->n_files, r->has_file_column ? (r->n ? 1 : 0) : 1);
    for (size_t i = 0; i < r->n; i++) {
        const ev_event *e = &r->events[i];
        ck_assert(isfinite(e->onset) && isfinite(e->offset) && e->onset >= 0 && e->onset < e->offset);
        ck_assert(e->cls >= 0 && e->cls < K);
        ck_assert_uint_lt(e->file, r->n_files);
        ck_assert_uint_ge(r->line[i], 1);
        for (size_t j = 0; j < i; j++) /* no two events of one class and file overlap */
            if (r->events[j].file == e->file && r->events[j].cls == e->cls)
                ck_assert(r->events[j].offset <= e->onset || e->offset <= r->events[j].onset);
        if (i)
            ck_assert(r->events[i - 1].file < e->file ||
                      (r->events[i - 1].file == e->file && r->events[i - 1].onset <= e->onset));
    }
}

/* Parses size bytes; either a valid reference or one printable line with a status of eval/. */
static void parse_anything(const char *bytes, size_t size)
{
    aa_error err = {0};
    ev_reference *r = ev_reference_parse(bytes, size, "ref.tsv", K, CLASSES, LABELS, &err);
    if (r) {
        assert_valid(r);
        ev_reference_free(r);
        return;
    }
    ck_assert(err.code == EV_ERR_ARG || err.code == EV_ERR_NOMEM);
    ck_assert(err.msg[0]);
    assert_one_line(&err, "ref.tsv: ");
}

START_TEST(truncated_and_garbage_input_never_crashes)
{
    const char *good = "\xEF\xBB\xBF" "file\tlabel\tstart_s\tend_s\tnote\r\n"
                       "a.wav\tcough\t1.0\t2.5\tx\r\n"
                       "a.wav\tCough\t2.0\t3.0\t\n"
                       "dir/b\\tc.wav\tHeavy Breathing\t5\t7.25\n"
                       "\n"
                       "a.wav\tnormal_breathing\t8e0\t9.125\n";
    size_t n = strlen(good);
    /* cut at every byte */
    int accepted = 0;
    for (size_t cut = 0; cut <= n; cut++) {
        aa_error err;
        ev_reference *r = ev_reference_parse(good, cut, "ref.tsv", K, CLASSES, LABELS, &err);
        accepted += r != NULL;
        ev_reference_free(r);
        parse_anything(good, cut);
    }
    ck_assert_int_gt(accepted, 0); /* the whole text, at least, and the cuts at row ends */
    /* every byte replaced by each of the bytes that matter to the format */
    static const char subst[] = {0, '\t', '\n', '\r', '\\', ' ', '-', '.', 'e', 'x', '9', (char)0xFF, (char)0x80};
    char *buf = malloc(n);
    ck_assert_ptr_nonnull(buf);
    for (size_t i = 0; i < n; i++)
        for (size_t s = 0; s < sizeof subst; s++) {
            memcpy(buf, good, n);
            buf[i] = subst[s];
            parse_anything(buf, n);
        }
    free(buf);
    /* random documents from an alphabet of the format's pieces */
    static const char *const piece[] = {"\t", "\n", "\r\n", "label", "start_s", "end_s", "file", "onset", "class",
                                        "cough", "Heavy Breathing", "x.wav", "1", "2.5", "-3", "1e308", "1e309",
                                        "nan", "0x1p3", " ", "\\", "\\t", "\xC3", "\xA9", "\xEF\xBB\xBF", "\0"};
    size_t np = sizeof piece / sizeof *piece;
    aa_rng rng;
    aa_rng_seed(&rng, 1616);
    char doc[512];
    int runs = tu_sanitized() ? 2000 : 20000;
    for (int run = 0; run < runs; run++) {
        size_t len = 0, parts = aa_rng_below(&rng, 40);
        /* most documents start with a valid header so that the rows are reached */
        if (aa_rng_below(&rng, 4)) {
            const char *h = "label\tstart_s\tend_s\n";
            memcpy(doc, h, strlen(h));
            len = strlen(h);
        }
        for (size_t p = 0; p < parts; p++) {
            size_t i = aa_rng_below(&rng, np);
            size_t pl = i == np - 1 ? 1 : strlen(piece[i]);
            if (len + pl > sizeof doc)
                break;
            memcpy(doc + len, piece[i], pl);
            len += pl;
        }
        parse_anything(doc, len);
    }
}
END_TEST

/* ---- which recording a reference file is ------------------------------------------------------------------------ */

static ev_reference *with_files(const char *const *files, size_t n, aa_error *err)
{
    char text[2048] = "file\tlabel\tstart_s\tend_s\n";
    for (size_t i = 0; i < n; i++) {
        size_t o = strlen(text);
        snprintf(text + o, sizeof text - o, "%s\tcough\t%zu\t%zu.5\n", files[i], 2 * i, 2 * i);
    }
    return parse(text, err);
}

START_TEST(files_match_by_path_then_by_their_end)
{
    static const struct {
        const char *ref;
        size_t n_rec;
        const char *rec[3];
        size_t want; /* recording index, EV_NO_EVENT, or (size_t)-2: an error */
        const char *msg;
    } cases[] = {
        {"a/x.wav", 2, {"a/x.wav", "b/x.wav"}, 0, NULL},
        {"b/x.wav", 2, {"a/x.wav", "b/x.wav"}, 1, NULL},
        {"x.wav", 2, {"/data/demo/x.wav", "y.wav"}, 0, NULL},
        {"demo/x.wav", 2, {"/data/demo/x.wav", "y.wav"}, 0, NULL},
        {"./x.wav", 1, {"x.wav"}, 0, NULL},
        {"x.wav", 1, {"./x.wav"}, 0, NULL},
        {"/abs/dir/y.wav", 2, {"x.wav", "y.wav"}, 1, NULL}, /* the recording's name ends the reference's */
        {"emo/x.wav", 1, {"/data/demo/x.wav"}, EV_NO_EVENT, NULL}, /* not at a '/' */
        {"a/x.wav", 1, {"b/x.wav"}, EV_NO_EVENT, NULL},
        {"z.wav", 2, {"a/x.wav", "b/x.wav"}, EV_NO_EVENT, NULL},
        {"x.wav", 2, {"x.wav", "a/x.wav"}, 0, NULL}, /* an exact name wins over an ending */
        {"x.wav", 3, {"a/x.wav", "y.wav", "b/x.wav"}, (size_t)-2,
         "ref.tsv: line 2: 'x.wav' names two of the recordings scored: a/x.wav and b/x.wav"},
        {"x.wav", 2, {"x.wav", "x.wav"}, (size_t)-2, "'x.wav' names two of the recordings scored: x.wav and x.wav"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        aa_error err = {0};
        ev_reference *r = with_files(&cases[i].ref, 1, &err);
        ck_assert_msg(r != NULL, "%s", err.msg);
        size_t rec_of[1];
        int rc = ev_reference_match(r, cases[i].n_rec, cases[i].rec, rec_of, &err);
        if (cases[i].want == (size_t)-2) {
            ck_assert_int_eq(rc, EV_ERR_ARG);
            ck_assert_msg(strstr(err.msg, cases[i].msg), "case %zu: '%s'", i, err.msg);
        } else {
            ck_assert_msg(rc == 0, "case %zu: %s", i, err.msg);
            ck_assert_msg(rec_of[0] == cases[i].want, "case %zu: recording %zu", i, rec_of[0]);
        }
        ev_reference_free(r);
    }
    /* one recording named twice */
    const char *two[2] = {"x.wav", "demo/x.wav"};
    aa_error err;
    ev_reference *r = with_files(two, 2, &err);
    const char *rec[1] = {"build/demo/x.wav"};
    size_t rec_of[2];
    ck_assert_int_eq(ev_reference_match(r, 1, rec, rec_of, &err), EV_ERR_ARG);
    ck_assert_str_eq(err.msg, "ref.tsv: 'x.wav' (line 2) and 'demo/x.wav' (line 3) both name the recording "
                              "build/demo/x.wav");
    ev_reference_free(r);
    /* no file column: the one recording, none, or an error with more */
    r = parse("label\tstart_s\tend_s\ncough\t1\t2\n", &err);
    const char *recs[2] = {"a.wav", "b.wav"};
    ck_assert_int_eq(ev_reference_match(r, 1, recs, rec_of, &err), 0);
    ck_assert_uint_eq(rec_of[0], 0);
    ck_assert_int_eq(ev_reference_match(r, 0, recs, rec_of, &err), 0);
    ck_assert_uint_eq(rec_of[0], EV_NO_EVENT);
    ck_assert_int_eq(ev_reference_match(r, 2, recs, rec_of, &err), EV_ERR_ARG);
    ck_assert_str_eq(err.msg, "ref.tsv: no 'file' column, but 2 recordings are scored: the reference must say "
                              "which recording each event is in");
    ev_reference_free(r);
}
END_TEST

START_TEST(scoring_a_reference_file)
{
    const char *text = "file\tlabel\tstart_s\tend_s\n"
                       "a.wav\tcough\t1\t1.5\n"
                       "a.wav\tcough\t1.2\t1.6\n" /* merged with the one above */
                       "sub/b.wav\theavy_breathing\t10\t16\n"
                       "a.wav\tbackground_noise\t0\t60\n"
                       "gone.wav\tcough\t3\t4\n"
                       "gone.wav\tcough\t5\t6\n";
    aa_error err;
    ev_reference *r = parse(text, &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    ev_recording recs[2] = {{"data/a.wav", 60}, {"data/sub/b.wav", 30}};
    ev_event est[3] = {E(1.1, 1.7, COUGH, 0), E(10.4, 15, NORMAL, 1), E(40, 41, COUGH, 1)};
    ev_event_opts o = ev_event_opts_default();
    o.ignore_class = BG;
    ev_event_eval *s = ev_events_score_reference(r, 3, est, 2, recs, K, &o, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    ck_assert_str_eq(s->reference_name, "ref.tsv");
    ck_assert_uint_eq(s->reference_rows, 6);
    ck_assert_uint_eq(s->reference_merged, 1);
    ck_assert_uint_eq(s->n_unscored, 1);
    ck_assert_str_eq(s->unscored[0], "gone.wav");
    ck_assert_uint_eq(s->unscored_events, 2);
    ck_assert_uint_eq(s->ignored_reference, 1);
    /* Cough at 1 s hit; heavy breathing at 10 s called normal breathing; a cough at 40 s inserted */
    ck_assert_uint_eq(s->overall.reference, 2);
    ck_assert_uint_eq(s->overall.hits, 1);
    ck_assert_uint_eq(s->overall.substitutions, 1);
    ck_assert_uint_eq(s->overall.insertions, 1);
    ck_assert_uint_eq(s->overall.deletions, 0);
    ck_assert_uint_eq(s->files[1].substitutions, 1);
    ck_assert_str_eq(s->files[1].name, "data/sub/b.wav");
    ck_assert_double_eq_tol(s->overall.false_alarms_per_hour, 2 * 3600.0 / 90, EXACT);
    ev_event_eval_free(s);
    /* a reference for other classes is refused */
    ck_assert_ptr_null(ev_events_score_reference(r, 3, est, 2, recs, 3, &o, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "read for 4 classes, scored with 3"));
    /* and a matching error comes through */
    ev_recording same[2] = {{"x/a.wav", 60}, {"y/a.wav", 60}};
    ck_assert_ptr_null(ev_events_score_reference(r, 0, NULL, 2, same, K, &o, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "names two of the recordings"));
    ev_reference_free(r);
}
END_TEST

/* ---- reports ---------------------------------------------------------------------------------------------------- */

typedef int (*writer)(FILE *, const ev_event_eval *, const ev_report_info *, aa_error *);

static char *render(writer w, const ev_event_eval *s, const ev_report_info *info)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    ck_assert_ptr_nonnull(f);
    aa_error err;
    ck_assert_int_eq(w(f, s, info, &err), 0);
    fclose(f);
    return buf;
}

/* The error-rate case above (a hit, a substitution, a deletion, an insertion) with a background event and
 * a reference file, as aa-infer would score it. */
static ev_event_eval *report_case(int offset)
{
    const char *text = "label\tstart_s\tend_s\ncough\t1\t2\nheavy_breathing\t10\t15\nnormal_breathing\t30\t35\n"
                       "background_noise\t0\t60\n";
    aa_error err;
    ev_reference *r = parse(text, &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    ev_event est[3] = {E(1.1, 2.0, NORMAL, 0), E(10.5, 15.2, HEAVY, 0), E(50, 51, COUGH, 0)};
    ev_recording rec[1] = {{"long \"take\" 1.wav", 60}};
    ev_event_opts o = ev_event_opts_default();
    o.ignore_class = BG;
    o.offset = offset;
    ev_event_eval *s = ev_events_score_reference(r, 3, est, 1, rec, K, &o, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    ev_reference_free(r);
    return s;
}

START_TEST(text_report_states_the_rule_and_the_counts)
{
    ev_event_eval *s = report_case(1);
    ev_report_info info = {.title = "Demo recording", .class_names = LABELS};
    char *t = render(ev_events_report_text, s, &info);
    static const char *const want[] = {
        "Demo recording\n",
        "Event-based scores: 1 recording, 60.0 s of audio (0.017 h)\n",
        "the onsets at most 1.000 s apart",
        "the offsets at most max(1.000 s, 50 % of the reference event's length) apart",
        "maximum bipartite matching",
        "reference: ref.tsv, 4 events from 4 rows\n",
        "left out: Background Noise (1 reference, 0 estimated events)\n",
        "0.333 (1/3)",  /* overall precision and recall */
        "1.000 (3/3)",  /* overall error rate */
        "1 (60.0/h)",   /* Cough's one insertion in a minute */
        "2 (120.0/h)",  /* overall: 2 false alarms in a minute */
        "macro (3 classes)",
        "error rate 1.000 = (1 substitution + 1 deletion + 1 insertion) / 3 reference events",
        "false alarms 2 in 60.0 s of audio: 120.0 per hour (1 of them substitution)",
        "long \"take\" 1.wav",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        ck_assert_msg(strstr(t, want[i]), "missing '%s' in:\n%s", want[i], t);
    ck_assert_ptr_null(strstr(t, "offsets not compared"));
    ck_assert_ptr_nonnull(strstr(t, "substitution rate 0.333, deletion rate 0.333, insertion rate 0.333\n"));
    /* Background is left out of the tables */
    ck_assert_ptr_null(strstr(t, "\nBackground Noise "));
    /* the per-class table: header, 3 classes, overall, macro, all one width */
    const char *m = strstr(t, "\nclass ");
    ck_assert_ptr_nonnull(m);
    m++;
    size_t width = 0;
    for (int line = 0; line < 6; line++) {
        const char *nl = strchr(m, '\n');
        size_t w = (size_t)(nl - m);
        while (w && m[w - 1] == ' ') /* the macro row leaves its last cells empty */
            w--;
        if (line == 0)
            width = w;
        if (line < 5)
            ck_assert_msg(w == width, "table line %d is %zu wide, not %zu", line, w, width);
        m = nl + 1;
    }
    /* the timing table: Heavy Breathing's hit 0.5 s late, offset 0.2 s late */
    const char *h = strstr(t, "timing of the hits");
    ck_assert_ptr_nonnull(h);
    ck_assert_ptr_nonnull(strstr(h, "Heavy Breathing"));
    ck_assert_ptr_nonnull(strstr(h, "+0.500"));
    ck_assert_ptr_nonnull(strstr(h, "+0.200"));
    free(t);
    ev_event_eval_free(s);

    s = report_case(0);
    t = render(ev_events_report_text, s, NULL);
    ck_assert_ptr_nonnull(strstr(t, "offsets not compared (their errors are below)"));
    ck_assert_ptr_nonnull(strstr(t, "left out: class 0"));
    ck_assert_ptr_nonnull(strstr(t, "\nclass 1 "));
    free(t);
    ev_event_eval_free(s);
}
END_TEST

START_TEST(json_report_parses_and_carries_everything)
{
    ev_event_eval *s = report_case(1);
    const char *const odd[K] = {"Background Noise", "Toux sèche", "A & \"B\" <c>\\\n\x01\xff", "Normal Breathing"};
    ev_report_info info = {.class_names = odd};
    char *t = render(ev_events_report_json, s, &info);
    ck_assert(t[strlen(t) - 1] == '\n');
    ck_assert_ptr_eq(strchr(t, '\n'), t + strlen(t) - 1); /* one line */
    jv v = j_parse(t);
    ck_assert_str_eq(j_get(&v, "format")->str, "audio-audit-events");
    ck_assert_double_eq(j_num(&v, "version"), 1);
    ck_assert_int_eq(j_get(&v, "title")->type, J_NULL);
    const jv *m = j_get(&v, "matching");
    ck_assert_double_eq(j_num(m, "collar_s"), 1);
    ck_assert_int_eq(j_get(m, "offset")->type, J_BOOL);
    ck_assert_double_eq(j_get(m, "offset")->num, 1);
    ck_assert_double_eq(j_num(m, "offset_length"), 0.5);
    ck_assert_str_eq(j_get(m, "method")->str, "optimal");
    ck_assert_double_eq(j_num(m, "time_allowance_s"), 1e-9);
    ck_assert_uint_eq(j_get(&v, "classes")->n, K);
    /* escaped and read back; the byte that is not UTF-8 became U+FFFD */
    ck_assert_str_eq(j_get(&v, "classes")->kids[2].str, "A & \"B\" <c>\\\n\x01\xEF\xBF\xBD");
    ck_assert_str_eq(j_get(&v, "ignored_class")->str, "Background Noise");
    ck_assert_double_eq(j_num(j_get(&v, "ignored"), "reference"), 1);
    const jv *ref = j_get(&v, "reference");
    ck_assert_str_eq(j_get(ref, "file")->str, "ref.tsv");
    ck_assert_double_eq(j_num(ref, "rows"), 4);
    ck_assert_uint_eq(j_get(ref, "unscored_files")->n, 0);
    ck_assert_double_eq(j_num(&v, "duration_s"), 60);
    ck_assert_double_eq(j_num(&v, "recordings"), 1);
    const jv *o = j_get(&v, "overall");
    ck_assert_double_eq(j_num(o, "reference"), 3);
    ck_assert_double_eq(j_num(o, "hits"), 1);
    ck_assert_double_eq(j_num(o, "substitutions"), 1);
    ck_assert_double_eq(j_num(o, "deletions"), 1);
    ck_assert_double_eq(j_num(o, "insertions"), 1);
    ck_assert_double_eq(j_num(o, "false_alarms"), 2);
    ck_assert_double_eq_tol(j_num(o, "precision"), 1.0 / 3, 1e-11); /* 12 significant digits */
    ck_assert_double_eq(j_num(o, "error_rate"), 1);
    ck_assert_double_eq(j_num(o, "false_alarms_per_hour"), 120);
    ck_assert_double_eq(j_num(j_get(o, "onset_error"), "n"), 1);
    ck_assert_double_eq_tol(j_num(j_get(o, "onset_error"), "mean"), 0.5, 1e-11);
    ck_assert_double_eq_tol(j_num(j_get(o, "offset_error"), "median_abs"), 0.2, 1e-11);
    const jv *macro = j_get(&v, "macro");
    ck_assert_double_eq(j_num(macro, "classes"), 3);
    ck_assert_double_eq_tol(j_num(macro, "error_rate"), 4.0 / 3, 1e-11);
    const jv *pc = j_get(&v, "per_class");
    ck_assert_uint_eq(pc->n, K - 1); /* background left out */
    ck_assert_str_eq(j_get(&pc->kids[0], "class")->str, "Toux sèche");
    ck_assert_double_eq(j_num(&pc->kids[0], "insertions"), 1);
    ck_assert_double_eq(j_num(&pc->kids[0], "false_alarms_per_hour"), 60);
    ck_assert_double_eq(j_num(&pc->kids[1], "hits"), 1);
    const jv *files = j_get(&v, "files");
    ck_assert_uint_eq(files->n, 1);
    ck_assert_str_eq(j_get(&files->kids[0], "file")->str, "long \"take\" 1.wav");
    ck_assert_double_eq(j_num(&files->kids[0], "substitutions"), 1);
    j_free(&v);
    free(t);
    ev_event_eval_free(s);

    /* no reference file, nothing ignored, no hits: nulls and zeros, still valid JSON */
    s = score(0, NULL, 0, NULL, NULL);
    t = render(ev_events_report_json, s, NULL);
    v = j_parse(t);
    ck_assert_int_eq(j_get(&v, "reference")->type, J_NULL);
    ck_assert_int_eq(j_get(&v, "ignored_class")->type, J_NULL);
    ck_assert_uint_eq(j_get(&v, "per_class")->n, K);
    ck_assert_double_eq(j_num(j_get(j_get(&v, "overall"), "onset_error"), "mean"), 0);
    j_free(&v);
    free(t);
    ev_event_eval_free(s);
}
END_TEST

START_TEST(write_errors_are_reported)
{
    ev_event_eval *s = report_case(1);
    FILE *full = fopen("/dev/full", "w");
    ck_assert_ptr_nonnull(full);
    aa_error err;
    ck_assert_int_eq(ev_events_report_text(full, s, NULL, &err), EV_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "write failed"));
    clearerr(full);
    ck_assert_int_eq(ev_events_report_json(full, s, NULL, &err), EV_ERR_IO);
    fclose(full);
    ev_event_eval_free(s);
}
END_TEST

Suite *events_suite(void)
{
    Suite *s = suite_create("events");
    TCase *tc = tcase_create("score");
    tcase_add_test(tc, defaults_are_stated);
    tcase_add_test(tc, hit_at_the_collar_edge_and_just_beyond);
    tcase_add_test(tc, offset_allowance_grows_with_the_length);
    tcase_add_test(tc, short_sound_reported_a_window_long);
    tcase_add_test(tc, split_event_is_one_hit_and_one_insertion);
    tcase_add_test(tc, two_detections_of_one_event);
    tcase_add_test(tc, events_never_match_across_recordings);
    tcase_add_test(tc, label_mismatch_is_a_substitution);
    tcase_add_test(tc, error_rate_counts_as_sed_eval);
    tcase_add_test(tc, empty_estimates);
    tcase_add_test(tc, empty_reference);
    tcase_add_test(tc, optimal_matching_beats_greedy);
    tcase_add_test(tc, false_alarms_per_hour_on_known_durations);
    tcase_add_test(tc, onset_and_offset_errors_of_the_hits);
    tcase_add_test(tc, ignored_class_is_left_out);
    tcase_add_test(tc, bad_inputs_are_refused);
    tcase_add_test(tc, matching_is_maximum_on_random_cases);
    tcase_add_test(tc, many_events_and_many_augmenting_paths);
    suite_add_tcase(s, tc);
    tc = tcase_create("reference");
    tcase_add_test(tc, reads_the_demo_events_file);
    tcase_add_test(tc, columns_in_any_order_with_synonyms);
    tcase_add_test(tc, overlapping_events_of_one_class_are_merged);
    tcase_add_test(tc, every_error_names_the_file_and_line);
    tcase_add_test(tc, truncated_and_garbage_input_never_crashes);
    tcase_add_test(tc, files_match_by_path_then_by_their_end);
    tcase_add_test(tc, scoring_a_reference_file);
    /* the demo recording is synthesised and written (about 1 s here) and the garbage test parses some 25000
     * documents (about 0.5 s): well inside 30 s on a loaded machine */
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    tc = tcase_create("report");
    tcase_add_test(tc, text_report_states_the_rule_and_the_counts);
    tcase_add_test(tc, json_report_parses_and_carries_everything);
    tcase_add_test(tc, write_errors_are_reported);
    suite_add_tcase(s, tc);
    return s;
}
