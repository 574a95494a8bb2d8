/* index-tree.c: the building blocks of the link index: interned names,
 * the directory slot tables (Robin Hood hashing on the interned name's
 * address) and directory nodes.  Callers hold the index's writer lock. */
#include "config.h"

#include <string.h>

#include "index-private.h"

/* ---- interned names: a refcount before the characters ---- */

typedef struct {
  guint32 ref;
  char str[];
} IName;

#define INAME(s) ((IName *)(void *)((char *)(s)-G_STRUCT_OFFSET(IName, str)))

const char *
lfsi_name_find(LfsContents *c, const char *name)
{
  return g_hash_table_lookup(c->names, name);
}

const char *
lfsi_name_ref(LfsContents *c, const char *name)
{
  char *s = g_hash_table_lookup(c->names, name);
  if (s != NULL) {
    INAME(s)->ref++;
    return s;
  }
  gsize len = strlen(name);
  IName *n = g_malloc(sizeof(IName) + len + 1);
  n->ref = 1;
  memcpy(n->str, name, len + 1);
  g_hash_table_add(c->names, n->str);
  return n->str;
}

const char *
lfsi_name_dup(const char *iname)
{
  INAME(iname)->ref++;
  return iname;
}

void
lfsi_name_unref(LfsContents *c, const char *iname)
{
  IName *n = INAME(iname);
  if (--n->ref > 0)
    return;
  g_hash_table_remove(c->names, iname);
  g_free(n);
}

/* ---- directory slots: Robin Hood hashing on the name's address ---- */

static guint32
ptr_hash(const void *p)
{
  guint64 x = (guint64)(uintptr_t)p;
  x ^= x >> 33;
  x *= G_GUINT64_CONSTANT(0xff51afd7ed558ccd);
  x ^= x >> 33;
  return (guint32)x;
}

static guint32
slot_dist(const LfsDir *d, guint32 i)
{
  return (i - ptr_hash(d->slots[i].name)) & (d->cap - 1);
}

gint
lfsi_slot_find(const LfsDir *d, const char *iname)
{
  if (d == NULL || d->cap == 0 || iname == NULL)
    return -1;
  guint32 mask = d->cap - 1;
  guint32 i = ptr_hash(iname) & mask;
  for (guint32 dist = 0; dist < d->cap; dist++, i = (i + 1) & mask) {
    if (d->slots[i].name == NULL || slot_dist(d, i) < dist)
      return -1;
    if (d->slots[i].name == iname)
      return (gint)i;
  }
  return -1;
}

static void
slot_place(LfsDir *d, LfsSlot s)
{
  guint32 mask = d->cap - 1;
  guint32 i = ptr_hash(s.name) & mask;
  for (guint32 dist = 0;; dist++, i = (i + 1) & mask) {
    if (d->slots[i].name == NULL) {
      d->slots[i] = s;
      return;
    }
    guint32 other = slot_dist(d, i);
    if (other < dist) {
      LfsSlot tmp = d->slots[i];
      d->slots[i] = s;
      s = tmp;
      dist = other;
    }
  }
}

static void
dir_resize(LfsDir *d, guint32 cap)
{
  LfsSlot *old = d->slots;
  guint32 oldcap = d->cap;
  d->slots = cap ? g_new0(LfsSlot, cap) : NULL;
  d->cap = cap;
  for (guint32 i = 0; i < oldcap; i++) {
    if (old[i].name != NULL)
      slot_place(d, old[i]);
  }
  g_free(old);
}

/* Small tables may be full; larger ones up to 15/16 (Robin Hood keeps
 * probes short there). */
static guint32
max_load(guint32 cap)
{
  return cap <= 8 ? cap : cap - cap / 16;
}

void
lfsi_slot_insert(LfsDir *d, const char *iname, uintptr_t val)
{
  if (d->used + 1 > max_load(d->cap))
    dir_resize(d, d->cap ? d->cap * 2 : 2);
  slot_place(d, (LfsSlot){iname, val});
  d->used++;
}

/* Remove slot @i, shifting the following ones back. */
void
lfsi_slot_delete(LfsDir *d, gint i)
{
  guint32 mask = d->cap - 1;
  guint32 cur = (guint32)i;
  for (;;) {
    guint32 next = (cur + 1) & mask;
    if (d->slots[next].name == NULL || slot_dist(d, next) == 0)
      break;
    d->slots[cur] = d->slots[next];
    cur = next;
  }
  d->slots[cur] = (LfsSlot){NULL, 0};
  d->used--;
  if (d->used == 0)
    dir_resize(d, 0);
  else if (d->cap > 8 && d->used * 8 < d->cap)
    dir_resize(d, d->cap / 2);
}

/* ---- directory nodes ---- */

LfsDir *
lfsi_dir_new(LfsContents *c, LfsDir *parent, const char *iname)
{
  LfsDir *d = g_new0(LfsDir, 1);
  if (parent != NULL)
    c->dir_nodes++;
  d->parent = parent;
  d->name = iname;
  return d;
}

void
lfsi_queue_prune(LfsIndex *idx, LfsDir *d)
{
  if (d != NULL && d != idx->c.root)
    g_hash_table_add(idx->prune, d);
}

/* Free the empty directories queued; their parents may follow. */
void
lfsi_run_prune(LfsIndex *idx)
{
  GHashTableIter it;
  gpointer key;
  for (;;) {
    g_hash_table_iter_init(&it, idx->prune);
    if (!g_hash_table_iter_next(&it, &key, NULL))
      return;
    LfsDir *d = key;
    g_hash_table_iter_remove(&it);
    if (d->used > 0 || d == idx->c.root)
      continue;
    LfsDir *parent = d->parent;
    gint i = lfsi_slot_find(parent, d->name);
    g_assert(i >= 0);
    lfsi_slot_delete(parent, i);
    lfsi_name_unref(&idx->c, d->name);
    g_free(d);
    idx->c.dir_nodes--;
    lfsi_queue_prune(idx, parent);
  }
}

char *
lfsi_dir_path(const LfsDir *d)
{
  GPtrArray *parts = g_ptr_array_new();
  for (; d != NULL && d->parent != NULL; d = d->parent)
    g_ptr_array_add(parts, (gpointer)d->name);
  GString *s = g_string_new(NULL);
  for (guint i = parts->len; i > 0; i--) {
    g_string_append(s, parts->pdata[i - 1]);
    if (i > 1)
      g_string_append_c(s, '/');
  }
  g_ptr_array_unref(parts);
  return g_string_free(s, FALSE);
}
