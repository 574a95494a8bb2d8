/* lfs.h: the daemon's context, reached from every request through
 * fuse_req_userdata(); there is no other global state. */
#pragma once

#include "index/index.h"
#include "passthrough/inode.h"
#include "core/movelog.h"
#include "core/options.h"
#include "core/procfd.h"
#include "core/resolve.h"

#include <fuse_lowlevel.h>

typedef struct LfsVnodes LfsVnodes;
typedef struct LfsWatch LfsWatch;
typedef struct LfsVinval LfsVinval;
typedef struct LfsKpass LfsKpass;
typedef struct LfsDevio LfsDevio;

/* The background scan (scan.c). lock guards every field. */
typedef struct {
  GMutex lock;
  GCond cond;          /* signalled when a scan ends */
  gboolean scanning;   /* a scan is filling the index */
  gboolean dirty;      /* a directory moved through the view during the scan */
  guint64 moves;       /* renames applied to the index (lfs_scan_mark_dirty):
                        * a seek they overlap may have missed a directory */
  LfsMoveLog *movelog; /* while careful walks run (ncareful > 0): the renames
                        * applied to the index, in order (scan.c) */
  guint ncareful;
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
} LfsScanState;

typedef struct {
  LfsOptions opt;
  char *source;            /* absolute path of SOURCE */
  LfsInodeTable *itab;     /* real inodes */
  double timeout;          /* entry and attribute timeout, seconds */
  double vtimeout;         /* entry timeout of virtual entries (vinval.c) */
  double vattr_timeout;    /* their attribute timeout */
  gboolean root_daemon;    /* euid 0: may switch credentials, use AT_EMPTY_PATH links */
  gboolean source_flushes; /* SOURCE's filesystem reports errors on close */
  gboolean openat2;        /* lfs_open_rel may use openat2 (update.c) */

  /* The link index and what keeps it true. Lock order: change_lock, then
   * scan.lock, then the inode table's and the index's own locks and the
   * watch's (leaves). Changes through the view hold change_lock for reading
   * around their system call and index update; the scan holds it for
   * writing around each entry, so the two never interleave within one
   * entry; -o watch holds it for writing around each event it applies. */
  LfsIndex *index;
  GRWLock change_lock;
  LfsScanState scan;
  LfsVnodes *vnodes;                 /* virtual inodes of the .links trees */
  LfsWatch *watch;                   /* -o watch, or NULL */
  int root_fd;                       /* O_PATH of SOURCE, for scan and resolve */
  int mp_fd;                         /* O_PATH under MOUNTPOINT, or -1 */
  char *mp_rel;                      /* MOUNTPOINT relative to SOURCE, if inside */
  char *mp_name;                     /* its last component */
  struct lfs_resolve_guard guard;    /* for lfs_resolve_symlink */
  struct fuse_lowlevel_ops real_ops; /* the passthrough, behind the dispatch */
  struct fuse_session *se;           /* for notifications */
  GRWLock vreply_lock;               /* vinval.c */
  LfsVinval *vinval;
  LfsKpass *kpass;  /* FUSE passthrough (kpass.c), or NULL */
  LfsDevio *devio;  /* how requests are read (devio.c), or NULL */
  LfsProcFd procfd; /* O_PATH descriptors' files by name (procfd.h) */
} LfsCtx;

static inline LfsCtx *
lfs_ctx(fuse_req_t req)
{
  return fuse_req_userdata(req);
}

static inline LfsInode *
lfs_inode(fuse_req_t req, fuse_ino_t ino)
{
  return lfs_itab_get(lfs_ctx(req)->itab, ino);
}

/* Operation tables, filled by each concern's file. */
void lfs_passthrough_ops(struct fuse_lowlevel_ops *ops);
void lfs_fileops_ops(struct fuse_lowlevel_ops *ops);
void lfs_dirops_ops(struct fuse_lowlevel_ops *ops);

/* Virtual inodes have odd node ids (real ones are pointers, and 1 the root). */
static inline gboolean
lfs_is_virtual(fuse_ino_t ino)
{
  return ino != 1 && (ino & 1) != 0;
}

/* Open relpath (relative to SOURCE) without following any symlink and
 * without entering our own mount. Returns 0 or a positive errno. */
int lfs_open_rel(LfsCtx *c, const char *relpath, int flags, int *fd);
/* lstat of relpath, the same way. */
int lfs_stat_rel(LfsCtx *c, const char *relpath, struct stat *st);

