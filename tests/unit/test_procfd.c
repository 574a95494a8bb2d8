/* Unit tests of procfd.c: O_PATH descriptors' files by name, with the
 * *xattrat calls and with the /proc/self/fd/N path, which must agree. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/procfd.h"
#include "test-modes.h"

typedef struct {
  char *top;     /* the temporary directory */
  LfsProcFd pf;  /* as the daemon opens it */
  int file, dir; /* O_PATH descriptors of top/f and top/d */
  int link;      /* O_PATH | O_NOFOLLOW of the symlink top/l -> f */
} Fixture;

static int
opath(const Fixture *fx, const char *rel, int flags)
{
  g_autofree char *p = g_build_filename(fx->top, rel, NULL);
  int fd = open(p, O_PATH | O_CLOEXEC | flags);
  g_assert_cmpint(fd, >=, 0);
  return fd;
}

/* data: GINT_TO_POINTER(1) to use the path even where *xattrat exist */
static void
fixture_setup(Fixture *fx, gconstpointer data)
{
  fx->top = g_dir_make_tmp("lfs-procfd-XXXXXX", NULL);
  g_assert_nonnull(fx->top);
  g_autofree char *f = g_build_filename(fx->top, "f", NULL);
  g_autofree char *d = g_build_filename(fx->top, "d", NULL);
  g_autofree char *l = g_build_filename(fx->top, "l", NULL);
  g_assert_true(g_file_set_contents(f, "content", -1, NULL));
  g_assert_cmpint(g_mkdir(d, 0755), ==, 0);
  g_assert_cmpint(symlink("f", l), ==, 0);
  lfs_procfd_open(&fx->pf);
  g_assert_cmpint(fx->pf.dirfd, >=, 0);
  if (GPOINTER_TO_INT(data) == 1)
    fx->pf.xattrat = FALSE;
  fx->file = opath(fx, "f", 0);
  fx->dir = opath(fx, "d", O_DIRECTORY);
  fx->link = opath(fx, "l", O_NOFOLLOW);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
  close(fx->file);
  close(fx->dir);
  close(fx->link);
  lfs_procfd_close(&fx->pf);
  g_assert_cmpint(fx->pf.dirfd, ==, -1);
  g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", fx->top);
  g_assert_cmpint(system(cmd), ==, 0);
  g_free(fx->top);
}

static gboolean
kernel_at_least(int major, int minor)
{
  struct utsname u;
  int ma = 0, mi = 0;
  g_assert_cmpint(uname(&u), ==, 0);
  return sscanf(u.release, "%d.%d", &ma, &mi) == 2 &&
         (ma > major || (ma == major && mi >= minor));
}

static void
test_probe(Fixture *fx, gconstpointer data)
{
  if (GPOINTER_TO_INT(data) == 1)
    g_assert_false(fx->pf.xattrat);
  else if (kernel_at_least(6, 13))
    g_assert_true(fx->pf.xattrat); /* the fast path is the one taken here */
  else
    g_test_message("Linux < 6.13: extended attributes by path");
}

/* set, get, list and remove on one descriptor; the results as getxattr(2)
 * and its kin give them on the real path. */
static void
check_xattrs(Fixture *fx, int fd, const char *rel, const char *name)
{
  const LfsProcFd *pf = &fx->pf;
  g_autofree char *real = g_build_filename(fx->top, rel, NULL);
  char buf[64];

  errno = 0;
  g_assert_cmpint(lfs_procfd_getxattr(pf, fd, name, buf, sizeof buf), ==, -1);
  g_assert_cmpint(errno, ==, ENODATA);
  g_assert_cmpint(lfs_procfd_setxattr(pf, fd, name, "value", 5, XATTR_CREATE), ==, 0);
  g_assert_cmpint(lgetxattr(real, name, buf, sizeof buf), ==, 5); /* the file itself */
  errno = 0;
  g_assert_cmpint(lfs_procfd_setxattr(pf, fd, name, "v", 1, XATTR_CREATE), ==, -1);
  g_assert_cmpint(errno, ==, EEXIST);
  g_assert_cmpint(lfs_procfd_getxattr(pf, fd, name, NULL, 0), ==, 5); /* size only */
  g_assert_cmpint(lfs_procfd_getxattr(pf, fd, name, buf, sizeof buf), ==, 5);
  g_assert_cmpmem(buf, 5, "value", 5);
  errno = 0;
  g_assert_cmpint(lfs_procfd_getxattr(pf, fd, name, buf, 2), ==, -1);
  g_assert_cmpint(errno, ==, ERANGE);

  ssize_t n = lfs_procfd_listxattr(pf, fd, buf, sizeof buf);
  char want[64];
  g_assert_cmpint(n, ==, llistxattr(real, want, sizeof want));
  g_assert_cmpmem(buf, n, want, n);
  g_assert_nonnull(memmem(buf, (size_t)n, name, strlen(name) + 1));

  g_assert_cmpint(lfs_procfd_removexattr(pf, fd, name), ==, 0);
  errno = 0;
  g_assert_cmpint(lgetxattr(real, name, buf, sizeof buf), ==, -1);
  g_assert_cmpint(errno, ==, ENODATA);
  errno = 0;
  g_assert_cmpint(lfs_procfd_removexattr(pf, fd, name), ==, -1);
  g_assert_cmpint(errno, ==, ENODATA);
}

