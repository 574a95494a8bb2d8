/* Memory benchmark of the link index: 1,000,000 paths, every inode with
 * 10 names, in two layouts:
 *   snapshots  10 snapshot trees naming the same files (names shared);
 *   unique     every path with its own name.
 * Prints the RSS growth per indexed path.  Not run by `meson test`. */
#include "config.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "index/index.h"

#define NAMES 10
#define INODES 100000

static long
rss_kib(void)
{
  g_autofree char *status = NULL;
  if (!g_file_get_contents("/proc/self/status", &status, NULL, NULL))
    return -1;
  const char *p = strstr(status, "VmRSS:");
  return p ? atol(p + 6) : -1;
}

/* Bytes handed out by malloc (heap + mmap). */
static double
malloc_bytes(void)
{
  struct mallinfo2 mi = mallinfo2();
  return (double)mi.uordblks + (double)mi.hblkhd;
}

static void
fill_snapshots(LfsIndex *idx)
{
  for (guint s = 0; s < NAMES; s++) {
    for (guint i = 0; i < INODES; i++) {
      char dir[64], name[32];
      g_snprintf(dir, sizeof dir, "snap%u/d%03u/e%02u", s, i / 1000, (i / 100) % 10);
      g_snprintf(name, sizeof name, "file-%06u.dat", i);
      lfs_index_add_file(idx, dir, name, 1, 1000 + i, NAMES);
    }
  }
}

static void
fill_unique(LfsIndex *idx)
{
  for (guint s = 0; s < NAMES; s++) {
    for (guint i = 0; i < INODES; i++) {
      char dir[64], name[32];
      g_snprintf(dir, sizeof dir, "tree/d%04u", (i * NAMES + s) / 1000);
      g_snprintf(name, sizeof name, "file-%06u-%u.dat", i, s);
      lfs_index_add_file(idx, dir, name, 1, 1000 + i, NAMES);
    }
  }
}

static void
run(const char *label, void (*fill)(LfsIndex *))
{
  long before = rss_kib();
  double mbefore = malloc_bytes();
  gint64 t0 = g_get_monotonic_time();
  LfsIndex *idx = lfs_index_new();
  fill(idx);
  gint64 t1 = g_get_monotonic_time();
  long after = rss_kib();
  double mafter = malloc_bytes();
  LfsIndexCounters c;
  lfs_index_get_counters(idx, &c);
  double per = (after - before) * 1024.0 / (double)c.hardlink_paths;
  printf("%-10s paths=%" G_GUINT64_FORMAT " groups=%" G_GUINT64_FORMAT
         " rss_delta=%ld KiB bytes/path=%.1f insert=%.0f ns/path\n",
         label, c.hardlink_paths, c.hardlinked_inodes, after - before, per,
         (t1 - t0) * 1000.0 / (double)c.hardlink_paths);

  t0 = g_get_monotonic_time();
  g_autoptr(GPtrArray) groups = lfs_index_list_groups(idx, FALSE);
  t1 = g_get_monotonic_time();
  printf("%-10s malloc in use: %.1f bytes/path\n", label,
         (mafter - mbefore) / (double)c.hardlink_paths);
  printf("%-10s list_groups (no paths): %u in %.1f ms\n", label, groups->len,
         (t1 - t0) / 1000.0);
  lfs_index_free(idx);
}

int
main(int argc, char **argv)
{
  const char *which = argc > 1 ? argv[1] : "both";
  if (strcmp(which, "unique") != 0)
    run("snapshots", fill_snapshots);
  if (strcmp(which, "snapshots") != 0)
    run("unique", fill_unique);
  return 0;
}
