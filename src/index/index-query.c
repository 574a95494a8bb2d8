/* index-query.c: lookups of the link index (copies out, reader lock). */
#include "config.h"

#include <string.h>

#include "index-private.h"
#include "core/names.h"

void
lfs_path_free(LfsPath *p)
{
  if (p == NULL)
    return;
  g_free(p->path);
  g_free(p->flat);
  g_free(p);
}

void
lfs_group_info_free(LfsGroupInfo *g)
{
  if (g == NULL)
    return;
  g_free(g->name);
  if (g->paths != NULL)
    g_ptr_array_unref(g->paths);
  g_free(g);
}

void
lfs_symlink_info_free(LfsSymlinkInfo *s)
{
  if (s == NULL)
    return;
  g_free(s->name);
  g_free(s->path);
  g_free(s->flat);
  g_free(s->target);
  g_free(s);
}

void
lfs_symlink_ref_free(LfsSymlinkRef *r)
{
  if (r == NULL)
    return;
  g_free(r->dir);
  g_free(r->name);
  g_free(r->target);
  g_free(r);
}

void
lfs_index_get_counters(LfsIndex *idx, LfsIndexCounters *out)
{
  g_rw_lock_reader_lock(&idx->lock);
  const LfsContents *c = &idx->c;
  *out = (LfsIndexCounters){
      .entries = c->entries,
      .directories = c->directories,
      .hardlinked_inodes = lfsi_groups_count(c),
      .hardlink_paths = c->hardlink_paths,
      .outside_links = c->outside_links,
      .symlinks = c->symlinks,
      .dangling = g_hash_table_size(c->dangling),
      .pointed_at = c->pointed_at,
      .unreadable = c->unreadable,
      .generation = idx->generation,
  };
  g_rw_lock_reader_unlock(&idx->lock);
}

void
lfs_index_get_memory_stats(LfsIndex *idx, guint64 *dir_nodes, guint64 *names)
{
  g_rw_lock_reader_lock(&idx->lock);
  *dir_nodes = idx->c.dir_nodes;
  *names = idx->c.ents + idx->c.pointed_at + idx->c.deps.used;
  g_rw_lock_reader_unlock(&idx->lock);
}

guint64
lfs_index_generation(LfsIndex *idx)
{
  g_rw_lock_reader_lock(&idx->lock);
  guint64 gen = idx->generation;
  g_rw_lock_reader_unlock(&idx->lock);
  return gen;
}

/* ---- building results ---- */

static LfsPath *
path_new(const LfsEnt *e)
{
  LfsPath *p = g_new0(LfsPath, 1);
  p->path = lfsi_ent_path(e);
  p->flat = lfs_flatten(p->path);
  return p;
}

static gint
cmp_path_flat(gconstpointer a, gconstpointer b)
{
  const LfsPath *x = *(LfsPath *const *)a, *y = *(LfsPath *const *)b;
  return strcmp(x->flat, y->flat);
}

/* @g as seen from @self (its other paths), or all paths if @self is NULL;
 * no paths at all unless @with_paths. */
static LfsGroupInfo *
group_info(const LfsContents *c, LfsGroup *g, const LfsEnt *self, gboolean with_paths)
{
  LfsGroupInfo *info = g_new0(LfsGroupInfo, 1);
  info->name = self != NULL ? g_strdup(self->name) : NULL;
  info->dev = lfsi_group_dev(c, g);
  info->ino = g->ino;
  info->nlink = g->nlink;
  info->npaths = g->npaths;
  info->outside = lfsi_group_outside(g);
  if (!with_paths)
    return info;
  info->paths = g_ptr_array_new_full(g->npaths, (GDestroyNotify)lfs_path_free);
  guint32 n;
  LfsEnt **slots = group_slots(g, &n);
  for (guint32 k = 0; k < n; k++) {
    if (slots[k] != NULL && slots[k] != self)
      g_ptr_array_add(info->paths, path_new(slots[k]));
  }
  g_ptr_array_sort(info->paths, cmp_path_flat);
  return info;
}

static LfsSymlinkInfo *
symlink_info(const LfsContents *c, const LfsLink *l)
{
  LfsSymlinkInfo *info = g_new0(LfsSymlinkInfo, 1);
  info->name = g_strdup(l->ent->name);
  info->path = lfsi_ent_path(l->ent);
  info->flat = lfs_flatten(info->path);
  info->target = g_strdup(link_target(l));
  info->dev = lfsi_dev_of(c, l->dev);
  info->ino = l->ino;
  info->dangling = l->dangling;
  return info;
}

