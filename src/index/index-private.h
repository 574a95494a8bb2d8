/* index-private.h: the data structures of the link index, shared by
 * index.c (changes) and index-query.c (lookups).  Not for other users. */
#pragma once

#include <stdint.h>

#include "index.h"

typedef struct _LfsDir LfsDir;
typedef struct _LfsGroup LfsGroup;
typedef struct _LfsLink LfsLink;

/* What a slot of a directory holds, in the low bits of its value. */
enum { TAG_DIR = 0, TAG_FILE = 1, TAG_LINK = 2 };
#define TAG_MASK ((uintptr_t)3)
#define SLOT_TAG(v) ((int)((v)&TAG_MASK))
#define SLOT_PTR(v) ((void *)((v) & ~TAG_MASK))
#define SLOT_VAL(p, tag) ((uintptr_t)(p) | (uintptr_t)(tag))

/* One indexed entry of a directory: interned name -> child directory
 * (TAG_DIR), hard-link group (TAG_FILE) or symlink record (TAG_LINK). */
typedef struct {
  const char *name; /* NULL: free slot */
  uintptr_t val;
} LfsSlot;

/* A directory on the way to an indexed entry.  The slots form a
 * Robin Hood hash table keyed by the interned name's address. */
struct _LfsDir {
  LfsDir *parent; /* NULL for the root */
  const char *name;
  LfsSlot *slots;
  guint32 used;
  guint32 cap; /* 0 or a power of two */
};

typedef struct {
  LfsDir *dir;
  const char *name;
} LfsPathRef;

struct _LfsGroup {
  dev_t dev;
  ino_t ino;
  guint64 nlink;
  LfsPathRef *paths;
  guint32 npaths;
  guint32 cap;
};

/* Links a symlink to one name of its target (see deps in Contents). */
typedef struct _LfsDep {
  const char *name;
  LfsLink *owner;
  struct _LfsDep *prev, *next;
} LfsDep;

struct _LfsLink {
  LfsDir *dir;
  const char *name;
  dev_t dev;
  ino_t ino;
  char *target;
  LfsGroup *group; /* NULL unless the symlink itself has st_nlink > 1 */
  guint64 applied; /* ticket of the stored dangling flag */
  gboolean dangling;
  guint32 ndeps;
  LfsDep deps[];
};

/* The interned names: open addressing with linear probing, 8 bytes a
 * slot (a GHashTable takes 12 and keeps more free slots). */
typedef struct {
  char **slots; /* NULL: free */
  guint32 cap;  /* 0 or a power of two */
  guint32 used;
} LfsNameSet;

/* Everything lfs_index_replace_contents() swaps. */
typedef struct {
  LfsDir *root;
  LfsNameSet names;     /* interned names */
  GHashTable *groups;   /* LfsGroup set, by (dev, ino) */
  GHashTable *deps;     /* interned name -> first LfsDep */
  GHashTable *dangling; /* LfsLink set */
  guint64 hardlink_paths;
  guint64 outside_links;
  guint64 symlinks;
  guint64 entries;
  guint64 directories;
  guint64 unreadable;
  guint64 dir_nodes; /* directory nodes besides the root */
} LfsContents;

struct _LfsIndex {
  GRWLock lock;
  LfsContents c;
  GHashTable *prune; /* directories to free at the end of a change if empty */
  guint64 generation;
  guint64 next_ticket;
  guint64 ticket_floor;
};

/* index-tree.c */
void lfsi_names_clear(LfsContents *c);
const char *lfsi_name_ref(LfsContents *c, const char *name);
const char *lfsi_name_dup(const char *iname);
void lfsi_name_unref(LfsContents *c, const char *iname);
void lfsi_slot_insert(LfsDir *d, const char *iname, uintptr_t val);
void lfsi_slot_delete(LfsDir *d, gint i);
LfsDir *lfsi_dir_new(LfsContents *c, LfsDir *parent, const char *iname);
void lfsi_queue_prune(LfsIndex *idx, LfsDir *d);
void lfsi_run_prune(LfsIndex *idx);

/* Shared helpers (index-tree.c, index.c). */
const char *lfsi_name_find(LfsContents *c, const char *name);
gint lfsi_slot_find(const LfsDir *d, const char *iname);
LfsDir *lfsi_dir_lookup(LfsIndex *idx, const char *dir_rel, gboolean create);
LfsGroup *lfsi_group_find(LfsContents *c, dev_t dev, ino_t ino);
char *lfsi_dir_path(const LfsDir *d);
