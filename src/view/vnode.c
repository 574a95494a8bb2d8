/* vnode.c: the records of the virtual .links trees and their keys. What
 * they show is in vlist.c (listings) and vstat.c (targets, attributes). */
#include "vnode-private.h"

#include "links.h"

#include <string.h>

static void
vnode_free_raw(VNode *vn)
{
  g_free(vn);
}

static guint
vnode_hash(gconstpointer p)
{
  guint64 h = ((const VNode *)p)->vino;
  return (guint)(h ^ (h >> 32));
}

/* What identifies a virtual entry: its kind, D (by its (dev, ino), never a
 * pointer), and its names (INO for the inodes/ kinds). */
static gboolean
vnode_equal(gconstpointer pa, gconstpointer pb)
{
  const VNode *a = pa, *b = pb;
  if (a->vino != b->vino || a->kind != b->kind)
    return FALSE;
  dev_t da, db;
  ino_t ia, ib;
  lfs_inode_devino(a->dir, &da, &ia);
  lfs_inode_devino(b->dir, &db, &ib);
  return da == db && ia == ib && g_strcmp0(a->name, b->name) == 0 &&
         g_strcmp0(a->flat, b->flat) == 0;
}

LfsVnodes *
lfs_vnodes_new(void)
{
  LfsVnodes *v = g_new0(LfsVnodes, 1);
  g_mutex_init(&v->lock);
  v->by_key = g_hash_table_new(vnode_hash, vnode_equal);
  return v;
}

void
lfs_vnodes_free(LfsCtx *c, LfsVnodes *v)
{
  if (v == NULL)
    return;
  GHashTableIter it;
  gpointer val;
  g_hash_table_iter_init(&it, v->by_key);
  while (g_hash_table_iter_next(&it, &val, NULL)) {
    VNode *vn = val;
    lfs_itab_unref(c->itab, vn->dir);
    vnode_free_raw(vn);
  }
  g_hash_table_unref(v->by_key);
  g_mutex_clear(&v->lock);
  g_free(v);
}

#define FNV_OFFSET 0xcbf29ce484222325ull

static guint64
fnv1a(guint64 h, const char *s)
{
  for (; *s; s++)
    h = (h ^ (guchar)*s) * 0x100000001b3ull;
  return h;
}

/* Decimal digits of v, at the end of buf. */
static const char *
decimal(char buf[24], guint64 v)
{
  char *p = buf + 23;
  *p = '\0';
  do
    *--p = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  return p;
}

/* What identifies a virtual entry: its kind, D, and its names (INO for
 * the inodes/ kinds), never a pointer, so that it is stable. The key is
 * "KIND/DDEV/DINO/NAME/FLAT", made of these pieces. */
#define KEY_PIECES 9
static void
spec_pieces(const VSpec *sp, char nums[3][24], const char *pieces[KEY_PIECES])
{
  dev_t ddev;
  ino_t dino;
  lfs_inode_devino(sp->dir, &ddev, &dino);
  const char *p[KEY_PIECES] = {decimal(nums[0], (guint64)sp->kind),
                               "/",
                               decimal(nums[1], (guint64)ddev),
                               "/",
                               decimal(nums[2], (guint64)dino),
                               "/",
                               sp->name ? sp->name : "",
                               "/",
                               sp->flat ? sp->flat : ""};
  memcpy(pieces, p, sizeof p);
}

/* 2^62 and up: above any real inode of the source's filesystem, below the
 * numbers given to other filesystems (2^63 and up). */
static uint64_t
hash_vino(guint64 h)
{
  return (1ull << 62) | (h & ((1ull << 62) - 1));
}

/* A hash of the key "KIND/DDEV/DINO/NAME/FLAT". */
uint64_t
lfs_vnode_peek_vino(const VSpec *sp)
{
  char nums[3][24];
  const char *p[KEY_PIECES];
  spec_pieces(sp, nums, p);
  guint64 h = FNV_OFFSET;
  for (guint k = 0; k < KEY_PIECES; k++)
    h = fnv1a(h, p[k]);
  return hash_vino(h);
}

static VNode
probe_of(const VSpec *sp)
{
  return (VNode){.kind = (guint8)sp->kind,
                 .dir = sp->dir,
                 .name = sp->name,
                 .flat = sp->flat,
                 .vino = lfs_vnode_peek_vino(sp)};
}

VNode *
lfs_vnodes_find_locked(LfsVnodes *v, const VSpec *sp)
{
  VNode probe = probe_of(sp);
  return g_hash_table_lookup(v->by_key, &probe);
}

