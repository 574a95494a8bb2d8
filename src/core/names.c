/* names.c: FLAT names, relative symlink targets, name validation. */
#include "config.h"

#include <string.h>

#include "names.h"

#define SLASH_LEN 3    /* strlen (LFS_FLAT_SLASH) */
#define ELLIPSIS_LEN 3 /* strlen (LFS_FLAT_ELLIPSIS) */

gboolean
lfs_name_is_valid(const char *name)
{
  if (name == NULL || *name == '\0')
    return FALSE;
  if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
    return FALSE;
  if (strchr(name, '/') != NULL)
    return FALSE;
  return strlen(name) <= LFS_NAME_MAX;
}

gboolean
lfs_relpath_is_valid(const char *relpath)
{
  if (relpath == NULL)
    return FALSE;
  if (*relpath == '\0')
    return TRUE;

  const char *p = relpath;
  for (;;) {
    const char *slash = strchr(p, '/');
    gsize len = slash ? (gsize)(slash - p) : strlen(p);
    if (len == 0 || len > LFS_NAME_MAX)
      return FALSE;
    if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
      return FALSE;
    if (slash == NULL)
      return TRUE;
    p = slash + 1;
  }
}

gboolean
lfs_links_name_validate(const char *name, GError **error)
{
  if (name == NULL || *name == '\0') {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "links_name must not be empty");
    return FALSE;
  }
  if (strchr(name, '/') != NULL) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "links_name must not contain '/': %s", name);
    return FALSE;
  }
  if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "links_name must not be '.' or '..'");
    return FALSE;
  }
  if (strlen(name) > LFS_NAME_MAX) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "links_name is longer than %d bytes", LFS_NAME_MAX);
    return FALSE;
  }
  return TRUE;
}

char *
lfs_path_join(const char *dir_rel, const char *name)
{
  if (dir_rel == NULL || *dir_rel == '\0')
    return g_strdup(name);
  return g_strconcat(dir_rel, "/", name, NULL);
}

gboolean
lfs_path_split(const char *relpath, char **dir_out, char **name_out)
{
  if (relpath == NULL || *relpath == '\0')
    return FALSE;
  const char *slash = strrchr(relpath, '/');
  if (slash == NULL) {
    *dir_out = g_strdup("");
    *name_out = g_strdup(relpath);
  } else {
    *dir_out = g_strndup(relpath, slash - relpath);
    *name_out = g_strdup(slash + 1);
  }
  return TRUE;
}

/* Does some component of @relpath contain U+2215 itself? */
static gboolean
has_literal_flat_slash(const char *relpath)
{
  return strstr(relpath, LFS_FLAT_SLASH) != NULL;
}

static gsize
plain_length(const char *relpath)
{
  gsize len = 0;
  for (const char *p = relpath; *p; p++)
    len += (*p == '/') ? SLASH_LEN : 1;
  return len;
}

static char *
flatten_plain(const char *relpath)
{
  GString *s = g_string_sized_new(plain_length(relpath) + 1);
  for (const char *p = relpath; *p; p++) {
    if (*p == '/')
      g_string_append(s, LFS_FLAT_SLASH);
    else
      g_string_append_c(s, *p);
  }
  return g_string_free(s, FALSE);
}

gboolean
lfs_flatten_is_hashed(const char *relpath)
{
  if (has_literal_flat_slash(relpath))
    return TRUE;
  if (g_str_has_prefix(relpath, LFS_FLAT_ELLIPSIS))
    return TRUE;
  return plain_length(relpath) > LFS_NAME_MAX;
}

/* Start of the longest suffix of @s (length @len) that fits in @budget bytes
 * and does not begin inside a UTF-8 sequence; on bytes that are not UTF-8,
 * give up after 3 continuation bytes and cut there. */
