/* passthrough.c: namespace and attribute operations on real inodes.
 *
 * Every handler works relative to directory descriptors, never on rebuilt
 * paths, computes a positive errno, and replies once at its end. */
#include "passthrough.h"

#include "live/update.h"

#include "creds.h"
#include "core/dirsnap.h"
#include "core/fdutil.h"
#include "devio/kpass.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

void
lfs_fill_entry(LfsCtx *c, LfsInode *i, const struct stat *st, struct fuse_entry_param *e)
{
  memset(e, 0, sizeof *e);
  e->ino = lfs_inode_nodeid(c->itab, i);
  e->attr = *st;
  e->attr.st_ino = lfs_itab_vino(c->itab, st->st_dev, st->st_ino);
  e->attr_timeout = c->timeout;
  e->entry_timeout = c->timeout;
}

int
lfs_do_lookup(fuse_req_t req, fuse_ino_t parent, const char *name,
              struct fuse_entry_param *e)
{
  LfsCtx *c = lfs_ctx(req);
  LfsInode *p = lfs_inode(req, parent);
  struct stat st;
  int err = lfs_itab_statat(c->itab, p, name, &st);
  if (err != 0)
    return err;
  LfsInode *i = lfs_itab_found(c->itab, p, name, &st, NULL);
  lfs_fill_entry(c, i, &st, e);
  return 0;
}

static void
reply_entry_or_err(fuse_req_t req, int err, const struct fuse_entry_param *e)
{
  if (err != 0)
    fuse_reply_err(req, err);
  else
    fuse_reply_entry(req, e);
}

static void
pt_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
  LfsCtx *c = lfs_ctx(req);
  struct fuse_entry_param e;
  int err = strlen(name) > NAME_MAX ? ENAMETOOLONG : lfs_do_lookup(req, parent, name, &e);
  if (err == ENOENT && c->timeout > 0) {
    /* A negative entry, cached as long as positive ones: every change
     * through the view replaces it, and cache= bounds the others. */
    e = (struct fuse_entry_param){.ino = 0, .entry_timeout = c->timeout};
    err = 0;
  }
  reply_entry_or_err(req, err, &e);
}

static void
pt_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
  lfs_itab_forget(lfs_ctx(req)->itab, ino, nlookup);
  fuse_reply_none(req);
}

static void
pt_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
  LfsInodeTable *t = lfs_ctx(req)->itab;
  for (size_t k = 0; k < count; k++)
    lfs_itab_forget(t, forgets[k].ino, forgets[k].nlookup);
  fuse_reply_none(req);
}

