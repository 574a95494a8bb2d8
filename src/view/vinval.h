/* vinval.h: the kernel's cache of virtual entries. start after mounting
 * (it registers LfsCtx.view_stale), stop after the scan and watch threads.
 * sync after a change that may make a virtual entry stale: drops every
 * recently replied one from the kernel (waiting for that, briefly, if
 * wait). */
#pragma once

#include "lfs.h"

void lfs_vinval_start(LfsCtx *c);
void lfs_vinval_stop(LfsCtx *c);
void lfs_vinval_sync(LfsCtx *c, gboolean wait);
