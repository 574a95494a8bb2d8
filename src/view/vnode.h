/* vnode.h: the virtual inodes of the .links trees, and what they show.
 *
 *   D/.links -> ../../.links/dirs/INO  VN_DLINK   (D: a real directory, not
 *                                                   the root)
 *   the page of D: MOUNTPOINT/.links/ for the root, else
 *   MOUNTPOINT/.links/dirs/INO/     VN_LINKS      (D, INO: D's st_ino)
 *     siblings/                     VN_SIBLINGS
 *       NAME/                       VN_SIBDIR     name = NAME
 *         FLAT -> REL               VN_SIBLINK    name = NAME, flat = FLAT
 *     dangling/                     VN_DANGLING
 *       NAME -> REL                 VN_DANGLINK   name = NAME
 *     pointed-by/                   VN_POINTED
 *       NAME/                       VN_PTDIR      name = NAME
 *         FLAT -> REL               VN_PTLINK     name = NAME, flat = FLAT
 *   MOUNTPOINT/.links/ adds
 *     dirs/                         VN_DIRS       (lists nothing)
 *     inodes/                       VN_INODES
 *       INO/                        VN_INODIR     (gdev, gino), name = INO
 *         FLAT -> REL               VN_INOLINK    (gdev, gino), name = INO, flat = FLAT
 *     all-dangling/                 VN_ALLDANG
 *       FLAT -> REL                 VN_ALLDANGLINK flat = FLAT
 *     status                        VN_STATUS
 *
 * A record lives while the kernel knows it (lookup count) and keeps its
 * directory D alive in the inode table. Its st_ino is a hash of what it
 * shows, so it is the same each time it is looked up again. */
#pragma once

#include "lfs.h"
#include "seer.h"

typedef enum {
  VN_LINKS,
  VN_SIBLINGS,
  VN_SIBDIR,
  VN_SIBLINK,
  VN_DANGLING,
  VN_DANGLINK,
  VN_INODES,
  VN_INODIR,
  VN_INOLINK,
  VN_ALLDANG,
  VN_ALLDANGLINK,
  VN_STATUS,
  VN_DIRS,
  VN_DLINK,
  VN_POINTED,
  VN_PTDIR,
  VN_PTLINK,
} VKind;

/* One allocation: name and flat are stored after the record. A walk of
 * .links/inodes/ of a snapshot tree makes one per path, so it is small. */
typedef struct VNode {
  guint8 kind;        /* VKind */
  gboolean root_page; /* VN_LINKS of the root: MOUNTPOINT/.links */
  LfsInode *dir;      /* D, referenced; the root for root-only kinds */
  dev_t gdev;         /* the group of VN_INODIR, VN_INOLINK */
  ino_t gino;
  const char *name; /* NULL, or in the record's own allocation */
  const char *flat;
  uint64_t vino; /* also what the table hashes */
  uint64_t nlookup;
  /* vinval.c: when the kernel was last given it to cache (0: not in the
   * list of recent replies), and that list, oldest first. */
  gint64 replied_us;
  struct VNode *rprev, *rnext;
} VNode;

static inline VNode *
lfs_vnode(fuse_ino_t ino)
{
  return (VNode *)(uintptr_t)(ino & ~(fuse_ino_t)1);
}

static inline fuse_ino_t
lfs_vnode_nodeid(VNode *vn)
{
  return (fuse_ino_t)(uintptr_t)vn | 1;
}

typedef struct {
  VKind kind;
  LfsInode *dir;
  dev_t gdev;
  ino_t gino;
  const char *name;
  const char *flat;
  gboolean held; /* dir carries a reference of its own: lfs_vspec_release */
} VSpec;

/* Let go of what spec holds (see held). */
void lfs_vspec_release(LfsCtx *c, VSpec *spec);

/* The record for spec, with its lookup count raised by one. */
VNode *lfs_vnode_get(LfsCtx *c, const VSpec *spec);
void lfs_vnode_forget(LfsCtx *c, VNode *vn, uint64_t n);

