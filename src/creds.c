/* creds.c: per-thread credential switching for operations that create. */
#include "creds.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { MAX_GROUPS = 256 };

static int
set_thread_groups(size_t n, const gid_t *list)
{
  return syscall(SYS_setgroups, n, list) < 0 ? errno : 0;
}

int
lfs_creds_enter(fuse_req_t req, LfsCreds *saved)
{
  saved->switched = FALSE;
  const struct fuse_ctx *fc = fuse_req_ctx(req);
  if (geteuid() != 0 || (fc->uid == 0 && fc->gid == 0))
    return 0;

  gid_t groups[MAX_GROUPS];
  int n = fuse_req_getgroups(req, MAX_GROUPS, groups);
  if (n < 0 || n > MAX_GROUPS)
    n = 0; /* the caller is gone or has too many groups: primary group only */

  int err = set_thread_groups((size_t)n, groups);
  if (err != 0)
    return err;
  syscall(SYS_setfsgid, fc->gid);
  syscall(SYS_setfsuid, fc->uid);
  saved->switched = TRUE;
  return 0;
}

void
lfs_creds_leave(LfsCreds *saved)
{
  if (!saved->switched)
    return;
  syscall(SYS_setfsuid, 0);
  syscall(SYS_setfsgid, 0);
  set_thread_groups(0, NULL);
  saved->switched = FALSE;
}
