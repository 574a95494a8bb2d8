/* vstat.c: where virtual entries are and what they show: their paths in
 * the view, the targets of virtual symlinks, attributes, and the
 * user.linkfs.outside attribute. */
#include "vnode.h"

#include "core/names.h"
#include "status.h"

#include <errno.h>
#include <string.h>

/* The page of vn->dir: .links for the root, .links/dirs/INO otherwise. */
static char *
page_path(LfsCtx *c, const VNode *vn)
{
  if (vn->dir == lfs_itab_root(c->itab))
    return g_strdup(c->opt.links_name);
  dev_t dev;
  ino_t ino;
  lfs_inode_devino(vn->dir, &dev, &ino);
  return g_strdup_printf("%s/dirs/%ju", c->opt.links_name,
                         (uintmax_t)lfs_itab_vino(c->itab, dev, ino));
}

/* D/.links itself, or (holding) D. */
static char *
dlink_path(LfsCtx *c, const VNode *vn, gboolean holding)
{
  g_autofree char *d = lfs_itab_path(c->itab, vn->dir);
  if (d == NULL || holding)
    return g_steal_pointer(&d);
  return lfs_path_join(d, c->opt.links_name);
}

char *
lfs_vnode_dir_path(LfsCtx *c, const VNode *vn, gboolean holding)
{
  if (vn->kind == VN_DLINK)
    return dlink_path(c, vn, holding);
  g_autofree char *l = page_path(c, vn);
  VKind k = vn->kind;
  if (holding) {
    switch (k) {
    case VN_SIBLINK:
      k = VN_SIBDIR;
      break;
    case VN_PTLINK:
      k = VN_PTDIR;
      break;
    case VN_DANGLINK:
      k = VN_DANGLING;
      break;
    case VN_INOLINK:
      k = VN_INODIR;
      break;
    case VN_ALLDANGLINK:
      k = VN_ALLDANG;
      break;
    default:
      break;
    }
  }
  switch (k) {
  case VN_SIBLINGS:
    return g_strconcat(l, "/siblings", NULL);
  case VN_SIBDIR:
    return g_strconcat(l, "/siblings/", vn->name, NULL);
  case VN_DANGLING:
    return g_strconcat(l, "/dangling", NULL);
  case VN_POINTED:
    return g_strconcat(l, "/pointed-by", NULL);
  case VN_PTDIR:
    return g_strconcat(l, "/pointed-by/", vn->name, NULL);
  case VN_INODES:
    return g_strconcat(l, "/inodes", NULL);
  case VN_INODIR:
    return g_strdup_printf("%s/inodes/%ju", l,
                           (uintmax_t)lfs_itab_vino(c->itab, vn->gdev, vn->gino));
  case VN_ALLDANG:
    return g_strconcat(l, "/all-dangling", NULL);
  case VN_DIRS:
    return g_strconcat(l, "/dirs", NULL);
  default:
    return g_steal_pointer(&l);
  }
}

/* ---- targets and attributes ---- */

int
lfs_vnode_target(LfsCtx *c, const VNode *vn, char **path)
{
  g_autofree char *d = lfs_itab_path(c->itab, vn->dir);
  if (d == NULL)
    return ENOENT;
  switch (vn->kind) {
  case VN_DLINK:
    *path = page_path(c, vn);
    return 0;
  case VN_SIBLINK: {
    g_autoptr(LfsGroupInfo) g = lfs_index_get_siblings(c->index, d, vn->name);
    const char *lp = g ? lfs_group_flat_path(g, vn->flat) : NULL;
    if (lp == NULL)
      return ENOENT;
    *path = g_strdup(lp);
    return 0;
  }
  case VN_DANGLINK:
    *path = lfs_path_join(d, vn->name);
    return 0;
  case VN_PTLINK: {
    g_autoptr(GPtrArray) ptrs = lfs_index_get_pointers(c->index, d, vn->name);
    for (guint k = 0; ptrs != NULL && k < ptrs->len; k++) {
      LfsPath *lp = ptrs->pdata[k];
      if (strcmp(lp->flat, vn->flat) == 0) {
        *path = g_strdup(lp->path);
        return 0;
      }
    }
    return ENOENT;
  }
  case VN_INOLINK: {
    g_autoptr(LfsGroupInfo) g = lfs_index_get_group(c->index, vn->gdev, vn->gino);
    const char *lp = g ? lfs_group_flat_path(g, vn->flat) : NULL;
    if (lp == NULL)
      return ENOENT;
    *path = g_strdup(lp);
    return 0;
  }
  case VN_ALLDANGLINK: {
    g_autoptr(LfsSymlinkInfo) s = lfs_index_get_dangling_by_flat(c->index, vn->flat);
    if (s == NULL)
      return ENOENT;
    *path = g_steal_pointer(&s->path);
    return 0;
  }
  default:
    return EINVAL;
  }
}

