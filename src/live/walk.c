/* walk.c: the walk engine of the scans. A walk takes directories from a
 * shared stack (depth first), with one worker per core: each opens its
 * directory from SOURCE with lfs_open_rel (never following a symlink,
 * never entering our own mount: the directory under the mountpoint is
 * reached through its descriptor opened before mounting), reads it whole,
 * stats its entries and closes it, so a worker holds one directory
 * descriptor at a time whatever the depth. A careful walk follows the
 * renames applied to the index meanwhile (moves.h). */
#include "scan-private.h"

#include "moves.h"
#include "symlinks.h"

#include "core/dirsnap.h"
#include "core/fdutil.h"
#include "core/log.h"
#include "core/names.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Workers of one walk, at most: the stats of a scan are CPU work in the
 * kernel, and two cores halve it. */
enum { MAX_WORKERS = 4, FLUSH_ENTRIES = 1024, FLUSH_DIRS = 64 };

/* A directory to read: rel was its path at position seq of the rename log
 * (careful walks). */
typedef struct {
  char *rel;
  guint64 seq;
} WalkItem;

/* One walk: directories still to read, shared by its workers. */
typedef struct {
  LfsCtx *c;
  GMutex lock;
  GCond cond;
  gboolean careful; /* see careful_begin */
  GPtrArray *todo;  /* WalkItems, used as a stack (depth first) */
  guint busy;       /* workers reading a directory */
  GHashTable *seek; /* a seek (see lfs_scan_seek): the inodes looked for, or NULL */
  gboolean done;    /* a seek found every name it looked for */
  GArray *linked;   /* a subtree scan: the hard-linked inodes it indexed (LfsInoKey) */
  gboolean missed;  /* a directory moved before its entries were indexed */
} Walk;

/* A worker's counts, added to the index's statistics now and then. */
typedef struct {
  guint64 entries, dirs, unreadable;
} Counts;

static void
warn_shadowed(LfsCtx *c, const char *rel)
{
  g_autofree char *path = lfs_path_join(rel, c->opt.links_name);
  lfs_warn("'%s' is a real entry of SOURCE: it is shown instead of the virtual %s "
           "there (choose another -o links_name to see both)",
           path, c->opt.links_name);
}

static gboolean
indexed_kind(const struct stat *st)
{
  return S_ISLNK(st->st_mode) || (!S_ISDIR(st->st_mode) && st->st_nlink > 1);
}

static WalkItem *
item_new(char *rel, guint64 seq)
{
  WalkItem *it = g_new(WalkItem, 1);
  *it = (WalkItem){.rel = rel, .seq = seq};
  return it;
}

static void
item_free(gpointer p)
{
  WalkItem *it = p;
  g_free(it->rel);
  g_free(it);
}

/* A careful walk holds the change lock for writing while it opens a
 * directory and while it indexes a batch of its entries, so that no rename
 * through the view comes in between, and first brings the directory's path
 * up to date with the renames logged since it read it: every directory is
 * read and indexed where it is, however the view renames the tree under
 * the walk. */
static void
item_rebase(LfsCtx *c, WalkItem *it)
{
  char *now = lfs_moves_rebase(c->moves, it->rel, &it->seq);
  g_free(it->rel);
  it->rel = now;
}

static int
open_item(const Walk *w, WalkItem *it, int *fd)
{
  if (!w->careful)
    return lfs_open_rel(&w->c->root, it->rel, O_RDONLY | O_DIRECTORY, fd);
  g_rw_lock_writer_lock(&w->c->change_lock);
  item_rebase(w->c, it);
  int err = lfs_open_rel(&w->c->root, it->rel, O_RDONLY | O_DIRECTORY, fd);
  g_rw_lock_writer_unlock(&w->c->change_lock);
  return err;
}

/* Entries of one directory to index, looked at again under one hold of
 * the change lock per INDEX_BATCH, so that a change made through the view
 * never interleaves with one and the workers seldom wait for each other. */
enum { INDEX_BATCH = 256 };

typedef enum { DIR_IN_PLACE, DIR_MOVED, DIR_GONE } DirPlace;

/* Whether the directory read as rel (dfd) is still there. A full scan
 * that meets a move is run again (moves.h) and does not look, but for
 * its last, careful attempt; seeks, subtree scans and careful walks look,
 * under the change lock: no move comes in between (a move through the view
 * holds it, -o watch applies each event under it), and entries indexed at
 * rel are where rel is. */
