/* update.c: the index follows every change made through the view, before
 * the call returns, including symlinks that dangle or heal because of it. */
#include "lfs.h"

#include "core/fdutil.h"
#include "core/names.h"
#include "core/openrel.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    int r =
        lfs_open_below(dir >= 0 ? dir : start, piece, O_PATH | O_DIRECTORY, c->openat2);
    if (r < 0)
      return -r;
    lfs_fd_cleanup(&dir);
    dir = r;
    rest = cut + 1;
  }
  int r = lfs_open_below(dir >= 0 ? dir : start, rest, flags, c->openat2);
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

/* Virtual entries the kernel caches may be stale if the index changed:
 * they are dropped before the change made through the view returns. */
void
lfs_change_end(LfsCtx *c, guint64 begun)
{
  g_rw_lock_reader_unlock(&c->change_lock);
  if (lfs_index_generation(c->index) != begun)
    lfs_vinval_sync(c, TRUE);
}

/* A change seen in the source (-o watch) is applied with the change lock
 * held for writing: a change through the view is never half done (its
 * system call made, its index update not yet) while the watch reads and
 * updates the index, so that its event, coming back, finds the index
 * updated. Nobody waits for the sweep, and the watch must not wait for
 * one that a running scan holds up. */
guint64
lfs_change_begin_seen(LfsCtx *c)
{
  g_rw_lock_writer_lock(&c->change_lock);
  return lfs_index_generation(c->index);
}

void
lfs_change_end_seen(LfsCtx *c, guint64 begun)
{
  g_rw_lock_writer_unlock(&c->change_lock);
  if (lfs_index_generation(c->index) != begun)
    lfs_vinval_sync(c, FALSE);
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

/* The target of the symlink dirfd/name (dir/name from the root) and
 * whether it dangles; FALSE if it cannot be read. */
static gboolean
read_symlink(LfsCtx *c, int dirfd, const char *dir, const char *name,
             char target[PATH_MAX + 1], gboolean *dangling)
{
  ssize_t n = readlinkat(dirfd, name, target, PATH_MAX);
  if (n < 0)
    return FALSE;
  target[n] = '\0';
  int err = lfs_resolve_symlink(c->root_fd, dir, target, &c->guard);
  *dangling = lfs_resolve_is_dangling(err);
  return TRUE;
}

void
lfs_update_symlink(LfsCtx *c, LfsIndex *idx, int dirfd, const char *dir, const char *name,
                   const struct stat *st)
{
  char target[PATH_MAX + 1];
  gboolean dangling;
  if (read_symlink(c, dirfd, dir, name, target, &dangling))
    lfs_index_add_symlink(idx, dir, name, st->st_dev, st->st_ino, st->st_nlink, target,
                          dangling);
}

/* dir/name changed (made, linked, removed): the symlinks whose target
 * mentions name follow. */
static void
resolve_name(LfsCtx *c, const char *name)
{
  const char *names[] = {name, NULL};
  resolve_affected(c, names, NULL);
}

/* The nlink of (dev, ino) as one of its names in the index, other than
 * skip, shows it; fallback if none does. */
static guint64
nlink_seen(LfsCtx *c, dev_t dev, ino_t ino, const char *skip, guint64 fallback)
{
  g_autoptr(LfsGroupInfo) g = lfs_index_get_group(c->index, dev, ino);
  for (guint k = 0; g != NULL && k < g->paths->len; k++) {
    const LfsPath *p = g->paths->pdata[k];
    struct stat st;
    if ((skip == NULL || strcmp(p->path, skip) != 0) &&
        lfs_stat_rel(c, p->path, &st) == 0 && st.st_dev == dev && st.st_ino == ino)
      return st.st_nlink;
  }
  return fallback;
}

/* dir/name is gone from the source. A name of a hard-link group keeps
 * the group's nlink true: it is read from another of its names; if none
 * tells, it is one less if the name was unlinked (not moved out). */
static void
entry_gone(LfsCtx *c, const char *dir, const char *name, gboolean unlinked)
{
  LfsEntryInfo e;
  LfsEntryKind k = lfs_index_lookup(c->index, dir, name, &e);
  if (k == LFS_ENTRY_NONE)
    return;
  if (k == LFS_ENTRY_DIR || e.npaths <= 1 || e.nlink <= 1) {
    lfs_index_remove_name(c->index, dir, name);
    return;
  }
  g_autofree char *self = lfs_path_join(dir, name);
  guint64 nlink = nlink_seen(c, e.dev, e.ino, self, unlinked ? e.nlink - 1 : e.nlink);
  lfs_index_drop_name(c->index, dir, name);
  lfs_index_update_nlink(c->index, e.dev, e.ino, nlink);
}

void
lfs_update_gone(LfsCtx *c, const char *dir, const char *name, gboolean unlinked)
{
  entry_gone(c, dir, name, unlinked);
  resolve_name(c, name);
}

void
lfs_update_dir_gone(LfsCtx *c, const char *dir, const char *name)
{
  g_autoptr(GArray) groups = lfs_index_groups_below(c->index, dir, name);
  lfs_index_drop_name(c->index, dir, name);
  for (guint k = 0; k < groups->len; k++) {
    const LfsInoKey *g = &g_array_index(groups, LfsInoKey, k);
    guint64 nlink = nlink_seen(c, g->dev, g->ino, NULL, 0);
    if (nlink > 0) /* else no name is left to tell: their events are to come */
      lfs_index_update_nlink(c->index, g->dev, g->ino, nlink);
  }
  resolve_name(c, name);
}

/* A symlink seen again: stored unless the index already says the same. */
static void
sync_symlink(LfsCtx *c, int dfd, const char *dir, const char *name, const struct stat *st)
{
  char target[PATH_MAX + 1];
  gboolean dangling;
  if (!read_symlink(c, dfd, dir, name, target, &dangling))
    return;
  LfsEntryInfo e;
  if (st->st_nlink <= 1 &&
      lfs_index_lookup(c->index, dir, name, &e) == LFS_ENTRY_SYMLINK && e.nlink <= 1 &&
      e.dev == st->st_dev && e.ino == st->st_ino && e.dangling == dangling) {
    g_autoptr(LfsSymlinkInfo) old = lfs_index_get_symlink(c->index, dir, name);
    if (old != NULL && strcmp(old->target, target) == 0)
      return;
  }
  lfs_index_add_symlink(c->index, dir, name, st->st_dev, st->st_ino, st->st_nlink, target,
                        dangling);
}

/* A file or node seen again: the index changes only if it must. */
static void
sync_file(LfsCtx *c, const char *dir, const char *name, const struct stat *st)
{
  LfsEntryInfo e;
  LfsEntryKind k = lfs_index_lookup(c->index, dir, name, &e);
  if (st->st_nlink <= 1 && k == LFS_ENTRY_NONE) {
    lfs_index_update_nlink(c->index, st->st_dev, st->st_ino, st->st_nlink);
    return;
  }
  if (k == LFS_ENTRY_FILE && e.dev == st->st_dev && e.ino == st->st_ino &&
      e.nlink == st->st_nlink)
    return;
  lfs_index_add_file(c->index, dir, name, st->st_dev, st->st_ino, st->st_nlink);
}

/* Make the index agree with the source about dir/name; dfd is dir.
 * Seeing an entry again that the index already holds as it is changes
 * nothing (not even the generation). */
static void
sync_entry_at(LfsCtx *c, int dfd, const char *dir, const char *name)
{
  struct stat st;
  if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) < 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      entry_gone(c, dir, name, TRUE);
  } else if (S_ISLNK(st.st_mode)) {
    sync_symlink(c, dfd, dir, name, &st);
  } else if (!S_ISDIR(st.st_mode)) {
    sync_file(c, dir, name, &st);
  }
}

