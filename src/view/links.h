/* links.h: the virtual namespace, and the dispatch in front of the
 * passthrough (linksdir.c, linksops.c; the records in vnode.c). */
#pragma once

#include "lfs.h"

void lfs_links_ops(LfsCtx *c, struct fuse_lowlevel_ops *ops);
void lfs_links_dir_ops(struct fuse_lowlevel_ops *ops);
LfsVnodes *lfs_vnodes_new(void);
void lfs_vnodes_free(LfsCtx *c, LfsVnodes *v);
