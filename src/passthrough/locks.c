/* locks.c: POSIX record locks of the view as OFD locks on the source, one
 * descriptor per (inode, lock owner) (locks.h).
 *
 * Locking: l->lock guards the tables and every Owner; a leaf lock. It is
 * held around the non-blocking fcntl calls (so the mirrored ranges follow
 * the source's in order), never around a blocking one: a waiting owner is
 * marked busy, and its descriptor stays open until it is idle again.
 * Descriptors are closed after the lock is let go. */
#include "locks.h"

#include "core/lkranges.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  uint64_t owner;
  int fd;           /* its OFD locks on the source */
  int accmode;      /* O_RDONLY, O_WRONLY or O_RDWR */
  guint busy;       /* blocking calls on fd in flight */
  gboolean dropped; /* its locks went while busy: close once idle and empty */
  pid_t pid;        /* the caller that set its last lock */
  LfsLkRanges *ranges;
  GArray *fhs; /* int: the handles it locked through */
} Owner;

typedef struct {
  GHashTable *owners; /* &Owner.owner -> Owner */
} Ino;

struct LfsLocks {
  GMutex lock;
  GHashTable *inodes; /* node -> Ino */
  const LfsProcFd *pf;
  LfsInodeTable *itab;
  guint nowners;
};

static void
owner_free(Owner *o)
{
  lfs_lkranges_free(o->ranges);
  g_array_unref(o->fhs);
  g_free(o);
}

static void
ino_free(Ino *ino)
{
  g_hash_table_unref(ino->owners);
  g_free(ino);
}

LfsLocks *
lfs_locks_new(const LfsProcFd *pf, LfsInodeTable *itab)
{
  LfsLocks *l = g_new0(LfsLocks, 1);
  g_mutex_init(&l->lock);
  l->inodes = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)ino_free);
  l->pf = pf;
  l->itab = itab;
  return l;
}

void
lfs_locks_free(LfsLocks *l)
{
  if (l == NULL)
    return;
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, l->inodes);
  while (g_hash_table_iter_next(&it, NULL, &value)) {
    GHashTableIter oit;
    gpointer ov;
    g_hash_table_iter_init(&oit, ((Ino *)value)->owners);
    while (g_hash_table_iter_next(&oit, NULL, &ov))
      close(((Owner *)ov)->fd);
  }
  g_hash_table_unref(l->inodes);
  g_mutex_clear(&l->lock);
  g_free(l);
}

/* [start, end] of a lock as libfuse gives it (SEEK_SET, l_len 0: to EOF). */
static void
range_of(const struct flock *lk, gint64 *start, gint64 *end)
{
  *start = lk->l_start;
  *end = lk->l_len == 0 ? LFS_LK_EOF : lk->l_start + lk->l_len - 1;
}

static Ino *
ino_find(LfsLocks *l, gconstpointer node, gboolean create)
{
  Ino *ino = g_hash_table_lookup(l->inodes, node);
  if (ino == NULL && create) {
    ino = g_new0(Ino, 1);
    ino->owners = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
                                        (GDestroyNotify)owner_free);
    g_hash_table_insert(l->inodes, (gpointer)node, ino);
  }
  return ino;
}

static Owner *
owner_find(LfsLocks *l, gconstpointer node, uint64_t owner)
{
  Ino *ino = ino_find(l, node, FALSE);
  return ino ? g_hash_table_lookup(ino->owners, &owner) : NULL;
}

/* The handle's file opened again, with the handle's access mode: a lock
 * needs a descriptor open for reading (F_RDLCK) or writing (F_WRLCK), as
 * the kernel checked on the view's file. O_NONBLOCK: an open never waits
 * for a lease to be broken. */
