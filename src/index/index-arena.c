/* index-arena.c: the allocator of the index's small records (entries,
 * groups, symlinks, path arrays): slabs of one size class each, carved
 * from big anonymous mappings, so a record costs its size rounded up to 8
 * bytes and nothing more (malloc adds 8 and rounds up to 16).  A slab whose
 * records are all freed gives its pages back to the system at once
 * (madvise MADV_DONTNEED) and serves any size class next.  Requests above
 * LFSI_ARENA_MAX go to malloc.  Callers hold the index's writer lock. */
#include "config.h"

#include <string.h>
#include <sys/mman.h>

#include "index-private.h"

/* Under AddressSanitizer, records not handed out are poisoned: a use after
 * free in the index is caught as with malloc. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

enum {
  SLAB = 64 * 1024,    /* bytes, a power of two: a record finds its slab */
  REGION = 256 * SLAB, /* reserved at once (16 MiB of address space) */
  CLASSES = LFSI_ARENA_MAX / 8,
};

/* The header at the start of each slab. */
typedef struct _Slab Slab;
struct _Slab {
  Slab *prev, *next; /* in its class's list of slabs with free records, or
                        in the arena's list of empty slabs */
  void *free;        /* freed records, linked through their first word */
  char *bump;        /* records never handed out start here */
  guint32 live;      /* records handed out */
  guint32 size;      /* of its records; 0: empty slab */
  gboolean cold;     /* empty, its pages given back */
};

#define SLAB_HDR ((gsize)((sizeof(Slab) + 15) & ~(gsize)15))

/* Empty slabs kept with their pages, for a size class that empties a slab
 * and needs one again (a record added and removed at a slab's edge). */
enum { HOT_EMPTIES = 4 };

struct _LfsArena {
  Slab *partial[CLASSES + 1]; /* slabs with a free record, by class */
  Slab *empty;                /* slabs with no record: the hot ones first */
  guint nhot;                 /* empty slabs whose pages are kept */
  GPtrArray *regions;         /* mappings, to unmap at the end */
  char *next;                 /* next slab never used, in the last region */
  char *end;
  guint64 bytes; /* in records handed out (statistics) */
};

LfsArena *
lfsi_arena_new(void)
{
  LfsArena *a = g_new0(LfsArena, 1);
  a->regions = g_ptr_array_new();
  return a;
}

void
lfsi_arena_free(LfsArena *a)
{
  if (a == NULL)
    return;
  for (guint i = 0; i < a->regions->len; i++) {
    UNPOISON(a->regions->pdata[i], REGION); /* the range may be mapped again */
    munmap(a->regions->pdata[i], REGION);
  }
  g_ptr_array_unref(a->regions);
  g_free(a);
}

static void
list_remove(Slab **head, Slab *s)
{
  if (s->prev != NULL)
    s->prev->next = s->next;
  else
    *head = s->next;
  if (s->next != NULL)
    s->next->prev = s->prev;
  s->prev = s->next = NULL;
}

static void
list_push(Slab **head, Slab *s)
{
  s->prev = NULL;
  s->next = *head;
  if (*head != NULL)
    (*head)->prev = s;
  *head = s;
}

/* A region aligned to SLAB: map one slab more and cut the ends off. */
static gboolean
region_new(LfsArena *a)
{
  gsize len = REGION + SLAB;
  char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    return FALSE;
  char *start = (char *)(((uintptr_t)p + SLAB - 1) & ~(uintptr_t)(SLAB - 1));
  if (start > p)
    munmap(p, (gsize)(start - p));
  gsize tail = (gsize)(p + len - (start + REGION));
  if (tail > 0)
    munmap(start + REGION, tail);
  g_ptr_array_add(a->regions, start);
  a->next = start;
  a->end = start + REGION;
  return TRUE;
}

static Slab *
slab_new(LfsArena *a, guint32 size)
{
  Slab *s = a->empty;
  if (s != NULL) {
    list_remove(&a->empty, s);
    if (!s->cold)
      a->nhot--;
  } else {
    if (a->next == a->end && !region_new(a))
      g_error("linkfs: out of memory for the index");
    s = (Slab *)a->next;
    a->next += SLAB;
  }
  *s = (Slab){.bump = (char *)s + SLAB_HDR, .size = size};
  POISON(s->bump, SLAB - SLAB_HDR);
  return s;
}

static guint
size_class(gsize size)
{
  return (guint)((size + 7) / 8);
}

void *
lfsi_alloc(LfsArena *a, gsize size)
{
  if (size > LFSI_ARENA_MAX)
    return g_malloc(size);
  guint k = size_class(size);
  Slab *s = a->partial[k];
  if (s == NULL) {
    s = slab_new(a, k * 8);
    list_push(&a->partial[k], s);
  }
  void *p;
  if (s->free != NULL) {
    p = s->free;
    UNPOISON(p, s->size);
    s->free = *(void **)p;
  } else {
    p = s->bump;
    UNPOISON(p, s->size);
    s->bump += s->size;
  }
  s->live++;
  a->bytes += s->size;
  gboolean full = s->free == NULL && (char *)s + SLAB - s->bump < (gssize)s->size;
  if (full)
    list_remove(&a->partial[k], s);
  return p;
}

void *
lfsi_alloc0(LfsArena *a, gsize size)
{
  void *p = lfsi_alloc(a, size);
  memset(p, 0, size);
  return p;
}

void
lfsi_dealloc(LfsArena *a, void *p, gsize size)
{
  if (p == NULL)
    return;
  if (size > LFSI_ARENA_MAX) {
    g_free(p);
    return;
  }
  Slab *s = (Slab *)((uintptr_t)p & ~(uintptr_t)(SLAB - 1));
  guint k = size_class(size);
  g_assert(s->size == k * 8);
  gboolean was_full = s->free == NULL && (char *)s + SLAB - s->bump < (gssize)s->size;
  *(void **)p = s->free;
  s->free = p;
  POISON(p, s->size);
  s->live--;
  a->bytes -= s->size;
  if (was_full)
    list_push(&a->partial[k], s);
  if (s->live > 0)
    return;
  /* Empty: the slab goes to any class, its pages back to the system
   * unless a few hot ones are kept. */
  list_remove(&a->partial[k], s);
  s->size = 0;
  s->cold = a->nhot >= HOT_EMPTIES;
  UNPOISON((char *)s + SLAB_HDR, SLAB - SLAB_HDR);
  if (s->cold)
    madvise((char *)s + 4096, SLAB - 4096, MADV_DONTNEED);
  else
    a->nhot++;
  list_push(&a->empty, s);
}

void
lfsi_arena_trim(LfsArena *a)
{
  for (Slab *s = a->empty; s != NULL; s = s->next) {
    if (!s->cold) {
      s->cold = TRUE;
      madvise((char *)s + 4096, SLAB - 4096, MADV_DONTNEED);
    }
  }
  a->nhot = 0;
}

guint64
lfsi_arena_bytes(const LfsArena *a)
{
  return a->bytes;
}
