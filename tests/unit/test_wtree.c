/* Unit tests of watch-tree.c: the directories of SOURCE by key. */
#include "config.h"

#include <string.h>

#include "live/watch-tree.h"

static void
set(LfsWTree *t, const char *rel, int key)
{
  lfs_wtree_set(t, rel, &key, sizeof key, 1, (ino_t)(1000 + key));
}

/* The path of key, or "-" if unknown. */
static char *
path(LfsWTree *t, int key)
{
  char *p = lfs_wtree_path(t, &key, sizeof key, NULL, NULL);
  return p ? p : g_strdup("-");
}

#define assert_path(t, key, want)                                                        \
  do {                                                                                   \
    g_autofree char *p_ = path(t, key);                                                  \
    g_assert_cmpstr(p_, ==, want);                                                       \
  } while (0)

static GPtrArray *
dropped_new(void)
{
  return g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
}

static gboolean
dropped_has(GPtrArray *d, int key)
{
  for (guint k = 0; k < d->len; k++) {
    gsize len;
    const int *v = g_bytes_get_data(d->pdata[k], &len);
    if (len == sizeof key && *v == key)
      return TRUE;
  }
  return FALSE;
}

static void
test_set_and_path(void)
{
  LfsWTree *t = lfs_wtree_new();
  set(t, "", 1);
  set(t, "a/b/c", 3); /* a and a/b: places without a key */
  set(t, "a", 2);
  assert_path(t, 1, "");
  assert_path(t, 2, "a");
  assert_path(t, 3, "a/b/c");
  assert_path(t, 9, "-");
  dev_t dev;
  ino_t ino;
  g_assert_true(lfs_wtree_lookup(t, "a/b/c", &dev, &ino));
  g_assert_cmpuint(ino, ==, 1003);
  g_assert_false(lfs_wtree_lookup(t, "a/b", NULL, NULL));
  g_assert_false(lfs_wtree_lookup(t, "x", NULL, NULL));
  g_assert_cmpuint(lfs_wtree_size(t), ==, 3);
  lfs_wtree_free(t);
}

static void
test_move_takes_subtree(void)
{
  LfsWTree *t = lfs_wtree_new();
  set(t, "", 1);
  set(t, "a", 2);
  set(t, "a/b", 3);
  set(t, "a/b/c", 4);
  set(t, "x", 5);
  g_autoptr(GPtrArray) d = dropped_new();
  g_assert_true(lfs_wtree_move(t, "a/b", "x/y/B", d));
  assert_path(t, 3, "x/y/B");
  assert_path(t, 4, "x/y/B/c");
  assert_path(t, 2, "a");
  g_assert_cmpuint(d->len, ==, 0);
  g_assert_false(lfs_wtree_lookup(t, "a/b", NULL, NULL));
  /* up again, renamed */
  g_assert_true(lfs_wtree_move(t, "x/y/B", "top", d));
  assert_path(t, 4, "top/c");
  /* nothing there, or below itself: nothing changes */
  g_assert_false(lfs_wtree_move(t, "nothing", "z", d));
  g_assert_false(lfs_wtree_move(t, "top", "top/c/inside", d));
  assert_path(t, 4, "top/c");
  lfs_wtree_free(t);
}

static void
test_move_replaces(void)
{
  LfsWTree *t = lfs_wtree_new();
  set(t, "a", 2);
  set(t, "b", 3); /* an empty directory rename(2) replaces */
  set(t, "b/old", 4);
  g_autoptr(GPtrArray) d = dropped_new();
  g_assert_true(lfs_wtree_move(t, "a", "b", d));
  assert_path(t, 2, "b");
  assert_path(t, 3, "-");
  assert_path(t, 4, "-");
  g_assert_true(dropped_has(d, 3));
  g_assert_true(dropped_has(d, 4));
  g_assert_cmpuint(lfs_wtree_size(t), ==, 1);
  lfs_wtree_free(t);
}

static void
test_drop_and_forget(void)
{
  LfsWTree *t = lfs_wtree_new();
  set(t, "", 1);
  set(t, "a", 2);
  set(t, "a/b", 3);
  set(t, "a/b/c", 4);
  set(t, "a2", 5);
  g_autoptr(GPtrArray) d = dropped_new();
  lfs_wtree_drop(t, "a", d);
  g_assert_cmpuint(d->len, ==, 3);
  g_assert_true(dropped_has(d, 2) && dropped_has(d, 3) && dropped_has(d, 4));
  assert_path(t, 5, "a2");
  g_assert_cmpuint(lfs_wtree_size(t), ==, 2);
  lfs_wtree_drop(t, "", d); /* SOURCE itself stays */
  assert_path(t, 1, "");
  /* forgetting a key keeps the places its children need */
  set(t, "p/q", 6);
  set(t, "p", 7);
  lfs_wtree_forget(t, &(int){7}, sizeof(int));
  assert_path(t, 7, "-");
  assert_path(t, 6, "p/q");
  lfs_wtree_forget(t, &(int){6}, sizeof(int));
  g_assert_cmpuint(lfs_wtree_size(t), ==, 2);
  lfs_wtree_free(t);
}

static void
test_set_again(void)
{
  LfsWTree *t = lfs_wtree_new();
  set(t, "a", 2);
  set(t, "a/s", 3);
  /* the directory with key 2 seen at another place (a scan ran ahead of
   * the events): it moves there; what was below its old place stays */
  set(t, "b", 2);
  assert_path(t, 2, "b");
  assert_path(t, 3, "a/s");
  /* another directory at b: key 2 names nothing any more */
  set(t, "b", 4);
  assert_path(t, 4, "b");
  assert_path(t, 2, "-");
  g_assert_cmpuint(lfs_wtree_size(t), ==, 2);
  lfs_wtree_free(t);
}

static void
test_many_children(void)
{
  LfsWTree *t = lfs_wtree_new();
  for (int k = 0; k < 5000; k++) {
    g_autofree char *rel = g_strdup_printf("d/%d", k);
    set(t, rel, 10 + k);
  }
  set(t, "d", 1);
  g_autoptr(GPtrArray) d = dropped_new();
  g_assert_true(lfs_wtree_move(t, "d", "e/f", d));
  assert_path(t, 10 + 4321, "e/f/4321");
  lfs_wtree_drop(t, "e", d);
  g_assert_cmpuint(d->len, ==, 5001);
  g_assert_cmpuint(lfs_wtree_size(t), ==, 0);
  lfs_wtree_free(t);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/wtree/set-and-path", test_set_and_path);
  g_test_add_func("/wtree/move-takes-subtree", test_move_takes_subtree);
  g_test_add_func("/wtree/move-replaces", test_move_replaces);
  g_test_add_func("/wtree/drop-and-forget", test_drop_and_forget);
  g_test_add_func("/wtree/set-again", test_set_again);
  g_test_add_func("/wtree/many-children", test_many_children);
  return g_test_run();
}
