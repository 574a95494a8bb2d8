/* devio.c: the session's device I/O: one reader at a time, polling
 * before it sleeps (devio.h).
 *
 * Locking: d->lock guards the role (held, holder, nfollowers, standby,
 * standby_idle); a leaf lock, held only around the role's bookkeeping and
 * the condition waits. The spin and hand-over state (skip, misses,
 * handoffs) belongs to the thread holding the role; taking the
 * role through the lock orders it between threads. busy_since is
 * atomic: the reader sets it without the lock, the standby reads it. */
#include "devio.h"

#include "kpass.h"
#include "lfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

/* After a spin that found nothing, the next 1, 3, ... 63 reads sleep
 * at once. */
#define SPIN_MISSES_MAX 6
/* A quick request that took longer than this (a cold cache, a huge
 * directory) makes the reader hand over after the next ones. */
#define SLOW_REQUEST_US 1000
#define SLOW_HANDOFFS 64
/* The standby looks at a busy reader this often, and takes the role from
 * one busy for as long. */
#define STANDBY_PERIOD_US (10 * 1000)
/* After this many looks at a reader waiting on the device (a second),
 * the standby sleeps until the reader is busy again. */
#define STANDBY_IDLE_LOOKS 100

struct LfsDevio {
  guint spin_us;
  LfsKpass *kpass;
  gboolean flush_quick;

  pthread_mutex_t lock;
  pthread_cond_t followers; /* the role became free */
  pthread_cond_t
      standby_cond; /* for the standby: the role became free or the reader busy */
  gboolean held;    /* some thread holds the role */
  pthread_t holder;
  guint nfollowers;      /* waiting on followers */
  gboolean standby;      /* a follower watches the reader */
  gboolean standby_idle; /* atomic too: it sleeps without a timeout */
  gint64 busy_since;     /* atomic: the reader serves a quick request since (µs), or 0 */
  /* Set for a thread once it has held the role: a worker that libfuse
   * ends (-o max_idle_threads) while it holds the role gives it up. */
  pthread_key_t exit_key;

  /* Lock requests that may wait (SETLKW) between their read and their
   * reply: the only requests an INTERRUPT is passed on for. */
  GMutex waits_lock;
  GHashTable *waits; /* unique (guint64 *) */
  gint nwaits;       /* atomic: its size, to skip the lock */

  /* The reader's own. */
  guint skip;
  guint misses;
  guint handoffs;
  int nonblocking_fd;
};

static void give_role_cleanup(void *p);

LfsDevio *
lfs_devio_new(guint spin_us, LfsKpass *kpass, gboolean flush_quick)
{
  LfsDevio *d = g_new0(LfsDevio, 1);
  d->spin_us = spin_us;
  d->kpass = kpass;
  d->flush_quick = flush_quick;
  g_mutex_init(&d->waits_lock);
  d->waits = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
  d->nonblocking_fd = -1;
  pthread_mutex_init(&d->lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&d->followers, NULL);
  pthread_cond_init(&d->standby_cond, &attr);
  pthread_condattr_destroy(&attr);
  pthread_key_create(&d->exit_key, give_role_cleanup);
  return d;
}

void
lfs_devio_free(LfsDevio *d)
{
  if (d == NULL)
    return;
  pthread_key_delete(d->exit_key);
  g_hash_table_unref(d->waits);
  g_mutex_clear(&d->waits_lock);
  pthread_cond_destroy(&d->followers);
  pthread_cond_destroy(&d->standby_cond);
  pthread_mutex_destroy(&d->lock);
  g_free(d);
}

