/* index.c: the link index, its entries and its changes.  See index.h for
 * the design, index-private.h for the records and their costs,
 * index-query.c for the lookups. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "index-private.h"
#include "core/names.h"

typedef enum {
  RM_DROP,   /* the name leaves the index; nlink unchanged */
  RM_UNLINK, /* the name was unlinked: its group's nlink drops by one */
} RmMode;

static void remove_at(LfsIndex *idx, LfsDir *d, gint i, RmMode mode);

/* ---- directories by path ---- */

/* The child directory @comp of @cur, made if needed (replacing a
 * non-directory of that name). */
static LfsDir *
dir_child_create(LfsIndex *idx, LfsDir *cur, const char *comp)
{
  guint32 h = lfsi_hash(comp);
  gint i = lfsi_tab_find(&cur->e, comp, h);
  if (i >= 0 && SLOT_TAG(cur->e.slots[i]) == TAG_DIR)
    return SLOT_PTR(cur->e.slots[i]);
  if (i >= 0)
    remove_at(idx, cur, i, RM_DROP);
  LfsDir *child = lfsi_dir_new(&idx->c, cur, comp);
  lfsi_tab_insert(idx->c.arena, &cur->e, SLOT_VAL(child, TAG_DIR), h);
  lfsi_queue_prune(idx, child);
  return child;
}

LfsDir *
lfsi_dir_lookup(LfsIndex *idx, const char *dir_rel, gboolean create)
{
  LfsDir *cur = idx->c.root;
  char comp[NAME_MAX + 1];
  const char *p = dir_rel != NULL ? dir_rel : "";
  while (cur != NULL && lfsi_next_comp(&p, comp)) {
    if (create) {
      cur = dir_child_create(idx, cur, comp);
      continue;
    }
    gint i = lfsi_dir_find(cur, comp);
    cur =
        i >= 0 && SLOT_TAG(cur->e.slots[i]) == TAG_DIR ? SLOT_PTR(cur->e.slots[i]) : NULL;
  }
  return cur;
}

/* ---- entries ---- */

static LfsEnt *
ent_new(LfsContents *c, LfsDir *d, const char *name, uintptr_t val)
{
  LfsEnt *e = lfsi_alloc(c->arena, ent_size(name));
  e->dir = d;
  e->val = val;
  strcpy(e->name, name);
  c->ents++;
  return e;
}

static void
ent_free(LfsContents *c, LfsEnt *e)
{
  c->ents--;
  lfsi_dealloc(c->arena, e, ent_size(e->name));
}

LfsGroup *
lfsi_ent_group(const LfsEnt *e)
{
  return ENT_KIND(e) == ENT_FILE ? ENT_PTR(e) : ((LfsLink *)ENT_PTR(e))->group;
}

static LfsEnt *
slot_ent(uintptr_t v)
{
  return SLOT_TAG(v) == TAG_ENT ? SLOT_PTR(v) : NULL;
}

/* ---- groups ---- */

/* The inode has one name left: every name of it leaves the index (a
 * symlink stays, as a symlink of one name). */
static void
group_dissolve(LfsIndex *idx, LfsGroup *g)
{
  LfsContents *c = &idx->c;
  guint32 n;
  LfsEnt **slots = group_slots(g, &n);
  g_autoptr(GPtrArray) files = g_ptr_array_new();
  for (guint32 k = 0; k < n; k++) {
    LfsEnt *e = slots[k];
    if (e != NULL && ENT_KIND(e) == ENT_LINK)
      ent_link(e)->group = NULL;
    else if (e != NULL)
      g_ptr_array_add(files, e);
  }
  lfsi_group_destroy(c, g);
  for (guint k = 0; k < files->len; k++) {
    LfsEnt *e = files->pdata[k];
    lfsi_tab_delete(c->arena, &e->dir->e, lfsi_dir_find(e->dir, e->name));
    lfsi_queue_prune(idx, e->dir);
    ent_free(c, e);
  }
}

static void
group_drop_ent(LfsIndex *idx, LfsGroup *g, LfsEnt *e, RmMode mode)
{
  LfsContents *c = &idx->c;
  lfsi_group_remove_path(c, g, e);
  if (mode == RM_UNLINK && g->nlink > 0)
    lfsi_group_set_nlink(c, g, g->nlink - 1);
  if (g->npaths == 0)
    lfsi_group_destroy(c, g);
  else if (g->nlink <= 1)
    group_dissolve(idx, g);
}

