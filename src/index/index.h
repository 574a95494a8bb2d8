/* index.h: the link index of linkfs (plain C + GLib, no FUSE).
 *
 * What it holds
 *   - hard-link groups: (st_dev, st_ino) -> {nlink as last seen, the paths
 *     naming it}, for non-directories with st_nlink > 1 only;
 *   - every symlink: its path, (st_dev, st_ino), target, dangling flag and
 *     what it points at (computed by the caller with
 *     lfs_resolve_symlink_full() and stored);
 *   - the reverse: for an entry (a directory and a name in it) the
 *     symlinks that point at it, that is resolve to it or follow it on the
 *     way (a symlink of a chain, a symlinked directory).
 *
 * Layout
 *   Paths are stored as a tree of directory nodes (parent pointer + name),
 *   holding only the directories on the way to an indexed entry; a node
 *   is freed as soon as it holds nothing.  Names are interned in a
 *   refcounted table local to the index.  Each directory node holds an
 *   open-addressing table of its indexed entries (interned name -> child
 *   node, group or symlink record); each group holds an array of
 *   (directory node, name) pairs.  Renaming a directory moves one node.
 *
 * Paths in the API
 *   Directories are given as paths relative to the view root ("" = root),
 *   names as single components (see lfs_relpath_is_valid() and
 *   lfs_name_is_valid() in names.h); invalid ones give EINVAL.
 *   Functions returning int return 0 or a positive errno.
 *
 * Locking
 *   Every function takes the index's own GRWLock (readers for lookups,
 *   writer for changes) and releases it before returning.  That lock is a
 *   leaf: it is never held while calling out of the index (no callbacks,
 *   no I/O), so callers may hold any of their own locks when calling in,
 *   and must not call into the index from code the index calls (there is
 *   none).  lfs_index_replace_contents() takes two index locks, dst's then
 *   src's; src must be private to the caller.  Results are copies owned
 *   by the caller.
 *
 * Rebuilding
 *   A scan fills a fresh private index (lfs_index_new()), which the
 *   namespace may read for `status` while it grows, then moves it into
 *   the live one with lfs_index_replace_contents(), in O(1) under the
 *   lock.  All changes are idempotent upserts (add_* replaces whatever the
 *   index had under that name, removing an absent name does nothing), so
 *   changes made through the view during a scan may be replayed onto the
 *   scanned index before the swap.
 *
 * Resolutions
 *   After a change, lfs_index_affected_symlinks() names the symlinks whose
 *   resolution may have changed; the caller resolves them outside the lock
 *   and stores the result with lfs_index_set_resolution(), which drops
 *   results older than the latest ticket applied, so racing resolutions
 *   settle on the newest one.
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

#include "core/resolve.h"

typedef struct _LfsIndex LfsIndex;

typedef struct {
  guint64 entries;           /* entries scanned (lfs_index_note_scanned) */
  guint64 directories;       /* directories scanned */
  guint64 hardlinked_inodes; /* groups */
  guint64 hardlink_paths;    /* paths in all groups */
  guint64 outside_links;     /* sum over groups of MAX(0, nlink - npaths) */
  guint64 symlinks;
  guint64 dangling;
  guint64 pointed_at; /* entries some symlink points at */
  guint64 unreadable; /* directories a scan could not read */
  guint64 generation; /* +1 on every change of the contents */
} LfsIndexCounters;

/* One path in the view. */
typedef struct {
  char *path; /* relative to the view root */
  char *flat; /* lfs_flatten (path) */
} LfsPath;

/* A hard-link group, or one entry of siblings/. */
typedef struct {
  char *name; /* siblings/: the entry's name in its directory; else NULL */
  dev_t dev;
  ino_t ino;
  guint64 nlink;    /* st_nlink as last seen */
  guint npaths;     /* names found in the view */
  guint64 outside;  /* MAX(0, nlink - npaths): user.linkfs.outside */
  GPtrArray *paths; /* LfsPath, sorted by flat; for siblings/ the OTHER paths;
                       NULL when not asked for */
} LfsGroupInfo;

typedef struct {
  char *name; /* last component */
  char *path; /* relative to the view root */
  char *flat; /* lfs_flatten (path) */
  char *target;
  dev_t dev;
  ino_t ino;
  gboolean dangling;
} LfsSymlinkInfo;

/* A symlink to re-resolve: see lfs_index_affected_symlinks(). */
typedef struct {
  char *dir; /* its directory, relative to the view root */
  char *name;
  char *target;
  guint64 ticket; /* pass to lfs_index_set_dangling() */
} LfsSymlinkRef;

LfsIndex *lfs_index_new(void);
void lfs_index_free(LfsIndex *idx);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LfsIndex, lfs_index_free)

void lfs_path_free(LfsPath *p);
void lfs_group_info_free(LfsGroupInfo *g);
void lfs_symlink_info_free(LfsSymlinkInfo *s);
void lfs_symlink_ref_free(LfsSymlinkRef *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LfsGroupInfo, lfs_group_info_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LfsSymlinkInfo, lfs_symlink_info_free)

