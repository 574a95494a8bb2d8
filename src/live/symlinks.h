/* symlinks.h: the symlinks of the index, read and resolved in the source.
 * Below the scan and the update, which both index symlinks. */
#pragma once

#include "lfs.h"

#include <limits.h>
#include <sys/stat.h>

/* Index the symlink dirfd/name (st: its lstat) in idx: its target, whether
 * it dangles and what it points at, resolved from its place. The same
 * symlink seen again changes the index only where its resolution did. */
void lfs_symlink_index(LfsCtx *c, LfsIndex *idx, int dirfd, const char *dir,
                       const char *name, const struct stat *st);
/* Resolve again the symlinks whose resolution a change to names (and moves of
 * the paths moved) may alter (see lfs_index_affected_symlinks). */
void lfs_symlinks_resolve(LfsCtx *c, const char *const *names, const char *const *moved);
