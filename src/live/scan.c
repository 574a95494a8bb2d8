/* scan.c: the scan thread and what it is asked for: the background scan
 * that builds the index, SIGHUP rescans, the subtree scans of -o watch (a
 * directory made or moved in) and seeks (a walk that looks for the other
 * names of a few inodes, without emptying the index: see lfs_scan_seek).
 * The walks themselves are walk.c's. */
#include "scan-private.h"

#include "moves.h"

#include "core/fdutil.h"
#include "core/log.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

LfsScan *
lfs_scan_new(void)
{
  LfsScan *s = g_new0(LfsScan, 1);
  g_mutex_init(&s->lock);
  g_cond_init(&s->cond);
  s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  return s;
}

void
lfs_scan_free(LfsScan *s)
{
  if (s == NULL)
    return;
  g_mutex_clear(&s->lock);
  g_cond_clear(&s->cond);
  if (s->wake_fd >= 0)
    close(s->wake_fd);
  if (s->stop_fd >= 0)
    close(s->stop_fd);
  g_clear_pointer(&s->seek, g_hash_table_unref);
  g_free(s);
}

void
lfs_scan_on_dir(LfsScan *s, LfsScanDirFn fn)
{
  s->on_dir = fn;
}

/* An eventfd write; a counter that is already huge stays readable. */
static void
kick(int fd)
{
  guint64 one = 1;
  if (fd >= 0 && write(fd, &one, sizeof one) < 0 && errno != EAGAIN)
    lfs_warn("eventfd write: %s", g_strerror(errno));
}

gboolean
lfs_scan_poll_until_stop(LfsCtx *c, int fd)
{
  struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
                        {.fd = c->scan->stop_fd, .events = POLLIN}};
  /* Without an eventfd (never seen), look at the flag every 200 ms. */
  int timeout = c->scan->stop_fd >= 0 ? -1 : 200;
  while (poll(p, 2, timeout) < 0 && errno == EINTR)
    ;
  return (p[0].revents & POLLIN) != 0;
}

gboolean
lfs_scan_stopping(LfsCtx *c)
{
  return lfs_scan_stop_asked(c->scan);
}

/* A full scan that renames meet runs again, the last time carefully
 * (item_rebase): it then ends right however the view renames the tree. */
enum { SCAN_ATTEMPTS = 3 };

/* Under the lock: the scan ends, listings go on. */
static void
scan_ended(LfsScan *s)
{
  s->scanning = FALSE;
  s->seconds = (g_get_monotonic_time() - s->started_us) / 1e6;
  g_cond_broadcast(&s->cond);
}

/* One walk of the whole tree into an emptied index; TRUE if a rename was
 * applied to the index meanwhile. */
static gboolean
scan_attempt(LfsCtx *c, gboolean careful)
{
  LfsScan *s = c->scan;
  guint64 moves = lfs_moves_count(c->moves);
  g_mutex_lock(&s->lock);
  s->scanning = TRUE;
  s->started_us = g_get_monotonic_time();
  s->scans++;
  if (s->seek != NULL) /* a full scan finds every name */
    g_hash_table_remove_all(s->seek);
  s->seek_pending = 0;
  g_mutex_unlock(&s->lock);

  g_autoptr(LfsIndex) old = lfs_index_new();
  g_rw_lock_writer_lock(&c->change_lock);
  lfs_index_replace_contents(c->index, old);
  g_rw_lock_writer_unlock(&c->change_lock);
  lfs_view_stale(c, FALSE);
  if (careful)
    lfs_moves_careful_begin(c->moves);
  lfs_walk(c, "", lfs_walk_workers(), NULL, NULL, careful);
  if (careful)
    lfs_moves_careful_end(c->moves);
  return lfs_moves_count(c->moves) != moves;
}

/* One full scan; again if directories moved meanwhile. */
static void
scan_once(LfsCtx *c)
{
  for (int attempt = 0; attempt < SCAN_ATTEMPTS; attempt++) {
    if (!scan_attempt(c, attempt == SCAN_ATTEMPTS - 1) || lfs_scan_stopping(c))
      break;
  }
  g_mutex_lock(&c->scan->lock);
  scan_ended(c->scan);
  g_mutex_unlock(&c->scan->lock);
}

/* Inodes waiting for a seek (value 1) are taken (value 2: sought; not
 * looked for again before the next full scan). */
static GHashTable *
seek_take(LfsCtx *c)
{
  GHashTable *set = NULL;
  g_mutex_lock(&c->scan->lock);
  GHashTableIter it;
  gpointer key, val;
  if (c->scan->seek_pending > 0)
    g_hash_table_iter_init(&it, c->scan->seek);
  while (c->scan->seek_pending > 0 && g_hash_table_iter_next(&it, &key, &val)) {
    if (GPOINTER_TO_INT(val) != 1)
      continue;
    if (set == NULL)
      set = g_hash_table_new_full(lfs_ino_key_hash, lfs_ino_key_equal, g_free, NULL);
    g_hash_table_add(set, g_memdup2(key, sizeof(LfsInoKey)));
    g_hash_table_iter_replace(&it, GINT_TO_POINTER(2));
    c->scan->seek_pending--;
  }
  g_mutex_unlock(&c->scan->lock);
  return set;
}