static void
test_xattrs_file(Fixture *fx, gconstpointer data)
{
  check_xattrs(fx, fx->file, "f", "user.lfs-test");
}

static void
test_xattrs_dir(Fixture *fx, gconstpointer data)
{
  check_xattrs(fx, fx->dir, "d", "user.lfs-test");
}

/* The symlink's own attributes, never its target's (user.* are refused on
 * symlinks; trusted.* need CAP_SYS_ADMIN). */
static void
test_xattrs_symlink(Fixture *fx, gconstpointer data)
{
  if (geteuid() != 0) {
    g_test_skip("trusted.* attributes need root");
    return;
  }
  check_xattrs(fx, fx->link, "l", "trusted.lfs-test");
  g_autofree char *target = g_build_filename(fx->top, "f", NULL);
  char buf[8];
  errno = 0;
  g_assert_cmpint(lgetxattr(target, "trusted.lfs-test", buf, sizeof buf), ==, -1);
  g_assert_cmpint(errno, ==, ENODATA);
}

static void
test_closed_descriptor(Fixture *fx, gconstpointer data)
{
  int fd = dup(fx->file);
  close(fd);
  char buf[8];
  errno = 0;
  g_assert_cmpint(lfs_procfd_getxattr(&fx->pf, fd, "user.x", buf, sizeof buf), ==, -1);
  g_assert_cmpint(errno, ==, ENOENT);
}

/* openat and fchmodat on the name reach the file, as through the path. */
static void
test_at_name(Fixture *fx, gconstpointer data)
{
  char name[LFS_PROCFD_NAME_MAX];
  int dirfd;
  const char *at = lfs_procfd_at(&fx->pf, fx->file, name, &dirfd);
  g_assert_cmpint(dirfd, ==, fx->pf.dirfd);
  g_autofree char *want = g_strdup_printf("%d", fx->file);
  g_assert_cmpstr(at, ==, want);
  int fd = openat(dirfd, at, O_RDONLY | O_CLOEXEC);
  g_assert_cmpint(fd, >=, 0);
  char buf[16] = {0};
  g_assert_cmpint(read(fd, buf, sizeof buf), ==, 7);
  g_assert_cmpstr(buf, ==, "content");
  close(fd);
  g_assert_cmpint(fchmodat(dirfd, at, 0604, 0), ==, 0);
  struct stat st;
  g_assert_cmpint(fstat(fx->file, &st), ==, 0);
  g_assert_cmpint(st.st_mode & 07777, ==, 0604);

  LfsProcFd none = LFS_PROCFD_INIT; /* never opened: the whole path */
  at = lfs_procfd_at(&none, fx->file, name, &dirfd);
  g_assert_cmpint(dirfd, ==, AT_FDCWD);
  g_autofree char *path = g_strdup_printf("/proc/self/fd/%d", fx->file);
  g_assert_cmpstr(at, ==, path);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  static const LfsTestMode modes[] = {{"probed", 0}, {"path", 1}};
  static const LfsTestCase cases[] = {
      {"probe", (GTestFixtureFunc)test_probe},
      {"xattrs-file", (GTestFixtureFunc)test_xattrs_file},
      {"xattrs-dir", (GTestFixtureFunc)test_xattrs_dir},
      {"xattrs-symlink", (GTestFixtureFunc)test_xattrs_symlink},
      {"closed-descriptor", (GTestFixtureFunc)test_closed_descriptor},
      {"at-name", (GTestFixtureFunc)test_at_name},
  };
  lfs_test_add_modes("procfd", sizeof(Fixture), modes, G_N_ELEMENTS(modes), cases,
                     G_N_ELEMENTS(cases), (GTestFixtureFunc)fixture_setup,
                     (GTestFixtureFunc)fixture_teardown);
  return g_test_run();
}