static void
dissolve_inode(LfsIndex *idx, dev_t dev, ino_t ino)
{
  LfsGroup *g = lfsi_group_find(&idx->c, dev, ino);
  if (g != NULL)
    group_dissolve(idx, g);
}

/* ---- symlink records ---- */

static void
link_set_dangling(LfsContents *c, LfsLink *l, gboolean dangling)
{
  dangling = !!dangling;
  if (l->dangling == dangling)
    return;
  l->dangling = dangling;
  if (dangling)
    g_hash_table_add(c->dangling, l);
  else
    g_hash_table_remove(c->dangling, l);
}

static gsize
bucket_size(const char *name)
{
  return sizeof(LfsDepBucket) + strlen(name) + 1;
}

static void
dep_link(LfsContents *c, LfsDep *dep, const char *name)
{
  guint32 h = lfsi_hash(name);
  gint i = lfsi_tab_find(&c->deps, name, h);
  LfsDepBucket *b;
  if (i >= 0) {
    b = SLOT_PTR(c->deps.slots[i]);
  } else {
    b = lfsi_alloc0(c->arena, bucket_size(name));
    strcpy(b->name, name);
    b->head.prev = b->head.next = &b->head;
    lfsi_tab_insert(c->arena, &c->deps, SLOT_VAL(b, TAG_BKT), h);
  }
  LfsDepNode *n = &dep->node;
  n->prev = &b->head;
  n->next = b->head.next;
  b->head.next->prev = n;
  b->head.next = n;
}

static void
dep_unlink(LfsContents *c, LfsDep *dep)
{
  LfsDepNode *n = dep->node.next;
  dep->node.prev->next = n;
  n->prev = dep->node.prev;
  if (n->next != n)
    return;
  /* Only the bucket's head is left, linked to itself. */
  LfsDepBucket *b = (LfsDepBucket *)(void *)n;
  lfsi_tab_delete(c->arena, &c->deps,
                  lfsi_tab_find(&c->deps, b->name, lfsi_hash(b->name)));
  lfsi_dealloc(c->arena, b, bucket_size(b->name));
}

/* The distinct names of @target's components, without "" "." "..". */
static GPtrArray *
target_names(const char *target)
{
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  char comp[NAME_MAX + 1];
  const char *p = target;
  while (lfsi_next_comp(&p, comp)) {
    if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0)
      continue;
    if (!g_ptr_array_find_with_equal_func(names, comp, g_str_equal, NULL))
      g_ptr_array_add(names, g_strdup(comp));
  }
  return names;
}

static LfsLink *
link_new(LfsContents *c, const char *target)
{
  g_autoptr(GPtrArray) names = target_names(target);
  gsize tlen = strlen(target);
  LfsLink *l = lfsi_alloc0(c->arena, link_size(names->len, tlen));
  l->ndeps = (guint16)names->len;
  memcpy(link_target(l), target, tlen + 1);
  for (guint k = 0; k < names->len; k++) {
    l->deps[k].owner = l;
    dep_link(c, &l->deps[k], names->pdata[k]);
  }
  c->symlinks++;
  return l;
}

static void
link_destroy(LfsIndex *idx, LfsLink *l, RmMode mode)
{
  LfsContents *c = &idx->c;
  if (l->group != NULL)
    group_drop_ent(idx, l->group, l->ent, mode);
  link_set_dangling(c, l, FALSE);
  lfsi_link_drop_edges(idx, l);
  for (guint k = 0; k < l->ndeps; k++)
    dep_unlink(c, &l->deps[k]);
  c->symlinks--;
  lfsi_dealloc(c->arena, l, link_size(l->ndeps, strlen(link_target(l))));
}

/* ---- removing ---- */

static void
ent_destroy(LfsIndex *idx, LfsEnt *e, RmMode mode)
{
  if (ENT_KIND(e) == ENT_FILE)
    group_drop_ent(idx, ENT_PTR(e), e, mode);
  else
    link_destroy(idx, ENT_PTR(e), mode);
  ent_free(&idx->c, e);
}

