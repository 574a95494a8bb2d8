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

#include <malloc.h>

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

/* Entries every caller has: .links and the directories in it (a page of
 * .links/dirs/ is the caller's only if it may read that directory). */
static gboolean
is_fixed(const VNode *vn)
{
  switch (vn->kind) {
  case VN_LINKS:
    return lfs_vnode_is_root_page(vn);
  case VN_DLINK:
  case VN_DIRS:
  case VN_SIBLINGS:
  case VN_DANGLING:
  case VN_POINTED:
  case VN_INODES:
  case VN_ALLDANG:
    return TRUE;
  default:
    return FALSE;
  }
}

double
lfs_vnode_timeout(const LfsCtx *c, const VNode *vn)
{
  /* status: its size changes all the time. */
  if (vn->kind == VN_STATUS)
    return 0.0;
  /* With allow_other (vtimeout 0) the fixed entries are cached all the
   * same: only what they list depends on the caller. */
  return is_fixed(vn) ? c->vattr_timeout : c->vtimeout;
}

double
lfs_vnode_attr_timeout(const LfsCtx *c, const VNode *vn)
{
  return vn->kind == VN_STATUS ? 0.0 : c->vattr_timeout;
}

/* ---- the list of recent replies ---- */

static void vinval_wake(LfsCtx *c);

void
lfs_vnode_replied(LfsCtx *c, VNode *vn)
{
  LfsVnodes *v = c->vnodes;
  g_mutex_lock(&v->lock);
  gboolean was_empty = v->recent == NULL;
  lfs_vrecent_unlink(v, vn);
  vn->replied_us = g_get_monotonic_time();
  vn->rprev = v->newest;
  if (v->newest != NULL)
    v->newest->rnext = vn;
  else
    v->recent = vn;
  v->newest = vn;
  g_mutex_unlock(&v->lock);
  if (was_empty)
    vinval_wake(c); /* it has entries to trim, in a while */
}

/* The virtual directory holding each kind, and what names it there: the
 * fixed name, or the record's name (NAME, INO) or FLAT. */
typedef enum { BY_FIXED, BY_NAME, BY_FLAT } NamedBy;
static const struct {
  VKind parent;
  NamedBy by;
  const char *fixed;
} holders[] = {
    [VN_SIBLINGS] = {VN_LINKS, BY_FIXED, "siblings"},
    [VN_DANGLING] = {VN_LINKS, BY_FIXED, "dangling"},
    [VN_POINTED] = {VN_LINKS, BY_FIXED, "pointed-by"},
    [VN_INODES] = {VN_LINKS, BY_FIXED, "inodes"},
    [VN_ALLDANG] = {VN_LINKS, BY_FIXED, "all-dangling"},
    [VN_DIRS] = {VN_LINKS, BY_FIXED, "dirs"},
    [VN_SIBDIR] = {VN_SIBLINGS, BY_NAME, NULL},
    [VN_DANGLINK] = {VN_DANGLING, BY_NAME, NULL},
    [VN_PTDIR] = {VN_POINTED, BY_NAME, NULL},
    [VN_INODIR] = {VN_INODES, BY_NAME, NULL},
    [VN_SIBLINK] = {VN_SIBDIR, BY_FLAT, NULL},
    [VN_PTLINK] = {VN_PTDIR, BY_FLAT, NULL},
    [VN_INOLINK] = {VN_INODIR, BY_FLAT, NULL},
    [VN_ALLDANGLINK] = {VN_ALLDANG, BY_FLAT, NULL},
};

/* The virtual directory holding vn, and vn's name there (made in buf for
 * a page of .links/dirs/). FALSE for status and for the entries that live
 * in real directories. */
