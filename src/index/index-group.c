/* index-group.c: hard-link groups, (dev, ino) -> {nlink, names}, the
 * sets that find them (one per device) and the devices.  A group's names are two pointers
 * inline, an array up to GROUP_ARRAY_MAX, above that a set of pointers: adding or
 * removing one name of a group of 100,000 costs what it costs in a group of two. Callers
 * hold the index's writer lock. */
#include "config.h"

#include <string.h>

#include "index-private.h"

/* ---- the set of groups: open addressing, a tag byte per slot ---- */

static guint32
group_hash(ino_t ino)
{
  guint64 x = (guint64)ino;
  x ^= x >> 33;
  x *= G_GUINT64_CONSTANT(0xff51afd7ed558ccd);
  x ^= x >> 33;
  return (guint32)x;
}

static inline guint8
gtag(guint32 h)
{
  return (guint8)(0x80 | (h & 0x7f));
}

static inline guint32
ghome(guint32 h, guint32 cap)
{
  return (guint32)(((guint64)h * cap) >> 32);
}

static inline guint32
gnext(guint32 i, guint32 cap)
{
  return i + 1 == cap ? 0 : i + 1;
}

static inline guint8 *
set_tags(const LfsGroupSet *s)
{
  return (guint8 *)(s->slots + s->cap);
}

static gsize
set_bytes(guint32 cap)
{
  return (gsize)cap * (sizeof(LfsGroup *) + 1);
}

static void
set_place(LfsGroupSet *s, LfsGroup *g)
{
  guint32 h = group_hash(g->ino);
  guint8 *tags = set_tags(s);
  guint32 i = ghome(h, s->cap);
  while (tags[i] != 0)
    i = gnext(i, s->cap);
  s->slots[i] = g;
  tags[i] = gtag(h);
}

static void
set_resize(LfsArena *a, LfsGroupSet *s, guint32 cap)
{
  LfsGroupSet old = *s;
  s->cap = cap;
  s->slots = cap > 0 ? lfsi_alloc0(a, set_bytes(cap)) : NULL;
  const guint8 *tags = set_tags(&old);
  for (guint32 i = 0; i < old.cap; i++) {
    if (tags[i] != 0)
      set_place(s, old.slots[i]);
  }
  if (old.cap > 0)
    lfsi_dealloc(a, old.slots, set_bytes(old.cap));
}

static gint
set_find(const LfsGroupSet *s, ino_t ino)
{
  if (s->cap == 0)
    return -1;
  guint32 h = group_hash(ino);
  const guint8 *tags = set_tags(s);
  guint8 tag = gtag(h);
  for (guint32 i = ghome(h, s->cap);; i = gnext(i, s->cap)) {
    if (tags[i] == 0)
      return -1;
    if (tags[i] == tag && s->slots[i]->ino == ino)
      return (gint)i;
  }
}

static void
set_delete(LfsArena *a, LfsGroupSet *s, gint slot)
{
  guint8 *tags = set_tags(s);
  guint32 i = (guint32)slot;
  for (guint32 j = gnext(i, s->cap); tags[j] != 0; j = gnext(j, s->cap)) {
    guint32 home = ghome(group_hash(s->slots[j]->ino), s->cap);
    gboolean stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays)
      continue;
    s->slots[i] = s->slots[j];
    tags[i] = tags[j];
    i = j;
  }
  tags[i] = 0;
  s->slots[i] = NULL;
  s->used--;
  if (s->used == 0)
    set_resize(a, s, 0);
  else if (s->cap > 16 && s->used * 4 < s->cap)
    set_resize(a, s, s->cap / 2);
}

/* ---- devices ---- */

static LfsDevice *
device(const LfsContents *c, guint32 i)
{
  return &g_array_index(c->devs, LfsDevice, i);
}

guint32
lfsi_dev_index(LfsContents *c, dev_t dev)
{
  for (guint i = 0; i < c->devs->len; i++) {
    if (device(c, i)->dev == dev)
      return i;
  }
  LfsDevice d = {.dev = dev};
  g_array_append_val(c->devs, d);
  return c->devs->len - 1;
}

dev_t
lfsi_dev_of(const LfsContents *c, guint32 i)
{
  return device(c, i)->dev;
}

/* The device whose set holds @g. */
static LfsDevice *
group_device(const LfsContents *c, const LfsGroup *g)
{
  for (guint i = 0; i < c->devs->len; i++) {
    LfsDevice *d = device(c, i);
    gint k = set_find(&d->groups, g->ino);
    if (k >= 0 && d->groups.slots[k] == g)
      return d;
  }
  g_assert_not_reached();
}

dev_t
lfsi_group_dev(const LfsContents *c, const LfsGroup *g)
{
  return group_device(c, g)->dev;
}

