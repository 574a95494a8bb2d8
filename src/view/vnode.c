/* vnode.c: the records of the virtual .links trees and their keys. What
 * they show is in vlist.c (listings) and vstat.c (targets, attributes). */
#include "vnode-private.h"

#include "links.h"

#include <string.h>

static void
vnode_free_raw(VNode *vn)
{
  g_free(vn->name);
  g_free(vn->flat);
  g_free(vn->key);
  g_free(vn);
}

LfsVnodes *
lfs_vnodes_new(void)
{
  LfsVnodes *v = g_new0(LfsVnodes, 1);
  g_mutex_init(&v->lock);
  v->by_key = g_hash_table_new(g_str_hash, g_str_equal);
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
  while (g_hash_table_iter_next(&it, NULL, &val)) {
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

char *
lfs_vspec_key(const VSpec *sp)
{
  char nums[3][24];
  const char *p[KEY_PIECES];
  spec_pieces(sp, nums, p);
  return g_strconcat(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], NULL);
}

/* 2^62 and up: above any real inode of the source's filesystem, below the
 * numbers given to other filesystems (2^63 and up). */
static uint64_t
hash_vino(guint64 h)
{
  return (1ull << 62) | (h & ((1ull << 62) - 1));
}

/* The hash of spec_key(sp), without making the key. */
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

VNode *
lfs_vnode_get(LfsCtx *c, const VSpec *sp)
{
  g_autofree char *key = lfs_vspec_key(sp);
  LfsVnodes *v = c->vnodes;
  g_mutex_lock(&v->lock);
  VNode *vn = g_hash_table_lookup(v->by_key, key);
  if (vn == NULL) {
    vn = g_new0(VNode, 1);
    vn->kind = sp->kind;
    vn->dir = sp->dir;
    lfs_itab_ref(c->itab, sp->dir);
    vn->gdev = sp->gdev;
    vn->gino = sp->gino;
    vn->name = g_strdup(sp->name);
    vn->flat = g_strdup(sp->flat);
    vn->vino = lfs_vnode_peek_vino(sp); /* the number listings give it */
    vn->key = g_steal_pointer(&key);
    g_hash_table_insert(v->by_key, vn->key, vn);
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
    g_hash_table_remove(v->by_key, vn->key);
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
    return TRUE;
  default:
    return FALSE;
  }
}
