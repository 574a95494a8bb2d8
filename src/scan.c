/* scan.c: the background scan that builds the index, and SIGHUP rescans.
 *
 * The walk goes depth first with directory descriptors, never following a
 * symlink and never entering our own mount (the directory under the
 * mountpoint is reached through its descriptor opened before mounting).
 * Only the deepest FD_DEPTH directories keep a descriptor; shallower ones
 * are opened again, by name and checked by (dev, ino), when the walk comes
 * back to them, so PATH_MAX-deep trees fit in any descriptor limit. */
#include "lfs.h"

#include "dirsnap.h"
#include "fdutil.h"
#include "names.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { FD_DEPTH = 32 };

typedef struct {
  int fd;
  dev_t dev;
  ino_t ino;
  char *rel;          /* relative to SOURCE */
  GPtrArray *subdirs; /* names still to visit */
  guint next;
} Frame;

typedef struct {
  LfsCtx *c;
  GArray *stack; /* Frame */
  guint64 entries, dirs, unreadable;
} Walk;

static void
frame_clear(Frame *f)
{
  if (f->fd >= 0)
    close(f->fd);
  g_free(f->rel);
  if (f->subdirs != NULL)
    g_ptr_array_unref(f->subdirs);
}

gboolean
lfs_scan_stopping(LfsCtx *c)
{
  g_mutex_lock(&c->scan.lock);
  gboolean s = c->scan.stop;
  g_mutex_unlock(&c->scan.lock);
  return s;
}

/* A descriptor for frame k, opened again from its parent if needed. */
static int
frame_fd(Walk *w, guint k)
{
  Frame *f = &g_array_index(w->stack, Frame, k);
  if (f->fd >= 0 || k == 0)
    return f->fd;
  int pfd = frame_fd(w, k - 1);
  if (pfd < 0)
    return -1;
  g_autofree char *name = g_path_get_basename(f->rel);
  lfs_autofd fd = -1;
  if (w->c->mp_rel != NULL && strcmp(f->rel, w->c->mp_rel) == 0)
    fd = fcntl(w->c->mp_fd, F_DUPFD_CLOEXEC, 0);
  else
    fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0 || st.st_dev != f->dev || st.st_ino != f->ino)
    return -1;
  f->fd = lfs_steal_fd(&fd);
  return f->fd;
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

/* Index one non-directory entry; the change lock keeps changes made
 * through the view from interleaving. */
static void
scan_entry(Walk *w, int dfd, const char *rel, const char *name)
{
  LfsCtx *c = w->c;
  struct stat st;
  g_rw_lock_writer_lock(&c->change_lock);
  if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) == 0) {
    if (S_ISLNK(st.st_mode))
      lfs_update_symlink(c, c->index, dfd, rel, name, &st);
    else if (!S_ISDIR(st.st_mode) && st.st_nlink > 1)
      lfs_index_add_file(c->index, rel, name, st.st_dev, st.st_ino, st.st_nlink);
  }
  g_rw_lock_writer_unlock(&c->change_lock);
}

