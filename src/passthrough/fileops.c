/* fileops.c: open files, their data, locks and extended attributes. An open
 * file's handle is a real descriptor of the source file. */
#include "passthrough.h"

#include "live/update.h"

#include "creds.h"
#include "lockwait.h"
#include "locks.h"
#include "core/fdutil.h"
#include "devio/kpass.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/xattr.h>
#include <unistd.h>

/* O_DIRECT is checked by opening the source with it, then dropped on our
 * descriptor: the kernel already bypasses the view's page cache
 * (direct_io), and the requests it sends us are not aligned in memory. */
static int
drop_direct(int fd)
{
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || !(fl & O_DIRECT))
    return 0;
  return fcntl(fd, F_SETFL, fl & ~O_DIRECT) < 0 ? errno : 0;
}

/* The view's page cache of i, with the source file's attributes now
 * (fd: a descriptor of it): whether it may be kept. One that may hold
 * older data than the source is dropped before the reply (also when
 * another open races with this one: it finds it stale too until the drop
 * is recorded), and what the source is now is recorded. at_open: an
 * inode never opened has nothing cached yet. */
static gboolean
page_cache_sync(LfsCtx *c, fuse_ino_t ino, LfsInode *i, int fd, gboolean at_open)
{
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
    return FALSE;
  switch (lfs_itab_cache_state(c->itab, i, &st)) {
  case LFS_PCACHE_AGREES:
    return TRUE;
  case LFS_PCACHE_EMPTY:
    if (at_open)
      break;
    /* fall through */
  default:
    fuse_lowlevel_notify_inval_inode(c->se, ino, 0, 0);
    break;
  }
  lfs_itab_cache_agree(c->itab, i, &st);
  return FALSE;
}

/* fi->fh is set. The view's page cache of the file is kept from one open
 * to the next while the source file has not changed (cache=auto), always
 * (cache=always), or never. With FUSE passthrough the kernel does the
 * file's I/O itself; a file it would not take is served with direct_io,
 * as the kernel does not mix cached and passthrough opens of one inode. */
static void
set_open_flags(LfsCtx *c, fuse_ino_t ino, LfsInode *i, struct fuse_file_info *fi)
{
  int fd = lfs_fh_fd(fi);
  fi->direct_io = (fi->flags & O_DIRECT) != 0;
  /* A FLUSH at every close(2) costs a round trip (15 us here); it is
   * needed to drop POSIX locks at each close, and to report the errors of
   * a source that writes back on close. A file never locked through the
   * view is opened without: its locks, if some come later, go at the
   * RELEASE of the open files they were taken through (locks.h). */
  fi->noflush = !c->source_flushes && !lfs_itab_was_locked(c->itab, i);
  if (c->opt.cache == LFS_CACHE_ALWAYS)
    fi->keep_cache = 1;
  else if (fi->flags & O_TRUNC)
    fi->keep_cache = 0; /* the kernel truncates it */
  else
    fi->keep_cache =
        page_cache_sync(c, ino, i, fd, TRUE) && c->opt.cache != LFS_CACHE_NEVER;
  if (!lfs_kpass_active(c->kpass))
    return;
  /* The kernel refuses keep_cache with passthrough (EIO at open); the
   * view has no page cache of its own for such files anyway. */
  fi->keep_cache = 0;
  if (!lfs_kpass_open(c->kpass, i, fd, &fi->fh))
    fi->direct_io = 1;
}

/* The last close of an open file: the locks taken through it go (OFD
 * locks live as long as their open file), before its descriptor number
 * can be had again. */
static void
release_fh(LfsCtx *c, LfsInode *i, struct fuse_file_info *fi)
{
  lfs_locks_release(c->locks, i, lfs_fh_fd(fi));
  lfs_kpass_release(c->kpass, i, fi->fh);
  close(lfs_fh_fd(fi));
  lfs_itab_hold_fds(c->itab, -1);
}

