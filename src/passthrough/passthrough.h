/* passthrough.h: the passthrough operations (passthrough.c, fileops.c,
 * dirops.c) and what they share. */
#pragma once

#include "lfs.h"

/* Operation tables, filled by each concern's file. */
void lfs_passthrough_ops(struct fuse_lowlevel_ops *ops);
void lfs_fileops_ops(struct fuse_lowlevel_ops *ops);
void lfs_dirops_ops(struct fuse_lowlevel_ops *ops);

/* Shared by the entry-making operations. */
int lfs_do_lookup(fuse_req_t req, fuse_ino_t parent, const char *name,
                  struct fuse_entry_param *e);
void lfs_fill_entry(LfsCtx *c, LfsInode *i, const struct stat *st,
                    struct fuse_entry_param *e);

/* changes.c: the index follows a change made through the view (call
 * between lfs_change_begin and lfs_change_end, live/update.h): the entry
 * name of the directory parent is looked at again in the source. */
void lfs_changed_entry(LfsCtx *c, LfsInode *parent, const char *name);
/* The same after rename(op/on, np/nn) with flags (renameat2). */
void lfs_changed_renamed(LfsCtx *c, LfsInode *op, const char *on, LfsInode *np,
                         const char *nn, unsigned flags);