static int
reopen(LfsLocks *l, int fhfd, int *fd, int *accmode)
{
  int fl = fcntl(fhfd, F_GETFL);
  if (fl < 0)
    return errno;
  *accmode = fl & O_ACCMODE;
  for (;;) {
    char name[LFS_PROCFD_NAME_MAX];
    int dirfd;
    const char *at = lfs_procfd_at(l->pf, fhfd, name, &dirfd);
    *fd = openat(dirfd, at, *accmode | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (*fd >= 0) {
      lfs_itab_hold_fds(l->itab, 1);
      return 0;
    }
    int err = errno;
    if ((err != EMFILE && err != ENFILE) || !lfs_itab_shed(l->itab))
      return err;
  }
}

static int
owner_new(LfsLocks *l, gconstpointer node, uint64_t owner, int fhfd, Owner **out)
{
  int fd, accmode;
  int err = reopen(l, fhfd, &fd, &accmode);
  if (err != 0)
    return err;
  Owner *o = g_new0(Owner, 1);
  o->owner = owner;
  o->fd = fd;
  o->accmode = accmode;
  o->ranges = lfs_lkranges_new();
  o->fhs = g_array_new(FALSE, FALSE, sizeof(int));
  g_hash_table_insert(ino_find(l, node, TRUE)->owners, &o->owner, o);
  l->nowners++;
  *out = o;
  return 0;
}

static gboolean
mode_allows(int accmode, short type)
{
  if (type == F_RDLCK)
    return accmode != O_WRONLY;
  if (type == F_WRLCK)
    return accmode != O_RDONLY;
  return TRUE;
}

/* An owner whose descriptor cannot take this lock type: opened again
 * from this handle if it holds nothing yet (a file table that opened the
 * file once for reading, once for writing); otherwise EBADF. *closing:
 * the old descriptor, for the caller to close, or -1. */
static int
fit_mode(LfsLocks *l, Owner *o, int fhfd, short type, int *closing)
{
  *closing = -1;
  if (mode_allows(o->accmode, type))
    return 0;
  if (!lfs_lkranges_empty(o->ranges) || o->busy > 0)
    return EBADF;
  int fd, accmode;
  int err = reopen(l, fhfd, &fd, &accmode);
  if (err != 0)
    return err;
  if (!mode_allows(accmode, type)) {
    close(fd);
    lfs_itab_hold_fds(l->itab, -1);
    return EBADF;
  }
  *closing = o->fd;
  o->fd = fd;
  o->accmode = accmode;
  return 0;
}

static void
note_fh(Owner *o, int fhfd)
{
  for (guint k = 0; k < o->fhs->len; k++) {
    if (g_array_index(o->fhs, int, k) == fhfd)
      return;
  }
  g_array_append_val(o->fhs, fhfd);
}

/* Forget o (its descriptor to be closed by the caller), or, while a
 * blocking call uses it, drop its locks and let the call's end forget it. */
static int
owner_drop(LfsLocks *l, gconstpointer node, Owner *o)
{
  lfs_lkranges_clear(o->ranges);
  if (o->busy > 0) {
    struct flock all = {.l_type = F_UNLCK, .l_whence = SEEK_SET};
    fcntl(o->fd, F_OFD_SETLK, &all);
    o->dropped = TRUE;
    return -1;
  }
  int fd = o->fd;
  Ino *ino = ino_find(l, node, FALSE);
  g_hash_table_remove(ino->owners, &o->owner);
  l->nowners--;
  if (g_hash_table_size(ino->owners) == 0)
    g_hash_table_remove(l->inodes, node);
  return fd;
}

/* An owner's descriptor closed (its locks go), after l->lock is let go. */
static void
close_owner_fd(LfsLocks *l, int fd)
{
  if (fd < 0)
    return;
  close(fd);
  lfs_itab_hold_fds(l->itab, -1);
}

static void
record(Owner *o, const struct flock *lk)
{
  gint64 start, end;
  range_of(lk, &start, &end);
  lfs_lkranges_set(o->ranges, start, end, lk->l_type);
  if (lk->l_type != F_UNLCK)
    o->pid = lk->l_pid;
}

static int
set_call(int fd, const struct flock *lk, gboolean wait)
{
  struct flock fl = {.l_type = lk->l_type,
                     .l_whence = SEEK_SET,
                     .l_start = lk->l_start,
                     .l_len = lk->l_len};
  if (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) == 0)
    return 0;
  return errno == EACCES ? EAGAIN : errno;
}

/* The blocking part of lfs_locks_set, with l->lock let go. */
static int
set_waiting(LfsLocks *l, gconstpointer node, Owner *o, const struct flock *lk)
{
  o->busy++;
  int fd = o->fd;
  g_mutex_unlock(&l->lock);
  int err = set_call(fd, lk, TRUE);
  g_mutex_lock(&l->lock);
  o->busy--;
  if (err == 0) {
    record(o, lk);
    o->dropped = FALSE;
  }
  int closing = -1;
  if (o->busy == 0 && o->dropped && lfs_lkranges_empty(o->ranges))
    closing = owner_drop(l, node, o);
  g_mutex_unlock(&l->lock);
  close_owner_fd(l, closing);
  return err;
}