static void
fo_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  LfsCtx *c = lfs_ctx(req);
  LfsInode *i = lfs_inode(req, ino);
  int fd = -1;
  /* Opened by a name the kernel still caches, while the source has
   * removed or replaced it: the kernel looks the path up again. */
  int err = lfs_itab_check_name(c->itab, i);
  if (err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  {
    g_auto(LfsPin) pin = LFS_PIN_INIT;
    err = lfs_pin(c->itab, i, &pin);
    if (err == 0) {
      char name[LFS_PROCFD_NAME_MAX];
      int dirfd;
      const char *at = lfs_procfd_at(&c->procfd, pin.fd, name, &dirfd);
      fd = lfs_openat_yielding(c->itab, dirfd, at, (fi->flags & ~O_NOFOLLOW) | O_CLOEXEC,
                               0);
      err = fd < 0 ? errno : drop_direct(fd);
    }
  }
  if (err != 0) {
    if (fd >= 0)
      close(fd);
    fuse_reply_err(req, err);
    return;
  }
  fi->fh = (uint64_t)fd;
  lfs_itab_hold_fds(c->itab, 1);
  set_open_flags(c, ino, i, fi);
  if (fuse_reply_open(req, fi) != 0)
    release_fh(c, i, fi);
}

static int
do_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
          struct fuse_file_info *fi, struct fuse_entry_param *e)
{
  LfsCtx *c = lfs_ctx(req);
  LfsInode *p = lfs_inode(req, parent);
  lfs_autofd fd = -1;
  {
    g_auto(LfsPin) pin = LFS_PIN_INIT;
    int err = lfs_pin(c->itab, p, &pin);
    if (err != 0)
      return err;
    LfsCreds cr;
    err = lfs_creds_enter(req, &cr);
    if (err != 0)
      return err;
    guint64 gen = lfs_change_begin(c);
    /* EMFILE comes before anything is made: tried again as it was. */
    fd = lfs_openat_yielding(c->itab, pin.fd, name,
                             fi->flags | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
                             lfs_creds_mode(&cr, mode));
    err = fd < 0 ? errno : 0;
    lfs_creds_leave(&cr);
    if (err == 0)
      lfs_changed_entry(c, p, name);
    lfs_change_end(c, gen);
    if (err != 0)
      return err;
  }
  struct stat st;
  if (fstat(fd, &st) < 0)
    return errno;
  int err = drop_direct(fd);
  if (err != 0)
    return err;
  LfsInode *i = lfs_itab_found(c->itab, p, name, &st, NULL);
  lfs_fill_entry(c, i, &st, e);
  fi->fh = (uint64_t)g_steal_fd(&fd);
  lfs_itab_hold_fds(c->itab, 1);
  set_open_flags(c, e->ino, i, fi);
  return 0;
}

static void
fo_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
          struct fuse_file_info *fi)
{
  struct fuse_entry_param e;
  int err = do_create(req, parent, name, mode, fi, &e);
  if (err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  if (fuse_reply_create(req, &e, fi) != 0) {
    release_fh(lfs_ctx(req), lfs_inode(req, e.ino), fi);
    lfs_itab_forget(lfs_ctx(req)->itab, e.ino, 1);
  }
}

static void
fo_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
  struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
  buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
  buf.buf[0].fd = lfs_fh_fd(fi);
  buf.buf[0].pos = off;
  fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

static void
fo_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in_buf, off_t off,
             struct fuse_file_info *fi)
{
  struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in_buf));
  out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
  out.buf[0].fd = lfs_fh_fd(fi);
  out.buf[0].pos = off;
  ssize_t res = fuse_buf_copy(&out, in_buf, 0);
  if (res < 0)
    fuse_reply_err(req, (int)-res);
  else
    fuse_reply_write(req, (size_t)res);
}

/* A close(2) of a descriptor of the file: the POSIX locks of the caller's
 * file table on it go, whichever descriptor took them (locks.h). Then
 * what a close of a duplicate does on filesystems that write back on
 * close (NFS, SMB, FUSE): report their errors. */
static void
fo_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  LfsCtx *c = lfs_ctx(req);
  lfs_locks_flush(c->locks, lfs_inode(req, ino), fi->lock_owner);
  int err = 0;
  if (c->source_flushes && close(dup(lfs_fh_fd(fi))) < 0)
    err = errno;
  fuse_reply_err(req, err);
}

