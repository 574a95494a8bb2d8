/* symlinks.h: the symlinks of the index, read and resolved in the source.
 * Below the scan and the update, which both index symlinks. */
#pragma once

#include "lfs.h"

#include <limits.h>
#include <sys/stat.h>

/* The target of the symlink dirfd/name (dir/name from SOURCE) and whether
 * it dangles, resolved from its place; FALSE if it cannot be read. */
gboolean lfs_symlink_read(LfsCtx *c, int dirfd, const char *dir, const char *name,
                          char target[PATH_MAX + 1], gboolean *dangling);
/* Index the symlink dirfd/name (st: its lstat) in idx. */
void lfs_symlink_index(LfsCtx *c, LfsIndex *idx, int dirfd, const char *dir,
                       const char *name, const struct stat *st);
/* Resolve again the symlinks whose state a change to names (and moves of
 * the paths moved) may alter (see lfs_index_affected_symlinks). */
void lfs_symlinks_resolve(LfsCtx *c, const char *const *names, const char *const *moved);
