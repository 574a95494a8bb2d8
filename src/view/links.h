/* links.h: the virtual namespace, and the dispatch in front of the
 * passthrough (linksdir.c, linksops.c, vnode.c). */
#pragma once

#include "lfs.h"

void lfs_links_ops(LfsCtx *c, struct fuse_lowlevel_ops *ops);
void lfs_links_dir_ops(struct fuse_lowlevel_ops *ops);
/* Whether readdir of dir lists the virtual directory (-o links=). */
gboolean lfs_links_listed_in(LfsCtx *c, LfsInode *dir);
/* st_ino of dir's virtual directory. */
uint64_t lfs_links_vino(LfsInode *dir);
LfsVnodes *lfs_vnodes_new(void);
void lfs_vnodes_free(LfsCtx *c, LfsVnodes *v);