/* Read the directory of the top frame, index its entries, list subdirs. */
static void
scan_dir(Walk *w, Frame *f)
{
  LfsCtx *c = w->c;
  g_autoptr(LfsDirSnap) snap = lfs_dirsnap_new();
  lfs_autofd rfd = openat(f->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0 || lfs_dirsnap_read(snap, rfd) != 0) {
    w->unreadable++;
    return;
  }
  w->dirs++;
  f->subdirs = g_ptr_array_new_with_free_func(g_free);
  for (guint k = 0; k < lfs_dirsnap_len(snap); k++) {
    const LfsDirent *de = lfs_dirsnap_get(snap, k);
    const char *name = lfs_dirsnap_name(snap, de);
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
      continue;
    w->entries++;
    if (strcmp(name, c->opt.links_name) == 0)
      warn_shadowed(c, f->rel);
    if (de->type == DT_DIR)
      g_ptr_array_add(f->subdirs, g_strdup(name));
    else if (de->type == DT_UNKNOWN) {
      struct stat st;
      if (fstatat(f->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
        g_ptr_array_add(f->subdirs, g_strdup(name));
      else
        scan_entry(w, f->fd, f->rel, name);
    } else {
      scan_entry(w, f->fd, f->rel, name);
    }
  }
}

/* Push the directory rel (opened as fd) and read it. */
static void
push_dir(Walk *w, int fd, char *rel)
{
  struct stat st;
  if (fstat(fd, &st) < 0) {
    close(fd);
    g_free(rel);
    w->unreadable++;
    return;
  }
  lfs_watch_add(w->c, fd, rel);
  Frame f = {.fd = fd, .dev = st.st_dev, .ino = st.st_ino, .rel = rel};
  g_array_append_val(w->stack, f);
  guint depth = w->stack->len;
  if (depth > FD_DEPTH) {
    Frame *old = &g_array_index(w->stack, Frame, depth - FD_DEPTH - 1);
    if (old->fd >= 0 && depth - FD_DEPTH - 1 > 0) {
      close(old->fd);
      old->fd = -1;
    }
  }
  Frame *top = &g_array_index(w->stack, Frame, depth - 1);
  scan_dir(w, top);
  if (w->entries >= 1024 || w->dirs >= 64) {
    lfs_index_note_scanned(w->c->index, w->entries, w->dirs, w->unreadable);
    w->entries = w->dirs = w->unreadable = 0;
  }
}

static void
open_child(Walk *w, guint k, const char *name)
{
  Frame *f = &g_array_index(w->stack, Frame, k);
  g_autofree char *rel = lfs_path_join(f->rel, name);
  int pfd = frame_fd(w, k);
  int fd = -1;
  if (w->c->mp_rel != NULL && strcmp(rel, w->c->mp_rel) == 0)
    fd = fcntl(w->c->mp_fd, F_DUPFD_CLOEXEC, 0);
  else if (pfd >= 0)
    fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    w->unreadable++;
    return;
  }
  push_dir(w, fd, g_steal_pointer(&rel));
}

/* Index everything at and below the directory start. */
static void
walk(LfsCtx *c, const char *start)
{
  Walk w = {.c = c, .stack = g_array_new(FALSE, TRUE, sizeof(Frame))};
  g_array_set_clear_func(w.stack, (GDestroyNotify)frame_clear);
  int rfd = -1;
  if (lfs_open_rel(c, start, O_RDONLY | O_DIRECTORY, &rfd) != 0) {
    w.unreadable++;
  } else {
    push_dir(&w, rfd, g_strdup(start));
  }
  while (w.stack->len > 0 && !lfs_scan_stopping(c)) {
    guint k = w.stack->len - 1;
    Frame *f = &g_array_index(w.stack, Frame, k);
    if (f->subdirs == NULL || f->next >= f->subdirs->len) {
      g_array_set_size(w.stack, k);
      continue;
    }
    const char *name = f->subdirs->pdata[f->next++];
    open_child(&w, k, name);
  }
  lfs_index_note_scanned(c->index, w.entries, w.dirs, w.unreadable);
  g_array_unref(w.stack);
}

/* One full scan into an emptied index; again if directories moved meanwhile. */
static void
scan_once(LfsCtx *c)
{
  for (int attempt = 0; attempt < 3; attempt++) {
    g_mutex_lock(&c->scan.lock);
    c->scan.scanning = TRUE;
    c->scan.dirty = FALSE;
    c->scan.started_us = g_get_monotonic_time();
    g_mutex_unlock(&c->scan.lock);

    g_autoptr(LfsIndex) old = lfs_index_new();
    g_rw_lock_writer_lock(&c->change_lock);
    lfs_index_replace_contents(c->index, old);
    g_rw_lock_writer_unlock(&c->change_lock);
    lfs_vinval_sync(c, FALSE);
    walk(c, "");

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

static gpointer
scan_thread(gpointer data)
{
  LfsCtx *c = data;
  sigset_t hup;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  scan_once(c);
  lfs_vinval_sync(c, FALSE);
  while (!lfs_scan_stopping(c)) {
    struct timespec tick = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
    gboolean hup_now = sigtimedwait(&hup, NULL, &tick) == SIGHUP;
    g_mutex_lock(&c->scan.lock);
    gboolean asked = c->scan.requested;
    c->scan.requested = FALSE;
    g_mutex_unlock(&c->scan.lock);
    if (hup_now || asked) {
      scan_once(c);
      lfs_vinval_sync(c, FALSE);
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
  if (c->scan.thread != NULL)
    g_thread_join(g_steal_pointer(&c->scan.thread));
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
lfs_scan_mark_dirty(LfsCtx *c)
{
  g_mutex_lock(&c->scan.lock);
  if (c->scan.scanning)
    c->scan.dirty = TRUE;
  g_mutex_unlock(&c->scan.lock);
}

void
lfs_scan_request(LfsCtx *c)
{
  g_mutex_lock(&c->scan.lock);
  c->scan.requested = TRUE;
  g_mutex_unlock(&c->scan.lock);
}

void
lfs_scan_subtree(LfsCtx *c, const char *relpath)
{
  walk(c, relpath);
}