int
lfs_locks_set(LfsLocks *l, gconstpointer node, int fhfd, uint64_t owner,
              const struct flock *lk, gboolean wait)
{
  g_mutex_lock(&l->lock);
  Owner *o = owner_find(l, node, owner);
  int err = 0;
  int closing = -1;
  if (o == NULL && lk->l_type == F_UNLCK)
    goto out; /* holds nothing here */
  if (o == NULL)
    err = owner_new(l, node, owner, fhfd, &o);
  if (err == 0)
    err = fit_mode(l, o, fhfd, lk->l_type, &closing);
  if (err != 0)
    goto out;
  note_fh(o, fhfd);
  if (wait && lk->l_type != F_UNLCK) {
    /* Whether it can be had at once, holding the lock; else wait. */
    err = set_call(o->fd, lk, FALSE);
    if (err == EAGAIN) {
      close_owner_fd(l, closing);
      return set_waiting(l, node, o, lk);
    }
  } else {
    err = set_call(o->fd, lk, FALSE);
  }
  if (err == 0)
    record(o, lk);
out:
  g_mutex_unlock(&l->lock);
  close_owner_fd(l, closing);
  return err;
}

/* A lock of another owner of this view that conflicts with [start, end]. */
static gboolean
table_conflict(LfsLocks *l, gconstpointer node, uint64_t owner, struct flock *lk)
{
  Ino *ino = ino_find(l, node, FALSE);
  if (ino == NULL)
    return FALSE;
  gint64 start, end;
  range_of(lk, &start, &end);
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, ino->owners);
  while (g_hash_table_iter_next(&it, NULL, &value)) {
    Owner *o = value;
    const LfsLkRange *r = o->owner == owner
                              ? NULL
                              : lfs_lkranges_conflict(o->ranges, start, end, lk->l_type);
    if (r != NULL) {
      lk->l_type = r->type;
      lk->l_whence = SEEK_SET;
      lk->l_start = r->start;
      lk->l_len = r->end == LFS_LK_EOF ? 0 : r->end - r->start + 1;
      lk->l_pid = o->pid;
      return TRUE;
    }
  }
  return FALSE;
}

int
lfs_locks_get(LfsLocks *l, gconstpointer node, int fhfd, uint64_t owner, struct flock *lk)
{
  g_mutex_lock(&l->lock);
  if (table_conflict(l, node, owner, lk)) {
    g_mutex_unlock(&l->lock);
    return 0;
  }
  /* The owner's own descriptor: its own locks never conflict. Without
   * one, it holds nothing, and the handle's descriptor (which holds no
   * POSIX lock) asks the same question. */
  Owner *o = owner_find(l, node, owner);
  struct flock fl = {.l_type = lk->l_type,
                     .l_whence = SEEK_SET,
                     .l_start = lk->l_start,
                     .l_len = lk->l_len};
  int err = fcntl(o ? o->fd : fhfd, F_OFD_GETLK, &fl) < 0 ? errno : 0;
  g_mutex_unlock(&l->lock);
  if (err != 0)
    return err;
  if (fl.l_type == F_UNLCK) {
    lk->l_type = F_UNLCK;
    return 0;
  }
  *lk = fl;
  /* An OFD lock (another view's, or taken so on the source) has no
   * process. */
  if (lk->l_pid < 0)
    lk->l_pid = 0;
  return 0;
}

void
lfs_locks_flush(LfsLocks *l, gconstpointer node, uint64_t owner)
{
  g_mutex_lock(&l->lock);
  Owner *o = owner_find(l, node, owner);
  int closing = o ? owner_drop(l, node, o) : -1;
  g_mutex_unlock(&l->lock);
  close_owner_fd(l, closing);
}

static gboolean
forget_fh(Owner *o, int fhfd)
{
  for (guint k = 0; k < o->fhs->len; k++) {
    if (g_array_index(o->fhs, int, k) == fhfd) {
      g_array_remove_index_fast(o->fhs, k);
      return TRUE;
    }
  }
  return FALSE;
}

void
lfs_locks_release(LfsLocks *l, gconstpointer node, int fhfd)
{
  g_autoptr(GArray) closing = g_array_new(FALSE, FALSE, sizeof(int));
  g_mutex_lock(&l->lock);
  Ino *ino = ino_find(l, node, FALSE);
  if (ino != NULL) {
    g_autoptr(GPtrArray) gone = g_ptr_array_new();
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, ino->owners);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
      if (forget_fh(value, fhfd))
        g_ptr_array_add(gone, value);
    }
    /* owner_drop may free ino: nothing of it is used after. */
    for (guint k = 0; k < gone->len; k++) {
      int fd = owner_drop(l, node, gone->pdata[k]);
      if (fd >= 0)
        g_array_append_val(closing, fd);
    }
  }
  g_mutex_unlock(&l->lock);
  for (guint k = 0; k < closing->len; k++)
    close_owner_fd(l, g_array_index(closing, int, k));
}

guint
lfs_locks_owners(LfsLocks *l)
{
  g_mutex_lock(&l->lock);
  guint n = l->nowners;
  g_mutex_unlock(&l->lock);
  return n;
}
