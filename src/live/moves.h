/* moves.h: the renames applied to the index, for the walks they may meet.
 *
 * Every rename applied to the index (through the view, or seen in the
 * source by -o watch) is noted here. A walk counts them: one that a
 * rename overlapped may have missed a directory (a full scan runs again,
 * a seek walks again). While careful walks run, the renames with their
 * paths are also logged in order (core/movelog.h), so that a careful walk
 * brings a path it read earlier up to date. Below the scan and the
 * update, which both use it; its lock is a leaf. */
#pragma once

#include <glib.h>

typedef struct LfsMoves LfsMoves;

LfsMoves *lfs_moves_new(void);
void lfs_moves_free(LfsMoves *m);

/* A rename from -> to (or, with exchange, a swap) was applied to the
 * index; from and to NULL: some rename, paths unknown. */
void lfs_moves_note(LfsMoves *m, const char *from, const char *to, gboolean exchange);
/* Renames noted so far. */
guint64 lfs_moves_count(LfsMoves *m);

/* Careful walks run between begin and end (they nest): meanwhile every
 * rename noted with its paths is logged; the log is emptied when the last
 * one ends. */
void lfs_moves_careful_begin(LfsMoves *m);
void lfs_moves_careful_end(LfsMoves *m);
/* The position after the last rename logged. */
guint64 lfs_moves_position(LfsMoves *m);
/* path, right at position *seq, as it is after every rename logged since
 * (a new string); *seq becomes the position now. */
char *lfs_moves_rebase(LfsMoves *m, const char *path, guint64 *seq);