LfsGroup *
lfsi_group_find(LfsContents *c, dev_t dev, ino_t ino)
{
  for (guint i = 0; i < c->devs->len; i++) {
    LfsDevice *d = device(c, i);
    if (d->dev == dev) {
      gint k = set_find(&d->groups, ino);
      return k >= 0 ? d->groups.slots[k] : NULL;
    }
  }
  return NULL;
}

guint32
lfsi_groups_count(const LfsContents *c)
{
  return c->ngroups;
}

void
lfsi_groups_foreach(LfsContents *c, void (*fn)(LfsGroup *g, gpointer data), gpointer data)
{
  for (guint d = 0; d < c->devs->len; d++) {
    const LfsGroupSet *s = &device(c, d)->groups;
    const guint8 *tags = set_tags(s);
    for (guint32 i = 0; i < s->cap; i++) {
      if (tags[i] != 0)
        fn(s->slots[i], data);
    }
  }
}

/* ---- counters ---- */

guint64
lfsi_group_outside(const LfsGroup *g)
{
  return g->nlink > g->npaths ? g->nlink - g->npaths : 0;
}

/* Take @g out of (sign < 0) or into (sign > 0) the counters. */
static void
account(LfsContents *c, const LfsGroup *g, int sign)
{
  if (sign > 0) {
    c->hardlink_paths += g->npaths;
    c->outside_links += lfsi_group_outside(g);
  } else {
    c->hardlink_paths -= g->npaths;
    c->outside_links -= lfsi_group_outside(g);
  }
}

static guint32
clamp_nlink(guint64 nlink)
{
  return (guint32)MIN(nlink, (guint64)G_MAXUINT32);
}

LfsGroup *
lfsi_group_get(LfsContents *c, dev_t dev, ino_t ino, guint64 nlink)
{
  LfsGroup *g = lfsi_group_find(c, dev, ino);
  if (g != NULL) {
    lfsi_group_set_nlink(c, g, nlink);
    return g;
  }
  g = lfsi_alloc0(c->arena, sizeof *g);
  g->ino = ino;
  g->nlink = clamp_nlink(nlink);
  LfsGroupSet *s = &device(c, lfsi_dev_index(c, dev))->groups;
  if ((s->used + 1) * 8 > s->cap * 7)
    set_resize(c->arena, s, s->cap ? s->cap + s->cap / 2 : 16);
  set_place(s, g);
  s->used++;
  c->ngroups++;
  account(c, g, +1);
  return g;
}

void
lfsi_group_set_nlink(LfsContents *c, LfsGroup *g, guint64 nlink)
{
  account(c, g, -1);
  g->nlink = clamp_nlink(nlink);
  account(c, g, +1);
}

/* ---- a group's names ---- */

static gsize
paths_bytes(guint32 cap)
{
  return (gsize)cap * sizeof(LfsEnt *);
}

static guint32
ptr_hash(const void *p)
{
  guint64 x = (guint64)(uintptr_t)p;
  x ^= x >> 33;
  x *= G_GUINT64_CONSTANT(0xc4ceb9fe1a85ec53);
  x ^= x >> 33;
  return (guint32)x;
}

static void
pset_place(LfsEnt **slots, guint32 cap, LfsEnt *e)
{
  guint32 i = ptr_hash(e) & (cap - 1);
  while (slots[i] != NULL)
    i = (i + 1) & (cap - 1);
  slots[i] = e;
}

/* The store of @g's names for @n of them: inline (n <= 2), an array of
 * @cap (up to GROUP_ARRAY_MAX) or a set of @cap; the names move there. */
static void
paths_restore(LfsContents *c, LfsGroup *g, guint32 n, guint32 cap)
{
  guint32 old_n;
  LfsEnt **old = group_slots(g, &old_n);
  guint32 oldcap = g->npaths > 2 ? g->paths.h.cap : 0;
  LfsEnt *keep[2] = {NULL, NULL};
  LfsEnt **dst = n <= 2 ? keep : lfsi_alloc0(c->arena, paths_bytes(cap));
  guint32 k = 0;
  for (guint32 i = 0; i < old_n; i++) {
    if (old[i] == NULL)
      continue;
    if (n > 2 && cap > GROUP_ARRAY_MAX)
      pset_place(dst, cap, old[i]);
    else
      dst[k++] = old[i];
  }
  if (oldcap > 0)
    lfsi_dealloc(c->arena, old, paths_bytes(oldcap));
  if (n <= 2) {
    memcpy(g->paths.inline_, keep, sizeof keep);
  } else {
    g->paths.h.heap = dst;
    g->paths.h.cap = cap;
  }
}

