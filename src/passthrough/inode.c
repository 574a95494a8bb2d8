/* inode.c: inode records, their reopenable names and the descriptor cache. */
#include "inode.h"

#include "core/fdutil.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CLOSE_BATCH 32
/* Descriptors left to everything that is neither cached nor held for the
 * kernel: the daemon's own (device, eventfds, /proc), the scan's open
 * directories (32), the watch's, a few in flight. */
#define FD_RESERVE 64
/* The cache never shrinks below this (pinned descriptors come on top). */
#define MIN_CACHED 8
/* Timestamps come from a clock that ticks every few milliseconds (the
 * kernel's coarse clock; finer where it knows they were looked at): a
 * file changed again within this much of its last change may keep its
 * times. */
#define TIMESTAMP_GRAIN_NS (20 * 1000 * 1000)

/* The source file's attributes when the view's page cache of it last
 * agreed with it (cache.c's use, see inode.h). */
typedef struct {
  struct timespec mtime;
  struct timespec ctime;
  off_t size;
  gboolean sure; /* no change can have kept these times */
} CacheSnap;

struct LfsInode {
  dev_t dev; /* key, with ino */
  ino_t ino;
  mode_t type;        /* S_IFMT bits */
  uint64_t nlookup;   /* the kernel's references */
  guint refs;         /* records naming this one as their parent */
  guint fd_users;     /* pins from lfs_inode_fd_get */
  int fd;             /* O_PATH, or -1 */
  gboolean permanent; /* root or guarded mountpoint: fd for life */
  gboolean nameless;  /* lost its name: fd kept until forgotten */
  gboolean locked;    /* a POSIX lock was asked for through the view */
  gboolean hashed;
  gboolean in_lru;
  LfsInode *parent; /* (parent, name): how to open it again */
  char *name;
  CacheSnap *snap; /* regular files opened through the view, or NULL */
  GList lru;
  GList all; /* in LfsInodeTable.all, hashed or not */
};

struct LfsInodeTable {
  GMutex lock;
  GHashTable *by_key; /* LfsInode -> itself, hashed on (dev, ino) */
  GQueue lru;         /* unpinned evictable descriptors, most recent first */
  GQueue all;         /* every record but the root */
  size_t max_fds;     /* the cache's size when nothing else needs descriptors */
  size_t fd_limit;    /* RLIMIT_NOFILE */
  size_t nheld;       /* descriptors held for the kernel: open files, lock owners, ... */
  size_t nfds;        /* evictable descriptors open (cached or pinned) */
  LfsInode *root;
  GHashTable *foreign; /* (dev, ino) of other filesystems -> view st_ino */
  uint64_t next_foreign;
  int mp_fd;
  dev_t mp_parent_dev;
  ino_t mp_parent_ino;
  char *mp_name;
  int closing[CLOSE_BATCH]; /* dropped under the lock, see itab_unlock */
  guint nclosing;
};

typedef struct {
  dev_t dev;
  ino_t ino;
} DevIno;

/* A descriptor dropped with the lock held is closed once it is let go:
 * the last close of a file unlinked meanwhile makes the source's
 * filesystem free it (on ext4 with discard, 50-150 us), and no lookup or
 * unlink of another file should wait for that on the table's lock. */
static void
close_later(LfsInodeTable *t, int fd)
{
  if (t->nclosing == G_N_ELEMENTS(t->closing)) {
    close(fd); /* a batch this large is rare: close it in place */
    return;
  }
  t->closing[t->nclosing++] = fd;
}

static void
close_all(const int *fds, guint n)
{
  for (guint k = 0; k < n; k++)
    close(fds[k]);
}

static void
itab_unlock(LfsInodeTable *t)
{
  int fds[G_N_ELEMENTS(t->closing)];
  guint n = t->nclosing;
  memcpy(fds, t->closing, n * sizeof fds[0]);
  t->nclosing = 0;
  g_mutex_unlock(&t->lock);
  close_all(fds, n);
}

static guint
devino_hash(gconstpointer p)
{
  const DevIno *k = p;
  guint64 h = (guint64)k->ino * 0x9E3779B97F4A7C15ull ^ (guint64)k->dev;
  return (guint)(h ^ (h >> 32));
}

static gboolean
devino_equal(gconstpointer a, gconstpointer b)
{
  const DevIno *x = a, *y = b;
  return x->dev == y->dev && x->ino == y->ino;
}

