/* Which scored recording each file of a reference is (the rule is in eval.h). */
#include <stdlib.h>
#include <string.h>

#include "eval/events_internal.h"

/* The name without leading "./" (and the slashes after it). */
static const char *strip_dot(const char *s)
{
    while (s[0] == '.' && s[1] == '/') {
        s += 2;
        while (*s == '/')
            s++;
    }
    return s;
}

static const char *base(const char *s)
{
    const char *slash = strrchr(s, '/');
    return slash ? slash + 1 : s;
}

/* Non-zero when the shorter of a and b (stripped, of different lengths) is the end of the longer from a '/'
 * on. */
static int tail_of(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (!la || !lb || la == lb)
        return 0;
    const char *lng = la > lb ? a : b, *sh = la > lb ? b : a;
    size_t ll = la > lb ? la : lb, ls = la > lb ? lb : la;
    return lng[ll - ls - 1] == '/' && !strcmp(lng + ll - ls, sh);
}

typedef struct {
    const char *name; /* stripped */
    const char *base;
    size_t i;
} rec_name;

static int by_base(const void *pa, const void *pb)
{
    const rec_name *a = pa, *b = pb;
    int c = strcmp(a->base, b->base);
    return c ? c : (a->i > b->i) - (a->i < b->i);
}

/* First position in r [n] (sorted by base) whose base is >= b. */
static size_t first_base(const rec_name *r, size_t n, const char *b)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(r[mid].base, b) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int two_recordings(const ev_reference *ref, size_t f, const char *a, const char *b, aa_error *err)
{
    char qf[EV_QUOTE_BUF], qa[EV_QUOTE_BUF], qb[EV_QUOTE_BUF];
    return aa_error_set(err, EV_ERR_ARG, "%s: line %zu: '%s' names two of the recordings scored: %s and %s",
                        ref->name, ref->file_line[f], ev_events_printable(ref->files[f], qf, sizeof qf),
                        ev_events_printable(a, qa, sizeof qa), ev_events_printable(b, qb, sizeof qb));
}

int ev_reference_match(const ev_reference *ref, size_t n_rec, const char *const *rec_names, size_t *rec_of_file,
                       aa_error *err)
{
    if (!ref->has_file_column) {
        if (n_rec > 1)
            return aa_error_set(err, EV_ERR_ARG,
                                "%s: no 'file' column, but %zu recordings are scored: the reference must say "
                                "which recording each event is in",
                                ref->name, n_rec);
        for (size_t f = 0; f < ref->n_files; f++)
            rec_of_file[f] = n_rec == 1 ? 0 : EV_NO_EVENT;
        return 0;
    }
    rec_name *r = malloc((n_rec ? n_rec : 1) * sizeof *r);
    size_t *claimed = malloc((n_rec ? n_rec : 1) * sizeof *claimed); /* the reference file naming each */
    int rc = 0;
    if (!r || !claimed) {
        rc = aa_error_set(err, EV_ERR_NOMEM, "%s: out of memory", ref->name);
        goto done;
    }
    for (size_t i = 0; i < n_rec; i++) {
        const char *s = strip_dot(rec_names[i]);
        r[i] = (rec_name){s, base(s), i};
        claimed[i] = EV_NO_EVENT;
    }
    /* equal names and names one of which ends the other share their last component: only those compare */
    qsort(r, n_rec, sizeof *r, by_base);
    for (size_t f = 0; f < ref->n_files && !rc; f++) {
        const char *name = strip_dot(ref->files[f]), *b = base(name);
        size_t exact = EV_NO_EVENT, tail = EV_NO_EVENT;
        for (size_t j = first_base(r, n_rec, b); j < n_rec && !strcmp(r[j].base, b) && !rc; j++) {
            if (!strcmp(r[j].name, name)) {
                if (exact != EV_NO_EVENT)
                    rc = two_recordings(ref, f, rec_names[exact], rec_names[r[j].i], err);
                exact = r[j].i;
            } else if (exact == EV_NO_EVENT && tail_of(r[j].name, name)) {
                if (tail != EV_NO_EVENT)
                    tail = EV_NO_EVENT - 1; /* two or more: an error unless an exact match turns up */
                else
                    tail = r[j].i;
            }
        }
        if (rc)
            break;
        if (exact == EV_NO_EVENT && tail == EV_NO_EVENT - 1) {
            /* name the first two for the message */
            size_t first = EV_NO_EVENT;
            for (size_t j = first_base(r, n_rec, b); j < n_rec && !strcmp(r[j].base, b); j++) {
                if (!tail_of(r[j].name, name))
                    continue;
                if (first == EV_NO_EVENT) {
                    first = r[j].i;
                    continue;
                }
                rc = two_recordings(ref, f, rec_names[first], rec_names[r[j].i], err);
                break;
            }
            break;
        }
        size_t rec = exact != EV_NO_EVENT ? exact : tail;
        rec_of_file[f] = rec;
        if (rec == EV_NO_EVENT)
            continue;
        if (claimed[rec] != EV_NO_EVENT) {
            size_t g = claimed[rec];
            char qg[EV_QUOTE_BUF], qf[EV_QUOTE_BUF], qr[EV_QUOTE_BUF];
            rc = aa_error_set(err, EV_ERR_ARG, "%s: '%s' (line %zu) and '%s' (line %zu) both name the recording %s",
                              ref->name, ev_events_printable(ref->files[g], qg, sizeof qg), ref->file_line[g],
                              ev_events_printable(ref->files[f], qf, sizeof qf), ref->file_line[f],
                              ev_events_printable(rec_names[rec], qr, sizeof qr));
            break;
        }
        claimed[rec] = f;
    }
done:
    free(r);
    free(claimed);
    return rc;
}