void
lfsi_group_add_path(LfsContents *c, LfsGroup *g, LfsEnt *e)
{
  account(c, g, -1);
  guint32 n = g->npaths + 1;
  if (n == 3) {
    paths_restore(c, g, n, 4);
  } else if (n > 3 && !group_is_set(g) && g->npaths == g->paths.h.cap) {
    /* Arrays grow by two names (most groups have a few), sets double. */
    guint32 cap = g->paths.h.cap;
    paths_restore(c, g, n, cap < GROUP_ARRAY_MAX ? cap + 2 : 4 * GROUP_ARRAY_MAX);
  } else if (n > 3 && group_is_set(g) && n * 4 > g->paths.h.cap * 3) {
    paths_restore(c, g, n, g->paths.h.cap * 2);
  }
  if (n <= 2)
    g->paths.inline_[g->npaths] = e;
  else if (g->paths.h.cap > GROUP_ARRAY_MAX)
    pset_place(g->paths.h.heap, g->paths.h.cap, e);
  else
    g->paths.h.heap[g->npaths] = e;
  g->npaths = n;
  account(c, g, +1);
}

/* Delete slot @i of the set of @g: backward shift. */
static void
pset_delete(LfsGroup *g, guint32 i)
{
  LfsEnt **s = g->paths.h.heap;
  guint32 mask = g->paths.h.cap - 1;
  for (guint32 j = (i + 1) & mask; s[j] != NULL; j = (j + 1) & mask) {
    guint32 home = ptr_hash(s[j]) & mask;
    gboolean stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays)
      continue;
    s[i] = s[j];
    i = j;
  }
  s[i] = NULL;
}

static gint
pset_find(const LfsGroup *g, const LfsEnt *e)
{
  guint32 mask = g->paths.h.cap - 1;
  for (guint32 i = ptr_hash(e) & mask;; i = (i + 1) & mask) {
    if (g->paths.h.heap[i] == e)
      return (gint)i;
    if (g->paths.h.heap[i] == NULL)
      return -1;
  }
}

void
lfsi_group_remove_path(LfsContents *c, LfsGroup *g, LfsEnt *e)
{
  account(c, g, -1);
  guint32 n;
  LfsEnt **a = group_slots(g, &n);
  if (group_is_set(g)) {
    gint i = pset_find(g, e);
    g_assert(i >= 0);
    pset_delete(g, (guint32)i);
  } else {
    guint32 i = 0;
    while (i < n && a[i] != e)
      i++;
    g_assert(i < n);
    a[i] = a[n - 1];
    a[n - 1] = NULL;
  }
  /* The store follows: inline at 2 names, an array again at half of
   * GROUP_ARRAY_MAX, a smaller set or array when mostly empty. */
  guint32 left = g->npaths - 1;
  guint32 cap = g->npaths > 2 ? g->paths.h.cap : 0;
  if (left == 2)
    paths_restore(c, g, left, 0);
  else if (cap > GROUP_ARRAY_MAX && left <= GROUP_ARRAY_MAX / 2)
    paths_restore(c, g, left, GROUP_ARRAY_MAX);
  else if (cap > 4 * GROUP_ARRAY_MAX && left * 8 < cap)
    paths_restore(c, g, left, cap / 2);
  else if (cap > 0 && cap <= GROUP_ARRAY_MAX && left + 4 <= cap)
    paths_restore(c, g, left, left + 2);
  g->npaths = left;
  account(c, g, +1);
}

void
lfsi_group_replace_path(LfsContents *c, LfsGroup *g, LfsEnt *e, LfsEnt *ne)
{
  if (group_is_set(g)) {
    gint i = pset_find(g, e);
    g_assert(i >= 0);
    pset_delete(g, (guint32)i);
    pset_place(g->paths.h.heap, g->paths.h.cap, ne);
    return;
  }
  guint32 n;
  LfsEnt **a = group_slots(g, &n);
  for (guint32 i = 0; i < n; i++) {
    if (a[i] == e) {
      a[i] = ne;
      return;
    }
  }
  g_assert_not_reached();
}

void
lfsi_group_destroy(LfsContents *c, LfsGroup *g)
{
  account(c, g, -1);
  LfsGroupSet *s = &group_device(c, g)->groups;
  set_delete(c->arena, s, set_find(s, g->ino));
  c->ngroups--;
  if (g->npaths > 2)
    lfsi_dealloc(c->arena, g->paths.h.heap, paths_bytes(g->paths.h.cap));
  lfsi_dealloc(c->arena, g, sizeof *g);
}

void
lfsi_groups_clear(LfsContents *c)
{
  g_assert(c->ngroups == 0);
  for (guint d = 0; d < c->devs->len; d++)
    set_resize(c->arena, &device(c, d)->groups, 0);
}

/* ---- inode keys (index.h) ---- */

guint
lfs_ino_hash(dev_t dev, ino_t ino)
{
  return (guint)(ino ^ (ino >> 32) ^ ((guint64)dev * 0x9E3779B1u));
}

guint
lfs_ino_key_hash(gconstpointer key)
{
  const LfsInoKey *k = key;
  return lfs_ino_hash(k->dev, k->ino);
}

gboolean
lfs_ino_key_equal(gconstpointer a, gconstpointer b)
{
  const LfsInoKey *x = a, *y = b;
  return x->dev == y->dev && x->ino == y->ino;
}