static LfsEnt *
slot_ent(uintptr_t v)
{
  return SLOT_TAG(v) == TAG_ENT ? SLOT_PTR(v) : NULL;
}

static LfsGroup *
slot_group(uintptr_t v)
{
  LfsEnt *e = slot_ent(v);
  return e != NULL ? lfsi_ent_group(e) : NULL;
}

/* The slot value of @dir/@name, or 0. */
static uintptr_t
slot_lookup(LfsIndex *idx, const char *dir, const char *name)
{
  const LfsDir *d = lfsi_dir_lookup(idx, dir, FALSE);
  gint i = lfsi_dir_find(d, name);
  return i >= 0 ? d->e.slots[i] : 0;
}

/* ---- siblings/ and dangling/ ---- */

static gint
cmp_strings(gconstpointer a, gconstpointer b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

GPtrArray *
lfs_index_list_sibling_names(LfsIndex *idx, const char *dir)
{
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  g_rw_lock_reader_lock(&idx->lock);
  const LfsDir *d = lfs_relpath_is_valid(dir) ? lfsi_dir_lookup(idx, dir, FALSE) : NULL;
  if (d != NULL) {
    LFSI_TAB_FOREACH(&d->e, v)
    {
      if (slot_group(v) != NULL)
        g_ptr_array_add(out, g_strdup(((LfsEnt *)SLOT_PTR(v))->name));
    }
  }
  g_rw_lock_reader_unlock(&idx->lock);
  g_ptr_array_sort(out, cmp_strings);
  return out;
}

/* A slot that a page shows: a hard-linked entry or a dangling symlink. */
static gboolean
slot_on_page(uintptr_t v)
{
  const LfsEnt *e = slot_ent(v);
  const LfsLink *l = e != NULL ? ent_link(e) : NULL;
  return slot_group(v) != NULL || (l != NULL && l->dangling);
}

gboolean
lfs_index_dir_has_page(LfsIndex *idx, const char *dir)
{
  if (!lfs_relpath_is_valid(dir))
    return FALSE;
  gboolean has = FALSE;
  g_rw_lock_reader_lock(&idx->lock);
  const LfsDir *d = lfsi_dir_lookup(idx, dir, FALSE);
  if (d != NULL) {
    has = d->p.used > 0; /* an entry pointed at */
    LFSI_TAB_FOREACH(&d->e, v)
    {
      if (!has && slot_on_page(v))
        has = TRUE;
    }
  }
  g_rw_lock_reader_unlock(&idx->lock);
  return has;
}

gboolean
lfs_index_has_siblings(LfsIndex *idx, const char *dir, const char *name)
{
  if (!lfs_relpath_is_valid(dir) || !lfs_name_is_valid(name))
    return FALSE;
  g_rw_lock_reader_lock(&idx->lock);
  gboolean has = slot_group(slot_lookup(idx, dir, name)) != NULL;
  g_rw_lock_reader_unlock(&idx->lock);
  return has;
}

LfsGroupInfo *
lfs_index_get_siblings(LfsIndex *idx, const char *dir, const char *name)
{
  if (!lfs_relpath_is_valid(dir) || !lfs_name_is_valid(name))
    return NULL;
  LfsGroupInfo *info = NULL;
  g_rw_lock_reader_lock(&idx->lock);
  uintptr_t v = slot_lookup(idx, dir, name);
  LfsGroup *g = slot_group(v);
  if (g != NULL)
    info = group_info(&idx->c, g, slot_ent(v), TRUE);
  g_rw_lock_reader_unlock(&idx->lock);
  return info;
}

LfsEntryKind
lfs_index_lookup(LfsIndex *idx, const char *dir, const char *name, LfsEntryInfo *out)
{
  *out = (LfsEntryInfo){.kind = LFS_ENTRY_NONE};
  if (!lfs_relpath_is_valid(dir) || !lfs_name_is_valid(name))
    return LFS_ENTRY_NONE;
  g_rw_lock_reader_lock(&idx->lock);
  uintptr_t v = slot_lookup(idx, dir, name);
  const LfsEnt *e = slot_ent(v);
  const LfsGroup *g = slot_group(v);
  if (v != 0 && SLOT_TAG(v) == TAG_DIR) {
    out->kind = LFS_ENTRY_DIR;
  } else if (e != NULL) {
    const LfsLink *l = ent_link(e);
    out->kind = l ? LFS_ENTRY_SYMLINK : LFS_ENTRY_FILE;
    out->dev = l ? lfsi_dev_of(&idx->c, l->dev) : lfsi_group_dev(&idx->c, g);
    out->ino = l ? l->ino : g->ino;
    out->nlink = g ? g->nlink : 1;
    out->npaths = g ? g->npaths : 1;
    out->dangling = l ? l->dangling : FALSE;
  }
  g_rw_lock_reader_unlock(&idx->lock);
  return out->kind;
}

static gint
cmp_symlink_name(gconstpointer a, gconstpointer b)
{
  const LfsSymlinkInfo *x = *(LfsSymlinkInfo *const *)a;
  const LfsSymlinkInfo *y = *(LfsSymlinkInfo *const *)b;
  return strcmp(x->name, y->name);
}

static gint
cmp_symlink_flat(gconstpointer a, gconstpointer b)
{
  const LfsSymlinkInfo *x = *(LfsSymlinkInfo *const *)a;
  const LfsSymlinkInfo *y = *(LfsSymlinkInfo *const *)b;
  return strcmp(x->flat, y->flat);
}

static gint
cmp_symlink_path(gconstpointer a, gconstpointer b)
{
  const LfsSymlinkInfo *x = *(LfsSymlinkInfo *const *)a;
  const LfsSymlinkInfo *y = *(LfsSymlinkInfo *const *)b;
  return strcmp(x->path, y->path);
}

GPtrArray *
lfs_index_list_dangling(LfsIndex *idx, const char *dir)
{
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)lfs_symlink_info_free);
  g_rw_lock_reader_lock(&idx->lock);
  const LfsDir *d = lfs_relpath_is_valid(dir) ? lfsi_dir_lookup(idx, dir, FALSE) : NULL;
  if (d != NULL) {
    LFSI_TAB_FOREACH(&d->e, v)
    {
      const LfsEnt *e = slot_ent(v);
      const LfsLink *l = e != NULL ? ent_link(e) : NULL;
      if (l != NULL && l->dangling)
        g_ptr_array_add(out, symlink_info(&idx->c, l));
    }
  }
  g_rw_lock_reader_unlock(&idx->lock);
  g_ptr_array_sort(out, cmp_symlink_name);
  return out;
}

