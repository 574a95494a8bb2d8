/* watch-private.h: shared by the files of -o watch.
 *
 *   watch.c            choosing the mechanism, the thread
 *   watch-apply.c      what an event does to the index (common to both)
 *   watch-tree.c       the directories of SOURCE as the mechanism knows them
 *   watch-inotify.c    inotify: a watch per directory
 *   watch-fanotify.c   fanotify: a mark per filesystem, file handles
 *
 * Paths are relative to SOURCE, "" being SOURCE itself. */
#pragma once

#include "scan.h"
#include "update.h"
#include "watch-tree.h"
#include "watch.h"

#include <sys/types.h>

typedef enum {
  LFS_WATCH_INOTIFY = 1,
  LFS_WATCH_FANOTIFY,
} LfsWatchKind;

/* ---- the watch ---- */

typedef struct LfsInotify LfsInotify;
typedef struct LfsFanotify LfsFanotify;

struct LfsWatch {
  LfsWatchKind kind;
  int fd;      /* inotify or fanotify descriptor */
  pid_t self;  /* the daemon: fanotify tells its own changes apart */
  GMutex lock; /* guards tree and the mechanism's tables; a leaf */
  LfsWTree *tree;
  GThread *thread;
  LfsInotify *in;
  LfsFanotify *fan;
  /* The mechanism's: keys the tree let go of (GBytes), or NULL. */
  void (*keys_dropped)(LfsWatch *w, GPtrArray *dropped);
};

/* watch-inotify.c */
int lfs_inotify_open(LfsWatch *w);
void lfs_inotify_close(LfsWatch *w);
void lfs_inotify_add(LfsCtx *c, int dirfd, const char *rel);
void lfs_inotify_read(LfsCtx *c);

/* watch-fanotify.c. open marks the filesystem of SOURCE (root_fd). */
int lfs_fanotify_open(LfsWatch *w, int root_fd);
void lfs_fanotify_close(LfsWatch *w);
void lfs_fanotify_add(LfsCtx *c, int dirfd, const char *rel);
void lfs_fanotify_read(LfsCtx *c);

/* ---- watch-apply.c: what an event does, once its paths are known ----
 *
 * dir is the path of the directory the event names, name the entry in
 * it. Call without LfsWatch.lock. WATCH_OWN: a change the daemon made
 * through the view, already in the index: only the tree follows.
 * WATCH_MOVED: gone by a move, not removed. WATCH_NEW: a name made (or
 * moved in from outside SOURCE). */
enum { WATCH_OWN = 1, WATCH_MOVED = 2, WATCH_NEW = 4 };

/* A non-directory entry was made, changed or removed; dfd is dir (or -1). */
void lfs_watch_entry(LfsCtx *c, int dfd, const char *dir, const char *name,
                     unsigned flags);
/* A non-directory entry was removed (flags: WATCH_MOVED if moved out of
 * SOURCE): nothing in the source is looked at, the event says it all. */
void lfs_watch_entry_gone(LfsCtx *c, const char *dir, const char *name, unsigned flags);
/* A non-directory moved from odir/on to ndir/nn (both in SOURCE); ndfd is
 * ndir (or -1). */
void lfs_watch_entry_moved(LfsCtx *c, const char *odir, const char *on, int ndfd,
                           const char *ndir, const char *nn);
/* A directory appeared at dir/name (made, or moved in from outside
 * SOURCE): scanned in if scan (inotify: watches must be added; fanotify
 * sees everything made in a new directory, but not what one moved in
 * holds). */
void lfs_watch_dir_in(LfsCtx *c, const char *dir, const char *name, gboolean scan,
                      unsigned flags);
/* The directory dir/name was removed or moved out of SOURCE. */
void lfs_watch_dir_gone(LfsCtx *c, const char *dir, const char *name, unsigned flags);
/* The directory odir/on moved to ndir/nn. sure: the mechanism knows it is
 * the directory the tree has at odir/on; otherwise both places are
 * scanned again. */
void lfs_watch_dir_moved(LfsCtx *c, const char *odir, const char *on, const char *ndir,
                         const char *nn, gboolean sure, unsigned flags);
/* The attributes of the directory dir/name changed. */
void lfs_watch_dir_attrib(LfsCtx *c, const char *dir, const char *name);
/* The directory the tree has at path is not there, even once the queue
 * was empty: the tree's and the index's subtree there are dropped, and what
 * the source has there now is scanned. */
void lfs_watch_dir_stale(LfsCtx *c, const char *path);
/* Events were lost: a full scan. */
void lfs_watch_lost(LfsCtx *c);
/* Hand keys the tree let go of to the mechanism, and free them. */
void lfs_watch_dropped(LfsCtx *c, GPtrArray *dropped);