/* Free a detached directory and everything below it. */
static void
dir_free_tree(LfsIndex *idx, LfsDir *top)
{
  g_autoptr(GPtrArray) stack = g_ptr_array_new();
  g_autoptr(GArray) vals = g_array_new(FALSE, FALSE, sizeof(uintptr_t));
  g_ptr_array_add(stack, top);
  while (stack->len > 0) {
    LfsDir *d = g_ptr_array_steal_index(stack, stack->len - 1);
    g_array_set_size(vals, 0);
    LFSI_TAB_FOREACH(&d->e, v)
    g_array_append_val(vals, v);
    lfsi_tab_clear(idx->c.arena, &d->e);
    for (guint k = 0; k < vals->len; k++) {
      uintptr_t v = g_array_index(vals, uintptr_t, k);
      if (SLOT_TAG(v) == TAG_DIR)
        g_ptr_array_add(stack, SLOT_PTR(v));
      else
        ent_destroy(idx, SLOT_PTR(v), RM_DROP);
    }
    lfsi_dir_drop_targets(idx, d);
    lfsi_dir_free(idx, d);
  }
}

/* Remove the entry in slot @i of @d.  @d is queued for pruning, never
 * freed here. */
static void
remove_at(LfsIndex *idx, LfsDir *d, gint i, RmMode mode)
{
  uintptr_t v = d->e.slots[i];
  lfsi_tab_delete(idx->c.arena, &d->e, i);
  if (SLOT_TAG(v) == TAG_DIR)
    dir_free_tree(idx, SLOT_PTR(v));
  else
    ent_destroy(idx, SLOT_PTR(v), mode);
  lfsi_queue_prune(idx, d);
}

/* ---- moving ---- */

/* The entry @v, taken out of its directory's table, now lies in @nd as
 * @nn: its record follows; returns the value to insert there. */
static uintptr_t
entry_moved(LfsIndex *idx, uintptr_t v, LfsDir *nd, const char *nn)
{
  LfsContents *c = &idx->c;
  if (SLOT_TAG(v) == TAG_DIR) {
    lfsi_dir_rename(c, SLOT_PTR(v), nd, nn);
    return v;
  }
  LfsEnt *e = SLOT_PTR(v);
  LfsEnt *ne = ent_new(c, nd, nn, e->val);
  LfsGroup *g = lfsi_ent_group(e);
  if (g != NULL)
    lfsi_group_replace_path(c, g, e, ne);
  if (ENT_KIND(e) == ENT_LINK)
    ent_link(e)->ent = ne;
  ent_free(c, e);
  return SLOT_VAL(ne, TAG_ENT);
}

/* Put @v (taken from @od) at @nd/@nn, which holds nothing. */
static void
entry_put(LfsIndex *idx, uintptr_t v, LfsDir *od, LfsDir *nd, const char *nn)
{
  uintptr_t nv = entry_moved(idx, v, nd, nn);
  lfsi_tab_insert(idx->c.arena, &nd->e, nv, lfsi_hash(nn));
  lfsi_queue_prune(idx, nd);
  lfsi_queue_prune(idx, od);
}

/* Find the slot of @dir_rel/@name; FALSE if the index has nothing there. */
static gboolean
entry_find(LfsIndex *idx, const char *dir_rel, const char *name, LfsDir **d_out,
           gint *i_out)
{
  LfsDir *d = lfsi_dir_lookup(idx, dir_rel, FALSE);
  gint i = lfsi_dir_find(d, name);
  *d_out = d;
  *i_out = i;
  return i >= 0;
}

static LfsGroup *
slot_group(uintptr_t v)
{
  LfsEnt *e = slot_ent(v);
  return e != NULL ? lfsi_ent_group(e) : NULL;
}

/* ---- the index ---- */

static void
contents_init(LfsContents *c)
{
  memset(c, 0, sizeof *c);
  c->arena = lfsi_arena_new();
  c->root = lfsi_dir_new(c, NULL, NULL);
  c->devs = g_array_new(FALSE, FALSE, sizeof(LfsDevice));
  c->dangling = g_hash_table_new(g_direct_hash, g_direct_equal);
}

LfsIndex *
lfs_index_new(void)
{
  LfsIndex *idx = g_new0(LfsIndex, 1);
  g_rw_lock_init(&idx->lock);
  contents_init(&idx->c);
  idx->prune = g_hash_table_new(g_direct_hash, g_direct_equal);
  return idx;
}

