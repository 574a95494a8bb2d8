/* scan.h: the scans that fill the index (scan.c, walk.c): the scan at
 * mount, SIGHUP rescans, the subtree scans and seeks of -o watch. The
 * scan's state (LfsCtx.scan) is opaque outside them. */
#pragma once

#include "lfs.h"

LfsScan *lfs_scan_new(void);
void lfs_scan_free(LfsScan *s);

/* Called by the walks of full and subtree scans (not seeks) for each
 * directory they open, before reading it: dirfd is open for reading, rel
 * its path. Set before the scan starts (-o watch adds its watches so). */
typedef void (*LfsScanDirFn)(LfsCtx *c, int dirfd, const char *rel);
void lfs_scan_on_dir(LfsScan *s, LfsScanDirFn fn);

void lfs_scan_start(LfsCtx *c);
void lfs_scan_stop(LfsCtx *c);
/* Wait while a scan is running; FALSE if unmounting. */
gboolean lfs_scan_wait_ready(LfsCtx *c);
/* For status: whether a scan runs, and its seconds so far or last. */
gboolean lfs_scan_state(LfsCtx *c, double *seconds);
/* Full scans started (status: scans). */
guint64 lfs_scan_count(LfsCtx *c);
/* Whether the mount is stopping (lfs_scan_stop was called). */
gboolean lfs_scan_stopping(LfsCtx *c);
/* Wait until fd is readable or the mount is stopping, without a timeout:
 * TRUE if fd is readable. */
gboolean lfs_scan_poll_until_stop(LfsCtx *c, int fd);

/* Ask the scan thread for a new full scan (as SIGHUP does). */
void lfs_scan_request(LfsCtx *c);
/* Index the directory relpath and everything below it (a new directory). */
void lfs_scan_subtree(LfsCtx *c, const char *relpath);
/* Look for the names in SOURCE of (dev, ino), a file that got a new name
 * while the index knew none of its others: a walk in the scan thread that
 * adds them without emptying the index (listings never wait for it). */
void lfs_scan_seek(LfsCtx *c, dev_t dev, ino_t ino);
