/* linksops.c: the rest of the dispatch: the status file, extended
 * attributes, and EROFS for every change attempt on a virtual entry. */
#include "links.h"

#include "vnode.h"
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/xattr.h>

#define OUTSIDE_XATTR "user.linkfs.outside"

/* A real directory's entry named like the virtual one, with no real entry
 * behind it: changing it is changing .links. */
static gboolean
is_virtual_name(fuse_req_t req, fuse_ino_t parent, const char *name)
{
  LfsCtx *c = lfs_ctx(req);
  if (strcmp(name, c->opt.links_name) != 0)
    return FALSE;
  struct stat st;
  return lfs_itab_statat(c->itab, lfs_inode(req, parent), name, &st) == ENOENT;
}

static gboolean
touches_links(fuse_req_t req, fuse_ino_t parent, const char *name)
{
  return lfs_is_virtual(parent) || (name != NULL && is_virtual_name(req, parent, name));
}

/* Making an entry: EROFS inside .links; EEXIST for the virtual name in a
 * real directory (the kernel says so itself while it has the entry
 * cached, but not just after D/.links was removed); else 0. */
static int
making_links(fuse_req_t req, fuse_ino_t parent, const char *name)
{
  if (lfs_is_virtual(parent))
    return EROFS;
  return is_virtual_name(req, parent, name) ? EEXIST : 0;
}

static void
d_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
          struct fuse_file_info *fi)
{
  if (lfs_is_virtual(ino))
    fuse_reply_err(req, EROFS);
  else
    lfs_ctx(req)->real_ops.setattr(req, ino, attr, valid, fi);
}

static void
d_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
  int err = making_links(req, parent, name);
  if (err != 0)
    fuse_reply_err(req, err);
  else
    lfs_ctx(req)->real_ops.mknod(req, parent, name, mode, rdev);
}

static void
d_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
  int err = making_links(req, parent, name);
  if (err != 0)
    fuse_reply_err(req, err);
  else
    lfs_ctx(req)->real_ops.mkdir(req, parent, name, mode);
}

static void
d_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
  int err = making_links(req, parent, name);
  if (err != 0)
    fuse_reply_err(req, err);
  else
    lfs_ctx(req)->real_ops.symlink(req, link, parent, name);
}

static void
d_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
  int err = lfs_is_virtual(ino) ? EROFS : making_links(req, newparent, newname);
  if (err != 0)
    fuse_reply_err(req, err);
  else
    lfs_ctx(req)->real_ops.link(req, ino, newparent, newname);
}

/* Removing D/.links (D not the root) succeeds and changes nothing: the
 * link is computed, and there again at the next lookup. So rm -r, find
 * -delete and a file manager's delete of a folder work as on the source.
 * Removed again before D is listed again, it is EROFS (vnode.h). */
static void
d_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
  if (!lfs_is_virtual(parent) && parent != FUSE_ROOT_ID &&
      is_virtual_name(req, parent, name))
    fuse_reply_err(
        req, lfs_vnodes_unlink_dlink(lfs_ctx(req), lfs_inode(req, parent)) ? 0 : EROFS);
  else if (touches_links(req, parent, name))
    fuse_reply_err(req, EROFS);
  else
    lfs_ctx(req)->real_ops.unlink(req, parent, name);
}

static void
d_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
  if (touches_links(req, parent, name))
    fuse_reply_err(req, EROFS);
  else
    lfs_ctx(req)->real_ops.rmdir(req, parent, name);
}

static void
d_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
         const char *newname, unsigned int flags)
{
  if (touches_links(req, parent, name) || touches_links(req, newparent, newname))
    fuse_reply_err(req, EROFS);
  else
    lfs_ctx(req)->real_ops.rename(req, parent, name, newparent, newname, flags);
}

static void
d_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
         struct fuse_file_info *fi)
{
  int err = making_links(req, parent, name);
  if (err != 0)
    fuse_reply_err(req, err);
  else
    lfs_ctx(req)->real_ops.create(req, parent, name, mode, fi);
}

static void
d_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  LfsCtx *c = lfs_ctx(req);
  if (!lfs_is_virtual(ino)) {
    c->real_ops.open(req, ino, fi);
    return;
  }
  if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
    fuse_reply_err(req, EROFS);
    return;
  }
  if (lfs_vnode(ino)->kind != VN_STATUS) {
    fuse_reply_err(req, EISDIR);
    return;
  }
  char *text = lfs_status_text(c);
  fi->fh = (uintptr_t)text;
  fi->direct_io = 1;
  fi->keep_cache = 0;
  if (fuse_reply_open(req, fi) != 0)
    g_free(text);
}

static void
d_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
  if (!lfs_is_virtual(ino)) {
    lfs_ctx(req)->real_ops.read(req, ino, size, off, fi);
    return;
  }
  const char *text = (const char *)(uintptr_t)fi->fh;
  size_t len = strlen(text);
  size_t start = MIN((size_t)off, len);
  size_t n = MIN(size, len - start);
  /* A copy: once the reply is written, the reader may close and release
   * the handle before fuse_reply_buf has returned. */
  g_autofree char *copy = g_memdup2(text + start, n);
  fuse_reply_buf(req, copy, n);
}

static void
d_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  if (!lfs_is_virtual(ino)) {
    lfs_ctx(req)->real_ops.release(req, ino, fi);
    return;
  }
  g_free((char *)(uintptr_t)fi->fh);
  fuse_reply_err(req, 0);
}

static void
d_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  if (lfs_is_virtual(ino))
    fuse_reply_err(req, 0);
  else
    lfs_ctx(req)->real_ops.flush(req, ino, fi);
}