void
lfs_index_free(LfsIndex *idx)
{
  if (idx == NULL)
    return;
  LfsContents *c = &idx->c;
  dir_free_tree(idx, c->root);
  g_assert(lfsi_groups_count(c) == 0 && c->deps.used == 0 && c->ents == 0);
  lfsi_groups_clear(c);
  lfsi_tab_clear(c->arena, &c->deps);
  g_assert(lfsi_arena_bytes(c->arena) == 0);
  lfsi_arena_free(c->arena);
  g_array_unref(c->devs);
  g_hash_table_unref(c->dangling);
  g_hash_table_unref(idx->prune);
  g_rw_lock_clear(&idx->lock);
  g_free(idx);
}

static gboolean
args_valid(const char *dir, const char *name)
{
  return lfs_relpath_is_valid(dir) && lfs_name_is_valid(name);
}

/* End of a change: prune, count it if it changed anything, unlock. */
static void
change_end(LfsIndex *idx, gboolean changed)
{
  lfsi_run_prune(idx);
  if (changed)
    idx->generation++;
  g_rw_lock_writer_unlock(&idx->lock);
}

/* The file entry at slot @i of @d, if it names (@dev, @ino). */
static LfsEnt *
same_file(LfsContents *c, LfsDir *d, gint i, dev_t dev, ino_t ino)
{
  LfsEnt *e = i >= 0 ? slot_ent(d->e.slots[i]) : NULL;
  LfsGroup *g = e != NULL ? ent_file_group(e) : NULL;
  return g != NULL && g->ino == ino && lfsi_group_dev(c, g) == dev ? e : NULL;
}

int
lfs_index_add_file(LfsIndex *idx, const char *dir, const char *name, dev_t dev, ino_t ino,
                   guint64 nlink)
{
  if (!args_valid(dir, name))
    return EINVAL;

  g_rw_lock_writer_lock(&idx->lock);
  LfsContents *c = &idx->c;
  LfsDir *d = lfsi_dir_lookup(idx, dir, TRUE);
  guint32 h = lfsi_hash(name);
  gint i = lfsi_tab_find(&d->e, name, h);
  LfsEnt *same = same_file(c, d, i, dev, ino);
  if (i >= 0 && (same == NULL || nlink <= 1))
    remove_at(idx, d, i, RM_DROP);
  if (nlink <= 1) {
    dissolve_inode(idx, dev, ino);
  } else {
    LfsGroup *g = lfsi_group_get(c, dev, ino, nlink);
    if (same == NULL) {
      LfsEnt *e = ent_new(c, d, name, (uintptr_t)g | ENT_FILE);
      lfsi_group_add_path(c, g, e);
      lfsi_tab_insert(c->arena, &d->e, SLOT_VAL(e, TAG_ENT), h);
    }
  }
  lfsi_queue_prune(idx, d);
  change_end(idx, TRUE);
  return 0;
}

/* The symlink at slot @i of @d if it is (@dev, @ino) with one name and
 * @target: seen again, it needs no new record. */
static LfsLink *
same_symlink(LfsContents *c, LfsDir *d, gint i, dev_t dev, ino_t ino, guint64 nlink,
             const char *target)
{
  LfsEnt *e = i >= 0 ? slot_ent(d->e.slots[i]) : NULL;
  LfsLink *l = e != NULL ? ent_link(e) : NULL;
  if (l == NULL || nlink > 1 || l->group != NULL)
    return NULL;
  gboolean same = l->ino == ino && lfsi_dev_of(c, l->dev) == dev &&
                  strcmp(link_target(l), target) == 0;
  return same ? l : NULL;
}

/* Store @res in @l; TRUE if that changed anything. */
static gboolean
link_set_resolution(LfsIndex *idx, LfsLink *l, const LfsResolution *res)
{
  gboolean dangling = res != NULL && lfs_resolve_is_dangling(res->err);
  gboolean changed = l->dangling != dangling;
  link_set_dangling(&idx->c, l, dangling);
  return lfsi_link_set_targets(idx, l, res) || changed;
}

