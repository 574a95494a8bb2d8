/* Unit tests of the link index. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "index/index.h"
#include "core/names.h"

#define DEV 7

/* Resolutions that dangle, or resolve to nowhere in particular. */
static const LfsResolution dangles = {.err = ENOENT};
static const LfsResolution resolves = {.err = 0};

static LfsIndexCounters
counters(LfsIndex *idx)
{
  LfsIndexCounters c;
  lfs_index_get_counters(idx, &c);
  return c;
}

/* "path1 path2 ..." of a group's paths, in their order. */
static char *
paths_str(const GPtrArray *paths)
{
  GString *s = g_string_new(NULL);
  for (guint i = 0; paths && i < paths->len; i++) {
    const LfsPath *p = paths->pdata[i];
    if (i > 0)
      g_string_append_c(s, ' ');
    g_string_append(s, p->path);
  }
  return g_string_free(s, FALSE);
}

static char *
group_str(LfsIndex *idx, ino_t ino)
{
  g_autoptr(LfsGroupInfo) g = lfs_index_get_group(idx, DEV, ino);
  if (g == NULL)
    return g_strdup("-");
  return paths_str(g->paths);
}

static void
assert_group(LfsIndex *idx, ino_t ino, const char *expected)
{
  g_autofree char *s = group_str(idx, ino);
  g_assert_cmpstr(s, ==, expected);
}

static void
assert_pruned(LfsIndex *idx)
{
  guint64 nodes, names;
  lfs_index_get_memory_stats(idx, &nodes, &names);
  g_assert_cmpuint(nodes, ==, 0);
  g_assert_cmpuint(names, ==, 0);
  LfsIndexCounters c = counters(idx);
  g_assert_cmpuint(c.hardlinked_inodes, ==, 0);
  g_assert_cmpuint(c.hardlink_paths, ==, 0);
  g_assert_cmpuint(c.outside_links, ==, 0);
  g_assert_cmpuint(c.symlinks, ==, 0);
  g_assert_cmpuint(c.dangling, ==, 0);
}

static void
test_add_remove(void)
{
  g_autoptr(LfsIndex) idx = lfs_index_new();
  g_assert_cmpint(lfs_index_add_file(idx, "a/b", "f", DEV, 10, 2), ==, 0);
  g_assert_cmpint(lfs_index_add_file(idx, "c", "g", DEV, 10, 2), ==, 0);
  g_assert_cmpint(lfs_index_add_file(idx, "", "single", DEV, 11, 1), ==, 0);
  assert_group(idx, 10, "a/b/f c/g");
  assert_group(idx, 11, "-");
  LfsIndexCounters c = counters(idx);
  g_assert_cmpuint(c.hardlinked_inodes, ==, 1);
  g_assert_cmpuint(c.hardlink_paths, ==, 2);
  g_assert_cmpuint(c.outside_links, ==, 0);

  /* unlink c/g: nlink drops to 1, a/b/f leaves too. */
  g_assert_cmpint(lfs_index_remove_name(idx, "c", "g"), ==, 0);
  assert_group(idx, 10, "-");
  assert_pruned(idx);

  /* Invalid arguments. */
  g_assert_cmpint(lfs_index_add_file(idx, "/a", "f", DEV, 1, 2), ==, EINVAL);
  g_assert_cmpint(lfs_index_add_file(idx, "a", "f/g", DEV, 1, 2), ==, EINVAL);
  g_assert_cmpint(lfs_index_add_file(idx, "a", "..", DEV, 1, 2), ==, EINVAL);
  g_assert_cmpint(lfs_index_remove_name(idx, "nowhere", "x"), ==, 0);
}

static void
test_upsert(void)
{
  g_autoptr(LfsIndex) idx = lfs_index_new();
  lfs_index_add_file(idx, "d", "x", DEV, 20, 3);
  lfs_index_add_file(idx, "d", "x", DEV, 20, 3); /* twice: no duplicate */
  lfs_index_add_file(idx, "e", "y", DEV, 20, 3);
  assert_group(idx, 20, "d/x e/y");
  g_assert_cmpuint(counters(idx).outside_links, ==, 1);

  /* d/x is now another inode. */
  lfs_index_add_file(idx, "d", "x", DEV, 21, 2);
  assert_group(idx, 20, "e/y");
  assert_group(idx, 21, "d/x");
  g_assert_cmpuint(counters(idx).outside_links, ==, 1 + 2);

  /* e/y seen with nlink 1: the inode is no longer hard-linked. */
  lfs_index_add_file(idx, "e", "y", DEV, 20, 1);
  assert_group(idx, 20, "-");
  lfs_index_remove_name(idx, "d", "x");
  assert_pruned(idx);
}