static void
sync_entry(LfsCtx *c, const char *dir, const char *name)
{
  lfs_autofd dfd = -1;
  if (lfs_open_rel(c, dir, O_PATH | O_DIRECTORY, &dfd) == 0)
    sync_entry_at(c, dfd, dir, name);
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
lfs_update_at(LfsCtx *c, int dfd, const char *dir, const char *name)
{
  if (dfd >= 0)
    sync_entry_at(c, dfd, dir, name);
  else
    sync_entry(c, dir, name);
  resolve_name(c, name);
}

/* sync_entry_at in the directory parent (at dir), through its descriptor
 * when it has one. */
static void
sync_entry_in(LfsCtx *c, LfsInode *parent, const char *dir, const char *name)
{
  g_auto(LfsPin) pin = LFS_PIN_INIT;
  if (lfs_pin(c->itab, parent, &pin) == 0)
    sync_entry_at(c, pin.fd, dir, name);
  else
    sync_entry(c, dir, name);
}

void
lfs_update_entry(LfsCtx *c, LfsInode *parent, const char *name)
{
  g_autofree char *dir = lfs_itab_path(c->itab, parent);
  if (dir == NULL)
    return;
  /* The entry under our own mount is a directory: never indexed. */
  if (!lfs_itab_is_guarded(c->itab, parent, name))
    sync_entry_in(c, parent, dir, name);
  resolve_name(c, name);
}

/* The index follows rename(olddir/on, newdir/nn) (or the exchange). */
static void
renamed(LfsCtx *c, const char *odir, const char *on, const char *ndir, const char *nn,
        unsigned flags)
{
  if (flags & RENAME_EXCHANGE)
    lfs_index_exchange(c->index, odir, on, ndir, nn);
  else
    lfs_index_rename(c->index, odir, on, ndir, nn);
  g_autofree char *newpath = lfs_path_join(ndir, nn);
  g_autofree char *oldpath = lfs_path_join(odir, on);
  const char *names[] = {on, nn, NULL};
  const char *moved[] = {newpath, (flags & RENAME_EXCHANGE) ? oldpath : NULL, NULL};
  resolve_affected(c, names, moved);
  lfs_scan_mark_dirty(c, oldpath, newpath, (flags & RENAME_EXCHANGE) != 0);
}

void
lfs_update_renamed(LfsCtx *c, LfsInode *op, const char *on, LfsInode *np, const char *nn,
                   unsigned flags)
{
  g_autofree char *odir = lfs_itab_path(c->itab, op);
  g_autofree char *ndir = lfs_itab_path(c->itab, np);
  if (odir == NULL || ndir == NULL)
    return;
  renamed(c, odir, on, ndir, nn, flags);
  /* A name the index did not hold yet, because a scan had not come to
   * it, is indexed at its new place; one it held is seen again unchanged
   * (directories are the walks' to follow). */
  sync_entry_in(c, np, ndir, nn);
  if (flags & RENAME_EXCHANGE)
    sync_entry_in(c, op, odir, on);
}

void
lfs_update_moved(LfsCtx *c, const char *odir, const char *on, const char *ndir,
                 const char *nn)
{
  renamed(c, odir, on, ndir, nn, 0);
}

void
lfs_update_names(LfsCtx *c, const char *const *names, const char *const *moved)
{
  resolve_affected(c, names, moved);
}
