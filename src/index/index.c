/* index.c: the link index, its data structures and its changes.
 * See index.h for the design, index-query.c for the lookups. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "index-private.h"
#include "core/names.h"

typedef enum {
  RM_DROP,   /* the name leaves the index; nlink unchanged */
  RM_UNLINK, /* the name was unlinked: its group's nlink drops by one */
} RmMode;

static void remove_at(LfsIndex *idx, LfsDir *d, gint i, RmMode mode);

/* The child directory @comp of @cur, created if needed (replacing a
 * non-directory of that name). */
static LfsDir *
dir_child_create(LfsIndex *idx, LfsDir *cur, const char *comp)
{
  const char *n = lfsi_name_find(&idx->c, comp);
  gint i = lfsi_slot_find(cur, n);
  if (i >= 0 && SLOT_TAG(cur->e.slots[i].val) == TAG_DIR)
    return SLOT_PTR(cur->e.slots[i].val);
  if (i >= 0)
    remove_at(idx, cur, i, RM_DROP);
  const char *in = lfsi_name_ref(&idx->c, comp);
  LfsDir *child = lfsi_dir_new(&idx->c, cur, in);
  lfsi_slot_insert(cur, in, SLOT_VAL(child, TAG_DIR));
  lfsi_queue_prune(idx, child);
  return child;
}

LfsDir *
lfsi_dir_lookup(LfsIndex *idx, const char *dir_rel, gboolean create)
{
  LfsDir *cur = idx->c.root;
  if (dir_rel == NULL || *dir_rel == '\0')
    return cur;

  g_auto(GStrv) parts = g_strsplit(dir_rel, "/", -1);
  for (guint k = 0; parts[k] != NULL; k++) {
    if (create) {
      cur = dir_child_create(idx, cur, parts[k]);
      continue;
    }
    gint i = lfsi_slot_find(cur, lfsi_name_find(&idx->c, parts[k]));
    if (i < 0 || SLOT_TAG(cur->e.slots[i].val) != TAG_DIR)
      return NULL;
    cur = SLOT_PTR(cur->e.slots[i].val);
  }
  return cur;
}

/* ---- groups ---- */

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

static guint
group_hash(gconstpointer p)
{
  const LfsGroup *g = p;
  return lfs_ino_hash(g->dev, g->ino);
}

static gboolean
group_equal(gconstpointer a, gconstpointer b)
{
  const LfsGroup *x = a, *y = b;
  return x->dev == y->dev && x->ino == y->ino;
}

LfsGroup *
lfsi_group_find(LfsContents *c, dev_t dev, ino_t ino)
{
  LfsGroup key = {.dev = dev, .ino = ino};
  return g_hash_table_lookup(c->groups, &key);
}

static guint64
group_outside(const LfsGroup *g)
{
  return g->nlink > g->npaths ? g->nlink - g->npaths : 0;
}

/* Take @g out of (sign < 0) or into (sign > 0) the counters. */
static void
group_account(LfsContents *c, const LfsGroup *g, int sign)
{
  if (sign > 0) {
    c->hardlink_paths += g->npaths;
    c->outside_links += group_outside(g);
  } else {
    c->hardlink_paths -= g->npaths;
    c->outside_links -= group_outside(g);
  }
}

static LfsGroup *
group_get(LfsContents *c, dev_t dev, ino_t ino, guint64 nlink)
{
  LfsGroup *g = lfsi_group_find(c, dev, ino);
  if (g != NULL) {
    group_account(c, g, -1);
    g->nlink = nlink;
    group_account(c, g, +1);
    return g;
  }
  g = g_new0(LfsGroup, 1);
  g->dev = dev;
  g->ino = ino;
  g->nlink = nlink;
  /* Most groups get exactly nlink names: size the array for them. */
  g->cap = (guint32)CLAMP(nlink, 2, 64);
  g->paths = g_new(LfsPathRef, g->cap);
  g_hash_table_add(c->groups, g);
  group_account(c, g, +1);
  return g;
}

