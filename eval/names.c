/* Names people read: class folder names made presentable, default class names, the unit of a report. */
#include <stdio.h>
#include <string.h>

#include "eval/eval_internal.h"

size_t ev_display_name(const char *folder, char *out, size_t cap)
{
    size_t len = 0;
    int pending_space = 0, word_start = 1;
    for (const char *p = folder; *p; p++) {
        char c = *p;
        if (c == '_' || c == '-' || c == ' ') {
            pending_space = len > 0; /* leading separators vanish, runs collapse */
            word_start = 1;
            continue;
        }
        if (pending_space) {
            if (len + 1 < cap)
                out[len] = ' ';
            len++;
            pending_space = 0;
        }
        if (word_start && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        word_start = 0;
        if (len + 1 < cap)
            out[len] = c;
        len++;
    }
    if (cap)
        out[len < cap ? len : cap - 1] = 0;
    return len;
}

const char *ev_class_name(const ev_report_info *info, int c, char *buf, size_t cap)
{
    if (info && info->class_names && info->class_names[c])
        return info->class_names[c];
    snprintf(buf, cap, "class %d", c);
    return buf;
}

const char *ev_class_name_text(const ev_report_info *info, int c, char *buf, size_t cap)
{
    if (info && info->class_names && info->class_names[c])
        return aa_printable_into(info->class_names[c], buf, cap);
    snprintf(buf, cap, "class %d", c);
    return buf;
}

const char *ev_unit(const ev_report_info *info)
{
    return info && info->unit && *info->unit ? info->unit : "items";
}