/* Drop from set the inodes whose every name the index holds. */
static void
drop_complete(LfsCtx *c, GHashTable *set)
{
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init(&it, set);
  while (g_hash_table_iter_next(&it, &key, NULL)) {
    if (!lfs_scan_names_missing(c, key))
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
    guint64 moves = lfs_moves_count(c->moves);
    gboolean missed = lfs_walk(c, "", lfs_walk_workers(), set, NULL, FALSE);
    if (!missed && lfs_moves_count(c->moves) == moves)
      break;
    drop_complete(c, set);
  }
  lfs_view_stale(c, FALSE);
}

/* Sleeps until SIGHUP (blocked in every thread, read from a signalfd) or
 * a kick of wake_fd; TRUE for SIGHUP. Without the descriptors (never
 * seen), it looks every 100 ms. */
static gboolean
wait_for_work(LfsCtx *c, int sigfd, const sigset_t *hup)
{
  if (sigfd < 0 || c->scan->wake_fd < 0) {
    struct timespec tick = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
    return sigtimedwait(hup, NULL, &tick) == SIGHUP;
  }
  struct pollfd p[2] = {{.fd = sigfd, .events = POLLIN},
                        {.fd = c->scan->wake_fd, .events = POLLIN}};
  while (poll(p, 2, -1) < 0 && errno == EINTR)
    ;
  gboolean got = FALSE;
  struct signalfd_siginfo si;
  while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si)
    got = TRUE;
  guint64 n;
  while (read(c->scan->wake_fd, &n, sizeof n) == (ssize_t)sizeof n)
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
  lfs_view_stale(c, FALSE);
  while (!lfs_scan_stopping(c)) {
    gboolean hup_now = wait_for_work(c, sigfd, &hup);
    g_mutex_lock(&c->scan->lock);
    gboolean asked = c->scan->requested;
    c->scan->requested = FALSE;
    g_mutex_unlock(&c->scan->lock);
    if (hup_now || asked) {
      scan_once(c);
      lfs_view_stale(c, FALSE);
    } else {
      seek_once(c);
    }
  }
  return NULL;
}

void
lfs_scan_start(LfsCtx *c)
{
  g_mutex_lock(&c->scan->lock);
  c->scan->scanning = TRUE; /* listings wait from the very start */
  c->scan->started_us = g_get_monotonic_time();
  g_mutex_unlock(&c->scan->lock);
  c->scan->thread = g_thread_new("linkfs-scan", scan_thread, c);
}

void
lfs_scan_stop(LfsCtx *c)
{
  g_mutex_lock(&c->scan->lock);
  c->scan->stop = TRUE;
  g_cond_broadcast(&c->scan->cond);
  g_mutex_unlock(&c->scan->lock);
  kick(c->scan->stop_fd);
  kick(c->scan->wake_fd);
  if (c->scan->thread != NULL)
    g_thread_join(g_steal_pointer(&c->scan->thread));
  g_clear_pointer(&c->scan->seek, g_hash_table_unref);
}

gboolean
lfs_scan_wait_ready(LfsCtx *c)
{
  g_mutex_lock(&c->scan->lock);
  while (c->scan->scanning && !c->scan->stop)
    g_cond_wait(&c->scan->cond, &c->scan->lock);
  gboolean ok = !c->scan->stop;
  g_mutex_unlock(&c->scan->lock);
  return ok;
}

gboolean
lfs_scan_state(LfsCtx *c, double *seconds)
{
  g_mutex_lock(&c->scan->lock);
  gboolean scanning = c->scan->scanning;
  *seconds =
      scanning ? (g_get_monotonic_time() - c->scan->started_us) / 1e6 : c->scan->seconds;
  g_mutex_unlock(&c->scan->lock);
  return scanning;
}

void
lfs_scan_request(LfsCtx *c)
{
  g_mutex_lock(&c->scan->lock);
  c->scan->requested = TRUE;
  g_mutex_unlock(&c->scan->lock);
  kick(c->scan->wake_fd);
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
  lfs_moves_careful_begin(c->moves);
  gboolean missed = lfs_walk(c, relpath, 1, NULL, linked, TRUE);
  lfs_moves_careful_end(c->moves);
  if (missed)
    lfs_scan_request(c);
  lfs_view_stale(c, FALSE);
  for (guint k = 0; k < linked->len; k++) {
    const LfsInoKey *i = &g_array_index(linked, LfsInoKey, k);
    if (lfs_scan_names_missing(c, i))
      lfs_scan_seek(c, i->dev, i->ino);
  }
}

void
lfs_scan_seek(LfsCtx *c, dev_t dev, ino_t ino)
{
  LfsInoKey k = {dev, ino};
  g_mutex_lock(&c->scan->lock);
  if (c->scan->stop) { /* unmounting: the scan thread is gone */
    g_mutex_unlock(&c->scan->lock);
    return;
  }
  if (c->scan->seek == NULL)
    c->scan->seek =
        g_hash_table_new_full(lfs_ino_key_hash, lfs_ino_key_equal, g_free, NULL);
  gboolean added = !g_hash_table_contains(c->scan->seek, &k);
  if (added) {
    g_hash_table_insert(c->scan->seek, g_memdup2(&k, sizeof k), GINT_TO_POINTER(1));
    c->scan->seek_pending++;
  }
  g_mutex_unlock(&c->scan->lock);
  if (added) /* one already asked for wakes the thread no more */
    kick(c->scan->wake_fd);
}

guint64
lfs_scan_count(LfsCtx *c)
{
  g_mutex_lock(&c->scan->lock);
  guint64 n = c->scan->scans;
  g_mutex_unlock(&c->scan->lock);
  return n;
}
