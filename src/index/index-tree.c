/* index-tree.c: the building blocks of the link index: tables of named
 * records (open addressing with a tag byte per slot), directory nodes,
 * device numbers.  Callers hold the index's lock (writer for changes). */
#include "config.h"

#include <limits.h>
#include <string.h>

#include "index-private.h"
#include "core/names.h"

/* ---- names ---- */

guint32
lfsi_hash(const char *name)
{
  guint32 h = 2166136261u; /* FNV-1a, then a finalizer mixing all bits */
  for (const unsigned char *p = (const unsigned char *)name; *p; p++)
    h = (h ^ *p) * 16777619u;
  h ^= h >> 16;
  h *= 0x7feb352du;
  h ^= h >> 15;
  h *= 0x846ca68bu;
  h ^= h >> 16;
  return h;
}

const char *
lfsi_slot_name(uintptr_t v)
{
  switch (SLOT_TAG(v)) {
  case TAG_DIR:
    return ((const LfsDir *)SLOT_PTR(v))->name;
  case TAG_ENT:
    return ((const LfsEnt *)SLOT_PTR(v))->name;
  case TAG_TGT:
    return ((const LfsTarget *)SLOT_PTR(v))->name;
  default:
    return ((const LfsDepBucket *)SLOT_PTR(v))->name;
  }
}

gboolean
lfsi_next_comp(const char **path, char *comp)
{
  const char *p = *path;
  while (*p == '/')
    p++;
  if (*p == '\0')
    return FALSE;
  const char *end = strchrnul(p, '/');
  gsize len = MIN((gsize)(end - p), (gsize)NAME_MAX);
  memcpy(comp, p, len);
  comp[len] = '\0';
  *path = end;
  return TRUE;
}

/* ---- tables ----
 * The hash's high bits choose the home slot, its low 7 the tag. */

/* A slot's tag: the low 7 bits of the hash (its home takes the high ones). */
static inline guint8
tag_of(guint32 h)
{
  return (guint8)(0x80 | (h & 0x7f));
}

/* The home slot of @h in a table of @cap (any size: it grows by half). */
static inline guint32
home_of(guint32 h, guint32 cap)
{
  return (guint32)(((guint64)h * cap) >> 32);
}

static inline guint32
next_slot(guint32 i, guint32 cap)
{
  return i + 1 == cap ? 0 : i + 1;
}

static inline guint8 *
tab_tags(const LfsTable *t)
{
  return (guint8 *)(t->slots + t->cap);
}

static gsize
tab_bytes(guint32 cap)
{
  return (gsize)cap * (sizeof(uintptr_t) + 1);
}

gint
lfsi_tab_find(const LfsTable *t, const char *name, guint32 hash)
{
  if (t->cap == 0)
    return -1;
  guint8 tag = tag_of(hash);
  const guint8 *tags = tab_tags(t);
  for (guint32 i = home_of(hash, t->cap);; i = next_slot(i, t->cap)) {
    if (tags[i] == 0)
      return -1;
    if (tags[i] == tag && strcmp(lfsi_slot_name(t->slots[i]), name) == 0)
      return (gint)i;
  }
}

static void
tab_place(LfsTable *t, uintptr_t v, guint32 hash)
{
  guint8 *tags = tab_tags(t);
  guint32 i = home_of(hash, t->cap);
  while (tags[i] != 0)
    i = next_slot(i, t->cap);
  t->slots[i] = v;
  tags[i] = tag_of(hash);
}

static void
tab_resize(LfsArena *a, LfsTable *t, guint32 cap)
{
  LfsTable old = *t;
  t->cap = cap;
  t->slots = cap > 0 ? lfsi_alloc0(a, tab_bytes(cap)) : NULL;
  const guint8 *tags = tab_tags(&old);
  for (guint32 i = 0; i < old.cap; i++) {
    if (tags[i] != 0)
      tab_place(t, old.slots[i], lfsi_hash(lfsi_slot_name(old.slots[i])));
  }
  if (old.cap > 0)
    lfsi_dealloc(a, old.slots, tab_bytes(old.cap));
}

/* Full up to 15/16 (7/8 below 16 slots: the tags keep long probes cheap)
 * and grown by a quarter up to 256 slots, so that a small table is 75-94 %
 * full (the directories of a big tree hold a few dozen indexed names each:
 * their tables are a good part of what the index costs), by half above
 * (fewer rehashes of big directories). */
static gboolean
tab_full(guint32 used, guint32 cap)
{
  return cap < 16 ? used * 8 > cap * 7 : used * 16 > cap * 15;
}

