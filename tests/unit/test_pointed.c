/* Unit tests of the pointed map of the link index: for an entry, the
 * symlinks that resolve to it or follow it on the way. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "index/index.h"
#include "core/names.h"

#define DEV 7

/* A resolution: @path ("-" for NULL, with ENOENT) and the links followed,
 * space-separated. */
static LfsResolution
res_of(const char *path, const char *via)
{
  LfsResolution r = {.via = g_ptr_array_new_with_free_func(g_free)};
  if (strcmp(path, "-") == 0) {
    r.err = ENOENT;
    return r;
  }
  r.path = g_strdup(path);
  g_auto(GStrv) parts = g_strsplit(via, " ", -1);
  for (guint k = 0; parts[k] != NULL; k++) {
    if (*parts[k] != '\0')
      g_ptr_array_add(r.via, g_strdup(parts[k]));
  }
  return r;
}

static void
add_link(LfsIndex *idx, const char *dir, const char *name, ino_t ino, const char *target,
         const char *path, const char *via)
{
  LfsResolution r = res_of(path, via);
  g_assert_cmpint(lfs_index_add_symlink(idx, dir, name, DEV, ino, 1, target, &r), ==, 0);
  lfs_resolution_clear(&r);
}

/* Store a new resolution for dir/name, as after a change. */
static gboolean
reresolve(LfsIndex *idx, const char *dir, const char *name, const char *path,
          const char *via)
{
  g_autofree char *self = lfs_path_join(dir, name);
  const char *moved[] = {self, NULL};
  g_autoptr(GPtrArray) refs = lfs_index_affected_symlinks(idx, NULL, moved);
  for (guint k = 0; k < refs->len; k++) {
    LfsSymlinkRef *r = refs->pdata[k];
    if (strcmp(r->dir, dir) != 0 || strcmp(r->name, name) != 0)
      continue;
    LfsResolution res = res_of(path, via);
    gboolean stored = lfs_index_set_resolution(idx, dir, name, r->ticket, &res);
    lfs_resolution_clear(&res);
    return stored;
  }
  g_assert_not_reached();
}

static char *
join_names(GPtrArray *a)
{
  GString *s = g_string_new(NULL);
  for (guint k = 0; a != NULL && k < a->len; k++) {
    if (k > 0)
      g_string_append_c(s, ' ');
    g_string_append(s, a->pdata[k]);
  }
  return g_string_free(s, FALSE);
}

/* "path path ..." of the symlinks pointing at dir/name ("-" if none). */
static char *
pointers(LfsIndex *idx, const char *dir, const char *name)
{
  g_autoptr(GPtrArray) ps = lfs_index_get_pointers(idx, dir, name);
  g_assert_cmpint(ps != NULL, ==, lfs_index_is_pointed(idx, dir, name));
  if (ps == NULL)
    return g_strdup("-");
  GString *s = g_string_new(NULL);
  for (guint k = 0; k < ps->len; k++) {
    const LfsPath *p = ps->pdata[k];
    g_autofree char *flat = lfs_flatten(p->path);
    g_assert_cmpstr(p->flat, ==, flat);
    if (k > 0) {
      const LfsPath *q = ps->pdata[k - 1];
      g_assert_cmpint(strcmp(q->flat, p->flat), <, 0);
      g_string_append_c(s, ' ');
    }
    g_string_append(s, p->path);
  }
  return g_string_free(s, FALSE);
}

#define ASSERT_POINTERS(idx, dir, name, expected)                                        \
  do {                                                                                   \
    g_autofree char *got_ = pointers(idx, dir, name);                                    \
    g_assert_cmpstr(got_, ==, expected);                                                 \
  } while (0)

#define ASSERT_NAMES(idx, dir, expected)                                                 \
  do {                                                                                   \
    g_autoptr(GPtrArray) a_ = lfs_index_list_pointed_names(idx, dir);                    \
    g_autofree char *got_ = join_names(a_);                                              \
    g_assert_cmpstr(got_, ==, expected);                                                 \
  } while (0)

