/* pages.h: the directory whose page is .links/dirs/INO. */
#pragma once

#include "lfs.h"

/* The directory of the view (not the root) whose st_ino is vino, with a
 * reference taken (lfs_itab_unref), or NULL. */
LfsInode *lfs_page_dir(LfsCtx *c, guint64 vino);
