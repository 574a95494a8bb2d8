/* devio.h: how the daemon's threads take requests from /dev/fuse.
 *
 * A FUSE round trip on a small virtual machine is mostly the cost of
 * waking sleeping threads on the other CPU: the kernel wakes a daemon
 * thread for each request, and the daemon's reply wakes the caller. With
 * libfuse's own loop, every worker sleeps in read(2) on the device, so
 * every request pays the first of those wake-ups.
 *
 * Here one worker at a time, the reader, reads the device, and it polls
 * the device for up to `-o spin=US` microseconds before it sleeps in
 * read(2): a request that comes within that time costs no wake-up. After
 * a request that is answered from memory or with one quick system call
 * (lookups, attributes, extended attributes, directory listings, create,
 * unlink, release, lock tests, closes where the source's filesystem has
 * no flush, opens that do not truncate) the reader stays the reader and
 * serves the next request itself. Before any other request (truncating
 * opens, reads and writes, lock requests, fsync, truncation, and forgets,
 * whose last close of an unlinked
 * file is where the source's filesystem frees it: anything that may wait)
 * it hands the role to another worker, so a request that blocks never
 * holds up the others. So that a quick request that turns out slow
 * cannot either: after one that took over a millisecond (a cold cache)
 * the reader hands over after every request for a while, and a standby
 * worker takes the role over from a reader that has been busy for 10 ms
 * (a source on a hung network).
 *
 * Spinning stops after a few polls that found nothing (and backs off
 * exponentially), so an idle or slow client does not keep a CPU busy.
 * -o spin=0 gives libfuse's behaviour back: every worker sleeps in
 * read(2).
 *
 * The same hooks carry FUSE passthrough's patches of requests and
 * replies (kpass.c). */
#pragma once

#include <fuse_lowlevel.h>
#include <glib.h>

typedef struct LfsDevio LfsDevio;
typedef struct LfsKpass LfsKpass;

/* kpass: NULL when there is no FUSE passthrough. flush_quick: a FLUSH
 * does not wait (the source's filesystem has no flush of its own). */
LfsDevio *lfs_devio_new(guint spin_us, LfsKpass *kpass, gboolean flush_quick);
void lfs_devio_free(LfsDevio *d);

/* Install the hooks on a mounted session, before its loop starts. The
 * session's userdata must be the LfsCtx whose devio is d. Returns 0 or a
 * positive errno. */
int lfs_devio_attach(LfsDevio *d, struct fuse_session *se);
