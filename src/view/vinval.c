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
 * the list of recent replies (below: each record is linked into it, under
 * the records' mutex).
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

#include "vnode-private.h"

void
lfs_vrecent_unlink(LfsVnodes *v, VNode *vn)
{
  if (vn->replied_us == 0)
    return;
  if (vn->rprev != NULL)
    vn->rprev->rnext = vn->rnext;
  else
    v->recent = vn->rnext;
  if (vn->rnext != NULL)
    vn->rnext->rprev = vn->rprev;
  else
    v->newest = vn->rprev;
  vn->rprev = vn->rnext = NULL;
  vn->replied_us = 0;
}

/* ---- the policy: what the kernel may cache, and for how long ---- */

/* Entries every caller has: .links and the directories in it. */
static gboolean
is_fixed(VKind kind)
{
  return kind == VN_LINKS || kind == VN_SIBLINGS || kind == VN_DANGLING ||
         kind == VN_INODES || kind == VN_ALLDANG;
}

double
lfs_vnode_timeout(const LfsCtx *c, const VNode *vn)
{
  /* status: its size changes all the time. */
  if (vn->kind == VN_STATUS)
    return 0.0;
  /* With allow_other (vtimeout 0) the fixed entries are cached all the
   * same: only what they list depends on the caller. */
  return is_fixed(vn->kind) ? c->vattr_timeout : c->vtimeout;
}

double
lfs_vnode_attr_timeout(const LfsCtx *c, const VNode *vn)
{
  return vn->kind == VN_STATUS ? 0.0 : c->vattr_timeout;
}

/* ---- the list of recent replies ---- */

void
lfs_vnode_replied(LfsCtx *c, VNode *vn)
{
  LfsVnodes *v = c->vnodes;
  g_mutex_lock(&v->lock);
  lfs_vrecent_unlink(v, vn);
  vn->replied_us = g_get_monotonic_time();
  vn->rprev = v->newest;
  if (v->newest != NULL)
    v->newest->rnext = vn;
  else
    v->recent = vn;
  v->newest = vn;
  g_mutex_unlock(&v->lock);
}

/* The virtual directory holding vn, and vn's name there. */
static gboolean
parent_spec(const VNode *vn, VSpec *p, const char **name)
{
  static const char *const links_kids[] = {[VN_SIBLINGS] = "siblings",
                                           [VN_DANGLING] = "dangling",
                                           [VN_INODES] = "inodes",
                                           [VN_ALLDANG] = "all-dangling"};
  *p = (VSpec){.dir = vn->dir};
  switch (vn->kind) {
  case VN_SIBLINGS:
  case VN_DANGLING:
  case VN_INODES:
  case VN_ALLDANG:
    p->kind = VN_LINKS;
    *name = links_kids[vn->kind];
    return TRUE;
  case VN_SIBDIR:
  case VN_DANGLINK:
  case VN_INODIR:
    p->kind = vn->kind == VN_SIBDIR     ? VN_SIBLINGS
              : vn->kind == VN_DANGLINK ? VN_DANGLING
                                        : VN_INODES;
    *name = vn->name;
    return TRUE;
  case VN_SIBLINK:
  case VN_INOLINK:
  case VN_ALLDANGLINK:
    p->kind = vn->kind == VN_SIBLINK   ? VN_SIBDIR
              : vn->kind == VN_INOLINK ? VN_INODIR
                                       : VN_ALLDANG;
    p->name = vn->kind == VN_ALLDANGLINK ? NULL : vn->name;
    *name = vn->flat;
    return TRUE;
  default:
    return FALSE;
  }
}

static void
ventry_clear(gpointer p)
{
  g_free(((LfsVEntry *)p)->name);
}

GArray *
lfs_vnode_take_recent(LfsCtx *c, gint64 cutoff_us)
{
  LfsVnodes *v = c->vnodes;
  GArray *out = g_array_new(FALSE, FALSE, sizeof(LfsVEntry));
  g_array_set_clear_func(out, ventry_clear);
  g_mutex_lock(&v->lock);
  while (v->recent != NULL && v->recent->replied_us < cutoff_us)
    lfs_vrecent_unlink(v, v->recent);
  for (VNode *vn = v->newest; vn != NULL; vn = vn->rprev) {
    VSpec ps;
    const char *name;
    if (vn->kind == VN_LINKS) {
      /* Never stale as an entry. Its directory is a real one, which the
       * kernel may hold locked while the change that called us runs:
       * refresh its attributes only. */
      LfsVEntry e = {.ino = lfs_vnode_nodeid(vn)};
      g_array_append_val(out, e);
      continue;
    }
    if (!parent_spec(vn, &ps, &name))
      continue;
    g_autofree char *pkey = lfs_vspec_key(&ps);
    VNode *parent = g_hash_table_lookup(v->by_key, pkey);
    if (parent == NULL)
      continue; /* the kernel does not know the directory: nor vn's entry */
    LfsVEntry e = {.parent = lfs_vnode_nodeid(parent), .name = g_strdup(name)};
    g_array_append_val(out, e);
  }
  g_mutex_unlock(&v->lock);
  return out;
}

gboolean
lfs_vnode_any_recent(LfsCtx *c)
{
  g_mutex_lock(&c->vnodes->lock);
  gboolean any = c->vnodes->recent != NULL;
  g_mutex_unlock(&c->vnodes->lock);
  return any;
}

/* Entries replied within the attribute timeout, and a margin for the
 * kernel's clock: those it may still hold (status: kernel_cached). */
guint64
lfs_vnode_count_cached(LfsCtx *c)
{
  gint64 cutoff = g_get_monotonic_time() -
                  (gint64)(c->vattr_timeout * G_TIME_SPAN_SECOND) -
                  100 * G_TIME_SPAN_MILLISECOND;
  guint64 n = 0;
  g_mutex_lock(&c->vnodes->lock);
  for (VNode *vn = c->vnodes->newest; vn != NULL && vn->replied_us >= cutoff;
       vn = vn->rprev)
    n++;
  g_mutex_unlock(&c->vnodes->lock);
  return n;
}

/* ---- the thread that drops them ---- */

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