static void
test_outside_and_nlink(void)
{
  g_autoptr(LfsIndex) idx = lfs_index_new();
  lfs_index_add_file(idx, "", "a", DEV, 30, 5);
  lfs_index_add_file(idx, "", "b", DEV, 30, 5);
  LfsIndexCounters c = counters(idx);
  g_assert_cmpuint(c.outside_links, ==, 3);
  g_autoptr(LfsGroupInfo) g = lfs_index_get_group(idx, DEV, 30);
  g_assert_cmpuint(g->outside, ==, 3);
  g_assert_cmpuint(g->nlink, ==, 5);
  g_assert_cmpuint(g->npaths, ==, 2);

  lfs_index_update_nlink(idx, DEV, 30, 2);
  g_assert_cmpuint(counters(idx).outside_links, ==, 0);
  /* A single name of an inode whose other name is outside the view. */
  lfs_index_add_file(idx, "", "lonely", DEV, 31, 2);
  g_assert_cmpuint(counters(idx).outside_links, ==, 1);
  g_assert_cmpuint(counters(idx).hardlinked_inodes, ==, 2);

  lfs_index_update_nlink(idx, DEV, 30, 1);
  assert_group(idx, 30, "-");
  lfs_index_update_nlink(idx, DEV, 999, 1); /* unknown: no-op */
  g_assert_cmpint(lfs_index_remove_name(idx, "", "lonely"), ==, 0);
  assert_pruned(idx);
}

static void
test_rename_dir(void)
{
  g_autoptr(LfsIndex) idx = lfs_index_new();
  lfs_index_add_file(idx, "src/deep/er", "f", DEV, 40, 2);
  lfs_index_add_file(idx, "other", "g", DEV, 40, 2);
  lfs_index_add_symlink(idx, "src/deep", "l", DEV, 41, 1, "nowhere", &dangles);

  g_assert_cmpint(lfs_index_rename(idx, "", "src", "dst/moved", "here"), ==, 0);
  assert_group(idx, 40, "dst/moved/here/deep/er/f other/g");
  g_autoptr(GPtrArray) dl = lfs_index_list_all_dangling(idx);
  g_assert_cmpuint(dl->len, ==, 1);
  g_assert_cmpstr(((LfsSymlinkInfo *)dl->pdata[0])->path, ==, "dst/moved/here/deep/l");
  g_autoptr(GPtrArray) sib = lfs_index_list_sibling_names(idx, "dst/moved/here/deep/er");
  g_assert_cmpuint(sib->len, ==, 1);
  g_assert_null(lfs_index_get_siblings(idx, "src/deep/er", "f"));

  /* Into itself: refused, nothing changes. */
  g_assert_cmpint(lfs_index_rename(idx, "dst", "moved", "dst/moved/here", "x"), ==,
                  EINVAL);
  assert_group(idx, 40, "dst/moved/here/deep/er/f other/g");

  /* Rename a file over a hard-linked file: the replaced one is unlinked. */
  lfs_index_add_file(idx, "", "victim", DEV, 42, 2);
  lfs_index_add_file(idx, "", "victim2", DEV, 42, 2);
  lfs_index_rename(idx, "other", "g", "", "victim");
  assert_group(idx, 40, "dst/moved/here/deep/er/f victim");
  assert_group(idx, 42, "-");

  /* Two names of one inode: rename does nothing. */
  lfs_index_rename(idx, "", "victim", "dst/moved/here/deep/er", "f");
  assert_group(idx, 40, "dst/moved/here/deep/er/f victim");

  /* A directory removed takes what is below it along. */
  lfs_index_remove_name(idx, "", "dst");
  assert_group(idx, 40, "victim");
  g_assert_cmpuint(counters(idx).outside_links, ==, 1);
  lfs_index_remove_name(idx, "", "victim");
  assert_pruned(idx);
}

static void
test_rename_unindexed(void)
{
  g_autoptr(LfsIndex) idx = lfs_index_new();
  lfs_index_add_file(idx, "d", "t", DEV, 50, 2);
  lfs_index_add_file(idx, "d", "u", DEV, 50, 2);
  /* A single-link file renamed over t: t is unlinked. */
  lfs_index_rename(idx, "d", "plain", "d", "t");
  assert_group(idx, 50, "-");
  assert_pruned(idx);
}

