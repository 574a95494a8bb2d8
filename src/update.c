/* update.c: the index follows every change made through the view, before
 * the call returns, including symlinks that dangle or heal because of it. */
#include "lfs.h"

#include "fdutil.h"
#include "names.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* openat2 of one piece of a path (shorter than PATH_MAX), following no
 * symlink at all. */
static int
open_piece(int dirfd, const char *piece, int flags)
{
  struct open_how how = {
      .flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
      .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
  };
  long r = syscall(SYS_openat2, dirfd, *piece ? piece : ".", &how, sizeof how);
  return r < 0 ? -errno : (int)r;
}

int
lfs_open_rel(LfsCtx *c, const char *relpath, int flags, int *fd)
{
  int start = c->root_fd;
  const char *rest = relpath;
  size_t mplen = c->mp_rel ? strlen(c->mp_rel) : 0;
  if (mplen > 0 && c->mp_fd >= 0 && strncmp(relpath, c->mp_rel, mplen) == 0 &&
      (relpath[mplen] == '\0' || relpath[mplen] == '/')) {
    start = c->mp_fd; /* below our own mount: the directory under it */
    rest = relpath[mplen] == '/' ? relpath + mplen + 1 : "";
  }
  /* Paths deeper than PATH_MAX are opened a piece at a time. */
  lfs_autofd dir = -1;
  while (strlen(rest) >= PATH_MAX - 1) {
    const char *cut = rest + PATH_MAX / 2;
    while (cut > rest && *cut != '/')
      cut--;
    if (cut == rest)
      return ENAMETOOLONG;
    g_autofree char *piece = g_strndup(rest, (gsize)(cut - rest));
    int r = open_piece(dir >= 0 ? dir : start, piece, O_PATH | O_DIRECTORY);
    if (r < 0)
      return -r;
    lfs_fd_cleanup(&dir);
    dir = r;
    rest = cut + 1;
  }
  int r = open_piece(dir >= 0 ? dir : start, rest, flags);
  if (r < 0)
    return -r;
  *fd = r;
  return 0;
}

int
lfs_stat_rel(LfsCtx *c, const char *relpath, struct stat *st)
{
  lfs_autofd fd = -1;
  int err = lfs_open_rel(c, relpath, O_PATH, &fd);
  if (err != 0)
    return err;
  return fstat(fd, st) < 0 ? errno : 0;
}

/* Returns the index generation, for lfs_change_end. */
guint64
lfs_change_begin(LfsCtx *c)
{
  g_rw_lock_reader_lock(&c->change_lock);
  return lfs_index_generation(c->index);
}

static void
change_end(LfsCtx *c, guint64 begun, gboolean wait)
{
  g_rw_lock_reader_unlock(&c->change_lock);
  if (lfs_index_generation(c->index) != begun)
    lfs_vinval_sync(c, wait);
}

/* Virtual entries the kernel caches may be stale if the index changed:
 * they are dropped before the change made through the view returns. */
void
lfs_change_end(LfsCtx *c, guint64 begun)
{
  change_end(c, begun, TRUE);
}

/* The same for a change seen in the source (-o watch): nobody waits on
 * it, and the watch must not wait for a sweep that a running scan holds
 * up. */
void
lfs_change_end_async(LfsCtx *c, guint64 begun)
{
  change_end(c, begun, FALSE);
}

/* Re-resolve the symlinks whose state a change to names/moved may alter. */
static void
resolve_affected(LfsCtx *c, const char *const *names, const char *const *moved)
{
  g_autoptr(GPtrArray) refs = lfs_index_affected_symlinks(c->index, names, moved);
  for (guint k = 0; refs != NULL && k < refs->len; k++) {
    LfsSymlinkRef *r = refs->pdata[k];
    int err = lfs_resolve_symlink(c->root_fd, r->dir, r->target, &c->guard);
    lfs_index_set_dangling(c->index, r->dir, r->name, r->ticket,
                           lfs_resolve_is_dangling(err));
  }
}

void
lfs_update_symlink(LfsCtx *c, LfsIndex *idx, int dirfd, const char *dir, const char *name,
                   const struct stat *st)
{
  char target[PATH_MAX + 1];
  ssize_t n = readlinkat(dirfd, name, target, sizeof target - 1);
  if (n < 0)
    return;
  target[n] = '\0';
  int err = lfs_resolve_symlink(c->root_fd, dir, target, &c->guard);
  lfs_index_add_symlink(idx, dir, name, st->st_dev, st->st_ino, st->st_nlink, target,
                        lfs_resolve_is_dangling(err));
}

/* Make the index agree with the source about dir/name; dfd is dir. */
static void
sync_entry_at(LfsCtx *c, int dfd, const char *dir, const char *name)
{
  struct stat st;
  if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) < 0) {
    lfs_index_remove_name(c->index, dir, name);
  } else if (S_ISLNK(st.st_mode)) {
    lfs_update_symlink(c, c->index, dfd, dir, name, &st);
  } else if (!S_ISDIR(st.st_mode)) {
    lfs_index_add_file(c->index, dir, name, st.st_dev, st.st_ino, st.st_nlink);
  }
}

static void
sync_entry(LfsCtx *c, const char *dir, const char *name)
{
  lfs_autofd dfd = -1;
  if (lfs_open_rel(c, dir, O_PATH | O_DIRECTORY, &dfd) == 0)
    sync_entry_at(c, dfd, dir, name);
}

/* dir/name changed (made, linked, removed): the symlinks whose target
 * mentions name follow. */
static void
resolve_name(LfsCtx *c, const char *name)
{
  const char *names[] = {name, NULL};
  resolve_affected(c, names, NULL);
}

void
lfs_update_path(LfsCtx *c, const char *relpath)
{
  g_autofree char *dir = NULL, *name = NULL;
  if (relpath != NULL && lfs_path_split(relpath, &dir, &name)) {
    sync_entry(c, dir, name);
    resolve_name(c, name);
  }
}

void
lfs_update_entry(LfsCtx *c, LfsInode *parent, const char *name)
{
  g_autofree char *dir = lfs_itab_path(c->itab, parent);
  if (dir == NULL)
    return;
  g_auto(LfsPin) pin = LFS_PIN_INIT;
  /* The entry under our own mount is a directory: never indexed. */
  if (lfs_itab_is_guarded(c->itab, parent, name))
    ;
  else if (lfs_pin(c->itab, parent, &pin) == 0)
    sync_entry_at(c, pin.fd, dir, name);
  else
    sync_entry(c, dir, name);
  resolve_name(c, name);
}

void
lfs_update_renamed(LfsCtx *c, LfsInode *op, const char *on, LfsInode *np, const char *nn,
                   unsigned flags)
{
  g_autofree char *odir = lfs_itab_path(c->itab, op);
  g_autofree char *ndir = lfs_itab_path(c->itab, np);
  if (odir == NULL || ndir == NULL)
    return;
  if (flags & RENAME_EXCHANGE)
    lfs_index_exchange(c->index, odir, on, ndir, nn);
  else
    lfs_index_rename(c->index, odir, on, ndir, nn);
  g_autofree char *newpath = lfs_path_join(ndir, nn);
  g_autofree char *oldpath = lfs_path_join(odir, on);
  const char *names[] = {on, nn, NULL};
  const char *moved[] = {newpath, (flags & RENAME_EXCHANGE) ? oldpath : NULL, NULL};
  resolve_affected(c, names, moved);
  lfs_scan_mark_dirty(c);
}
