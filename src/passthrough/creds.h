/* creds.h: act as the calling user for one operation.
 *
 * When the daemon runs as root and serves other users (allow_other), objects
 * created through the view must belong to the caller, as if made on the
 * source directly. The calling thread switches its own fsuid, fsgid and
 * supplementary groups (raw syscalls: glibc's wrappers would change every
 * thread of the process) for the duration of the call, and switches back.
 * The kernel has already checked permissions (default_permissions); the
 * switch is what makes ownership, setgid directories and group membership
 * come out as on the source.
 *
 * The caller's umask comes with the request (FUSE_CAP_DONT_MASK): the kernel
 * leaves the mode alone, and the thread creates with the caller's umask, so
 * that the source applies it, or a default ACL instead of it, exactly as for
 * a call made on the source. A thread gets a umask of its own by leaving the
 * process's shared filesystem context once (unshare(CLONE_FS)); where that
 * is refused, the umask is applied to the mode by hand instead. */
#pragma once

#include <fuse_lowlevel.h>
#include <glib.h>
#include <sys/types.h>

typedef struct {
  gboolean switched;
  gboolean umask_set; /* the thread's umask is the caller's until leave */
  mode_t old_umask;
  mode_t mask; /* what lfs_creds_mode still clears from a mode */
} LfsCreds;

/* Switch to the credentials of req's caller if they differ from the daemon's
 * and the daemon may switch, and to the caller's umask. Returns 0 or a
 * positive errno. */
int lfs_creds_enter(fuse_req_t req, LfsCreds *saved);
void lfs_creds_leave(LfsCreds *saved);
/* The mode to pass to mkdirat, mknodat or openat(O_CREAT) between enter and
 * leave. */
mode_t lfs_creds_mode(const LfsCreds *cr, mode_t mode);