/* A new record for sp, with its names stored after it. */
static VNode *
vnode_new(LfsCtx *c, const VSpec *sp, uint64_t vino)
{
  size_t ln = sp->name ? strlen(sp->name) + 1 : 0;
  size_t lf = sp->flat ? strlen(sp->flat) + 1 : 0;
  VNode *vn = g_malloc0(sizeof(VNode) + ln + lf);
  char *s = (char *)(vn + 1);
  vn->kind = (guint8)sp->kind;
  vn->dir = sp->dir;
  vn->root_page = sp->kind == VN_LINKS && sp->dir == lfs_itab_root(c->itab);
  vn->gdev = sp->gdev;
  vn->gino = sp->gino;
  if (ln > 0)
    vn->name = memcpy(s, sp->name, ln);
  if (lf > 0)
    vn->flat = memcpy(s + ln, sp->flat, lf);
  vn->vino = vino; /* the number listings give it */
  return vn;
}

VNode *
lfs_vnode_get(LfsCtx *c, const VSpec *sp)
{
  VNode probe = probe_of(sp);
  LfsVnodes *v = c->vnodes;
  g_mutex_lock(&v->lock);
  VNode *vn = g_hash_table_lookup(v->by_key, &probe);
  if (vn == NULL) {
    vn = vnode_new(c, sp, probe.vino);
    lfs_itab_ref(c->itab, sp->dir);
    g_hash_table_add(v->by_key, vn);
  }
  vn->nlookup++;
  g_mutex_unlock(&v->lock);
  return vn;
}

void
lfs_vnode_forget(LfsCtx *c, VNode *vn, uint64_t n)
{
  LfsVnodes *v = c->vnodes;
  g_mutex_lock(&v->lock);
  vn->nlookup -= MIN(n, vn->nlookup);
  gboolean gone = vn->nlookup == 0;
  if (gone) {
    lfs_vrecent_unlink(v, vn);
    g_hash_table_remove(v->by_key, vn);
  }
  g_mutex_unlock(&v->lock);
  if (gone) {
    lfs_itab_unref(c->itab, vn->dir);
    vnode_free_raw(vn);
  }
}

gboolean
lfs_vnode_is_dir(VKind kind)
{
  switch (kind) {
  case VN_LINKS:
  case VN_SIBLINGS:
  case VN_SIBDIR:
  case VN_DANGLING:
  case VN_INODES:
  case VN_INODIR:
  case VN_ALLDANG:
  case VN_DIRS:
  case VN_POINTED:
  case VN_PTDIR:
    return TRUE;
  default:
    return FALSE;
  }
}

gboolean
lfs_vnode_is_root_page(const VNode *vn)
{
  return vn->kind == VN_LINKS && vn->root_page;
}

/* The slot of dir in the ring of removed .links, or -1. Under v->lock. */
static int
unlinked_find(LfsVnodes *v, LfsInode *dir)
{
  dev_t dev;
  ino_t ino;
  lfs_inode_devino(dir, &dev, &ino);
  for (guint k = 0; k < v->nunlinked; k++) {
    if (v->unlinked[k].dev == dev && v->unlinked[k].ino == ino)
      return (int)k;
  }
  return -1;
}

gboolean
lfs_vnodes_unlink_dlink(LfsCtx *c, LfsInode *dir)
{
  LfsVnodes *v = c->vnodes;
  g_mutex_lock(&v->lock);
  gboolean ok = unlinked_find(v, dir) < 0;
  if (ok) {
    LfsUnlinked *u = &v->unlinked[v->next_unlinked];
    lfs_inode_devino(dir, &u->dev, &u->ino);
    v->next_unlinked = (v->next_unlinked + 1) % LFS_UNLINKED_MAX;
    v->nunlinked = MIN(v->nunlinked + 1, LFS_UNLINKED_MAX);
  }
  g_mutex_unlock(&v->lock);
  return ok;
}

void
lfs_vnodes_dir_listed(LfsCtx *c, LfsInode *dir)
{
  LfsVnodes *v = c->vnodes;
  g_mutex_lock(&v->lock);
  int k = v->nunlinked > 0 ? unlinked_find(v, dir) : -1;
  if (k >= 0)
    v->unlinked[k] = (LfsUnlinked){0, 0}; /* (0, 0) names no directory */
  g_mutex_unlock(&v->lock);
}

guint64
lfs_vnodes_count(LfsCtx *c)
{
  g_mutex_lock(&c->vnodes->lock);
  guint64 n = g_hash_table_size(c->vnodes->by_key);
  g_mutex_unlock(&c->vnodes->lock);
  return n;
}
