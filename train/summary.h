#ifndef TR_SUMMARY_H
#define TR_SUMMARY_H

/* The training summary stored in the model file (am_spec.train_json) and written as the --log's last
 * line: classes, counts per split, the options, the epochs, the calibration, validation and test figures.
 * Nothing in it depends on the time, the machine or the thread count, so the model file does not either. */

#include "train/calibrate.h"
#include "train/data.h"
#include "train/loop.h"
#include "train/options.h"
#include "train/report.h"

/* test may be NULL (not run yet, or no test split). Returns a malloc'd string, NULL when out of memory. */
char *tr_summary_json(const tr_data *d, const tr_options *o, const tr_run *r, const tr_calibration *cal,
                      const char *cal_unit, const tr_test *test);

/* "" when the gate met its target on validation; else what happened, in one sentence (the summary's
 * "gate_note" and aa-train's closing warning). */
void tr_gate_note(const tr_calibration *cal, const tr_options *o, char *buf, size_t cap);

#endif
