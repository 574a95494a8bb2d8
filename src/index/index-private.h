/* index-private.h: the data structures of the link index, shared by its
 * files (index.c changes, index-query.c lookups, index-pointed.c the
 * pointed map, index-tree.c the tables and directory nodes, index-group.c
 * hard-link groups, index-arena.c the allocator).  Not for other users.
 *
 * Costs (64-bit), per indexed path: an LfsEnt (16 bytes + its name + 1,
 * rounded up to 8) and a slot of its directory's table (9 bytes at a load
 * of 58 to 88 %); per hard-link group: an LfsGroup (32 bytes, the first
 * two paths inline, up to 16 in an array of 8 bytes a path, more in a set
 * of pointers for O(1) removal) and a slot of its device's group set (9
 * bytes, same load); per symlink: an LfsLink (56 bytes + 24 per distinct
 * name in its target + the target) and 32 bytes per entry it points at;
 * per directory on the way: an LfsDir (48 bytes + its name).  Records come
 * from the index's arena (index-arena.c): no malloc header. */
#pragma once

#include <stdint.h>
#include <string.h>

#include "index.h"

typedef struct _LfsDir LfsDir;
typedef struct _LfsEnt LfsEnt;
typedef struct _LfsGroup LfsGroup;
typedef struct _LfsLink LfsLink;
typedef struct _LfsTarget LfsTarget;
typedef struct _LfsEdge LfsEdge;
typedef struct _LfsArena LfsArena;

/* ---- the arena (index-arena.c) ---- */

#define LFSI_ARENA_MAX 512 /* larger requests go to malloc */

LfsArena *lfsi_arena_new(void);
void lfsi_arena_free(LfsArena *a);
void *lfsi_alloc(LfsArena *a, gsize size);
void *lfsi_alloc0(LfsArena *a, gsize size);
/* @size: as allocated. */
void lfsi_dealloc(LfsArena *a, void *p, gsize size);
/* Bytes in records handed out. */
guint64 lfsi_arena_bytes(const LfsArena *a);
/* Give the pages of every empty slab back to the system. */
void lfsi_arena_trim(LfsArena *a);

/* ---- tables of named records (index-tree.c) ----
 *
 * Open addressing with linear probing; beside each slot, one tag byte: 0
 * for a free slot, else 0x80 | 7 bits of the key's hash, so that a probe
 * looks at a record only when the tag matches.  Values are tagged
 * pointers: in a directory's table e, LfsDir (TAG_DIR) or LfsEnt
 * (TAG_ENT); in its table p, LfsTarget (TAG_TGT); in the table of the
 * names of symlink targets, LfsDepBucket (TAG_BKT). */

enum { TAG_DIR = 0, TAG_ENT = 1, TAG_TGT = 2, TAG_BKT = 3 };
#define TAG_MASK ((uintptr_t)3)
#define SLOT_TAG(v) ((int)((v)&TAG_MASK))
#define SLOT_PTR(v) ((void *)((v) & ~TAG_MASK))
#define SLOT_VAL(p, tag) ((uintptr_t)(p) | (uintptr_t)(tag))

typedef struct {
  uintptr_t *slots; /* cap slots, then cap tag bytes, one allocation */
  guint32 used;
  guint32 cap; /* 0 or a power of two */
} LfsTable;

static inline const guint8 *
lfsi_tab_tags(const LfsTable *t)
{
  return (const guint8 *)(t->slots + t->cap);
}

/* Each value of @t, as uintptr_t v. */
#define LFSI_TAB_FOREACH(t, v)                                                           \
  for (guint32 i_ = 0; i_ < (t)->cap; i_++)                                              \
    for (uintptr_t v = (t)->slots[i_], once_ = lfsi_tab_tags(t)[i_] != 0; once_;         \
         once_ = 0)

guint32 lfsi_hash(const char *name);
const char *lfsi_slot_name(uintptr_t v);
/* The slot holding @name, or -1.  @hash: lfsi_hash (@name). */
gint lfsi_tab_find(const LfsTable *t, const char *name, guint32 hash);
/* Add @v (whose name is not in @t). */
void lfsi_tab_insert(LfsArena *a, LfsTable *t, uintptr_t v, guint32 hash);
void lfsi_tab_delete(LfsArena *a, LfsTable *t, gint i);
/* Replace the value in slot @i by @v of the same name. */
static inline void
lfsi_tab_set(LfsTable *t, gint i, uintptr_t v)
{
  t->slots[i] = v;
}
void lfsi_tab_clear(LfsArena *a, LfsTable *t);

