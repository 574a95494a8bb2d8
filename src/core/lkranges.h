/* lkranges.h: the byte ranges one POSIX lock owner holds on one file, kept
 * as the kernel keeps them: a new lock (or unlock) replaces whatever it
 * overlaps, splitting ranges it cuts; ranges of one type that touch or
 * overlap merge. The daemon mirrors the locks it takes on the source with
 * it, to say which caller holds a lock (F_GETLK's l_pid). Plain C, no
 * locking: the caller serializes. */
#pragma once

#include <glib.h>

/* LFS_LK_EOF as end: to the end of the file, however it grows. */
#define LFS_LK_EOF G_MAXINT64

typedef struct {
  gint64 start;
  gint64 end; /* inclusive */
  short type; /* F_RDLCK or F_WRLCK */
} LfsLkRange;

typedef struct LfsLkRanges LfsLkRanges;

LfsLkRanges *lfs_lkranges_new(void);
void lfs_lkranges_free(LfsLkRanges *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LfsLkRanges, lfs_lkranges_free)

/* Lock [start, end] with type F_RDLCK or F_WRLCK, or unlock it (F_UNLCK). */
void lfs_lkranges_set(LfsLkRanges *r, gint64 start, gint64 end, short type);
void lfs_lkranges_clear(LfsLkRanges *r);
gboolean lfs_lkranges_empty(const LfsLkRanges *r);
guint lfs_lkranges_count(const LfsLkRanges *r);
/* The first range held (by start) that a lock of type over [start, end]
 * by another owner would conflict with, or NULL. */
const LfsLkRange *lfs_lkranges_conflict(const LfsLkRanges *r, gint64 start, gint64 end,
                                        short type);
/* The k-th range, by start. */
const LfsLkRange *lfs_lkranges_nth(const LfsLkRanges *r, guint k);