static void
test_exchange(void)
{
  g_autoptr(LfsIndex) idx = lfs_index_new();
  lfs_index_add_file(idx, "a", "x", DEV, 60, 2);
  lfs_index_add_file(idx, "b", "y", DEV, 60, 2);
  lfs_index_add_file(idx, "b/sub", "z", DEV, 61, 2);
  lfs_index_add_file(idx, "c", "w", DEV, 61, 2);

  /* File <-> directory. */
  g_assert_cmpint(lfs_index_exchange(idx, "a", "x", "b", "sub"), ==, 0);
  assert_group(idx, 60, "b/sub b/y");
  assert_group(idx, 61, "a/x/z c/w");
  /* With an entry the index does not hold. */
  lfs_index_exchange(idx, "c", "w", "c", "nothing");
  assert_group(idx, 61, "a/x/z c/nothing");
  lfs_index_exchange(idx, "c", "nothing", "c", "w");
  assert_group(idx, 61, "a/x/z c/w");
  /* Two names of one inode: no change. */
  lfs_index_exchange(idx, "b", "sub", "b", "y");
  assert_group(idx, 60, "b/sub b/y");
  g_assert_cmpint(lfs_index_exchange(idx, "a", "x", "a/x", "z"), ==, EINVAL);

  lfs_index_remove_name(idx, "", "a");
  lfs_index_remove_name(idx, "", "b");
  lfs_index_remove_name(idx, "", "c");
  assert_pruned(idx);
}

static void
test_siblings_listing(void)
{
  g_autoptr(LfsIndex) idx = lfs_index_new();
  lfs_index_add_file(idx, "p", "zeta", DEV, 70, 3);
  lfs_index_add_file(idx, "p", "alpha", DEV, 71, 2);
  lfs_index_add_file(idx, "q/r", "z", DEV, 70, 3);
  lfs_index_add_file(idx, "q", "b", DEV, 70, 3);
  lfs_index_add_file(idx, "q", "a2", DEV, 71, 2);
  lfs_index_add_symlink(idx, "p", "link", DEV, 72, 2, "zeta", &resolves);
  lfs_index_add_symlink(idx, "", "link2", DEV, 72, 2, "p/zeta", &resolves);

  g_autoptr(GPtrArray) s = lfs_index_list_sibling_names(idx, "p");
  g_assert_cmpuint(s->len, ==, 3);
  g_assert_cmpstr(s->pdata[0], ==, "alpha");
  g_assert_cmpstr(s->pdata[1], ==, "link");
  g_assert_cmpstr(s->pdata[2], ==, "zeta");
  g_assert_true(lfs_index_has_siblings(idx, "p", "zeta"));
  g_assert_true(lfs_index_has_siblings(idx, "p", "link"));
  g_assert_false(lfs_index_has_siblings(idx, "q", "r")); /* a directory */
  g_assert_false(lfs_index_has_siblings(idx, "p", "missing"));
  g_assert_false(lfs_index_has_siblings(idx, "nonexistent", "zeta"));
  g_autoptr(LfsGroupInfo) g0 = lfs_index_get_siblings(idx, "p", "alpha");
  g_autoptr(LfsGroupInfo) g1 = lfs_index_get_siblings(idx, "p", "link");
  g_autoptr(LfsGroupInfo) g2 = lfs_index_get_siblings(idx, "p", "zeta");
  g_assert_cmpstr(g2->name, ==, "zeta");
  g_autofree char *o0 = paths_str(g0->paths);
  g_autofree char *o1 = paths_str(g1->paths);
  g_autofree char *o2 = paths_str(g2->paths);
  g_assert_cmpstr(o0, ==, "q/a2");
  g_assert_cmpstr(o1, ==, "link2");
  /* Sorted by FLAT: "q∕b" < "q∕r∕z". */
  g_assert_cmpstr(o2, ==, "q/b q/r/z");
  g_assert_cmpstr(((LfsPath *)g2->paths->pdata[0])->flat, ==, "q" LFS_FLAT_SLASH "b");

  g_autoptr(GPtrArray) none = lfs_index_list_sibling_names(idx, "nonexistent");
  g_assert_cmpuint(none->len, ==, 0);
  g_autoptr(LfsGroupInfo) one = lfs_index_get_siblings(idx, "q/r", "z");
  g_autofree char *ones = paths_str(one->paths);
  g_assert_cmpstr(ones, ==, "p/zeta q/b");
  g_assert_null(lfs_index_get_siblings(idx, "q", "r"));

  /* Groups sorted by inode. */
  g_autoptr(GPtrArray) all = lfs_index_list_groups(idx, FALSE);
  g_assert_cmpuint(all->len, ==, 3);
  for (guint i = 0; i < all->len; i++) {
    LfsGroupInfo *g = all->pdata[i];
    g_assert_cmpuint(g->ino, ==, 70 + i);
    g_assert_null(g->paths);
  }
  LfsIndexCounters c = counters(idx);
  g_assert_cmpuint(c.hardlink_paths, ==, 7);
  g_assert_cmpuint(c.symlinks, ==, 2);
}