/* LfsInode starts with (dev, ino), so it can be looked up as a DevIno. */
G_STATIC_ASSERT(G_STRUCT_OFFSET(LfsInode, dev) == G_STRUCT_OFFSET(DevIno, dev));
G_STATIC_ASSERT(G_STRUCT_OFFSET(LfsInode, ino) == G_STRUCT_OFFSET(DevIno, ino));

static gboolean
keeps_fd(const LfsInode *i)
{
  return i->permanent || i->nameless;
}

LfsInodeTable *
lfs_itab_new(int root_fd, size_t fd_limit, int *err)
{
  struct stat st;
  if (fstat(root_fd, &st) < 0) {
    *err = errno;
    close(root_fd);
    return NULL;
  }
  LfsInodeTable *t = g_new0(LfsInodeTable, 1);
  g_mutex_init(&t->lock);
  t->by_key = g_hash_table_new(devino_hash, devino_equal);
  g_queue_init(&t->lru);
  g_queue_init(&t->all);
  t->fd_limit = fd_limit;
  /* Half for cached O_PATH descriptors; the rest for open files, dirs and
   * the daemon's own; the cache yields what open files need (cache_max). */
  t->max_fds =
      fd_limit > FD_RESERVE + 2 * MIN_CACHED ? (fd_limit - FD_RESERVE) / 2 : MIN_CACHED;
  t->foreign = g_hash_table_new_full(devino_hash, devino_equal, g_free, g_free);
  t->next_foreign = 1ull << 63;
  t->mp_fd = -1;

  LfsInode *r = g_new0(LfsInode, 1);
  r->dev = st.st_dev;
  r->ino = st.st_ino;
  r->type = st.st_mode & S_IFMT;
  r->fd = root_fd;
  r->permanent = TRUE;
  r->nlookup = 1;
  r->lru.data = r;
  t->root = r;
  return t;
}

static void
free_record(LfsInodeTable *t, LfsInode *i)
{
  if (i->hashed && g_hash_table_lookup(t->by_key, i) == i)
    g_hash_table_remove(t->by_key, i);
  if (i->in_lru)
    g_queue_unlink(&t->lru, &i->lru);
  g_queue_unlink(&t->all, &i->all);
  if (i->fd >= 0) {
    close_later(t, i->fd);
    if (!keeps_fd(i))
      t->nfds--;
  }
  g_free(i->name);
  g_free(i->snap);
  g_free(i);
}

void
lfs_itab_free(LfsInodeTable *t)
{
  if (t == NULL)
    return;
  /* Records the kernel still knew at unmount are freed here, without the
   * parent bookkeeping: everything goes. */
  g_hash_table_remove_all(t->by_key);
  while (t->all.head != NULL) {
    LfsInode *i = t->all.head->data;
    i->hashed = FALSE;
    free_record(t, i);
    close_all(t->closing, t->nclosing);
    t->nclosing = 0;
  }
  close(t->root->fd);
  g_free(t->root);
  if (t->mp_fd >= 0)
    close(t->mp_fd);
  g_free(t->mp_name);
  g_hash_table_unref(t->by_key);
  g_hash_table_unref(t->foreign);
  g_mutex_clear(&t->lock);
  g_free(t);
}

void
lfs_itab_set_guard(LfsInodeTable *t, int mp_fd, dev_t parent_dev, ino_t parent_ino,
                   const char *name)
{
  t->mp_fd = mp_fd;
  t->mp_parent_dev = parent_dev;
  t->mp_parent_ino = parent_ino;
  g_free(t->mp_name);
  t->mp_name = g_strdup(name);
}

LfsInode *
lfs_itab_root(LfsInodeTable *t)
{
  return t->root;
}

uint64_t
lfs_inode_nodeid(LfsInodeTable *t, LfsInode *i)
{
  return i == t->root ? 1 : (uint64_t)(uintptr_t)i;
}

LfsInode *
lfs_itab_get(LfsInodeTable *t, uint64_t nodeid)
{
  return nodeid == 1 ? t->root : (LfsInode *)(uintptr_t)nodeid;
}

mode_t
lfs_inode_type(const LfsInode *i)
{
  return i->type;
}

dev_t
lfs_itab_root_dev(const LfsInodeTable *t)
{
  return t->root->dev;
}

