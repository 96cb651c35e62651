/* The one-to-one pairing of estimates with reference events: a maximum bipartite matching (Hopcroft-Karp).
 *
 * Greedy pairing (each reference event takes the first free estimate that fits) can miss pairings that
 * exist: with the offset rule, an estimate that fits two reference events may be taken by the first while
 * the second's only fitting estimate stays free. A maximum matching has as many hits as any pairing can. */
#include <math.h>
#include <stdlib.h>

#include "eval/events_internal.h"

#define UNSEEN ((size_t)-1)

int ev_events_pair(const ev_event *r, const ev_event *e, const ev_event_opts *o)
{
    if (o->overlap)
        return e->onset <= r->offset + o->collar + EV_EVENT_TIME_EPS &&
               e->offset >= r->onset - o->collar - EV_EVENT_TIME_EPS;
    if (!(fabs(e->onset - r->onset) <= o->collar + EV_EVENT_TIME_EPS))
        return 0;
    if (!o->offset)
        return 1;
    double allow = fmax(o->collar, o->offset_length * (r->offset - r->onset));
    return fabs(e->offset - r->offset) <= allow + EV_EVENT_TIME_EPS;
}

int ev_match_ws_init(ev_match_ws *w, size_t cap_l, size_t cap_r)
{
    *w = (ev_match_ws){.cap_l = cap_l, .cap_r = cap_r};
    size_t nl = cap_l ? cap_l : 1, nr = cap_r ? cap_r : 1;
    w->match_r = malloc(nr * sizeof *w->match_r);
    size_t **left[] = {&w->dist, &w->it, &w->lo, &w->hi, &w->stack, &w->via, &w->queue};
    int bad = !w->match_r;
    for (size_t i = 0; i < sizeof left / sizeof *left; i++)
        bad |= !(*left[i] = malloc(nl * sizeof **left[i]));
    if (bad) {
        ev_match_ws_free(w);
        return EV_ERR_NOMEM;
    }
    return 0;
}

void ev_match_ws_free(ev_match_ws *w)
{
    free(w->match_r);
    free(w->dist);
    free(w->it);
    free(w->lo);
    free(w->hi);
    free(w->stack);
    free(w->via);
    free(w->queue);
    *w = (ev_match_ws){0};
}

static double onset_at(const ev_side *s, size_t p)
{
    return s->ev[s->idx[p]].onset;
}

/* First position whose onset is >= t (strict: > t). */
static size_t search(const ev_side *s, double t, int strict)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        double v = onset_at(s, mid);
        if (strict ? v <= t : v < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int edge(const ev_side *l, size_t u, const ev_side *r, size_t p, const ev_event_opts *o)
{
    return ev_events_pair(&l->ev[l->idx[u]], &r->ev[r->idx[p]], o);
}

/* One augmenting path from the free left vertex root along the BFS layers, found without recursion (a
 * path may be as long as the events are many). Flips the path and returns 1, or returns 0. */
static int augment(const ev_side *l, const ev_side *r, const ev_event_opts *o, ev_match_ws *w, size_t *match_l,
                   size_t root)
{
    size_t sp = 0;
    w->stack[sp++] = root;
    while (sp) {
        size_t u = w->stack[sp - 1];
        if (w->it[u] == w->hi[u]) {
            w->dist[u] = UNSEEN; /* a dead end for the rest of this phase */
            sp--;
            continue;
        }
        size_t p = w->it[u]++;
        if (!edge(l, u, r, p, o))
            continue;
        size_t v = w->match_r[p];
        if (v == EV_NO_EVENT) {
            w->via[sp - 1] = p;
            /* stack[i] takes via[i]; stack[i + 1] gave up via[i], its old partner, and takes via[i + 1] */
            for (size_t i = 0; i < sp; i++) {
                match_l[w->stack[i]] = w->via[i];
                w->match_r[w->via[i]] = w->stack[i];
            }
            return 1;
        }
        if (w->dist[v] != UNSEEN && w->dist[v] == w->dist[u] + 1) {
            w->via[sp - 1] = p;
            w->stack[sp++] = v; /* layers strictly increase along the stack, so it holds at most l->n */
        }
    }
    return 0;
}

size_t ev_match_max(const ev_side *l, const ev_side *r, const ev_event_opts *o, ev_match_ws *w, size_t *match_l)
{
    /* the superset of the onset collar (twice the allowance): ev_events_pair decides each candidate */
    double reach = o->collar + 2 * EV_EVENT_TIME_EPS;
    for (size_t u = 0; u < l->n; u++) {
        double t = l->ev[l->idx[u]].onset;
        match_l[u] = EV_NO_EVENT;
        /* overlapping events may start any distance apart: every candidate of the recording */
        w->lo[u] = o->overlap ? 0 : search(r, t - reach, 0);
        w->hi[u] = o->overlap ? r->n : search(r, t + reach, 1);
        if (w->hi[u] < w->lo[u])
            w->hi[u] = w->lo[u];
    }
    for (size_t p = 0; p < r->n; p++)
        w->match_r[p] = EV_NO_EVENT;
    size_t size = 0;
    for (;;) {
        /* BFS from every free left vertex: dist is the layer, alternating free and matched edges */
        size_t head = 0, tail = 0;
        int found = 0;
        for (size_t u = 0; u < l->n; u++) {
            w->dist[u] = match_l[u] == EV_NO_EVENT ? 0 : UNSEEN;
            if (!w->dist[u])
                w->queue[tail++] = u;
        }
        while (head < tail) {
            size_t u = w->queue[head++];
            for (size_t p = w->lo[u]; p < w->hi[u]; p++) {
                if (!edge(l, u, r, p, o))
                    continue;
                size_t v = w->match_r[p];
                if (v == EV_NO_EVENT) {
                    found = 1;
                } else if (w->dist[v] == UNSEEN) {
                    w->dist[v] = w->dist[u] + 1;
                    w->queue[tail++] = v;
                }
            }
        }
        if (!found)
            break;
        size_t grown = 0;
        for (size_t u = 0; u < l->n; u++)
            w->it[u] = w->lo[u];
        for (size_t u = 0; u < l->n; u++)
            if (match_l[u] == EV_NO_EVENT && w->dist[u] == 0)
                grown += (size_t)augment(l, r, o, w, match_l, u);
        if (!grown) /* cannot happen after a BFS that found a free estimate; never loop on it */
            break;
        size += grown;
    }
    return size;
}
