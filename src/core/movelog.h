/* movelog.h: a log of renames, for walks that the tree is renamed under.
 *
 * A walk holds relative paths it read some time ago. While it runs, every
 * rename applied to the index is logged here in order; a path that was
 * right at position `seq` is brought up to date by applying every rename
 * logged since (a path at or below the old name moves with it). Positions
 * only grow, also across lfs_movelog_clear(). Plain C, no locking: the
 * caller serializes. */
#pragma once

#include <glib.h>

typedef struct LfsMoveLog LfsMoveLog;

LfsMoveLog *lfs_movelog_new(void);
void lfs_movelog_free(LfsMoveLog *log);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LfsMoveLog, lfs_movelog_free)

/* The position after the last rename logged. */
guint64 lfs_movelog_end(const LfsMoveLog *log);
/* from was renamed to to; exchange: the two were swapped. */
void lfs_movelog_add(LfsMoveLog *log, const char *from, const char *to,
                     gboolean exchange);
/* Forget the renames logged (no walk needs them); positions go on. */
void lfs_movelog_clear(LfsMoveLog *log);
/* path, right at position seq (no older than the last clear), as it is
 * after every rename logged since; a new string. */
char *lfs_movelog_rebase(const LfsMoveLog *log, const char *path, guint64 seq);