static void
group_add_path(LfsContents *c, LfsGroup *g, LfsDir *d, const char *iname)
{
  if (g->npaths == g->cap) {
    g->cap += MAX(g->cap / 2, 1);
    g->paths = g_renew(LfsPathRef, g->paths, g->cap);
  }
  g->paths[g->npaths++] = (LfsPathRef){d, iname};
  c->hardlink_paths++;
  if (g->nlink >= g->npaths)
    c->outside_links--;
}

static LfsPathRef *
group_path_find(LfsGroup *g, const LfsDir *d, const char *iname)
{
  for (guint32 k = 0; k < g->npaths; k++) {
    if (g->paths[k].dir == d && g->paths[k].name == iname)
      return &g->paths[k];
  }
  return NULL;
}

static void
group_destroy(LfsContents *c, LfsGroup *g)
{
  group_account(c, g, -1);
  g_hash_table_remove(c->groups, g);
  g_free(g->paths);
  g_free(g);
}

/* The inode has one name left: every name of it leaves the index. */
static void
group_dissolve(LfsIndex *idx, LfsGroup *g)
{
  for (guint32 k = 0; k < g->npaths; k++) {
    LfsPathRef p = g->paths[k];
    gint i = lfsi_slot_find(p.dir, p.name);
    g_assert(i >= 0);
    uintptr_t v = p.dir->e.slots[i].val;
    if (SLOT_TAG(v) == TAG_LINK) {
      ((LfsLink *)SLOT_PTR(v))->group = NULL;
      continue;
    }
    lfsi_slot_delete(p.dir, i);
    lfsi_name_unref(&idx->c, p.name);
    lfsi_queue_prune(idx, p.dir);
  }
  group_destroy(&idx->c, g);
}

