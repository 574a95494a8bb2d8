/* Unit tests of one lock owner's byte ranges (src/core/lkranges.c). */
#include "core/lkranges.h"

#include <fcntl.h>

/* r's ranges as "start-end:t ..." (end "E" for the end of the file). */
static char *
show(const LfsLkRanges *r)
{
  GString *s = g_string_new(NULL);
  for (guint k = 0; k < lfs_lkranges_count(r); k++) {
    const LfsLkRange *x = lfs_lkranges_nth(r, k);
    if (s->len > 0)
      g_string_append_c(s, ' ');
    g_string_append_printf(s, "%" G_GINT64_FORMAT "-", x->start);
    if (x->end == LFS_LK_EOF)
      g_string_append_c(s, 'E');
    else
      g_string_append_printf(s, "%" G_GINT64_FORMAT, x->end);
    g_string_append_printf(s, ":%c", x->type == F_RDLCK ? 'r' : 'w');
  }
  return g_string_free(s, FALSE);
}

static void
check(const LfsLkRanges *r, const char *want)
{
  g_autofree char *got = show(r);
  g_assert_cmpstr(got, ==, want);
}

static void
test_lock_and_unlock(void)
{
  g_autoptr(LfsLkRanges) r = lfs_lkranges_new();
  g_assert_true(lfs_lkranges_empty(r));
  lfs_lkranges_set(r, 10, 19, F_RDLCK);
  check(r, "10-19:r");
  lfs_lkranges_set(r, 30, LFS_LK_EOF, F_WRLCK);
  check(r, "10-19:r 30-E:w");
  lfs_lkranges_set(r, 0, LFS_LK_EOF, F_UNLCK);
  check(r, "");
  g_assert_true(lfs_lkranges_empty(r));
}

static void
test_new_lock_splits_and_replaces(void)
{
  g_autoptr(LfsLkRanges) r = lfs_lkranges_new();
  lfs_lkranges_set(r, 0, 99, F_RDLCK);
  lfs_lkranges_set(r, 40, 59, F_WRLCK);
  check(r, "0-39:r 40-59:w 60-99:r");
  lfs_lkranges_set(r, 50, 54, F_UNLCK);
  check(r, "0-39:r 40-49:w 55-59:w 60-99:r");
  lfs_lkranges_set(r, 30, 70, F_RDLCK); /* merges with both read neighbours */
  check(r, "0-99:r");
  lfs_lkranges_set(r, 100, 109, F_RDLCK); /* touching: one range */
  check(r, "0-109:r");
  lfs_lkranges_set(r, 0, 4, F_WRLCK);
  check(r, "0-4:w 5-109:r");
  lfs_lkranges_set(r, 200, LFS_LK_EOF, F_RDLCK);
  lfs_lkranges_set(r, 300, 309, F_UNLCK);
  check(r, "0-4:w 5-109:r 200-299:r 310-E:r");
  lfs_lkranges_clear(r);
  check(r, "");
}

static void
test_conflicts_with_other_owners(void)
{
  g_autoptr(LfsLkRanges) r = lfs_lkranges_new();
  lfs_lkranges_set(r, 10, 19, F_RDLCK);
  lfs_lkranges_set(r, 30, 39, F_WRLCK);
  const LfsLkRange *c = lfs_lkranges_conflict(r, 0, 100, F_RDLCK);
  g_assert_nonnull(c);
  g_assert_cmpint(c->start, ==, 30); /* read locks share */
  c = lfs_lkranges_conflict(r, 0, 100, F_WRLCK);
  g_assert_cmpint(c->start, ==, 10);
  g_assert_null(lfs_lkranges_conflict(r, 20, 29, F_WRLCK));
  g_assert_null(lfs_lkranges_conflict(r, 0, 9, F_WRLCK));
  g_assert_null(lfs_lkranges_conflict(r, 40, LFS_LK_EOF, F_WRLCK));
  g_assert_nonnull(lfs_lkranges_conflict(r, 39, LFS_LK_EOF, F_RDLCK));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/lkranges/lock-and-unlock", test_lock_and_unlock);
  g_test_add_func("/lkranges/new-lock-splits-and-replaces",
                  test_new_lock_splits_and_replaces);
  g_test_add_func("/lkranges/conflicts-with-other-owners",
                  test_conflicts_with_other_owners);
  return g_test_run();
}