static guint64
pointed_at(LfsIndex *idx)
{
  LfsIndexCounters c;
  lfs_index_get_counters(idx, &c);
  return c.pointed_at;
}

static void
assert_empty(LfsIndex *idx)
{
  guint64 nodes, names;
  lfs_index_get_memory_stats(idx, &nodes, &names);
  g_assert_cmpuint(nodes, ==, 0);
  g_assert_cmpuint(names, ==, 0);
  g_assert_cmpuint(pointed_at(idx), ==, 0);
}

/* a -> b -> f: f is pointed at by a and b, b by a. */
static void
test_chain(void)
{
  g_autoptr(LfsIndex) idx = lfs_index_new();
  add_link(idx, "", "a", 1, "b", "d/f", "b");
  add_link(idx, "", "b", 2, "d/f", "d/f", "");
  ASSERT_POINTERS(idx, "d", "f", "a b");
  ASSERT_POINTERS(idx, "", "b", "a");
  ASSERT_POINTERS(idx, "", "a", "-");
  ASSERT_NAMES(idx, "", "b");
  ASSERT_NAMES(idx, "d", "f");
  ASSERT_NAMES(idx, "nowhere", "");
  g_assert_cmpuint(pointed_at(idx), ==, 2);

  /* rm d/f: both dangle, nothing is pointed at; again: both heal. */
  guint64 gen = lfs_index_generation(idx);
  g_assert_true(reresolve(idx, "", "a", "-", ""));
  g_assert_true(reresolve(idx, "", "b", "-", ""));
  g_assert_cmpuint(lfs_index_generation(idx), >, gen);
  ASSERT_POINTERS(idx, "d", "f", "-");
  ASSERT_POINTERS(idx, "", "b", "-");
  g_assert_cmpuint(pointed_at(idx), ==, 0);
  g_autoptr(GPtrArray) dl = lfs_index_list_all_dangling(idx);
  g_assert_cmpuint(dl->len, ==, 2);
  reresolve(idx, "", "a", "d/f", "b");
  reresolve(idx, "", "b", "d/f", "");
  ASSERT_POINTERS(idx, "d", "f", "a b");
  g_assert_cmpuint(pointed_at(idx), ==, 2);

  /* The same resolution again changes nothing, not even the generation. */
  gen = lfs_index_generation(idx);
  g_assert_true(reresolve(idx, "", "a", "d/f", "b"));
  add_link(idx, "", "b", 2, "d/f", "d/f", "");
  g_assert_cmpuint(lfs_index_generation(idx), ==, gen);
  /* A new target for a: changed. */
  add_link(idx, "", "a", 1, "d/g", "d/g", "");
  g_assert_cmpuint(lfs_index_generation(idx), >, gen);
  ASSERT_POINTERS(idx, "d", "f", "b");
  ASSERT_POINTERS(idx, "d", "g", "a");
  ASSERT_NAMES(idx, "d", "f g");

  lfs_index_remove_name(idx, "", "a");
  lfs_index_remove_name(idx, "", "b");
  assert_empty(idx);
}

/* x -> libs/v1/x.so with libs -> real/libs: x points at libs and at
 * real/libs/v1/x.so; directories on the way are not pointed at. */
static void
test_symlinked_dir(void)
{
  g_autoptr(LfsIndex) idx = lfs_index_new();
  add_link(idx, "app", "x", 1, "../libs/v1/x.so", "real/libs/v1/x.so", "libs");
  add_link(idx, "", "libs", 2, "real/libs", "real/libs", "");
  ASSERT_POINTERS(idx, "real/libs/v1", "x.so", "app/x");
  ASSERT_POINTERS(idx, "", "libs", "app/x");
  ASSERT_POINTERS(idx, "real", "libs", "libs");
  ASSERT_NAMES(idx, "real/libs", "");
  ASSERT_NAMES(idx, "", "libs");
  g_assert_cmpuint(pointed_at(idx), ==, 3);
  /* Each once, never itself; the root is no entry. */
  add_link(idx, "", "twice", 3, "libs/../libs/v1/x.so", "real/libs/v1/x.so",
           "libs libs twice");
  ASSERT_POINTERS(idx, "", "libs", "app/x twice");
  ASSERT_POINTERS(idx, "", "twice", "-");
  add_link(idx, "", "dot", 4, ".", "", "");
  g_assert_cmpuint(pointed_at(idx), ==, 3);
  lfs_index_remove_name(idx, "", "dot");
  lfs_index_remove_name(idx, "", "twice");
  lfs_index_remove_name(idx, "", "libs");
  lfs_index_remove_name(idx, "app", "x");
  assert_empty(idx);
}