int
lfs_index_add_symlink(LfsIndex *idx, const char *dir, const char *name, dev_t dev,
                      ino_t ino, guint64 nlink, const char *target,
                      const LfsResolution *res)
{
  if (!args_valid(dir, name) || target == NULL)
    return EINVAL;

  g_rw_lock_writer_lock(&idx->lock);
  LfsContents *c = &idx->c;
  LfsDir *d = lfsi_dir_lookup(idx, dir, TRUE);
  guint32 h = lfsi_hash(name);
  gint i = lfsi_tab_find(&d->e, name, h);
  LfsLink *same = same_symlink(c, d, i, dev, ino, nlink, target);
  if (same != NULL) {
    same->applied = ++idx->next_ticket;
    change_end(idx, link_set_resolution(idx, same, res));
    return 0;
  }
  if (i >= 0)
    remove_at(idx, d, i, RM_DROP);
  LfsLink *l = link_new(c, target);
  l->ent = ent_new(c, d, name, (uintptr_t)l | ENT_LINK);
  l->dev = lfsi_dev_index(c, dev);
  l->ino = ino;
  l->applied = ++idx->next_ticket;
  lfsi_tab_insert(c->arena, &d->e, SLOT_VAL(l->ent, TAG_ENT), h);
  link_set_resolution(idx, l, res);
  if (nlink > 1) {
    l->group = lfsi_group_get(c, dev, ino, nlink);
    lfsi_group_add_path(c, l->group, l->ent);
  } else {
    dissolve_inode(idx, dev, ino);
  }
  lfsi_queue_prune(idx, d);
  change_end(idx, TRUE);
  return 0;
}

static int
remove_name(LfsIndex *idx, const char *dir, const char *name, RmMode mode)
{
  if (!args_valid(dir, name))
    return EINVAL;

  g_rw_lock_writer_lock(&idx->lock);
  LfsDir *d;
  gint i;
  gboolean found = entry_find(idx, dir, name, &d, &i);
  if (found)
    remove_at(idx, d, i, mode);
  change_end(idx, found);
  return 0;
}

int
lfs_index_remove_name(LfsIndex *idx, const char *dir, const char *name)
{
  return remove_name(idx, dir, name, RM_UNLINK);
}

int
lfs_index_drop_name(LfsIndex *idx, const char *dir, const char *name)
{
  return remove_name(idx, dir, name, RM_DROP);
}

/* Is the path @a (dir + name) @b itself or an ancestor of @b? */
static gboolean
is_ancestor_or_self(const char *adir, const char *aname, const char *bdir,
                    const char *bname)
{
  g_autofree char *a = lfs_path_join(adir, aname);
  g_autofree char *b = lfs_path_join(bdir, bname);
  gsize alen = strlen(a);
  return strncmp(a, b, alen) == 0 && (b[alen] == '\0' || b[alen] == '/');
}

int
lfs_index_rename(LfsIndex *idx, const char *olddir, const char *oldname,
                 const char *newdir, const char *newname)
{
  if (!args_valid(olddir, oldname) || !args_valid(newdir, newname))
    return EINVAL;
  gboolean same = strcmp(olddir, newdir) == 0 && strcmp(oldname, newname) == 0;
  if (same)
    return 0;
  if (is_ancestor_or_self(olddir, oldname, newdir, newname) ||
      is_ancestor_or_self(newdir, newname, olddir, oldname))
    return EINVAL;

  g_rw_lock_writer_lock(&idx->lock);
  LfsDir *od, *nd;
  gint oi, ni;
  gboolean have_old = entry_find(idx, olddir, oldname, &od, &oi);
  gboolean have_new = entry_find(idx, newdir, newname, &nd, &ni);
  if (have_old && have_new) {
    LfsGroup *g = slot_group(od->e.slots[oi]);
    if (g != NULL && g == slot_group(nd->e.slots[ni])) {
      change_end(idx, FALSE); /* two names of one inode: rename does nothing */
      return 0;
    }
  }
  if (have_new)
    remove_at(idx, nd, ni, RM_UNLINK);
  if (have_old && entry_find(idx, olddir, oldname, &od, &oi)) {
    uintptr_t v = od->e.slots[oi];
    lfsi_tab_delete(idx->c.arena, &od->e, oi);
    entry_put(idx, v, od, lfsi_dir_lookup(idx, newdir, TRUE), newname);
  }
  change_end(idx, have_old || have_new);
  return 0;
}