/* ---- records ---- */

/* A directory on the way to an indexed entry or to an entry pointed at. */
struct _LfsDir {
  LfsDir *parent; /* NULL for the root */
  char *name;     /* malloc'd: renaming a directory moves one node */
  LfsTable e;     /* its indexed entries and child directories */
  LfsTable p;     /* its entries that symlinks point at */
};

/* An indexed name: of a hard-link group, or a symlink. */
struct _LfsEnt {
  LfsDir *dir;
  uintptr_t val; /* LfsGroup (ENT_FILE) or LfsLink (ENT_LINK), | ENT_MARK */
  char name[];
};

enum { ENT_FILE = 0, ENT_LINK = 1 };
#define ENT_MARK ((uintptr_t)4) /* seen by the scan of the current parity */
#define ENT_KIND(e) ((int)((e)->val & 1))
#define ENT_PTR(e) ((void *)((e)->val & ~(uintptr_t)7))

static inline LfsGroup *
ent_file_group(const LfsEnt *e)
{
  return ENT_KIND(e) == ENT_FILE ? ENT_PTR(e) : NULL;
}

static inline LfsLink *
ent_link(const LfsEnt *e)
{
  return ENT_KIND(e) == ENT_LINK ? ENT_PTR(e) : NULL;
}

/* The group of an entry: a file's, or a symlink's with several names. */
LfsGroup *lfsi_ent_group(const LfsEnt *e);

static inline gsize
ent_size(const char *name)
{
  return G_STRUCT_OFFSET(LfsEnt, name) + strlen(name) + 1;
}

/* An inode with st_nlink > 1 and its names in the view, in the group set
 * of its device (LfsContents.devs).  Its names: up to two inline; up to
 * GROUP_ARRAY_MAX in an array of npaths; above, a set of pointers (open
 * addressing, NULL free) for O(1) removal. */
struct _LfsGroup {
  ino_t ino;
  guint32 nlink; /* as last seen (saturated at G_MAXUINT32) */
  guint32 npaths;
  union {
    LfsEnt *inline_[2]; /* npaths <= 2 */
    struct {
      LfsEnt **heap;
      guint32 cap;
    } h;
  } paths;
};

#define GROUP_ARRAY_MAX 16

static inline gboolean
group_is_set(const LfsGroup *g)
{
  return g->npaths > 2 && g->paths.h.cap > GROUP_ARRAY_MAX;
}

/* The slots of @g's paths: an array of npaths, or (set) of cap slots some
 * of which are NULL. */
static inline LfsEnt **
group_slots(LfsGroup *g, guint32 *n)
{
  if (g->npaths <= 2) {
    *n = g->npaths;
    return g->paths.inline_;
  }
  *n = group_is_set(g) ? g->paths.h.cap : g->npaths;
  return g->paths.h.heap;
}

/* One name in a symlink's target: in the circular list of the links whose
 * target has that name (see deps in LfsContents), whose head is the
 * bucket's head. */
typedef struct _LfsDepNode {
  struct _LfsDepNode *prev, *next;
} LfsDepNode;

typedef struct {
  LfsDepNode node; /* first: a node is its dep */
  LfsLink *owner;
} LfsDep;

typedef struct {
  LfsDepNode head; /* a node linked to itself only when the list is empty */
  char name[];
} LfsDepBucket;

struct _LfsLink {
  LfsEnt *ent;     /* its name */
  LfsGroup *group; /* NULL unless the symlink itself has st_nlink > 1 */
  ino_t ino;
  guint32 dev;
  guint32 nedges;
  guint64 applied; /* ticket of the stored resolution */
  LfsEdge *edges;  /* what it points at (nedges) */
  guint16 ndeps;
  guint8 dangling;
  LfsDep deps[]; /* then the target's characters */
};

static inline char *
link_target(const LfsLink *l)
{
  return (char *)&l->deps[l->ndeps];
}

static inline gsize
link_size(guint ndeps, gsize tlen)
{
  return sizeof(LfsLink) + ndeps * sizeof(LfsDep) + tlen + 1;
}

/* An entry that symlinks point at (resolve to, or follow on the way). */
struct _LfsTarget {
  LfsDir *dir;
  LfsEdge *first; /* the symlinks pointing at it */
  char name[];
};

/* "link points at target": in the link's array of edges and in the
 * target's list. */
struct _LfsEdge {
  LfsLink *link;
  LfsTarget *target; /* NULL once the target left the index */
  LfsEdge *prev, *next;
};

