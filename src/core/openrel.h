/* openrel.h: opening a path below a directory without following any
 * symlink, with openat2(2) or, where it is missing, one openat(2) per
 * component; paths below SOURCE that never enter our own mount. No FUSE
 * inside. */
#pragma once

#include <glib.h>
#include <sys/stat.h>

/* Open piece (a relative path shorter than PATH_MAX; "" is dirfd itself)
 * below dirfd with flags (| O_CLOEXEC | O_NOFOLLOW), following no symlink
 * at all: a symlink among the leading components is ELOOP, as with
 * RESOLVE_NO_SYMLINKS, and a trailing one is opened itself with
 * O_PATH | O_NOFOLLOW, ELOOP otherwise. With use_openat2 FALSE (Linux < 5.6,
 * a sandbox that refuses it, valgrind) the path is walked one openat per
 * component, with the same results. Returns a descriptor or -errno. */
int lfs_open_below(int dirfd, const char *piece, int flags, gboolean use_openat2);

/* Whether openat2 can be used (one call, on dirfd itself). */
gboolean lfs_have_openat2(int dirfd);

/* SOURCE, as paths relative to it are opened: the daemon's context holds
 * one (LfsCtx.root). */
typedef struct {
  int fd;           /* O_PATH of SOURCE */
  int mp_fd;        /* O_PATH of the directory under MOUNTPOINT (opened
                     * before mounting), or -1 */
  char *mp_rel;     /* MOUNTPOINT relative to SOURCE if inside it, or NULL */
  gboolean openat2; /* lfs_open_below may use openat2 */
} LfsSourceRoot;

/* Open relpath (relative to SOURCE) without following any symlink and
 * without entering our own mount (below MOUNTPOINT, from mp_fd); paths
 * deeper than PATH_MAX a piece at a time. Returns 0 or a positive errno. */
int lfs_open_rel(const LfsSourceRoot *r, const char *relpath, int flags, int *fd);
/* lstat of relpath, the same way. */
int lfs_stat_rel(const LfsSourceRoot *r, const char *relpath, struct stat *st);