static void
test_symlinks(void)
{
  g_autoptr(LfsIndex) idx = lfs_index_new();
  lfs_index_add_symlink(idx, "d", "b", DEV, 80, 1, "../t", &dangles);
  lfs_index_add_symlink(idx, "d", "a", DEV, 81, 1, "x/y", &dangles);
  lfs_index_add_symlink(idx, "d", "ok", DEV, 82, 1, "a", &resolves);
  lfs_index_add_symlink(idx, "e", "c", DEV, 83, 1, "/abs/t", &dangles);
  LfsIndexCounters c = counters(idx);
  g_assert_cmpuint(c.symlinks, ==, 4);
  g_assert_cmpuint(c.dangling, ==, 3);

  g_autoptr(GPtrArray) d = lfs_index_list_dangling(idx, "d");
  g_assert_cmpuint(d->len, ==, 2);
  g_assert_cmpstr(((LfsSymlinkInfo *)d->pdata[0])->name, ==, "a");
  g_assert_cmpstr(((LfsSymlinkInfo *)d->pdata[1])->name, ==, "b");
  g_assert_cmpstr(((LfsSymlinkInfo *)d->pdata[1])->target, ==, "../t");
  g_autoptr(GPtrArray) all = lfs_index_list_all_dangling(idx);
  g_assert_cmpuint(all->len, ==, 3);
  g_assert_cmpstr(((LfsSymlinkInfo *)all->pdata[0])->path, ==, "d/a");
  g_assert_cmpstr(((LfsSymlinkInfo *)all->pdata[2])->path, ==, "e/c");

  /* "t" appears: b and c may heal. */
  const char *names[] = {"t", NULL};
  g_autoptr(GPtrArray) aff = lfs_index_affected_symlinks(idx, names, NULL);
  g_assert_cmpuint(aff->len, ==, 2);
  LfsSymlinkRef *rb = aff->pdata[0], *rc = aff->pdata[1];
  g_assert_cmpstr(rb->dir, ==, "d");
  g_assert_cmpstr(rb->name, ==, "b");
  g_assert_cmpstr(rc->name, ==, "c");
  g_assert_true(lfs_index_set_resolution(idx, rb->dir, rb->name, rb->ticket, &resolves));
  g_assert_cmpuint(counters(idx).dangling, ==, 2);

  /* An older ticket does not overwrite a newer result. */
  g_autoptr(GPtrArray) aff1 = lfs_index_affected_symlinks(idx, names, NULL);
  g_autoptr(GPtrArray) aff2 = lfs_index_affected_symlinks(idx, names, NULL);
  LfsSymlinkRef *old = aff1->pdata[0], *new = aff2->pdata[0];
  g_assert_true(lfs_index_set_resolution(idx, "d", "b", new->ticket, &dangles));
  g_assert_false(lfs_index_set_resolution(idx, "d", "b", old->ticket, &resolves));
  g_autoptr(LfsSymlinkInfo) sb = lfs_index_get_symlink(idx, "d", "b");
  g_assert_true(sb->dangling);

  /* Nested: "ok" -> "a" -> "x/y": a change of "y" reaches "ok" too. */
  const char *ny[] = {"y", NULL};
  g_autoptr(GPtrArray) nested = lfs_index_affected_symlinks(idx, ny, NULL);
  g_assert_cmpuint(nested->len, ==, 2);
  g_assert_cmpstr(((LfsSymlinkRef *)nested->pdata[0])->name, ==, "a");
  g_assert_cmpstr(((LfsSymlinkRef *)nested->pdata[1])->name, ==, "ok");

  /* Moved: everything at or below. */
  lfs_index_rename(idx, "", "d", "", "d2");
  const char *moved[] = {"d2", NULL};
  g_autoptr(GPtrArray) mv = lfs_index_affected_symlinks(idx, NULL, moved);
  g_assert_cmpuint(mv->len, ==, 3);
  g_assert_cmpstr(((LfsSymlinkRef *)mv->pdata[0])->dir, ==, "d2");

  /* Removing a symlink drops it from every list. */
  lfs_index_remove_name(idx, "d2", "a");
  g_assert_null(lfs_index_get_symlink(idx, "d2", "a"));
  g_assert_false(lfs_index_set_resolution(idx, "d2", "a", G_MAXUINT64, &resolves));
  g_autoptr(GPtrArray) all2 = lfs_index_list_all_dangling(idx);
  g_assert_cmpuint(all2->len, ==, 2);
  g_autoptr(GPtrArray) every = lfs_index_list_symlinks(idx);
  g_assert_cmpuint(every->len, ==, 3);

  lfs_index_remove_name(idx, "", "d2");
  lfs_index_remove_name(idx, "e", "c");
  assert_pruned(idx);
}

