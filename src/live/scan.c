/* scan.c: the background scan that builds the index, SIGHUP rescans, the
 * subtree scans of -o watch (a directory made or moved in) and seeks (a
 * walk that looks for the other names of a few inodes, without emptying
 * the index: see lfs_scan_seek).
 *
 * The walk takes directories from a shared stack (depth first), with one
 * worker per core: each opens its directory from SOURCE with
 * lfs_open_rel (never following a symlink, never entering our own mount:
 * the directory under the mountpoint is reached through its descriptor
 * opened before mounting), reads it whole, stats its entries and closes
 * it, so a worker holds one directory descriptor at a time whatever the
 * depth. */
#include "lfs.h"

#include "core/dirsnap.h"
#include "core/fdutil.h"
#include "core/movelog.h"
#include "core/names.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
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

void
lfs_scan_init(LfsScanState *s)
{
  g_mutex_init(&s->lock);
  g_cond_init(&s->cond);
  s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  s->movelog = lfs_movelog_new();
}

void
lfs_scan_clear(LfsScanState *s)
{
  g_mutex_clear(&s->lock);
  g_cond_clear(&s->cond);
  if (s->wake_fd >= 0)
    close(s->wake_fd);
  if (s->stop_fd >= 0)
    close(s->stop_fd);
  g_clear_pointer(&s->movelog, lfs_movelog_free);
}

/* An eventfd write; a counter that is already huge stays readable. */
static void
kick(int fd)
{
  guint64 one = 1;
  if (fd >= 0 && write(fd, &one, sizeof one) < 0 && errno != EAGAIN)
    g_warning("eventfd write: %s", g_strerror(errno));
}

gboolean
lfs_scan_poll_until_stop(LfsCtx *c, int fd)
{
  struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
                        {.fd = c->scan.stop_fd, .events = POLLIN}};
  /* Without an eventfd (never seen), look at the flag every 200 ms. */
  int timeout = c->scan.stop_fd >= 0 ? -1 : 200;
  while (poll(p, 2, timeout) < 0 && errno == EINTR)
    ;
  return (p[0].revents & POLLIN) != 0;
}

gboolean
lfs_scan_stopping(LfsCtx *c)
{
  g_mutex_lock(&c->scan.lock);
  gboolean s = c->scan.stop;
  g_mutex_unlock(&c->scan.lock);
  return s;
}