LfsSymlinkInfo *
lfs_index_get_symlink(LfsIndex *idx, const char *dir, const char *name)
{
  if (!lfs_relpath_is_valid(dir) || !lfs_name_is_valid(name))
    return NULL;
  LfsSymlinkInfo *info = NULL;
  g_rw_lock_reader_lock(&idx->lock);
  const LfsEnt *e = slot_ent(slot_lookup(idx, dir, name));
  if (e != NULL && ent_link(e) != NULL)
    info = symlink_info(&idx->c, ent_link(e));
  g_rw_lock_reader_unlock(&idx->lock);
  return info;
}

/* ---- the whole tree ---- */

static gint
cmp_group_ino(gconstpointer a, gconstpointer b)
{
  const LfsGroupInfo *x = *(LfsGroupInfo *const *)a, *y = *(LfsGroupInfo *const *)b;
  if (x->ino != y->ino)
    return x->ino < y->ino ? -1 : 1;
  if (x->dev != y->dev)
    return x->dev < y->dev ? -1 : 1;
  return 0;
}

typedef struct {
  const LfsContents *c;
  GPtrArray *out;
  gboolean with_paths;
} ListGroups;

static void
list_group(LfsGroup *g, gpointer data)
{
  ListGroups *lg = data;
  g_ptr_array_add(lg->out, group_info(lg->c, g, NULL, lg->with_paths));
}

GPtrArray *
lfs_index_list_groups(LfsIndex *idx, gboolean with_paths)
{
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)lfs_group_info_free);
  g_rw_lock_reader_lock(&idx->lock);
  ListGroups lg = {&idx->c, out, with_paths};
  lfsi_groups_foreach(&idx->c, list_group, &lg);
  g_rw_lock_reader_unlock(&idx->lock);
  g_ptr_array_sort(out, cmp_group_ino);
  return out;
}

LfsGroupInfo *
lfs_index_get_group(LfsIndex *idx, dev_t dev, ino_t ino)
{
  g_rw_lock_reader_lock(&idx->lock);
  LfsGroup *g = lfsi_group_find(&idx->c, dev, ino);
  LfsGroupInfo *info = g ? group_info(&idx->c, g, NULL, TRUE) : NULL;
  g_rw_lock_reader_unlock(&idx->lock);
  return info;
}