/* A directory holding entries pointed at leaves the index: its targets go,
 * the symlinks stay until resolved again. Renamed, its targets move with it
 * until then. */
static void
test_dir_gone_or_moved(void)
{
  g_autoptr(LfsIndex) idx = lfs_index_new();
  add_link(idx, "", "s", 1, "d/sub/f", "d/sub/f", "");
  add_link(idx, "d", "t", 2, "sub", "d/sub", "");
  add_link(idx, "e", "u", 3, "../d/sub/g", "d/sub/g", "");
  lfs_index_add_file(idx, "d/sub", "f", DEV, 10, 2);
  lfs_index_add_file(idx, "", "f2", DEV, 10, 2);
  g_assert_cmpuint(pointed_at(idx), ==, 3);
  ASSERT_NAMES(idx, "d/sub", "f g");
  lfs_index_rename(idx, "", "d", "", "dd");
  ASSERT_NAMES(idx, "dd/sub", "f g");
  ASSERT_POINTERS(idx, "dd", "sub", "dd/t");
  ASSERT_NAMES(idx, "d/sub", "");
  reresolve(idx, "", "s", "-", "");
  ASSERT_NAMES(idx, "dd/sub", "g");
  /* dd/sub goes with its targets; u still points, at nothing. */
  lfs_index_drop_name(idx, "dd", "sub");
  ASSERT_NAMES(idx, "dd/sub", "");
  ASSERT_POINTERS(idx, "dd", "sub", "dd/t");
  g_assert_cmpuint(pointed_at(idx), ==, 1);
  reresolve(idx, "e", "u", "dd/sub/g", "");
  ASSERT_POINTERS(idx, "dd/sub", "g", "e/u");
  lfs_index_drop_name(idx, "", "dd"); /* t, and the target of u, go */
  g_assert_cmpuint(pointed_at(idx), ==, 0);
  lfs_index_remove_name(idx, "e", "u");
  lfs_index_remove_name(idx, "", "s");
  lfs_index_remove_name(idx, "", "f2");
  assert_empty(idx);
}

/* Entries of every kind may be pointed at: an indexed hard-linked file
 * keeps its siblings, a name removed from the index stays pointed at until
 * its symlinks are resolved again. */
static void
test_with_groups(void)
{
  g_autoptr(LfsIndex) idx = lfs_index_new();
  lfs_index_add_file(idx, "", "h1", DEV, 10, 2);
  lfs_index_add_file(idx, "d", "h2", DEV, 10, 2);
  add_link(idx, "", "s", 1, "h1", "h1", "");
  LfsResolution r = res_of("d/h2", "");
  lfs_index_add_symlink(idx, "", "l1", DEV, 20, 2, "d/h2", &r);
  lfs_index_add_symlink(idx, "x", "l2", DEV, 20, 2, "../d/h2", &r);
  lfs_resolution_clear(&r);
  ASSERT_POINTERS(idx, "", "h1", "s");
  ASSERT_POINTERS(idx, "d", "h2", "l1 x/l2");
  g_autoptr(GPtrArray) sib = lfs_index_list_sibling_names(idx, "");
  g_assert_cmpuint(sib->len, ==, 2); /* h1, l1 */
  lfs_index_remove_name(idx, "", "h1");
  ASSERT_POINTERS(idx, "", "h1", "s");
  reresolve(idx, "", "s", "-", "");
  ASSERT_POINTERS(idx, "", "h1", "-");
  lfs_index_remove_name(idx, "x", "l2"); /* the group of l1 dissolves */
  ASSERT_POINTERS(idx, "d", "h2", "l1");
  lfs_index_remove_name(idx, "", "l1");
  lfs_index_remove_name(idx, "", "s");
  assert_empty(idx);
}

