/* movelog.c: a log of renames (movelog.h). */
#include "movelog.h"

#include <string.h>

typedef struct {
  char *from;
  char *to;
  gboolean exchange;
} Move;

struct LfsMoveLog {
  GArray *moves; /* of Move */
  guint64 base;  /* position of moves[0] */
};

static void
move_clear(gpointer p)
{
  Move *m = p;
  g_free(m->from);
  g_free(m->to);
}

LfsMoveLog *
lfs_movelog_new(void)
{
  LfsMoveLog *log = g_new0(LfsMoveLog, 1);
  log->moves = g_array_new(FALSE, FALSE, sizeof(Move));
  g_array_set_clear_func(log->moves, move_clear);
  return log;
}

void
lfs_movelog_free(LfsMoveLog *log)
{
  if (log == NULL)
    return;
  g_array_unref(log->moves);
  g_free(log);
}

guint64
lfs_movelog_end(const LfsMoveLog *log)
{
  return log->base + log->moves->len;
}

void
lfs_movelog_add(LfsMoveLog *log, const char *from, const char *to, gboolean exchange)
{
  Move m = {g_strdup(from), g_strdup(to), exchange};
  g_array_append_val(log->moves, m);
}

void
lfs_movelog_clear(LfsMoveLog *log)
{
  log->base += log->moves->len;
  g_array_set_size(log->moves, 0);
}

/* The length of prefix if path is prefix itself or below it, else 0 (the
 * root, "", is never renamed). */
static size_t
under(const char *path, const char *prefix)
{
  size_t n = strlen(prefix);
  if (n == 0 || strncmp(path, prefix, n) != 0 || (path[n] != '\0' && path[n] != '/'))
    return 0;
  return n;
}

static char *
replace_prefix(char *path, size_t n, const char *to)
{
  char *now = g_strconcat(to, path + n, NULL);
  g_free(path);
  return now;
}

char *
lfs_movelog_rebase(const LfsMoveLog *log, const char *path, guint64 seq)
{
  char *now = g_strdup(path);
  guint start = seq > log->base ? (guint)(seq - log->base) : 0;
  for (guint k = start; k < log->moves->len; k++) {
    const Move *m = &g_array_index(log->moves, Move, k);
    size_t n = under(now, m->from);
    if (n > 0)
      now = replace_prefix(now, n, m->to);
    else if (m->exchange && (n = under(now, m->to)) > 0)
      now = replace_prefix(now, n, m->from);
  }
  return now;
}
