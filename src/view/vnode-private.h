/* vnode-private.h: the table of virtual records, shared by vnode.c (the
 * records and their keys) and vinval.c (the list of recent replies). */
#pragma once

#include "vnode.h"

/* A directory whose .links was removed and not listed since. */
typedef struct {
  dev_t dev;
  ino_t ino;
} LfsUnlinked;
#define LFS_UNLINKED_MAX 64

struct LfsVnodes {
  GMutex lock;                            /* guards everything here and in each record */
  GHashTable *by_key;                     /* VNode set: vino, spec_equal */
  VNode *recent, *newest;                 /* replied entries, oldest first (vinval.c) */
  LfsUnlinked unlinked[LFS_UNLINKED_MAX]; /* a ring (lfs_vnodes_unlink_dlink) */
  guint nunlinked, next_unlinked;
};

/* The record of sp, if the kernel knows it. Call with v->lock held. */
VNode *lfs_vnodes_find_locked(LfsVnodes *v, const VSpec *sp);
/* Take vn out of the list of recent replies, if it is in it. Call with
 * v->lock held. */
void lfs_vrecent_unlink(LfsVnodes *v, VNode *vn);
