#ifndef EV_EVENTS_INTERNAL_H
#define EV_EVENTS_INTERNAL_H

/* Shared by the event scorer's files (events_*.c); nothing outside eval/ includes this. */

#include "eval/eval_internal.h"

/* Non-zero when estimate e may be a hit for reference event r on time (onset collar and, with o->offset,
 * the offset rule of eval.h); classes and recordings are not looked at. */
int ev_events_pair(const ev_event *r, const ev_event *e, const ev_event_opts *o);

/* One side of a matching: n events given by their indices into ev. */
typedef struct {
    const ev_event *ev;
    const size_t *idx; /* [n] */
    size_t n;
} ev_side;

/* Scratch memory for ev_match_max, for up to cap_l left and cap_r right events. */
typedef struct {
    size_t cap_l, cap_r;
    size_t *match_r;                          /* [cap_r] */
    size_t *dist, *it, *lo, *hi, *stack, *via, *queue; /* [cap_l] each */
} ev_match_ws;

/* 0, or EV_ERR_NOMEM. ev_match_ws_free is safe on a zeroed or failed workspace. */
int ev_match_ws_init(ev_match_ws *w, size_t cap_l, size_t cap_r);
void ev_match_ws_free(ev_match_ws *w);

/* A maximum bipartite matching (Hopcroft-Karp) between left (reference events) and right (estimates,
 * idx sorted by ascending onset), an edge wherever ev_events_pair holds. Edges are never stored: the
 * estimates a reference event may pair with lie in one run of the onset-sorted right side, found by
 * binary search, so memory is linear in the events whatever the collar. match_l [l->n] gets, for each
 * left event, the position in r->idx of its partner, or EV_NO_EVENT. Returns the matching's size.
 * l->n <= w->cap_l and r->n <= w->cap_r. */
size_t ev_match_max(const ev_side *l, const ev_side *r, const ev_event_opts *o, ev_match_ws *w,
                    size_t *match_l /* out: [l->n] */);

/* Text from a file or the command line made printable for a message: control bytes and bytes that are not
 * UTF-8 as \xNN, at most EV_QUOTE_MAX bytes of s (then "..."). out: [cap]; EV_QUOTE_BUF holds any result. */
#define EV_QUOTE_MAX 60
#define EV_QUOTE_BUF (4 * EV_QUOTE_MAX + 8)
const char *ev_events_printable(const char *s, char *out, size_t cap);

#endif
