/* vnode.c: the records and contents of the virtual .links trees. */
#include "vnode.h"

#include "links.h"
#include "live/scan.h"
#include "live/watch.h"

#include "passthrough/creds.h"
#include "core/fdutil.h"
#include "devio/kpass.h"
#include "core/names.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct LfsVnodes {
  GMutex lock;
  GHashTable *by_key;     /* key -> VNode */
  VNode *recent, *newest; /* replied entries, oldest first (vinval.c) */
};

static void
vnode_free_raw(VNode *vn)
{
  g_free(vn->name);
  g_free(vn->flat);
  g_free(vn->key);
  g_free(vn);
}

LfsVnodes *
lfs_vnodes_new(void)
{
  LfsVnodes *v = g_new0(LfsVnodes, 1);
  g_mutex_init(&v->lock);
  v->by_key = g_hash_table_new(g_str_hash, g_str_equal);
  return v;
}

void
lfs_vnodes_free(LfsCtx *c, LfsVnodes *v)
{
  if (v == NULL)
    return;
  GHashTableIter it;
  gpointer val;
  g_hash_table_iter_init(&it, v->by_key);
  while (g_hash_table_iter_next(&it, NULL, &val)) {
    VNode *vn = val;
    lfs_itab_unref(c->itab, vn->dir);
    vnode_free_raw(vn);
  }
  g_hash_table_unref(v->by_key);
  g_mutex_clear(&v->lock);
  g_free(v);
}

#define FNV_OFFSET 0xcbf29ce484222325ull

static guint64
fnv1a(guint64 h, const char *s)
{
  for (; *s; s++)
    h = (h ^ (guchar)*s) * 0x100000001b3ull;
  return h;
}

/* Decimal digits of v, at the end of buf. */
static const char *
decimal(char buf[24], guint64 v)
{
  char *p = buf + 23;
  *p = '\0';
  do
    *--p = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  return p;
}

/* What identifies a virtual entry: its kind, D, and its names (INO for
 * the inodes/ kinds), never a pointer, so that it is stable. The key is
 * "KIND/DDEV/DINO/NAME/FLAT", made of these pieces. */
#define KEY_PIECES 9
static void
spec_pieces(const VSpec *sp, char nums[3][24], const char *pieces[KEY_PIECES])
{
  dev_t ddev;
  ino_t dino;
  lfs_inode_devino(sp->dir, &ddev, &dino);
  const char *p[KEY_PIECES] = {decimal(nums[0], (guint64)sp->kind),
                               "/",
                               decimal(nums[1], (guint64)ddev),
                               "/",
                               decimal(nums[2], (guint64)dino),
                               "/",
                               sp->name ? sp->name : "",
                               "/",
                               sp->flat ? sp->flat : ""};
  memcpy(pieces, p, sizeof p);
}

static char *
spec_key(const VSpec *sp)
{
  char nums[3][24];
  const char *p[KEY_PIECES];
  spec_pieces(sp, nums, p);
  return g_strconcat(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], NULL);
}

/* 2^62 and up: above any real inode of the source's filesystem, below the
 * numbers given to other filesystems (2^63 and up). */
static uint64_t
hash_vino(guint64 h)
{
  return (1ull << 62) | (h & ((1ull << 62) - 1));
}

/* The hash of spec_key(sp), without making the key. */
uint64_t
lfs_vnode_peek_vino(const VSpec *sp)
{
  char nums[3][24];
  const char *p[KEY_PIECES];
  spec_pieces(sp, nums, p);
  guint64 h = FNV_OFFSET;
  for (guint k = 0; k < KEY_PIECES; k++)
    h = fnv1a(h, p[k]);
  return hash_vino(h);
}

VNode *
lfs_vnode_get(LfsCtx *c, const VSpec *sp)
{
  g_autofree char *key = spec_key(sp);
  LfsVnodes *v = c->vnodes;
  g_mutex_lock(&v->lock);
  VNode *vn = g_hash_table_lookup(v->by_key, key);
  if (vn == NULL) {
    vn = g_new0(VNode, 1);
    vn->kind = sp->kind;
    vn->dir = sp->dir;
    lfs_itab_ref(c->itab, sp->dir);
    vn->gdev = sp->gdev;
    vn->gino = sp->gino;
    vn->name = g_strdup(sp->name);
    vn->flat = g_strdup(sp->flat);
    vn->vino = lfs_vnode_peek_vino(sp); /* the number listings give it */
    vn->key = g_steal_pointer(&key);
    g_hash_table_insert(v->by_key, vn->key, vn);
  }
  vn->nlookup++;
  g_mutex_unlock(&v->lock);
  return vn;
}

