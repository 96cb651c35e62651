/* What a model is for: the class-name rule that makes a model respiratory or general, the background rule,
 * and what each task says (the disclaimer, the noun). */
#include <ctype.h>
#include <string.h>

#include "model/model_internal.h"

/* s with case and separators dropped (letters and digits only, lower case), into buf: so that
 * "heavy_breathing", "Heavy Breathing" and "HEAVY-BREATHING" compare equal. */
static const char *folded(const char *s, char *buf, size_t cap)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; s && *p && n + 1 < cap; p++)
        if (isalnum(*p) || *p >= 0x80)
            buf[n++] = (char)(*p < 0x80 ? tolower(*p) : *p);
    buf[n] = '\0';
    return buf;
}

static int folded_is(const char *s, const char *const *words)
{
    char buf[256];
    folded(s, buf, sizeof buf);
    for (; *words; words++)
        if (!strcmp(buf, *words))
            return 1;
    return 0;
}

am_task am_task_of_classes(const char *const *names, int n)
{
    static const char *const respiratory[] = {"cough", "heavybreathing", "normalbreathing", "backgroundnoise", NULL};
    if (n < 1)
        return AM_TASK_GENERAL;
    for (int c = 0; c < n; c++)
        if (!folded_is(names[c], respiratory))
            return AM_TASK_GENERAL;
    return AM_TASK_RESPIRATORY;
}

const char *am_task_name(am_task t)
{
    return t == AM_TASK_RESPIRATORY ? "respiratory" : t == AM_TASK_GENERAL ? "general" : "auto";
}

int am_task_parse(const char *s, am_task *t)
{
    if (s && !strcmp(s, "respiratory"))
        *t = AM_TASK_RESPIRATORY;
    else if (s && !strcmp(s, "general"))
        *t = AM_TASK_GENERAL;
    else
        return -1;
    return 0;
}

int am_is_background_name(const char *name)
{
    static const char *const background[] = {"backgroundnoise", "background", NULL};
    return name && folded_is(name, background);
}

int am_background_class(const am_model *m)
{
    for (int c = 0; c < m->n_classes; c++)
        if (am_is_background_name(m->classes[c]) || am_is_background_name(m->labels[c]))
            return c;
    return -1;
}

am_task am_get_task(const am_model *m) { return m->task; }
int am_is_respiratory(const am_model *m) { return m->task == AM_TASK_RESPIRATORY; }
const char *am_disclaimer(const am_model *m) { return am_is_respiratory(m) ? AM_DISCLAIMER : NULL; }
const char *am_task_noun(const am_model *m)
{
    return am_is_respiratory(m) ? "respiratory sound classifier" : "sound classifier";
}
