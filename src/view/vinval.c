/* vinval.c: the kernel caches virtual entries, and never a stale one.
 *
 * Without allow_other (where what a listing shows depends on the caller,
 * and the kernel's cache is shared by all callers), virtual entries get
 * entry and attribute timeouts (c->vtimeout, at most a second) like real
 * ones, so `find` and `ls -l` over .links cost no more requests than over
 * real directories.  With allow_other only .links and the directories in
 * it, which every caller has, are cached as entries; the others only by
 * their attributes (c->vattr_timeout), refreshed by the lookup that every
 * path reaching them costs.  Every reply that lets the kernel cache one (lookup,
 * getattr, readdirplus) is made under the reader side of c->vreply_lock,
 * which it holds from the moment it reads the index until the entry is in
 * the list of recent replies (vnode.c).
 *
 * Whenever the index changes, or the owner or times of an entry that
 * virtual ones describe, the change calls lfs_vinval_sync() (through the
 * context's view_stale hook, for the layers below the view): the thread
 * below takes the writer side of vreply_lock (so that no reply computed
 * from the old index is still on its way), collects where every entry
 * replied within its timeout lives, lets go of every lock, and drops each
 * from the kernel with fuse_lowlevel_notify_inval_entry() (the attributes
 * only for .links itself, which never goes stale as an entry, and whose
 * directory, a real one, the kernel may hold locked for the very change
 * that asked for the sweep).  A change made
 * through the view waits for that sweep before it returns, but at most
 * WAIT_US: the kernel may hold a virtual directory's lock for a lookup
 * that itself waits for a running scan, and a change must never wait on
 * that.  Lock order: vreply_lock, then the vnodes' mutex; the sweep holds
 * no lock while it notifies. */
#include "vinval.h"

#include "vnode.h"

#define WAIT_US (200 * G_TIME_SPAN_MILLISECOND)
#define SLACK_US G_TIME_SPAN_SECOND

struct LfsVinval {
  GMutex lock;
  GCond cond;
  guint64 requested; /* sweeps asked for */
  guint64 done;      /* sweeps finished (all asked before one began) */
  gboolean stop;
  GThread *thread;
};

static void
sweep(LfsCtx *c)
{
  gint64 cutoff =
      g_get_monotonic_time() - (gint64)(c->vattr_timeout * G_TIME_SPAN_SECOND) - SLACK_US;
  g_rw_lock_writer_lock(&c->vreply_lock);
  g_autoptr(GArray) ents = lfs_vnode_take_recent(c, cutoff);
  g_rw_lock_writer_unlock(&c->vreply_lock);
  for (guint k = 0; k < ents->len; k++) {
    LfsVEntry *e = &g_array_index(ents, LfsVEntry, k);
    /* ENOENT: the kernel has dropped it already. */
    if (e->name != NULL)
      fuse_lowlevel_notify_inval_entry(c->se, e->parent, e->name, strlen(e->name));
    else
      fuse_lowlevel_notify_inval_inode(c->se, e->ino, -1, 0);
  }
}

static gpointer
vinval_thread(gpointer data)
{
  LfsCtx *c = data;
  LfsVinval *v = c->vinval;
  g_mutex_lock(&v->lock);
  while (!v->stop) {
    if (v->done == v->requested) {
      g_cond_wait(&v->cond, &v->lock);
      continue;
    }
    guint64 target = v->requested;
    g_mutex_unlock(&v->lock);
    sweep(c);
    g_mutex_lock(&v->lock);
    v->done = target;
    g_cond_broadcast(&v->cond);
  }
  g_mutex_unlock(&v->lock);
  return NULL;
}

void
lfs_vinval_start(LfsCtx *c)
{
  if (c->vattr_timeout <= 0)
    return;
  LfsVinval *v = g_new0(LfsVinval, 1);
  g_mutex_init(&v->lock);
  g_cond_init(&v->cond);
  c->vinval = v;
  v->thread = g_thread_new("linkfs-vinval", vinval_thread, c);
  c->view_stale = lfs_vinval_sync; /* live/ and the passthrough call it */
}

void
lfs_vinval_stop(LfsCtx *c)
{
  LfsVinval *v = c->vinval;
  if (v == NULL)
    return;
  g_mutex_lock(&v->lock);
  v->stop = TRUE;
  g_cond_broadcast(&v->cond);
  g_mutex_unlock(&v->lock);
  g_thread_join(v->thread);
  c->vinval = NULL;
  g_mutex_clear(&v->lock);
  g_cond_clear(&v->cond);
  g_free(v);
}

/* Nothing replied and nothing on its way: nothing to drop. */
static gboolean
nothing_cached(LfsCtx *c)
{
  if (!g_rw_lock_writer_trylock(&c->vreply_lock))
    return FALSE;
  gboolean none = !lfs_vnode_any_recent(c);
  g_rw_lock_writer_unlock(&c->vreply_lock);
  return none;
}

void
lfs_vinval_sync(LfsCtx *c, gboolean wait)
{
  LfsVinval *v = c->vinval;
  if (v == NULL || nothing_cached(c))
    return;
  g_mutex_lock(&v->lock);
  guint64 mine = ++v->requested;
  g_cond_broadcast(&v->cond);
  gint64 deadline = g_get_monotonic_time() + WAIT_US;
  while (wait && v->done < mine && !v->stop) {
    if (!g_cond_wait_until(&v->cond, &v->lock, deadline))
      break;
  }
  g_mutex_unlock(&v->lock);
}
