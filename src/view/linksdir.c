/* linksdir.c: FUSE operations on the virtual .links trees, and the
 * dispatch that sends each request to them or to the passthrough.
 *
 * Listings are never cached by the kernel (no readdir cache, status read
 * with direct_io); entries are, for at most c->vtimeout, and vinval.c
 * drops them from the kernel when they may have gone stale.  Every change
 * attempt on them fails with EROFS. */
#include "links.h"

#include "live/scan.h"
#include "passthrough/passthrough.h"

#include "core/dirsnap.h"
#include "core/names.h"
#include "passthrough/dirops.h"
#include "vnode.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/xattr.h>

#define OUTSIDE_XATTR "user.linkfs.outside"

/* The entry of spec, its lookup count raised, ready for the kernel (in
 * the list of recent replies if it may be cached). target and from, if
 * not NULL, as lfs_vnode_stat_to takes them. Call under the reader side
 * of c->vreply_lock. */
static int
vnode_entry(LfsCtx *c, const VSpec *spec, const char *target, const char *from,
            struct fuse_entry_param *e)
{
  VNode *vn = lfs_vnode_get(c, spec);
  *e = (struct fuse_entry_param){.ino = lfs_vnode_nodeid(vn)};
  int err = lfs_vnode_stat_to(c, vn, target, from, &e->attr);
  if (err != 0) {
    lfs_vnode_forget(c, vn, 1);
    return err;
  }
  e->entry_timeout = lfs_vnode_timeout(c, vn);
  e->attr_timeout = lfs_vnode_attr_timeout(c, vn);
  /* Recorded also with a zero entry timeout: the kernel keeps the inode
   * all the same, until told to drop the entry (vinval.c trims). */
  if (vn->kind != VN_STATUS)
    lfs_vnode_replied(c, vn);
  return 0;
}

static void
reply_vnode_entry(fuse_req_t req, LfsCtx *c, const VSpec *spec)
{
  struct fuse_entry_param e;
  int err = vnode_entry(c, spec, NULL, NULL, &e);
  if (err != 0)
    fuse_reply_err(req, err);
  else if (fuse_reply_entry(req, &e) != 0)
    lfs_vnode_forget(c, lfs_vnode(e.ino), 1);
}

static void
v_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
  LfsCtx *c = lfs_ctx(req);
  g_autoptr(LfsSeer) seer = lfs_seer_new(c, req);
  VSpec spec;
  g_rw_lock_reader_lock(&c->vreply_lock);
  int err = lfs_vnode_child(c, seer, lfs_vnode(parent), name, &spec);
  if (err != 0)
    fuse_reply_err(req, err);
  else
    reply_vnode_entry(req, c, &spec);
  g_rw_lock_reader_unlock(&c->vreply_lock);
  lfs_vspec_release(c, &spec);
}

/* Whether D/.links leads to D's page: not when the root holds a real
 * entry named like the virtual directory (which wins there). */
static gboolean
dlinks_lead(LfsCtx *c)
{
  struct stat st;
  return lfs_itab_statat(c->itab, lfs_itab_root(c->itab), c->opt.links_name, &st) ==
         ENOENT;
}

static void
reply_dlink(fuse_req_t req, fuse_ino_t parent)
{
  LfsCtx *c = lfs_ctx(req);
  VSpec spec = {.kind = VN_DLINK, .dir = lfs_inode(req, parent)};
  g_rw_lock_reader_lock(&c->vreply_lock);
  reply_vnode_entry(req, c, &spec);
  g_rw_lock_reader_unlock(&c->vreply_lock);
}

