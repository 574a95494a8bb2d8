/* watch-tree.c: the directories of SOURCE as the watch mechanism knows
 * them (see watch-tree.h). Two tables: key -> node, and (parent,
 * name) -> node; each node lists its children, so a subtree can be let
 * go of. About 150 bytes a directory. */
#include "watch-tree.h"

#include "core/names.h"

#include <string.h>

typedef struct WNode WNode;

typedef struct {
  WNode *node;
  guint32 len;
  guint32 hash;
  guint8 bytes[];
} WKey;

struct WNode {
  WNode *parent; /* NULL for the root */
  WNode *child, *prev, *next;
  char *name; /* NULL for the root */
  WKey *key;  /* NULL: a place on the way to keyed nodes */
  dev_t dev;
  ino_t ino;
};

struct LfsWTree {
  WNode *root;
  GHashTable *keys;   /* WKey set */
  GHashTable *places; /* WNode set, by (parent, name); the root is not in it */
};

static guint
key_hash(gconstpointer p)
{
  return ((const WKey *)p)->hash;
}

static gboolean
key_equal(gconstpointer a, gconstpointer b)
{
  const WKey *x = a, *y = b;
  return x->len == y->len && memcmp(x->bytes, y->bytes, x->len) == 0;
}

static guint32
bytes_hash(const guint8 *b, gsize len)
{
  guint32 h = 2166136261u; /* FNV-1a */
  for (gsize k = 0; k < len; k++)
    h = (h ^ b[k]) * 16777619u;
  return h;
}

static guint
place_hash(gconstpointer p)
{
  const WNode *n = p;
  return g_str_hash(n->name) ^ g_direct_hash(n->parent);
}

static gboolean
place_equal(gconstpointer a, gconstpointer b)
{
  const WNode *x = a, *y = b;
  return x->parent == y->parent && strcmp(x->name, y->name) == 0;
}

LfsWTree *
lfs_wtree_new(void)
{
  LfsWTree *t = g_new0(LfsWTree, 1);
  t->root = g_new0(WNode, 1);
  t->keys = g_hash_table_new_full(key_hash, key_equal, g_free, NULL);
  t->places = g_hash_table_new(place_hash, place_equal);
  return t;
}

static WKey *
key_find(LfsWTree *t, const void *key, gsize len)
{
  if (len > LFS_WKEY_MAX)
    return NULL;
  union {
    WKey k;
    guint8 buf[sizeof(WKey) + LFS_WKEY_MAX];
  } probe;
  probe.k.len = (guint32)len;
  probe.k.hash = bytes_hash(key, len);
  memcpy(probe.k.bytes, key, len);
  return g_hash_table_lookup(t->keys, &probe.k);
}

static WNode *
place_find(LfsWTree *t, WNode *parent, const char *name)
{
  WNode probe = {.parent = parent, .name = (char *)name};
  return g_hash_table_lookup(t->places, &probe);
}

/* n (detached) becomes parent's child name. */
static void
attach(LfsWTree *t, WNode *n, WNode *parent, const char *name)
{
  if (n->name == NULL || strcmp(n->name, name) != 0) {
    g_free(n->name);
    n->name = g_strdup(name);
  }
  n->parent = parent;
  n->prev = NULL;
  n->next = parent->child;
  if (parent->child != NULL)
    parent->child->prev = n;
  parent->child = n;
  g_hash_table_add(t->places, n);
}

static void
detach(LfsWTree *t, WNode *n)
{
  if (n->parent == NULL)
    return;
  g_hash_table_remove(t->places, n);
  if (n->prev != NULL)
    n->prev->next = n->next;
  else
    n->parent->child = n->next;
  if (n->next != NULL)
    n->next->prev = n->prev;
  n->parent = n->prev = n->next = NULL;
}

static void
key_drop(LfsWTree *t, WKey *k, GPtrArray *dropped)
{
  if (dropped != NULL)
    g_ptr_array_add(dropped, g_bytes_new(k->bytes, k->len));
  k->node->key = NULL;
  g_hash_table_remove(t->keys, k);
}

/* Free the detached node top and everything below it. */
static void
free_subtree(LfsWTree *t, WNode *top, GPtrArray *dropped)
{
  g_autoptr(GPtrArray) stack = g_ptr_array_new();
  g_ptr_array_add(stack, top);
  while (stack->len > 0) {
    WNode *n = g_ptr_array_steal_index(stack, stack->len - 1);
    for (WNode *ch = n->child; ch != NULL; ch = ch->next) {
      g_hash_table_remove(t->places, ch);
      g_ptr_array_add(stack, ch);
    }
    if (n->key != NULL)
      key_drop(t, n->key, dropped);
    g_free(n->name);
    g_free(n);
  }
}