static DirPlace
dir_place(const Walk *w, int dfd, const char *rel)
{
  if (w->seek == NULL && w->linked == NULL && !w->careful)
    return DIR_IN_PLACE;
  struct stat here, there;
  if (fstat(dfd, &here) != 0 || here.st_nlink == 0)
    return DIR_GONE; /* removed: nothing of it to index */
  if (lfs_stat_rel(&w->c->root, rel, &there) != 0 || here.st_dev != there.st_dev ||
      here.st_ino != there.st_ino)
    return DIR_MOVED;
  return DIR_IN_PLACE;
}

static void
set_missed(Walk *w)
{
  g_mutex_lock(&w->lock);
  w->missed = TRUE;
  g_mutex_unlock(&w->lock);
}

static void
index_batch(Walk *w, int dfd, WalkItem *it, GPtrArray *names)
{
  LfsCtx *c = w->c;
  g_rw_lock_writer_lock(&c->change_lock);
  if (w->careful)
    item_rebase(c, it);
  const char *rel = it->rel;
  DirPlace place = dir_place(w, dfd, rel);
  if (place != DIR_IN_PLACE) {
    g_rw_lock_writer_unlock(&c->change_lock);
    if (place == DIR_MOVED) /* looked for again: see seek_once, lfs_scan_subtree */
      set_missed(w);
    g_ptr_array_set_size(names, 0);
    return;
  }
  for (guint k = 0; k < names->len; k++) {
    const char *name = names->pdata[k];
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) != 0)
      continue;
    if (S_ISLNK(st.st_mode))
      lfs_symlink_index(c, c->index, dfd, rel, name, &st);
    else if (indexed_kind(&st))
      lfs_index_add_file(c->index, rel, name, st.st_dev, st.st_ino, st.st_nlink);
    if (w->linked != NULL && st.st_nlink > 1) {
      LfsInoKey ino = {st.st_dev, st.st_ino};
      g_mutex_lock(&w->lock);
      g_array_append_val(w->linked, ino);
      g_mutex_unlock(&w->lock);
    }
  }
  g_rw_lock_writer_unlock(&c->change_lock);
  g_ptr_array_set_size(names, 0);
}

/* One non-directory entry: most (one name, not a symlink) need nothing
 * more than this stat; the others go to later. A seek takes only the
 * inodes it looks for. */
static void
scan_entry(Walk *w, int dfd, WalkItem *it, const char *name, GPtrArray *later)
{
  struct stat st;
  if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) != 0 ||
      !indexed_kind(&st))
    return;
  if (w->seek != NULL &&
      (st.st_nlink < 2 ||
       !g_hash_table_contains(w->seek, &(LfsInoKey){st.st_dev, st.st_ino})))
    return;
  g_ptr_array_add(later, (gpointer)name);
  if (later->len >= INDEX_BATCH)
    index_batch(w, dfd, it, later);
}

/* Read the directory it, index its entries; its subdirectories go to
 * subdirs. Opened from SOURCE without following any symlink and, under
 * the mountpoint, from the directory opened before mounting. One gone
 * meanwhile is not counted as unreadable. */
static void
scan_dir(Walk *w, WalkItem *it, GPtrArray *subdirs, Counts *n)
{
  LfsCtx *c = w->c;
  lfs_autofd fd = -1;
  g_autoptr(LfsDirSnap) snap = lfs_dirsnap_new();
  int err = open_item(w, it, &fd);
  if (err != 0) {
    if (err != ENOENT)
      n->unreadable++;
    else if (w->seek != NULL) /* moved since its parent was read: see seek_once */
      set_missed(w);
    return;
  }
  /* Where it was opened (a batch may bring it->rel up to date). */
  g_autofree char *rel = g_strdup(it->rel);
  guint64 seq = it->seq;
  if (w->seek == NULL &&
      c->scan->on_dir != NULL) /* before reading: what changes after is seen */
    c->scan->on_dir(c, fd, rel);
  if (lfs_dirsnap_read(snap, fd) != 0) {
    n->unreadable++;
    return;
  }
  n->dirs++;
  g_autoptr(GPtrArray) later = g_ptr_array_new(); /* names borrowed from snap */
  for (guint k = 0; k < lfs_dirsnap_len(snap); k++) {
    const LfsDirent *de = lfs_dirsnap_get(snap, k);
    const char *name = lfs_dirsnap_name(snap, de);
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
      continue;
    n->entries++;
    if (w->seek == NULL && strcmp(name, c->opt.links_name) == 0)
      warn_shadowed(c, rel);
    struct stat st;
    gboolean dir =
        de->type == DT_DIR ||
        (de->type == DT_UNKNOWN && fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
         S_ISDIR(st.st_mode));
    if (dir)
      g_ptr_array_add(subdirs, item_new(lfs_path_join(rel, name), seq));
    else
      scan_entry(w, fd, it, name, later);
  }
  if (later->len > 0)
    index_batch(w, fd, it, later);
}

