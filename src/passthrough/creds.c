/* creds.c: per-thread credential switching for operations that create. */
#include "creds.h"

#include <errno.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { MAX_GROUPS = 256 };

static int
set_thread_groups(size_t n, const gid_t *list)
{
  return syscall(SYS_setgroups, n, list) < 0 ? errno : 0;
}

/* Whether this thread has a filesystem context (cwd, root, umask) of its
 * own. Thread-local by nature: it describes the calling thread. */
static __thread int own_fs_context; /* 0 unknown, 1 yes, -1 refused */

static gboolean
thread_has_own_umask(void)
{
  if (own_fs_context == 0)
    own_fs_context = unshare(CLONE_FS) == 0 ? 1 : -1;
  return own_fs_context > 0;
}

static void
enter_umask(fuse_req_t req, LfsCreds *saved)
{
  mode_t mask = fuse_req_ctx(req)->umask & 0777;
  saved->umask_set = thread_has_own_umask();
  if (saved->umask_set) {
    saved->old_umask = umask(mask);
    saved->mask = 0;
  } else {
    saved->mask = mask;
  }
}

static int
switch_ids(fuse_req_t req, LfsCreds *saved)
{
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

int
lfs_creds_enter(fuse_req_t req, LfsCreds *saved)
{
  *saved = (LfsCreds){0};
  int err = switch_ids(req, saved);
  if (err == 0)
    enter_umask(req, saved);
  return err;
}

void
lfs_creds_leave(LfsCreds *saved)
{
  if (saved->umask_set)
    umask(saved->old_umask);
  saved->umask_set = FALSE;
  if (!saved->switched)
    return;
  syscall(SYS_setfsuid, 0);
  syscall(SYS_setfsgid, 0);
  set_thread_groups(0, NULL);
  saved->switched = FALSE;
}

mode_t
lfs_creds_mode(const LfsCreds *cr, mode_t mode)
{
  return mode & ~cr->mask;
}