static void
fo_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  release_fh(lfs_ctx(req), lfs_inode(req, ino), fi);
  fuse_reply_err(req, 0);
}

static void
fo_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
  int fd = lfs_fh_fd(fi);
  int res = datasync ? fdatasync(fd) : fsync(fd);
  fuse_reply_err(req, res < 0 ? errno : 0);
}

static void
fo_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
             struct fuse_file_info *fi)
{
  int res = fallocate(lfs_fh_fd(fi), mode, offset, length);
  fuse_reply_err(req, res < 0 ? errno : 0);
}

static void
fo_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
                   struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
                   struct fuse_file_info *fi_out, size_t len, int flags)
{
  ssize_t res = copy_file_range(lfs_fh_fd(fi_in), &off_in, lfs_fh_fd(fi_out), &off_out,
                                len, (unsigned)flags);
  if (res < 0)
    fuse_reply_err(req, errno);
  else
    fuse_reply_write(req, (size_t)res);
}

static void
fo_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi)
{
  off_t res = lseek(lfs_fh_fd(fi), off, whence);
  if (res < 0)
    fuse_reply_err(req, errno);
  else
    fuse_reply_lseek(req, res);
}

/* ---- locks: tried at once; one that must wait is waited for in a thread
 * of its own (lockwait.h), never in a worker of libfuse's. ---- */

/* A lock had: the view's page cache and attributes of the file may be
 * older than the source, where another process wrote them under its own
 * lock; they are dropped before the caller, who now holds the lock, reads
 * (as NFS does). Writes through the view reach the source as they are
 * made (no writeback cache), so nothing is to be written back first. */
typedef struct {
  LfsCtx *c;
  fuse_ino_t ino;
  int fd; /* the handle's */
  gboolean unlock;
} LockReply;

static void
lock_had(const LockReply *r, int err)
{
  if (err == 0 && !r->unlock)
    page_cache_sync(r->c, r->ino, lfs_itab_get(r->c->itab, r->ino), r->fd, FALSE);
}

static void
reply_lock_free(fuse_req_t req, gpointer data, int err)
{
  lock_had(data, err);
  g_free(data);
  fuse_reply_err(req, err);
}

typedef struct {
  LockReply r; /* first: freed as one */
  int fd;
  int op;
} FlockArgs;

static int
flock_call(gpointer p)
{
  const FlockArgs *a = p;
  return flock(a->fd, a->op) < 0 ? errno : 0;
}

static void
fo_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op)
{
  LfsCtx *c = lfs_ctx(req);
  FlockArgs a = {
      .r = {.c = c, .ino = ino, .fd = lfs_fh_fd(fi), .unlock = (op & LOCK_UN) != 0},
      .fd = lfs_fh_fd(fi),
      .op = op};
  int err = flock(a.fd, op | LOCK_NB) < 0 ? errno : 0;
  if (err == EWOULDBLOCK && !(op & LOCK_NB)) {
    FlockArgs *w = g_memdup2(&a, sizeof a);
    err = lfs_lockwaits_start(c->lockwaits, req, flock_call, reply_lock_free, w);
    if (err == 0)
      return;
    g_free(w);
  }
  lock_had(&a.r, err);
  fuse_reply_err(req, err);
}

static void
fo_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock)
{
  LfsCtx *c = lfs_ctx(req);
  int err =
      lfs_locks_get(c->locks, lfs_inode(req, ino), lfs_fh_fd(fi), fi->lock_owner, lock);
  if (err != 0)
    fuse_reply_err(req, err);
  else
    fuse_reply_lock(req, lock);
}

typedef struct {
  LockReply r; /* first: freed as one */
  LfsLocks *locks;
  LfsInode *node;
  int fd;
  uint64_t owner;
  struct flock lk;
} SetlkArgs;

static int
setlk_call(gpointer p)
{
  const SetlkArgs *a = p;
  return lfs_locks_set(a->locks, a->node, a->fd, a->owner, &a->lk, TRUE);
}