static void
warn_shadowed(LfsCtx *c, const char *rel)
{
  g_autofree char *path = lfs_path_join(rel, c->opt.links_name);
  fprintf(stderr,
          "linkfs: warning: '%s' is a real entry of SOURCE: it is shown instead of "
          "the virtual %s there (choose another -o links_name to see both)\n",
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
 * the walk. Lock order: change_lock, then scan.lock. */
static void
item_rebase(LfsCtx *c, WalkItem *it)
{
  g_mutex_lock(&c->scan.lock);
  char *now = lfs_movelog_rebase(c->scan.movelog, it->rel, it->seq);
  it->seq = lfs_movelog_end(c->scan.movelog);
  g_mutex_unlock(&c->scan.lock);
  g_free(it->rel);
  it->rel = now;
}

static int
open_item(const Walk *w, WalkItem *it, int *fd)
{
  if (!w->careful)
    return lfs_open_rel(w->c, it->rel, O_RDONLY | O_DIRECTORY, fd);
  g_rw_lock_writer_lock(&w->c->change_lock);
  item_rebase(w->c, it);
  int err = lfs_open_rel(w->c, it->rel, O_RDONLY | O_DIRECTORY, fd);
  g_rw_lock_writer_unlock(&w->c->change_lock);
  return err;
}

/* Entries of one directory to index, looked at again under one hold of
 * the change lock per INDEX_BATCH, so that a change made through the view
 * never interleaves with one and the workers seldom wait for each other. */
enum { INDEX_BATCH = 256 };

typedef enum { DIR_IN_PLACE, DIR_MOVED, DIR_GONE } DirPlace;

/* Whether the directory read as rel (dfd) is still there. A full scan
 * that meets a move is run again (scan.dirty) and does not look, but for
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
  if (lfs_stat_rel(w->c, rel, &there) != 0 || here.st_dev != there.st_dev ||
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
      lfs_update_symlink(c, c->index, dfd, rel, name, &st);
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
  if (w->seek == NULL) /* before reading: what changes after is seen */
    lfs_watch_add(c, fd, rel);
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

/* Whether the index lacks some name of the inode k (a seek looks on). */
static gboolean
names_missing(LfsCtx *c, const LfsInoKey *k)
{
  g_autoptr(LfsGroupInfo) g = lfs_index_get_group(c->index, k->dev, k->ino);
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
    if (names_missing(w->c, key))
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
      if (w->busy == 0 || w->done || lfs_scan_stopping(w->c))
        break;
      g_cond_wait(&w->cond, &w->lock);
      continue;
    }
    WalkItem *it = g_ptr_array_steal_index_fast(w->todo, w->todo->len - 1);
    w->busy++;
    g_mutex_unlock(&w->lock);
    if (!lfs_scan_stopping(w->c))
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

/* Index everything at and below the directory start, with workers on
 * every core (at most MAX_WORKERS), the calling thread being one. TRUE if
 * a directory moved before its entries were indexed (a partial or careful
 * walk). A careful walk runs between careful_begin and careful_end. */
static gboolean
walk(LfsCtx *c, const char *start, guint nworkers, GHashTable *seek, GArray *linked,
     gboolean careful)
{
  Walk w = {.c = c,
            .careful = careful,
            .todo = g_ptr_array_new_with_free_func(item_free),
            .seek = seek,
            .linked = linked};
  g_mutex_init(&w.lock);
  g_cond_init(&w.cond);
  g_mutex_lock(&c->scan.lock);
  guint64 now = lfs_movelog_end(c->scan.movelog);
  g_mutex_unlock(&c->scan.lock);
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

static guint
scan_workers(void)
{
  return MIN(g_get_num_processors(), MAX_WORKERS);
}

/* While a careful walk runs, every rename applied to the index is logged
 * (lfs_scan_mark_dirty); the log is emptied when the last one ends. */
static void
careful_begin(LfsCtx *c)
{
  g_mutex_lock(&c->scan.lock);
  c->scan.ncareful++;
  g_mutex_unlock(&c->scan.lock);
}

static void
careful_end(LfsCtx *c)
{
  g_mutex_lock(&c->scan.lock);
  if (--c->scan.ncareful == 0)
    lfs_movelog_clear(c->scan.movelog);
  g_mutex_unlock(&c->scan.lock);
}

/* A full scan that renames meet runs again, the last time carefully
 * (item_rebase): it then ends right however the view renames the tree. */
enum { SCAN_ATTEMPTS = 3 };

/* One full scan into an emptied index; again if directories moved meanwhile. */
static void
scan_once(LfsCtx *c)
{
  for (int attempt = 0; attempt < SCAN_ATTEMPTS; attempt++) {
    g_mutex_lock(&c->scan.lock);
    c->scan.scanning = TRUE;
    c->scan.dirty = FALSE;
    c->scan.started_us = g_get_monotonic_time();
    c->scan.scans++;
    if (c->scan.seek != NULL) /* a full scan finds every name */
      g_hash_table_remove_all(c->scan.seek);
    c->scan.seek_pending = 0;
    g_mutex_unlock(&c->scan.lock);

    g_autoptr(LfsIndex) old = lfs_index_new();
    g_rw_lock_writer_lock(&c->change_lock);
    lfs_index_replace_contents(c->index, old);
    g_rw_lock_writer_unlock(&c->change_lock);
    lfs_vinval_sync(c, FALSE);
    gboolean careful = attempt == SCAN_ATTEMPTS - 1;
    if (careful)
      careful_begin(c);
    walk(c, "", scan_workers(), NULL, NULL, careful);
    if (careful)
      careful_end(c);

    g_mutex_lock(&c->scan.lock);
    gboolean again = c->scan.dirty && !c->scan.stop;
    if (!again) {
      c->scan.scanning = FALSE;
      c->scan.seconds = (g_get_monotonic_time() - c->scan.started_us) / 1e6;
      g_cond_broadcast(&c->scan.cond);
    }
    g_mutex_unlock(&c->scan.lock);
    if (!again)
      return;
  }
  g_mutex_lock(&c->scan.lock);
  c->scan.scanning = FALSE;
  c->scan.seconds = (g_get_monotonic_time() - c->scan.started_us) / 1e6;
  g_cond_broadcast(&c->scan.cond);
  g_mutex_unlock(&c->scan.lock);
}

/* Inodes waiting for a seek (value 1) are taken (value 2: sought; not
 * looked for again before the next full scan). */
static GHashTable *
seek_take(LfsCtx *c)
{
  GHashTable *set = NULL;
  g_mutex_lock(&c->scan.lock);
  GHashTableIter it;
  gpointer key, val;
  if (c->scan.seek_pending > 0)
    g_hash_table_iter_init(&it, c->scan.seek);
  while (c->scan.seek_pending > 0 && g_hash_table_iter_next(&it, &key, &val)) {
    if (GPOINTER_TO_INT(val) != 1)
      continue;
    if (set == NULL)
      set = g_hash_table_new_full(lfs_ino_key_hash, lfs_ino_key_equal, g_free, NULL);
    g_hash_table_add(set, g_memdup2(key, sizeof(LfsInoKey)));
    g_hash_table_iter_replace(&it, GINT_TO_POINTER(2));
    c->scan.seek_pending--;
  }
  g_mutex_unlock(&c->scan.lock);
  return set;
}

static guint64
scan_moves(LfsCtx *c)
{
  g_mutex_lock(&c->scan.lock);
  guint64 n = c->scan.moves;
  g_mutex_unlock(&c->scan.lock);
  return n;
}

/* Drop from set the inodes whose every name the index holds. */
static void
drop_complete(LfsCtx *c, GHashTable *set)
{
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init(&it, set);
  while (g_hash_table_iter_next(&it, &key, NULL)) {
    if (!names_missing(c, key))
      g_hash_table_iter_remove(&it);
  }
}

/* A seek walks the tree again, at most this many times in all, while
 * directories move under it: one moved after the seek read its parent and
 * before it opened it, or before it indexed its entries, was missed. The
 * seek knows it from a rename applied to the index meanwhile or, when the
 * move was made in the source and -o watch has not applied it yet, from
 * the directory it could not open or found moved. */
enum { SEEK_WALKS = 3 };

static void
seek_once(LfsCtx *c)
{
  g_autoptr(GHashTable) set = seek_take(c);
  if (set == NULL)
    return;
  for (int k = 0; k < SEEK_WALKS && g_hash_table_size(set) > 0; k++) {
    guint64 moves = scan_moves(c);
    gboolean missed = walk(c, "", scan_workers(), set, NULL, FALSE);
    if (!missed && scan_moves(c) == moves)
      break;
    drop_complete(c, set);
  }
  lfs_vinval_sync(c, FALSE);
}

/* Sleeps until SIGHUP (blocked in every thread, read from a signalfd) or
 * a kick of wake_fd; TRUE for SIGHUP. Without the descriptors (never
 * seen), it looks every 100 ms. */
static gboolean
wait_for_work(LfsCtx *c, int sigfd, const sigset_t *hup)
{
  if (sigfd < 0 || c->scan.wake_fd < 0) {
    struct timespec tick = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
    return sigtimedwait(hup, NULL, &tick) == SIGHUP;
  }
  struct pollfd p[2] = {{.fd = sigfd, .events = POLLIN},
                        {.fd = c->scan.wake_fd, .events = POLLIN}};
  while (poll(p, 2, -1) < 0 && errno == EINTR)
    ;
  gboolean got = FALSE;
  struct signalfd_siginfo si;
  while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si)
    got = TRUE;
  guint64 n;
  while (read(c->scan.wake_fd, &n, sizeof n) == (ssize_t)sizeof n)
    ;
  return got;
}

static gpointer
scan_thread(gpointer data)
{
  LfsCtx *c = data;
  sigset_t hup;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  lfs_autofd sigfd = signalfd(-1, &hup, SFD_CLOEXEC | SFD_NONBLOCK);
  scan_once(c);
  lfs_vinval_sync(c, FALSE);
  while (!lfs_scan_stopping(c)) {
    gboolean hup_now = wait_for_work(c, sigfd, &hup);
    g_mutex_lock(&c->scan.lock);
    gboolean asked = c->scan.requested;
    c->scan.requested = FALSE;
    g_mutex_unlock(&c->scan.lock);
    if (hup_now || asked) {
      scan_once(c);
      lfs_vinval_sync(c, FALSE);
    } else {
      seek_once(c);
    }
  }
  return NULL;
}

void
lfs_scan_start(LfsCtx *c)
{
  g_mutex_lock(&c->scan.lock);
  c->scan.scanning = TRUE; /* listings wait from the very start */
  c->scan.started_us = g_get_monotonic_time();
  g_mutex_unlock(&c->scan.lock);
  c->scan.thread = g_thread_new("linkfs-scan", scan_thread, c);
}

void
lfs_scan_stop(LfsCtx *c)
{
  g_mutex_lock(&c->scan.lock);
  c->scan.stop = TRUE;
  g_cond_broadcast(&c->scan.cond);
  g_mutex_unlock(&c->scan.lock);
  kick(c->scan.stop_fd);
  kick(c->scan.wake_fd);
  if (c->scan.thread != NULL)
    g_thread_join(g_steal_pointer(&c->scan.thread));
  g_clear_pointer(&c->scan.seek, g_hash_table_unref);
}

gboolean
lfs_scan_wait_ready(LfsCtx *c)
{
  g_mutex_lock(&c->scan.lock);
  while (c->scan.scanning && !c->scan.stop)
    g_cond_wait(&c->scan.cond, &c->scan.lock);
  gboolean ok = !c->scan.stop;
  g_mutex_unlock(&c->scan.lock);
  return ok;
}

gboolean
lfs_scan_state(LfsCtx *c, double *seconds)
{
  g_mutex_lock(&c->scan.lock);
  gboolean scanning = c->scan.scanning;
  *seconds =
      scanning ? (g_get_monotonic_time() - c->scan.started_us) / 1e6 : c->scan.seconds;
  g_mutex_unlock(&c->scan.lock);
  return scanning;
}

void
lfs_scan_mark_dirty(LfsCtx *c, const char *from, const char *to, gboolean exchange)
{
  g_mutex_lock(&c->scan.lock);
  if (c->scan.scanning)
    c->scan.dirty = TRUE;
  c->scan.moves++;
  if (c->scan.ncareful > 0 && from != NULL && to != NULL)
    lfs_movelog_add(c->scan.movelog, from, to, exchange);
  g_mutex_unlock(&c->scan.lock);
}

void
lfs_scan_request(LfsCtx *c)
{
  g_mutex_lock(&c->scan.lock);
  c->scan.requested = TRUE;
  g_mutex_unlock(&c->scan.lock);
  kick(c->scan.wake_fd);
}

/* A subtree scanned in (a directory made, or moved in from outside SOURCE)
 * may hold new names of files whose other names, elsewhere in SOURCE, the
 * index does not hold: they are looked for. */
void
lfs_scan_subtree(LfsCtx *c, const char *relpath)
{
  g_autoptr(GArray) linked = g_array_new(FALSE, FALSE, sizeof(LfsInoKey));
  /* The watch thread runs this: only the view can rename meanwhile, and a
   * careful walk follows. A move it did not see (made in the source and
   * not applied yet) made it drop a batch: a full scan finds that. */
  careful_begin(c);
  gboolean missed = walk(c, relpath, 1, NULL, linked, TRUE);
  careful_end(c);
  if (missed)
    lfs_scan_request(c);
  lfs_vinval_sync(c, FALSE);
  for (guint k = 0; k < linked->len; k++) {
    const LfsInoKey *i = &g_array_index(linked, LfsInoKey, k);
    if (names_missing(c, i))
      lfs_scan_seek(c, i->dev, i->ino);
  }
}

void
lfs_scan_seek(LfsCtx *c, dev_t dev, ino_t ino)
{
  LfsInoKey k = {dev, ino};
  g_mutex_lock(&c->scan.lock);
  if (c->scan.stop) { /* unmounting: the scan thread is gone */
    g_mutex_unlock(&c->scan.lock);
    return;
  }
  if (c->scan.seek == NULL)
    c->scan.seek =
        g_hash_table_new_full(lfs_ino_key_hash, lfs_ino_key_equal, g_free, NULL);
  gboolean added = !g_hash_table_contains(c->scan.seek, &k);
  if (added) {
    g_hash_table_insert(c->scan.seek, g_memdup2(&k, sizeof k), GINT_TO_POINTER(1));
    c->scan.seek_pending++;
  }
  g_mutex_unlock(&c->scan.lock);
  if (added) /* one already asked for wakes the thread no more */
    kick(c->scan.wake_fd);
}

guint64
lfs_scan_count(LfsCtx *c)
{
  g_mutex_lock(&c->scan.lock);
  guint64 n = c->scan.scans;
  g_mutex_unlock(&c->scan.lock);
  return n;
}
