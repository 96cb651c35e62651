/* The reference reader of the event scorer (eval/events_reference.c) and what consumes its output: the
 * input is the bytes of a reference TSV, read for four classes.
 * Properties: a failure has a message of one printable line naming the file and a status of eval/ and
 * returns nothing; an accepted reference has finite times with 0 <= onset < offset, valid classes and
 * files, no two overlapping events of one class in one file, rows - merged events; matched against three
 * recording names it either errs with a message or binds every file to a recording or to none; scored
 * against its own events (as estimates) every event is a hit; both reports are written. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"

#define REQUIRE(cond)                                                                                         \
    do {                                                                                                      \
        if (!(cond)) {                                                                                        \
            fprintf(stderr, "fuzz_events: property failed: %s (line %d)\n", #cond, __LINE__);                 \
            abort();                                                                                          \
        }                                                                                                     \
    } while (0)

enum { K = 4 };
static const char *const CLASSES[K] = {"background_noise", "cough", "heavy_breathing", "normal_breathing"};
static const char *const RECS[3] = {"data/a.wav", "b.wav", "sub/dir/a.wav"};

static void check_message(const aa_error *err, int rc)
{
    REQUIRE(err->code == rc && (rc == EV_ERR_ARG || rc == EV_ERR_NOMEM));
    REQUIRE(!strncmp(err->msg, "ref.tsv: ", 9));
    for (const unsigned char *p = (const unsigned char *)err->msg; *p; p++)
        REQUIRE(*p >= 0x20 && *p != 0x7f);
}

static void reports(const ev_event_eval *s)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    REQUIRE(f != NULL);
    aa_error err;
    REQUIRE(ev_events_report_text(f, s, NULL, &err) == 0);
    REQUIRE(ev_events_report_json(f, s, NULL, &err) == 0);
    fclose(f);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aa_error err;
    memset(&err, 0, sizeof err);
    ev_reference *r = ev_reference_parse((const char *)data, size, "ref.tsv", K, CLASSES, NULL, &err);
    if (!r) {
        check_message(&err, err.code);
        return 0;
    }
    REQUIRE(r->rows - r->merged == r->n && r->n_files >= (r->has_file_column ? 0 : 1));
    for (size_t i = 0; i < r->n; i++) {
        const ev_event *e = &r->events[i];
        REQUIRE(isfinite(e->onset) && isfinite(e->offset) && e->onset >= 0 && e->onset < e->offset);
        REQUIRE(e->cls >= 0 && e->cls < K && e->file < r->n_files && r->line[i] >= 2);
        for (size_t j = 0; j < i; j++)
            if (r->events[j].file == e->file && r->events[j].cls == e->cls)
                REQUIRE(r->events[j].offset <= e->onset || e->offset <= r->events[j].onset);
    }
    /* bind to recordings: one when the reference has no file column, else three */
    size_t n_rec = r->has_file_column ? 3 : 1;
    size_t *rec_of = malloc((r->n_files ? r->n_files : 1) * sizeof *rec_of);
    REQUIRE(rec_of != NULL);
    int rc = ev_reference_match(r, n_rec, RECS, rec_of, &err);
    if (rc) {
        check_message(&err, rc);
    } else {
        size_t bound = 0;
        ev_event *own = malloc((r->n ? r->n : 1) * sizeof *own);
        REQUIRE(own != NULL);
        for (size_t f = 0; f < r->n_files; f++)
            REQUIRE(rec_of[f] == EV_NO_EVENT || rec_of[f] < n_rec);
        for (size_t i = 0; i < r->n; i++)
            if (rec_of[r->events[i].file] != EV_NO_EVENT) {
                own[bound] = r->events[i];
                own[bound++].file = rec_of[r->events[i].file];
            }
        ev_recording recs[3] = {{RECS[0], 60}, {RECS[1], 0}, {RECS[2], 3600}};
        ev_event_eval *s = ev_events_score_reference(r, bound, own, n_rec, recs, K, NULL, &err);
        REQUIRE(s != NULL);
        REQUIRE(s->overall.hits == bound && s->overall.reference == bound);
        REQUIRE(s->unscored_events == r->n - bound);
        reports(s);
        ev_event_eval_free(s);
        free(own);
    }
    free(rec_of);
    ev_reference_free(r);
    return 0;
}