/* The real entry whose owner and times a virtual one of the root's
 * .links shows (stat_described does those of D and D/NAME). */
static char *
described_path(LfsCtx *c, const VNode *vn)
{
  switch (vn->kind) {
  case VN_INODIR: {
    g_autoptr(LfsGroupInfo) g = lfs_index_get_group(c->index, vn->gdev, vn->gino);
    if (g == NULL || g->paths == NULL || g->paths->len == 0)
      return NULL;
    return g_strdup(((LfsPath *)g->paths->pdata[0])->path);
  }
  case VN_INOLINK:
  case VN_ALLDANGLINK:
  case VN_PTLINK: {
    char *p = NULL;
    return lfs_vnode_target(c, vn, &p) == 0 ? p : NULL;
  }
  case VN_INODES:
  case VN_ALLDANG:
  case VN_STATUS:
    return g_strdup("");
  default:
    g_return_val_if_reached(NULL);
  }
}

/* lstat of the real entry a virtual one describes. D and D/NAME are
 * stated through D's descriptor, without making their paths; a symlink of
 * inodes/INO/ describes its target, when the caller knows it. */
static int
stat_described(LfsCtx *c, const VNode *vn, const char *target, struct stat *st)
{
  switch (vn->kind) {
  case VN_SIBDIR:
  case VN_SIBLINK:
  case VN_DANGLINK:
  case VN_PTDIR:
    if (!lfs_itab_named(c->itab, vn->dir))
      return ENOENT;
    return lfs_itab_statat(c->itab, vn->dir, vn->name, st);
  case VN_LINKS:
  case VN_DLINK:
  case VN_DIRS:
  case VN_SIBLINGS:
  case VN_DANGLING:
  case VN_POINTED:
    if (!lfs_itab_named(c->itab, vn->dir))
      return ENOENT;
    return lfs_itab_stat(c->itab, vn->dir, st);
  case VN_INOLINK:
  case VN_ALLDANGLINK:
  case VN_PTLINK:
    if (target != NULL)
      return lfs_stat_rel(&c->root, target, st);
    G_GNUC_FALLTHROUGH;
  default: {
    g_autofree char *path = described_path(c, vn);
    return path == NULL ? ENOENT : lfs_stat_rel(&c->root, path, st);
  }
  }
}

int
lfs_vnode_stat(LfsCtx *c, const VNode *vn, struct stat *st)
{
  return lfs_vnode_stat_to(c, vn, NULL, NULL, st);
}

int
lfs_vnode_stat_to(LfsCtx *c, const VNode *vn, const char *target, const char *from,
                  struct stat *st)
{
  int err = stat_described(c, vn, target, st);
  if (err != 0)
    return err;
  st->st_ino = vn->vino;
  st->st_blocks = 0;
  st->st_rdev = 0;
  if (lfs_vnode_is_dir(vn->kind)) {
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 2;
    st->st_size = 0;
  } else if (vn->kind == VN_STATUS) {
    g_autofree char *text = lfs_status_text(c);
    st->st_mode = S_IFREG | 0444;
    st->st_nlink = 1;
    st->st_size = (off_t)strlen(text);
  } else {
    g_autofree char *found = NULL;
    if (target == NULL && lfs_vnode_target(c, vn, &found) != 0)
      return ENOENT;
    if (target == NULL)
      target = found;
    g_autofree char *holder = NULL;
    if (from == NULL)
      from = holder = lfs_vnode_dir_path(c, vn, TRUE);
    if (from == NULL)
      return ENOENT;
    st->st_mode = S_IFLNK | 0777;
    st->st_nlink = 1;
    st->st_size = (off_t)lfs_reltarget_len(from, target);
  }
  return 0;
}

int
lfs_vnode_outside(LfsCtx *c, const VNode *vn, guint64 *outside)
{
  g_autoptr(LfsGroupInfo) g = NULL;
  if (vn->kind == VN_INODIR) {
    g = lfs_index_get_group(c->index, vn->gdev, vn->gino);
  } else if (vn->kind == VN_SIBDIR) {
    g_autofree char *d = lfs_itab_path(c->itab, vn->dir);
    g = d ? lfs_index_get_siblings(c->index, d, vn->name) : NULL;
  } else {
    return ENODATA;
  }
  if (g == NULL)
    return ENOENT;
  *outside = g->outside;
  return 0;
}
