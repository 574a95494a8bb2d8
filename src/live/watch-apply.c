/* watch-apply.c: what an event of -o watch does to the index, once its
 * mechanism (watch-inotify.c, watch-fanotify.c) has named the paths:
 *
 *   - a non-directory made, changed, removed: looked at again (the
 *     symlinks whose target names it are resolved again);
 *   - a directory made or moved in from outside SOURCE: scanned in;
 *   - a directory removed or moved out: its subtree leaves the index;
 *   - a directory moved within SOURCE: its subtree moves in the index (one
 *     node) and the symlinks it affects are resolved again. Should the
 *     index and the source disagree about it (changes racing with the
 *     events), both places are scanned again, never the whole tree;
 *   - events lost (queue overflow): a full scan.
 *
 * The paths of an event are those of the moment it happened (the tree of
 * watch-tree.c follows the events in order), so a burst of changes
 * replays in order onto the index, whatever happened since. */
#include "watch-private.h"

#include "moves.h"

#include "core/names.h"

#include <string.h>
#include <sys/stat.h>

void
lfs_watch_dropped(LfsCtx *c, GPtrArray *dropped)
{
  if (dropped->len > 0 && c->watch->keys_dropped != NULL)
    c->watch->keys_dropped(c->watch, dropped);
  g_ptr_array_set_size(dropped, 0);
}

static GPtrArray *
dropped_new(void)
{
  return g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
}

static void
tree_drop(LfsCtx *c, const char *path)
{
  g_autoptr(GPtrArray) dropped = dropped_new();
  g_mutex_lock(&c->watch->lock);
  lfs_wtree_drop(c->watch->tree, path, dropped);
  g_mutex_unlock(&c->watch->lock);
  lfs_watch_dropped(c, dropped);
}