/* Whether the reader keeps its role after a request with this opcode. */
static gboolean
quick_opcode(const LfsDevio *d, guint32 opcode)
{
  switch (opcode) {
  /* A close drops the caller's POSIX locks (closing descriptors that
   * hold no file data alone); where the source's filesystem has a flush
   * of its own, it may write back and wait: */
  case FUSE_FLUSH:
    return d->flush_quick;
  /* A lock test; lock requests that may wait, wait in threads of their
   * own, but a lock had drops the view's cache of the file, which waits
   * for the reads in flight: they are handed over. */
  case FUSE_GETLK:
  case FUSE_LOOKUP:
  case FUSE_GETATTR:
  case FUSE_READLINK:
  case FUSE_GETXATTR:
  case FUSE_LISTXATTR:
  case FUSE_ACCESS:
  case FUSE_STATFS:
  case FUSE_OPENDIR:
  case FUSE_READDIR:
  case FUSE_READDIRPLUS:
  case FUSE_RELEASEDIR:
  case FUSE_INTERRUPT:
  /* A file's data is freed at the FORGET of its last name (the inode
   * table holds a descriptor until then), not in these: */
  case FUSE_CREATE:
  case FUSE_UNLINK:
  case FUSE_RELEASE:
    return TRUE;
  default:
    return FALSE;
  }
}

static LfsDevio *
devio_of(void *userdata)
{
  return ((LfsCtx *)userdata)->devio;
}

static gint64
now_us(void)
{
  return g_get_monotonic_time();
}

/* Called with d->lock held. */
static void
free_role_locked(LfsDevio *d)
{
  d->held = FALSE;
  if (d->nfollowers > 0)
    pthread_cond_signal(&d->followers);
  else if (d->standby)
    pthread_cond_signal(&d->standby_cond);
}

static void
give_role(LfsDevio *d)
{
  pthread_mutex_lock(&d->lock);
  if (d->held && pthread_equal(d->holder, pthread_self()))
    free_role_locked(d);
  pthread_mutex_unlock(&d->lock);
}

/* A wait on a condition is where libfuse cancels its workers at exit:
 * the cleanup leaves the bookkeeping true and the lock free. */
typedef struct {
  LfsDevio *d;
  gboolean standby;
} Waiter;

static void
waiter_cleanup(void *p)
{
  Waiter *w = p;
  if (w->standby) {
    w->d->standby = FALSE;
    w->d->standby_idle = FALSE;
  } else {
    w->d->nfollowers--;
  }
  pthread_mutex_unlock(&w->d->lock);
}

static void
wait_follower(Waiter *w)
{
  w->d->nfollowers++;
  pthread_cleanup_push(waiter_cleanup, w);
  pthread_cond_wait(&w->d->followers, &w->d->lock);
  pthread_cleanup_pop(0);
  w->d->nfollowers--;
}

static void
wait_standby(Waiter *w, gboolean idle)
{
  LfsDevio *d = w->d;
  pthread_cleanup_push(waiter_cleanup, w);
  if (idle) {
    g_atomic_int_set(&d->standby_idle, TRUE);
    pthread_cond_wait(&d->standby_cond, &d->lock);
    g_atomic_int_set(&d->standby_idle, FALSE);
  } else {
    gint64 until = now_us() + STANDBY_PERIOD_US;
    struct timespec ts = {.tv_sec = until / G_USEC_PER_SEC,
                          .tv_nsec = (until % G_USEC_PER_SEC) * 1000};
    pthread_cond_timedwait(&d->standby_cond, &d->lock, &ts);
  }
  pthread_cleanup_pop(0);
}

/* The standby's look at the reader, with d->lock held: whether to take
 * the role over from it. */
static gboolean
reader_stuck(LfsDevio *d, guint *idle_looks)
{
  gint64 since = __atomic_load_n(&d->busy_since, __ATOMIC_ACQUIRE);
  if (since == 0) {
    (*idle_looks)++;
    return FALSE;
  }
  *idle_looks = 0;
  return now_us() - since >= STANDBY_PERIOD_US;
}

/* Returns once this thread holds the role, and is not busy. A reader
 * back from a quick request that took long hands over for a while. */
