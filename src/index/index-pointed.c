/* index-pointed.c: the map from an entry to the symlinks that point at
 * it (resolve to it, or follow it on the way), kept with the symlink
 * records.  Each symlink holds an array of edges, one per entry it points
 * at; each such entry (LfsTarget, in its directory's table p) holds the
 * list of its edges, so that both sides change in O(1) per edge. */
#include "config.h"

#include <string.h>

#include "index-private.h"
#include "core/names.h"

/* The directory node of @dir_rel, made if missing; NULL if the index holds
 * a non-directory on the way (a change not applied yet: the symlink is
 * resolved again once it is). */
static LfsDir *
target_dir(LfsIndex *idx, const char *dir_rel, gboolean create)
{
  LfsDir *cur = idx->c.root;
  if (*dir_rel == '\0')
    return cur;
  g_auto(GStrv) parts = g_strsplit(dir_rel, "/", -1);
  for (guint k = 0; parts[k] != NULL; k++) {
    gint i = lfsi_slot_find(cur, lfsi_name_find(&idx->c, parts[k]));
    if (i >= 0 && SLOT_TAG(cur->e.slots[i].val) != TAG_DIR)
      return NULL;
    if (i >= 0) {
      cur = SLOT_PTR(cur->e.slots[i].val);
      continue;
    }
    if (!create)
      return NULL;
    const char *in = lfsi_name_ref(&idx->c, parts[k]);
    LfsDir *child = lfsi_dir_new(&idx->c, cur, in);
    lfsi_slot_insert(cur, in, SLOT_VAL(child, TAG_DIR));
    lfsi_queue_prune(idx, child);
    cur = child;
  }
  return cur;
}

static LfsTarget *
target_find(LfsContents *c, const LfsDir *d, const char *name)
{
  gint i = d != NULL ? lfsi_tab_find(&d->p, lfsi_name_find(c, name)) : -1;
  return i >= 0 ? SLOT_PTR(d->p.slots[i].val) : NULL;
}

/* The target @relpath, made if missing when @create; NULL if it cannot
 * be (see target_dir), if it is @self, or, without @create, is missing. */
static LfsTarget *
target_get(LfsIndex *idx, const char *relpath, const LfsLink *self, gboolean create)
{
  g_autofree char *dir = NULL, *name = NULL;
  if (!lfs_relpath_is_valid(relpath) || !lfs_path_split(relpath, &dir, &name))
    return NULL;
  LfsDir *d = target_dir(idx, dir, create);
  if (d == self->dir && lfsi_name_find(&idx->c, name) == self->name)
    return NULL;
  LfsTarget *t = target_find(&idx->c, d, name);
  if (t != NULL || !create || d == NULL)
    return t;
  t = g_new0(LfsTarget, 1);
  t->dir = d;
  t->name = lfsi_name_ref(&idx->c, name);
  lfsi_tab_insert(&d->p, t->name, SLOT_VAL(t, 0));
  idx->c.pointed_at++;
  return t;
}

static void
target_free(LfsIndex *idx, LfsTarget *t)
{
  lfsi_tab_delete(&t->dir->p, lfsi_tab_find(&t->dir->p, t->name));
  lfsi_name_unref(&idx->c, t->name);
  lfsi_queue_prune(idx, t->dir);
  idx->c.pointed_at--;
  g_free(t);
}

void
lfsi_dir_drop_targets(LfsIndex *idx, LfsDir *d)
{
  for (guint32 i = 0; i < d->p.cap; i++) {
    if (d->p.slots[i].name == NULL)
      continue;
    LfsTarget *t = SLOT_PTR(d->p.slots[i].val);
    for (LfsEdge *e = t->first; e != NULL; e = e->next)
      e->target = NULL;
    lfsi_name_unref(&idx->c, t->name);
    idx->c.pointed_at--;
    g_free(t);
  }
  g_clear_pointer(&d->p.slots, g_free);
  d->p.used = d->p.cap = 0;
}

void
lfsi_link_drop_edges(LfsIndex *idx, LfsLink *l)
{
  for (guint32 k = 0; k < l->nedges; k++) {
    LfsEdge *e = &l->edges[k];
    LfsTarget *t = e->target;
    if (t == NULL)
      continue;
    if (e->prev != NULL)
      e->prev->next = e->next;
    else
      t->first = e->next;
    if (e->next != NULL)
      e->next->prev = e->prev;
    if (t->first == NULL)
      target_free(idx, t);
  }
  g_clear_pointer(&l->edges, g_free);
  l->nedges = 0;
}

static gboolean
is_self(LfsIndex *idx, const LfsLink *l, const char *relpath)
{
  g_autofree char *dir = NULL, *name = NULL;
  if (!lfs_path_split(relpath, &dir, &name))
    return FALSE;
  return lfsi_dir_lookup(idx, dir, FALSE) == l->dir &&
         lfsi_name_find(&idx->c, name) == l->name;
}