static gboolean
parent_spec(LfsCtx *c, const VNode *vn, VSpec *p, const char **name, char buf[24])
{
  *p = (VSpec){.dir = vn->dir};
  *name = NULL;
  if (vn->kind == VN_LINKS) {
    /* .links/dirs/INO; the root's page is .links, in a real directory */
    if (lfs_vnode_is_root_page(vn))
      return FALSE;
    dev_t dev;
    ino_t ino;
    lfs_inode_devino(vn->dir, &dev, &ino);
    g_snprintf(buf, 24, "%" G_GUINT64_FORMAT, lfs_itab_vino(c->itab, dev, ino));
    *p = (VSpec){.kind = VN_DIRS, .dir = lfs_itab_root(c->itab)};
    *name = buf;
    return TRUE;
  }
  if ((guint)vn->kind >= G_N_ELEMENTS(holders) ||
      (holders[vn->kind].by == BY_FIXED && holders[vn->kind].fixed == NULL))
    return FALSE;
  p->kind = holders[vn->kind].parent;
  switch (holders[vn->kind].by) {
  case BY_FIXED:
    *name = holders[vn->kind].fixed;
    break;
  case BY_NAME:
    *name = vn->name;
    break;
  case BY_FLAT:
    /* the holding directory is named by the record's name, if it has one
     * (siblings/NAME, pointed-by/NAME, inodes/INO; all-dangling has none) */
    p->gdev = vn->gdev;
    p->gino = vn->gino;
    p->name = vn->name;
    *name = vn->flat;
    break;
  }
  return TRUE;
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
    char buf[24];
    if (vn->kind == VN_DLINK || lfs_vnode_is_root_page(vn)) {
      /* .links in a real directory: never stale as an entry (D/.links
       * always leads to D's page), and that directory is a real one,
       * which the kernel may hold locked while the change that called us
       * runs: refresh its attributes only (the size of D/.links, the
       * length of its target, changes as D moves). */
      LfsVEntry e = {.ino = lfs_vnode_nodeid(vn)};
      g_array_append_val(out, e);
      continue;
    }
    if (!parent_spec(c, vn, &ps, &name, buf))
      continue;
    VNode *parent = lfs_vnodes_find_locked(v, &ps);
    if (parent == NULL)
      continue; /* the kernel does not know the directory: nor vn's entry */
    LfsVEntry e = {.parent = lfs_vnode_nodeid(parent), .name = g_strdup(name)};
    g_array_append_val(out, e);
  }
  g_mutex_unlock(&v->lock);
  return out;
}

/* What is trimmed: the symlinks of the pages, the bulk of what a walk
 * leaves (one per path of the tree in .links/inodes/). Not directories
 * (one may be a process's working directory, whose path would then be
 * gone for getcwd), nor D/.links (the kernel may hold the real directory
 * D locked for long), nor status. */
static gboolean
trimmable(const VNode *vn)
{
  return !lfs_vnode_is_dir(vn->kind) && vn->kind != VN_DLINK && vn->kind != VN_STATUS;
}

/* The entries replied before cutoff_us leave the list; the trimmable ones
 * are returned (as lfs_vnode_take_recent does), so that the kernel drops
 * them. *next_us: when the oldest left will be, or 0. */
