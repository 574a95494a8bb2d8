/* changes.c: the index follows the changes made through the view. The
 * passthrough knows the directories by inode; live/update.c takes a
 * descriptor and a path: these hand it the directory pinned (or -1, to be
 * opened by path) and its path as last named through the view. */
#include "passthrough.h"

#include "live/update.h"

void
lfs_changed_entry(LfsCtx *c, LfsInode *parent, const char *name)
{
  g_autofree char *dir = lfs_itab_path(c->itab, parent);
  if (dir == NULL)
    return;
  /* The entry under our own mount is a directory: never indexed. */
  if (lfs_itab_is_guarded(c->itab, parent, name)) {
    const char *names[] = {name, NULL};
    lfs_update_names(c, names, NULL);
    return;
  }
  g_auto(LfsPin) pin = LFS_PIN_INIT;
  lfs_pin(c->itab, parent, &pin);
  lfs_update_at(c, pin.fd, dir, name);
}

void
lfs_changed_renamed(LfsCtx *c, LfsInode *op, const char *on, LfsInode *np, const char *nn,
                    unsigned flags)
{
  g_autofree char *odir = lfs_itab_path(c->itab, op);
  g_autofree char *ndir = lfs_itab_path(c->itab, np);
  if (odir == NULL || ndir == NULL)
    return;
  g_auto(LfsPin) from = LFS_PIN_INIT;
  g_auto(LfsPin) to = LFS_PIN_INIT;
  lfs_pin(c->itab, op, &from);
  lfs_pin(c->itab, np, &to);
  LfsUpdateDir o = {from.fd, odir}, n = {to.fd, ndir};
  lfs_update_renamed(c, &o, on, &n, nn, flags);
}
