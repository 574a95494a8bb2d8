/* Unit tests of openrel.c: paths opened below a directory, no symlink
 * followed, with openat2 and walked one component at a time, which must
 * agree. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/openrel.h"
#include "test-modes.h"

typedef struct {
  char *top;
  int top_fd;
  gboolean openat2;
} Fixture;

static void
mk(const Fixture *fx, const char *rel)
{
  g_autofree char *p = g_build_filename(fx->top, rel, NULL);
  g_assert_cmpint(g_mkdir_with_parents(p, 0755), ==, 0);
}

/* data: GINT_TO_POINTER(1) to walk even where openat2 exists */
static void
fixture_setup(Fixture *fx, gconstpointer data)
{
  fx->top = g_dir_make_tmp("lfs-openrel-XXXXXX", NULL);
  g_assert_nonnull(fx->top);
  fx->top_fd = open(fx->top, O_PATH | O_DIRECTORY | O_CLOEXEC);
  g_assert_cmpint(fx->top_fd, >=, 0);
  fx->openat2 = GPOINTER_TO_INT(data) != 1 && lfs_have_openat2(fx->top_fd);
  mk(fx, "a/b/c");
  g_autofree char *f = g_build_filename(fx->top, "a/b/file", NULL);
  g_assert_true(g_file_set_contents(f, "data", -1, NULL));
  g_autofree char *l1 = g_build_filename(fx->top, "a/dirlink", NULL);
  g_assert_cmpint(symlink("b", l1), ==, 0); /* a/dirlink -> a/b */
  g_autofree char *l2 = g_build_filename(fx->top, "a/b/filelink", NULL);
  g_assert_cmpint(symlink("file", l2), ==, 0);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
  close(fx->top_fd);
  g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", fx->top);
  g_assert_cmpint(system(cmd), ==, 0);
  g_free(fx->top);
}

static struct stat
stat_of(int fd)
{
  struct stat st;
  g_assert_cmpint(fd, >=, 0);
  g_assert_cmpint(fstat(fd, &st), ==, 0);
  close(fd);
  return st;
}

static void
test_probe(Fixture *fx, gconstpointer data)
{
  if (GPOINTER_TO_INT(data) == 1)
    g_assert_false(fx->openat2);
  else
    g_assert_true(fx->openat2); /* every kernel since 5.6 has it */
}

static void
test_opens(Fixture *fx, gconstpointer data)
{
  struct stat st = stat_of(lfs_open_below(fx->top_fd, "", O_PATH, fx->openat2));
  struct stat top;
  g_assert_cmpint(fstat(fx->top_fd, &top), ==, 0);
  g_assert_cmpuint(st.st_ino, ==, top.st_ino);
  st = stat_of(lfs_open_below(fx->top_fd, "a/b/c", O_PATH | O_DIRECTORY, fx->openat2));
  g_assert_true(S_ISDIR(st.st_mode));
  int fd = lfs_open_below(fx->top_fd, "a/b/file", O_RDONLY, fx->openat2);
  g_assert_cmpint(fd, >=, 0);
  char buf[8] = {0};
  g_assert_cmpint(read(fd, buf, sizeof buf), ==, 4);
  g_assert_cmpstr(buf, ==, "data");
  g_assert_cmpint(fcntl(fd, F_GETFD), ==, FD_CLOEXEC);
  close(fd);
  /* a trailing symlink: itself with O_PATH | O_NOFOLLOW, else ELOOP */
  st = stat_of(lfs_open_below(fx->top_fd, "a/b/filelink", O_PATH, fx->openat2));
  g_assert_true(S_ISLNK(st.st_mode));
  g_assert_cmpint(lfs_open_below(fx->top_fd, "a/b/filelink", O_RDONLY, fx->openat2), ==,
                  -ELOOP);
}

static void
test_refuses(Fixture *fx, gconstpointer data)
{
  gboolean o2 = fx->openat2;
  /* a symlink among the leading components */
  g_assert_cmpint(lfs_open_below(fx->top_fd, "a/dirlink/file", O_PATH, o2), ==, -ELOOP);
  g_assert_cmpint(lfs_open_below(fx->top_fd, "a/dirlink/c", O_PATH | O_DIRECTORY, o2), ==,
                  -ELOOP);
  /* a trailing one asked for as a directory: not one (O_DIRECTORY is
   * checked first, by openat2 and openat alike) */
  g_assert_cmpint(lfs_open_below(fx->top_fd, "a/dirlink", O_RDONLY | O_DIRECTORY, o2), ==,
                  -ENOTDIR);
  g_assert_cmpint(lfs_open_below(fx->top_fd, "a/dirlink", O_RDONLY, o2), ==, -ELOOP);
  /* a file among them, and what is not there */
  g_assert_cmpint(lfs_open_below(fx->top_fd, "a/b/file/x", O_PATH, o2), ==, -ENOTDIR);
  g_assert_cmpint(lfs_open_below(fx->top_fd, "a/nothing/x", O_PATH, o2), ==, -ENOENT);
  g_assert_cmpint(lfs_open_below(fx->top_fd, "a/b/nothing", O_PATH, o2), ==, -ENOENT);
  g_assert_cmpint(lfs_open_below(fx->top_fd, "a/b/file", O_RDONLY | O_DIRECTORY, o2), ==,
                  -ENOTDIR);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  static const LfsTestMode modes[] = {{"openat2", 0}, {"walk", 1}};
  static const LfsTestCase cases[] = {
      {"probe", (GTestFixtureFunc)test_probe},
      {"opens", (GTestFixtureFunc)test_opens},
      {"refuses", (GTestFixtureFunc)test_refuses},
  };
  lfs_test_add_modes("openrel", sizeof(Fixture), modes, G_N_ELEMENTS(modes), cases,
                     G_N_ELEMENTS(cases), (GTestFixtureFunc)fixture_setup,
                     (GTestFixtureFunc)fixture_teardown);
  return g_test_run();
}
