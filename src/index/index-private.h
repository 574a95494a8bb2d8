/* index-private.h: the data structures of the link index, shared by
 * index.c (changes) and index-query.c (lookups).  Not for other users. */
#pragma once

#include <stdint.h>

#include "index.h"
#include "core/resolve.h"

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

/* A Robin Hood hash table of slots keyed by the interned name's address. */
typedef struct {
  LfsSlot *slots;
  guint32 used;
  guint32 cap; /* 0 or a power of two */
} LfsTable;

/* A directory on the way to an indexed entry or to an entry pointed at. */
struct _LfsDir {
  LfsDir *parent; /* NULL for the root */
  const char *name;
  LfsTable e; /* its indexed entries (LfsSlot) */
  LfsTable p; /* its entries that symlinks point at: name -> LfsTarget */
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

typedef struct _LfsEdge LfsEdge;

/* An entry that symlinks point at (resolve to, or follow on the way): a
 * slot of its directory's table p, whatever the index holds at that name. */
typedef struct {
  LfsDir *dir;
  const char *name; /* interned: the slot's key */
  LfsEdge *first;   /* the symlinks pointing at it */
} LfsTarget;

/* "link points at target": in the link's array of edges and in the
 * target's list. */
struct _LfsEdge {
  LfsLink *link;
  LfsTarget *target; /* NULL once the target left the index */
  LfsEdge *prev, *next;
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
  guint64 applied; /* ticket of the stored resolution */
  LfsEdge *edges;  /* what it points at (nedges) */
  guint32 nedges;
  guint16 ndeps;
  guint dangling : 1;
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
  guint64 dir_nodes;  /* directory nodes besides the root */
  guint64 pointed_at; /* LfsTargets */
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
gboolean lfsi_dir_empty(const LfsDir *d);
void lfsi_names_clear(LfsContents *c);
const char *lfsi_name_ref(LfsContents *c, const char *name);
const char *lfsi_name_dup(const char *iname);
void lfsi_name_unref(LfsContents *c, const char *iname);
void lfsi_tab_insert(LfsTable *t, const char *iname, uintptr_t val);
void lfsi_tab_delete(LfsTable *t, gint i);
gint lfsi_tab_find(const LfsTable *t, const char *iname);
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

/* index-pointed.c */
/* Point @l at what @res says (no target if NULL or it fails); TRUE if
 * that changed anything. */
gboolean lfsi_link_set_targets(LfsIndex *idx, LfsLink *l, const LfsResolution *res);
/* @l points at nothing any more. */
void lfsi_link_drop_edges(LfsIndex *idx, LfsLink *l);
/* The entries of @d pointed at leave the index (@d is being freed): the
 * edges pointing at them stay, with no target, until their symlinks are
 * resolved again or go. */
void lfsi_dir_drop_targets(LfsIndex *idx, LfsDir *d);
