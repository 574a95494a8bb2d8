/* openrel.c: paths below a directory, no symlink followed. */
#include "openrel.h"

#include "fdutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* One openat per component, each a step that follows no symlink, with
 * the errors openat2 gives. */
static int
open_walk(int dirfd, const char *piece, int flags)
{
  lfs_autofd dir = -1;
  const char *p = piece;
  for (;;) {
    while (*p == '/')
      p++;
    const char *end = strchrnul(p, '/');
    const char *after = end;
    while (*after == '/')
      after++;
    int from = dir >= 0 ? dir : dirfd;
    if (*after == '\0') { /* the last component */
      g_autofree char *name = g_strndup(p, (gsize)(end - p));
      int fd = openat(from, *name ? name : ".", flags | O_CLOEXEC | O_NOFOLLOW);
      return fd < 0 ? -errno : fd;
    }
    g_autofree char *name = g_strndup(p, (gsize)(end - p));
    lfs_autofd next = openat(from, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (next < 0)
      return -errno;
    if (fstat(next, &st) < 0)
      return -errno;
    if (S_ISLNK(st.st_mode))
      return -ELOOP; /* as RESOLVE_NO_SYMLINKS */
    if (!S_ISDIR(st.st_mode))
      return -ENOTDIR;
    lfs_fd_cleanup(&dir);
    dir = g_steal_fd(&next);
    p = after;
  }
}

int
lfs_open_below(int dirfd, const char *piece, int flags, gboolean use_openat2)
{
  if (!use_openat2)
    return open_walk(dirfd, piece, flags);
  struct open_how how = {
      .flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
      .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
  };
  long r = syscall(SYS_openat2, dirfd, *piece ? piece : ".", &how, sizeof how);
  return r < 0 ? -errno : (int)r;
}

gboolean
lfs_have_openat2(int dirfd)
{
  struct open_how how = {.flags = O_PATH | O_CLOEXEC};
  long r = syscall(SYS_openat2, dirfd, ".", &how, sizeof how);
  if (r >= 0)
    close((int)r);
  return r >= 0 || (errno != ENOSYS && errno != EPERM);
}

int
lfs_open_rel(const LfsSourceRoot *r, const char *relpath, int flags, int *fd)
{
  int start = r->fd;
  const char *rest = relpath;
  size_t mplen = r->mp_rel ? strlen(r->mp_rel) : 0;
  if (mplen > 0 && r->mp_fd >= 0 && strncmp(relpath, r->mp_rel, mplen) == 0 &&
      (relpath[mplen] == '\0' || relpath[mplen] == '/')) {
    start = r->mp_fd; /* below our own mount: the directory under it */
    rest = relpath[mplen] == '/' ? relpath + mplen + 1 : "";
  }
  /* Paths deeper than PATH_MAX are opened a piece at a time. */
  lfs_autofd dir = -1;
  while (strlen(rest) >= PATH_MAX - 1) {
    const char *cut = rest + PATH_MAX / 2;
    while (cut > rest && *cut != '/')
      cut--;
    if (cut == rest)
      return ENAMETOOLONG;
    g_autofree char *piece = g_strndup(rest, (gsize)(cut - rest));
    int fd1 =
        lfs_open_below(dir >= 0 ? dir : start, piece, O_PATH | O_DIRECTORY, r->openat2);
    if (fd1 < 0)
      return -fd1;
    lfs_fd_cleanup(&dir);
    dir = fd1;
    rest = cut + 1;
  }
  int fd1 = lfs_open_below(dir >= 0 ? dir : start, rest, flags, r->openat2);
  if (fd1 < 0)
    return -fd1;
  *fd = fd1;
  return 0;
}

int
lfs_stat_rel(const LfsSourceRoot *r, const char *relpath, struct stat *st)
{
  lfs_autofd fd = -1;
  int err = lfs_open_rel(r, relpath, O_PATH, &fd);
  if (err != 0)
    return err;
  return fstat(fd, st) < 0 ? errno : 0;
}
