#ifndef AA_DEMO_CMD_H
#define AA_DEMO_CMD_H

/* `aa-train --make-demo DIR [--per-class N] [--seed S] [--long FILE] [--long-seconds S]`: writes the synthetic
 * demo corpus (and optionally a long demo recording with its event list). Kept apart from main.c so that the
 * trainer's option parsing can change without touching it. */

#include <stdio.h>

/* Non-zero when argv asks for the demo command (an argument "--make-demo" or "--make-demo=DIR"). */
int aa_cmd_is_make_demo(int argc, char **argv);
/* Runs the command on the whole argv of aa-train; returns the exit status (0 ok, 1 runtime error, 2 usage
 * error). Prints a summary on stdout and errors on stderr. */
int aa_cmd_make_demo(int argc, char **argv);
/* The command's lines for aa-train --help. */
void aa_cmd_make_demo_usage(FILE *to);

#endif
