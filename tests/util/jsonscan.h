#ifndef AA_TESTS_JSONSCAN_H
#define AA_TESTS_JSONSCAN_H

/* Just enough JSON reading for tests of programs that write flat, one-line objects: the value after the
 * first "key": at or after s. Not a parser: keys must be unique where they are looked up (search from the
 * part of the text they belong to). */

#include <stddef.h>

/* Pointer to the first character of the value of "key" in s, or NULL. */
const char *tu_json_find(const char *s, const char *key);
/* The number after "key"; fails the test when absent or not a number. */
double tu_json_num(const char *s, const char *key);
/* The string after "key" (unescaped only of \" and \\) into out; returns out, or NULL when the value is
 * null. Fails the test when absent. */
char *tu_json_str(const char *s, const char *key, char *out, size_t cap);
/* A copy of s without the member "key": value (an object or a string) and the ", " after it; caller frees.
 * Fails the test when absent. */
char *tu_json_drop(const char *s, const char *key);

#endif
