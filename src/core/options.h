/* options.h: values of linkfs' own -o options, parsed and validated without FUSE. */
#pragma once

#include <glib.h>

typedef enum {
  LFS_CACHE_NEVER,
  LFS_CACHE_AUTO,
  LFS_CACHE_ALWAYS,
} LfsCacheMode;

typedef enum {
  LFS_LINKS_VISIBLE, /* .links listed in every directory */
  LFS_LINKS_ROOT,    /* listed in the root only */
  LFS_LINKS_HIDDEN,  /* never listed; reachable by name */
} LfsLinksMode;

typedef enum {
  LFS_WATCH_OFF,           /* no -o watch */
  LFS_WATCH_AUTO,          /* -o watch, -o watch=auto: fanotify if it may, else inotify */
  LFS_WATCH_FANOTIFY_ONLY, /* -o watch=fanotify */
  LFS_WATCH_INOTIFY_ONLY,  /* -o watch=inotify */
} LfsWatchMode;

typedef struct {
  LfsCacheMode cache;
  LfsLinksMode links;
  char *links_name;
  LfsWatchMode watch;
  gboolean passthrough; /* FUSE passthrough where the kernel allows it */
  guint spin_us;        /* devio.h: how long the reader polls the device */
} LfsOptions;

void lfs_options_init(LfsOptions *o);
void lfs_options_clear(LfsOptions *o);

gboolean lfs_parse_cache_mode(const char *s, LfsCacheMode *out, GError **error);
gboolean lfs_parse_links_mode(const char *s, LfsLinksMode *out, GError **error);
gboolean lfs_validate_links_name(const char *s, GError **error);
/* -o passthrough=auto|off */
gboolean lfs_parse_passthrough(const char *s, gboolean *out, GError **error);
/* -o spin=US: 0 to LFS_SPIN_MAX_US microseconds */
#define LFS_SPIN_DEFAULT_US 20
#define LFS_SPIN_MAX_US 1000
gboolean lfs_parse_spin(const char *s, guint *out, GError **error);
/* -o watch=auto|fanotify|inotify */
gboolean lfs_parse_watch_mode(const char *s, LfsWatchMode *out, GError **error);

/* Kernel entry and attribute timeout, in seconds, for a cache mode. */
double lfs_cache_timeout(LfsCacheMode mode);
const char *lfs_cache_mode_name(LfsCacheMode mode);
const char *lfs_links_mode_name(LfsLinksMode mode);