static void
test_hardlinked_symlink(void)
{
  g_autoptr(LfsIndex) idx = lfs_index_new();
  lfs_index_add_symlink(idx, "", "l1", DEV, 90, 2, "gone", &dangles);
  lfs_index_add_symlink(idx, "sub", "l2", DEV, 90, 2, "gone", &dangles);
  assert_group(idx, 90, "l1 sub/l2");
  g_assert_cmpuint(counters(idx).dangling, ==, 2);
  lfs_index_remove_name(idx, "", "l1"); /* nlink 1: l2 stays a symlink */
  assert_group(idx, 90, "-");
  g_assert_cmpuint(counters(idx).symlinks, ==, 1);
  g_assert_cmpuint(counters(idx).dangling, ==, 1);
  lfs_index_remove_name(idx, "sub", "l2");
  assert_pruned(idx);
}

static void
test_generation(void)
{
  g_autoptr(LfsIndex) idx = lfs_index_new();
  guint64 g0 = lfs_index_generation(idx);
  lfs_index_add_file(idx, "", "a", DEV, 100, 2);
  guint64 g1 = lfs_index_generation(idx);
  g_assert_cmpuint(g1, ==, g0 + 1);
  lfs_index_remove_name(idx, "", "absent");
  g_assert_cmpuint(lfs_index_generation(idx), ==, g1);
  lfs_index_update_nlink(idx, DEV, 100, 2); /* unchanged */
  g_assert_cmpuint(lfs_index_generation(idx), ==, g1);
  lfs_index_update_nlink(idx, DEV, 100, 3);
  g_assert_cmpuint(lfs_index_generation(idx), ==, g1 + 1);
  g_assert_cmpuint(counters(idx).generation, ==, g1 + 1);
}

static void
test_replace_contents(void)
{
  g_autoptr(LfsIndex) live = lfs_index_new();
  lfs_index_add_file(live, "", "old", DEV, 110, 2);
  lfs_index_add_symlink(live, "", "l", DEV, 111, 1, "t", &dangles);
  const char *names[] = {"t", NULL};
  g_autoptr(GPtrArray) stale = lfs_index_affected_symlinks(live, names, NULL);
  guint64 gen = lfs_index_generation(live);

  g_autoptr(LfsIndex) scan = lfs_index_new();
  lfs_index_add_file(scan, "", "new", DEV, 112, 2);
  lfs_index_add_symlink(scan, "", "l", DEV, 111, 1, "t", &dangles);
  lfs_index_note_scanned(scan, 10, 3, 1);
  lfs_index_replace_contents(live, scan);

  assert_group(live, 110, "-");
  assert_group(live, 112, "new");
  LfsIndexCounters c = counters(live);
  g_assert_cmpuint(c.entries, ==, 10);
  g_assert_cmpuint(c.directories, ==, 3);
  g_assert_cmpuint(c.unreadable, ==, 1);
  g_assert_cmpuint(c.generation, ==, gen + 1);
  /* A ticket from before the swap is void. */
  LfsSymlinkRef *r = stale->pdata[0];
  g_assert_false(lfs_index_set_resolution(live, "", "l", r->ticket, &resolves));
  g_autoptr(GPtrArray) fresh = lfs_index_affected_symlinks(live, names, NULL);
  r = fresh->pdata[0];
  g_assert_true(lfs_index_set_resolution(live, "", "l", r->ticket, &resolves));
  assert_group(scan, 110, "old");
}

