/* Unit tests of names.c: FLAT names, relative targets, validation. */
#include "config.h"

#include <string.h>

#include "core/names.h"

#define DS LFS_FLAT_SLASH
#define ELL LFS_FLAT_ELLIPSIS

static void
test_flatten_plain(void)
{
  g_autofree char *a = lfs_flatten("backup/2024/img.jpg");
  g_assert_cmpstr(a, ==, "backup" DS "2024" DS "img.jpg");
  g_autofree char *b = lfs_flatten("top");
  g_assert_cmpstr(b, ==, "top");
  g_autofree char *c = lfs_flatten("a b/\nc");
  g_assert_cmpstr(c, ==, "a b" DS "\nc");
  g_assert_false(lfs_flatten_is_hashed("a/b"));
}

static void
assert_valid_flat(const char *flat)
{
  g_assert_nonnull(flat);
  g_assert_cmpuint(strlen(flat), >, 0);
  g_assert_cmpuint(strlen(flat), <=, LFS_NAME_MAX);
  g_assert_null(strchr(flat, '/'));
  g_assert_cmpstr(flat, !=, ".");
  g_assert_cmpstr(flat, !=, "..");
}

static char *
long_path(guint ncomp, guint complen, char fill)
{
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < ncomp; i++) {
    if (i > 0)
      g_string_append_c(s, '/');
    for (guint k = 0; k < complen; k++)
      g_string_append_c(s, fill);
  }
  return g_string_free(s, FALSE);
}

static void
test_flatten_long(void)
{
  g_autofree char *path = long_path(40, 10, 'x');
  g_autofree char *p2 = g_strconcat(path, "/last.txt", NULL);
  g_autofree char *f = lfs_flatten(p2);
  assert_valid_flat(f);
  g_assert_true(g_str_has_prefix(f, ELL));
  g_assert_true(g_str_has_suffix(f, DS "last.txt"));
  g_assert_cmpuint(strlen(f), >=, LFS_NAME_MAX - 2);
  g_assert_true(g_utf8_validate(f, -1, NULL));
  g_assert_true(lfs_flatten_is_hashed(p2));

  /* Same tail, different head: different names. */
  g_autofree char *other = g_strconcat("y", p2 + 1, NULL);
  g_autofree char *f2 = lfs_flatten(other);
  g_assert_cmpstr(f, !=, f2);
  /* Deterministic. */
  g_autofree char *f3 = lfs_flatten(p2);
  g_assert_cmpstr(f, ==, f3);
}

static void
test_flatten_exact_limit(void)
{
  /* 255 bytes plain: stays plain; 256: hashed. */
  g_autofree char *a = long_path(1, 255, 'a');
  g_autofree char *fa = lfs_flatten(a);
  g_assert_cmpstr(fa, ==, a);
  g_autofree char *b = long_path(2, 126, 'b'); /* 126 + 3 + 126 = 255 */
  g_autofree char *fb = lfs_flatten(b);
  g_assert_cmpuint(strlen(fb), ==, 255);
  g_assert_false(g_str_has_prefix(fb, ELL));
  g_autofree char *c = g_strconcat(b, "c", NULL);
  g_autofree char *fc = lfs_flatten(c);
  g_assert_true(g_str_has_prefix(fc, ELL));
  assert_valid_flat(fc);
}

static void
test_flatten_utf8_cut(void)
{
  /* Many 3-byte characters: the cut must fall on a character boundary. */
  GString *s = g_string_new(NULL);
  for (int i = 0; i < 30; i++) {
    if (i > 0)
      g_string_append_c(s, '/');
    g_string_append(s, "\xc3\xa9t\xe2\x82\xac\xf0\x9f\x98\x80");
  }
  g_autofree char *path = g_string_free(s, FALSE);
  for (int extra = 0; extra < 4; extra++) {
    g_autofree char *p = g_strnfill(extra, 'z');
    g_autofree char *full = g_strconcat(p, path, NULL);
    g_autofree char *f = lfs_flatten(full);
    assert_valid_flat(f);
    g_assert_true(g_utf8_validate(f, -1, NULL));
  }
}