void
lfsi_tab_insert(LfsArena *a, LfsTable *t, uintptr_t v, guint32 hash)
{
  if (tab_full(t->used + 1, t->cap))
    tab_resize(a, t, t->cap < 4 ? 4 : t->cap + MAX(t->cap / (t->cap < 256 ? 4 : 2), 1));
  tab_place(t, v, hash);
  t->used++;
}

/* Backward shift: every record stays reachable from its home slot. */
void
lfsi_tab_delete(LfsArena *a, LfsTable *t, gint slot)
{
  guint8 *tags = tab_tags(t);
  guint32 i = (guint32)slot;
  for (guint32 j = next_slot(i, t->cap); tags[j] != 0; j = next_slot(j, t->cap)) {
    guint32 home = home_of(lfsi_hash(lfsi_slot_name(t->slots[j])), t->cap);
    /* j stays if its home lies cyclically in (i, j] */
    gboolean stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays)
      continue;
    t->slots[i] = t->slots[j];
    tags[i] = tags[j];
    i = j;
  }
  tags[i] = 0;
  t->slots[i] = 0;
  t->used--;
  if (t->used == 0)
    tab_resize(a, t, 0);
  else if (t->cap > 8 && t->used * 4 < t->cap)
    tab_resize(a, t, t->cap / 2);
}

void
lfsi_tab_clear(LfsArena *a, LfsTable *t)
{
  if (t->cap > 0)
    lfsi_dealloc(a, t->slots, tab_bytes(t->cap));
  *t = (LfsTable){0};
}

/* ---- directory nodes ---- */

static char *
name_new(LfsContents *c, const char *name)
{
  gsize n = strlen(name) + 1;
  char *s = lfsi_alloc(c->arena, n);
  memcpy(s, name, n);
  return s;
}

static void
name_free(LfsContents *c, char *name)
{
  if (name != NULL)
    lfsi_dealloc(c->arena, name, strlen(name) + 1);
}

LfsDir *
lfsi_dir_new(LfsContents *c, LfsDir *parent, const char *name)
{
  LfsDir *d = lfsi_alloc0(c->arena, sizeof *d);
  if (parent != NULL)
    c->dir_nodes++;
  d->parent = parent;
  d->name = name != NULL ? name_new(c, name) : NULL;
  return d;
}

void
lfsi_dir_free(LfsIndex *idx, LfsDir *d)
{
  LfsContents *c = &idx->c;
  g_assert(d->e.used == 0 && d->p.used == 0);
  g_hash_table_remove(idx->prune, d);
  if (d->parent != NULL)
    c->dir_nodes--;
  lfsi_tab_clear(c->arena, &d->e);
  lfsi_tab_clear(c->arena, &d->p);
  name_free(c, d->name);
  lfsi_dealloc(c->arena, d, sizeof *d);
}

void
lfsi_dir_rename(LfsContents *c, LfsDir *d, LfsDir *parent, const char *name)
{
  if (strcmp(d->name, name) != 0) {
    name_free(c, d->name);
    d->name = name_new(c, name);
  }
  d->parent = parent;
}

gint
lfsi_dir_find(const LfsDir *d, const char *name)
{
  return d == NULL ? -1 : lfsi_tab_find(&d->e, name, lfsi_hash(name));
}

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
    gint i = lfsi_dir_find(parent, d->name);
    g_assert(i >= 0 && SLOT_PTR(parent->e.slots[i]) == d);
    lfsi_tab_delete(idx->c.arena, &parent->e, i);
    lfsi_dir_free(idx, d);
    lfsi_queue_prune(idx, parent);
  }
}

char *
lfsi_dir_path(const LfsDir *d)
{
  gsize len = 0; /* each name and its '/' or, for the last, the NUL */
  for (const LfsDir *x = d; x != NULL && x->parent != NULL; x = x->parent)
    len += strlen(x->name) + 1;
  if (len == 0)
    return g_strdup("");
  char *s = g_malloc(len);
  char *p = s + len - 1; /* filled from the end */
  *p = '\0';
  for (const LfsDir *x = d; x != NULL && x->parent != NULL; x = x->parent) {
    gsize l = strlen(x->name);
    p -= l;
    memcpy(p, x->name, l);
    if (p > s)
      *--p = '/';
  }
  return s;
}

char *
lfsi_ent_path(const LfsEnt *e)
{
  g_autofree char *dir = lfsi_dir_path(e->dir);
  return lfs_path_join(dir, e->name);
}
