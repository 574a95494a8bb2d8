/* watch-fanotify.c: -o watch with fanotify, for a daemon that may (root,
 * with CAP_SYS_ADMIN and CAP_DAC_READ_SEARCH).
 *
 * One mark per filesystem (FAN_MARK_FILESYSTEM): SOURCE's, and every other
 * one the scan meets below it. Events name directories by file handle
 * (FAN_REPORT_DFID_NAME, with the target's own handle: FAN_REPORT_TARGET_FID);
 * the tree (watch-tree.c) maps the handles of SOURCE's directories to
 * their paths, registered by the scan (name_to_handle_at) and by the
 * events that make directories. No descriptor is kept per directory: one
 * per filesystem, for open_by_handle_at.
 *
 * A mark sees the whole filesystem: an event whose directory the tree does
 * not know is outside SOURCE and ignored (one hash lookup). A rename is one
 * event (FAN_RENAME) with both places and the handle of what moved. A
 * non-directory is looked at through its directory opened by handle, so
 * what an event finds does not depend on where that directory went since.
 * The daemon's own changes through the view are told apart by pid: the
 * index has them already, only the tree follows. The queue is unlimited;
 * FAN_Q_OVERFLOW would still ask for a full scan. */
#include "watch-private.h"

#include "core/fdutil.h"
#include "core/log.h"
#include "core/names.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef AT_HANDLE_FID
#define AT_HANDLE_FID 0x200 /* Linux 6.5 */
#endif

enum {
  MARK_MASK =
      FAN_CREATE | FAN_DELETE | FAN_RENAME | FAN_ATTRIB | FAN_DELETE_SELF | FAN_ONDIR,
  HANDLE_MAX = LFS_WKEY_MAX - 12, /* MAX_HANDLE_SZ */
};

/* A filesystem met in SOURCE. */
typedef struct {
  dev_t dev;
  guint8 fsid[8];
  int mount_fd; /* a directory on it, for open_by_handle_at; -1: not marked */
} FanFs;

struct LfsFanotify {
  GArray *fs; /* FanFs */
};

/* A file handle as an event gives it (fid) and as the tree keys it:
 * fsid, handle type, handle bytes. */
typedef struct {
  guint8 key[LFS_WKEY_MAX];
  gsize len;
  const char *name; /* the entry, for DFID_NAME records */
} Fid;

static gboolean
fid_from_record(const guint8 *rec, gsize reclen, gboolean named, Fid *out)
{
  /* struct fanotify_event_info_fid: header (4), fsid (8), file_handle */
  struct file_handle fh;
  if (reclen < 12 + sizeof fh)
    return FALSE;
  memcpy(&fh, rec + 12, sizeof fh);
  gsize hlen = fh.handle_bytes;
  if (hlen > HANDLE_MAX || 12 + sizeof fh + hlen > reclen)
    return FALSE;
  memcpy(out->key, rec + 4, 8);
  memcpy(out->key + 8, &fh.handle_type, 4);
  memcpy(out->key + 12, rec + 12 + sizeof fh, hlen);
  out->len = 12 + hlen;
  out->name = NULL;
  if (named) {
    const char *name = (const char *)rec + 12 + sizeof fh + hlen;
    if (memchr(name, '\0', reclen - 12 - sizeof fh - hlen) == NULL)
      return FALSE;
    out->name = name;
  }
  return TRUE;
}

static FanFs *
fs_by_dev(LfsFanotify *f, dev_t dev)
{
  for (guint k = 0; k < f->fs->len; k++) {
    FanFs *fs = &g_array_index(f->fs, FanFs, k);
    if (fs->dev == dev)
      return fs;
  }
  return NULL;
}

/* A descriptor for open_by_handle_at of key's filesystem, borrowed. */
static int
mount_fd_of(LfsWatch *w, const Fid *id)
{
  int fd = -1;
  g_mutex_lock(&w->lock);
  for (guint k = 0; k < w->fan->fs->len && fd < 0; k++) {
    FanFs *fs = &g_array_index(w->fan->fs, FanFs, k);
    if (memcmp(fs->fsid, id->key, 8) == 0)
      fd = fs->mount_fd;
  }
  g_mutex_unlock(&w->lock);
  return fd;
}

/* Open what id names (O_PATH), or -1. */
static int
open_fid(LfsWatch *w, const Fid *id)
{
  int mfd = mount_fd_of(w, id);
  if (mfd < 0)
    return -1;
  gsize hlen = id->len - 12;
  g_autofree struct file_handle *fh = g_malloc0(sizeof *fh + hlen);
  fh->handle_bytes = (unsigned)hlen;
  memcpy(&fh->handle_type, id->key + 8, 4);
  memcpy(fh->f_handle, id->key + 12, hlen);
  return open_by_handle_at(mfd, fh, O_PATH | O_CLOEXEC);
}