int
lfs_index_exchange(LfsIndex *idx, const char *dir1, const char *name1, const char *dir2,
                   const char *name2)
{
  if (!args_valid(dir1, name1) || !args_valid(dir2, name2))
    return EINVAL;
  if (strcmp(dir1, dir2) == 0 && strcmp(name1, name2) == 0)
    return 0;
  if (is_ancestor_or_self(dir1, name1, dir2, name2) ||
      is_ancestor_or_self(dir2, name2, dir1, name1))
    return EINVAL;

  g_rw_lock_writer_lock(&idx->lock);
  LfsArena *a = idx->c.arena;
  LfsDir *d1, *d2;
  gint i1, i2;
  gboolean have1 = entry_find(idx, dir1, name1, &d1, &i1);
  gboolean have2 = entry_find(idx, dir2, name2, &d2, &i2);
  LfsGroup *g1 = have1 ? slot_group(d1->e.slots[i1]) : NULL;
  LfsGroup *g2 = have2 ? slot_group(d2->e.slots[i2]) : NULL;
  if ((!have1 && !have2) || (g1 != NULL && g1 == g2)) {
    change_end(idx, FALSE);
    return 0;
  }
  uintptr_t v1 = 0, v2 = 0;
  if (have1) {
    v1 = d1->e.slots[i1];
    lfsi_tab_delete(a, &d1->e, i1);
  }
  if (have2) {
    i2 = lfsi_dir_find(d2, name2); /* the delete may have moved it */
    v2 = d2->e.slots[i2];
    lfsi_tab_delete(a, &d2->e, i2);
  }
  if (have1)
    entry_put(idx, v1, d1, have2 ? d2 : lfsi_dir_lookup(idx, dir2, TRUE), name2);
  if (have2)
    entry_put(idx, v2, d2, have1 ? d1 : lfsi_dir_lookup(idx, dir1, TRUE), name1);
  change_end(idx, TRUE);
  return 0;
}

int
lfs_index_update_nlink(LfsIndex *idx, dev_t dev, ino_t ino, guint64 nlink)
{
  g_rw_lock_writer_lock(&idx->lock);
  LfsGroup *g = lfsi_group_find(&idx->c, dev, ino);
  gboolean changed = g != NULL && g->nlink != MIN(nlink, (guint64)G_MAXUINT32);
  if (changed && nlink <= 1)
    group_dissolve(idx, g);
  else if (changed)
    lfsi_group_set_nlink(&idx->c, g, nlink);
  change_end(idx, changed);
  return 0;
}

gboolean
lfs_index_set_resolution(LfsIndex *idx, const char *dir, const char *name, guint64 ticket,
                         const LfsResolution *res)
{
  if (!args_valid(dir, name))
    return FALSE;

  g_rw_lock_writer_lock(&idx->lock);
  LfsDir *d;
  gint i;
  LfsEnt *e = entry_find(idx, dir, name, &d, &i) ? slot_ent(d->e.slots[i]) : NULL;
  LfsLink *l = e != NULL ? ent_link(e) : NULL;
  gboolean stored = l != NULL && ticket > idx->ticket_floor && ticket >= l->applied;
  gboolean changed = FALSE;
  if (stored) {
    l->applied = ticket;
    changed = link_set_resolution(idx, l, res);
  }
  change_end(idx, changed);
  return stored;
}

void
lfs_index_note_scanned(LfsIndex *idx, guint64 entries, guint64 directories,
                       guint64 unreadable)
{
  g_rw_lock_writer_lock(&idx->lock);
  idx->c.entries += entries;
  idx->c.directories += directories;
  idx->c.unreadable += unreadable;
  g_rw_lock_writer_unlock(&idx->lock);
}

void
lfs_index_replace_contents(LfsIndex *dst, LfsIndex *src)
{
  g_return_if_fail(dst != src);

  g_rw_lock_writer_lock(&dst->lock);
  g_rw_lock_writer_lock(&src->lock);
  LfsContents tmp = dst->c;
  dst->c = src->c;
  src->c = tmp;
  dst->next_ticket = MAX(dst->next_ticket, src->next_ticket) + 1;
  dst->ticket_floor = dst->next_ticket;
  src->next_ticket = dst->next_ticket;
  src->ticket_floor = dst->next_ticket;
  dst->generation++;
  src->generation++;
  g_rw_lock_writer_unlock(&src->lock);
  g_rw_lock_writer_unlock(&dst->lock);
}
