/* watch.c: -o watch follows changes made directly in SOURCE with inotify.
 *
 * Every directory the scan reads gets a watch. A change to a file, symlink
 * or node is applied to the index at once (the entry is looked at again,
 * and the symlinks it may affect are resolved again); a directory that
 * appears is scanned into the index; a directory that moves or vanishes
 * asks for a new scan, since the paths below it changed. Changes made
 * through the view come back as events too, and applying them again
 * changes nothing. */
#include "lfs.h"

#include "fdutil.h"
#include "names.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

struct LfsWatch {
  int fd;
  GMutex lock;
  GHashTable *dirs; /* wd -> directory relpath */
  GThread *thread;
};

enum {
  WATCH_MASK = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB |
               IN_DELETE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK,
};

void
lfs_watch_add(LfsCtx *c, int dirfd, const char *rel)
{
  LfsWatch *w = c->watch;
  if (w == NULL)
    return;
  char proc[LFS_PROC_FD_MAX];
  int wd = inotify_add_watch(w->fd, lfs_proc_fd(proc, dirfd), WATCH_MASK);
  if (wd < 0)
    return;
  g_mutex_lock(&w->lock);
  g_hash_table_insert(w->dirs, GINT_TO_POINTER(wd), g_strdup(rel));
  g_mutex_unlock(&w->lock);
}

static char *
watched_dir(LfsWatch *w, int wd)
{
  g_mutex_lock(&w->lock);
  char *rel = g_strdup(g_hash_table_lookup(w->dirs, GINT_TO_POINTER(wd)));
  g_mutex_unlock(&w->lock);
  return rel;
}

/* inotify says nothing to a directory's watch when the link count of a
 * file in it changes, so a new name of a file whose other names the index
 * does not hold (it had one name, in some directory) asks for a new scan. */
static void
check_new_link(LfsCtx *c, const char *path)
{
  struct stat st;
  if (lfs_stat_rel(c, path, &st) != 0 || S_ISDIR(st.st_mode) || st.st_nlink < 2)
    return;
  g_autoptr(LfsGroupInfo) g = lfs_index_get_group(c->index, st.st_dev, st.st_ino);
  if (g == NULL || g->npaths < st.st_nlink)
    lfs_scan_request(c);
}

static void
handle_event(LfsCtx *c, const struct inotify_event *ev)
{
  LfsWatch *w = c->watch;
  if (ev->mask & IN_Q_OVERFLOW) {
    lfs_scan_request(c);
    return;
  }
  if (ev->mask & IN_IGNORED) {
    g_mutex_lock(&w->lock);
    g_hash_table_remove(w->dirs, GINT_TO_POINTER(ev->wd));
    g_mutex_unlock(&w->lock);
    return;
  }
  if (ev->len == 0 || (ev->mask & IN_DELETE_SELF))
    return;
  g_autofree char *dir = watched_dir(w, ev->wd);
  if (dir == NULL)
    return;
  g_autofree char *path = lfs_path_join(dir, ev->name);
  if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE))) {
    lfs_scan_request(c); /* every path below it changed */
    return;
  }
  if (ev->mask & IN_ISDIR) {
    lfs_scan_subtree(c, path);
    return;
  }
  guint64 gen = lfs_change_begin(c);
  lfs_update_path(c, path);
  lfs_change_end_async(c, gen);
  if (ev->mask & (IN_CREATE | IN_MOVED_TO))
    check_new_link(c, path);
}

static gpointer
watch_thread(gpointer data)
{
  LfsCtx *c = data;
  char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
  while (!lfs_scan_stopping(c)) {
    struct pollfd p = {.fd = c->watch->fd, .events = POLLIN};
    if (poll(&p, 1, 200) <= 0)
      continue;
    ssize_t n = read(c->watch->fd, buf, sizeof buf);
    for (ssize_t off = 0; n > 0 && off < n;) {
      const struct inotify_event *ev = (const void *)(buf + off);
      handle_event(c, ev);
      off += (ssize_t)sizeof *ev + ev->len;
    }
  }
  return NULL;
}

void
lfs_watch_start(LfsCtx *c)
{
  if (!c->opt.watch)
    return;
  int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd < 0) {
    fprintf(stderr, "linkfs: warning: -o watch: inotify: %s\n", g_strerror(errno));
    return;
  }
  LfsWatch *w = g_new0(LfsWatch, 1);
  w->fd = fd;
  g_mutex_init(&w->lock);
  w->dirs = g_hash_table_new_full(NULL, NULL, NULL, g_free);
  c->watch = w;
}

void
lfs_watch_run(LfsCtx *c)
{
  if (c->watch != NULL)
    c->watch->thread = g_thread_new("linkfs-watch", watch_thread, c);
}

void
lfs_watch_stop(LfsCtx *c)
{
  LfsWatch *w = c->watch;
  if (w == NULL)
    return;
  if (w->thread != NULL)
    g_thread_join(w->thread);
  close(w->fd);
  g_hash_table_unref(w->dirs);
  g_mutex_clear(&w->lock);
  g_free(w);
  c->watch = NULL;
}

const char *
lfs_watch_mechanism(LfsCtx *c)
{
  return c->watch != NULL ? "inotify" : "off";
}