/* Random changes against a model: path -> inode. */
static void
test_random_model(void)
{
  g_autoptr(LfsIndex) idx = lfs_index_new();
  g_autoptr(GHashTable) model =
      g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  GRand *rand = g_rand_new_with_seed(42);
  const char *dirs[] = {"", "a", "a/b", "c", "c/d/e"};
  for (int step = 0; step < 3000; step++) {
    const char *dir = dirs[g_rand_int_range(rand, 0, G_N_ELEMENTS(dirs))];
    g_autofree char *name = g_strdup_printf("n%d", g_rand_int_range(rand, 0, 12));
    g_autofree char *path = lfs_path_join(dir, name);
    if (g_rand_boolean(rand)) {
      guint ino = g_rand_int_range(rand, 1, 8);
      lfs_index_add_file(idx, dir, name, DEV, ino, 10); /* never dissolves */
      g_hash_table_insert(model, g_steal_pointer(&path), GUINT_TO_POINTER(ino));
    } else {
      lfs_index_update_nlink(idx, DEV, 1, 10);
      lfs_index_remove_name(idx, dir, name);
      g_hash_table_remove(model, path);
      /* remove_name lowered nlink: restore it so no group dissolves. */
      for (guint ino = 1; ino < 8; ino++)
        lfs_index_update_nlink(idx, DEV, ino, 10);
    }
  }
  g_autoptr(GPtrArray) groups = lfs_index_list_groups(idx, TRUE);
  guint total = 0;
  for (guint i = 0; i < groups->len; i++) {
    LfsGroupInfo *g = groups->pdata[i];
    for (guint k = 0; k < g->paths->len; k++) {
      const LfsPath *p = g->paths->pdata[k];
      g_assert_cmpuint(GPOINTER_TO_UINT(g_hash_table_lookup(model, p->path)), ==, g->ino);
      total++;
    }
  }
  g_assert_cmpuint(total, ==, g_hash_table_size(model));
  g_assert_cmpuint(counters(idx).hardlink_paths, ==, total);
  g_rand_free(rand);
}

typedef struct {
  LfsIndex *idx;
  int id;
  gint *writers_left; /* readers read while writers write */
} ThreadArg;

static gpointer
writer_thread(gpointer data)
{
  ThreadArg *a = data;
  for (int i = 0; i < 2000; i++) {
    g_autofree char *dir = g_strdup_printf("t%d/d%d", a->id, i % 7);
    g_autofree char *name = g_strdup_printf("f%d", i);
    lfs_index_add_file(a->idx, dir, name, DEV, 1000 + a->id * 10 + i % 5, 50);
    if (i % 3 == 0)
      lfs_index_rename(a->idx, dir, name, dir, "renamed");
    if (i % 2 == 0)
      lfs_index_remove_name(a->idx, dir, "renamed");
  }
  g_atomic_int_dec_and_test(a->writers_left);
  return NULL;
}

static gpointer
reader_thread(gpointer data)
{
  ThreadArg *a = data;
  /* As long as the writers write (and once more): how much a reader can
   * do meanwhile depends on the scheduler, and its listings grow with the
   * index, so a fixed count took from 0.1 s to minutes under load. */
  for (gboolean more = TRUE; more;) {
    more = g_atomic_int_get(a->writers_left) > 0;
    g_autoptr(GPtrArray) g = lfs_index_list_groups(a->idx, TRUE);
    g_autoptr(GPtrArray) s = lfs_index_list_sibling_names(a->idx, "t0/d1");
    for (guint k = 0; k < s->len; k++)
      lfs_group_info_free(lfs_index_get_siblings(a->idx, "t0/d1", s->pdata[k]));
    LfsIndexCounters c;
    lfs_index_get_counters(a->idx, &c);
  }
  return NULL;
}

static void
test_threads(void)
{
  g_autoptr(LfsIndex) idx = lfs_index_new();
  ThreadArg args[4];
  GThread *threads[4];
  gint writers_left = 2;
  for (int i = 0; i < 4; i++) {
    args[i] = (ThreadArg){idx, i, &writers_left};
    threads[i] = g_thread_new("t", i < 2 ? writer_thread : reader_thread, &args[i]);
  }
  for (int i = 0; i < 4; i++)
    g_thread_join(threads[i]);
  for (int i = 0; i < 2; i++) {
    g_autofree char *top = g_strdup_printf("t%d", i);
    lfs_index_remove_name(idx, "", top);
  }
  assert_pruned(idx);
}

static void
test_long_and_odd_names(void)
{
  g_autoptr(LfsIndex) idx = lfs_index_new();
  g_autofree char *n255 = g_strnfill(255, 'n');
  GString *deep = g_string_new(NULL);
  for (int i = 0; i < 20; i++)
    g_string_append_printf(deep, "%s%s", i ? "/" : "", n255);
  g_autofree char *dir = g_string_free(deep, FALSE);
  lfs_index_add_file(idx, dir, "x\ny", DEV, 120, 2);
  lfs_index_add_file(idx, "", "a" LFS_FLAT_SLASH "b", DEV, 120, 2);
  g_autoptr(LfsGroupInfo) g = lfs_index_get_group(idx, DEV, 120);
  g_assert_cmpuint(g->paths->len, ==, 2);
  for (guint i = 0; i < 2; i++) {
    const LfsPath *p = g->paths->pdata[i];
    g_assert_cmpuint(strlen(p->flat), <=, 255);
    g_assert_true(g_str_has_prefix(p->flat, LFS_FLAT_ELLIPSIS));
  }
}