LfsGroupInfo *
lfs_index_get_group_counts(LfsIndex *idx, dev_t dev, ino_t ino)
{
  g_rw_lock_reader_lock(&idx->lock);
  LfsGroup *g = lfsi_group_find(&idx->c, dev, ino);
  LfsGroupInfo *info = g ? group_info(&idx->c, g, NULL, FALSE) : NULL;
  g_rw_lock_reader_unlock(&idx->lock);
  return info;
}

char *
lfs_index_group_path(LfsIndex *idx, dev_t dev, ino_t ino, guint k)
{
  char *path = NULL;
  g_rw_lock_reader_lock(&idx->lock);
  LfsGroup *g = lfsi_group_find(&idx->c, dev, ino);
  guint32 n = 0;
  LfsEnt **slots = g != NULL ? group_slots(g, &n) : NULL;
  for (guint32 i = 0; i < n && path == NULL; i++) {
    if (slots[i] != NULL && k-- == 0)
      path = lfsi_ent_path(slots[i]);
  }
  g_rw_lock_reader_unlock(&idx->lock);
  return path;
}

GPtrArray *
lfs_index_list_all_dangling(LfsIndex *idx)
{
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)lfs_symlink_info_free);
  g_rw_lock_reader_lock(&idx->lock);
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init(&it, idx->c.dangling);
  while (g_hash_table_iter_next(&it, &key, NULL))
    g_ptr_array_add(out, symlink_info(&idx->c, key));
  g_rw_lock_reader_unlock(&idx->lock);
  g_ptr_array_sort(out, cmp_symlink_flat);
  return out;
}

LfsSymlinkInfo *
lfs_index_get_dangling_by_flat(LfsIndex *idx, const char *flat)
{
  g_autofree char *path = lfs_unflatten(flat);
  if (path != NULL) {
    /* A plain FLAT names exactly one path: no need to look further. */
    g_autofree char *dir = NULL, *name = NULL;
    if (!lfs_path_split(path, &dir, &name))
      return NULL;
    g_autoptr(LfsSymlinkInfo) s = lfs_index_get_symlink(idx, dir, name);
    if (s == NULL || !s->dangling || strcmp(s->flat, flat) != 0)
      return NULL;
    return g_steal_pointer(&s);
  }
  LfsSymlinkInfo *found = NULL;
  g_rw_lock_reader_lock(&idx->lock);
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init(&it, idx->c.dangling);
  while (found == NULL && g_hash_table_iter_next(&it, &key, NULL)) {
    g_autoptr(LfsSymlinkInfo) s = symlink_info(&idx->c, key);
    if (strcmp(s->flat, flat) == 0)
      found = g_steal_pointer(&s);
  }
  g_rw_lock_reader_unlock(&idx->lock);
  return found;
}

/* Everything below top: each symlink into links, each hard-link group (a
 * file's, or a symlink's with several names) into groups; either may be
 * NULL. */
static void
collect_below(const LfsDir *top, GHashTable *links, GHashTable *groups)
{
  g_autoptr(GPtrArray) stack = g_ptr_array_new();
  g_ptr_array_add(stack, (gpointer)top);
  while (stack->len > 0) {
    const LfsDir *d = g_ptr_array_steal_index(stack, stack->len - 1);
    LFSI_TAB_FOREACH(&d->e, v)
    {
      const LfsEnt *e = slot_ent(v);
      LfsGroup *g = slot_group(v);
      if (e == NULL)
        g_ptr_array_add(stack, SLOT_PTR(v));
      if (links != NULL && e != NULL && ent_link(e) != NULL)
        g_hash_table_add(links, ent_link(e));
      if (groups != NULL && g != NULL)
        g_hash_table_add(groups, g);
    }
  }
}

GPtrArray *
lfs_index_list_symlinks(LfsIndex *idx)
{
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)lfs_symlink_info_free);
  g_autoptr(GHashTable) links = g_hash_table_new(g_direct_hash, g_direct_equal);
  g_rw_lock_reader_lock(&idx->lock);
  collect_below(idx->c.root, links, NULL);
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init(&it, links);
  while (g_hash_table_iter_next(&it, &key, NULL))
    g_ptr_array_add(out, symlink_info(&idx->c, key));
  g_rw_lock_reader_unlock(&idx->lock);
  g_ptr_array_sort(out, cmp_symlink_path);
  return out;
}