static void
flush_counts(Walk *w, Counts *n)
{
  if (w->seek == NULL)
    lfs_index_note_scanned(w->c->index, n->entries, n->dirs, n->unreadable);
  *n = (Counts){0};
}

gboolean
lfs_scan_names_missing(LfsCtx *c, const LfsInoKey *k)
{
  g_autoptr(LfsGroupInfo) g = lfs_index_get_group_counts(c->index, k->dev, k->ino);
  return g != NULL && g->npaths < g->nlink;
}

/* Whether the index now holds every name of every inode a seek looks for. */
static gboolean
seek_found_all(Walk *w)
{
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init(&it, w->seek);
  while (g_hash_table_iter_next(&it, &key, NULL)) {
    if (lfs_scan_names_missing(w->c, key))
      return FALSE;
  }
  return TRUE;
}

/* Take directories until none is left and no worker may add any. */
static gpointer
worker(gpointer data)
{
  Walk *w = data;
  Counts n = {0};
  g_autoptr(GPtrArray) found = g_ptr_array_new();
  g_mutex_lock(&w->lock);
  for (;;) {
    if (w->todo->len == 0 || w->done) {
      if (w->busy == 0 || w->done || lfs_scan_stop_asked(w->c->scan))
        break;
      g_cond_wait(&w->cond, &w->lock);
      continue;
    }
    WalkItem *it = g_ptr_array_steal_index_fast(w->todo, w->todo->len - 1);
    w->busy++;
    g_mutex_unlock(&w->lock);
    if (!lfs_scan_stop_asked(w->c->scan))
      scan_dir(w, it, found, &n);
    item_free(it);
    gboolean all = FALSE;
    if (n.entries >= FLUSH_ENTRIES || n.dirs >= FLUSH_DIRS) {
      all = w->seek != NULL && seek_found_all(w);
      flush_counts(w, &n);
    }
    g_mutex_lock(&w->lock);
    for (guint k = found->len; k-- > 0;) /* first name on top */
      g_ptr_array_add(w->todo, found->pdata[k]);
    g_ptr_array_set_size(found, 0);
    w->done = w->done || all;
    w->busy--;
    g_cond_broadcast(&w->cond);
  }
  g_cond_broadcast(&w->cond);
  g_mutex_unlock(&w->lock);
  flush_counts(w, &n);
  return NULL;
}

gboolean
lfs_walk(LfsCtx *c, const char *start, guint nworkers, GHashTable *seek, GArray *linked,
         gboolean careful)
{
  Walk w = {.c = c,
            .careful = careful,
            .todo = g_ptr_array_new_with_free_func(item_free),
            .seek = seek,
            .linked = linked};
  g_mutex_init(&w.lock);
  g_cond_init(&w.cond);
  guint64 now = lfs_moves_position(c->moves);
  g_ptr_array_add(w.todo, item_new(g_strdup(start), now));
  GThread *threads[MAX_WORKERS];
  nworkers = CLAMP(nworkers, 1, MAX_WORKERS);
  for (guint k = 1; k < nworkers; k++)
    threads[k] = g_thread_new("linkfs-scan-w", worker, &w);
  worker(&w);
  for (guint k = 1; k < nworkers; k++)
    g_thread_join(threads[k]);
  g_ptr_array_unref(w.todo);
  g_mutex_clear(&w.lock);
  g_cond_clear(&w.cond);
  return w.missed;
}

guint
lfs_walk_workers(void)
{
  return MIN(g_get_num_processors(), MAX_WORKERS);
}
