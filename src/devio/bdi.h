/* bdi.h: the kernel's readahead for a new mount (root only). */
#pragma once

#define LFS_VIEW_READAHEAD_KB 768
void lfs_tune_readahead(const char *mountpoint);