static void
recent_unlink(LfsVnodes *v, VNode *vn)
{
  if (vn->replied_us == 0)
    return;
  if (vn->rprev != NULL)
    vn->rprev->rnext = vn->rnext;
  else
    v->recent = vn->rnext;
  if (vn->rnext != NULL)
    vn->rnext->rprev = vn->rprev;
  else
    v->newest = vn->rprev;
  vn->rprev = vn->rnext = NULL;
  vn->replied_us = 0;
}

void
lfs_vnode_forget(LfsCtx *c, VNode *vn, uint64_t n)
{
  LfsVnodes *v = c->vnodes;
  g_mutex_lock(&v->lock);
  vn->nlookup -= MIN(n, vn->nlookup);
  gboolean gone = vn->nlookup == 0;
  if (gone) {
    recent_unlink(v, vn);
    g_hash_table_remove(v->by_key, vn->key);
  }
  g_mutex_unlock(&v->lock);
  if (gone) {
    lfs_itab_unref(c->itab, vn->dir);
    vnode_free_raw(vn);
  }
}

gboolean
lfs_vnode_is_dir(VKind kind)
{
  switch (kind) {
  case VN_LINKS:
  case VN_SIBLINGS:
  case VN_SIBDIR:
  case VN_DANGLING:
  case VN_INODES:
  case VN_INODIR:
  case VN_ALLDANG:
    return TRUE;
  default:
    return FALSE;
  }
}

/* ---- paths ---- */

static char *
links_path(LfsCtx *c, const VNode *vn)
{
  g_autofree char *d = lfs_itab_path(c->itab, vn->dir);
  return d ? lfs_path_join(d, c->opt.links_name) : NULL;
}

char *
lfs_vnode_dir_path(LfsCtx *c, const VNode *vn, gboolean holding)
{
  g_autofree char *l = links_path(c, vn);
  if (l == NULL)
    return NULL;
  VKind k = vn->kind;
  if (holding) {
    switch (k) {
    case VN_SIBLINK:
      k = VN_SIBDIR;
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
  case VN_INODES:
    return g_strconcat(l, "/inodes", NULL);
  case VN_INODIR:
    return g_strdup_printf("%s/inodes/%ju", l,
                           (uintmax_t)lfs_itab_vino(c->itab, vn->gdev, vn->gino));
  case VN_ALLDANG:
    return g_strconcat(l, "/all-dangling", NULL);
  default:
    return g_steal_pointer(&l);
  }
}

/* ---- visibility (SPEC section 5) ---- */

struct LfsSeer {
  LfsCtx *c;
  fuse_req_t req;
  GHashTable *dirs; /* dir relpath -> GINT_TO_POINTER(1 sees, 2 not) */
};

LfsSeer *
lfs_seer_new(LfsCtx *c, fuse_req_t req)
{
  const struct fuse_ctx *fc = fuse_req_ctx(req);
  if (!c->root_daemon || fc->uid == 0)
    return NULL;
  LfsSeer *s = g_new0(LfsSeer, 1);
  s->c = c;
  s->req = req;
  s->dirs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  return s;
}

void
lfs_seer_free(LfsSeer *s)
{
  if (s == NULL)
    return;
  g_hash_table_unref(s->dirs);
  g_free(s);
}

/* Can the caller search every directory down to dir and read dir? */
static gboolean
sees_dir(LfsSeer *s, const char *dir)
{
  gpointer v = g_hash_table_lookup(s->dirs, dir);
  if (v != NULL)
    return GPOINTER_TO_INT(v) == 1;
  LfsCreds cr;
  gboolean ok = FALSE;
  if (lfs_creds_enter(s->req, &cr) == 0) {
    lfs_autofd fd = -1;
    ok = lfs_open_rel(&s->c->root, dir, O_PATH | O_DIRECTORY, &fd) == 0 &&
         faccessat(fd, "", R_OK | X_OK, AT_EMPTY_PATH | AT_EACCESS) == 0;
    lfs_creds_leave(&cr);
  }
  g_hash_table_insert(s->dirs, g_strdup(dir), GINT_TO_POINTER(ok ? 1 : 2));
  return ok;
}

gboolean
lfs_seer_sees(LfsSeer *s, const char *relpath)
{
  if (s == NULL)
    return TRUE;
  g_autofree char *dir = NULL, *name = NULL;
  if (!lfs_path_split(relpath, &dir, &name))
    return sees_dir(s, "");
  return sees_dir(s, dir);
}

/* ---- contents ---- */

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
  else if (root && strcmp(name, "inodes") == 0)
    out->kind = VN_INODES;
  else if (root && strcmp(name, "all-dangling") == 0)
    out->kind = VN_ALLDANG;
  else if (root && strcmp(name, "status") == 0)
    out->kind = VN_STATUS;
  else
    return ENOENT;
  return 0;
}

