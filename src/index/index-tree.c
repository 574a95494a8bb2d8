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

static guint32
name_hash(const char *name)
{
  guint32 h = 2166136261u; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)name; *p; p++)
    h = (h ^ *p) * 16777619u;
  return h ^ (h >> 15);
}

/* The slot holding name, or the free slot where it would go. */
static guint32
names_probe(const LfsNameSet *s, const char *name, guint32 h)
{
  guint32 mask = s->cap - 1;
  guint32 i = h & mask;
  while (s->slots[i] != NULL && strcmp(s->slots[i], name) != 0)
    i = (i + 1) & mask;
  return i;
}

static void
names_resize(LfsNameSet *s, guint32 cap)
{
  char **old = s->slots;
  guint32 oldcap = s->cap;
  s->slots = g_new0(char *, cap);
  s->cap = cap;
  for (guint32 i = 0; i < oldcap; i++) {
    if (old[i] == NULL)
      continue;
    guint32 j = name_hash(old[i]) & (cap - 1);
    while (s->slots[j] != NULL)
      j = (j + 1) & (cap - 1);
    s->slots[j] = old[i];
  }
  g_free(old);
}

/* Backward-shift deletion keeps every name reachable from its home. */
static void
names_delete_at(LfsNameSet *s, guint32 i)
{
  guint32 mask = s->cap - 1;
  for (guint32 j = (i + 1) & mask; s->slots[j] != NULL; j = (j + 1) & mask) {
    guint32 home = name_hash(s->slots[j]) & mask;
    if (((j - home) & mask) >= ((j - i) & mask)) {
      s->slots[i] = s->slots[j];
      i = j;
    }
  }
  s->slots[i] = NULL;
  s->used--;
  if (s->cap > 64 && s->used * 8 < s->cap)
    names_resize(s, s->cap / 2);
}

void
lfsi_names_clear(LfsContents *c)
{
  g_assert(c->names.used == 0);
  g_clear_pointer(&c->names.slots, g_free);
  c->names.cap = 0;
}

const char *
lfsi_name_find(LfsContents *c, const char *name)
{
  if (c->names.cap == 0)
    return NULL;
  return c->names.slots[names_probe(&c->names, name, name_hash(name))];
}

const char *
lfsi_name_ref(LfsContents *c, const char *name)
{
  LfsNameSet *s = &c->names;
  guint32 h = name_hash(name);
  /* Grow at 13/16 full: short probes, about 12 bytes a name. */
  if ((s->used + 1) * 16 > s->cap * 13)
    names_resize(s, s->cap ? s->cap * 2 : 16);
  guint32 i = names_probe(s, name, h);
  if (s->slots[i] != NULL) {
    INAME(s->slots[i])->ref++;
    return s->slots[i];
  }
  gsize len = strlen(name);
  IName *n = g_malloc(sizeof(IName) + len + 1);
  n->ref = 1;
  memcpy(n->str, name, len + 1);
  s->slots[i] = n->str;
  s->used++;
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
  LfsNameSet *s = &c->names;
  guint32 i = name_hash(iname) & (s->cap - 1);
  while (s->slots[i] != iname)
    i = (i + 1) & (s->cap - 1);
  names_delete_at(s, i);
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
slot_dist(const LfsTable *t, guint32 i)
{
  return (i - ptr_hash(t->slots[i].name)) & (t->cap - 1);
}

gint
lfsi_tab_find(const LfsTable *t, const char *iname)
{
  if (t->cap == 0 || iname == NULL)
    return -1;
  guint32 mask = t->cap - 1;
  guint32 i = ptr_hash(iname) & mask;
  for (guint32 dist = 0; dist < t->cap; dist++, i = (i + 1) & mask) {
    if (t->slots[i].name == NULL || slot_dist(t, i) < dist)
      return -1;
    if (t->slots[i].name == iname)
      return (gint)i;
  }
  return -1;
}

gint
lfsi_slot_find(const LfsDir *d, const char *iname)
{
  return d == NULL ? -1 : lfsi_tab_find(&d->e, iname);
}

static void
slot_place(LfsTable *t, LfsSlot s)
{
  guint32 mask = t->cap - 1;
  guint32 i = ptr_hash(s.name) & mask;
  for (guint32 dist = 0;; dist++, i = (i + 1) & mask) {
    if (t->slots[i].name == NULL) {
      t->slots[i] = s;
      return;
    }
    guint32 other = slot_dist(t, i);
    if (other < dist) {
      LfsSlot tmp = t->slots[i];
      t->slots[i] = s;
      s = tmp;
      dist = other;
    }
  }
}

static void
tab_resize(LfsTable *t, guint32 cap)
{
  LfsSlot *old = t->slots;
  guint32 oldcap = t->cap;
  t->slots = cap ? g_new0(LfsSlot, cap) : NULL;
  t->cap = cap;
  for (guint32 i = 0; i < oldcap; i++) {
    if (old[i].name != NULL)
      slot_place(t, old[i]);
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
lfsi_tab_insert(LfsTable *t, const char *iname, uintptr_t val)
{
  if (t->used + 1 > max_load(t->cap))
    tab_resize(t, t->cap ? t->cap * 2 : 2);
  slot_place(t, (LfsSlot){iname, val});
  t->used++;
}

/* Remove slot @i, shifting the following ones back. */
void
lfsi_tab_delete(LfsTable *t, gint i)
{
  guint32 mask = t->cap - 1;
  guint32 cur = (guint32)i;
  for (;;) {
    guint32 next = (cur + 1) & mask;
    if (t->slots[next].name == NULL || slot_dist(t, next) == 0)
      break;
    t->slots[cur] = t->slots[next];
    cur = next;
  }
  t->slots[cur] = (LfsSlot){NULL, 0};
  t->used--;
  if (t->used == 0)
    tab_resize(t, 0);
  else if (t->cap > 8 && t->used * 8 < t->cap)
    tab_resize(t, t->cap / 2);
}

void
lfsi_slot_insert(LfsDir *d, const char *iname, uintptr_t val)
{
  lfsi_tab_insert(&d->e, iname, val);
}

void
lfsi_slot_delete(LfsDir *d, gint i)
{
  lfsi_tab_delete(&d->e, i);
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

/* Whether @d holds nothing: neither indexed entries nor entries pointed at. */
gboolean
lfsi_dir_empty(const LfsDir *d)
{
  return d->e.used == 0 && d->p.used == 0;
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
    if (!lfsi_dir_empty(d) || d == idx->c.root)
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
