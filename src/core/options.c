/* options.c: parsing and validation of linkfs' own options. */
#include "options.h"

#include <string.h>

void
lfs_options_init(LfsOptions *o)
{
  o->cache = LFS_CACHE_AUTO;
  o->links = LFS_LINKS_VISIBLE;
  o->links_name = g_strdup(".links");
  o->watch = LFS_WATCH_OFF;
  o->passthrough = TRUE;
  o->spin_us = LFS_SPIN_DEFAULT_US;
}

void
lfs_options_clear(LfsOptions *o)
{
  g_clear_pointer(&o->links_name, g_free);
}

static const char *const cache_names[] = {"never", "auto", "always", NULL};
static const char *const links_names[] = {"visible", "root", "hidden", NULL};
static const char *const passthrough_names[] = {"off", "auto", NULL};
static const char *const watch_names[] = {"auto", "fanotify", "inotify", NULL};

static gboolean
parse_enum(const char *what, const char *s, const char *const *names, int *out,
           GError **error)
{
  for (int i = 0; names[i] != NULL; i++) {
    if (s != NULL && strcmp(s, names[i]) == 0) {
      *out = i;
      return TRUE;
    }
  }
  g_autofree char *choices = g_strjoinv("|", (char **)names);
  g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
              "invalid value '%s' for -o %s (expected %s)", s ? s : "", what, choices);
  return FALSE;
}

gboolean
lfs_parse_cache_mode(const char *s, LfsCacheMode *out, GError **error)
{
  int v;
  if (!parse_enum("cache", s, cache_names, &v, error))
    return FALSE;
  *out = (LfsCacheMode)v;
  return TRUE;
}

gboolean
lfs_parse_links_mode(const char *s, LfsLinksMode *out, GError **error)
{
  int v;
  if (!parse_enum("links", s, links_names, &v, error))
    return FALSE;
  *out = (LfsLinksMode)v;
  return TRUE;
}

gboolean
lfs_parse_passthrough(const char *s, gboolean *out, GError **error)
{
  int v;
  if (!parse_enum("passthrough", s, passthrough_names, &v, error))
    return FALSE;
  *out = v != 0;
  return TRUE;
}

gboolean
lfs_parse_spin(const char *s, guint *out, GError **error)
{
  guint64 v;
  if (s == NULL || !g_ascii_string_to_unsigned(s, 10, 0, LFS_SPIN_MAX_US, &v, NULL)) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "invalid value '%s' for -o spin (expected microseconds, 0 to %d)",
                s ? s : "", LFS_SPIN_MAX_US);
    return FALSE;
  }
  *out = (guint)v;
  return TRUE;
}

gboolean
lfs_parse_watch_mode(const char *s, LfsWatchMode *out, GError **error)
{
  int v;
  if (!parse_enum("watch", s, watch_names, &v, error))
    return FALSE;
  *out = (LfsWatchMode)(LFS_WATCH_AUTO + v);
  return TRUE;
}

gboolean
lfs_validate_links_name(const char *s, GError **error)
{
  const char *why = NULL;
  if (s == NULL || *s == '\0')
    why = "it is empty";
  else if (strchr(s, '/') != NULL)
    why = "it contains '/'";
  else if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
    why = "'.' and '..' are reserved";
  else if (strlen(s) > 255)
    why = "it is longer than 255 bytes";
  if (why == NULL)
    return TRUE;
  g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
              "invalid -o links_name='%s': %s", s ? s : "", why);
  return FALSE;
}

double
lfs_cache_timeout(LfsCacheMode mode)
{
  switch (mode) {
  case LFS_CACHE_NEVER:
    return 0.0;
  case LFS_CACHE_AUTO:
    return 1.0;
  case LFS_CACHE_ALWAYS:
    return 86400.0;
  }
  return 1.0;
}

const char *
lfs_cache_mode_name(LfsCacheMode mode)
{
  return cache_names[mode];
}

const char *
lfs_links_mode_name(LfsLinksMode mode)
{
  return links_names[mode];
}
