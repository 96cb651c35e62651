#ifndef TR_JSON_H
#define TR_JSON_H

/* The few JSON pieces aa-train writes by hand (the log, the training summary). */

#include <stdio.h>

/* s as a JSON string with quotes; bytes that are not valid UTF-8 become U+FFFD. NULL writes null. */
void tr_json_str(FILE *f, const char *s);
/* A number with 10 significant digits, or null when not finite (JSON has no NaN). */
void tr_json_num(FILE *f, double v);

#endif
