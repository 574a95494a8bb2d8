/* vlist.c: what the virtual directories hold: a child by name, and
 * listings, from the index, filtered for the caller (seer.c). */
#include "vnode.h"

#include "live/scan.h"

#include "core/names.h"
#include "pages.h"

#include <errno.h>
#include <string.h>

static LfsPath *
find_flat(GPtrArray *paths, const char *flat)
{
  for (guint k = 0; paths != NULL && k < paths->len; k++) {
    LfsPath *p = paths->pdata[k];
    if (strcmp(p->flat, flat) == 0)
      return p;
  }
  return NULL;
}

static gboolean
parse_ino(const char *s, guint64 *out)
{
  if (*s == '\0' || (*s == '0' && s[1] != '\0'))
    return FALSE;
  for (const char *p = s; *p; p++) {
    if (!g_ascii_isdigit(*p))
      return FALSE;
  }
  *out = g_ascii_strtoull(s, NULL, 10);
  return TRUE;
}

static LfsGroupInfo *
group_by_vino(LfsCtx *c, guint64 vino)
{
  dev_t rdev = lfs_itab_root_dev(c->itab);
  if (vino < (1ull << 62))
    return lfs_index_get_group(c->index, rdev, (ino_t)vino);
  g_autoptr(GPtrArray) groups = lfs_index_list_groups(c->index, FALSE);
  for (guint k = 0; k < groups->len; k++) {
    LfsGroupInfo *g = groups->pdata[k];
    if (g->dev != rdev && lfs_itab_vino(c->itab, g->dev, g->ino) == vino)
      return lfs_index_get_group(c->index, g->dev, g->ino);
  }
  return NULL;
}

static gboolean
any_visible(LfsSeer *seer, GPtrArray *paths)
{
  for (guint k = 0; paths != NULL && k < paths->len; k++) {
    if (lfs_seer_sees(seer, ((LfsPath *)paths->pdata[k])->path))
      return TRUE;
  }
  return FALSE;
}

static int
child_of_links(LfsCtx *c, const VNode *p, const char *name, VSpec *out)
{
  gboolean root = p->dir == lfs_itab_root(c->itab);
  if (strcmp(name, "siblings") == 0)
    out->kind = VN_SIBLINGS;
  else if (strcmp(name, "dangling") == 0)
    out->kind = VN_DANGLING;
  else if (strcmp(name, "pointed-by") == 0)
    out->kind = VN_POINTED;
  else if (root && strcmp(name, "inodes") == 0)
    out->kind = VN_INODES;
  else if (root && strcmp(name, "all-dangling") == 0)
    out->kind = VN_ALLDANG;
  else if (root && strcmp(name, "status") == 0)
    out->kind = VN_STATUS;
  else if (root && strcmp(name, "dirs") == 0)
    out->kind = VN_DIRS;
  else
    return ENOENT;
  return 0;
}

/* dirs/INO: the page of the directory whose st_ino is INO, to callers who
 * may read that directory. */
static int
child_of_dirs(LfsCtx *c, LfsSeer *seer, const char *name, VSpec *out)
{
  guint64 vino;
  LfsInode *d = parse_ino(name, &vino) ? lfs_page_dir(c, vino) : NULL;
  if (d == NULL)
    return ENOENT;
  g_autofree char *path = lfs_itab_path(c->itab, d);
  int err = path == NULL ? ENOENT : !lfs_seer_sees_dir(seer, path) ? EACCES : 0;
  if (err != 0) {
    lfs_itab_unref(c->itab, d);
    return err;
  }
  *out = (VSpec){.kind = VN_LINKS, .dir = d, .held = TRUE};
  return 0;
}

void
lfs_vspec_release(LfsCtx *c, VSpec *spec)
{
  if (spec->held)
    lfs_itab_unref(c->itab, spec->dir);
  spec->held = FALSE;
}