static void
d_statfs(fuse_req_t req, fuse_ino_t ino)
{
  lfs_ctx(req)->real_ops.statfs(req, lfs_is_virtual(ino) ? FUSE_ROOT_ID : ino);
}

static void
d_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
  if (!lfs_is_virtual(ino))
    lfs_ctx(req)->real_ops.access(req, ino, mask);
  else
    fuse_reply_err(req, (mask & W_OK) ? EROFS : 0);
}

static void
d_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
  LfsCtx *c = lfs_ctx(req);
  if (!lfs_is_virtual(ino)) {
    c->real_ops.getxattr(req, ino, name, size);
    return;
  }
  guint64 outside = 0;
  int err = strcmp(name, OUTSIDE_XATTR) != 0
                ? ENODATA
                : lfs_vnode_outside(c, lfs_vnode(ino), &outside);
  if (err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  char buf[32];
  int n = g_snprintf(buf, sizeof buf, "%" G_GUINT64_FORMAT, outside);
  if (size == 0)
    fuse_reply_xattr(req, (size_t)n);
  else if (size < (size_t)n)
    fuse_reply_err(req, ERANGE);
  else
    fuse_reply_buf(req, buf, (size_t)n);
}

static void
d_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
  LfsCtx *c = lfs_ctx(req);
  if (!lfs_is_virtual(ino)) {
    c->real_ops.listxattr(req, ino, size);
    return;
  }
  VKind k = lfs_vnode(ino)->kind;
  size_t n = (k == VN_SIBDIR || k == VN_INODIR) ? sizeof OUTSIDE_XATTR : 0;
  if (size == 0)
    fuse_reply_xattr(req, n);
  else if (size < n)
    fuse_reply_err(req, ERANGE);
  else
    fuse_reply_buf(req, OUTSIDE_XATTR, n);
}

static void
d_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
           size_t size, int flags)
{
  if (lfs_is_virtual(ino))
    fuse_reply_err(req, EROFS);
  else
    lfs_ctx(req)->real_ops.setxattr(req, ino, name, value, size, flags);
}

static void
d_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
  if (lfs_is_virtual(ino))
    fuse_reply_err(req, EROFS);
  else
    lfs_ctx(req)->real_ops.removexattr(req, ino, name);
}

static void
d_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
  if (lfs_is_virtual(ino))
    fuse_reply_err(req, 0);
  else
    lfs_ctx(req)->real_ops.fsync(req, ino, datasync, fi);
}

static void
d_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi)
{
  if (!lfs_is_virtual(ino)) {
    lfs_ctx(req)->real_ops.lseek(req, ino, off, whence, fi);
    return;
  }
  off_t len = (off_t)strlen((const char *)(uintptr_t)fi->fh);
  if (off >= len || off < 0)
    fuse_reply_err(req, ENXIO);
  else
    fuse_reply_lseek(req, whence == SEEK_HOLE ? len : off);
}

static void
d_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op)
{
  if (lfs_is_virtual(ino))
    fuse_reply_err(req, 0);
  else
    lfs_ctx(req)->real_ops.flock(req, ino, fi, op);
}

/* A virtual file is read-only and never changes: no lock conflicts on it
 * (write locks need a descriptor open for writing, which it never has). */
static void
d_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock)
{
  if (!lfs_is_virtual(ino)) {
    lfs_ctx(req)->real_ops.getlk(req, ino, fi, lock);
    return;
  }
  lock->l_type = F_UNLCK;
  fuse_reply_lock(req, lock);
}

static void
d_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock,
        int sleep)
{
  if (lfs_is_virtual(ino))
    fuse_reply_err(req, 0);
  else
    lfs_ctx(req)->real_ops.setlk(req, ino, fi, lock, sleep);
}

static void
d_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
                  struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
                  struct fuse_file_info *fi_out, size_t len, int flags)
{
  if (lfs_is_virtual(ino_in) || lfs_is_virtual(ino_out))
    fuse_reply_err(req, lfs_is_virtual(ino_out) ? EROFS : EXDEV);
  else
    lfs_ctx(req)->real_ops.copy_file_range(req, ino_in, off_in, fi_in, ino_out, off_out,
                                           fi_out, len, flags);
}

static void
d_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
            struct fuse_file_info *fi)
{
  if (lfs_is_virtual(ino))
    fuse_reply_err(req, EROFS);
  else
    lfs_ctx(req)->real_ops.fallocate(req, ino, mode, offset, length, fi);
}

void
lfs_links_ops(LfsCtx *c, struct fuse_lowlevel_ops *ops)
{
  c->real_ops = *ops;
  lfs_links_dir_ops(ops);
  ops->setattr = d_setattr;
  ops->mknod = d_mknod;
  ops->mkdir = d_mkdir;
  ops->symlink = d_symlink;
  ops->link = d_link;
  ops->unlink = d_unlink;
  ops->rmdir = d_rmdir;
  ops->rename = d_rename;
  ops->create = d_create;
  ops->open = d_open;
  ops->read = d_read;
  ops->release = d_release;
  ops->flush = d_flush;
  ops->statfs = d_statfs;
  ops->access = d_access;
  ops->getxattr = d_getxattr;
  ops->listxattr = d_listxattr;
  ops->setxattr = d_setxattr;
  ops->removexattr = d_removexattr;
  ops->fsync = d_fsync;
  ops->lseek = d_lseek;
  ops->flock = d_flock;
  ops->getlk = d_getlk;
  ops->setlk = d_setlk;
  ops->copy_file_range = d_copy_file_range;
  ops->fallocate = d_fallocate;
}
