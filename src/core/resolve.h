/* resolve.h: decide whether a symlink of the source dangles, without ever
 * entering the view's own mount.
 *
 * Resolution is done step by step, like the kernel's path walk, but with
 * one fstatat(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) per component,
 * openat(O_PATH | O_NOFOLLOW) for directories and readlinkat() for nested
 * symlinks, all relative to directory descriptors:
 *
 *  - relative targets start at the link's directory, reached from @root_fd
 *    (SOURCE, opened before mounting); absolute targets start at "/";
 *  - ".." goes back along the chain of directories walked so far, so it is
 *    the physical parent; above SOURCE it continues along
 *    guard->source_path walked down from "/" (or, without it, the kernel's
 *    ".." of SOURCE); ".." of "/" is "/";
 *  - at most 40 symlinks are followed (Linux's MAXSYMLINKS), then ELOOP;
 *  - whenever a step would look up guard->mp_name in the directory
 *    (guard->mp_parent_dev, guard->mp_parent_ino), that is the mountpoint,
 *    the walk goes on where a user of the view would: from outside the view
 *    (an absolute target, SOURCE reached by its own path) into SOURCE
 *    (@root_fd), whose ".." is then the mountpoint's parent; inside the
 *    view (a MOUNTPOINT inside SOURCE, reached from the link's place) into
 *    guard->mp_fd, the directory under the mount opened before mounting,
 *    which the view shows there.  No step ever looks up anything on the
 *    view's mount;
 *  - automount points are never triggered (a target through an untriggered
 *    automount point sees the empty directory under it).
 *
 * Not guarded: other paths to the view made after mounting (bind mounts of
 * the mountpoint, mount propagation); those are the administrator's choice.
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

#define LFS_RESOLVE_MAX_SYMLINKS 40

struct lfs_resolve_guard {
  /* Canonical absolute path of SOURCE (realpath), used for ".." above
   * SOURCE; NULL to use the kernel's ".." there. */
  const char *source_path;
  /* The mountpoint: its name in its parent directory, that parent's
   * (st_dev, st_ino), and an O_PATH descriptor of the directory under the
   * mount, opened before mounting.  mp_fd < 0 disables the check. */
  dev_t mp_parent_dev;
  ino_t mp_parent_ino;
  const char *mp_name;
  int mp_fd;
};

/* Resolve @target, the content of a symlink in the directory @link_dir_rel
 * (relative to SOURCE, "" for SOURCE itself), as stat() would.
 *
 * Returns 0 if the target resolves, else a positive errno: ENOENT (missing
 * target or component, or @target is empty), ENOTDIR (a component is not a
 * directory), ELOOP (more than 40 symlinks), or another errno of a step
 * (EACCES, ENAMETOOLONG, EIO, ...).  @guard may be NULL. */
int lfs_resolve_symlink(int root_fd, const char *link_dir_rel, const char *target,
                        const struct lfs_resolve_guard *guard);

/* Where a symlink leads in the view (lfs_resolve_symlink_full()). */
typedef struct {
  int err;        /* what lfs_resolve_symlink() returns */
  char *path;     /* the entry it ends at, relative to SOURCE ("" is SOURCE
                     itself); NULL if it fails or ends outside the view */
  GPtrArray *via; /* relative paths of the symlinks of the view it follows on
                     the way, in order (not itself); empty when path is NULL */
} LfsResolution;

/* lfs_resolve_symlink(), also saying where the walk ends and which
 * symlinks it follows.  Paths are physical: "a/f" through a symlinked
 * directory "a -> d" ends at "d/f" and follows "a".  Free with
 * lfs_resolution_clear(). */
int lfs_resolve_symlink_full(int root_fd, const char *link_dir_rel, const char *target,
                             const struct lfs_resolve_guard *guard, LfsResolution *out);
void lfs_resolution_clear(LfsResolution *r);

/* TRUE if an error of lfs_resolve_symlink() makes the symlink dangling:
 * ENOENT, ENOTDIR or ELOOP.  Other errors (EACCES, ENAMETOOLONG, ...) do
 * not, matching `find -xtype l`, which does not print such links. */
gboolean lfs_resolve_is_dangling(int err);