static int
stat_inode(LfsCtx *c, LfsInode *i, struct stat *st)
{
  g_auto(LfsPin) pin = LFS_PIN_INIT;
  int err = lfs_pin(c->itab, i, &pin);
  if (err != 0)
    return err;
  if (fstatat(pin.fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
    return errno;
  st->st_ino = lfs_itab_vino(c->itab, st->st_dev, st->st_ino);
  return 0;
}

static void
pt_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  LfsCtx *c = lfs_ctx(req);
  struct stat st;
  int err = stat_inode(c, lfs_inode(req, ino), &st);
  if (err != 0)
    fuse_reply_err(req, err);
  else
    fuse_reply_attr(req, &st, c->timeout);
}

static int
set_times(const LfsProcFd *pf, int fd, gboolean is_symlink, const struct stat *attr,
          int valid, struct fuse_file_info *fi)
{
  struct timespec tv[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_nsec = UTIME_OMIT}};
  if (valid & FUSE_SET_ATTR_ATIME_NOW)
    tv[0].tv_nsec = UTIME_NOW;
  else if (valid & FUSE_SET_ATTR_ATIME)
    tv[0] = attr->st_atim;
  if (valid & FUSE_SET_ATTR_MTIME_NOW)
    tv[1].tv_nsec = UTIME_NOW;
  else if (valid & FUSE_SET_ATTR_MTIME)
    tv[1] = attr->st_mtim;

  int res;
  if (fi != NULL)
    res = futimens(lfs_fh_fd(fi), tv);
  else if (is_symlink)
    res = utimensat(fd, "", tv, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
  else {
    char name[LFS_PROCFD_NAME_MAX];
    int dirfd;
    const char *at = lfs_procfd_at(pf, fd, name, &dirfd);
    res = utimensat(dirfd, at, tv, 0);
  }
  return res < 0 ? errno : 0;
}

enum {
  SETS_SOMETHING = FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID |
                   FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME,
};

static int
apply_setattr(const LfsProcFd *pf, int fd, gboolean is_symlink, const struct stat *attr,
              int valid, struct fuse_file_info *fi)
{
  char name[LFS_PROCFD_NAME_MAX];
  int dirfd;
  const char *at = lfs_procfd_at(pf, fd, name, &dirfd);
  /* A request that changes nothing is what chown(f, -1, -1) becomes (the
   * kernel drops its ATTR_CTIME): the same call on the source updates the
   * change time, as it would have there. */
  if (!(valid & SETS_SOMETHING))
    return fchownat(fd, "", (uid_t)-1, (gid_t)-1, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0
               ? errno
               : 0;
  if (valid & FUSE_SET_ATTR_MODE) {
    int res = fi != NULL ? fchmod(lfs_fh_fd(fi), attr->st_mode)
                         : fchmodat(dirfd, at, attr->st_mode, 0);
    if (res < 0)
      return errno;
  }
  if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
    uid_t uid = (valid & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1;
    gid_t gid = (valid & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1;
    if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
      return errno;
  }
  if (valid & FUSE_SET_ATTR_SIZE) {
    int res = fi != NULL ? ftruncate(lfs_fh_fd(fi), attr->st_size)
                         : truncate(lfs_procfd_path(name, fd), attr->st_size);
    if (res < 0)
      return errno;
  }
  if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))
    return set_times(pf, fd, is_symlink, attr, valid, fi);
  return 0;
}

static void
pt_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
           struct fuse_file_info *fi)
{
  LfsCtx *c = lfs_ctx(req);
  LfsInode *i = lfs_inode(req, ino);
  struct stat st;
  int err;
  {
    g_auto(LfsPin) pin = LFS_PIN_INIT;
    err = lfs_pin(c->itab, i, &pin);
    if (err == 0)
      err = apply_setattr(&c->procfd, pin.fd, lfs_inode_type(i) == S_IFLNK, attr, valid,
                          fi);
  }
  if (err == 0)
    err = stat_inode(c, i, &st);
  /* Virtual entries show the owner and times of what they describe. */
  if (err == 0 && (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode) || st.st_nlink > 1))
    lfs_view_stale(c, TRUE);
  if (err != 0)
    fuse_reply_err(req, err);
  else
    fuse_reply_attr(req, &st, c->timeout);
}