/* Mark the filesystem of dirfd (open for reading) unless it is; the
 * descriptor is kept for open_by_handle_at. Returns 0 or an errno. */
static int
fs_mark(LfsWatch *w, int dirfd, dev_t dev)
{
  g_mutex_lock(&w->lock);
  gboolean known = fs_by_dev(w->fan, dev) != NULL;
  g_mutex_unlock(&w->lock);
  if (known)
    return 0;
  FanFs fs = {.dev = dev, .mount_fd = -1};
  struct statfs sfs;
  int err = 0;
  if (fstatfs(dirfd, &sfs) < 0)
    err = errno;
  else if (fanotify_mark(w->fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, MARK_MASK, dirfd,
                         NULL) < 0)
    err = errno;
  else
    fs.mount_fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
  memcpy(fs.fsid, &sfs.f_fsid, 8);
  g_mutex_lock(&w->lock);
  if (fs_by_dev(w->fan, dev) == NULL)
    g_array_append_val(w->fan->fs, fs);
  else if (fs.mount_fd >= 0)
    close(fs.mount_fd);
  g_mutex_unlock(&w->lock);
  return err;
}

/* The tree's key of dirfd's directory. */
static gboolean
key_of_fd(int dirfd, Fid *out)
{
  struct {
    struct file_handle fh;
    unsigned char bytes[HANDLE_MAX];
  } h;
  int mount_id;
  h.fh.handle_bytes = HANDLE_MAX;
  if (name_to_handle_at(dirfd, "", &h.fh, &mount_id, AT_EMPTY_PATH | AT_HANDLE_FID) < 0) {
    h.fh.handle_bytes = HANDLE_MAX;
    if (errno != EINVAL ||
        name_to_handle_at(dirfd, "", &h.fh, &mount_id, AT_EMPTY_PATH) < 0)
      return FALSE;
  }
  struct statfs sfs;
  if (fstatfs(dirfd, &sfs) < 0)
    return FALSE;
  memcpy(out->key, &sfs.f_fsid, 8);
  memcpy(out->key + 8, &h.fh.handle_type, 4);
  memcpy(out->key + 12, h.fh.f_handle, h.fh.handle_bytes);
  out->len = 12 + h.fh.handle_bytes;
  return TRUE;
}

int
lfs_fanotify_open(LfsWatch *w, int root_fd)
{
  w->fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK |
                            FAN_UNLIMITED_QUEUE | FAN_REPORT_DFID_NAME_TARGET,
                        O_RDONLY | O_CLOEXEC);
  if (w->fd < 0)
    return errno;
  w->fan = g_new0(LfsFanotify, 1);
  w->fan->fs = g_array_new(FALSE, FALSE, sizeof(FanFs));
  lfs_autofd dir = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  int err = dir < 0 || fstat(dir, &st) < 0 ? errno : fs_mark(w, dir, st.st_dev);
  /* open_by_handle_at needs CAP_DAC_READ_SEARCH: try it once here. */
  Fid id;
  if (err == 0 && !key_of_fd(dir, &id))
    err = errno;
  lfs_autofd probe = err == 0 ? open_fid(w, &id) : -1;
  if (err == 0 && probe < 0)
    err = errno;
  if (err != 0)
    lfs_fanotify_close(w);
  return err;
}

void
lfs_fanotify_close(LfsWatch *w)
{
  if (w->fd >= 0)
    close(w->fd);
  w->fd = -1;
  if (w->fan == NULL)
    return;
  for (guint k = 0; k < w->fan->fs->len; k++) {
    FanFs *fs = &g_array_index(w->fan->fs, FanFs, k);
    if (fs->mount_fd >= 0)
      close(fs->mount_fd);
  }
  g_array_unref(w->fan->fs);
  g_clear_pointer(&w->fan, g_free);
}

void
lfs_fanotify_add(LfsCtx *c, int dirfd, const char *rel)
{
  LfsWatch *w = c->watch;
  struct stat st;
  Fid id;
  if (fstat(dirfd, &st) < 0 || !key_of_fd(dirfd, &id))
    return;
  int err = fs_mark(w, dirfd, st.st_dev);
  if (err != 0) /* said once: the filesystem is known now */
    lfs_warn("-o watch: changes below '%s' (another filesystem) are followed on "
             "SIGHUP only: fanotify: %s",
             rel, g_strerror(err));
  g_mutex_lock(&w->lock);
  lfs_wtree_set(w->tree, rel, id.key, id.len, st.st_dev, st.st_ino);
  g_mutex_unlock(&w->lock);
}

