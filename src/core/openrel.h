/* openrel.h: opening a path below a directory without following any
 * symlink, with openat2(2) or, where it is missing, one openat(2) per
 * component. No FUSE inside. */
#pragma once

#include <glib.h>

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