int
lfs_vnode_child(LfsCtx *c, LfsSeer *seer, const VNode *p, const char *name, VSpec *out)
{
  *out = (VSpec){.dir = p->dir};
  if (p->kind == VN_LINKS)
    return child_of_links(c, p, name, out);
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
  if (vn->dir == lfs_itab_root(c->itab)) {
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
  } else {
    if (!lfs_scan_wait_ready(c))
      return ENOENT;
    g_autofree char *d = lfs_itab_path(c->itab, vn->dir);
    if (d == NULL)
      return ENOENT;
    if ((vn->kind == VN_SIBLINGS || vn->kind == VN_DANGLING) && seer != NULL &&
        !sees_dir(seer, d))
      return EACCES;
    list_index_dir(c, seer, vn, d, out, group);
  }
  g_ptr_array_sort(out, cmp_names);
  *names = g_steal_pointer(&out);
  return 0;
}

int
lfs_vnode_target(LfsCtx *c, const VNode *vn, char **path)
{
  g_autofree char *d = lfs_itab_path(c->itab, vn->dir);
  if (d == NULL)
    return ENOENT;
  switch (vn->kind) {
  case VN_SIBLINK: {
    g_autoptr(LfsGroupInfo) g = lfs_index_get_siblings(c->index, d, vn->name);
    LfsPath *lp = g ? find_flat(g->paths, vn->flat) : NULL;
    if (lp == NULL)
      return ENOENT;
    *path = g_strdup(lp->path);
    return 0;
  }
  case VN_DANGLINK:
    *path = lfs_path_join(d, vn->name);
    return 0;
  case VN_INOLINK: {
    g_autoptr(LfsGroupInfo) g = lfs_index_get_group(c->index, vn->gdev, vn->gino);
    LfsPath *lp = g ? find_flat(g->paths, vn->flat) : NULL;
    if (lp == NULL)
      return ENOENT;
    *path = g_strdup(lp->path);
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
  case VN_ALLDANGLINK: {
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
    if (!lfs_itab_named(c->itab, vn->dir))
      return ENOENT;
    return lfs_itab_statat(c->itab, vn->dir, vn->name, st);
  case VN_LINKS:
  case VN_SIBLINGS:
  case VN_DANGLING:
    if (!lfs_itab_named(c->itab, vn->dir))
      return ENOENT;
    return lfs_itab_stat(c->itab, vn->dir, st);
  case VN_INOLINK:
  case VN_ALLDANGLINK:
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

char *
lfs_status_text(LfsCtx *c)
{
  double seconds;
  gboolean scanning = lfs_scan_state(c, &seconds);
  LfsIndexCounters n;
  lfs_index_get_counters(c->index, &n);
  return g_strdup_printf(
      "state: %s\n"
      "source: %s\n"
      "entries: %" G_GUINT64_FORMAT "\n"
      "directories: %" G_GUINT64_FORMAT "\n"
      "hardlinked_inodes: %" G_GUINT64_FORMAT "\n"
      "hardlink_paths: %" G_GUINT64_FORMAT "\n"
      "outside_links: %" G_GUINT64_FORMAT "\n"
      "symlinks: %" G_GUINT64_FORMAT "\n"
      "dangling: %" G_GUINT64_FORMAT "\n"
      "pointed_at: %" G_GUINT64_FORMAT "\n"
      "unreadable: %" G_GUINT64_FORMAT "\n"
      "scan_seconds: %.3f\n"
      "generation: %" G_GUINT64_FORMAT "\n"
      "watch: %s\n"
      "scans: %" G_GUINT64_FORMAT "\n"
      "passthrough: %s\n",
      scanning ? "scanning" : "ready", c->source, n.entries, n.directories,
      n.hardlinked_inodes, n.hardlink_paths, n.outside_links, n.symlinks, n.dangling,
      n.pointed_at, n.unreadable, seconds, n.generation, lfs_watch_mechanism(c),
      lfs_scan_count(c), lfs_kpass_state(c->kpass, c->opt.passthrough));
}

/* ---- kernel caching (the policy and the thread are in vinval.c) ---- */

/* Entries every caller has: .links and the directories in it. */
static gboolean
is_fixed(VKind kind)
{
  return kind == VN_LINKS || kind == VN_SIBLINGS || kind == VN_DANGLING ||
         kind == VN_INODES || kind == VN_ALLDANG;
}

double
lfs_vnode_timeout(const LfsCtx *c, const VNode *vn)
{
  /* status: its size changes all the time. */
  if (vn->kind == VN_STATUS)
    return 0.0;
  /* With allow_other (vtimeout 0) the fixed entries are cached all the
   * same: only what they list depends on the caller. */
  return is_fixed(vn->kind) ? c->vattr_timeout : c->vtimeout;
}

double
lfs_vnode_attr_timeout(const LfsCtx *c, const VNode *vn)
{
  return vn->kind == VN_STATUS ? 0.0 : c->vattr_timeout;
}

void
lfs_vnode_replied(LfsCtx *c, VNode *vn)
{
  LfsVnodes *v = c->vnodes;
  g_mutex_lock(&v->lock);
  recent_unlink(v, vn);
  vn->replied_us = g_get_monotonic_time();
  vn->rprev = v->newest;
  if (v->newest != NULL)
    v->newest->rnext = vn;
  else
    v->recent = vn;
  v->newest = vn;
  g_mutex_unlock(&v->lock);
}

/* The virtual directory holding vn, and vn's name there. */
static gboolean
parent_spec(const VNode *vn, VSpec *p, const char **name)
{
  static const char *const links_kids[] = {[VN_SIBLINGS] = "siblings",
                                           [VN_DANGLING] = "dangling",
                                           [VN_INODES] = "inodes",
                                           [VN_ALLDANG] = "all-dangling"};
  *p = (VSpec){.dir = vn->dir};
  switch (vn->kind) {
  case VN_SIBLINGS:
  case VN_DANGLING:
  case VN_INODES:
  case VN_ALLDANG:
    p->kind = VN_LINKS;
    *name = links_kids[vn->kind];
    return TRUE;
  case VN_SIBDIR:
  case VN_DANGLINK:
  case VN_INODIR:
    p->kind = vn->kind == VN_SIBDIR     ? VN_SIBLINGS
              : vn->kind == VN_DANGLINK ? VN_DANGLING
                                        : VN_INODES;
    *name = vn->name;
    return TRUE;
  case VN_SIBLINK:
  case VN_INOLINK:
  case VN_ALLDANGLINK:
    p->kind = vn->kind == VN_SIBLINK   ? VN_SIBDIR
              : vn->kind == VN_INOLINK ? VN_INODIR
                                       : VN_ALLDANG;
    p->name = vn->kind == VN_ALLDANGLINK ? NULL : vn->name;
    *name = vn->flat;
    return TRUE;
  default:
    return FALSE;
  }
}

static void
ventry_clear(gpointer p)
{
  g_free(((LfsVEntry *)p)->name);
}

GArray *
lfs_vnode_take_recent(LfsCtx *c, gint64 cutoff_us)
{
  LfsVnodes *v = c->vnodes;
  GArray *out = g_array_new(FALSE, FALSE, sizeof(LfsVEntry));
  g_array_set_clear_func(out, ventry_clear);
  g_mutex_lock(&v->lock);
  while (v->recent != NULL && v->recent->replied_us < cutoff_us)
    recent_unlink(v, v->recent);
  for (VNode *vn = v->newest; vn != NULL; vn = vn->rprev) {
    VSpec ps;
    const char *name;
    if (vn->kind == VN_LINKS) {
      /* Never stale as an entry. Its directory is a real one, which the
       * kernel may hold locked while the change that called us runs:
       * refresh its attributes only. */
      LfsVEntry e = {.ino = lfs_vnode_nodeid(vn)};
      g_array_append_val(out, e);
      continue;
    }
    if (!parent_spec(vn, &ps, &name))
      continue;
    g_autofree char *pkey = spec_key(&ps);
    VNode *parent = g_hash_table_lookup(v->by_key, pkey);
    if (parent == NULL)
      continue; /* the kernel does not know the directory: nor vn's entry */
    LfsVEntry e = {.parent = lfs_vnode_nodeid(parent), .name = g_strdup(name)};
    g_array_append_val(out, e);
  }
  g_mutex_unlock(&v->lock);
  return out;
}

gboolean
lfs_vnode_any_recent(LfsCtx *c)
{
  g_mutex_lock(&c->vnodes->lock);
  gboolean any = c->vnodes->recent != NULL;
  g_mutex_unlock(&c->vnodes->lock);
  return any;
}
