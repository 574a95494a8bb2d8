/* dirops.c: directory handles. A handle reads the whole directory when the
 * kernel asks for offset 0, so that offsets are indices into a snapshot.
 * The view lists its own entries after these (lfs_dir_fill). */
#include "dirops.h"
#include "passthrough.h"

#include "core/dirsnap.h"
#include "core/fdutil.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  LfsInodeTable *itab; /* counts fd among the descriptors held for the kernel */
  int fd;
  LfsDirSnap *snap;
} LfsDir;

static LfsDir *
dir_handle(struct fuse_file_info *fi)
{
  return (LfsDir *)(uintptr_t)fi->fh;
}

static void
dir_free(LfsDir *d)
{
  if (d->fd >= 0) {
    close(d->fd);
    lfs_itab_hold_fds(d->itab, -1);
  }
  lfs_dirsnap_free(d->snap);
  g_free(d);
}

static void
dir_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  LfsCtx *c = lfs_ctx(req);
  lfs_autofd fd = -1;
  int err;
  {
    g_auto(LfsPin) pin = LFS_PIN_INIT;
    err = lfs_pin(c->itab, lfs_inode(req, ino), &pin);
    if (err == 0) {
      fd = lfs_openat_yielding(c->itab, pin.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                               0);
      if (fd < 0)
        err = errno;
    }
  }
  if (err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  LfsDir *d = g_new0(LfsDir, 1);
  d->itab = c->itab;
  d->fd = g_steal_fd(&fd);
  lfs_itab_hold_fds(c->itab, 1);
  d->snap = lfs_dirsnap_new();
  fi->fh = (uintptr_t)d;
  fi->cache_readdir = c->opt.cache == LFS_CACHE_ALWAYS;
  if (fuse_reply_open(req, fi) != 0)
    dir_free(d);
}

static gboolean
is_dot_or_dotdot(const char *name)
{
  return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/* Add entry k of the snapshot; returns its size, or 0 if it was skipped.
 * *full is set when the buffer has no room for it. */
static size_t
add_entry(fuse_req_t req, fuse_ino_t ino, LfsDir *d, guint k, char *p, size_t rem,
          gboolean plus, gboolean *full)
{
  LfsCtx *c = lfs_ctx(req);
  const LfsDirent *de = lfs_dirsnap_get(d->snap, k);
  const char *name = lfs_dirsnap_name(d->snap, de);
  dev_t ddev;
  ino_t dino;
  lfs_inode_devino(lfs_inode(req, ino), &ddev, &dino);
  off_t next = (off_t)k + 1;

  if (!plus) {
    struct stat st = {.st_ino = lfs_itab_vino(c->itab, ddev, de->ino),
                      .st_mode = (mode_t)de->type << 12};
    size_t n = fuse_add_direntry(req, p, rem, name, &st, next);
    *full = n > rem;
    return *full ? 0 : n;
  }

  struct fuse_entry_param e = {0};
  gboolean looked_up = FALSE;
  if (is_dot_or_dotdot(name)) {
    e.attr.st_ino = lfs_itab_vino(c->itab, ddev, de->ino);
    e.attr.st_mode = (mode_t)de->type << 12;
  } else {
    if (lfs_do_lookup(req, ino, name, &e) != 0)
      return 0; /* gone since the snapshot */
    looked_up = TRUE;
  }
  size_t n = fuse_add_direntry_plus(req, p, rem, name, &e, next);
  *full = n > rem;
  if (*full && looked_up)
    lfs_itab_forget(c->itab, e.ino, 1);
  return *full ? 0 : n;
}

int
lfs_dir_fill(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, off_t off,
             gboolean plus, char *buf, size_t size, size_t *used, off_t *end)
{
  LfsDir *d = dir_handle(fi);
  if (off == 0) {
    int err = lfs_dirsnap_read(d->snap, d->fd);
    if (err != 0)
      return err;
  }
  guint len = lfs_dirsnap_len(d->snap);
  *used = 0;
  *end = -1;
  guint k;
  for (k = (guint)off; k < len; k++) {
    gboolean full = FALSE;
    *used += add_entry(req, ino, d, k, buf + *used, size - *used, plus, &full);
    if (full)
      break;
  }
  if (k >= len)
    *end = (off_t)len;
  return 0;
}

gboolean
lfs_dir_has(struct fuse_file_info *fi, const char *name)
{
  return lfs_dirsnap_contains(dir_handle(fi)->snap, name);
}

static void
do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
           struct fuse_file_info *fi, gboolean plus)
{
  g_autofree char *buf = g_malloc(size);
  size_t used;
  off_t end;
  int err = lfs_dir_fill(req, ino, fi, off, plus, buf, size, &used, &end);
  if (err != 0)
    fuse_reply_err(req, err);
  else
    fuse_reply_buf(req, buf, used);
}

static void
dir_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
            struct fuse_file_info *fi)
{
  do_readdir(req, ino, size, off, fi, FALSE);
}

static void
dir_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                struct fuse_file_info *fi)
{
  do_readdir(req, ino, size, off, fi, TRUE);
}

static void
dir_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  dir_free(dir_handle(fi));
  fuse_reply_err(req, 0);
}

static void
dir_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
  int fd = dir_handle(fi)->fd;
  int res = datasync ? fdatasync(fd) : fsync(fd);
  fuse_reply_err(req, res < 0 ? errno : 0);
}

void
lfs_dirops_ops(struct fuse_lowlevel_ops *ops)
{
  ops->opendir = dir_opendir;
  ops->readdir = dir_readdir;
  ops->readdirplus = dir_readdirplus;
  ops->releasedir = dir_releasedir;
  ops->fsyncdir = dir_fsyncdir;
}
