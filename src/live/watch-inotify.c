/* watch-inotify.c: -o watch with inotify, for a daemon that may not use
 * fanotify. Every directory the scan reads gets a watch; the tree
 * (watch-tree.c) maps watch descriptors to paths.
 *
 * inotify tells a move as two events, IN_MOVED_FROM in the old directory
 * and IN_MOVED_TO in the new one, with one cookie; they are queued one
 * after the other. A pair is a move within SOURCE; an IN_MOVED_FROM
 * alone left SOURCE, an IN_MOVED_TO alone came from outside it.
 *
 * An event is handled at the path its directory had when it happened.
 * If that directory is not there (a move of it or of a parent, still
 * queued, is to come), the event waits until the queue is empty and is
 * handled once more, at the path the tree then says; if the directory is
 * still not there, that path is dropped and scanned again (a directory
 * that left SOURCE while events were lost).
 *
 * The daemon's own changes through the view come back as events: they
 * keep the tree right, and handling them again changes nothing in the
 * index (the entry is looked at again; a directory the view moved is no
 * longer at its old place in the index). */
#include "watch-private.h"

#include "core/fdutil.h"
#include "core/log.h"
#include "core/names.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
  WATCH_MASK = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB |
               IN_ONLYDIR | IN_EXCL_UNLINK,
  PAIR_WAIT_MS = 20, /* for an IN_MOVED_TO not read yet */
};

/* An event kept for later. */
typedef struct IEv IEv;
struct IEv {
  int wd;
  uint32_t mask;
  uint32_t cookie;
  char *name;
  IEv *to; /* a deferred pair: its IN_MOVED_TO */
};

struct LfsInotify {
  IEv *from;    /* an IN_MOVED_FROM waiting for its IN_MOVED_TO */
  GQueue later; /* events whose directory was not where the tree said */
  gint warned;  /* the watch limit was met (atomic) */
};

static IEv *
iev_new(const struct inotify_event *ev)
{
  IEv *e = g_new0(IEv, 1);
  e->wd = ev->wd;
  e->mask = ev->mask;
  e->cookie = ev->cookie;
  e->name = ev->len > 0 ? g_strdup(ev->name) : NULL;
  return e;
}

static void
iev_free(IEv *e)
{
  if (e == NULL)
    return;
  iev_free(e->to);
  g_free(e->name);
  g_free(e);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IEv, iev_free)

static void
keys_dropped(LfsWatch *w, GPtrArray *dropped)
{
  for (guint k = 0; k < dropped->len; k++) {
    gsize len;
    const int *wd = g_bytes_get_data(dropped->pdata[k], &len);
    if (len == sizeof *wd)
      inotify_rm_watch(w->fd, *wd);
  }
}

int
lfs_inotify_open(LfsWatch *w)
{
  w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (w->fd < 0)
    return errno;
  w->in = g_new0(LfsInotify, 1);
  g_queue_init(&w->in->later);
  w->keys_dropped = keys_dropped;
  return 0;
}

void
lfs_inotify_close(LfsWatch *w)
{
  if (w->fd >= 0)
    close(w->fd);
  w->fd = -1;
  if (w->in == NULL)
    return;
  iev_free(w->in->from);
  g_queue_clear_full(&w->in->later, (GDestroyNotify)iev_free);
  g_clear_pointer(&w->in, g_free);
}

void
lfs_inotify_add(LfsCtx *c, int dirfd, const char *rel)
{
  LfsWatch *w = c->watch;
  char proc[LFS_PROCFD_NAME_MAX];
  struct stat st;
  if (fstat(dirfd, &st) < 0)
    return;
  int wd = inotify_add_watch(w->fd, lfs_procfd_path(proc, dirfd), WATCH_MASK);
  if (wd < 0 && errno == ENOSPC &&
      g_atomic_int_compare_and_exchange(&w->in->warned, 0, 1))
    lfs_warn("-o watch: inotify: the limit of watches (fs.inotify.max_user_watches) "
             "is reached at '%s': directories without a watch are followed on SIGHUP "
             "only",
             rel);
  if (wd < 0)
    return;
  g_mutex_lock(&w->lock);
  lfs_wtree_set(w->tree, rel, &wd, sizeof wd, st.st_dev, st.st_ino);
  g_mutex_unlock(&w->lock);
}