/* ---- events ---- */

/* What one event names. */
typedef struct {
  guint64 mask;
  unsigned flags; /* WATCH_OWN */
  gboolean has_dir, has_old, has_new, has_obj;
  Fid dir, old, new, obj; /* DFID_NAME, OLD_ and NEW_DFID_NAME, FID */
} FanEvent;

static gboolean
parse(const guint8 *ev, gsize len, pid_t self, FanEvent *out)
{
  struct fanotify_event_metadata md;
  memcpy(&md, ev, sizeof md);
  *out = (FanEvent){.mask = md.mask, .flags = md.pid == self ? WATCH_OWN : 0};
  for (gsize off = md.metadata_len;
       off + sizeof(struct fanotify_event_info_header) <= len;) {
    struct fanotify_event_info_header h;
    memcpy(&h, ev + off, sizeof h);
    if (h.len == 0 || off + h.len > len)
      return FALSE;
    const guint8 *rec = ev + off;
    switch (h.info_type) {
    case FAN_EVENT_INFO_TYPE_DFID_NAME:
      out->has_dir = fid_from_record(rec, h.len, TRUE, &out->dir);
      break;
    case FAN_EVENT_INFO_TYPE_OLD_DFID_NAME:
      out->has_old = fid_from_record(rec, h.len, TRUE, &out->old);
      break;
    case FAN_EVENT_INFO_TYPE_NEW_DFID_NAME:
      out->has_new = fid_from_record(rec, h.len, TRUE, &out->new);
      break;
    case FAN_EVENT_INFO_TYPE_FID:
      out->has_obj = fid_from_record(rec, h.len, FALSE, &out->obj);
      break;
    default:
      break;
    }
    off += h.len;
  }
  return TRUE;
}

static char *
path_of(LfsWatch *w, const Fid *id)
{
  g_mutex_lock(&w->lock);
  char *p = lfs_wtree_path(w->tree, id->key, id->len, NULL, NULL);
  g_mutex_unlock(&w->lock);
  return p;
}

static gboolean
is_self(const Fid *id)
{
  return strcmp(id->name, ".") == 0;
}

/* Something about a directory itself (name "."): attributes, removal. */
static void
on_self(LfsCtx *c, const FanEvent *e)
{
  LfsWatch *w = c->watch;
  if (e->mask & FAN_DELETE_SELF) {
    g_mutex_lock(&w->lock);
    lfs_wtree_forget(w->tree, e->dir.key, e->dir.len);
    g_mutex_unlock(&w->lock);
    return;
  }
  g_autofree char *path = path_of(w, &e->dir);
  g_autofree char *dir = NULL, *name = NULL;
  if ((e->mask & FAN_ATTRIB) && !(e->flags & WATCH_OWN) && path != NULL &&
      lfs_path_split(path, &dir, &name))
    lfs_watch_dir_attrib(c, dir, name);
}

/* A link count changed (the event names the inode only): a hard-link
 * group of the index follows. */
static void
on_nlink(LfsCtx *c, const FanEvent *e)
{
  LfsIndexCounters n;
  lfs_index_get_counters(c->index, &n);
  if (n.hardlinked_inodes == 0)
    return;
  lfs_autofd fd = open_fid(c->watch, &e->obj);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0 || S_ISDIR(st.st_mode))
    return;
  guint64 gen = lfs_change_begin_seen(c);
  lfs_index_update_nlink(c->index, st.st_dev, st.st_ino, st.st_nlink);
  lfs_change_end_seen(c, gen);
}

static void
register_dir(LfsCtx *c, const char *path, const Fid *id)
{
  g_mutex_lock(&c->watch->lock);
  lfs_wtree_set(c->watch->tree, path, id->key, id->len, 0, 0);
  g_mutex_unlock(&c->watch->lock);
}

