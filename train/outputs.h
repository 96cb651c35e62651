#ifndef TR_OUTPUTS_H
#define TR_OUTPUTS_H

/* The files a training run writes, compared with each other and with what it reads, before any work: an
 * output that is another output, the manifest, the cache, the checkpoint resumed from or one of the
 * recordings would destroy what the run needs or make two results one file. */

#include "datasets/datasets.h"
#include "train/options.h"
#include "util/util.h"

/* The split table written beside MODEL (MODEL.split.tsv); malloc'd, NULL when out of memory. */
char *tr_split_path(const char *model);

/* Outputs against each other and against the manifest, --cache and --resume (--resume may be the
 * --checkpoint: a resumed run goes on writing it). 0, or AA_ERR_USAGE with one line naming both. */
int tr_outputs_collide(const tr_options *o, aa_error *err);
/* Outputs that exist against the listed recordings (by device and inode, so links and other spellings of
 * the same file are seen). 0, or AA_ERR_USAGE naming the output and the recording. */
int tr_outputs_vs_recordings(const tr_options *o, const ds_list *l, aa_error *err);

#endif
