/* moves.c: the renames applied to the index (see moves.h). */
#include "moves.h"

#include "core/movelog.h"

struct LfsMoves {
  GMutex lock;     /* guards every field; a leaf */
  guint64 count;   /* renames noted */
  guint ncareful;  /* careful walks running */
  LfsMoveLog *log; /* while ncareful > 0: the renames with paths, in order */
};

LfsMoves *
lfs_moves_new(void)
{
  LfsMoves *m = g_new0(LfsMoves, 1);
  g_mutex_init(&m->lock);
  m->log = lfs_movelog_new();
  return m;
}

void
lfs_moves_free(LfsMoves *m)
{
  if (m == NULL)
    return;
  lfs_movelog_free(m->log);
  g_mutex_clear(&m->lock);
  g_free(m);
}

void
lfs_moves_note(LfsMoves *m, const char *from, const char *to, gboolean exchange)
{
  g_mutex_lock(&m->lock);
  m->count++;
  if (m->ncareful > 0 && from != NULL && to != NULL)
    lfs_movelog_add(m->log, from, to, exchange);
  g_mutex_unlock(&m->lock);
}

guint64
lfs_moves_count(LfsMoves *m)
{
  g_mutex_lock(&m->lock);
  guint64 n = m->count;
  g_mutex_unlock(&m->lock);
  return n;
}

void
lfs_moves_careful_begin(LfsMoves *m)
{
  g_mutex_lock(&m->lock);
  m->ncareful++;
  g_mutex_unlock(&m->lock);
}

void
lfs_moves_careful_end(LfsMoves *m)
{
  g_mutex_lock(&m->lock);
  if (--m->ncareful == 0)
    lfs_movelog_clear(m->log);
  g_mutex_unlock(&m->lock);
}

guint64
lfs_moves_position(LfsMoves *m)
{
  g_mutex_lock(&m->lock);
  guint64 end = lfs_movelog_end(m->log);
  g_mutex_unlock(&m->lock);
  return end;
}

char *
lfs_moves_rebase(LfsMoves *m, const char *path, guint64 *seq)
{
  g_mutex_lock(&m->lock);
  char *now = lfs_movelog_rebase(m->log, path, *seq);
  *seq = lfs_movelog_end(m->log);
  g_mutex_unlock(&m->lock);
  return now;
}
