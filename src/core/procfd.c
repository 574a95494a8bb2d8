/* procfd.c: O_PATH descriptors' files by name in /proc/self/fd. */
#include "procfd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

/* Linux 6.13; one number on every architecture but alpha. glibc 2.36 has
 * neither the numbers nor wrappers. */
#if !defined(__NR_getxattrat) && !defined(__alpha__)
#define __NR_setxattrat 463
#define __NR_getxattrat 464
#define __NR_listxattrat 465
#define __NR_removexattrat 466
#endif

/* struct xattr_args of <linux/xattr.h>, version 0 (16 bytes) */
typedef struct {
  uint64_t value;
  uint32_t size;
  uint32_t flags;
} XattrArgs;

void
lfs_procfd_open(LfsProcFd *p)
{
  *p = (LfsProcFd)LFS_PROCFD_INIT;
  p->dirfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (p->dirfd < 0)
    return;
#ifdef __NR_getxattrat
  /* Only an answer the call itself gives: a seccomp filter may refuse
   * calls it does not know with EPERM rather than ENOSYS. */
  char name[LFS_PROCFD_NAME_MAX];
  XattrArgs a = {0};
  snprintf(name, sizeof name, "%d", p->dirfd);
  long r = syscall(__NR_getxattrat, p->dirfd, name, 0, "user.linkfs-probe", &a, sizeof a);
  p->xattrat = r >= 0 || errno == ENODATA || errno == EOPNOTSUPP;
#endif
}

void
lfs_procfd_close(LfsProcFd *p)
{
  if (p->dirfd >= 0)
    close(p->dirfd);
  *p = (LfsProcFd)LFS_PROCFD_INIT;
}

const char *
lfs_procfd_path(char buf[LFS_PROCFD_NAME_MAX], int fd)
{
  snprintf(buf, LFS_PROCFD_NAME_MAX, "/proc/self/fd/%d", fd);
  return buf;
}

const char *
lfs_procfd_at(const LfsProcFd *p, int fd, char buf[LFS_PROCFD_NAME_MAX], int *dirfd)
{
  if (p->dirfd < 0) {
    *dirfd = AT_FDCWD;
    return lfs_procfd_path(buf, fd);
  }
  *dirfd = p->dirfd;
  snprintf(buf, LFS_PROCFD_NAME_MAX, "%d", fd);
  return buf;
}

ssize_t
lfs_procfd_getxattr(const LfsProcFd *p, int fd, const char *name, void *buf, size_t size)
{
  char n[LFS_PROCFD_NAME_MAX];
#ifdef __NR_getxattrat
  if (p->xattrat) {
    XattrArgs a = {.value = (uintptr_t)buf, .size = (uint32_t)MIN(size, G_MAXUINT32)};
    int dirfd;
    const char *at = lfs_procfd_at(p, fd, n, &dirfd);
    return syscall(__NR_getxattrat, dirfd, at, 0, name, &a, sizeof a);
  }
#endif
  return getxattr(lfs_procfd_path(n, fd), name, buf, size);
}

ssize_t
lfs_procfd_listxattr(const LfsProcFd *p, int fd, char *buf, size_t size)
{
  char n[LFS_PROCFD_NAME_MAX];
#ifdef __NR_listxattrat
  if (p->xattrat) {
    int dirfd;
    const char *at = lfs_procfd_at(p, fd, n, &dirfd);
    return syscall(__NR_listxattrat, dirfd, at, 0, buf, size);
  }
#endif
  return listxattr(lfs_procfd_path(n, fd), buf, size);
}

int
lfs_procfd_setxattr(const LfsProcFd *p, int fd, const char *name, const void *value,
                    size_t size, int flags)
{
  char n[LFS_PROCFD_NAME_MAX];
#ifdef __NR_setxattrat
  if (p->xattrat) {
    XattrArgs a = {.value = (uintptr_t)value,
                   .size = (uint32_t)MIN(size, G_MAXUINT32),
                   .flags = (uint32_t)flags};
    int dirfd;
    const char *at = lfs_procfd_at(p, fd, n, &dirfd);
    return (int)syscall(__NR_setxattrat, dirfd, at, 0, name, &a, sizeof a);
  }
#endif
  return setxattr(lfs_procfd_path(n, fd), name, value, size, flags);
}

int
lfs_procfd_removexattr(const LfsProcFd *p, int fd, const char *name)
{
  char n[LFS_PROCFD_NAME_MAX];
#ifdef __NR_removexattrat
  if (p->xattrat) {
    int dirfd;
    const char *at = lfs_procfd_at(p, fd, n, &dirfd);
    return (int)syscall(__NR_removexattrat, dirfd, at, 0, name);
  }
#endif
  return removexattr(lfs_procfd_path(n, fd), name);
}
