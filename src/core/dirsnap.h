/* dirsnap.h: a directory's entries read at once, so that readdir offsets are
 * plain indices and virtual entries can be added. No FUSE inside. */
#pragma once

#include <glib.h>
#include <stdint.h>

typedef struct {
  uint64_t ino;
  uint32_t name_off; /* into LfsDirSnap.names */
  uint8_t type;      /* DT_* */
} LfsDirent;

typedef struct {
  GArray *ents;      /* LfsDirent */
  GByteArray *names; /* NUL-terminated names, back to back */
} LfsDirSnap;

LfsDirSnap *lfs_dirsnap_new(void);
void lfs_dirsnap_free(LfsDirSnap *snap);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LfsDirSnap, lfs_dirsnap_free)

/* Drop all entries and read those of the open directory dirfd (read from its
 * start). Returns 0 or a positive errno. */
int lfs_dirsnap_read(LfsDirSnap *snap, int dirfd);

void lfs_dirsnap_append(LfsDirSnap *snap, uint64_t ino, uint8_t type, const char *name);
gboolean lfs_dirsnap_contains(const LfsDirSnap *snap, const char *name);

static inline guint
lfs_dirsnap_len(const LfsDirSnap *snap)
{
  return snap->ents->len;
}

static inline const LfsDirent *
lfs_dirsnap_get(const LfsDirSnap *snap, guint i)
{
  return &g_array_index(snap->ents, LfsDirent, i);
}

static inline const char *
lfs_dirsnap_name(const LfsDirSnap *snap, const LfsDirent *e)
{
  return (const char *)snap->names->data + e->name_off;
}