gboolean lfs_vnode_is_dir(VKind kind);
/* Removing dir/.links: TRUE (it succeeds and changes nothing) unless it
 * was removed already and dir not listed since. A tool that removes a
 * name and makes it again until that succeeds (tar -x) would otherwise
 * loop for ever: the link is there again at once. */
gboolean lfs_vnodes_unlink_dlink(LfsCtx *c, LfsInode *dir);
/* dir was listed (readdir from its start): it may be removed again. */
void lfs_vnodes_dir_listed(LfsCtx *c, LfsInode *dir);

/* Records held: the virtual entries the kernel knows (status:
 * kernel_known). */
guint64 lfs_vnodes_count(LfsCtx *c);

/* Whether vn is MOUNTPOINT/.links, the root's page. */
gboolean lfs_vnode_is_root_page(const VNode *vn);

/* Path (relative to the view root) of the virtual directory vn is, or
 * holds vn. NULL if D has no name any more. */
char *lfs_vnode_dir_path(LfsCtx *c, const VNode *vn, gboolean holding);

/* The child called name of the virtual directory parent, as a spec (its
 * strings borrowed from parent and name). Returns 0 or ENOENT. */
int lfs_vnode_child(LfsCtx *c, LfsSeer *seer, const VNode *parent, const char *name,
                    VSpec *out);
/* st_ino that lfs_vnode_get would give spec. */
uint64_t lfs_vnode_peek_vino(const VSpec *spec);
/* Names in the virtual directory vn, sorted. For VN_SIBDIR and VN_INODIR,
 * *group (if group is not NULL) gets the group they were listed from, or
 * NULL. */
int lfs_vnode_list(LfsCtx *c, LfsSeer *seer, const VNode *vn, GPtrArray **names,
                   LfsGroupInfo **group);
/* The path that the FLAT name of a group's symlink leads to, or NULL. */
const char *lfs_group_flat_path(const LfsGroupInfo *g, const char *flat);
/* The real path (relative to the view root) a virtual symlink leads to. */
int lfs_vnode_target(LfsCtx *c, const VNode *vn, char **path);
int lfs_vnode_stat(LfsCtx *c, const VNode *vn, struct stat *st);
/* The same, with what the caller already knows of a virtual symlink (or
 * NULL): its target, and the path of the directory that holds it. */
int lfs_vnode_stat_to(LfsCtx *c, const VNode *vn, const char *target, const char *from,
                      struct stat *st);
/* user.linkfs.outside of VN_SIBDIR and VN_INODIR. */
int lfs_vnode_outside(LfsCtx *c, const VNode *vn, guint64 *outside);

/* ---- kernel caching of virtual entries, and the list of recent replies
 * (vinval.c) ---- */

/* Entry timeout the kernel gets for vn (with allow_other, 0 but for .links
 * and the directories in it, which every caller has). */
double lfs_vnode_timeout(const LfsCtx *c, const VNode *vn);
/* Its attribute timeout: the same, but also with allow_other, where every
 * path that reaches vn is looked up again first, which refreshes them. */
double lfs_vnode_attr_timeout(const LfsCtx *c, const VNode *vn);
/* vn was just replied with a non-zero timeout: remember it until its
 * timeout has passed. Call under the reader side of c->vreply_lock. */
void lfs_vnode_replied(LfsCtx *c, VNode *vn);

typedef struct {
  fuse_ino_t parent;
  char *name; /* NULL: only the attributes of ino are stale */
  fuse_ino_t ino;
} LfsVEntry;
/* Where each entry replied at or after cutoff_us is, as (parent node id,
 * name), for fuse_lowlevel_notify_inval_entry; the older ones leave the
 * list. An array of LfsVEntry, which frees the names. */
GArray *lfs_vnode_take_recent(LfsCtx *c, gint64 cutoff_us);
/* Whether any entry is in the list. */
gboolean lfs_vnode_any_recent(LfsCtx *c);
/* How many of them the kernel may still hold (replied within their
 * attribute timeout): status' kernel_cached. */
guint64 lfs_vnode_count_cached(LfsCtx *c);
