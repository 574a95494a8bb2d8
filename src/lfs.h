/* lfs.h: the daemon's context, reached from every request through
 * fuse_req_userdata(); there is no other global state. */
#pragma once

#include "inode.h"
#include "options.h"

#include <fuse_lowlevel.h>

typedef struct {
  LfsOptions opt;
  char *source;         /* absolute path of SOURCE */
  LfsInodeTable *itab;  /* real inodes */
  double timeout;       /* entry and attribute timeout, seconds */
  gboolean root_daemon; /* euid 0: may switch credentials, use AT_EMPTY_PATH links */
} LfsCtx;

static inline LfsCtx *
lfs_ctx(fuse_req_t req)
{
  return fuse_req_userdata(req);
}

static inline LfsInode *
lfs_inode(fuse_req_t req, fuse_ino_t ino)
{
  return lfs_itab_get(lfs_ctx(req)->itab, ino);
}

/* "/proc/self/fd/N", the way to reach an O_PATH descriptor's file by path. */
#define LFS_PROC_FD_MAX 32
static inline const char *
lfs_proc_fd(char buf[LFS_PROC_FD_MAX], int fd)
{
  g_snprintf(buf, LFS_PROC_FD_MAX, "/proc/self/fd/%d", fd);
  return buf;
}

/* Operation tables, filled by each concern's file. */
void lfs_passthrough_ops(struct fuse_lowlevel_ops *ops);
void lfs_fileops_ops(struct fuse_lowlevel_ops *ops);
void lfs_dirops_ops(struct fuse_lowlevel_ops *ops);

/* Shared by the entry-making operations. */
int lfs_do_lookup(fuse_req_t req, fuse_ino_t parent, const char *name,
                  struct fuse_entry_param *e);
void lfs_fill_entry(LfsCtx *c, LfsInode *i, const struct stat *st,
                    struct fuse_entry_param *e);