typedef enum {
  AT_GONE,  /* not a directory of SOURCE (any more) */
  AT_STALE, /* not where the tree says */
  AT_OK,
} Where;

/* The path of wd's directory (also when stale) and, if dfd, the
 * directory opened and checked against the tree. */
static Where
locate(LfsCtx *c, int wd, char **dir, int *dfd)
{
  LfsWatch *w = c->watch;
  dev_t dev = 0;
  ino_t ino = 0;
  g_mutex_lock(&w->lock);
  *dir = lfs_wtree_path(w->tree, &wd, sizeof wd, &dev, &ino);
  g_mutex_unlock(&w->lock);
  if (*dir == NULL)
    return AT_GONE;
  if (dfd == NULL)
    return AT_OK;
  lfs_autofd fd = -1;
  struct stat st;
  if (lfs_open_rel(&c->root, *dir, O_PATH | O_DIRECTORY, &fd) != 0 ||
      fstat(fd, &st) < 0 || st.st_dev != dev || st.st_ino != ino)
    return AT_STALE;
  *dfd = g_steal_fd(&fd);
  return AT_OK;
}

static void
defer(LfsCtx *c, IEv *e)
{
  g_queue_push_tail(&c->watch->in->later, e);
}

/* One event that is not half of a pair. Takes e. */
static void
handle(LfsCtx *c, IEv *e, gboolean again)
{
  g_autoptr(IEv) ev = e;
  if (ev->mask & IN_Q_OVERFLOW) {
    lfs_watch_lost(c);
    return;
  }
  if (ev->mask & IN_IGNORED) {
    g_mutex_lock(&c->watch->lock);
    lfs_wtree_forget(c->watch->tree, &ev->wd, sizeof ev->wd);
    g_mutex_unlock(&c->watch->lock);
    return;
  }
  if (ev->name == NULL)
    return; /* about the watched directory itself */
  /* What is gone is gone at the place the tree says (the index follows
   * the events in order too); what is there is looked at in the source. */
  gboolean gone = (ev->mask & (IN_DELETE | IN_MOVED_FROM)) != 0;
  g_autofree char *dir = NULL;
  lfs_autofd dfd = -1;
  switch (locate(c, ev->wd, &dir, gone ? NULL : &dfd)) {
  case AT_GONE:
    return;
  case AT_STALE: /* once more when the queue is empty; then scanned */
    if (again)
      lfs_watch_dir_stale(c, dir);
    else
      defer(c, g_steal_pointer(&ev));
    return;
  case AT_OK:
    break;
  }
  if (!(ev->mask & IN_ISDIR) && gone)
    lfs_watch_entry_gone(c, dir, ev->name, (ev->mask & IN_MOVED_FROM) ? WATCH_MOVED : 0);
  else if (!(ev->mask & IN_ISDIR))
    lfs_watch_entry(c, dfd, dir, ev->name,
                    (ev->mask & (IN_CREATE | IN_MOVED_TO)) ? WATCH_NEW : 0);
  else if (ev->mask & (IN_CREATE | IN_MOVED_TO))
    lfs_watch_dir_in(c, dir, ev->name, TRUE, 0);
  else if (ev->mask & IN_DELETE)
    lfs_watch_dir_gone(c, dir, ev->name, 0);
  else if (ev->mask & IN_MOVED_FROM)
    lfs_watch_dir_gone(c, dir, ev->name, WATCH_MOVED);
  else if (ev->mask & IN_ATTRIB)
    lfs_watch_dir_attrib(c, dir, ev->name);
}

/* Whether the directory the tree has at oldp is the one at newp now (or
 * newp is gone already: a later event tells where it went). */
