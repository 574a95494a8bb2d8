/* watch-tree.h: the directories of SOURCE as the -o watch mechanism knows
 * them (plain C + GLib, no I/O; unit-tested in tests/unit/test_wtree.c).
 *
 * Every directory the scan read or an event named, as a node (parent,
 * name) holding the key the mechanism names it by (an inotify watch
 * descriptor, a fanotify file system id and file handle) and its
 * (st_dev, st_ino). The tree is kept in the order of the events, so the
 * path of a key is the path its directory had when the event being handled
 * happened; moving a directory moves one node. Nodes without a key are
 * places on the way to keyed ones. Not locked: callers hold LfsWatch.lock.
 * Keys the tree lets go of are handed back in `dropped` (GBytes), for
 * inotify to remove their watches. */
#pragma once

#include <glib.h>
#include <sys/types.h>

typedef struct LfsWTree LfsWTree;

#define LFS_WKEY_MAX 140 /* fsid, handle type, MAX_HANDLE_SZ */

LfsWTree *lfs_wtree_new(void);
void lfs_wtree_free(LfsWTree *t);
/* The directory at rel is known by key now. */
void lfs_wtree_set(LfsWTree *t, const char *rel, const void *key, gsize len, dev_t dev,
                   ino_t ino);
/* The path of key's directory (g_free), or NULL if unknown. */
char *lfs_wtree_path(LfsWTree *t, const void *key, gsize len, dev_t *dev, ino_t *ino);
/* Whether a keyed directory is at rel; its identity. */
gboolean lfs_wtree_lookup(LfsWTree *t, const char *rel, dev_t *dev, ino_t *ino);
/* The directory at oldrel (with everything below it) moves to newrel,
 * replacing what was there. FALSE, changing nothing, if nothing is known
 * at oldrel or newrel is below it. */
gboolean lfs_wtree_move(LfsWTree *t, const char *oldrel, const char *newrel,
                        GPtrArray *dropped);
/* The directory at rel and everything below it are gone. */
void lfs_wtree_drop(LfsWTree *t, const char *rel, GPtrArray *dropped);
/* key names no directory any more. */
void lfs_wtree_forget(LfsWTree *t, const void *key, gsize len);
guint lfs_wtree_size(LfsWTree *t);