static gboolean
is_dir_at(LfsCtx *c, const char *path)
{
  struct stat st;
  return lfs_stat_rel(&c->root, path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void
resolve_names(LfsCtx *c, const char *n1, const char *n2, const char *moved)
{
  const char *names[] = {n1, n2, NULL};
  const char *paths[] = {moved, NULL};
  lfs_update_names(c, names, moved ? paths : NULL);
}

/* Forget what the index and the tree hold at dir/name, and scan again
 * what the source has there now. */
static void
resync(LfsCtx *c, const char *dir, const char *name)
{
  g_autofree char *path = lfs_path_join(dir, name);
  tree_drop(c, path);
  guint64 gen = lfs_change_begin_seen(c);
  lfs_update_dir_gone(c, dir, name);
  lfs_change_end_seen(c, gen);
  if (is_dir_at(c, path))
    lfs_scan_subtree(c, path);
}

/* A new name of a file whose other names the index does not hold (it had
 * one name, somewhere in SOURCE or outside it): they are looked for. */
static void
check_new_link(LfsCtx *c, const char *dir, const char *name)
{
  LfsEntryInfo e;
  if (lfs_index_lookup(c->index, dir, name, &e) == LFS_ENTRY_NONE ||
      e.kind == LFS_ENTRY_DIR || e.npaths >= e.nlink)
    return;
  lfs_scan_seek(c, e.dev, e.ino);
}

void
lfs_watch_entry(LfsCtx *c, int dfd, const char *dir, const char *name, unsigned flags)
{
  g_autofree char *path = lfs_path_join(dir, name);
  if (c->root.mp_rel != NULL && strcmp(path, c->root.mp_rel) == 0)
    return; /* a directory, and stat would enter our own mount */
  guint64 gen = lfs_change_begin_seen(c);
  lfs_update_at(c, dfd, dir, name);
  lfs_change_end_seen(c, gen);
  if (flags & WATCH_NEW)
    check_new_link(c, dir, name);
}

void
lfs_watch_entry_gone(LfsCtx *c, const char *dir, const char *name, unsigned flags)
{
  guint64 gen = lfs_change_begin_seen(c);
  lfs_update_gone(c, dir, name, !(flags & WATCH_MOVED));
  lfs_change_end_seen(c, gen);
}

void
lfs_watch_entry_moved(LfsCtx *c, const char *odir, const char *on, int ndfd,
                      const char *ndir, const char *nn)
{
  LfsEntryInfo e;
  guint64 gen = lfs_change_begin_seen(c);
  /* Only if the index has it there still: the view may have moved it. */
  if (lfs_index_lookup(c->index, odir, on, &e) != LFS_ENTRY_NONE &&
      e.kind != LFS_ENTRY_DIR)
    lfs_update_moved(c, odir, on, ndir, nn);
  if (ndfd >= 0)
    lfs_update_at(c, ndfd, ndir, nn);
  lfs_change_end_seen(c, gen);
}

void
lfs_watch_dir_in(LfsCtx *c, const char *dir, const char *name, gboolean scan,
                 unsigned flags)
{
  if (flags & WATCH_OWN)
    return;
  if (scan) {
    resync(c, dir, name);
    return;
  }
  guint64 gen = lfs_change_begin_seen(c);
  resolve_names(c, name, NULL, NULL);
  lfs_change_end_seen(c, gen);
}

void
lfs_watch_dir_gone(LfsCtx *c, const char *dir, const char *name, unsigned flags)
{
  g_autofree char *path = lfs_path_join(dir, name);
  tree_drop(c, path);
  if (flags & WATCH_OWN)
    return;
  if (flags & WATCH_MOVED) /* a scan running may have its old paths to read */
    lfs_moves_note(c->moves, NULL, NULL, FALSE);
  if (is_dir_at(c, path)) { /* another directory has taken its place */
    resync(c, dir, name);
    return;
  }
  guint64 gen = lfs_change_begin_seen(c);
  lfs_update_dir_gone(c, dir, name);
  lfs_change_end_seen(c, gen);
}

void
lfs_watch_dir_moved(LfsCtx *c, const char *odir, const char *on, const char *ndir,
                    const char *nn, gboolean sure, unsigned flags)
{
  g_autofree char *oldp = lfs_path_join(odir, on);
  g_autofree char *newp = lfs_path_join(ndir, nn);
  g_autoptr(GPtrArray) dropped = dropped_new();
  g_mutex_lock(&c->watch->lock);
  gboolean moved = sure && lfs_wtree_move(c->watch->tree, oldp, newp, dropped);
  g_mutex_unlock(&c->watch->lock);
  lfs_watch_dropped(c, dropped);
  if (!moved) { /* the tree did not know it there: scanned again */
    if (!(flags & WATCH_OWN)) {
      lfs_moves_note(c->moves, NULL, NULL, FALSE);
      resync(c, odir, on);
    }
    resync(c, ndir, nn);
    return;
  }
  if (flags & WATCH_OWN)
    return;
  lfs_moves_note(c->moves, NULL, NULL, FALSE);
  LfsEntryInfo e;
  struct stat st;
  guint64 gen = lfs_change_begin_seen(c);
  if (lfs_index_lookup(c->index, odir, on, &e) == LFS_ENTRY_NONE) {
    /* Nothing indexed below it, or the view moved it already. */
    resolve_names(c, on, nn, newp);
    lfs_change_end_seen(c, gen);
    return;
  }
  if (lfs_index_lookup(c->index, ndir, nn, &e) != LFS_ENTRY_NONE ||
      lfs_stat_rel(&c->root, oldp, &st) == 0) {
    /* The index has something at its new place, or the source at its old
     * one: changes raced with the events. */
    lfs_change_end_seen(c, gen);
    resync(c, odir, on);
    resync(c, ndir, nn);
    return;
  }
  lfs_update_moved(c, odir, on, ndir, nn);
  lfs_change_end_seen(c, gen);
}

void
lfs_watch_dir_attrib(LfsCtx *c, const char *dir, const char *name)
{
  g_autofree char *path = lfs_path_join(dir, name);
  g_mutex_lock(&c->watch->lock);
  gboolean known = lfs_wtree_lookup(c->watch->tree, path, NULL, NULL);
  g_mutex_unlock(&c->watch->lock);
  if (!known) { /* the scan could not read it: it may be readable now */
    resync(c, dir, name);
    return;
  }
  guint64 gen = lfs_change_begin_seen(c);
  resolve_names(c, name, NULL, NULL); /* its mode may decide a resolution */
  lfs_change_end_seen(c, gen);
}

void
lfs_watch_dir_stale(LfsCtx *c, const char *path)
{
  g_autofree char *dir = NULL, *name = NULL;
  if (!lfs_path_split(path, &dir, &name)) { /* SOURCE itself */
    lfs_watch_lost(c);
    return;
  }
  lfs_moves_note(c->moves, NULL, NULL, FALSE);
  resync(c, dir, name);
}

void
lfs_watch_lost(LfsCtx *c)
{
  lfs_scan_request(c);
}