/* What @res says @l points at, in order, each once, never @l itself;
 * FALSE if, without @create, one of them is not a target yet. */
static gboolean
collect_targets(LfsIndex *idx, const LfsLink *l, const LfsResolution *res,
                gboolean create, GPtrArray *out)
{
  if (res == NULL || res->err != 0 || res->path == NULL)
    return TRUE;
  guint n = res->via != NULL ? res->via->len : 0;
  for (guint k = 0; k <= n; k++) {
    const char *p = k == 0 ? res->path : res->via->pdata[k - 1];
    if (*p == '\0')
      continue; /* the view's root: no entry of any directory */
    LfsTarget *t = target_get(idx, p, l, create);
    if (t == NULL && !create && !is_self(idx, l, p))
      return FALSE;
    if (t == NULL)
      continue;
    if (!g_ptr_array_find(out, t, NULL))
      g_ptr_array_add(out, t);
  }
  return TRUE;
}

static gboolean
same_targets(const LfsLink *l, const GPtrArray *ts)
{
  if (l->nedges != ts->len)
    return FALSE;
  for (guint32 k = 0; k < l->nedges; k++) {
    if (l->edges[k].target != ts->pdata[k])
      return FALSE;
  }
  return TRUE;
}

gboolean
lfsi_link_set_targets(LfsIndex *idx, LfsLink *l, const LfsResolution *res)
{
  g_autoptr(GPtrArray) ts = g_ptr_array_new();
  if (collect_targets(idx, l, res, FALSE, ts) && same_targets(l, ts))
    return FALSE;
  /* Made before the old edges go, so that a target kept is not freed. */
  g_ptr_array_set_size(ts, 0);
  collect_targets(idx, l, res, TRUE, ts);
  LfsEdge *edges = ts->len > 0 ? g_new(LfsEdge, ts->len) : NULL;
  for (guint k = 0; k < ts->len; k++) {
    LfsTarget *t = ts->pdata[k];
    edges[k] = (LfsEdge){.link = l, .target = t, .prev = NULL, .next = t->first};
    if (t->first != NULL)
      t->first->prev = &edges[k];
    t->first = &edges[k];
  }
  lfsi_link_drop_edges(idx, l);
  l->edges = edges;
  l->nedges = ts->len;
  return TRUE;
}

/* ---- lookups ---- */

static gint
cmp_strings(gconstpointer a, gconstpointer b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

GPtrArray *
lfs_index_list_pointed_names(LfsIndex *idx, const char *dir)
{
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  g_rw_lock_reader_lock(&idx->lock);
  const LfsDir *d = lfs_relpath_is_valid(dir) ? lfsi_dir_lookup(idx, dir, FALSE) : NULL;
  for (guint32 i = 0; d != NULL && i < d->p.cap; i++) {
    if (d->p.slots[i].name != NULL)
      g_ptr_array_add(out, g_strdup(d->p.slots[i].name));
  }
  g_rw_lock_reader_unlock(&idx->lock);
  g_ptr_array_sort(out, cmp_strings);
  return out;
}

gboolean
lfs_index_is_pointed(LfsIndex *idx, const char *dir, const char *name)
{
  if (!lfs_relpath_is_valid(dir) || !lfs_name_is_valid(name))
    return FALSE;
  g_rw_lock_reader_lock(&idx->lock);
  const LfsDir *d = lfsi_dir_lookup(idx, dir, FALSE);
  gboolean is = target_find(&idx->c, d, name) != NULL;
  g_rw_lock_reader_unlock(&idx->lock);
  return is;
}

static gint
cmp_path_flat(gconstpointer a, gconstpointer b)
{
  const LfsPath *x = *(LfsPath *const *)a, *y = *(LfsPath *const *)b;
  return strcmp(x->flat, y->flat);
}

GPtrArray *
lfs_index_get_pointers(LfsIndex *idx, const char *dir, const char *name)
{
  if (!lfs_relpath_is_valid(dir) || !lfs_name_is_valid(name))
    return NULL;
  GPtrArray *out = NULL;
  g_rw_lock_reader_lock(&idx->lock);
  const LfsTarget *t = target_find(&idx->c, lfsi_dir_lookup(idx, dir, FALSE), name);
  for (const LfsEdge *e = t != NULL ? t->first : NULL; e != NULL; e = e->next) {
    if (out == NULL)
      out = g_ptr_array_new_with_free_func((GDestroyNotify)lfs_path_free);
    LfsPath *p = g_new0(LfsPath, 1);
    g_autofree char *ldir = lfsi_dir_path(e->link->dir);
    p->path = lfs_path_join(ldir, e->link->name);
    p->flat = lfs_flatten(p->path);
    g_ptr_array_add(out, p);
  }
  g_rw_lock_reader_unlock(&idx->lock);
  if (out != NULL)
    g_ptr_array_sort(out, cmp_path_flat);
  return out;
}