GArray *
lfs_index_groups_below(LfsIndex *idx, const char *dir, const char *name)
{
  GArray *out = g_array_new(FALSE, FALSE, sizeof(LfsInoKey));
  if (!lfs_relpath_is_valid(dir) || !lfs_name_is_valid(name))
    return out;
  g_autoptr(GHashTable) seen = g_hash_table_new(g_direct_hash, g_direct_equal);
  g_rw_lock_reader_lock(&idx->lock);
  uintptr_t v = slot_lookup(idx, dir, name);
  LfsGroup *g = slot_group(v);
  if (g != NULL)
    g_hash_table_add(seen, g);
  if (v != 0 && SLOT_TAG(v) == TAG_DIR)
    collect_below(SLOT_PTR(v), NULL, seen);
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init(&it, seen);
  while (g_hash_table_iter_next(&it, &key, NULL)) {
    const LfsGroup *gr = key;
    LfsInoKey k = {lfsi_group_dev(&idx->c, gr), gr->ino};
    g_array_append_val(out, k);
  }
  g_rw_lock_reader_unlock(&idx->lock);
  return out;
}

/* ---- symlinks to re-resolve ---- */

typedef struct {
  LfsIndex *idx;
  GHashTable *links; /* LfsLink set: the answer */
  GHashTable *names; /* LfsDepBucket set: names queued so far */
  GPtrArray *todo;   /* buckets still to expand */
} Affected;

static void
affected_add_name(Affected *a, const char *name)
{
  const LfsTable *t = &a->idx->c.deps;
  gint i = lfsi_tab_find(t, name, lfsi_hash(name));
  LfsDepBucket *b = i >= 0 ? SLOT_PTR(t->slots[i]) : NULL;
  if (b != NULL && g_hash_table_add(a->names, b))
    g_ptr_array_add(a->todo, b);
}

static void
affected_add_moved(Affected *a, const char *relpath)
{
  g_autofree char *dir = NULL, *name = NULL;
  if (!lfs_relpath_is_valid(relpath) || !lfs_path_split(relpath, &dir, &name))
    return;
  uintptr_t v = slot_lookup(a->idx, dir, name);
  const LfsEnt *e = slot_ent(v);
  if (v != 0 && e == NULL)
    collect_below(SLOT_PTR(v), a->links, NULL);
  else if (e != NULL && ent_link(e) != NULL)
    g_hash_table_add(a->links, ent_link(e));
}

/* Close over names: a symlink whose target names an affected symlink is
 * affected too. */
static void
affected_expand(Affected *a)
{
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init(&it, a->links);
  while (g_hash_table_iter_next(&it, &key, NULL))
    affected_add_name(a, ((LfsLink *)key)->ent->name);

  while (a->todo->len > 0) {
    LfsDepBucket *b = g_ptr_array_steal_index(a->todo, a->todo->len - 1);
    for (LfsDepNode *n = b->head.next; n != &b->head; n = n->next) {
      LfsLink *owner = ((LfsDep *)(void *)n)->owner;
      if (g_hash_table_add(a->links, owner))
        affected_add_name(a, owner->ent->name);
    }
  }
}

static gint
cmp_ref(gconstpointer a, gconstpointer b)
{
  const LfsSymlinkRef *x = *(LfsSymlinkRef *const *)a, *y = *(LfsSymlinkRef *const *)b;
  int r = strcmp(x->dir, y->dir);
  return r ? r : strcmp(x->name, y->name);
}

GPtrArray *
lfs_index_affected_symlinks(LfsIndex *idx, const char *const *names,
                            const char *const *moved)
{
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)lfs_symlink_ref_free);
  Affected a = {
      .idx = idx,
      .links = g_hash_table_new(g_direct_hash, g_direct_equal),
      .names = g_hash_table_new(g_direct_hash, g_direct_equal),
      .todo = g_ptr_array_new(),
  };

  g_rw_lock_writer_lock(&idx->lock); /* for the tickets */
  for (guint k = 0; names != NULL && names[k] != NULL; k++)
    affected_add_name(&a, names[k]);
  for (guint k = 0; moved != NULL && moved[k] != NULL; k++)
    affected_add_moved(&a, moved[k]);
  affected_expand(&a);

  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init(&it, a.links);
  while (g_hash_table_iter_next(&it, &key, NULL)) {
    const LfsLink *l = key;
    LfsSymlinkRef *ref = g_new0(LfsSymlinkRef, 1);
    ref->dir = lfsi_dir_path(l->ent->dir);
    ref->name = g_strdup(l->ent->name);
    ref->target = g_strdup(link_target(l));
    ref->ticket = ++idx->next_ticket;
    g_ptr_array_add(out, ref);
  }
  g_rw_lock_writer_unlock(&idx->lock);

  g_hash_table_unref(a.links);
  g_hash_table_unref(a.names);
  g_ptr_array_unref(a.todo);
  g_ptr_array_sort(out, cmp_ref);
  return out;
}