static gboolean
same_directory(LfsCtx *c, const char *oldp, const char *newp)
{
  dev_t dev;
  ino_t ino;
  g_mutex_lock(&c->watch->lock);
  gboolean known = lfs_wtree_lookup(c->watch->tree, oldp, &dev, &ino);
  g_mutex_unlock(&c->watch->lock);
  struct stat st;
  int err = lfs_stat_rel(&c->root, newp, &st);
  return known && (err == ENOENT || (err == 0 && st.st_dev == dev && st.st_ino == ino));
}

/* A move within SOURCE. Takes from (its to is to). */
static void
handle_pair(LfsCtx *c, IEv *from, gboolean again)
{
  g_autoptr(IEv) ev = from;
  IEv *to = ev->to;
  g_autofree char *odir = NULL, *ndir = NULL;
  lfs_autofd ndfd = -1;
  Where wo = locate(c, ev->wd, &odir, NULL);
  Where wn = locate(c, to->wd, &ndir, &ndfd);
  if (wn == AT_STALE && !again) { /* (the old side is not looked at) */
    defer(c, g_steal_pointer(&ev));
    return;
  }
  if (wn == AT_STALE) { /* its new side is scanned; the old side is left */
    lfs_watch_dir_stale(c, ndir);
    wn = AT_GONE;
  }
  if (wo == AT_GONE && wn == AT_GONE)
    return;
  if (wo == AT_GONE || wn == AT_GONE) { /* one side is outside SOURCE */
    g_autoptr(IEv) alone = g_steal_pointer(&ev->to);
    handle(c, wo == AT_GONE ? g_steal_pointer(&alone) : g_steal_pointer(&ev), FALSE);
    return;
  }
  if (!(ev->mask & IN_ISDIR)) {
    lfs_watch_entry_moved(c, odir, ev->name, ndfd, ndir, to->name);
    return;
  }
  g_autofree char *oldp = lfs_path_join(odir, ev->name);
  g_autofree char *newp = lfs_path_join(ndir, to->name);
  lfs_watch_dir_moved(c, odir, ev->name, ndir, to->name, same_directory(c, oldp, newp),
                      0);
}

/* Take one event read from the descriptor, pairing moves. */
static void
take(LfsCtx *c, const struct inotify_event *ev)
{
  LfsInotify *in = c->watch->in;
  if (in->from != NULL) {
    IEv *from = g_steal_pointer(&in->from);
    if ((ev->mask & IN_MOVED_TO) && ev->cookie == from->cookie) {
      from->to = iev_new(ev);
      handle_pair(c, from, FALSE);
      return;
    }
    handle(c, from, FALSE); /* moved out of SOURCE */
  }
  if (ev->mask & IN_MOVED_FROM)
    in->from = iev_new(ev);
  else
    handle(c, iev_new(ev), FALSE);
}

static gboolean
readable_soon(int fd)
{
  struct pollfd p = {.fd = fd, .events = POLLIN};
  return poll(&p, 1, PAIR_WAIT_MS) > 0;
}

void
lfs_inotify_read(LfsCtx *c)
{
  LfsWatch *w = c->watch;
  char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
  while (!lfs_scan_stopping(c)) {
    ssize_t n = read(w->fd, buf, sizeof buf);
    if (n <= 0) {
      if (w->in->from != NULL && readable_soon(w->fd))
        continue;
      break;
    }
    for (ssize_t off = 0; off < n;) {
      const struct inotify_event *ev = (const void *)(buf + off);
      take(c, ev);
      off += (ssize_t)sizeof *ev + ev->len;
    }
  }
  if (w->in->from != NULL) /* no IN_MOVED_TO came: moved out of SOURCE */
    handle(c, g_steal_pointer(&w->in->from), FALSE);
  /* The queue is empty: the moves that came after the events put off
   * have been applied to the tree. */
  GQueue later = w->in->later;
  g_queue_init(&w->in->later);
  for (IEv *e; (e = g_queue_pop_head(&later)) != NULL;) {
    if (e->to != NULL)
      handle_pair(c, e, TRUE);
    else
      handle(c, e, TRUE);
  }
}