static void
d_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
  LfsCtx *c = lfs_ctx(req);
  if (lfs_is_virtual(parent)) {
    v_lookup(req, parent, name);
    return;
  }
  if (strcmp(name, c->opt.links_name) != 0) {
    c->real_ops.lookup(req, parent, name);
    return;
  }
  struct fuse_entry_param e;
  int err = lfs_do_lookup(req, parent, name, &e);
  if (err != ENOENT) { /* a real entry of that name wins */
    if (err != 0)
      fuse_reply_err(req, err);
    else
      fuse_reply_entry(req, &e);
    return;
  }
  if (parent != FUSE_ROOT_ID) {
    if (dlinks_lead(c))
      reply_dlink(req, parent);
    else
      fuse_reply_err(req, ENOENT);
    return;
  }
  VSpec spec = {.kind = VN_LINKS, .dir = lfs_inode(req, parent)};
  g_rw_lock_reader_lock(&c->vreply_lock);
  reply_vnode_entry(req, c, &spec);
  g_rw_lock_reader_unlock(&c->vreply_lock);
}

static void
d_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
  LfsCtx *c = lfs_ctx(req);
  if (lfs_is_virtual(ino))
    lfs_vnode_forget(c, lfs_vnode(ino), nlookup);
  else
    lfs_itab_forget(c->itab, ino, nlookup);
  fuse_reply_none(req);
}

static void
d_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
  LfsCtx *c = lfs_ctx(req);
  for (size_t k = 0; k < count; k++) {
    if (lfs_is_virtual(forgets[k].ino))
      lfs_vnode_forget(c, lfs_vnode(forgets[k].ino), forgets[k].nlookup);
    else
      lfs_itab_forget(c->itab, forgets[k].ino, forgets[k].nlookup);
  }
  fuse_reply_none(req);
}

static void
d_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  LfsCtx *c = lfs_ctx(req);
  if (!lfs_is_virtual(ino)) {
    c->real_ops.getattr(req, ino, fi);
    return;
  }
  VNode *vn = lfs_vnode(ino);
  struct stat st;
  g_rw_lock_reader_lock(&c->vreply_lock);
  int err = lfs_vnode_stat(c, vn, &st);
  double timeout = lfs_vnode_attr_timeout(c, vn);
  /* Recorded for vinval.c only where the entry itself may be cached. */
  if (err == 0 && lfs_vnode_timeout(c, vn) > 0)
    lfs_vnode_replied(c, vn);
  if (err != 0)
    fuse_reply_err(req, err);
  else
    fuse_reply_attr(req, &st, timeout);
  g_rw_lock_reader_unlock(&c->vreply_lock);
}