static GArray *
take_expired(LfsCtx *c, gint64 cutoff_us, gint64 expiry_us, gint64 *next_us)
{
  LfsVnodes *v = c->vnodes;
  GArray *out = g_array_new(FALSE, FALSE, sizeof(LfsVEntry));
  g_array_set_clear_func(out, ventry_clear);
  g_mutex_lock(&v->lock);
  while (v->recent != NULL && v->recent->replied_us < cutoff_us) {
    VNode *vn = v->recent;
    lfs_vrecent_unlink(v, vn);
    VSpec ps;
    const char *name;
    char buf[24];
    if (!trimmable(vn) || !parent_spec(c, vn, &ps, &name, buf))
      continue;
    VNode *parent = lfs_vnodes_find_locked(v, &ps);
    if (parent == NULL)
      continue;
    LfsVEntry e = {.parent = lfs_vnode_nodeid(parent), .name = g_strdup(name)};
    g_array_append_val(out, e);
  }
  *next_us = v->recent != NULL ? v->recent->replied_us + expiry_us : 0;
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
#define TRIM_SLACK_US (200 * G_TIME_SPAN_MILLISECOND)

struct LfsVinval {
  GMutex lock;
  GCond cond;
  guint64 requested; /* sweeps asked for */
  guint64 done;      /* sweeps finished (all asked before one began) */
  gboolean stop;
  gint64 trim_us; /* when to trim next (0: when told, the list was empty) */
  guint64 known;  /* records at the last malloc_trim */
  GThread *thread;
};

static void
vinval_wake(LfsCtx *c)
{
  LfsVinval *v = c->vinval;
  if (v == NULL)
    return;
  gint64 now = g_get_monotonic_time();
  gint64 t = now + (gint64)(c->vattr_timeout * G_TIME_SPAN_SECOND) + TRIM_SLACK_US;
  g_mutex_lock(&v->lock);
  /* 0: the thread sleeps; <= now: it is trimming, and may have seen the
   * list empty */
  if (v->trim_us == 0 || v->trim_us <= now || t < v->trim_us) {
    v->trim_us = t;
    g_cond_broadcast(&v->cond);
  }
  g_mutex_unlock(&v->lock);
}

/* Newest first: children before the directories that hold them (a
 * directory dropped takes its children along, and the kernel forgets
 * them; their records may be gone, and their node ids reused, by the time
 * we would name them). */
static void
notify(LfsCtx *c, GArray *ents)
{
  for (guint k = ents->len; k-- > 0;) {
    LfsVEntry *e = &g_array_index(ents, LfsVEntry, k);
    /* ENOENT: the kernel has dropped it already. */
    if (e->name != NULL)
      fuse_lowlevel_notify_inval_entry(c->se, e->parent, e->name, strlen(e->name));
    else
      fuse_lowlevel_notify_inval_inode(c->se, e->ino, -1, 0);
  }
}

/* As listed (lfs_vnode_take_recent lists the newest first). */
static void
notify_in_order(LfsCtx *c, GArray *ents)
{
  for (guint k = 0; k < ents->len; k++) {
    LfsVEntry *e = &g_array_index(ents, LfsVEntry, k);
    if (e->name != NULL)
      fuse_lowlevel_notify_inval_entry(c->se, e->parent, e->name, strlen(e->name));
    else
      fuse_lowlevel_notify_inval_inode(c->se, e->ino, -1, 0);
  }
}

/* Every virtual entry the kernel knows holds a record here, for as long as
 * the kernel keeps it, which it does after its timeout too (a find over
 * .links/inodes of a snapshot tree leaves one per path). Once expired (the
 * kernel would look it up again before using it), it is dropped from the
 * kernel, which then forgets it: the records follow what was replied in
 * the last timeout. Returns when to trim next (0: nothing left). */
static gint64
trim(LfsCtx *c)
{
  gint64 expiry = (gint64)(c->vattr_timeout * G_TIME_SPAN_SECOND) + TRIM_SLACK_US;
  gint64 next;
  gint64 now = g_get_monotonic_time();
  g_autoptr(GArray) ents = take_expired(c, now - expiry, expiry, &next);
  notify(c, ents);
  /* Once more after the kernel's FORGETs for these, to give back their
   * memory (give_back), even if nothing is left to trim. */
  if (next == 0 && ents->len > 0)
    next = now + 2 * TRIM_SLACK_US;
  return next;
}

static void
sweep(LfsCtx *c)
{
  gint64 cutoff =
      g_get_monotonic_time() - (gint64)(c->vattr_timeout * G_TIME_SPAN_SECOND) - SLACK_US;
  g_rw_lock_writer_lock(&c->vreply_lock);
  g_autoptr(GArray) ents = lfs_vnode_take_recent(c, cutoff);
  g_rw_lock_writer_unlock(&c->vreply_lock);
  notify_in_order(c, ents);
}

/* Many records freed since the last time (the kernel forgets the entries
 * trimmed a little later, as its FORGETs come): give their memory back to
 * the system, which glibc does not do by itself for small blocks. */
static void
give_back(LfsCtx *c)
{
  LfsVinval *v = c->vinval;
  guint64 known = lfs_vnodes_count(c);
  if (known > v->known)
    v->known = known;
  else if (v->known - known >= 8192 && known < v->known / 2) {
#ifdef __GLIBC__
    malloc_trim(0);
#endif
    v->known = known;
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
      gint64 now = g_get_monotonic_time();
      if (v->trim_us == 0) {
        g_cond_wait(&v->cond, &v->lock);
      } else if (now < v->trim_us) {
        g_cond_wait_until(&v->cond, &v->lock, v->trim_us);
      } else {
        g_mutex_unlock(&v->lock);
        gint64 next = trim(c);
        give_back(c);
        g_mutex_lock(&v->lock);
        /* a reply meanwhile into an emptied list set a later trim_us */
        if (v->trim_us <= now)
          v->trim_us = next;
        else if (next != 0)
          v->trim_us = MIN(v->trim_us, next);
      }
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