uint64_t
lfs_itab_vino(LfsInodeTable *t, dev_t dev, ino_t ino)
{
  if (dev == t->root->dev)
    return ino;
  DevIno key = {dev, ino};
  g_mutex_lock(&t->lock);
  uint64_t *v = g_hash_table_lookup(t->foreign, &key);
  if (v == NULL) {
    v = g_new(uint64_t, 1);
    *v = t->next_foreign++;
    g_hash_table_insert(t->foreign, g_memdup2(&key, sizeof key), v);
  }
  uint64_t r = *v;
  itab_unlock(t);
  return r;
}

/* ---- the descriptor cache; all *_locked functions need t->lock ---- */

static void
lru_remove(LfsInodeTable *t, LfsInode *i)
{
  if (i->in_lru) {
    g_queue_unlink(&t->lru, &i->lru);
    i->in_lru = FALSE;
  }
}

/* Put i's descriptor where it belongs: in the LRU if it is evictable and
 * unused, nowhere otherwise. */
static void
lru_settle(LfsInodeTable *t, LfsInode *i)
{
  gboolean want = i->fd >= 0 && i->fd_users == 0 && !keeps_fd(i);
  if (want && !i->in_lru) {
    g_queue_push_head_link(&t->lru, &i->lru);
    i->in_lru = TRUE;
  } else if (!want) {
    lru_remove(t, i);
  }
}

/* The cache's size now: what is left once the descriptors held for the
 * kernel (files and directories open through the view, lock owners) and
 * a reserve are counted, at most max_fds. Open files come first. */
static size_t
cache_max_locked(const LfsInodeTable *t)
{
  size_t used = t->nheld + FD_RESERVE;
  size_t left = t->fd_limit > used ? t->fd_limit - used : 0;
  return MAX(MIN(t->max_fds, left), MIN_CACHED);
}

static void
evict_locked(LfsInodeTable *t)
{
  size_t max = cache_max_locked(t);
  while (t->nfds > max && t->lru.tail != NULL) {
    LfsInode *i = t->lru.tail->data;
    lru_remove(t, i);
    close_later(t, i->fd);
    i->fd = -1;
    t->nfds--;
  }
}

/* Out of descriptors (EMFILE, ENFILE): every cached one not in use is
 * closed, at once. How many were. */
static guint
shed_locked(LfsInodeTable *t)
{
  guint n = 0;
  while (t->lru.tail != NULL) {
    LfsInode *i = t->lru.tail->data;
    lru_remove(t, i);
    close(i->fd);
    i->fd = -1;
    t->nfds--;
    n++;
  }
  return n;
}

/* shed_locked, keeping keep's descriptor (the base of an open by name). */
static guint
shed_but(LfsInodeTable *t, LfsInode *keep)
{
  keep->fd_users++;
  lru_remove(t, keep);
  guint n = shed_locked(t);
  keep->fd_users--;
  lru_settle(t, keep);
  return n;
}

static void
maybe_free_locked(LfsInodeTable *t, LfsInode *i)
{
  while (i != NULL && i != t->root && i->nlookup == 0 && i->refs == 0 &&
         i->fd_users == 0) {
    LfsInode *parent = i->parent;
    free_record(t, i);
    if (parent == NULL)
      return;
    parent->refs--;
    i = parent;
  }
}

/* Make i's descriptor permanent-until-forgotten or evictable again. */
static void
set_nameless_locked(LfsInodeTable *t, LfsInode *i, gboolean nameless)
{
  if (i->nameless == nameless)
    return;
  if (i->fd >= 0 && !i->permanent)
    t->nfds += nameless ? -1 : 1;
  i->nameless = nameless;
  lru_settle(t, i);
}

static void
set_name_locked(LfsInodeTable *t, LfsInode *i, LfsInode *parent, const char *name)
{
  LfsInode *old = i->parent;
  if (parent != NULL)
    parent->refs++;
  i->parent = parent;
  g_free(i->name);
  i->name = g_strdup(name);
  if (old != NULL) {
    old->refs--;
    maybe_free_locked(t, old);
  }
}

gboolean
lfs_itab_is_guarded(LfsInodeTable *t, LfsInode *parent, const char *name)
{
  return t->mp_name != NULL && parent->dev == t->mp_parent_dev &&
         parent->ino == t->mp_parent_ino && strcmp(name, t->mp_name) == 0;
}