/* An entry of a directory of SOURCE made, changed or removed. */
static void
on_entry(LfsCtx *c, const FanEvent *e, const char *dir)
{
  const char *name = e->dir.name;
  gboolean ondir = (e->mask & FAN_ONDIR) != 0;
  if (!ondir) {
    if (e->flags & WATCH_OWN)
      return;
    lfs_autofd dfd = open_fid(c->watch, &e->dir);
    if (e->mask & FAN_DELETE) /* gone, whatever the name holds now */
      lfs_watch_entry_gone(c, dir, name, 0);
    else if (dfd >= 0)
      lfs_watch_entry(c, dfd, dir, name, (e->mask & FAN_CREATE) ? WATCH_NEW : 0);
    if ((e->mask & FAN_DELETE) && (e->mask & (FAN_CREATE | FAN_ATTRIB)) && dfd >= 0)
      lfs_watch_entry(c, dfd, dir, name, 0); /* merged: look again */
    return;
  }
  if (e->mask & FAN_CREATE) {
    g_autofree char *path = lfs_path_join(dir, name);
    if (e->has_obj)
      register_dir(c, path, &e->obj);
    /* Everything made in it is an event to come; without its handle, a
     * scan registers it. */
    lfs_watch_dir_in(c, dir, name, !e->has_obj, e->flags);
  }
  if (e->mask & FAN_DELETE)
    lfs_watch_dir_gone(c, dir, name, e->flags);
  if ((e->mask & FAN_ATTRIB) && !(e->flags & WATCH_OWN))
    lfs_watch_dir_attrib(c, dir, name);
}

static void
on_rename(LfsCtx *c, const FanEvent *e)
{
  LfsWatch *w = c->watch;
  g_autofree char *odir = e->has_old ? path_of(w, &e->old) : NULL;
  g_autofree char *ndir = e->has_new ? path_of(w, &e->new) : NULL;
  const char *on = e->old.name, *nn = e->new.name;
  if (odir == NULL && ndir == NULL)
    return;
  if (!(e->mask & FAN_ONDIR)) {
    if (e->flags & WATCH_OWN)
      return;
    lfs_autofd nfd = ndir ? open_fid(w, &e->new) : -1;
    if (odir != NULL && ndir != NULL)
      lfs_watch_entry_moved(c, odir, on, nfd, ndir, nn);
    else if (odir != NULL)
      lfs_watch_entry_gone(c, odir, on, WATCH_MOVED);
    else if (nfd >= 0)
      lfs_watch_entry(c, nfd, ndir, nn, WATCH_NEW);
    return;
  }
  if (ndir == NULL) {
    lfs_watch_dir_gone(c, odir, on, e->flags | WATCH_MOVED);
    return;
  }
  if (odir == NULL) { /* from outside SOURCE: what it holds is scanned */
    lfs_watch_dir_in(c, ndir, nn, TRUE, e->flags & ~(unsigned)WATCH_OWN);
    return;
  }
  g_autofree char *oldp = lfs_path_join(odir, on);
  g_autofree char *was = e->has_obj ? path_of(w, &e->obj) : NULL;
  gboolean sure = was != NULL && strcmp(was, oldp) == 0;
  lfs_watch_dir_moved(c, odir, on, ndir, nn, sure, e->flags);
}

static void
handle(LfsCtx *c, const FanEvent *e)
{
  if (e->mask & FAN_Q_OVERFLOW) {
    lfs_watch_lost(c);
    return;
  }
  if (e->mask & FAN_RENAME) {
    on_rename(c, e);
    return;
  }
  if (!e->has_dir) {
    /* The inode alone: a link count changed (or it is gone). */
    if (e->has_obj && (e->mask & FAN_ATTRIB) && !(e->mask & FAN_DELETE_SELF) &&
        !(e->flags & WATCH_OWN))
      on_nlink(c, e);
    return;
  }
  if (is_self(&e->dir)) {
    on_self(c, e);
    return;
  }
  g_autofree char *dir = path_of(c->watch, &e->dir);
  if (dir != NULL) /* else outside SOURCE */
    on_entry(c, e, dir);
}

void
lfs_fanotify_read(LfsCtx *c)
{
  LfsWatch *w = c->watch;
  guint8 buf[65536] __attribute__((aligned(8)));
  while (!lfs_scan_stopping(c)) {
    ssize_t n = read(w->fd, buf, sizeof buf);
    if (n <= 0)
      return;
    for (gsize off = 0; off + FAN_EVENT_METADATA_LEN <= (gsize)n;) {
      struct fanotify_event_metadata md;
      memcpy(&md, buf + off, sizeof md);
      if (md.event_len < FAN_EVENT_METADATA_LEN || off + md.event_len > (gsize)n)
        break;
      FanEvent e;
      if (md.vers == FANOTIFY_METADATA_VERSION &&
          parse(buf + off, md.event_len, w->self, &e))
        handle(c, &e);
      off += md.event_len;
    }
  }
}