/* A rescan's index swapped in carries its map and counters. */
static void
test_replace(void)
{
  g_autoptr(LfsIndex) live = lfs_index_new();
  g_autoptr(LfsIndex) scan = lfs_index_new();
  add_link(live, "", "old", 1, "f", "f", "");
  add_link(scan, "", "new", 2, "g", "g", "");
  add_link(scan, "", "new2", 3, "g", "g", "");
  lfs_index_replace_contents(live, scan);
  g_assert_cmpuint(pointed_at(live), ==, 1);
  ASSERT_POINTERS(live, "", "g", "new new2");
  ASSERT_POINTERS(live, "", "f", "-");
  ASSERT_POINTERS(scan, "", "f", "old");
}

/* Random changes against a model: link path -> the paths it points at. */
static const char *const DIRS[] = {"", "a", "a/b", "c", "c/d"};
static const char *const NAMES[] = {"l0", "l1", "l2", "f", "g"};
enum { NLINKNAMES = 3 };

static char *
rand_path(GRand *r, gboolean link)
{
  const char *d = DIRS[g_rand_int_range(r, 0, G_N_ELEMENTS(DIRS))];
  guint n = link ? NLINKNAMES : G_N_ELEMENTS(NAMES);
  return lfs_path_join(d, NAMES[g_rand_int_range(r, 0, n)]);
}