/* Many distinct names, removed in an order unlike the insertion: the
 * directories' tables grow, delete with backward shifts, shrink, and every
 * name stays findable throughout. */
static void
test_many_names(void)
{
  g_autoptr(LfsIndex) idx = lfs_index_new();
  enum { N = 20000 };
  for (guint k = 0; k < N; k++) {
    g_autofree char *name = g_strdup_printf("n%u", k);
    g_assert_cmpint(
        lfs_index_add_file(idx, k % 2 ? "x" : "y", name, DEV, 1000 + k / 2, 2), ==, 0);
  }
  guint64 nodes, names;
  lfs_index_get_memory_stats(idx, &nodes, &names);
  g_assert_cmpuint(names, ==, N);
  g_assert_cmpuint(nodes, ==, 2); /* "x" and "y" */
  for (guint k = 0; k < N; k += 7) {
    g_autofree char *name = g_strdup_printf("n%u", k);
    g_autoptr(LfsGroupInfo) g = lfs_index_get_siblings(idx, k % 2 ? "x" : "y", name);
    g_assert_nonnull(g);
  }
  for (guint step = 0; step < 3; step++) {
    for (guint k = step; k < N; k += 3) {
      g_autofree char *name = g_strdup_printf("n%u", k);
      g_assert_cmpint(lfs_index_remove_name(idx, k % 2 ? "x" : "y", name), ==, 0);
    }
    for (guint k = step + 1; k < N; k += 3) {
      g_autofree char *name = g_strdup_printf("n%u", k);
      g_autoptr(LfsGroupInfo) g = lfs_index_get_siblings(idx, k % 2 ? "x" : "y", name);
      gboolean partner_gone = (k ^ 1) % 3 <= step; /* its group is dissolved */
      if (partner_gone)
        g_assert_null(g);
      else
        g_assert_nonnull(g);
    }
  }
  assert_pruned(idx);
}

/* all-dangling/FLAT: found directly for plain FLATs, by a pass for hashed
 * ones, never for a symlink that resolves or a FLAT nobody has. */
static void
test_dangling_by_flat(void)
{
  g_autoptr(LfsIndex) idx = lfs_index_new();
  g_autofree char *longdir = g_strnfill(200, 'd');
  g_autofree char *longname = g_strnfill(100, 'n');
  lfs_index_add_symlink(idx, "a/b", "gone", DEV, 90, 1, "nowhere", &dangles);
  lfs_index_add_symlink(idx, "", "top", DEV, 91, 1, "nowhere", &dangles);
  lfs_index_add_symlink(idx, "a", "ok", DEV, 92, 1, "b", &resolves);
  lfs_index_add_symlink(idx, "a", "x" LFS_FLAT_SLASH "y", DEV, 93, 1, "nowhere",
                        &dangles);
  lfs_index_add_symlink(idx, longdir, longname, DEV, 94, 1, "nowhere", &dangles);
  g_autofree char *longpath = lfs_path_join(longdir, longname);
  const char *paths[] = {"a/b/gone", "top", "a/x" LFS_FLAT_SLASH "y", longpath, NULL};
  for (guint i = 0; paths[i] != NULL; i++) {
    g_autofree char *flat = lfs_flatten(paths[i]);
    g_autoptr(LfsSymlinkInfo) s = lfs_index_get_dangling_by_flat(idx, flat);
    g_assert_nonnull(s);
    g_assert_cmpstr(s->path, ==, paths[i]);
    g_assert_cmpstr(s->flat, ==, flat);
    g_assert_cmpuint(s->ino, ==, 90 + (i < 2 ? i : i + 1));
  }
  const char *absent[] = {"a" LFS_FLAT_SLASH "ok",
                          "a" LFS_FLAT_SLASH "x" LFS_FLAT_SLASH "y",
                          "a" LFS_FLAT_SLASH "b",
                          "nothing",
                          "\xe2\x80\xa6"
                          "0123456789abcdef_x",
                          NULL};
  for (guint i = 0; absent[i] != NULL; i++)
    g_assert_null(lfs_index_get_dangling_by_flat(idx, absent[i]));
  /* Every entry of the listing is found by its FLAT. */
  g_autoptr(GPtrArray) all = lfs_index_list_all_dangling(idx);
  g_assert_cmpuint(all->len, ==, 4);
  for (guint i = 0; i < all->len; i++) {
    LfsSymlinkInfo *e = all->pdata[i];
    g_autoptr(LfsSymlinkInfo) s = lfs_index_get_dangling_by_flat(idx, e->flat);
    g_assert_nonnull(s);
    g_assert_cmpstr(s->path, ==, e->path);
  }
}

