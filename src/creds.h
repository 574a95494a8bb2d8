/* creds.h: act as the calling user for one operation.
 *
 * When the daemon runs as root and serves other users (allow_other), objects
 * created through the view must belong to the caller, as if made on the
 * source directly. The calling thread switches its own fsuid, fsgid and
 * supplementary groups (raw syscalls: glibc's wrappers would change every
 * thread of the process) for the duration of the call, and switches back.
 * The kernel has already checked permissions (default_permissions); the
 * switch is what makes ownership, setgid directories and group membership
 * come out as on the source. */
#pragma once

#include <fuse_lowlevel.h>
#include <glib.h>
#include <sys/types.h>

typedef struct {
  gboolean switched;
} LfsCreds;

/* Switch to the credentials of req's caller if they differ from the daemon's
 * and the daemon may switch. Returns 0 or a positive errno. */
int lfs_creds_enter(fuse_req_t req, LfsCreds *saved);
void lfs_creds_leave(LfsCreds *saved);