static void
fo_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock,
         int sleep)
{
  LfsCtx *c = lfs_ctx(req);
  if (lock->l_type != F_UNLCK)
    lfs_itab_set_locked(c->itab, lfs_inode(req, ino));
  SetlkArgs a = {
      .r = {.c = c, .ino = ino, .fd = lfs_fh_fd(fi), .unlock = lock->l_type == F_UNLCK},
      .locks = c->locks,
      .node = lfs_inode(req, ino),
      .fd = lfs_fh_fd(fi),
      .owner = fi->lock_owner,
      .lk = *lock};
  int err = lfs_locks_set(a.locks, a.node, a.fd, a.owner, &a.lk, FALSE);
  if (err == EAGAIN && sleep) {
    SetlkArgs *w = g_memdup2(&a, sizeof a);
    err = lfs_lockwaits_start(c->lockwaits, req, setlk_call, reply_lock_free, w);
    if (err == 0)
      return;
    g_free(w);
  }
  lock_had(&a.r, err);
  fuse_reply_err(req, err);
}

/* Extended attributes go through /proc/self/fd/N (procfd.h): O_PATH
 * descriptors cannot carry them directly. */
typedef enum { XA_GET, XA_LIST, XA_SET, XA_REMOVE } XattrOp;

static ssize_t
xattr_call(fuse_req_t req, fuse_ino_t ino, XattrOp op, const char *name, char *buf,
           size_t size, int flags, int *err)
{
  LfsCtx *c = lfs_ctx(req);
  g_auto(LfsPin) pin = LFS_PIN_INIT;
  *err = lfs_pin(c->itab, lfs_inode(req, ino), &pin);
  if (*err != 0)
    return -1;
  const LfsProcFd *pf = &c->procfd;
  ssize_t res;
  switch (op) {
  case XA_GET:
    res = lfs_procfd_getxattr(pf, pin.fd, name, buf, size);
    break;
  case XA_LIST:
    res = lfs_procfd_listxattr(pf, pin.fd, buf, size);
    break;
  case XA_SET:
    res = lfs_procfd_setxattr(pf, pin.fd, name, buf, size, flags);
    break;
  default:
    res = lfs_procfd_removexattr(pf, pin.fd, name);
    break;
  }
  *err = res < 0 ? errno : 0;
  return res;
}

static void
reply_xattr_result(fuse_req_t req, ssize_t res, int err, const char *buf, size_t size)
{
  if (err != 0)
    fuse_reply_err(req, err);
  else if (size == 0)
    fuse_reply_xattr(req, (size_t)res);
  else
    fuse_reply_buf(req, buf, (size_t)res);
}

static void
fo_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
  g_autofree char *buf = size ? g_malloc(size) : NULL;
  int err;
  ssize_t res = xattr_call(req, ino, XA_GET, name, buf, size, 0, &err);
  reply_xattr_result(req, res, err, buf, size);
}

static void
fo_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
  g_autofree char *buf = size ? g_malloc(size) : NULL;
  int err;
  ssize_t res = xattr_call(req, ino, XA_LIST, NULL, buf, size, 0, &err);
  reply_xattr_result(req, res, err, buf, size);
}

static void
fo_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
            size_t size, int flags)
{
  int err;
  xattr_call(req, ino, XA_SET, name, (char *)value, size, flags, &err);
  fuse_reply_err(req, err);
}

static void
fo_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
  int err;
  xattr_call(req, ino, XA_REMOVE, name, NULL, 0, 0, &err);
  fuse_reply_err(req, err);
}

void
lfs_fileops_ops(struct fuse_lowlevel_ops *ops)
{
  ops->open = fo_open;
  ops->create = fo_create;
  ops->read = fo_read;
  ops->write_buf = fo_write_buf;
  ops->flush = fo_flush;
  ops->release = fo_release;
  ops->fsync = fo_fsync;
  ops->fallocate = fo_fallocate;
  ops->copy_file_range = fo_copy_file_range;
  ops->lseek = fo_lseek;
  ops->flock = fo_flock;
  ops->getlk = fo_getlk;
  ops->setlk = fo_setlk;
  ops->getxattr = fo_getxattr;
  ops->listxattr = fo_listxattr;
  ops->setxattr = fo_setxattr;
  ops->removexattr = fo_removexattr;
}