static void
d_readlink(fuse_req_t req, fuse_ino_t ino)
{
  LfsCtx *c = lfs_ctx(req);
  if (!lfs_is_virtual(ino)) {
    c->real_ops.readlink(req, ino);
    return;
  }
  VNode *vn = lfs_vnode(ino);
  g_autofree char *target = NULL;
  g_autofree char *from = lfs_vnode_dir_path(c, vn, TRUE);
  int err = lfs_vnode_target(c, vn, &target);
  if (err == 0 && from == NULL)
    err = ENOENT;
  if (err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  g_autofree char *rel = lfs_reltarget(from, target);
  fuse_reply_readlink(req, rel);
}

/* ---- virtual directories ---- */

static uint8_t
child_type(VKind parent, const char *name)
{
  switch (parent) {
  case VN_LINKS:
    return strcmp(name, "status") == 0 ? DT_REG : DT_DIR;
  case VN_SIBLINGS:
  case VN_POINTED:
  case VN_INODES:
    return DT_DIR;
  default:
    return DT_LNK;
  }
}

static VSpec
child_spec(LfsCtx *c, const VNode *p, const char *name)
{
  VSpec s = {.dir = p->dir, .name = name};
  switch (p->kind) {
  case VN_LINKS: {
    static const struct {
      const char *n;
      VKind k;
    } kids[] = {{"siblings", VN_SIBLINGS}, {"dangling", VN_DANGLING},
                {"dirs", VN_DIRS},         {"pointed-by", VN_POINTED},
                {"inodes", VN_INODES},     {"all-dangling", VN_ALLDANG},
                {"status", VN_STATUS}};
    s.name = NULL;
    for (guint k = 0; k < G_N_ELEMENTS(kids); k++) {
      if (strcmp(kids[k].n, name) == 0)
        s.kind = kids[k].k;
    }
    break;
  }
  case VN_SIBLINGS:
    s.kind = VN_SIBDIR;
    break;
  case VN_SIBDIR:
    s = (VSpec){.kind = VN_SIBLINK, .dir = p->dir, .name = p->name, .flat = name};
    break;
  case VN_POINTED:
    s.kind = VN_PTDIR;
    break;
  case VN_PTDIR:
    s = (VSpec){.kind = VN_PTLINK, .dir = p->dir, .name = p->name, .flat = name};
    break;
  case VN_DANGLING:
    s.kind = VN_DANGLINK;
    break;
  case VN_INODES:
    s.kind = VN_INODIR;
    break;
  case VN_INODIR:
    s = (VSpec){.kind = VN_INOLINK,
                .dir = p->dir,
                .gdev = p->gdev,
                .gino = p->gino,
                .name = p->name,
                .flat = name};
    break;
  default:
    s = (VSpec){.kind = VN_ALLDANGLINK, .dir = p->dir, .flat = name};
    break;
  }
  (void)c;
  return s;
}

/* An open virtual directory: its listing, the index generation it was
 * made from, and for siblings/NAME/ and inodes/INO/ the group listed. */
typedef struct {
  LfsDirSnap *snap;
  guint64 generation;
  LfsGroupInfo *group;
} VDirHandle;

static void
vdir_free(VDirHandle *h)
{
  lfs_dirsnap_free(h->snap);
  lfs_group_info_free(h->group);
  g_free(h);
}

static void
v_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  LfsCtx *c = lfs_ctx(req);
  VNode *vn = lfs_vnode(ino);
  g_autoptr(LfsSeer) seer = lfs_seer_new(c, req);
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(LfsGroupInfo) group = NULL;
  if (vn->kind != VN_LINKS)
    lfs_scan_wait_ready(c); /* as the listing does, before the generation */
  guint64 generation = lfs_index_generation(c->index);
  int err = lfs_vnode_list(c, seer, vn, &names, &group);
  if (err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  VDirHandle *h = g_new0(VDirHandle, 1);
  h->group = g_steal_pointer(&group);
  LfsDirSnap *snap = h->snap = lfs_dirsnap_new();
  h->generation = generation;
  lfs_dirsnap_append(snap, vn->vino, DT_DIR, ".");
  lfs_dirsnap_append(snap, vn->vino, DT_DIR, "..");
  for (guint k = 0; k < names->len; k++) {
    VSpec s = child_spec(c, vn, names->pdata[k]);
    lfs_dirsnap_append(snap, lfs_vnode_peek_vino(&s),
                       child_type(vn->kind, names->pdata[k]), names->pdata[k]);
  }
  fi->fh = (uintptr_t)h;
  fi->cache_readdir = 0;
  fi->keep_cache = 0;
  if (fuse_reply_open(req, fi) != 0)
    vdir_free(h);
}

/* The spec of a listed entry (and the target of a listed symlink): from
 * the group listed, when there is one, else looked up again. Only while
 * the index is what the listing was made from. */
static gboolean
listed_spec(LfsCtx *c, const VNode *vn, const VDirHandle *h, const char *name,
            VSpec *spec, const char **target)
{
  if (h->group == NULL)
    return lfs_vnode_child(c, NULL, vn, name, spec) == 0;
  *spec = child_spec(c, vn, name);
  *target = lfs_group_flat_path(h->group, name);
  return *target != NULL;
}

/* Add a readdirplus entry, one the kernel may cache if the index is still
 * what the listing was made from. *from: vn's path, made by the first
 * symlink that needs it. Returns its size, as fuse_add_direntry_plus does
 * (added only if that is <= size). */
static size_t
add_plus_entry(fuse_req_t req, LfsCtx *c, const VNode *vn, VDirHandle *h, char *buf,
               size_t size, const LfsDirent *de, const char *name, off_t next,
               char **from)
{
  struct fuse_entry_param e = {.attr.st_ino = de->ino,
                               .attr.st_mode = (mode_t)de->type << 12};
  VSpec spec;
  const char *target = NULL;
  gboolean cache = c->vtimeout > 0 && vn->kind != VN_ALLDANG && strcmp(name, ".") != 0 &&
                   strcmp(name, "..") != 0 &&
                   fuse_add_direntry_plus(req, NULL, 0, name, NULL, 0) <= size &&
                   lfs_index_generation(c->index) == h->generation &&
                   listed_spec(c, vn, h, name, &spec, &target);
  if (cache && de->type == DT_LNK && *from == NULL)
    *from = lfs_vnode_dir_path(c, vn, FALSE);
  /* ino 0: the kernel looks the entry up itself when it needs it. */
  if (cache && vnode_entry(c, &spec, target, *from, &e) != 0)
    e = (struct fuse_entry_param){.attr.st_ino = de->ino,
                                  .attr.st_mode = (mode_t)de->type << 12};
  if (cache)
    lfs_vspec_release(c, &spec);
  size_t n = fuse_add_direntry_plus(req, buf, size, name, &e, next);
  if (n > size && e.ino != 0)
    lfs_vnode_forget(c, lfs_vnode(e.ino), 1);
  return n;
}

static void
v_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
          struct fuse_file_info *fi, gboolean plus)
{
  LfsCtx *c = lfs_ctx(req);
  const VNode *vn = lfs_vnode(ino);
  VDirHandle *h = (VDirHandle *)(uintptr_t)fi->fh;
  LfsDirSnap *snap = h->snap;
  g_autofree char *buf = g_malloc(size);
  g_autofree char *from = NULL;
  size_t used = 0;
  /* Entries given to the kernel to cache are recent replies (vinval.c). */
  if (plus)
    g_rw_lock_reader_lock(&c->vreply_lock);
  for (guint k = (guint)off; k < lfs_dirsnap_len(snap); k++) {
    const LfsDirent *de = lfs_dirsnap_get(snap, k);
    const char *name = lfs_dirsnap_name(snap, de);
    size_t n;
    if (plus) {
      n = add_plus_entry(req, c, vn, h, buf + used, size - used, de, name, (off_t)k + 1,
                         &from);
    } else {
      struct stat st = {.st_ino = de->ino, .st_mode = (mode_t)de->type << 12};
      n = fuse_add_direntry(req, buf + used, size - used, name, &st, (off_t)k + 1);
    }
    if (n > size - used)
      break;
    used += n;
  }
  fuse_reply_buf(req, buf, used);
  if (plus)
    g_rw_lock_reader_unlock(&c->vreply_lock);
}