static void
take_role(LfsDevio *d)
{
  pthread_t self = pthread_self();
  pthread_mutex_lock(&d->lock);
  if (d->held && pthread_equal(d->holder, self)) {
    gint64 since = __atomic_load_n(&d->busy_since, __ATOMIC_ACQUIRE);
    if (since != 0 && now_us() - since > SLOW_REQUEST_US)
      d->handoffs = SLOW_HANDOFFS;
    __atomic_store_n(&d->busy_since, 0, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&d->lock);
    return;
  }
  Waiter w = {.d = d};
  guint idle_looks = 0;
  while (d->held) {
    if (!w.standby && !d->standby)
      w.standby = d->standby = TRUE;
    if (!w.standby) {
      wait_follower(&w);
      continue;
    }
    wait_standby(&w, idle_looks >= STANDBY_IDLE_LOOKS);
    if (d->held && reader_stuck(d, &idle_looks)) {
      /* The old reader finds the role gone when it comes back. */
      d->handoffs = SLOW_HANDOFFS;
      break;
    }
  }
  if (w.standby)
    d->standby = FALSE;
  d->held = TRUE;
  d->holder = self;
  __atomic_store_n(&d->busy_since, 0, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&d->lock);
  if (pthread_getspecific(d->exit_key) == NULL)
    pthread_setspecific(d->exit_key, d);
}

/* The reader's descriptors are non-blocking (libfuse's clone_fd gives
 * each worker its own); the last one made so is remembered. */
static void
make_nonblocking(LfsDevio *d, int fd)
{
  if (fd == d->nonblocking_fd)
    return;
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0 && (fl & O_NONBLOCK) == 0)
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  d->nonblocking_fd = fd;
}

static gboolean
wait_readable(int fd)
{
  struct pollfd p = {.fd = fd, .events = POLLIN};
  return poll(&p, 1, -1) >= 0 || errno == EINTR;
}

/* Reads a request, trying for up to spin_us before it sleeps. */
static ssize_t
spin_read(LfsDevio *d, int fd, void *buf, size_t len)
{
  make_nonblocking(d, fd);
  gint64 end = 0;
  if (d->skip > 0)
    d->skip--;
  else
    end = now_us() + d->spin_us;
  for (;;) {
    ssize_t n = read(fd, buf, len);
    if (n >= 0 || errno != EAGAIN) {
      if (end != 0)
        d->misses = 0;
      return n;
    }
    if (end != 0 && now_us() >= end) {
      d->misses = MIN(d->misses + 1, SPIN_MISSES_MAX);
      d->skip = (1u << d->misses) - 1;
      end = 0;
    }
    if (end == 0 && !wait_readable(fd))
      return -1;
  }
}

static void
give_role_cleanup(void *p)
{
  give_role(p);
}

/* The reader's wait for a request; if libfuse cancels it there, the
 * role goes to another worker. */
static ssize_t
reader_read(LfsDevio *d, int fd, void *buf, size_t len, int *err)
{
  ssize_t n;
  pthread_cleanup_push(give_role_cleanup, d);
  n = spin_read(d, fd, buf, len);
  *err = errno;
  pthread_cleanup_pop(0);
  return n;
}

/* An open is one openat and one fstat of the source, unless it truncates
 * (freeing the file's blocks may take long). */
static gboolean
quick_request(const LfsDevio *d, const struct fuse_in_header *in, ssize_t n)
{
  if (in->opcode != FUSE_OPEN)
    return quick_opcode(d, in->opcode);
  return n >= (ssize_t)(sizeof *in + sizeof(struct fuse_open_in)) &&
         !(((const struct fuse_open_in *)(in + 1))->flags & O_TRUNC);
}

/* After a request read by the reader: whether it keeps the role. */
static gboolean
keeps_role(LfsDevio *d, const void *buf, ssize_t n)
{
  if (n < (ssize_t)sizeof(struct fuse_in_header))
    return FALSE;
  if (!quick_request(d, buf, n))
    return FALSE;
  if (d->handoffs > 0) {
    d->handoffs--;
    return FALSE;
  }
  return TRUE;
}

/* One request, read as the reader (back from serving one, or first here). */
static ssize_t
read_as_reader(LfsDevio *d, int fd, void *buf, size_t len)
{
  take_role(d);
  int err;
  ssize_t n = reader_read(d, fd, buf, len, &err);
  if (keeps_role(d, buf, n)) {
    __atomic_store_n(&d->busy_since, now_us(), __ATOMIC_RELEASE);
    if (g_atomic_int_get(&d->standby_idle)) {
      pthread_mutex_lock(&d->lock);
      pthread_cond_signal(&d->standby_cond);
      pthread_mutex_unlock(&d->lock);
    }
  } else {
    give_role(d);
  }
  errno = err;
  return n;
}