static int
openat_raw(LfsInodeTable *t, LfsInode *parent, int pfd, const char *name, int flags,
           int *out)
{
  int fd;
  if (lfs_itab_is_guarded(t, parent, name)) {
    fd = (flags & O_PATH) ? fcntl(t->mp_fd, F_DUPFD_CLOEXEC, 0)
                          : openat(t->mp_fd, ".", flags | O_CLOEXEC);
  } else {
    fd = openat(pfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0)
    return errno;
  *out = fd;
  return 0;
}

/* Open i again from the nearest ancestor that has a descriptor. */
static int
ensure_fd_locked(LfsInodeTable *t, LfsInode *i)
{
  if (i->fd >= 0)
    return 0;
  g_autoptr(GPtrArray) chain = g_ptr_array_new();
  for (LfsInode *p = i; p->fd < 0; p = p->parent) {
    if (p->parent == NULL)
      return ESTALE;
    g_ptr_array_add(chain, p);
  }
  for (guint k = chain->len; k-- > 0;) {
    LfsInode *c = chain->pdata[k];
    lfs_autofd fd = -1;
    int err = openat_raw(t, c->parent, c->parent->fd, c->name, O_PATH, &fd);
    if ((err == EMFILE || err == ENFILE) && shed_but(t, c->parent) > 0)
      err = openat_raw(t, c->parent, c->parent->fd, c->name, O_PATH, &fd);
    if (err != 0)
      return err == ENOENT || err == ENOTDIR ? ESTALE : err;
    struct stat st;
    if (fstat(fd, &st) < 0)
      return errno;
    if (st.st_dev != c->dev || st.st_ino != c->ino)
      return ESTALE; /* the name now names something else */
    c->fd = g_steal_fd(&fd);
    t->nfds++;
    lru_settle(t, c);
  }
  return 0;
}

int
lfs_inode_fd_get(LfsInodeTable *t, LfsInode *i, int *fd)
{
  g_mutex_lock(&t->lock);
  int err = ensure_fd_locked(t, i);
  if (err == 0) {
    i->fd_users++;
    lru_remove(t, i);
    *fd = i->fd;
  }
  evict_locked(t);
  itab_unlock(t);
  return err;
}

void
lfs_inode_fd_put(LfsInodeTable *t, LfsInode *i)
{
  g_mutex_lock(&t->lock);
  g_assert(i->fd_users > 0);
  i->fd_users--;
  lru_settle(t, i);
  evict_locked(t);
  maybe_free_locked(t, i);
  itab_unlock(t);
}

int
lfs_itab_statat(LfsInodeTable *t, LfsInode *parent, const char *name, struct stat *st)
{
  if (lfs_itab_is_guarded(t, parent, name))
    return fstat(t->mp_fd, st) < 0 ? errno : 0;
  int pfd;
  int err = lfs_inode_fd_get(t, parent, &pfd);
  if (err != 0)
    return err;
  if (fstatat(pfd, name, st, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) < 0)
    err = errno;
  lfs_inode_fd_put(t, parent);
  return err;
}

int
lfs_itab_stat(LfsInodeTable *t, LfsInode *i, struct stat *st)
{
  int fd;
  int err = lfs_inode_fd_get(t, i, &fd);
  if (err != 0)
    return err;
  if (fstat(fd, st) < 0)
    err = errno;
  lfs_inode_fd_put(t, i);
  return err;
}

int
lfs_itab_openat(LfsInodeTable *t, LfsInode *parent, const char *name, int flags, int *fd)
{
  int pfd;
  int err = lfs_inode_fd_get(t, parent, &pfd);
  if (err != 0)
    return err;
  err = openat_raw(t, parent, pfd, name, flags, fd);
  lfs_inode_fd_put(t, parent);
  return err;
}

static LfsInode *
new_record(LfsInodeTable *t, LfsInode *parent, const char *name, const struct stat *st)
{
  LfsInode *i = g_new0(LfsInode, 1);
  i->dev = st->st_dev;
  i->ino = st->st_ino;
  i->type = st->st_mode & S_IFMT;
  i->fd = -1;
  i->lru.data = i;
  i->all.data = i;
  g_queue_push_tail_link(&t->all, &i->all);
  i->hashed = TRUE;
  g_hash_table_add(t->by_key, i);
  set_name_locked(t, i, parent, name);
  if (lfs_itab_is_guarded(t, parent, name)) {
    i->fd = fcntl(t->mp_fd, F_DUPFD_CLOEXEC, 0);
    i->permanent = i->fd >= 0;
  }
  return i;
}

LfsInode *
lfs_itab_found(LfsInodeTable *t, LfsInode *parent, const char *name,
               const struct stat *st, int *fd)
{
  DevIno key = {st->st_dev, st->st_ino};
  g_mutex_lock(&t->lock);
  LfsInode *i = key.dev == t->root->dev && key.ino == t->root->ino
                    ? t->root
                    : g_hash_table_lookup(t->by_key, &key);
  if (i != NULL && i != t->root && i->type != (st->st_mode & S_IFMT)) {
    /* The source reused the inode number for a new file: the old record
     * lives on, unhashed, until the kernel forgets it. */
    g_hash_table_remove(t->by_key, i);
    i->hashed = FALSE;
    i = NULL;
  }
  if (i == NULL) {
    i = new_record(t, parent, name, st);
  } else if (i != t->root && !i->permanent &&
             (i->parent != parent || g_strcmp0(i->name, name) != 0)) {
    set_name_locked(t, i, parent, name);
    set_nameless_locked(t, i, FALSE);
  }
  if (i->fd < 0 && fd != NULL && *fd >= 0) {
    i->fd = g_steal_fd(fd);
    t->nfds++;
    lru_settle(t, i);
  }
  i->nlookup++;
  evict_locked(t);
  itab_unlock(t);
  return i;
}

void
lfs_itab_forget(LfsInodeTable *t, uint64_t nodeid, uint64_t nlookup)
{
  LfsInode *i = lfs_itab_get(t, nodeid);
  if (i == t->root)
    return;
  g_mutex_lock(&t->lock);
  i->nlookup -= MIN(i->nlookup, nlookup);
  maybe_free_locked(t, i);
  itab_unlock(t);
}

static LfsInode *
record_named_locked(LfsInodeTable *t, const struct stat *st, LfsInode *parent,
                    const char *name)
{
  DevIno key = {st->st_dev, st->st_ino};
  LfsInode *i = g_hash_table_lookup(t->by_key, &key);
  if (i == NULL || i->parent != parent || g_strcmp0(i->name, name) != 0)
    return NULL;
  return i;
}

LfsInode *
lfs_itab_prepare_remove(LfsInodeTable *t, LfsInode *parent, const char *name)
{
  struct stat st;
  if (lfs_itab_statat(t, parent, name, &st) != 0)
    return NULL;
  g_mutex_lock(&t->lock);
  LfsInode *i = record_named_locked(t, &st, parent, name);
  if (i != NULL && (i->permanent || ensure_fd_locked(t, i) != 0))
    i = NULL;
  if (i != NULL) {
    i->fd_users++; /* the descriptor stays while the name goes */
    lru_remove(t, i);
  }
  evict_locked(t);
  itab_unlock(t);
  return i;
}

void
lfs_itab_finish_remove(LfsInodeTable *t, LfsInode *i, LfsInode *parent, const char *name,
                       gboolean removed)
{
  if (i == NULL)
    return;
  g_mutex_lock(&t->lock);
  if (removed && i->parent == parent && g_strcmp0(i->name, name) == 0) {
    set_nameless_locked(t, i, TRUE);
    set_name_locked(t, i, NULL, NULL);
  }
  itab_unlock(t);
  lfs_inode_fd_put(t, i);
}

void
lfs_itab_renamed(LfsInodeTable *t, LfsInode *oldparent, const char *oldname,
                 LfsInode *newparent, const char *newname, unsigned flags)
{
  (void)flags;
  struct stat st;
  /* After the rename, the moved entry is at (newparent, newname). */
  if (lfs_itab_statat(t, newparent, newname, &st) != 0)
    return;
  g_mutex_lock(&t->lock);
  LfsInode *i = record_named_locked(t, &st, oldparent, oldname);
  if (i != NULL)
    set_name_locked(t, i, newparent, newname);
  itab_unlock(t);
}

void
lfs_itab_hold_fds(LfsInodeTable *t, int delta)
{
  g_mutex_lock(&t->lock);
  if (delta < 0 && t->nheld < (size_t)-delta)
    t->nheld = 0;
  else
    t->nheld += delta;
  evict_locked(t);
  itab_unlock(t);
}

int
lfs_openat_yielding(LfsInodeTable *t, int dirfd, const char *path, int flags, mode_t mode)
{
  int fd = openat(dirfd, path, flags, mode);
  if (fd < 0 && (errno == EMFILE || errno == ENFILE) && lfs_itab_shed(t))
    fd = openat(dirfd, path, flags, mode);
  return fd;
}

gboolean
lfs_itab_shed(LfsInodeTable *t)
{
  g_mutex_lock(&t->lock);
  guint n = shed_locked(t);
  itab_unlock(t);
  return n > 0;
}

void
lfs_itab_stats(LfsInodeTable *t, LfsItabStats *out)
{
  g_mutex_lock(&t->lock);
  out->inodes = g_hash_table_size(t->by_key);
  out->cached_fds = t->lru.length;
  out->kept_fds = (guint)t->nfds;
  out->held_fds = (guint)t->nheld;
  out->cache_max = (guint)cache_max_locked(t);
  itab_unlock(t);
}

/* The name names i's (dev, ino), but the descriptor i keeps may be of a
 * file deleted in the source whose inode number a new file got: closed,
 * so that i is opened again by its name. */
static void
drop_deleted_fd(LfsInodeTable *t, LfsInode *i)
{
  struct stat st;
  g_mutex_lock(&t->lock);
  if (i->fd >= 0 && i->fd_users == 0 && !keeps_fd(i) && fstat(i->fd, &st) == 0 &&
      st.st_nlink == 0) {
    lru_remove(t, i);
    close_later(t, i->fd);
    i->fd = -1;
    t->nfds--;
  }
  itab_unlock(t);
}

void
lfs_itab_set_locked(LfsInodeTable *t, LfsInode *i)
{
  g_mutex_lock(&t->lock);
  i->locked = TRUE;
  itab_unlock(t);
}

gboolean
lfs_itab_was_locked(LfsInodeTable *t, LfsInode *i)
{
  g_mutex_lock(&t->lock);
  gboolean locked = i->locked;
  itab_unlock(t);
  return locked;
}

int
lfs_itab_check_name(LfsInodeTable *t, LfsInode *i)
{
  g_mutex_lock(&t->lock);
  LfsInode *parent = i->parent;
  gboolean named =
      i != t->root && !i->permanent && !i->nameless && parent != NULL && i->name != NULL;
  g_autofree char *name = named ? g_strdup(i->name) : NULL;
  if (named)
    parent->refs++; /* kept while its descriptor is used */
  itab_unlock(t);
  if (!named)
    return 0;
  struct stat st;
  int err = lfs_itab_statat(t, parent, name, &st);
  lfs_itab_unref(t, parent);
  if (err != 0)
    return err == ENOENT || err == ENOTDIR ? ESTALE : 0;
  if (st.st_dev != i->dev || st.st_ino != i->ino)
    return ESTALE;
  drop_deleted_fd(t, i);
  return 0;
}

static gboolean
same_time(const struct timespec *a, const struct timespec *b)
{
  return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

LfsPageCache
lfs_itab_cache_state(LfsInodeTable *t, LfsInode *i, const struct stat *st)
{
  g_mutex_lock(&t->lock);
  const CacheSnap *s = i->snap;
  LfsPageCache r = LFS_PCACHE_EMPTY;
  if (s != NULL)
    r = s->sure && s->size == st->st_size && same_time(&s->mtime, &st->st_mtim) &&
                same_time(&s->ctime, &st->st_ctim)
            ? LFS_PCACHE_AGREES
            : LFS_PCACHE_STALE;
  itab_unlock(t);
  return r;
}

void
lfs_itab_cache_agree(LfsInodeTable *t, LfsInode *i, const struct stat *st)
{
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  gint64 age = (gint64)(now.tv_sec - st->st_ctim.tv_sec) * 1000000000 +
               (now.tv_nsec - st->st_ctim.tv_nsec);
  g_mutex_lock(&t->lock);
  if (i->snap == NULL)
    i->snap = g_new0(CacheSnap, 1);
  *i->snap = (CacheSnap){.mtime = st->st_mtim,
                         .ctime = st->st_ctim,
                         .size = st->st_size,
                         .sure = age > TIMESTAMP_GRAIN_NS};
  itab_unlock(t);
}

void
lfs_inode_devino(const LfsInode *i, dev_t *dev, ino_t *ino)
{
  *dev = i->dev;
  *ino = i->ino;
}

void
lfs_itab_ref(LfsInodeTable *t, LfsInode *i)
{
  g_mutex_lock(&t->lock);
  i->refs++;
  itab_unlock(t);
}

void
lfs_itab_unref(LfsInodeTable *t, LfsInode *i)
{
  g_mutex_lock(&t->lock);
  g_assert(i->refs > 0);
  i->refs--;
  maybe_free_locked(t, i);
  itab_unlock(t);
}

/* Walks i's names up to the root, adding each to parts (if not NULL),
 * last first; whether the root was reached. Called with the lock held. */
static gboolean
names_to_root_locked(LfsInodeTable *t, LfsInode *i, GPtrArray *parts)
{
  LfsInode *p = i;
  for (; p != t->root && p->name != NULL; p = p->parent) {
    if (parts != NULL)
      g_ptr_array_add(parts, p->name);
  }
  return p == t->root;
}

gboolean
lfs_itab_named(LfsInodeTable *t, LfsInode *i)
{
  g_mutex_lock(&t->lock);
  gboolean named = names_to_root_locked(t, i, NULL);
  itab_unlock(t);
  return named;
}

char *
lfs_itab_path(LfsInodeTable *t, LfsInode *i)
{
  g_autoptr(GPtrArray) parts = g_ptr_array_new();
  g_mutex_lock(&t->lock);
  gboolean named = names_to_root_locked(t, i, parts);
  GString *s = g_string_new(NULL);
  for (guint k = parts->len; k-- > 0;) {
    if (s->len > 0)
      g_string_append_c(s, '/');
    g_string_append(s, parts->pdata[k]);
  }
  itab_unlock(t);
  if (!named) {
    g_string_free(s, TRUE);
    return NULL;
  }
  return g_string_free(s, FALSE);
}

gboolean
lfs_itab_devino_of(LfsInodeTable *t, uint64_t vino, dev_t *dev, ino_t *ino)
{
  if (vino < (1ull << 62)) {
    *dev = t->root->dev;
    *ino = (ino_t)vino;
    return TRUE;
  }
  gboolean found = FALSE;
  GHashTableIter it;
  gpointer k, v;
  g_mutex_lock(&t->lock);
  g_hash_table_iter_init(&it, t->foreign);
  while (!found && g_hash_table_iter_next(&it, &k, &v)) {
    if (*(uint64_t *)v == vino) {
      *dev = ((DevIno *)k)->dev;
      *ino = ((DevIno *)k)->ino;
      found = TRUE;
    }
  }
  itab_unlock(t);
  return found;
}

LfsInode *
lfs_itab_find(LfsInodeTable *t, dev_t dev, ino_t ino)
{
  DevIno key = {dev, ino};
  g_mutex_lock(&t->lock);
  LfsInode *i = dev == t->root->dev && ino == t->root->ino
                    ? t->root
                    : g_hash_table_lookup(t->by_key, &key);
  if (i != NULL)
    i->refs++;
  itab_unlock(t);
  return i;
}

LfsInode *
lfs_itab_walk(LfsInodeTable *t, const char *relpath, int *err)
{
  g_auto(GStrv) parts = g_strsplit(relpath, "/", -1);
  LfsInode *cur = t->root;
  lfs_itab_ref(t, cur);
  for (guint k = 0; parts[k] != NULL; k++) {
    if (parts[k][0] == '\0')
      continue;
    struct stat st;
    *err = lfs_itab_statat(t, cur, parts[k], &st);
    if (*err == 0 && !S_ISDIR(st.st_mode))
      *err = ENOTDIR;
    if (*err != 0) {
      lfs_itab_unref(t, cur);
      return NULL;
    }
    LfsInode *next = lfs_itab_found(t, cur, parts[k], &st, NULL);
    lfs_itab_ref(t, next);
    lfs_itab_forget(t, lfs_inode_nodeid(t, next), 1);
    lfs_itab_unref(t, cur);
    cur = next;
  }
  *err = 0;
  return cur;
}
