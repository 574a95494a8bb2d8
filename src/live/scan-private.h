/* scan-private.h: shared by the files of the scans.
 *
 *   scan.c   the scan thread and its requests: full scans, SIGHUP, subtree
 *            scans, seeks
 *   walk.c   the walk engine: a directory walk with its workers, careful
 *            walks */
#pragma once

#include "scan.h"

/* The scans' state. lock guards every field but on_dir (set before the
 * scan thread starts). */
struct LfsScan {
  GMutex lock;
  GCond cond;         /* signalled when a scan ends */
  gboolean scanning;  /* a scan is filling the index */
  gboolean stop;      /* unmounting: end the scan thread */
  gboolean requested; /* -o watch asks for a new scan */
  guint64 scans;      /* full scans started (status: scans) */
  GHashTable *seek;   /* (dev, ino) -> 1: to look for, 2: looked for; or NULL */
  guint seek_pending; /* entries of seek at 1 */
  gint64 started_us;  /* monotonic time the current scan started */
  double seconds;     /* duration of the last finished scan */
  GThread *thread;
  int wake_fd; /* eventfd: the scan thread has something to do, or must stop */
  int stop_fd; /* eventfd, readable from the stop on: for threads polling */
  LfsScanDirFn on_dir;
};

/* Whether the mount is stopping (lfs_scan_stopping). */
static inline gboolean
lfs_scan_stop_asked(LfsScan *s)
{
  g_mutex_lock(&s->lock);
  gboolean stop = s->stop;
  g_mutex_unlock(&s->lock);
  return stop;
}

/* walk.c. Index everything at and below the directory start, with
 * nworkers workers (at most 4), the calling thread being one. seek: a
 * seek's set of LfsInoKeys looked for (only their names are indexed), or
 * NULL. linked: a subtree scan's array, filled with the hard-linked
 * inodes it indexed, or NULL. careful: the walk follows the renames
 * applied to the index meanwhile (between lfs_moves_careful_begin and
 * _end). TRUE if a directory moved before its entries were indexed (seeks,
 * subtree scans and careful walks look). */
gboolean lfs_walk(LfsCtx *c, const char *start, guint nworkers, GHashTable *seek,
                  GArray *linked, gboolean careful);
/* Workers for a walk of the whole tree: one per core, at most 4. */
guint lfs_walk_workers(void);
/* Whether the index lacks some name of the inode k (a seek looks on). */
gboolean lfs_scan_names_missing(LfsCtx *c, const LfsInoKey *k);
