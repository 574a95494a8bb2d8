/* inode.h: the table of inodes the kernel knows, keyed by (st_dev, st_ino).
 *
 * Every name of a hard-linked file maps to one record, hence to one kernel
 * inode. A record does not hold a descriptor for its whole life: it keeps
 * one (parent, name) by which it can be reopened, and an O_PATH descriptor
 * that lives in a bounded LRU cache. Records whose name went away while the
 * kernel still knows them (unlinked but open, renamed over) keep their
 * descriptor until the kernel forgets them. No FUSE types here.
 *
 * Locking: one mutex per table protects the hash, the LRU, and every field
 * of every record. It is a leaf lock: nothing that may block on the mount
 * is done while it is held (only openat/fstat on the source). */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <sys/stat.h>

typedef struct LfsInode LfsInode;
typedef struct LfsInodeTable LfsInodeTable;

/* root_fd: O_PATH descriptor of SOURCE, owned by the table afterwards.
 * fd_limit: the process's RLIMIT_NOFILE. The cache keeps at most half of
 * it, and less when descriptors held for the kernel (lfs_itab_hold_fds)
 * need the room: open files come first. */
LfsInodeTable *lfs_itab_new(int root_fd, size_t fd_limit, int *err);

/* delta descriptors more (or fewer) held for the kernel: files and
 * directories open through the view, lock owners' descriptors. The cache
 * shrinks to what is left. */
void lfs_itab_hold_fds(LfsInodeTable *t, int delta);
/* After EMFILE or ENFILE: every cached descriptor not in use is closed;
 * whether there was any (then the open is worth trying again). */
gboolean lfs_itab_shed(LfsInodeTable *t);
/* openat(2), and once more after lfs_itab_shed if the process had no
 * descriptor left: what the kernel opens comes before the cache. */
int lfs_openat_yielding(LfsInodeTable *t, int dirfd, const char *path, int flags,
                        mode_t mode);
void lfs_itab_free(LfsInodeTable *t);

/* The directory that is our mountpoint, seen from below (opened before the
 * mount): whenever (parent dev/ino, name) names it, mp_fd is used instead
 * of walking into our own mount. Takes ownership of mp_fd. */
void lfs_itab_set_guard(LfsInodeTable *t, int mp_fd, dev_t parent_dev, ino_t parent_ino,
                        const char *name);

LfsInode *lfs_itab_root(LfsInodeTable *t);
uint64_t lfs_inode_nodeid(LfsInodeTable *t, LfsInode *i);
LfsInode *lfs_itab_get(LfsInodeTable *t, uint64_t nodeid);
mode_t lfs_inode_type(const LfsInode *i);
dev_t lfs_itab_root_dev(const LfsInodeTable *t);

/* st_ino shown for a source (dev, ino): the source's own on the source's
 * filesystem, a number unique in the view otherwise. */
uint64_t lfs_itab_vino(LfsInodeTable *t, dev_t dev, ino_t ino);

/* A pinned O_PATH descriptor for i (opened again if it was evicted). Every
 * successful get must be followed by one put. Returns 0 or positive errno. */
int lfs_inode_fd_get(LfsInodeTable *t, LfsInode *i, int *fd);
void lfs_inode_fd_put(LfsInodeTable *t, LfsInode *i);

/* fstatat/openat of name in parent, never following a final symlink and
 * never entering our own mount. */
int lfs_itab_statat(LfsInodeTable *t, LfsInode *parent, const char *name,
                    struct stat *st);
int lfs_itab_openat(LfsInodeTable *t, LfsInode *parent, const char *name, int flags,
                    int *fd);
/* fstat of i itself, through its descriptor. */
int lfs_itab_stat(LfsInodeTable *t, LfsInode *i, struct stat *st);
/* Whether (parent, name) is the guarded mountpoint. */
gboolean lfs_itab_is_guarded(LfsInodeTable *t, LfsInode *parent, const char *name);

/* The record for st found as (parent, name), created if new, with its
 * lookup count raised by one. fd, if >= 0, is an O_PATH descriptor of the
 * entry that the table may take (set to -1 then). */
LfsInode *lfs_itab_found(LfsInodeTable *t, LfsInode *parent, const char *name,
                         const struct stat *st, int *fd);
void lfs_itab_forget(LfsInodeTable *t, uint64_t nodeid, uint64_t nlookup);

/* Namespace bookkeeping around removing (parent, name), or renaming over
 * it. prepare: if a record is known by that name, it gets a descriptor of
 * its own (pinned) while the name still exists. finish: if the name went,
 * the record keeps that descriptor until the kernel forgets it, so open
 * files and other names keep working; if not, nothing changed. */
LfsInode *lfs_itab_prepare_remove(LfsInodeTable *t, LfsInode *parent, const char *name);
void lfs_itab_finish_remove(LfsInodeTable *t, LfsInode *i, LfsInode *parent,
                            const char *name, gboolean removed);
