/* kpass.h: FUSE passthrough, where the kernel reads, writes and maps the
 * open files of the source itself, without a request to the daemon
 * (Linux >= 6.9 with CONFIG_FUSE_PASSTHROUGH; the daemon needs
 * CAP_SYS_ADMIN to register backing files).
 *
 * libfuse 3.14 predates the feature, so kpass.c negotiates it beneath
 * libfuse, in the session's custom I/O hooks (devio.c). No FUSE operation changes:
 * open and create pass the descriptor they opened to lfs_kpass_open
 * before replying; release hands it back with lfs_kpass_release. */
#pragma once

#include <fuse_lowlevel.h>
#include <glib.h>

typedef struct LfsKpass LfsKpass;

/* NULL when passthrough is not wanted or cannot be had (not root). */
LfsKpass *lfs_kpass_new(gboolean wanted);
void lfs_kpass_free(LfsKpass *k);

/* The session's device, for the backing-file ioctls; set once mounted,
 * before the loop reads the kernel's INIT. */
void lfs_kpass_set_device(LfsKpass *k, int devfd);

/* devio.c's hooks: every request read from the device, and every reply
 * (sent with writev(2) on fd, patched when it must be). k may be NULL. */
void lfs_kpass_note_request(LfsKpass *k, const void *buf, size_t len);
ssize_t lfs_kpass_writev(LfsKpass *k, int fd, struct iovec *iov, int count);

/* Whether the kernel agreed (after INIT). */
gboolean lfs_kpass_active(LfsKpass *k);

/* Open of the kernel inode node (the inode record: any key unique to it
 * while it has open files) with fd, a regular file opened for an OPEN or
 * CREATE request. TRUE: *fh is set to the file handle to reply with
 * (lfs_fh_fd gives fd back from it), and the reply will carry
 * FOPEN_PASSTHROUGH. FALSE: the kernel refused the file; the open must then
 * be served by the daemon with direct_io, since the kernel does not mix
 * cached and passthrough opens of one inode. */
gboolean lfs_kpass_open(LfsKpass *k, gconstpointer node, int fd, uint64_t *fh);
/* At release (or when the open reply failed), before fd is closed. */
void lfs_kpass_release(LfsKpass *k, gconstpointer node, uint64_t fh);
/* The descriptor in the file handle of an open file (registered or not). */
static inline int
lfs_fh_fd(const struct fuse_file_info *fi)
{
  return (int)(uint32_t)fi->fh;
}

/* For status: "off" (not wanted), "on", or "unavailable" (wanted, but
 * not root, or the kernel has no passthrough or refused it). */
const char *lfs_kpass_state(LfsKpass *k, gboolean wanted);
