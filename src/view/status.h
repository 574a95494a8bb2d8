/* status.h: the text of .links/status. */
#pragma once

#include "lfs.h"

/* `key: value` lines, newly allocated. */
char *lfs_status_text(LfsCtx *c);