/* After a successful rename (flags as renameat2). */
void lfs_itab_renamed(LfsInodeTable *t, LfsInode *oldparent, const char *oldname,
                      LfsInode *newparent, const char *newname, unsigned flags);

typedef struct {
  guint inodes;
  guint cached_fds;
  guint kept_fds;
  guint held_fds;  /* held for the kernel (lfs_itab_hold_fds) */
  guint cache_max; /* what the cache may keep now */
} LfsItabStats;
void lfs_itab_stats(LfsInodeTable *t, LfsItabStats *out);

void lfs_inode_devino(const LfsInode *i, dev_t *dev, ino_t *ino);

/* A pinned descriptor as a scoped value:
 *   g_auto(LfsPin) pin = LFS_PIN_INIT;
 *   int err = lfs_pin(t, i, &pin);   ... pin.fd ...
 */
typedef struct {
  LfsInodeTable *t;
  LfsInode *i;
  int fd;
} LfsPin;
#define LFS_PIN_INIT                                                                     \
  {                                                                                      \
    NULL, NULL, -1                                                                       \
  }

static inline int
lfs_pin(LfsInodeTable *t, LfsInode *i, LfsPin *pin)
{
  int err = lfs_inode_fd_get(t, i, &pin->fd);
  if (err == 0) {
    pin->t = t;
    pin->i = i;
  }
  return err;
}

static inline void
lfs_unpin(LfsPin *pin)
{
  if (pin->i != NULL)
    lfs_inode_fd_put(pin->t, pin->i);
  pin->i = NULL;
  pin->fd = -1;
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(LfsPin, lfs_unpin)

/* Whether a POSIX lock was ever asked for on i through the view (opens
 * before that need no FLUSH at close: fileops.c). */
void lfs_itab_set_locked(LfsInodeTable *t, LfsInode *i);
gboolean lfs_itab_was_locked(LfsInodeTable *t, LfsInode *i);

/* Whether the name i was last found by (through the view) still names it
 * in the source: 0 if so (or i has no such name: the root, a file
 * unlinked through the view), ESTALE if the source lost or replaced it
 * meanwhile (the kernel may still cache that name for the cache=
 * timeout). ESTALE makes the kernel walk the path again, looking each name
 * up (LOOKUP_REVAL), so an open or access through a stale name reaches
 * what the name is now, or ENOENT, never a file deleted in the source. */
int lfs_itab_check_name(LfsInodeTable *t, LfsInode *i);

/* The view's page cache of a regular file and the source file. The kernel
 * keeps what was read through the view; linkfs keeps, per inode, the
 * source's mtime, ctime and size from when that cache last agreed with
 * the source (dropped, or empty). A change made in the source changes
 * them (ctime always), so while they are the same the cache may be kept
 * (keep_cache at open, no drop when a lock is had). A record taken within
 * the timestamps' granularity of the file's last change cannot tell a
 * change made right after it: it never agrees. */
typedef enum {
  LFS_PCACHE_EMPTY,  /* never opened since the kernel learned the inode */
  LFS_PCACHE_AGREES, /* st is what was recorded, surely */
  LFS_PCACHE_STALE,  /* it may hold data older than the source's */
} LfsPageCache;
LfsPageCache lfs_itab_cache_state(LfsInodeTable *t, LfsInode *i, const struct stat *st);
/* The cache holds nothing older than the source file with attributes st
 * (taken before it was dropped). */
void lfs_itab_cache_agree(LfsInodeTable *t, LfsInode *i, const struct stat *st);

/* Keep i (and so its ancestors) alive beyond the kernel's references. */
void lfs_itab_ref(LfsInodeTable *t, LfsInode *i);
void lfs_itab_unref(LfsInodeTable *t, LfsInode *i);
/* i's path relative to SOURCE ("" for the root), as last named through the
 * view; NULL if it has no name any more. */
char *lfs_itab_path(LfsInodeTable *t, LfsInode *i);
/* Whether lfs_itab_path would give a path (without making it). */
gboolean lfs_itab_named(LfsInodeTable *t, LfsInode *i);

/* The source's (dev, ino) of the view's st_ino vino (see lfs_itab_vino):
 * FALSE for a number of another filesystem that was never given. */
gboolean lfs_itab_devino_of(LfsInodeTable *t, uint64_t vino, dev_t *dev, ino_t *ino);
/* The record of (dev, ino), if the table has one, with a reference taken
 * (lfs_itab_unref), or NULL. */
LfsInode *lfs_itab_find(LfsInodeTable *t, dev_t dev, ino_t ino);
/* The record of the directory relpath (relative to SOURCE), reached from
 * the root one name at a time as lookups would, with a reference taken
 * (lfs_itab_unref); the kernel is not told of the records made. NULL and
 * *err (a positive errno) if a step fails. */
LfsInode *lfs_itab_walk(LfsInodeTable *t, const char *relpath, int *err);