int
lfs_vnode_child(LfsCtx *c, LfsSeer *seer, const VNode *p, const char *name, VSpec *out)
{
  *out = (VSpec){.dir = p->dir};
  if (p->kind == VN_LINKS)
    return child_of_links(c, p, name, out);
  if (p->kind == VN_DIRS)
    return child_of_dirs(c, seer, name, out);
  if (!lfs_scan_wait_ready(c))
    return ENOENT;
  g_autofree char *d = lfs_itab_path(c->itab, p->dir);
  if (d == NULL)
    return ENOENT;
  g_autofree char *path = NULL;
  switch (p->kind) {
  case VN_SIBLINGS: {
    path = lfs_path_join(d, name);
    if (!lfs_index_has_siblings(c->index, d, name) || !lfs_seer_sees(seer, path))
      return ENOENT;
    *out = (VSpec){.kind = VN_SIBDIR, .dir = p->dir, .name = name};
    return 0;
  }
  case VN_SIBDIR: {
    g_autoptr(LfsGroupInfo) g = lfs_index_get_siblings(c->index, d, p->name);
    LfsPath *lp = g ? find_flat(g->paths, name) : NULL;
    if (lp == NULL || !lfs_seer_sees(seer, lp->path))
      return ENOENT;
    *out = (VSpec){.kind = VN_SIBLINK, .dir = p->dir, .name = p->name, .flat = name};
    return 0;
  }
  case VN_POINTED: {
    path = lfs_path_join(d, name);
    if (!lfs_index_is_pointed(c->index, d, name) || !lfs_seer_sees(seer, path))
      return ENOENT;
    *out = (VSpec){.kind = VN_PTDIR, .dir = p->dir, .name = name};
    return 0;
  }
  case VN_PTDIR: {
    g_autoptr(GPtrArray) ptrs = lfs_index_get_pointers(c->index, d, p->name);
    LfsPath *lp = find_flat(ptrs, name);
    if (lp == NULL || !lfs_seer_sees(seer, lp->path))
      return ENOENT;
    *out = (VSpec){.kind = VN_PTLINK, .dir = p->dir, .name = p->name, .flat = name};
    return 0;
  }
  case VN_DANGLING: {
    g_autoptr(LfsSymlinkInfo) s = lfs_index_get_symlink(c->index, d, name);
    if (s == NULL || !s->dangling || !lfs_seer_sees(seer, s->path))
      return ENOENT;
    *out = (VSpec){.kind = VN_DANGLINK, .dir = p->dir, .name = name};
    return 0;
  }
  case VN_INODES: {
    guint64 vino;
    g_autoptr(LfsGroupInfo) g = parse_ino(name, &vino) ? group_by_vino(c, vino) : NULL;
    if (g == NULL || !any_visible(seer, g->paths))
      return ENOENT;
    *out = (VSpec){
        .kind = VN_INODIR, .dir = p->dir, .gdev = g->dev, .gino = g->ino, .name = name};
    return 0;
  }
  case VN_INODIR: {
    g_autoptr(LfsGroupInfo) g = lfs_index_get_group(c->index, p->gdev, p->gino);
    LfsPath *lp = g ? find_flat(g->paths, name) : NULL;
    if (lp == NULL || !lfs_seer_sees(seer, lp->path))
      return ENOENT;
    *out = (VSpec){.kind = VN_INOLINK,
                   .dir = p->dir,
                   .gdev = p->gdev,
                   .gino = p->gino,
                   .name = p->name,
                   .flat = name};
    return 0;
  }
  case VN_ALLDANG: {
    g_autoptr(LfsSymlinkInfo) s = lfs_index_get_dangling_by_flat(c->index, name);
    if (s == NULL || !lfs_seer_sees(seer, s->path))
      return ENOENT;
    *out = (VSpec){.kind = VN_ALLDANGLINK, .dir = p->dir, .flat = name};
    return 0;
  }
  default:
    return ENOTDIR;
  }
}

