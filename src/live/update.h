/* update.h: keep the index true across changes, before the change made
 * through the view returns (and as -o watch sees them in the source).
 * Directories are named by path relative to SOURCE and, where the caller
 * holds one, a descriptor (-1: opened by path). */
#pragma once

#include "lfs.h"

/* Call begin before the system call and end after the index update. */
guint64 lfs_change_begin(LfsCtx *c);
void lfs_change_end(LfsCtx *c, guint64 begun);
/* The same for changes seen in the source (-o watch): exclusive. */
guint64 lfs_change_begin_seen(LfsCtx *c);
void lfs_change_end_seen(LfsCtx *c, guint64 begun);

/* Look at dir/name again in the source, whatever the change was (made,
 * linked, removed); dfd is dir, or -1. */
void lfs_update_at(LfsCtx *c, int dfd, const char *dir, const char *name);
/* The same for relpath (NULL: nothing). */
void lfs_update_path(LfsCtx *c, const char *relpath);

/* A directory of a rename. */
typedef struct {
  int fd; /* or -1 */
  const char *path;
} LfsUpdateDir;
/* rename(od/on, nd/nn) with flags (renameat2) was made through the view. */
void lfs_update_renamed(LfsCtx *c, const LfsUpdateDir *od, const char *on,
                        const LfsUpdateDir *nd, const char *nn, unsigned flags);
/* The entry (of any kind) olddir/on moved to newdir/nn in the source. */
void lfs_update_moved(LfsCtx *c, const char *olddir, const char *on, const char *newdir,
                      const char *nn);
/* The non-directory dir/name is gone from the source: unlinked, or moved
 * out of it. */
void lfs_update_gone(LfsCtx *c, const char *dir, const char *name, gboolean unlinked);
/* The directory dir/name is gone from the source with everything below it;
 * the hard-link groups that had names there keep a true nlink. */
void lfs_update_dir_gone(LfsCtx *c, const char *dir, const char *name);
/* Re-resolve the symlinks that changes to names (and moves of moved) may
 * affect (see lfs_index_affected_symlinks). */
void lfs_update_names(LfsCtx *c, const char *const *names, const char *const *moved);
