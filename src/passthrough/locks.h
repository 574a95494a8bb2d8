/* locks.h: POSIX record locks taken through the view are real locks on
 * the source file.
 *
 * The kernel hands the daemon every fcntl lock of the view (F_SETLK,
 * F_SETLKW, F_GETLK, their OFD forms, lockf) with a lock owner: the
 * caller's file table for classic locks, the open file for OFD locks; it
 * does not say which. Each (inode, owner) that locks gets a descriptor of
 * its own on the source file, opened again from the handle it locked
 * through, and its locks are OFD locks on that descriptor: they conflict
 * with every other owner, in this view, in another view of the same
 * source, and on the source itself (classic or OFD locks alike).
 *
 * An owner's locks on an inode go when its descriptor closes: at FLUSH
 * (a close(2) by that file table: classic locks go with any close of the
 * file, as POSIX has it) and at RELEASE of a handle it locked through (the
 * last close of an open file: OFD locks go with it). F_GETLK asks the
 * source with the owner's descriptor (its own locks never conflict) and
 * names the caller that holds a conflicting lock taken through this view
 * (the locks of each owner are mirrored, lkranges.h); a lock held by
 * another view or an OFD lock on the source has no process: l_pid 0.
 *
 * No FUSE here; lockwait.h runs the waits. */
#pragma once

#include "core/procfd.h"
#include "inode.h"

#include <fcntl.h>
#include <glib.h>
#include <stdint.h>

typedef struct LfsLocks LfsLocks;

/* pf: to open a handle's file again; itab: counts the owners'
 * descriptors among those held for the kernel, and gives back cached
 * ones when out of descriptors (both outlive the table). */
LfsLocks *lfs_locks_new(const LfsProcFd *pf, LfsInodeTable *itab);
/* Closes every owner's descriptor (their locks go). */
void lfs_locks_free(LfsLocks *l);

/* lk as libfuse gives it: l_whence SEEK_SET, l_len 0 to the end of the
 * file, l_pid the caller's. node: the inode (a key unique to it while it
 * has open files); fhfd: the handle's descriptor of the source file.
 * Returns 0 or a positive errno: EAGAIN when the lock is held elsewhere
 * and wait is FALSE; with wait, blocks until it can be had (EINTR if a
 * signal ends the wait). */
int lfs_locks_set(LfsLocks *l, gconstpointer node, int fhfd, uint64_t owner,
                  const struct flock *lk, gboolean wait);
/* F_GETLK: lk becomes the conflicting lock, or l_type F_UNLCK. */
int lfs_locks_get(LfsLocks *l, gconstpointer node, int fhfd, uint64_t owner,
                  struct flock *lk);
/* A close(2) by owner of a descriptor of node: its locks on node go. */
void lfs_locks_flush(LfsLocks *l, gconstpointer node, uint64_t owner);
/* The last close of the handle fhfd of node: the locks taken through it go. */
void lfs_locks_release(LfsLocks *l, gconstpointer node, int fhfd);

/* Owners holding a descriptor now (status, tests). */
guint lfs_locks_owners(LfsLocks *l);
