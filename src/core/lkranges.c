/* lkranges.c: the byte ranges of one POSIX lock owner (lkranges.h). A
 * sorted array of disjoint ranges: owners hold a handful. */
#include "lkranges.h"

#include <fcntl.h>

struct LfsLkRanges {
  GArray *a; /* LfsLkRange, sorted by start, disjoint */
};

LfsLkRanges *
lfs_lkranges_new(void)
{
  LfsLkRanges *r = g_new0(LfsLkRanges, 1);
  r->a = g_array_new(FALSE, FALSE, sizeof(LfsLkRange));
  return r;
}

void
lfs_lkranges_free(LfsLkRanges *r)
{
  if (r == NULL)
    return;
  g_array_unref(r->a);
  g_free(r);
}

void
lfs_lkranges_clear(LfsLkRanges *r)
{
  g_array_set_size(r->a, 0);
}

gboolean
lfs_lkranges_empty(const LfsLkRanges *r)
{
  return r->a->len == 0;
}

guint
lfs_lkranges_count(const LfsLkRanges *r)
{
  return r->a->len;
}

const LfsLkRange *
lfs_lkranges_nth(const LfsLkRanges *r, guint k)
{
  return k < r->a->len ? &g_array_index(r->a, LfsLkRange, k) : NULL;
}

static void
push(GArray *out, gint64 start, gint64 end, short type)
{
  if (out->len > 0) {
    LfsLkRange *last = &g_array_index(out, LfsLkRange, out->len - 1);
    /* Same type, touching or overlapping: one range. */
    if (last->type == type && last->end != LFS_LK_EOF && last->end + 1 >= start) {
      last->end = MAX(last->end, end);
      return;
    }
  }
  LfsLkRange n = {.start = start, .end = end, .type = type};
  g_array_append_val(out, n);
}

void
lfs_lkranges_set(LfsLkRanges *r, gint64 start, gint64 end, short type)
{
  GArray *out = g_array_sized_new(FALSE, FALSE, sizeof(LfsLkRange), r->a->len + 2);
  gboolean placed = type == F_UNLCK;
  for (guint k = 0; k < r->a->len; k++) {
    LfsLkRange x = g_array_index(r->a, LfsLkRange, k);
    if (!placed && x.start >= start) {
      push(out, start, end, type);
      placed = TRUE;
    }
    if (x.end < start || x.start > end) {
      push(out, x.start, x.end, x.type);
      continue;
    }
    /* x overlaps the new range: keep what lies outside it. */
    if (x.start < start)
      push(out, x.start, start - 1, x.type);
    if (!placed) {
      push(out, start, end, type);
      placed = TRUE;
    }
    if (x.end > end)
      push(out, end + 1, x.end, x.type);
  }
  if (!placed)
    push(out, start, end, type);
  g_array_unref(r->a);
  r->a = out;
}

const LfsLkRange *
lfs_lkranges_conflict(const LfsLkRanges *r, gint64 start, gint64 end, short type)
{
  for (guint k = 0; k < r->a->len; k++) {
    const LfsLkRange *x = &g_array_index(r->a, LfsLkRange, k);
    if (x->start > end)
      break;
    if (x->end >= start && (type == F_WRLCK || x->type == F_WRLCK))
      return x;
  }
  return NULL;
}
