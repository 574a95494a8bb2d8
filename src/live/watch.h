/* watch.h: -o watch, changes made directly in SOURCE followed as they
 * happen (watch*.c). open before mounting (FALSE, having said why on
 * stderr, if the mechanism asked for cannot be used; it hands the scan the
 * callback that watches each directory it reads), start after
 * fuse_daemonize, run after the scan is started, stop after lfs_scan_stop
 * (also if never started). */
#pragma once

#include "lfs.h"

gboolean lfs_watch_open(LfsCtx *c);
void lfs_watch_start(LfsCtx *c);
void lfs_watch_run(LfsCtx *c);
void lfs_watch_stop(LfsCtx *c);
/* "fanotify", "inotify" or "off" (status). */
const char *lfs_watch_mechanism(LfsCtx *c);
