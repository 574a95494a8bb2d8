/* Unit tests of the rename log (src/core/movelog.c). */
#include "core/movelog.h"

static void
check(const LfsMoveLog *log, const char *path, guint64 seq, const char *want)
{
  g_autofree char *got = lfs_movelog_rebase(log, path, seq);
  g_assert_cmpstr(got, ==, want);
}

static void
test_rename_moves_what_is_below(void)
{
  g_autoptr(LfsMoveLog) log = lfs_movelog_new();
  g_assert_cmpuint(lfs_movelog_end(log), ==, 0);
  lfs_movelog_add(log, "a/b", "c", FALSE);
  g_assert_cmpuint(lfs_movelog_end(log), ==, 1);
  check(log, "a/b", 0, "c");
  check(log, "a/b/d/e", 0, "c/d/e");
  check(log, "a", 0, "a");       /* above it: stays */
  check(log, "a/bc", 0, "a/bc"); /* a longer name is another entry */
  check(log, "a/b", 1, "a/b");   /* already right after the rename */
  check(log, "", 0, "");
}

static void
test_renames_apply_in_order(void)
{
  g_autoptr(LfsMoveLog) log = lfs_movelog_new();
  lfs_movelog_add(log, "big0", "big1", FALSE);
  lfs_movelog_add(log, "big1", "big0", FALSE);
  lfs_movelog_add(log, "big0/in", "out", FALSE);
  check(log, "big0/in/x", 0, "out/x");
  check(log, "big1/in/x", 1, "out/x");
  check(log, "big0/in/x", 2, "out/x");
  check(log, "big0", 0, "big0");
  check(log, "out", 3, "out");
}

static void
test_exchange_swaps_both_ways(void)
{
  g_autoptr(LfsMoveLog) log = lfs_movelog_new();
  lfs_movelog_add(log, "p", "q", TRUE);
  check(log, "p/x", 0, "q/x");
  check(log, "q/y", 0, "p/y");
  check(log, "r", 0, "r");
}

static void
test_clear_keeps_positions(void)
{
  g_autoptr(LfsMoveLog) log = lfs_movelog_new();
  lfs_movelog_add(log, "a", "b", FALSE);
  lfs_movelog_add(log, "b", "c", FALSE);
  lfs_movelog_clear(log);
  g_assert_cmpuint(lfs_movelog_end(log), ==, 2);
  check(log, "a", 2, "a");
  lfs_movelog_add(log, "a", "d", FALSE);
  g_assert_cmpuint(lfs_movelog_end(log), ==, 3);
  check(log, "a/z", 2, "d/z");
  check(log, "a/z", 3, "a/z");
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/movelog/rename-moves-what-is-below", test_rename_moves_what_is_below);
  g_test_add_func("/movelog/renames-apply-in-order", test_renames_apply_in_order);
  g_test_add_func("/movelog/exchange-swaps-both-ways", test_exchange_swaps_both_ways);
  g_test_add_func("/movelog/clear-keeps-positions", test_clear_keeps_positions);
  return g_test_run();
}