static gboolean
below(const char *path, const char *dir)
{
  gsize n = strlen(dir);
  return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/* @path with the prefix @from/ swapped for @to/ and back. */
static char *
swapped(const char *path, const char *from, const char *to)
{
  if (below(path, from))
    return g_strconcat(to, path + strlen(from), NULL);
  if (below(path, to))
    return g_strconcat(from, path + strlen(to), NULL);
  return g_strdup(path);
}

static gint
cmp_flat(gconstpointer a, gconstpointer b)
{
  g_autofree char *x = lfs_flatten(*(char *const *)a);
  g_autofree char *y = lfs_flatten(*(char *const *)b);
  return strcmp(x, y);
}

static gint
cmp_str(gconstpointer a, gconstpointer b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
check_model(LfsIndex *idx, GHashTable *model)
{
  guint64 npointed = 0;
  for (guint i = 0; i < G_N_ELEMENTS(DIRS); i++) {
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    for (guint j = 0; j < G_N_ELEMENTS(NAMES); j++) {
      g_autofree char *path = lfs_path_join(DIRS[i], NAMES[j]);
      g_autoptr(GPtrArray) want = g_ptr_array_new();
      GHashTableIter it;
      gpointer k, v;
      g_hash_table_iter_init(&it, model);
      while (g_hash_table_iter_next(&it, &k, &v)) {
        if (g_ptr_array_find_with_equal_func(v, path, g_str_equal, NULL))
          g_ptr_array_add(want, k);
      }
      g_ptr_array_sort(want, cmp_flat);
      g_autofree char *w = want->len ? join_names(want) : g_strdup("-");
      ASSERT_POINTERS(idx, DIRS[i], NAMES[j], w);
      if (want->len > 0) {
        npointed++;
        g_ptr_array_add(names, (gpointer)NAMES[j]);
      }
    }
    g_ptr_array_sort(names, cmp_str);
    g_autofree char *wn = join_names(names);
    ASSERT_NAMES(idx, DIRS[i], wn);
  }
  g_assert_cmpuint(pointed_at(idx), ==, npointed);
}

static GPtrArray *
rand_resolution(GRand *r, const char *self, LfsResolution *res)
{
  GPtrArray *want = g_ptr_array_new_with_free_func(g_free);
  *res = (LfsResolution){.via = g_ptr_array_new_with_free_func(g_free)};
  if (g_rand_int_range(r, 0, 4) == 0) {
    res->err = ENOENT;
    return want;
  }
  res->path = rand_path(r, FALSE);
  for (gint k = g_rand_int_range(r, 0, 3); k > 0; k--)
    g_ptr_array_add(res->via, rand_path(r, TRUE));
  for (guint k = 0; k <= res->via->len; k++) {
    const char *p = k == 0 ? res->path : res->via->pdata[k - 1];
    if (strcmp(p, self) != 0 &&
        !g_ptr_array_find_with_equal_func(want, p, g_str_equal, NULL))
      g_ptr_array_add(want, g_strdup(p));
  }
  return want;
}

static void
random_step(GRand *r, LfsIndex *idx, GHashTable *model)
{
  g_autofree char *lpath = rand_path(r, TRUE);
  g_autofree char *dir = NULL, *name = NULL;
  lfs_path_split(lpath, &dir, &name);
  gint op = g_rand_int_range(r, 0, 20);
  if (op < 12) { /* (re)index a symlink, often the same one again */
    LfsResolution res;
    GPtrArray *want = rand_resolution(r, lpath, &res);
    const char *target = op < 9 ? "t" : "t2";
    lfs_index_add_symlink(idx, dir, name, DEV, g_str_hash(lpath), 1, target, &res);
    lfs_resolution_clear(&res);
    g_hash_table_insert(model, g_strdup(lpath), want);
  } else if (op < 16) {
    lfs_index_remove_name(idx, dir, name);
    g_hash_table_remove(model, lpath);
  } else if (op < 18) { /* a directory leaves the index, with its targets */
    const char *gone = DIRS[g_rand_int_range(r, 1, G_N_ELEMENTS(DIRS))];
    g_autofree char *gd = NULL, *gn = NULL;
    lfs_path_split(gone, &gd, &gn);
    lfs_index_drop_name(idx, gd, gn);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, model);
    while (g_hash_table_iter_next(&it, &k, &v)) {
      if (below(k, gone)) {
        g_hash_table_iter_remove(&it);
        continue;
      }
      GPtrArray *ts = v;
      for (guint i = ts->len; i-- > 0;) {
        if (below(ts->pdata[i], gone))
          g_ptr_array_remove_index(ts, i);
      }
    }
  } else { /* a/b and c/d swap places, everything below them too */
    lfs_index_exchange(idx, "a", "b", "c", "d");
    GHashTableIter it;
    gpointer k, v;
    g_autoptr(GHashTable) moved = g_hash_table_new_full(
        g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
    g_hash_table_iter_init(&it, model);
    while (g_hash_table_iter_next(&it, &k, &v)) {
      GPtrArray *ts = v, *nts = g_ptr_array_new_with_free_func(g_free);
      for (guint i = 0; i < ts->len; i++)
        g_ptr_array_add(nts, swapped(ts->pdata[i], "a/b", "c/d"));
      g_hash_table_insert(moved, swapped(k, "a/b", "c/d"), nts);
    }
    g_hash_table_remove_all(model);
    g_hash_table_iter_init(&it, moved);
    while (g_hash_table_iter_next(&it, &k, &v)) {
      g_hash_table_insert(model, g_strdup(k), g_ptr_array_ref(v));
    }
  }
}

static void
test_random(void)
{
  for (guint seed = 1; seed <= 20; seed++) {
    g_autoptr(GRand) r = g_rand_new_with_seed(seed);
    g_autoptr(LfsIndex) idx = lfs_index_new();
    g_autoptr(GHashTable) model = g_hash_table_new_full(
        g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
    for (guint step = 0; step < 300; step++) {
      random_step(r, idx, model);
      check_model(idx, model);
    }
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, model);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
      g_autofree char *dir = NULL, *name = NULL;
      lfs_path_split(k, &dir, &name);
      lfs_index_remove_name(idx, dir, name);
    }
    assert_empty(idx);
  }
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/pointed/chain", test_chain);
  g_test_add_func("/pointed/symlinked-dir", test_symlinked_dir);
  g_test_add_func("/pointed/dir-gone-or-moved", test_dir_gone_or_moved);
  g_test_add_func("/pointed/with-groups", test_with_groups);
  g_test_add_func("/pointed/replace", test_replace);
  g_test_add_func("/pointed/random", test_random);
  return g_test_run();
}