static void
test_flatten_non_utf8(void)
{
  g_autofree char *path = long_path(30, 12, '\x80');
  g_autofree char *f = lfs_flatten(path);
  assert_valid_flat(f);
  g_autofree char *bytes = g_strdup("a\xff/b\xfe");
  g_autofree char *fb = lfs_flatten(bytes);
  g_assert_cmpstr(fb, ==, "a\xff" DS "b\xfe");
}

/* A name that itself holds U+2215 must not collide with a real path. */
static void
test_flatten_injective_division_slash(void)
{
  g_autofree char *real = lfs_flatten("a/b");
  g_autofree char *lit = lfs_flatten("a" DS "b");
  g_assert_cmpstr(real, !=, lit);
  g_assert_true(g_str_has_prefix(lit, ELL));
  assert_valid_flat(lit);
  g_assert_true(g_str_has_suffix(lit, "a" DS "b"));

  /* A real name that looks like a hashed one is hashed itself. */
  g_autofree char *looks = g_strconcat(ELL, "0123456789abcdef_x", NULL);
  g_autofree char *fl = lfs_flatten(looks);
  g_assert_cmpstr(fl, !=, looks);
  g_assert_true(g_str_has_prefix(fl, ELL));
}

/* Splitting bytes of U+2215 across components keeps names distinct. */
static void
test_flatten_injective_partial(void)
{
  const char *paths[] = {
      "a\xe2/\x88\x95"
      "b",
      "a\xe2\x88/\x95"
      "b",
      "a/\xe2\x88\x95"
      "b",
      "a\xe2\x88\x95/b",
      "a/b",
      "a\xe2\x88\x95"
      "b",
      "ab",
      "a/b/c",
      "a/b"
      "\xe2\x88\x95"
      "c",
  };
  g_autoptr(GHashTable) seen =
      g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < G_N_ELEMENTS(paths); i++) {
    char *f = lfs_flatten(paths[i]);
    assert_valid_flat(f);
    g_assert_false(g_hash_table_contains(seen, f));
    g_hash_table_add(seen, f);
  }
}

static void
test_flatten_many_unique(void)
{
  g_autoptr(GHashTable) seen =
      g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *deep = long_path(30, 9, 'd');
  for (int i = 0; i < 2000; i++) {
    g_autofree char *p = g_strdup_printf("%s/%d/f", deep, i);
    char *f = lfs_flatten(p);
    assert_valid_flat(f);
    g_assert_true(g_hash_table_add(seen, f));
  }
}

static void
check_reltarget(const char *from, const char *to, const char *expected)
{
  g_autofree char *r = lfs_reltarget(from, to);
  g_assert_cmpstr(r, ==, expected);
  g_assert_cmpuint(lfs_reltarget_len(from, to), ==, strlen(expected));
}

static void
test_reltarget(void)
{
  check_reltarget("photos/.links/siblings/img.jpg", "backup/2024/img.jpg",
                  "../../../../backup/2024/img.jpg");
  check_reltarget("", "a/b", "a/b");
  check_reltarget(".links/inodes/123", "x", "../../../x");
  check_reltarget("a/.links/dangling", "a/x", "../../x");
  check_reltarget("a/b", "a/b/c", "c");
  check_reltarget("a/b", "a", "..");
  check_reltarget("a/b", "a/b", ".");
  check_reltarget(".links/all-dangling", "a/b/l", "../../a/b/l");
  /* A common prefix of characters is not a common component. */
  check_reltarget("ab/.links/dangling", "a/x", "../../../a/x");
  check_reltarget("a/b", "a/bc", "../bc");
  check_reltarget("a/bc", "a/b", "../b");
  /* Empty components count for nothing. */
  check_reltarget("a//b/", "/a/c//d", "../c/d");
  check_reltarget("", "", ".");
  check_reltarget("a", "", "..");
}