static void
pt_readlink(fuse_req_t req, fuse_ino_t ino)
{
  LfsCtx *c = lfs_ctx(req);
  char buf[PATH_MAX + 1];
  g_auto(LfsPin) pin = LFS_PIN_INIT;
  int err = lfs_pin(c->itab, lfs_inode(req, ino), &pin);
  ssize_t n = err == 0 ? readlinkat(pin.fd, "", buf, sizeof buf) : -1;
  if (err == 0 && n < 0)
    err = errno;
  else if (err == 0 && n >= (ssize_t)sizeof buf)
    err = ENAMETOOLONG;
  if (err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  buf[n] = '\0';
  fuse_reply_readlink(req, buf);
}

/* What the entry-making operations do, as the caller, in parent's fd. */
typedef struct {
  enum { MK_NODE, MK_DIR, MK_SYMLINK } kind;
  mode_t mode;
  dev_t rdev;
  const char *target;
} MkArgs;

static int
make_entry(fuse_req_t req, fuse_ino_t parent, const char *name, const MkArgs *a,
           struct fuse_entry_param *e)
{
  LfsCtx *c = lfs_ctx(req);
  g_auto(LfsPin) pin = LFS_PIN_INIT;
  int err = lfs_pin(c->itab, lfs_inode(req, parent), &pin);
  if (err != 0)
    return err;
  LfsCreds cr;
  err = lfs_creds_enter(req, &cr);
  if (err != 0)
    return err;
  guint64 gen = lfs_change_begin(c);
  int res;
  switch (a->kind) {
  case MK_DIR:
    res = mkdirat(pin.fd, name, lfs_creds_mode(&cr, a->mode));
    break;
  case MK_SYMLINK:
    res = symlinkat(a->target, pin.fd, name);
    break;
  default:
    res = mknodat(pin.fd, name, lfs_creds_mode(&cr, a->mode), a->rdev);
    break;
  }
  err = res < 0 ? errno : 0;
  lfs_creds_leave(&cr);
  if (err == 0)
    lfs_changed_entry(c, lfs_inode(req, parent), name);
  lfs_change_end(c, gen);
  if (err != 0)
    return err;
  return lfs_do_lookup(req, parent, name, e);
}

static void
pt_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
  MkArgs a = {.kind = MK_NODE, .mode = mode, .rdev = rdev};
  struct fuse_entry_param e;
  reply_entry_or_err(req, make_entry(req, parent, name, &a, &e), &e);
}

static void
pt_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
  MkArgs a = {.kind = MK_DIR, .mode = mode};
  struct fuse_entry_param e;
  reply_entry_or_err(req, make_entry(req, parent, name, &a, &e), &e);
}

static void
pt_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
  MkArgs a = {.kind = MK_SYMLINK, .target = link};
  struct fuse_entry_param e;
  reply_entry_or_err(req, make_entry(req, parent, name, &a, &e), &e);
}

static int
do_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
  LfsCtx *c = lfs_ctx(req);
  g_auto(LfsPin) src = LFS_PIN_INIT;
  g_auto(LfsPin) dir = LFS_PIN_INIT;
  int err = lfs_pin(c->itab, lfs_inode(req, ino), &src);
  if (err == 0)
    err = lfs_pin(c->itab, lfs_inode(req, newparent), &dir);
  if (err != 0)
    return err;
  int res;
  if (c->root_daemon) {
    res = linkat(src.fd, "", dir.fd, newname, AT_EMPTY_PATH);
  } else {
    char name[LFS_PROCFD_NAME_MAX];
    int dirfd;
    const char *at = lfs_procfd_at(&c->procfd, src.fd, name, &dirfd);
    res = linkat(dirfd, at, dir.fd, newname, AT_SYMLINK_FOLLOW);
  }
  return res < 0 ? errno : 0;
}

static void
pt_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
  LfsCtx *c = lfs_ctx(req);
  struct fuse_entry_param e;
  /* A file that had one name joins the index under both. */
  g_autofree char *old = lfs_itab_path(c->itab, lfs_inode(req, ino));
  guint64 gen = lfs_change_begin(c);
  int err = do_link(req, ino, newparent, newname);
  if (err == 0) {
    lfs_update_path(c, old);
    lfs_changed_entry(c, lfs_inode(req, newparent), newname);
  }
  lfs_change_end(c, gen);
  if (err == 0)
    err = lfs_do_lookup(req, newparent, newname, &e);
  reply_entry_or_err(req, err, &e);
}

static int
do_remove(fuse_req_t req, fuse_ino_t parent, const char *name, int flags)
{
  LfsCtx *c = lfs_ctx(req);
  LfsInode *p = lfs_inode(req, parent);
  g_auto(LfsPin) pin = LFS_PIN_INIT;
  int err = lfs_pin(c->itab, p, &pin);
  if (err != 0)
    return err;
  LfsInode *gone = lfs_itab_prepare_remove(c->itab, p, name);
  guint64 gen = lfs_change_begin(c);
  err = unlinkat(pin.fd, name, flags) < 0 ? errno : 0;
  if (err == 0)
    lfs_changed_entry(c, p, name);
  lfs_change_end(c, gen);
  lfs_itab_finish_remove(c->itab, gone, p, name, err == 0);
  return err;
}

