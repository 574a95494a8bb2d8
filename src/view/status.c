/* status.c: the text of .links/status (SPEC section 2), from the index's
 * counters and the state of the scan, the watch and FUSE passthrough. */
#include "status.h"

#include "devio/kpass.h"
#include "live/scan.h"
#include "live/watch.h"
#include "vnode.h"

char *
lfs_status_text(LfsCtx *c)
{
  double seconds;
  gboolean scanning = lfs_scan_state(c, &seconds);
  LfsIndexCounters n;
  lfs_index_get_counters(c->index, &n);
  return g_strdup_printf("state: %s\n"
                         "source: %s\n"
                         "entries: %" G_GUINT64_FORMAT "\n"
                         "directories: %" G_GUINT64_FORMAT "\n"
                         "hardlinked_inodes: %" G_GUINT64_FORMAT "\n"
                         "hardlink_paths: %" G_GUINT64_FORMAT "\n"
                         "outside_links: %" G_GUINT64_FORMAT "\n"
                         "symlinks: %" G_GUINT64_FORMAT "\n"
                         "dangling: %" G_GUINT64_FORMAT "\n"
                         "pointed_at: %" G_GUINT64_FORMAT "\n"
                         "unreadable: %" G_GUINT64_FORMAT "\n"
                         "scan_seconds: %.3f\n"
                         "generation: %" G_GUINT64_FORMAT "\n"
                         "watch: %s\n"
                         "scans: %" G_GUINT64_FORMAT "\n"
                         "passthrough: %s\n"
                         "kernel_cached: %" G_GUINT64_FORMAT "\n"
                         "kernel_known: %" G_GUINT64_FORMAT "\n",
                         scanning ? "scanning" : "ready", c->source, n.entries,
                         n.directories, n.hardlinked_inodes, n.hardlink_paths,
                         n.outside_links, n.symlinks, n.dangling, n.pointed_at,
                         n.unreadable, seconds, n.generation, lfs_watch_mechanism(c),
                         lfs_scan_count(c), lfs_kpass_state(c->kpass, c->opt.passthrough),
                         lfs_vnode_count_cached(c), lfs_vnodes_count(c));
}