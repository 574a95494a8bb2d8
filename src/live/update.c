/* update.c: the index follows every change made through the view, before
 * the call returns, including symlinks that dangle or heal because of it. */
#include "update.h"

#include "moves.h"
#include "symlinks.h"

#include "core/fdutil.h"
#include "core/names.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    lfs_view_stale(c, TRUE);
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
    lfs_view_stale(c, FALSE);
}

/* dir/name changed (made, linked, removed): the symlinks whose target
 * mentions name follow. */
static void
resolve_name(LfsCtx *c, const char *name)
{
  const char *names[] = {name, NULL};
  lfs_symlinks_resolve(c, names, NULL);
}

/* The nlink of (dev, ino) as one of its names in the index, other than
 * skip, shows it; fallback if none does. */
static guint64
nlink_seen(LfsCtx *c, dev_t dev, ino_t ino, const char *skip, guint64 fallback)
{
  /* One path at a time: a group of 100,000 names costs what one of two
   * does (the first path tried is nearly always right). */
  for (guint k = 0;; k++) {
    g_autofree char *p = lfs_index_group_path(c->index, dev, ino, k);
    if (p == NULL)
      return fallback;
    struct stat st;
    if ((skip == NULL || strcmp(p, skip) != 0) && lfs_stat_rel(&c->root, p, &st) == 0 &&
        st.st_dev == dev && st.st_ino == ino)
      return st.st_nlink;
  }
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
    lfs_symlink_index(c, c->index, dfd, dir, name, &st); /* changes only what did */
  } else if (!S_ISDIR(st.st_mode)) {
    sync_file(c, dir, name, &st);
  }
}

static void
sync_entry(LfsCtx *c, const char *dir, const char *name)
{
  lfs_autofd dfd = -1;
  if (lfs_open_rel(&c->root, dir, O_PATH | O_DIRECTORY, &dfd) == 0)
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

/* sync_entry_at in the directory d, through its descriptor when it has
 * one. */
static void
sync_entry_in(LfsCtx *c, const LfsUpdateDir *d, const char *name)
{
  if (d->fd >= 0)
    sync_entry_at(c, d->fd, d->path, name);
  else
    sync_entry(c, d->path, name);
}

void
lfs_update_at(LfsCtx *c, int dfd, const char *dir, const char *name)
{
  LfsUpdateDir d = {dfd, dir};
  sync_entry_in(c, &d, name);
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
  lfs_symlinks_resolve(c, names, moved);
  lfs_moves_note(c->moves, oldpath, newpath, (flags & RENAME_EXCHANGE) != 0);
}

void
lfs_update_renamed(LfsCtx *c, const LfsUpdateDir *od, const char *on,
                   const LfsUpdateDir *nd, const char *nn, unsigned flags)
{
  renamed(c, od->path, on, nd->path, nn, flags);
  /* A name the index did not hold yet, because a scan had not come to
   * it, is indexed at its new place; one it held is seen again unchanged
   * (directories are the walks' to follow). */
  sync_entry_in(c, nd, nn);
  if (flags & RENAME_EXCHANGE)
    sync_entry_in(c, od, on);
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
  lfs_symlinks_resolve(c, names, moved);
}