static void
group_drop_path(LfsIndex *idx, LfsGroup *g, LfsDir *d, const char *iname, RmMode mode)
{
  LfsContents *c = &idx->c;
  LfsPathRef *p = group_path_find(g, d, iname);
  g_assert(p != NULL);
  group_account(c, g, -1);
  *p = g->paths[--g->npaths];
  if (mode == RM_UNLINK && g->nlink > 0)
    g->nlink--;
  group_account(c, g, +1);

  if (g->npaths == 0) {
    group_destroy(c, g);
    return;
  }
  if (g->nlink <= 1) {
    group_dissolve(idx, g);
    return;
  }
  if (g->cap > 8 && g->npaths * 4 < g->cap) {
    g->cap /= 2;
    g->paths = g_renew(LfsPathRef, g->paths, g->cap);
  }
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

static void
dep_link(LfsContents *c, LfsDep *dep)
{
  LfsDep *head = g_hash_table_lookup(c->deps, dep->name);
  dep->prev = NULL;
  dep->next = head;
  if (head != NULL)
    head->prev = dep;
  g_hash_table_insert(c->deps, (gpointer)dep->name, dep);
}

static void
dep_unlink(LfsContents *c, LfsDep *dep)
{
  if (dep->next != NULL)
    dep->next->prev = dep->prev;
  if (dep->prev != NULL)
    dep->prev->next = dep->next;
  else if (dep->next != NULL)
    g_hash_table_insert(c->deps, (gpointer)dep->name, dep->next);
  else
    g_hash_table_remove(c->deps, dep->name);
  lfsi_name_unref(c, dep->name);
}

/* The distinct names of @target's components, without "" "." "..". */
static GPtrArray *
target_names(const char *target)
{
  g_auto(GStrv) parts = g_strsplit(target, "/", -1);
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  for (guint k = 0; parts[k] != NULL; k++) {
    const char *p = parts[k];
    if (*p == '\0' || strcmp(p, ".") == 0 || strcmp(p, "..") == 0)
      continue;
    if (!g_ptr_array_find_with_equal_func(names, p, g_str_equal, NULL))
      g_ptr_array_add(names, g_strdup(p));
  }
  return names;
}

static LfsLink *
link_new(LfsContents *c, const char *target)
{
  g_autoptr(GPtrArray) names = target_names(target);
  LfsLink *l = g_malloc0(sizeof(LfsLink) + names->len * sizeof(LfsDep));
  l->target = g_strdup(target);
  l->ndeps = names->len;
  for (guint k = 0; k < names->len; k++) {
    l->deps[k].name = lfsi_name_ref(c, names->pdata[k]);
    l->deps[k].owner = l;
    dep_link(c, &l->deps[k]);
  }
  c->symlinks++;
  return l;
}

static void
link_destroy(LfsIndex *idx, LfsLink *l, RmMode mode)
{
  LfsContents *c = &idx->c;
  if (l->group != NULL)
    group_drop_path(idx, l->group, l->dir, l->name, mode);
  link_set_dangling(c, l, FALSE);
  lfsi_link_drop_edges(idx, l);
  for (guint32 k = 0; k < l->ndeps; k++)
    dep_unlink(c, &l->deps[k]);
  c->symlinks--;
  g_free(l->target);
  g_free(l);
}

/* ---- entries ---- */

/* Free a detached directory and everything below it. */
static void
dir_free_tree(LfsIndex *idx, LfsDir *top)
{
  g_autoptr(GPtrArray) stack = g_ptr_array_new();
  g_ptr_array_add(stack, top);
  while (stack->len > 0) {
    LfsDir *d = g_ptr_array_steal_index(stack, stack->len - 1);
    for (guint32 i = 0; i < d->e.cap; i++) {
      LfsSlot s = d->e.slots[i];
      if (s.name == NULL)
        continue;
      if (SLOT_TAG(s.val) == TAG_DIR)
        g_ptr_array_add(stack, SLOT_PTR(s.val));
      else if (SLOT_TAG(s.val) == TAG_FILE)
        group_drop_path(idx, SLOT_PTR(s.val), d, s.name, RM_DROP);
      else
        link_destroy(idx, SLOT_PTR(s.val), RM_DROP);
      lfsi_name_unref(&idx->c, s.name);
    }
    lfsi_dir_drop_targets(idx, d);
    g_hash_table_remove(idx->prune, d);
    if (d->parent != NULL)
      idx->c.dir_nodes--;
    g_free(d->e.slots);
    g_free(d);
  }
}

/* Remove the entry in slot @i of @d.  @d is queued for pruning, never
 * freed here. */
static void
remove_at(LfsIndex *idx, LfsDir *d, gint i, RmMode mode)
{
  LfsSlot s = d->e.slots[i];
  lfsi_slot_delete(d, i);
  switch (SLOT_TAG(s.val)) {
  case TAG_DIR:
    dir_free_tree(idx, SLOT_PTR(s.val));
    break;
  case TAG_FILE:
    group_drop_path(idx, SLOT_PTR(s.val), d, s.name, mode);
    break;
  default:
    link_destroy(idx, SLOT_PTR(s.val), mode);
    break;
  }
  lfsi_name_unref(&idx->c, s.name);
  lfsi_queue_prune(idx, d);
}

/* The entry @v moved from (@od, @on) to (@nd, @nn): fix its back pointers. */
static void
entry_moved(uintptr_t v, LfsDir *od, const char *on, LfsDir *nd, const char *nn)
{
  LfsGroup *g = NULL;
  if (SLOT_TAG(v) == TAG_DIR) {
    LfsDir *child = SLOT_PTR(v);
    child->parent = nd;
    child->name = nn;
    return;
  }
  if (SLOT_TAG(v) == TAG_FILE) {
    g = SLOT_PTR(v);
  } else {
    LfsLink *l = SLOT_PTR(v);
    l->dir = nd;
    l->name = nn;
    g = l->group;
  }
  if (g != NULL)
    *group_path_find(g, od, on) = (LfsPathRef){nd, nn};
}

static LfsGroup *
entry_group(uintptr_t v)
{
  if (SLOT_TAG(v) == TAG_FILE)
    return SLOT_PTR(v);
  if (SLOT_TAG(v) == TAG_LINK)
    return ((LfsLink *)SLOT_PTR(v))->group;
  return NULL;
}

/* Find the slot of @dir_rel/@name; FALSE if the index has nothing there. */
static gboolean
entry_find(LfsIndex *idx, const char *dir_rel, const char *name, LfsDir **d_out,
           gint *i_out)
{
  LfsDir *d = lfsi_dir_lookup(idx, dir_rel, FALSE);
  gint i = lfsi_slot_find(d, lfsi_name_find(&idx->c, name));
  *d_out = d;
  *i_out = i;
  return i >= 0;
}

/* ---- the index ---- */

static void
contents_init(LfsContents *c)
{
  memset(c, 0, sizeof *c);
  c->root = lfsi_dir_new(c, NULL, NULL);
  c->groups = g_hash_table_new(group_hash, group_equal);
  c->deps = g_hash_table_new(g_direct_hash, g_direct_equal);
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
  dir_free_tree(idx, idx->c.root);
  g_assert(g_hash_table_size(idx->c.groups) == 0);
  lfsi_names_clear(&idx->c);
  g_hash_table_unref(idx->c.groups);
  g_hash_table_unref(idx->c.deps);
  g_hash_table_unref(idx->c.dangling);
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

/* Make (@d, @n) hold nothing, or FALSE if it already holds a name of
 * (@dev, @ino) of the right kind, which the caller then updates. */
static gboolean
upsert_clear(LfsIndex *idx, LfsDir *d, const char *n, dev_t dev, ino_t ino, int tag)
{
  gint i = lfsi_slot_find(d, n);
  if (i < 0)
    return TRUE;
  uintptr_t v = d->e.slots[i].val;
  LfsGroup *g = entry_group(v);
  if (tag == TAG_FILE && SLOT_TAG(v) == TAG_FILE && g->dev == dev && g->ino == ino)
    return FALSE;
  remove_at(idx, d, i, RM_DROP);
  return TRUE;
}

static void
dissolve_inode(LfsIndex *idx, dev_t dev, ino_t ino)
{
  LfsGroup *g = lfsi_group_find(&idx->c, dev, ino);
  if (g != NULL)
    group_dissolve(idx, g);
}

int
lfs_index_add_file(LfsIndex *idx, const char *dir, const char *name, dev_t dev, ino_t ino,
                   guint64 nlink)
{
  if (!args_valid(dir, name))
    return EINVAL;

  g_rw_lock_writer_lock(&idx->lock);
  LfsDir *d = lfsi_dir_lookup(idx, dir, TRUE);
  const char *n = lfsi_name_ref(&idx->c, name);
  gboolean fresh = upsert_clear(idx, d, n, dev, ino, TAG_FILE);
  if (nlink <= 1) {
    if (!fresh)
      remove_at(idx, d, lfsi_slot_find(d, n), RM_DROP);
    dissolve_inode(idx, dev, ino);
  } else {
    LfsGroup *g = group_get(&idx->c, dev, ino, nlink);
    if (fresh) {
      group_add_path(&idx->c, g, d, n);
      lfsi_slot_insert(d, lfsi_name_dup(n), SLOT_VAL(g, TAG_FILE));
    }
  }
  lfsi_name_unref(&idx->c, n);
  lfsi_queue_prune(idx, d);
  change_end(idx, TRUE);
  return 0;
}

/* The symlink at slot @i of @d if it is (@dev, @ino) with one name and
 * @target: seen again, it needs no new record. */
static LfsLink *
same_symlink(LfsDir *d, gint i, dev_t dev, ino_t ino, guint64 nlink, const char *target)
{
  if (i < 0 || SLOT_TAG(d->e.slots[i].val) != TAG_LINK || nlink > 1)
    return NULL;
  LfsLink *l = SLOT_PTR(d->e.slots[i].val);
  gboolean same = l->group == NULL && l->dev == dev && l->ino == ino &&
                  strcmp(l->target, target) == 0;
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
  LfsDir *d = lfsi_dir_lookup(idx, dir, TRUE);
  const char *n = lfsi_name_ref(&idx->c, name);
  LfsLink *same = same_symlink(d, lfsi_slot_find(d, n), dev, ino, nlink, target);
  if (same != NULL) {
    same->applied = ++idx->next_ticket;
    gboolean changed = link_set_resolution(idx, same, res);
    lfsi_name_unref(&idx->c, n);
    change_end(idx, changed);
    return 0;
  }
  upsert_clear(idx, d, n, dev, ino, TAG_LINK);
  LfsLink *l = link_new(&idx->c, target);
  l->dir = d;
  l->name = lfsi_name_dup(n);
  l->dev = dev;
  l->ino = ino;
  l->applied = ++idx->next_ticket;
  lfsi_slot_insert(d, l->name, SLOT_VAL(l, TAG_LINK));
  link_set_resolution(idx, l, res);
  if (nlink > 1) {
    l->group = group_get(&idx->c, dev, ino, nlink);
    group_add_path(&idx->c, l->group, d, l->name);
  } else {
    dissolve_inode(idx, dev, ino);
  }
  lfsi_name_unref(&idx->c, n);
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

/* Take the entry out of slot @i of @d, keeping its name reference. */
static LfsSlot
slot_take(LfsDir *d, gint i)
{
  LfsSlot s = d->e.slots[i];
  lfsi_slot_delete(d, i);
  return s;
}

/* Put the entry @s, taken from @od, at @dir/@name, which holds nothing;
 * then drop the reference to its old name. */
static void
entry_put(LfsIndex *idx, LfsSlot s, LfsDir *od, const char *dir, const char *name)
{
  LfsDir *nd = lfsi_dir_lookup(idx, dir, TRUE);
  const char *nn = lfsi_name_ref(&idx->c, name);
  lfsi_slot_insert(nd, nn, s.val);
  entry_moved(s.val, od, s.name, nd, nn);
  lfsi_queue_prune(idx, nd);
}

static void
entry_put_done(LfsIndex *idx, LfsSlot s, LfsDir *od)
{
  lfsi_name_unref(&idx->c, s.name);
  lfsi_queue_prune(idx, od);
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
    LfsGroup *g = entry_group(od->e.slots[oi].val);
    if (g != NULL && g == entry_group(nd->e.slots[ni].val)) {
      change_end(idx, FALSE); /* two names of one inode: rename does nothing */
      return 0;
    }
  }
  if (have_new)
    remove_at(idx, nd, ni, RM_UNLINK);
  if (have_old && entry_find(idx, olddir, oldname, &od, &oi)) {
    LfsSlot s = slot_take(od, oi);
    entry_put(idx, s, od, newdir, newname);
    entry_put_done(idx, s, od);
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
  LfsDir *d1, *d2;
  gint i1, i2;
  gboolean have1 = entry_find(idx, dir1, name1, &d1, &i1);
  gboolean have2 = entry_find(idx, dir2, name2, &d2, &i2);
  LfsGroup *g1 = have1 ? entry_group(d1->e.slots[i1].val) : NULL;
  LfsGroup *g2 = have2 ? entry_group(d2->e.slots[i2].val) : NULL;
  if ((!have1 && !have2) || (g1 != NULL && g1 == g2)) {
    change_end(idx, FALSE);
    return 0;
  }
  LfsSlot s1 = {0}, s2 = {0};
  if (have1)
    s1 = slot_take(d1, i1);
  if (have2)
    s2 = slot_take(d2, lfsi_slot_find(d2, lfsi_name_find(&idx->c, name2)));
  if (have1)
    entry_put(idx, s1, d1, dir2, name2);
  if (have2)
    entry_put(idx, s2, d2, dir1, name1);
  if (have1)
    entry_put_done(idx, s1, d1);
  if (have2)
    entry_put_done(idx, s2, d2);
  change_end(idx, TRUE);
  return 0;
}

int
lfs_index_update_nlink(LfsIndex *idx, dev_t dev, ino_t ino, guint64 nlink)
{
  g_rw_lock_writer_lock(&idx->lock);
  LfsGroup *g = lfsi_group_find(&idx->c, dev, ino);
  gboolean changed = g != NULL && g->nlink != nlink;
  if (changed && nlink <= 1) {
    group_dissolve(idx, g);
  } else if (changed) {
    group_account(&idx->c, g, -1);
    g->nlink = nlink;
    group_account(&idx->c, g, +1);
  }
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
  LfsLink *l = NULL;
  if (entry_find(idx, dir, name, &d, &i) && SLOT_TAG(d->e.slots[i].val) == TAG_LINK)
    l = SLOT_PTR(d->e.slots[i].val);
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
