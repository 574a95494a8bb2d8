/* seer.h: who may see what in .links (SPEC section 5). */
#pragma once

#include "lfs.h"

/* The access filter of one request: NULL when nothing needs filtering for
 * this caller (the daemon is not root, or the caller is). */
typedef struct LfsSeer LfsSeer;
LfsSeer *lfs_seer_new(LfsCtx *c, fuse_req_t req);
void lfs_seer_free(LfsSeer *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LfsSeer, lfs_seer_free)
/* May the caller search every directory on the way to relpath and read
 * the directory holding it? (Cached per seer.) */
gboolean lfs_seer_sees(LfsSeer *s, const char *relpath);
/* May it search every directory down to dir and read dir? */
gboolean lfs_seer_sees_dir(LfsSeer *s, const char *dir);
