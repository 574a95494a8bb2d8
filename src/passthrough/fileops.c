/* fileops.c: open files, their data, locks and extended attributes. An open
 * file's handle is a real descriptor of the source file. */
#include "passthrough.h"

#include "live/update.h"

#include "creds.h"
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

/* fi->fh is set. With FUSE passthrough the kernel does the file's I/O
 * itself; a file it would not take is served with direct_io, as the
 * kernel does not mix cached and passthrough opens of one inode. */
static void
set_open_flags(LfsCtx *c, LfsInode *i, struct fuse_file_info *fi)
{
  fi->direct_io = (fi->flags & O_DIRECT) != 0;
  fi->keep_cache = c->opt.cache == LFS_CACHE_ALWAYS;
  if (!lfs_kpass_active(c->kpass))
    return;
  /* The kernel refuses keep_cache with passthrough (EIO at open); the
   * view has no page cache of its own for such files anyway. */
  fi->keep_cache = 0;
  if (!lfs_kpass_open(c->kpass, i, lfs_fh_fd(fi), &fi->fh))
    fi->direct_io = 1;
}

static void
release_fh(LfsCtx *c, LfsInode *i, struct fuse_file_info *fi)
{
  lfs_kpass_release(c->kpass, i, fi->fh);
  close(lfs_fh_fd(fi));
}

static void
fo_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  LfsCtx *c = lfs_ctx(req);
  LfsInode *i = lfs_inode(req, ino);
  int fd = -1;
  int err;
  {
    g_auto(LfsPin) pin = LFS_PIN_INIT;
    err = lfs_pin(c->itab, i, &pin);
    if (err == 0) {
      char name[LFS_PROCFD_NAME_MAX];
      int dirfd;
      const char *at = lfs_procfd_at(&c->procfd, pin.fd, name, &dirfd);
      fd = openat(dirfd, at, (fi->flags & ~O_NOFOLLOW) | O_CLOEXEC);
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
  set_open_flags(c, i, fi);
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
    fd = openat(pin.fd, name, fi->flags | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
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
  set_open_flags(c, i, fi);
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

static void
fo_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  /* The kernel keeps POSIX locks itself; what a close of a duplicate
   * still does is report the errors of filesystems that write back on
   * close (NFS, SMB, FUSE). Elsewhere there is nothing to do: ENOSYS
   * tells the kernel to stop asking, which saves a round trip per close. */
  if (!lfs_ctx(req)->source_flushes) {
    fuse_reply_err(req, ENOSYS);
    return;
  }
  int res = close(dup(lfs_fh_fd(fi)));
  fuse_reply_err(req, res < 0 ? errno : 0);
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

static void
fo_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op)
{
  int res = flock(lfs_fh_fd(fi), op);
  fuse_reply_err(req, res < 0 ? errno : 0);
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
  ops->getxattr = fo_getxattr;
  ops->listxattr = fo_listxattr;
  ops->setxattr = fo_setxattr;
  ops->removexattr = fo_removexattr;
}