/* What -o watch asks: the entry at a name, dropping a name without
 * touching nlink, the groups below a directory. */
static void
test_lookup_drop_below(void)
{
  g_autoptr(LfsIndex) idx = lfs_index_new();
  lfs_index_add_file(idx, "a/b", "f", DEV, 300, 3);
  lfs_index_add_file(idx, "a", "g", DEV, 300, 3);
  lfs_index_add_file(idx, "", "h", DEV, 300, 3);
  lfs_index_add_file(idx, "a/b/c", "x", DEV, 301, 2);
  lfs_index_add_file(idx, "y", "x2", DEV, 301, 2);
  lfs_index_add_symlink(idx, "a", "s", DEV, 302, 1, "nowhere", &dangles);
  LfsEntryInfo e;
  g_assert_cmpint(lfs_index_lookup(idx, "a/b", "f", &e), ==, LFS_ENTRY_FILE);
  g_assert_cmpuint(e.ino, ==, 300);
  g_assert_cmpuint(e.nlink, ==, 3);
  g_assert_cmpuint(e.npaths, ==, 3);
  g_assert_cmpint(lfs_index_lookup(idx, "a", "b", &e), ==, LFS_ENTRY_DIR);
  g_assert_cmpint(lfs_index_lookup(idx, "a", "s", &e), ==, LFS_ENTRY_SYMLINK);
  g_assert_true(e.dangling);
  g_assert_cmpint(lfs_index_lookup(idx, "a", "none", &e), ==, LFS_ENTRY_NONE);
  g_assert_cmpint(lfs_index_lookup(idx, "a/../x", "f", &e), ==, LFS_ENTRY_NONE);

  g_autoptr(GArray) below = lfs_index_groups_below(idx, "", "a");
  g_assert_cmpuint(below->len, ==, 2); /* 300 and 301, once each */
  guint64 sum = 0;
  for (guint k = 0; k < below->len; k++)
    sum += g_array_index(below, LfsInoKey, k).ino;
  g_assert_cmpuint(sum, ==, 601);
  g_autoptr(GArray) one = lfs_index_groups_below(idx, "", "h");
  g_assert_cmpuint(one->len, ==, 1);

  /* drop: nlink stays (the name left the view); remove: one less */
  lfs_index_drop_name(idx, "a/b", "f");
  g_assert_cmpint(lfs_index_lookup(idx, "a", "g", &e), ==, LFS_ENTRY_FILE);
  g_assert_cmpuint(e.nlink, ==, 3);
  g_assert_cmpuint(counters(idx).outside_links, ==, 1);
  lfs_index_remove_name(idx, "a", "g");
  g_assert_cmpint(lfs_index_lookup(idx, "", "h", &e), ==, LFS_ENTRY_FILE);
  g_assert_cmpuint(e.nlink, ==, 2);
  /* a subtree dropped: its groups keep their nlink */
  lfs_index_drop_name(idx, "", "a");
  g_assert_cmpint(lfs_index_lookup(idx, "y", "x2", &e), ==, LFS_ENTRY_FILE);
  g_assert_cmpuint(e.nlink, ==, 2);
  g_assert_cmpuint(e.npaths, ==, 1);
  g_assert_cmpuint(counters(idx).symlinks, ==, 0);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/index/add-remove", test_add_remove);
  g_test_add_func("/index/upsert", test_upsert);
  g_test_add_func("/index/outside-nlink", test_outside_and_nlink);
  g_test_add_func("/index/rename-dir", test_rename_dir);
  g_test_add_func("/index/rename-unindexed", test_rename_unindexed);
  g_test_add_func("/index/exchange", test_exchange);
  g_test_add_func("/index/siblings", test_siblings_listing);
  g_test_add_func("/index/symlinks", test_symlinks);
  g_test_add_func("/index/dangling-by-flat", test_dangling_by_flat);
  g_test_add_func("/index/hardlinked-symlink", test_hardlinked_symlink);
  g_test_add_func("/index/generation", test_generation);
  g_test_add_func("/index/replace-contents", test_replace_contents);
  g_test_add_func("/index/random-model", test_random_model);
  g_test_add_func("/index/threads", test_threads);
  g_test_add_func("/index/odd-names", test_long_and_odd_names);
  g_test_add_func("/index/many-names", test_many_names);
  g_test_add_func("/index/lookup-drop-below", test_lookup_drop_below);
  return g_test_run();
}