static gsize
tail_start(const char *s, gsize len, gsize budget)
{
  if (len <= budget)
    return 0;
  gsize start = len - budget;
  for (int i = 0; i < 3 && start < len; i++) {
    if (((guchar)s[start] & 0xC0) != 0x80)
      return start;
    start++;
  }
  return ((guchar)s[start] & 0xC0) == 0x80 ? len - budget : start;
}

static char *
flatten_hashed(const char *relpath)
{
  g_autofree char *plain = flatten_plain(relpath);
  g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, relpath, -1);
  const gsize prefix_len = ELLIPSIS_LEN + LFS_FLAT_HASH_LEN + 1;
  gsize len = strlen(plain);
  gsize start = tail_start(plain, len, LFS_NAME_MAX - prefix_len);

  GString *s = g_string_sized_new(LFS_NAME_MAX + 1);
  g_string_append(s, LFS_FLAT_ELLIPSIS);
  g_string_append_len(s, sum, LFS_FLAT_HASH_LEN);
  g_string_append_c(s, '_');
  g_string_append(s, plain + start);
  g_assert(s->len <= LFS_NAME_MAX);
  return g_string_free(s, FALSE);
}

char *
lfs_flatten(const char *relpath)
{
  g_return_val_if_fail(relpath != NULL && *relpath != '\0', NULL);

  if (lfs_flatten_is_hashed(relpath))
    return flatten_hashed(relpath);
  return flatten_plain(relpath);
}

char *
lfs_unflatten(const char *flat)
{
  g_return_val_if_fail(flat != NULL, NULL);
  if (g_str_has_prefix(flat, LFS_FLAT_ELLIPSIS))
    return NULL;
  g_auto(GStrv) parts = g_strsplit(flat, LFS_FLAT_SLASH, -1);
  return g_strjoinv("/", parts);
}

/* The next component of *p, '/'s skipped (empty components dropped), its
 * length in *len; NULL at the end. */
static const char *
next_component(const char **p, gsize *len)
{
  const char *s = *p;
  while (*s == '/')
    s++;
  if (*s == '\0') {
    *p = s;
    return NULL;
  }
  const char *e = strchrnul(s, '/');
  *len = (gsize)(e - s);
  *p = e;
  return s;
}

static void
add_piece(GString *out, gsize *n, guint *pieces, const char *s, gsize len)
{
  if (*pieces > 0) {
    if (out != NULL)
      g_string_append_c(out, '/');
    (*n)++;
  }
  if (out != NULL)
    g_string_append_len(out, s, (gssize)len);
  *n += len;
  (*pieces)++;
}

/* The relative target, appended to @out unless it is NULL; returns its
 * length. One ".." for each component of @from below the common part,
 * then the rest of @to, joined by '/'; "." if there is neither. */
static gsize
reltarget_build(const char *from, const char *to, GString *out)
{
  const char *f = from ? from : "", *t = to ? to : "";
  const char *fc, *tc;
  gsize fl = 0, tl = 0;
  for (;;) {
    const char *f0 = f, *t0 = t;
    fc = next_component(&f, &fl);
    tc = next_component(&t, &tl);
    if (fc == NULL || tc == NULL || fl != tl || memcmp(fc, tc, fl) != 0) {
      f = f0; /* the first components that differ, again */
      t = t0;
      break;
    }
  }
  gsize n = 0;
  guint pieces = 0;
  while (next_component(&f, &fl) != NULL)
    add_piece(out, &n, &pieces, "..", 2);
  while ((tc = next_component(&t, &tl)) != NULL)
    add_piece(out, &n, &pieces, tc, tl);
  if (pieces == 0)
    add_piece(out, &n, &pieces, ".", 1);
  return n;
}

char *
lfs_reltarget(const char *from_dir_rel, const char *to_rel)
{
  GString *s = g_string_sized_new(64);
  reltarget_build(from_dir_rel, to_rel, s);
  return g_string_free(s, FALSE);
}

gsize
lfs_reltarget_len(const char *from_dir_rel, const char *to_rel)
{
  return reltarget_build(from_dir_rel, to_rel, NULL);
}
