/* dirops.h: real directory handles, as the view's dispatch uses them to
 * list entries of its own after the real ones. */
#pragma once

#include "lfs.h"

/* Fill buf (size bytes) with the entries of the open directory ino from
 * offset off, as the passthrough's readdir (plus: readdirplus) replies
 * them; the directory is read again at offset 0. Entry k has offset k and
 * its next is k + 1. *used gets the bytes filled; *end, when every entry
 * from off fitted, the number of entries (the offset after the last), else
 * -1. Returns 0 or a positive errno. */
int lfs_dir_fill(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, off_t off,
                 gboolean plus, char *buf, size_t size, size_t *used, off_t *end);
/* Whether the directory, as last read, has an entry called name. */
gboolean lfs_dir_has(struct fuse_file_info *fi, const char *name);