/* scan.c */
void lfs_scan_init(LfsScanState *s);
void lfs_scan_clear(LfsScanState *s);
void lfs_scan_start(LfsCtx *c);
void lfs_scan_stop(LfsCtx *c);
/* Wait while a scan is running; FALSE if unmounting. */
gboolean lfs_scan_wait_ready(LfsCtx *c);
/* For status: whether a scan runs, and its seconds so far or last. */
gboolean lfs_scan_state(LfsCtx *c, double *seconds);
/* A rename from -> to (or, with exchange, a swap) was applied to the
 * index; from and to NULL: some rename, unknown. */
void lfs_scan_mark_dirty(LfsCtx *c, const char *from, const char *to, gboolean exchange);
gboolean lfs_scan_stopping(LfsCtx *c);
/* Wait until fd is readable or the mount is stopping, without a timeout:
 * TRUE if fd is readable. */
gboolean lfs_scan_poll_until_stop(LfsCtx *c, int fd);
/* Ask the scan thread for a new full scan (as SIGHUP does). */
void lfs_scan_request(LfsCtx *c);
/* Index the directory relpath and everything below it (a new directory). */
void lfs_scan_subtree(LfsCtx *c, const char *relpath);
/* Look for the names in SOURCE of (dev, ino), a file that got a new name
 * while the index knew none of its others: a walk in the scan thread that
 * adds them without emptying the index (listings never wait for it). */
void lfs_scan_seek(LfsCtx *c, dev_t dev, ino_t ino);
guint64 lfs_scan_count(LfsCtx *c);

/* watch.c: -o watch. open before mounting (FALSE, having said why on
 * stderr, if the mechanism asked for cannot be used), start after
 * fuse_daemonize, run after the scan is started, stop after lfs_scan_stop
 * (also if never started). add is called by the scan for every directory
 * it reads (dirfd open for reading), before reading it. */
gboolean lfs_watch_open(LfsCtx *c);
void lfs_watch_start(LfsCtx *c);
void lfs_watch_run(LfsCtx *c);
void lfs_watch_stop(LfsCtx *c);
void lfs_watch_add(LfsCtx *c, int dirfd, const char *rel);
const char *lfs_watch_mechanism(LfsCtx *c);

/* update.c: keep the index true across changes made through the view.
 * Call begin before the system call and end after the index update.
 * lfs_update_entry and lfs_update_path look at the entry again in the
 * source, whatever the change was (made, linked, removed). */
guint64 lfs_change_begin(LfsCtx *c);
void lfs_change_end(LfsCtx *c, guint64 begun);
/* The same for changes seen in the source (-o watch): exclusive. */
guint64 lfs_change_begin_seen(LfsCtx *c);
void lfs_change_end_seen(LfsCtx *c, guint64 begun);
void lfs_update_entry(LfsCtx *c, LfsInode *parent, const char *name);
void lfs_update_path(LfsCtx *c, const char *relpath);
/* The same for dir/name, dfd being dir (or -1: opened by path). */
void lfs_update_at(LfsCtx *c, int dfd, const char *dir, const char *name);
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
void lfs_update_renamed(LfsCtx *c, LfsInode *op, const char *on, LfsInode *np,
                        const char *nn, unsigned flags);
void lfs_update_symlink(LfsCtx *c, LfsIndex *idx, int dirfd, const char *dir,
                        const char *name, const struct stat *st);

/* bdi.c: raise the kernel's readahead for a new mount (root only). */
#define LFS_VIEW_READAHEAD_KB 768
void lfs_tune_readahead(const char *mountpoint);

/* vinval.c: the kernel's cache of virtual entries. start after mounting,
 * stop after the scan and watch threads. sync after a change that may
 * make a virtual entry stale: drops every recently replied one from the
 * kernel (waiting for that, briefly, if wait). */
void lfs_vinval_start(LfsCtx *c);
void lfs_vinval_stop(LfsCtx *c);
void lfs_vinval_sync(LfsCtx *c, gboolean wait);

/* linksdir.c: the virtual namespace, and the dispatch in front of the
 * passthrough. */
void lfs_links_ops(LfsCtx *c, struct fuse_lowlevel_ops *ops);
void lfs_links_dir_ops(struct fuse_lowlevel_ops *ops);
/* Whether readdir of dir lists the virtual directory (-o links=). */
gboolean lfs_links_listed_in(LfsCtx *c, LfsInode *dir);
/* st_ino of dir's virtual directory. */
uint64_t lfs_links_vino(LfsInode *dir);
LfsVnodes *lfs_vnodes_new(void);
void lfs_vnodes_free(LfsCtx *c, LfsVnodes *v);

/* Shared by the entry-making operations. */
int lfs_do_lookup(fuse_req_t req, fuse_ino_t parent, const char *name,
                  struct fuse_entry_param *e);
void lfs_fill_entry(LfsCtx *c, LfsInode *i, const struct stat *st,
                    struct fuse_entry_param *e);
