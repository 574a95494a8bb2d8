/* watch.c: -o watch follows changes made directly in SOURCE as they
 * happen, with fanotify where the daemon may (a mark per filesystem,
 * watch-fanotify.c) and inotify otherwise (a watch per directory,
 * watch-inotify.c). This file chooses the mechanism, hands the scan the
 * callback that registers each directory it reads, and runs the thread;
 * what an event does to the index is watch-apply.c's. */
#include "watch-private.h"

#include "core/fdutil.h"
#include "core/names.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
watch_free(LfsWatch *w)
{
  if (w->kind == LFS_WATCH_FANOTIFY)
    lfs_fanotify_close(w);
  else if (w->kind == LFS_WATCH_INOTIFY)
    lfs_inotify_close(w);
  lfs_wtree_free(w->tree);
  g_mutex_clear(&w->lock);
  g_free(w);
}

/* Each directory a scan reads, before it reads it. */
static void
dir_read(LfsCtx *c, int dirfd, const char *rel)
{
  if (c->watch->kind == LFS_WATCH_FANOTIFY)
    lfs_fanotify_add(c, dirfd, rel);
  else
    lfs_inotify_add(c, dirfd, rel);
}

gboolean
lfs_watch_open(LfsCtx *c)
{
  LfsWatchMode mode = c->opt.watch;
  if (mode == LFS_WATCH_OFF)
    return TRUE;
  LfsWatch *w = g_new0(LfsWatch, 1);
  g_mutex_init(&w->lock);
  w->tree = lfs_wtree_new();
  w->fd = -1;
  if (mode == LFS_WATCH_AUTO || mode == LFS_WATCH_FANOTIFY_ONLY) {
    int err = lfs_fanotify_open(w, c->root.fd);
    if (err == 0) {
      w->kind = LFS_WATCH_FANOTIFY;
    } else if (mode == LFS_WATCH_FANOTIFY_ONLY) {
      fprintf(stderr,
              "linkfs: -o watch=fanotify: %s (it needs CAP_SYS_ADMIN and a source "
              "filesystem with file handles; -o watch=inotify does not)\n",
              g_strerror(err));
      watch_free(w);
      return FALSE;
    }
  }
  if (w->kind == 0) {
    int err = lfs_inotify_open(w);
    if (err != 0) {
      fprintf(stderr, "linkfs: %s-o watch: inotify: %s\n",
              mode == LFS_WATCH_INOTIFY_ONLY ? "" : "warning: ", g_strerror(err));
      watch_free(w);
      return mode != LFS_WATCH_INOTIFY_ONLY;
    }
    w->kind = LFS_WATCH_INOTIFY;
  }
  c->watch = w;
  lfs_scan_on_dir(c->scan, dir_read);
  return TRUE;
}

void
lfs_watch_start(LfsCtx *c)
{
  if (c->watch != NULL)
    c->watch->self = getpid(); /* after fuse_daemonize's fork */
}

static gpointer
watch_thread(gpointer data)
{
  LfsCtx *c = data;
  LfsWatch *w = c->watch;
  while (!lfs_scan_stopping(c)) {
    if (!lfs_scan_poll_until_stop(c, w->fd))
      continue;
    if (w->kind == LFS_WATCH_FANOTIFY)
      lfs_fanotify_read(c);
    else
      lfs_inotify_read(c);
  }
  return NULL;
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
  watch_free(w);
  c->watch = NULL;
  lfs_scan_on_dir(c->scan, NULL);
}

const char *
lfs_watch_mechanism(LfsCtx *c)
{
  if (c->watch == NULL)
    return "off";
  return c->watch->kind == LFS_WATCH_FANOTIFY ? "fanotify" : "inotify";
}