/* ---- changes (writer lock; each bumps the generation if it changed
 * anything) ---- */

/* The entry @dir/@name is now a non-directory (not a symlink) with these
 * attributes.  Whatever the index had under that name is replaced.  With
 * @nlink > 1 the path joins the group (@dev, @ino), whose nlink becomes
 * @nlink; with @nlink <= 1 the name is dropped and an existing group of
 * (@dev, @ino) is dissolved (the inode is no longer hard-linked). */
int lfs_index_add_file(LfsIndex *idx, const char *dir, const char *name, dev_t dev,
                       ino_t ino, guint64 nlink);

/* The entry @dir/@name is now a symlink with this @target, resolved as
 * @res (NULL: not dangling, pointing at nothing); as lfs_index_add_file()
 * for the hard-link part (a symlink may have several names).  The same
 * symlink seen again (same inode, one name, same target) only takes the
 * new resolution, and changes the generation only if that differs. */
int lfs_index_add_symlink(LfsIndex *idx, const char *dir, const char *name, dev_t dev,
                          ino_t ino, guint64 nlink, const char *target,
                          const LfsResolution *res);

/* The entry @dir/@name is gone (unlink, rmdir, or replaced by rename).  A
 * hard-linked name also lowers its group's nlink by one (unlink
 * semantics; the group is dissolved at nlink 1, call
 * lfs_index_update_nlink() to correct it).  A directory takes everything
 * indexed below it along.  No-op if the index has nothing there. */
int lfs_index_remove_name(LfsIndex *idx, const char *dir, const char *name);

/* As lfs_index_remove_name(), but the group's nlink is left as it was
 * (the name left the view, or the caller learns the new nlink otherwise:
 * lfs_index_update_nlink()). */
int lfs_index_drop_name(LfsIndex *idx, const char *dir, const char *name);

/* rename(2) without flags or with RENAME_NOREPLACE: whatever was at @newdir/
 * @newname is removed (as lfs_index_remove_name()), then the entry at
 * @olddir/@oldname, of any kind, moves there; a directory moves with
 * everything below it in O(1).  Renaming one name of an inode onto
 * another name of the same inode changes nothing, as in the kernel.
 * EINVAL if a directory would move below itself. */
int lfs_index_rename(LfsIndex *idx, const char *olddir, const char *oldname,
                     const char *newdir, const char *newname);

/* rename(2) with RENAME_EXCHANGE: the two entries (either may be absent
 * from the index) swap places. */
int lfs_index_exchange(LfsIndex *idx, const char *dir1, const char *name1,
                       const char *dir2, const char *name2);

/* st_nlink of (@dev, @ino) is now @nlink: <= 1 dissolves its group.  No-op
 * for an inode the index has no group for. */
int lfs_index_update_nlink(LfsIndex *idx, dev_t dev, ino_t ino, guint64 nlink);

/* Store the resolution @res (see lfs_index_add_symlink()) of the symlink
 * @dir/@name obtained with @ticket (from lfs_index_affected_symlinks()).
 * Ignored, returning FALSE, if the symlink is gone or a newer result was
 * stored; TRUE if stored. */
gboolean lfs_index_set_resolution(LfsIndex *idx, const char *dir, const char *name,
                                  guint64 ticket, const LfsResolution *res);

/* Add to the scan statistics (entries, directories, unreadable). */
void lfs_index_note_scanned(LfsIndex *idx, guint64 entries, guint64 directories,
                            guint64 unreadable);

/* Move the whole contents and statistics of @src into @dst (O(1));
 * @src gets @dst's old contents, to be freed by the caller outside any
 * lock.  dst's generation grows by one; tickets issued before become
 * void. */
void lfs_index_replace_contents(LfsIndex *dst, LfsIndex *src);

/* ---- lookups (reader lock) ---- */

void lfs_index_get_counters(LfsIndex *idx, LfsIndexCounters *out);
guint64 lfs_index_generation(LfsIndex *idx);

/* Directory nodes (besides the root) and interned names held: for tests
 * and benchmarks (a pruned index holds neither). */
void lfs_index_get_memory_stats(LfsIndex *idx, guint64 *dir_nodes, guint64 *names);

/* What the index holds at @dir/@name. */
typedef enum {
  LFS_ENTRY_NONE,
  LFS_ENTRY_DIR,     /* a directory with indexed entries below it */
  LFS_ENTRY_FILE,    /* a name of a hard-link group */
  LFS_ENTRY_SYMLINK, /* a symlink (maybe also in a group) */
} LfsEntryKind;

typedef struct {
  LfsEntryKind kind;
  dev_t dev; /* FILE, SYMLINK */
  ino_t ino;
  guint64 nlink;     /* the group's, or 1 for a symlink with one name */
  guint npaths;      /* the group's, or 1 */
  gboolean dangling; /* SYMLINK */
} LfsEntryInfo;

