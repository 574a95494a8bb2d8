/* lockwait.h: lock requests that must wait (F_SETLKW, flock without
 * LOCK_NB), each in a thread of its own.
 *
 * A waiting request must hold neither the device (devio.c) nor one of
 * libfuse's workers, whose number is bounded (ten by default): ten callers
 * waiting for a lock would leave no thread to serve the unlock that frees
 * them. So a lock that cannot be had at once is waited for in a new
 * thread, which replies when the call ends.
 *
 * A caller interrupted by a signal (FUSE INTERRUPT; also a SIGKILL, for
 * which the kernel waits for the reply) stops the wait: the thread is sent
 * LFS_WAKE_SIGNAL, whose handler does nothing and is installed without
 * SA_RESTART, so the blocking call returns EINTR, and the request is
 * answered EINTR. A signal that lands just before the call enters the
 * kernel is sent again every millisecond until the call has returned. */
#pragma once

#include <fuse_lowlevel.h>
#include <glib.h>

typedef struct LfsLockWaits LfsLockWaits;

/* Installs the wake-up signal's handler (once per process). */
LfsLockWaits *lfs_lockwaits_new(void);
/* Stops every wait (each request is answered EINTR) and waits for the
 * threads to end; then frees. Before the session is destroyed. */
void lfs_lockwaits_free(LfsLockWaits *ws);

/* The blocking call: 0 or a positive errno (EINTR when a signal came). */
typedef int (*LfsLockCall)(gpointer data);
/* Replies to req with err, in the waiting thread; frees data. */
typedef void (*LfsLockDone)(fuse_req_t req, gpointer data, int err);

/* Runs call(data) in a new thread and then done(req, data, err). Returns
 * 0, or a positive errno if no thread could be started (nothing was
 * called then: the caller replies and frees data). */
int lfs_lockwaits_start(LfsLockWaits *ws, fuse_req_t req, LfsLockCall call,
                        LfsLockDone done, gpointer data);

/* Waiting requests now (for status and tests). */
guint lfs_lockwaits_count(LfsLockWaits *ws);
