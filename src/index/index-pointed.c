/* index-pointed.c: the map from an entry to the symlinks that point at
 * it (resolve to it, or follow it on the way), kept with the symlink
 * records.  Each symlink holds an array of edges, one per entry it points
 * at; each such entry (LfsTarget, in its directory's table p) holds the
 * list of its edges, so that both sides change in O(1) per edge. */
#include "config.h"

#include <limits.h>
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
  char comp[NAME_MAX + 1];
  const char *p = dir_rel;
  while (lfsi_next_comp(&p, comp)) {
    guint32 h = lfsi_hash(comp);
    gint i = lfsi_tab_find(&cur->e, comp, h);
    if (i >= 0 && SLOT_TAG(cur->e.slots[i]) != TAG_DIR)
      return NULL;
    if (i >= 0) {
      cur = SLOT_PTR(cur->e.slots[i]);
      continue;
    }
    if (!create)
      return NULL;
    LfsDir *child = lfsi_dir_new(&idx->c, cur, comp);
    lfsi_tab_insert(idx->c.arena, &cur->e, SLOT_VAL(child, TAG_DIR), h);
    lfsi_queue_prune(idx, child);
    cur = child;
  }
  return cur;
}

static LfsTarget *
target_find(const LfsDir *d, const char *name)
{
  gint i = d != NULL ? lfsi_tab_find(&d->p, name, lfsi_hash(name)) : -1;
  return i >= 0 ? SLOT_PTR(d->p.slots[i]) : NULL;
}

static gsize
target_size(const char *name)
{
  return sizeof(LfsTarget) + strlen(name) + 1;
}

/* Whether @d/@name is where @l itself is. */
static gboolean
is_self(const LfsLink *l, const LfsDir *d, const char *name)
{
  return d == l->ent->dir && strcmp(name, l->ent->name) == 0;
}

/* The target @relpath, made if missing when @create; NULL if it cannot
 * be (see target_dir), if it is @self, or, without @create, is missing
 * (*@missing then TRUE). */
static LfsTarget *
target_get(LfsIndex *idx, const char *relpath, const LfsLink *self, gboolean create,
           gboolean *missing)
{
  g_autofree char *dir = NULL, *name = NULL;
  *missing = FALSE;
  if (!lfs_relpath_is_valid(relpath) || !lfs_path_split(relpath, &dir, &name))
    return NULL;
  LfsDir *d = target_dir(idx, dir, create);
  if (d != NULL && is_self(self, d, name))
    return NULL;
  LfsTarget *t = target_find(d, name);
  if (t != NULL || d == NULL || !create) {
    *missing = t == NULL;
    return t;
  }
  t = lfsi_alloc0(idx->c.arena, target_size(name));
  t->dir = d;
  strcpy(t->name, name);
  lfsi_tab_insert(idx->c.arena, &d->p, SLOT_VAL(t, TAG_TGT), lfsi_hash(name));
  idx->c.pointed_at++;
  return t;
}

static void
target_free(LfsIndex *idx, LfsTarget *t)
{
  LfsDir *d = t->dir;
  lfsi_tab_delete(idx->c.arena, &d->p, lfsi_tab_find(&d->p, t->name, lfsi_hash(t->name)));
  lfsi_queue_prune(idx, d);
  idx->c.pointed_at--;
  lfsi_dealloc(idx->c.arena, t, target_size(t->name));
}

void
lfsi_dir_drop_targets(LfsIndex *idx, LfsDir *d)
{
  LFSI_TAB_FOREACH(&d->p, v)
  {
    LfsTarget *t = SLOT_PTR(v);
    for (LfsEdge *e = t->first; e != NULL; e = e->next)
      e->target = NULL;
    idx->c.pointed_at--;
    lfsi_dealloc(idx->c.arena, t, target_size(t->name));
  }
  lfsi_tab_clear(idx->c.arena, &d->p);
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
  if (l->nedges > 0)
    lfsi_dealloc(idx->c.arena, l->edges, l->nedges * sizeof(LfsEdge));
  l->edges = NULL;
  l->nedges = 0;
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
    gboolean missing;
    LfsTarget *t = target_get(idx, p, l, create, &missing);
    if (missing)
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
  LfsEdge *edges =
      ts->len > 0 ? lfsi_alloc(idx->c.arena, ts->len * sizeof(LfsEdge)) : NULL;
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
  if (d != NULL) {
    LFSI_TAB_FOREACH(&d->p, v)
    g_ptr_array_add(out, g_strdup(((LfsTarget *)SLOT_PTR(v))->name));
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
  gboolean is = target_find(d, name) != NULL;
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
  const LfsTarget *t = target_find(lfsi_dir_lookup(idx, dir, FALSE), name);
  for (const LfsEdge *e = t != NULL ? t->first : NULL; e != NULL; e = e->next) {
    if (out == NULL)
      out = g_ptr_array_new_with_free_func((GDestroyNotify)lfs_path_free);
    LfsPath *p = g_new0(LfsPath, 1);
    p->path = lfsi_ent_path(e->link->ent);
    p->flat = lfs_flatten(p->path);
    g_ptr_array_add(out, p);
  }
  g_rw_lock_reader_unlock(&idx->lock);
  if (out != NULL)
    g_ptr_array_sort(out, cmp_path_flat);
  return out;
}