/* Free n and its ancestors while they hold nothing. */
static void
prune(LfsWTree *t, WNode *n)
{
  while (n != NULL && n != t->root && n->key == NULL && n->child == NULL) {
    WNode *parent = n->parent;
    detach(t, n);
    g_free(n->name);
    g_free(n);
    n = parent;
  }
}

void
lfs_wtree_free(LfsWTree *t)
{
  if (t == NULL)
    return;
  free_subtree(t, t->root, NULL);
  g_hash_table_unref(t->keys);
  g_hash_table_unref(t->places);
  g_free(t);
}

static WNode *
node_at(LfsWTree *t, const char *rel, gboolean create)
{
  WNode *cur = t->root;
  if (rel == NULL || *rel == '\0')
    return cur;
  g_auto(GStrv) parts = g_strsplit(rel, "/", -1);
  for (guint k = 0; parts[k] != NULL; k++) {
    WNode *next = place_find(t, cur, parts[k]);
    if (next == NULL) {
      if (!create)
        return NULL;
      next = g_new0(WNode, 1);
      attach(t, next, cur, parts[k]);
    }
    cur = next;
  }
  return cur;
}

static char *
node_path(LfsWTree *t, const WNode *n)
{
  g_autoptr(GPtrArray) parts = g_ptr_array_new();
  for (; n != t->root; n = n->parent) {
    if (n == NULL)
      return NULL;
    g_ptr_array_add(parts, n->name);
  }
  GString *s = g_string_new(NULL);
  for (guint k = parts->len; k > 0; k--) {
    g_string_append(s, parts->pdata[k - 1]);
    if (k > 1)
      g_string_append_c(s, '/');
  }
  return g_string_free(s, FALSE);
}

void
lfs_wtree_set(LfsWTree *t, const char *rel, const void *key, gsize len, dev_t dev,
              ino_t ino)
{
  if (len > LFS_WKEY_MAX)
    return;
  WNode *n = node_at(t, rel, TRUE);
  WKey *k = key_find(t, key, len);
  if (k == NULL || k->node != n) {
    if (n->key != NULL) /* another directory was here: it has gone */
      key_drop(t, n->key, NULL);
    if (k != NULL) { /* this one was elsewhere: it moved */
      WNode *old = k->node;
      old->key = NULL;
      prune(t, old);
    } else {
      k = g_malloc(sizeof(WKey) + len);
      k->len = (guint32)len;
      k->hash = bytes_hash(key, len);
      memcpy(k->bytes, key, len);
      g_hash_table_add(t->keys, k);
    }
    k->node = n;
    n->key = k;
  }
  n->dev = dev;
  n->ino = ino;
}

char *
lfs_wtree_path(LfsWTree *t, const void *key, gsize len, dev_t *dev, ino_t *ino)
{
  WKey *k = key_find(t, key, len);
  if (k == NULL)
    return NULL;
  if (dev != NULL)
    *dev = k->node->dev;
  if (ino != NULL)
    *ino = k->node->ino;
  return node_path(t, k->node);
}

gboolean
lfs_wtree_lookup(LfsWTree *t, const char *rel, dev_t *dev, ino_t *ino)
{
  WNode *n = node_at(t, rel, FALSE);
  if (n == NULL || n->key == NULL)
    return FALSE;
  if (dev != NULL)
    *dev = n->dev;
  if (ino != NULL)
    *ino = n->ino;
  return TRUE;
}

gboolean
lfs_wtree_move(LfsWTree *t, const char *oldrel, const char *newrel, GPtrArray *dropped)
{
  g_autofree char *dir = NULL, *name = NULL;
  WNode *n = node_at(t, oldrel, FALSE);
  if (n == NULL || n == t->root || !lfs_path_split(newrel, &dir, &name))
    return FALSE;
  WNode *parent = node_at(t, dir, TRUE);
  for (WNode *q = parent; q != NULL; q = q->parent) {
    if (q == n) {
      prune(t, parent);
      return FALSE;
    }
  }
  WNode *there = place_find(t, parent, name);
  if (there == n)
    return TRUE;
  if (there != NULL) {
    detach(t, there);
    free_subtree(t, there, dropped);
  }
  WNode *from = n->parent;
  detach(t, n);
  attach(t, n, parent, name);
  prune(t, from);
  return TRUE;
}

void
lfs_wtree_drop(LfsWTree *t, const char *rel, GPtrArray *dropped)
{
  WNode *n = node_at(t, rel, FALSE);
  if (n == NULL || n == t->root)
    return;
  WNode *parent = n->parent;
  detach(t, n);
  free_subtree(t, n, dropped);
  prune(t, parent);
}

void
lfs_wtree_forget(LfsWTree *t, const void *key, gsize len)
{
  WKey *k = key_find(t, key, len);
  if (k == NULL)
    return;
  WNode *n = k->node;
  key_drop(t, k, NULL);
  prune(t, n);
}

guint
lfs_wtree_size(LfsWTree *t)
{
  return g_hash_table_size(t->keys);
}
