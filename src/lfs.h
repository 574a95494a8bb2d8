/* lfs.h: the daemon's context, reached from every request through
 * fuse_req_userdata(); there is no other global state. Each subsystem
 * declares its API in its own header (src/README.md). */
#pragma once

#include "index/index.h"
#include "passthrough/inode.h"
#include "core/log.h"
#include "core/openrel.h"
#include "core/options.h"
#include "core/procfd.h"
#include "core/resolve.h"

#include <fuse_lowlevel.h>

typedef struct LfsCtx LfsCtx;
typedef struct LfsScan LfsScan;
typedef struct LfsMoves LfsMoves;
typedef struct LfsVnodes LfsVnodes;
typedef struct LfsWatch LfsWatch;
typedef struct LfsVinval LfsVinval;
typedef struct LfsKpass LfsKpass;
typedef struct LfsDevio LfsDevio;
typedef struct LfsLocks LfsLocks;
typedef struct LfsLockWaits LfsLockWaits;

struct LfsCtx {
  LfsOptions opt;
  char *source;            /* absolute path of SOURCE */
  LfsInodeTable *itab;     /* real inodes */
  double timeout;          /* entry and attribute timeout, seconds */
  double vtimeout;         /* entry timeout of virtual entries (vinval.c) */
  double vattr_timeout;    /* their attribute timeout */
  gboolean root_daemon;    /* euid 0: may switch credentials, use AT_EMPTY_PATH links */
  gboolean source_flushes; /* SOURCE's filesystem reports errors on close */

  /* The link index and what keeps it true. Lock order: change_lock, then
   * the scan's lock, then the inode table's and the index's own locks, the
   * renames' (live/moves.c) and the watch's (leaves). Changes through the
   * view hold change_lock for reading around their system call and index
   * update; the scan holds it for writing around each batch of entries,
   * so the two never interleave within one entry; -o watch holds it for
   * writing around each event it applies. */
  LfsIndex *index;
  GRWLock change_lock;
  LfsScan *scan;                     /* the scans (live/scan.h) */
  LfsMoves *moves;                   /* renames applied to the index (live/moves.h) */
  LfsVnodes *vnodes;                 /* virtual inodes of the .links trees */
  LfsWatch *watch;                   /* -o watch, or NULL */
  LfsSourceRoot root;                /* SOURCE, for paths below it (core/openrel.h) */
  char *mp_name;                     /* MOUNTPOINT's last component, if inside */
  struct lfs_resolve_guard guard;    /* for lfs_resolve_symlink */
  struct fuse_lowlevel_ops real_ops; /* the passthrough, behind the dispatch */
  struct fuse_session *se;           /* for notifications */
  GRWLock vreply_lock;               /* vinval.c */
  LfsVinval *vinval;
  /* Set by the view (vinval.c): what the kernel caches of .links may be
   * stale (the index changed, or the owner or times of what a virtual
   * entry describes): drop it, waiting for that briefly if wait. */
  void (*view_stale)(LfsCtx *c, gboolean wait);
  LfsKpass *kpass;         /* FUSE passthrough (kpass.c), or NULL */
  LfsDevio *devio;         /* how requests are read (devio.c), or NULL */
  LfsProcFd procfd;        /* O_PATH descriptors' files by name (procfd.h) */
  LfsLog *log;             /* where warnings go (core/log.h) */
  LfsLocks *locks;         /* POSIX locks of the view on the source (locks.h) */
  LfsLockWaits *lockwaits; /* lock requests waiting (lockwait.h) */
};

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

/* Virtual inodes have odd node ids (real ones are pointers, and 1 the root). */
static inline gboolean
lfs_is_virtual(fuse_ino_t ino)
{
  return ino != 1 && (ino & 1) != 0;
}

/* Tell the view that what it shows may have changed (see view_stale). */
static inline void
lfs_view_stale(LfsCtx *c, gboolean wait)
{
  if (c->view_stale != NULL)
    c->view_stale(c, wait);
}