static void
d_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  if (lfs_is_virtual(ino))
    v_opendir(req, ino, fi);
  else
    lfs_ctx(req)->real_ops.opendir(req, ino, fi);
}

/* ---- real directories: .links after the real entries ---- */

/* Whether D's page has something to show (-o links=visible lists D/.links
 * then). While a scan runs the index is not complete: every page may. */
static gboolean
page_shows(LfsCtx *c, LfsInode *dir)
{
  double seconds;
  if (lfs_scan_state(c, &seconds))
    return TRUE;
  g_autofree char *path = lfs_itab_path(c->itab, dir);
  return path != NULL && lfs_index_dir_has_page(c->index, path);
}

/* Whether readdir of the real directory ino lists the virtual entry
 * (-o links=), no real entry having its name. */
static gboolean
links_listed_in(LfsCtx *c, fuse_ino_t ino, struct fuse_file_info *fi)
{
  switch (c->opt.links) {
  case LFS_LINKS_VISIBLE:
    if (ino != FUSE_ROOT_ID &&
        (!page_shows(c, lfs_itab_get(c->itab, ino)) || !dlinks_lead(c)))
      return FALSE;
    break;
  case LFS_LINKS_ROOT:
    if (ino != FUSE_ROOT_ID)
      return FALSE;
    break;
  default:
    return FALSE;
  }
  return !lfs_dir_has(fi, c->opt.links_name);
}

