/* symlinks.c: the symlinks of the index, read and resolved in the source
 * (core/resolve.c: never entering our own mount): whether each dangles and
 * what it points at. */
#include "symlinks.h"

#include <unistd.h>

void
lfs_symlink_index(LfsCtx *c, LfsIndex *idx, int dirfd, const char *dir, const char *name,
                  const struct stat *st)
{
  char target[PATH_MAX + 1];
  ssize_t n = readlinkat(dirfd, name, target, PATH_MAX);
  if (n < 0)
    return;
  target[n] = '\0';
  LfsResolution res;
  lfs_resolve_symlink_full(c->root.fd, dir, target, &c->guard, &res);
  lfs_index_add_symlink(idx, dir, name, st->st_dev, st->st_ino, st->st_nlink, target,
                        &res);
  lfs_resolution_clear(&res);
}

void
lfs_symlinks_resolve(LfsCtx *c, const char *const *names, const char *const *moved)
{
  g_autoptr(GPtrArray) refs = lfs_index_affected_symlinks(c->index, names, moved);
  for (guint k = 0; refs != NULL && k < refs->len; k++) {
    LfsSymlinkRef *r = refs->pdata[k];
    LfsResolution res;
    lfs_resolve_symlink_full(c->root.fd, r->dir, r->target, &c->guard, &res);
    lfs_index_set_resolution(c->index, r->dir, r->name, r->ticket, &res);
    lfs_resolution_clear(&res);
  }
}