static void
pt_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
  fuse_reply_err(req, do_remove(req, parent, name, 0));
}

static void
pt_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
  fuse_reply_err(req, do_remove(req, parent, name, AT_REMOVEDIR));
}

static int
do_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
          const char *newname, unsigned int flags)
{
  LfsCtx *c = lfs_ctx(req);
  LfsInode *op = lfs_inode(req, parent), *np = lfs_inode(req, newparent);
  g_auto(LfsPin) from = LFS_PIN_INIT;
  g_auto(LfsPin) to = LFS_PIN_INIT;
  int err = lfs_pin(c->itab, op, &from);
  if (err == 0)
    err = lfs_pin(c->itab, np, &to);
  if (err != 0)
    return err;
  LfsInode *over =
      (flags & RENAME_EXCHANGE) ? NULL : lfs_itab_prepare_remove(c->itab, np, newname);
  guint64 gen = lfs_change_begin(c);
  err = renameat2(from.fd, name, to.fd, newname, flags) < 0 ? errno : 0;
  if (err == 0)
    lfs_changed_renamed(c, op, name, np, newname, flags);
  lfs_change_end(c, gen);
  lfs_itab_finish_remove(c->itab, over, np, newname, err == 0);
  if (err != 0)
    return err;
  lfs_itab_renamed(c->itab, op, name, np, newname, flags);
  if (flags & RENAME_EXCHANGE)
    lfs_itab_renamed(c->itab, np, newname, op, name, flags);
  /* A directory moved to another depth: the targets of D/.links below it
   * changed length, which the kernel may hold as their size. */
  struct stat st;
  if (op != np &&
      (flags & RENAME_EXCHANGE ||
       (lfs_itab_statat(c->itab, np, newname, &st) == 0 && S_ISDIR(st.st_mode))))
    lfs_view_stale(c, TRUE);
  return 0;
}

static void
pt_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
          const char *newname, unsigned int flags)
{
  fuse_reply_err(req, do_rename(req, parent, name, newparent, newname, flags));
}

static void
pt_statfs(fuse_req_t req, fuse_ino_t ino)
{
  LfsCtx *c = lfs_ctx(req);
  struct statvfs sv;
  g_auto(LfsPin) pin = LFS_PIN_INIT;
  int err = lfs_pin(c->itab, lfs_inode(req, ino), &pin);
  if (err == 0 && fstatvfs(pin.fd, &sv) < 0)
    err = errno;
  if (err != 0)
    fuse_reply_err(req, err);
  else
    fuse_reply_statfs(req, &sv);
}

/* access(2), also what tells a program whether a file exists (F_OK): by
 * a name the source lost meanwhile, ESTALE makes the kernel look it up
 * again (lfs_itab_check_name). */
static void
pt_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
  LfsCtx *c = lfs_ctx(req);
  g_auto(LfsPin) pin = LFS_PIN_INIT;
  int err = lfs_itab_check_name(c->itab, lfs_inode(req, ino));
  if (err == 0)
    err = lfs_pin(c->itab, lfs_inode(req, ino), &pin);
  if (err == 0 && faccessat(pin.fd, "", mask, AT_EMPTY_PATH) < 0)
    err = errno;
  fuse_reply_err(req, err);
}

void
lfs_passthrough_ops(struct fuse_lowlevel_ops *ops)
{
  ops->lookup = pt_lookup;
  ops->forget = pt_forget;
  ops->forget_multi = pt_forget_multi;
  ops->getattr = pt_getattr;
  ops->setattr = pt_setattr;
  ops->readlink = pt_readlink;
  ops->mknod = pt_mknod;
  ops->mkdir = pt_mkdir;
  ops->symlink = pt_symlink;
  ops->link = pt_link;
  ops->unlink = pt_unlink;
  ops->rmdir = pt_rmdir;
  ops->rename = pt_rename;
  ops->statfs = pt_statfs;
  ops->access = pt_access;
}