static void
test_name_validation(void)
{
  g_assert_true(lfs_name_is_valid(".links"));
  g_assert_true(lfs_name_is_valid("a b"));
  g_assert_false(lfs_name_is_valid(""));
  g_assert_false(lfs_name_is_valid("."));
  g_assert_false(lfs_name_is_valid(".."));
  g_assert_false(lfs_name_is_valid("a/b"));
  g_autofree char *n255 = g_strnfill(255, 'n');
  g_autofree char *n256 = g_strnfill(256, 'n');
  g_assert_true(lfs_name_is_valid(n255));
  g_assert_false(lfs_name_is_valid(n256));

  g_assert_true(lfs_relpath_is_valid(""));
  g_assert_true(lfs_relpath_is_valid("a/b/c"));
  g_assert_false(lfs_relpath_is_valid("/a"));
  g_assert_false(lfs_relpath_is_valid("a/"));
  g_assert_false(lfs_relpath_is_valid("a//b"));
  g_assert_false(lfs_relpath_is_valid("a/../b"));
  g_assert_false(lfs_relpath_is_valid("./a"));

  g_autoptr(GError) error = NULL;
  g_assert_true(lfs_links_name_validate(".links", NULL));
  g_assert_true(lfs_links_name_validate("@links", NULL));
  g_assert_false(lfs_links_name_validate("", &error));
  g_assert_nonnull(error);
  g_clear_error(&error);
  g_assert_false(lfs_links_name_validate("a/b", &error));
  g_clear_error(&error);
  g_assert_false(lfs_links_name_validate("..", &error));
  g_clear_error(&error);
  g_assert_false(lfs_links_name_validate(n256, &error));
}

static void
test_path_helpers(void)
{
  g_autofree char *j1 = lfs_path_join("", "x");
  g_autofree char *j2 = lfs_path_join("a/b", "x");
  g_assert_cmpstr(j1, ==, "x");
  g_assert_cmpstr(j2, ==, "a/b/x");

  g_autofree char *d = NULL, *n = NULL;
  g_assert_true(lfs_path_split("a/b/c", &d, &n));
  g_assert_cmpstr(d, ==, "a/b");
  g_assert_cmpstr(n, ==, "c");
  g_autofree char *d2 = NULL, *n2 = NULL;
  g_assert_true(lfs_path_split("c", &d2, &n2));
  g_assert_cmpstr(d2, ==, "");
  g_assert_cmpstr(n2, ==, "c");
  g_assert_false(lfs_path_split("", &d2, &n2));
}

/* A plain FLAT decodes back to its path; a hashed one does not decode. */
static void
test_unflatten(void)
{
  const char *plain[] = {"a", "a/b", "backup/2024/img.jpg",
                         "x y/\xc3\xa9t\xc3\xa9/.hidden", NULL};
  for (guint i = 0; plain[i] != NULL; i++) {
    g_autofree char *flat = lfs_flatten(plain[i]);
    g_autofree char *back = lfs_unflatten(flat);
    g_assert_cmpstr(back, ==, plain[i]);
  }
  g_autofree char *long_path = g_strnfill(300, 'x');
  const char *hashed[] = {long_path, "a" LFS_FLAT_SLASH "b/c", "\xe2\x80\xa6x", NULL};
  for (guint i = 0; hashed[i] != NULL; i++) {
    g_autofree char *flat = lfs_flatten(hashed[i]);
    g_assert_null(lfs_unflatten(flat));
  }
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/names/flatten/plain", test_flatten_plain);
  g_test_add_func("/names/flatten/long", test_flatten_long);
  g_test_add_func("/names/flatten/exact-limit", test_flatten_exact_limit);
  g_test_add_func("/names/flatten/utf8-cut", test_flatten_utf8_cut);
  g_test_add_func("/names/flatten/non-utf8", test_flatten_non_utf8);
  g_test_add_func("/names/flatten/division-slash", test_flatten_injective_division_slash);
  g_test_add_func("/names/flatten/partial-sequences", test_flatten_injective_partial);
  g_test_add_func("/names/flatten/many-unique", test_flatten_many_unique);
  g_test_add_func("/names/unflatten", test_unflatten);
  g_test_add_func("/names/reltarget", test_reltarget);
  g_test_add_func("/names/validation", test_name_validation);
  g_test_add_func("/names/path-helpers", test_path_helpers);
  return g_test_run();
}
