/* vnode-private.h: the table of virtual records, shared by vnode.c (the
 * records and their keys) and vinval.c (the list of recent replies). */
#pragma once

#include "vnode.h"

struct LfsVnodes {
  GMutex lock;            /* guards everything here and in each record */
  GHashTable *by_key;     /* key -> VNode */
  VNode *recent, *newest; /* replied entries, oldest first (vinval.c) */
};

/* What identifies the record of sp (never a pointer, so it is stable). */
char *lfs_vspec_key(const VSpec *sp);
/* Take vn out of the list of recent replies, if it is in it. Call with
 * v->lock held. */
void lfs_vrecent_unlink(LfsVnodes *v, VNode *vn);
