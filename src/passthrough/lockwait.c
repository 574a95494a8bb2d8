/* lockwait.c: waiting lock requests, each in a thread of its own
 * (lockwait.h).
 *
 * Locking: ws->lock guards the set of waits and every Wait's in_call and
 * interrupted; a leaf lock, never held across the blocking call or a
 * reply. A Wait is freed by its own thread, after it has left the set and
 * unregistered its interrupt callback: libfuse runs that callback under
 * the request's lock, which the unregistering takes, so the callback never
 * sees a freed Wait. */
#include "lockwait.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#define LFS_WAKE_SIGNAL (SIGRTMIN + 3)
/* A wake-up may land before the call enters the kernel: sent again this
 * often until the call has returned. */
#define RESEND_US 1000
#define WAIT_STACK (256 * 1024)

typedef struct {
  LfsLockWaits *ws;
  fuse_req_t req;
  LfsLockCall call;
  LfsLockDone done;
  gpointer data;
  pthread_t thread;
  gboolean in_call; /* from the last look at interrupted to the call's return */
  gboolean interrupted;
} Wait;

struct LfsLockWaits {
  pthread_mutex_t lock;
  pthread_cond_t cond; /* a call returned, or a wait ended */
  GHashTable *waits;   /* Wait set */
  gboolean stopping;
};

static void
on_wake_signal(int sig)
{
  (void)sig; /* only there to make the blocking call return EINTR */
}

LfsLockWaits *
lfs_lockwaits_new(void)
{
  struct sigaction sa = {.sa_handler = on_wake_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(LFS_WAKE_SIGNAL, &sa, NULL); /* no SA_RESTART */
  LfsLockWaits *ws = g_new0(LfsLockWaits, 1);
  pthread_mutex_init(&ws->lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&ws->cond, &attr);
  pthread_condattr_destroy(&attr);
  ws->waits = g_hash_table_new(NULL, NULL);
  return ws;
}

/* Wait on ws->cond (held) for at most RESEND_US. */
static void
wait_a_little(LfsLockWaits *ws)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_nsec += RESEND_US * 1000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_cond_timedwait(&ws->cond, &ws->lock, &ts);
}

void
lfs_lockwaits_free(LfsLockWaits *ws)
{
  if (ws == NULL)
    return;
  pthread_mutex_lock(&ws->lock);
  ws->stopping = TRUE;
  while (g_hash_table_size(ws->waits) > 0) {
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, ws->waits);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
      Wait *w = key;
      if (w->in_call)
        pthread_kill(w->thread, LFS_WAKE_SIGNAL);
    }
    wait_a_little(ws);
  }
  pthread_mutex_unlock(&ws->lock);
  g_hash_table_unref(ws->waits);
  pthread_cond_destroy(&ws->cond);
  pthread_mutex_destroy(&ws->lock);
  g_free(ws);
}

/* libfuse's interrupt callback, under the request's lock. */
static void
on_interrupt(fuse_req_t req, void *p)
{
  (void)req;
  Wait *w = p;
  LfsLockWaits *ws = w->ws;
  pthread_mutex_lock(&ws->lock);
  w->interrupted = TRUE;
  /* Called in the waiting thread itself when the request was interrupted
   * before it registered: in_call is FALSE then. */
  while (w->in_call) {
    pthread_kill(w->thread, LFS_WAKE_SIGNAL);
    wait_a_little(ws);
  }
  pthread_mutex_unlock(&ws->lock);
}

static int
call_until_done(Wait *w)
{
  LfsLockWaits *ws = w->ws;
  for (;;) {
    pthread_mutex_lock(&ws->lock);
    if (w->interrupted || ws->stopping) {
      pthread_mutex_unlock(&ws->lock);
      return EINTR;
    }
    w->in_call = TRUE;
    pthread_mutex_unlock(&ws->lock);
    int err = w->call(w->data);
    pthread_mutex_lock(&ws->lock);
    w->in_call = FALSE;
    pthread_cond_broadcast(&ws->cond);
    pthread_mutex_unlock(&ws->lock);
    if (err != EINTR)
      return err; /* else a signal not meant for us, or the interrupt */
  }
}

static void *
wait_thread(void *p)
{
  Wait *w = p;
  LfsLockWaits *ws = w->ws;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, LFS_WAKE_SIGNAL);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);

  fuse_req_interrupt_func(w->req, on_interrupt, w);
  int err = call_until_done(w);
  fuse_req_interrupt_func(w->req, NULL, NULL);
  w->done(w->req, w->data, err);

  pthread_mutex_lock(&ws->lock);
  g_hash_table_remove(ws->waits, w);
  pthread_cond_broadcast(&ws->cond);
  pthread_mutex_unlock(&ws->lock);
  g_free(w);
  return NULL;
}

int
lfs_lockwaits_start(LfsLockWaits *ws, fuse_req_t req, LfsLockCall call, LfsLockDone done,
                    gpointer data)
{
  Wait *w = g_new0(Wait, 1);
  *w = (Wait){.ws = ws, .req = req, .call = call, .done = done, .data = data};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, WAIT_STACK);
  pthread_mutex_lock(&ws->lock);
  int err = ws->stopping ? ESHUTDOWN : pthread_create(&w->thread, &attr, wait_thread, w);
  if (err == 0)
    g_hash_table_add(ws->waits, w);
  pthread_mutex_unlock(&ws->lock);
  pthread_attr_destroy(&attr);
  if (err != 0)
    g_free(w);
  return err;
}

guint
lfs_lockwaits_count(LfsLockWaits *ws)
{
  pthread_mutex_lock(&ws->lock);
  guint n = g_hash_table_size(ws->waits);
  pthread_mutex_unlock(&ws->lock);
  return n;
}
