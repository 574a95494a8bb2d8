/* procfd.h: the file of an O_PATH descriptor, reached by name.
 *
 * An O_PATH descriptor cannot be read, chmod'ed or carry extended
 * attributes itself; its file is reached through the magic link
 * /proc/self/fd/N. Resolving that path costs four lookups, a symlink and a
 * permission check per call (2.2 us, a fifth of the daemon's time in
 * `ls -lR`, which asks two xattrs of every name). So the process's fd
 * directory is opened once and every call names "N" in it: with the
 * *xattrat calls (Linux >= 6.13) the extended attributes too. Where the
 * directory could not be opened, or the calls are missing, the path is
 * used as before: the same files, the same errors.
 *
 * Open it after fuse_daemonize: /proc/self of the parent is not ours.
 * No FUSE inside. */
#pragma once

#include <glib.h>
#include <sys/types.h>

typedef struct {
  int dirfd;        /* /proc/self/fd, or -1: use the whole path */
  gboolean xattrat; /* the kernel has getxattrat and its kin */
} LfsProcFd;

#define LFS_PROCFD_INIT                                                                  \
  {                                                                                      \
    .dirfd = -1, .xattrat = FALSE                                                        \
  }

/* Open /proc/self/fd and see whether the kernel has the *xattrat calls.
 * Never fails: without them, the path is used. */
void lfs_procfd_open(LfsProcFd *p);
void lfs_procfd_close(LfsProcFd *p);

/* Room for "/proc/self/fd/" and any descriptor number. */
#define LFS_PROCFD_NAME_MAX 32

/* The name of fd's file relative to the returned directory descriptor (for
 * openat, fchmodat, utimensat, linkat: they follow the magic link as a
 * path through /proc would), in buf. */
const char *lfs_procfd_at(const LfsProcFd *p, int fd, char buf[LFS_PROCFD_NAME_MAX],
                          int *dirfd);

/* The whole path "/proc/self/fd/N", for calls with no *at form. */
const char *lfs_procfd_path(char buf[LFS_PROCFD_NAME_MAX], int fd);

/* getxattr(2) and its kin on fd's file, following it as a path through
 * /proc does; -1 and errno as they do. */
ssize_t lfs_procfd_getxattr(const LfsProcFd *p, int fd, const char *name, void *buf,
                            size_t size);
ssize_t lfs_procfd_listxattr(const LfsProcFd *p, int fd, char *buf, size_t size);
int lfs_procfd_setxattr(const LfsProcFd *p, int fd, const char *name, const void *value,
                        size_t size, int flags);
int lfs_procfd_removexattr(const LfsProcFd *p, int fd, const char *name);