/* The entry of .links in the listing of dir, at offset `at` (its next
 * being at + 1). The root's is a directory, which the kernel looks up
 * when it needs it; D/.links comes with its attributes to readdirplus. */
static size_t
add_links_entry(fuse_req_t req, LfsCtx *c, fuse_ino_t ino, char *buf, size_t size,
                off_t at, gboolean plus)
{
  gboolean root = ino == FUSE_ROOT_ID;
  VSpec s = {.kind = root ? VN_LINKS : VN_DLINK, .dir = lfs_itab_get(c->itab, ino)};
  struct fuse_entry_param e = {
      .attr = {.st_ino = lfs_vnode_peek_vino(&s), .st_mode = root ? S_IFDIR : S_IFLNK}};
  if (!plus)
    return fuse_add_direntry(req, buf, size, c->opt.links_name, &e.attr, at + 1);
  if (root)
    return fuse_add_direntry_plus(req, buf, size, c->opt.links_name, &e, at + 1);
  g_rw_lock_reader_lock(&c->vreply_lock);
  if (vnode_entry(c, &s, NULL, NULL, &e) != 0)
    e = (struct fuse_entry_param){.attr = {.st_ino = e.attr.st_ino, .st_mode = S_IFLNK}};
  size_t n = fuse_add_direntry_plus(req, buf, size, c->opt.links_name, &e, at + 1);
  if (n > size && e.ino != 0)
    lfs_vnode_forget(c, lfs_vnode(e.ino), 1);
  g_rw_lock_reader_unlock(&c->vreply_lock);
  return n;
}

static void
real_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
             struct fuse_file_info *fi, gboolean plus)
{
  LfsCtx *c = lfs_ctx(req);
  g_autofree char *buf = g_malloc(size);
  size_t used;
  off_t end;
  int err = lfs_dir_fill(req, ino, fi, off, plus, buf, size, &used, &end);
  if (err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  if (off == 0)
    lfs_vnodes_dir_listed(c, lfs_itab_get(c->itab, ino));
  if (end >= 0 && off <= end && links_listed_in(c, ino, fi)) {
    size_t n = add_links_entry(req, c, ino, buf + used, size - used, end, plus);
    if (n <= size - used)
      used += n;
  }
  fuse_reply_buf(req, buf, used);
}

static void
d_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
          struct fuse_file_info *fi)
{
  if (lfs_is_virtual(ino))
    v_readdir(req, ino, size, off, fi, FALSE);
  else
    real_readdir(req, ino, size, off, fi, FALSE);
}

static void
d_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
              struct fuse_file_info *fi)
{
  if (lfs_is_virtual(ino))
    v_readdir(req, ino, size, off, fi, TRUE);
  else
    real_readdir(req, ino, size, off, fi, TRUE);
}

static void
d_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  if (!lfs_is_virtual(ino)) {
    lfs_ctx(req)->real_ops.releasedir(req, ino, fi);
    return;
  }
  vdir_free((VDirHandle *)(uintptr_t)fi->fh);
  fuse_reply_err(req, 0);
}

static void
d_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
  if (lfs_is_virtual(ino))
    fuse_reply_err(req, 0);
  else
    lfs_ctx(req)->real_ops.fsyncdir(req, ino, datasync, fi);
}

void
lfs_links_dir_ops(struct fuse_lowlevel_ops *ops)
{
  ops->lookup = d_lookup;
  ops->forget = d_forget;
  ops->forget_multi = d_forget_multi;
  ops->getattr = d_getattr;
  ops->readlink = d_readlink;
  ops->opendir = d_opendir;
  ops->readdir = d_readdir;
  ops->readdirplus = d_readdirplus;
  ops->releasedir = d_releasedir;
  ops->fsyncdir = d_fsyncdir;
}