static int
cmp_names(gconstpointer a, gconstpointer b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
list_links_dir(LfsCtx *c, const VNode *vn, GPtrArray *out)
{
  g_ptr_array_add(out, g_strdup("siblings"));
  g_ptr_array_add(out, g_strdup("dangling"));
  g_ptr_array_add(out, g_strdup("pointed-by"));
  if (vn->dir == lfs_itab_root(c->itab)) {
    g_ptr_array_add(out, g_strdup("dirs"));
    g_ptr_array_add(out, g_strdup("inodes"));
    g_ptr_array_add(out, g_strdup("all-dangling"));
    g_ptr_array_add(out, g_strdup("status"));
  }
}

static void
list_paths(LfsSeer *seer, GPtrArray *paths, GPtrArray *out)
{
  for (guint k = 0; paths != NULL && k < paths->len; k++) {
    LfsPath *lp = paths->pdata[k];
    if (lfs_seer_sees(seer, lp->path))
      g_ptr_array_add(out, g_strdup(lp->flat));
  }
}

const char *
lfs_group_flat_path(const LfsGroupInfo *g, const char *flat)
{
  LfsPath *lp = find_flat(g->paths, flat);
  return lp ? lp->path : NULL;
}

static void
list_index_dir(LfsCtx *c, LfsSeer *seer, const VNode *vn, const char *d, GPtrArray *out,
               LfsGroupInfo **group)
{
  switch (vn->kind) {
  case VN_SIBLINGS: {
    g_autoptr(GPtrArray) names = lfs_index_list_sibling_names(c->index, d);
    for (guint k = 0; k < names->len; k++) {
      g_autofree char *path = lfs_path_join(d, names->pdata[k]);
      if (lfs_seer_sees(seer, path))
        g_ptr_array_add(out, g_strdup(names->pdata[k]));
    }
    break;
  }
  case VN_SIBDIR: {
    g_autoptr(LfsGroupInfo) g = lfs_index_get_siblings(c->index, d, vn->name);
    if (g != NULL)
      list_paths(seer, g->paths, out);
    if (group != NULL)
      *group = g_steal_pointer(&g);
    break;
  }
  case VN_POINTED: {
    g_autoptr(GPtrArray) names = lfs_index_list_pointed_names(c->index, d);
    for (guint k = 0; k < names->len; k++) {
      g_autofree char *path = lfs_path_join(d, names->pdata[k]);
      if (lfs_seer_sees(seer, path))
        g_ptr_array_add(out, g_strdup(names->pdata[k]));
    }
    break;
  }
  case VN_PTDIR: {
    /* listed as a group of paths, so that readdirplus finds the targets */
    g_autoptr(LfsGroupInfo) g = g_new0(LfsGroupInfo, 1);
    g->paths = lfs_index_get_pointers(c->index, d, vn->name);
    list_paths(seer, g->paths, out);
    if (group != NULL)
      *group = g_steal_pointer(&g);
    break;
  }
  case VN_DANGLING: {
    g_autoptr(GPtrArray) dl = lfs_index_list_dangling(c->index, d);
    for (guint k = 0; k < dl->len; k++) {
      LfsSymlinkInfo *s = dl->pdata[k];
      if (lfs_seer_sees(seer, s->path))
        g_ptr_array_add(out, g_strdup(s->name));
    }
    break;
  }
  case VN_INODES: {
    g_autoptr(GPtrArray) groups = lfs_index_list_groups(c->index, seer != NULL);
    for (guint k = 0; k < groups->len; k++) {
      LfsGroupInfo *g = groups->pdata[k];
      if (seer == NULL || any_visible(seer, g->paths))
        g_ptr_array_add(out, g_strdup_printf("%ju", (uintmax_t)lfs_itab_vino(
                                                        c->itab, g->dev, g->ino)));
    }
    break;
  }
  case VN_INODIR: {
    g_autoptr(LfsGroupInfo) g = lfs_index_get_group(c->index, vn->gdev, vn->gino);
    if (g != NULL)
      list_paths(seer, g->paths, out);
    if (group != NULL)
      *group = g_steal_pointer(&g);
    break;
  }
  case VN_ALLDANG: {
    g_autoptr(GPtrArray) all = lfs_index_list_all_dangling(c->index);
    for (guint k = 0; k < all->len; k++) {
      LfsSymlinkInfo *s = all->pdata[k];
      if (lfs_seer_sees(seer, s->path))
        g_ptr_array_add(out, g_strdup(s->flat));
    }
    break;
  }
  default:
    break;
  }
}

int
lfs_vnode_list(LfsCtx *c, LfsSeer *seer, const VNode *vn, GPtrArray **names,
               LfsGroupInfo **group)
{
  if (!lfs_vnode_is_dir(vn->kind))
    return ENOTDIR;
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
  if (vn->kind == VN_LINKS) {
    list_links_dir(c, vn, out);
  } else if (vn->kind == VN_DIRS) {
    /* lists nothing: its pages are reached by name */
  } else {
    if (!lfs_scan_wait_ready(c))
      return ENOENT;
    g_autofree char *d = lfs_itab_path(c->itab, vn->dir);
    if (d == NULL)
      return ENOENT;
    if ((vn->kind == VN_SIBLINGS || vn->kind == VN_DANGLING || vn->kind == VN_POINTED) &&
        seer != NULL && !lfs_seer_sees_dir(seer, d))
      return EACCES;
    list_index_dir(c, seer, vn, d, out, group);
  }
  g_ptr_array_sort(out, cmp_names);
  *names = g_steal_pointer(&out);
  return 0;
}