/* The groups of a device by ino: open addressing as LfsTable. */
typedef struct {
  LfsGroup **slots; /* cap slots, then cap tag bytes */
  guint32 used;
  guint32 cap;
} LfsGroupSet;

typedef struct {
  dev_t dev;
  LfsGroupSet groups;
} LfsDevice;

/* Everything lfs_index_replace_contents() swaps. */
typedef struct {
  LfsArena *arena;
  LfsDir *root;
  GArray *devs; /* LfsDevice, by index (LfsLink.dev) */
  guint32 ngroups;
  LfsTable deps;        /* names in symlink targets: LfsDepBucket */
  GHashTable *dangling; /* LfsLink set */
  guint64 hardlink_paths;
  guint64 outside_links;
  guint64 symlinks;
  guint64 entries;
  guint64 directories;
  guint64 unreadable;
  guint64 dir_nodes;  /* directory nodes besides the root */
  guint64 ents;       /* LfsEnt records */
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

/* ---- index-tree.c: directory nodes ---- */

LfsDir *lfsi_dir_new(LfsContents *c, LfsDir *parent, const char *name);
/* Free @d alone (its tables must be empty, it must be out of its parent). */
void lfsi_dir_free(LfsIndex *idx, LfsDir *d);
void lfsi_dir_rename(LfsContents *c, LfsDir *d, LfsDir *parent, const char *name);
/* Whether @d holds nothing: neither entries nor entries pointed at. */
gboolean lfsi_dir_empty(const LfsDir *d);
void lfsi_queue_prune(LfsIndex *idx, LfsDir *d);
void lfsi_run_prune(LfsIndex *idx);
/* The directory @dir_rel; made (replacing non-directories on the way)
 * with @create (index.c). */
LfsDir *lfsi_dir_lookup(LfsIndex *idx, const char *dir_rel, gboolean create);
/* The slot of @name in @d's table e, or -1 (also for @d NULL). */
gint lfsi_dir_find(const LfsDir *d, const char *name);
/* Call @fn on the next component of *@path (a relative path), which moves
 * on; FALSE at the end.  @comp holds NAME_MAX + 1 bytes. */
gboolean lfsi_next_comp(const char **path, char *comp);
char *lfsi_dir_path(const LfsDir *d);
char *lfsi_ent_path(const LfsEnt *e);
/* dev_t <-> its index in c->devs (index-group.c). */
guint32 lfsi_dev_index(LfsContents *c, dev_t dev);
dev_t lfsi_dev_of(const LfsContents *c, guint32 i);

/* ---- index-group.c: hard-link groups ---- */

LfsGroup *lfsi_group_find(LfsContents *c, dev_t dev, ino_t ino);
dev_t lfsi_group_dev(const LfsContents *c, const LfsGroup *g);
/* The group (@dev, @ino), made if missing, its nlink now @nlink. */
LfsGroup *lfsi_group_get(LfsContents *c, dev_t dev, ino_t ino, guint64 nlink);
void lfsi_group_set_nlink(LfsContents *c, LfsGroup *g, guint64 nlink);
void lfsi_group_add_path(LfsContents *c, LfsGroup *g, LfsEnt *e);
/* @e leaves @g (O(1)); the caller destroys @g when no path is left. */
void lfsi_group_remove_path(LfsContents *c, LfsGroup *g, LfsEnt *e);
/* @e (in @g) is replaced by @ne (O(1)). */
void lfsi_group_replace_path(LfsContents *c, LfsGroup *g, LfsEnt *e, LfsEnt *ne);
void lfsi_group_destroy(LfsContents *c, LfsGroup *g);
guint64 lfsi_group_outside(const LfsGroup *g);
/* Every group (for listings): call @fn on each. */
void lfsi_groups_foreach(LfsContents *c, void (*fn)(LfsGroup *g, gpointer data),
                         gpointer data);
guint32 lfsi_groups_count(const LfsContents *c);
void lfsi_groups_clear(LfsContents *c);

/* ---- index-pointed.c ---- */

/* Point @l at what @res says (no target if NULL or it fails); TRUE if
 * that changed anything. */
gboolean lfsi_link_set_targets(LfsIndex *idx, LfsLink *l, const LfsResolution *res);
/* @l points at nothing any more. */
void lfsi_link_drop_edges(LfsIndex *idx, LfsLink *l);
/* The entries of @d pointed at leave the index (@d is being freed): the
 * edges pointing at them stay, with no target, until their symlinks are
 * resolved again or go. */
void lfsi_dir_drop_targets(LfsIndex *idx, LfsDir *d);