LfsEntryKind lfs_index_lookup(LfsIndex *idx, const char *dir, const char *name,
                              LfsEntryInfo *out);

/* An inode: see lfs_index_groups_below(). */
typedef struct {
  dev_t dev;
  ino_t ino;
} LfsInoKey;

/* The hash of an inode, and the GHashTable functions of LfsInoKey keys. */
guint lfs_ino_hash(dev_t dev, ino_t ino);
guint lfs_ino_key_hash(gconstpointer key);
gboolean lfs_ino_key_equal(gconstpointer a, gconstpointer b);

/* The inodes (LfsInoKey) of the hard-link groups with a name at or below
 * @dir/@name. */
GArray *lfs_index_groups_below(LfsIndex *idx, const char *dir, const char *name);

/* siblings/ of @dir: the names of its hard-linked entries, sorted by
 * strcmp.  Empty array if none. */
GPtrArray *lfs_index_list_sibling_names(LfsIndex *idx, const char *dir);

/* Whether the page of @dir has something to show: a hard-linked entry
 * (siblings/), a dangling symlink (dangling/) or an entry some symlink
 * points at (pointed-by/). */
gboolean lfs_index_dir_has_page(LfsIndex *idx, const char *dir);

/* Whether @dir/@name is a hard-linked entry (has a siblings/NAME). */
gboolean lfs_index_has_siblings(LfsIndex *idx, const char *dir, const char *name);

/* siblings/NAME of @dir, or NULL if @name is not a hard-linked entry. */
LfsGroupInfo *lfs_index_get_siblings(LfsIndex *idx, const char *dir, const char *name);

/* dangling/ of @dir: LfsSymlinkInfo of its dangling symlinks, by name. */
GPtrArray *lfs_index_list_dangling(LfsIndex *idx, const char *dir);

/* The symlink @dir/@name, or NULL. */
LfsSymlinkInfo *lfs_index_get_symlink(LfsIndex *idx, const char *dir, const char *name);

/* inodes/: every group sorted by (ino, dev); with @with_paths, all of
 * its paths (sorted by flat), else paths = NULL. */
GPtrArray *lfs_index_list_groups(LfsIndex *idx, gboolean with_paths);

/* inodes/INO: the group (@dev, @ino) with all its paths, or NULL. */
LfsGroupInfo *lfs_index_get_group(LfsIndex *idx, dev_t dev, ino_t ino);

/* The group (@dev, @ino) without its paths (O(1) whatever its size), or
 * NULL. */
LfsGroupInfo *lfs_index_get_group_counts(LfsIndex *idx, dev_t dev, ino_t ino);

/* One path of the group (@dev, @ino): the @k-th in an order of the
 * index's choosing (stable while the group does not change), or NULL past
 * the last.  O(1) for small k, whatever the group's size. */
char *lfs_index_group_path(LfsIndex *idx, dev_t dev, ino_t ino, guint k);

/* all-dangling/: every dangling symlink, sorted by flat. */
GPtrArray *lfs_index_list_all_dangling(LfsIndex *idx);

/* all-dangling/FLAT: the dangling symlink whose path flattens to @flat, or
 * NULL.  A plain FLAT is decoded and looked up directly; only a hashed one
 * costs a pass over the dangling symlinks. */
LfsSymlinkInfo *lfs_index_get_dangling_by_flat(LfsIndex *idx, const char *flat);

/* pointed-by/ of @dir: the names of its entries that some symlink points
 * at, sorted by strcmp.  Empty array if none. */
GPtrArray *lfs_index_list_pointed_names(LfsIndex *idx, const char *dir);

/* Whether some symlink points at @dir/@name. */
gboolean lfs_index_is_pointed(LfsIndex *idx, const char *dir, const char *name);

/* pointed-by/NAME of @dir: the symlinks pointing at @dir/@name (LfsPath),
 * sorted by flat; NULL if none. */
GPtrArray *lfs_index_get_pointers(LfsIndex *idx, const char *dir, const char *name);

/* Every symlink (LfsSymlinkInfo), sorted by path: for tests and rescans. */
GPtrArray *lfs_index_list_symlinks(LfsIndex *idx);

/* The symlinks whose dangling state may have changed after a change to
 * the entries named @names (NULL-terminated; the last components of every
 * path created, removed or renamed, old and new) and after the move of
 * @moved (NULL-terminated relative paths of entries that changed place,
 * given by their NEW paths; may be NULL).
 *
 * Returned (LfsSymlinkRef, with a fresh ticket each): every symlink whose
 * target has a component in @names, every symlink at or below a path of
 * @moved (their ".." lead elsewhere now), and, transitively, every symlink
 * whose target has a component named like a symlink already returned
 * (nested symlinks).  This over-approximates by name, never misses one
 * whose resolution walks through a changed name. */
GPtrArray *lfs_index_affected_symlinks(LfsIndex *idx, const char *const *names,
                                       const char *const *moved);