/* INTERRUPTs. linkfs acts on one only for a lock request that waits
 * (lockwait.h, through libfuse's interrupt callback). libfuse keeps an
 * INTERRUPT whose request it no longer knows (answered meanwhile) until
 * the next request comes, and never frees it if none comes: a process
 * killed with files of the view open interrupts the FLUSH of each close,
 * often after it was answered. So INTERRUPTs for other requests are
 * dropped here. The request is noted when it is read, by the reader
 * (which reads alone), before any INTERRUPT for it can be read; without
 * spin every worker reads, and every INTERRUPT is passed on. */
static void
note_wait(LfsDevio *d, const struct fuse_in_header *in)
{
  g_mutex_lock(&d->waits_lock);
  g_hash_table_add(d->waits, g_memdup2(&in->unique, sizeof in->unique));
  g_atomic_int_set(&d->nwaits, (gint)g_hash_table_size(d->waits));
  g_mutex_unlock(&d->waits_lock);
}

static void
wait_answered(LfsDevio *d, uint64_t unique)
{
  if (g_atomic_int_get(&d->nwaits) == 0)
    return;
  g_mutex_lock(&d->waits_lock);
  g_hash_table_remove(d->waits, &unique);
  g_atomic_int_set(&d->nwaits, (gint)g_hash_table_size(d->waits));
  g_mutex_unlock(&d->waits_lock);
}

/* Whether a request read is passed on to libfuse. */
static gboolean
pass_on(LfsDevio *d, const void *buf, ssize_t n)
{
  if (n < (ssize_t)sizeof(struct fuse_in_header))
    return TRUE;
  const struct fuse_in_header *in = buf;
  if (in->opcode == FUSE_SETLKW) {
    note_wait(d, in);
    return TRUE;
  }
  if (in->opcode != FUSE_INTERRUPT || d->spin_us == 0 ||
      n < (ssize_t)(sizeof *in + sizeof(struct fuse_interrupt_in)))
    return TRUE;
  uint64_t target = ((const struct fuse_interrupt_in *)(in + 1))->unique;
  g_mutex_lock(&d->waits_lock);
  gboolean waiting = g_hash_table_contains(d->waits, &target);
  g_mutex_unlock(&d->waits_lock);
  return waiting;
}

static ssize_t
dev_read(int fd, void *buf, size_t len, void *userdata)
{
  LfsDevio *d = devio_of(userdata);
  for (;;) {
    ssize_t n = d->spin_us == 0 ? read(fd, buf, len) : read_as_reader(d, fd, buf, len);
    if (n > 0 && !pass_on(d, buf, n))
      continue; /* the reader (INTERRUPT is quick) reads again */
    if (n > 0)
      lfs_kpass_note_request(d->kpass, buf, (size_t)n);
    return n;
  }
}

static ssize_t
dev_writev(int fd, struct iovec *iov, int count, void *userdata)
{
  LfsDevio *d = devio_of(userdata);
  if (count >= 1 && iov[0].iov_len >= sizeof(struct fuse_out_header))
    wait_answered(d, ((const struct fuse_out_header *)iov[0].iov_base)->unique);
  return lfs_kpass_writev(d->kpass, fd, iov, count);
}

/* Replies with data (reads served by the daemon) keep using splice. */
static ssize_t
dev_splice_send(int fdin, off_t *offin, int fdout, off_t *offout, size_t len,
                unsigned int flags, void *userdata)
{
  return splice(fdin, offin, fdout, offout, len, flags);
}

int
lfs_devio_attach(LfsDevio *d, struct fuse_session *se)
{
  static const struct fuse_custom_io io = {
      .read = dev_read,
      .writev = dev_writev,
      .splice_send = dev_splice_send,
  };
  int fd = fuse_session_fd(se);
  lfs_kpass_set_device(d->kpass, fd);
  int res = fuse_session_custom_io(se, &io, fd);
  return res < 0 ? -res : 0;
}
