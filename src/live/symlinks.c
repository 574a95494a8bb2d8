/* symlinks.c: the symlinks of the index, read and resolved in the source
 * (core/resolve.c: never entering our own mount). */
#include "symlinks.h"

#include <unistd.h>

gboolean
lfs_symlink_read(LfsCtx *c, int dirfd, const char *dir, const char *name,
                 char target[PATH_MAX + 1], gboolean *dangling)
{
  ssize_t n = readlinkat(dirfd, name, target, PATH_MAX);
  if (n < 0)
    return FALSE;
  target[n] = '\0';
  int err = lfs_resolve_symlink(c->root.fd, dir, target, &c->guard);
  *dangling = lfs_resolve_is_dangling(err);
  return TRUE;
}

void
lfs_symlink_index(LfsCtx *c, LfsIndex *idx, int dirfd, const char *dir, const char *name,
                  const struct stat *st)
{
  char target[PATH_MAX + 1];
  gboolean dangling;
  if (lfs_symlink_read(c, dirfd, dir, name, target, &dangling))
    lfs_index_add_symlink(idx, dir, name, st->st_dev, st->st_ino, st->st_nlink, target,
                          dangling);
}

void
lfs_symlinks_resolve(LfsCtx *c, const char *const *names, const char *const *moved)
{
  g_autoptr(GPtrArray) refs = lfs_index_affected_symlinks(c->index, names, moved);
  for (guint k = 0; refs != NULL && k < refs->len; k++) {
    LfsSymlinkRef *r = refs->pdata[k];
    int err = lfs_resolve_symlink(c->root.fd, r->dir, r->target, &c->guard);
    lfs_index_set_dangling(c->index, r->dir, r->name, r->ticket,
                           lfs_resolve_is_dangling(err));
  }
}
