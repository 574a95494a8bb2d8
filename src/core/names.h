/* names.h: pure functions on names and paths of the view (no I/O, no state).
 *
 * Paths handled here are relative to the view root, without a leading or
 * trailing '/', without empty, "." or ".." components; the root is "".
 */
#pragma once

#include <glib.h>

#define LFS_NAME_MAX 255

/* U+2215 DIVISION SLASH, written instead of '/' in a FLAT name. */
#define LFS_FLAT_SLASH "\xe2\x88\x95"
/* U+2026 HORIZONTAL ELLIPSIS, the first character of a hashed FLAT name. */
#define LFS_FLAT_ELLIPSIS "\xe2\x80\xa6"
/* Hex digits of the hash in a hashed FLAT name (64 bits of SHA-256). */
#define LFS_FLAT_HASH_LEN 16

/* The FLAT form of @relpath (non-empty), a valid directory entry name of at
 * most 255 bytes, never containing '/' or NUL, never "." or "..".
 *
 * Plain form: each '/' written as U+2215, e.g. "backup∕2024∕img.jpg".
 * Hashed form: "…" + 16 hex digits of SHA-256(relpath) + "_" + the end of the
 * plain form, cut from the front to fit in 255 bytes (at a UTF-8 character
 * boundary where the text is valid UTF-8 there).
 *
 * The plain form is used unless (a) it is longer than 255 bytes, (b) some
 * component of @relpath itself contains U+2215, or (c) @relpath starts with
 * "…".  The mapping is injective: a plain form decodes back to one path
 * (no component contains the separator), plain forms never start with "…",
 * and two hashed forms are equal only if 64 bits of SHA-256 of two different
 * paths collide and their tails are equal, which does not happen in
 * practice (about 2^-64 per pair).  Free with g_free(). */
char *lfs_flatten(const char *relpath);

/* The path whose plain FLAT form is @flat ("a∕b" -> "a/b"), or NULL if
 * @flat is a hashed form (starts with "…"), which cannot be decoded.  The
 * result need not name anything; check lfs_flatten() of it equals @flat
 * before relying on it (a name of the source containing U+2215 is only
 * ever shown hashed).  Free with g_free(). */
char *lfs_unflatten(const char *flat);

/* TRUE if @relpath would be flattened to the hashed form. */
gboolean lfs_flatten_is_hashed(const char *relpath);

/* Relative symlink target that leads from the directory @from_dir_rel to
 * @to_rel (both relative to the view root, "" = root), e.g. from
 * "photos/.links/siblings/img.jpg" to "backup/2024/img.jpg":
 * "../../../../backup/2024/img.jpg".  A common leading part of both paths
 * is skipped ("a/.links/dangling" to "a/x" gives "../../x"), which is
 * correct because no component of @from_dir_rel is a symlink.
 * "." if both are the same directory.  Free with g_free(). */
char *lfs_reltarget(const char *from_dir_rel, const char *to_rel);

/* strlen(lfs_reltarget(...)), without making it. */
gsize lfs_reltarget_len(const char *from_dir_rel, const char *to_rel);

/* @dir_rel + "/" + @name, or @name alone if @dir_rel is "". */
char *lfs_path_join(const char *dir_rel, const char *name);

/* Split @relpath into its directory part and its last component: "a/b/c" ->
 * "a/b" and "c"; "c" -> "" and "c".  Returns FALSE for "". */
gboolean lfs_path_split(const char *relpath, char **dir_out, char **name_out);

/* TRUE if @name is a valid directory entry name: non-empty, no '/', not "."
 * nor "..", at most 255 bytes. */
gboolean lfs_name_is_valid(const char *name);

/* TRUE if @relpath is "" or a '/'-separated list of valid names. */
gboolean lfs_relpath_is_valid(const char *relpath);

/* Validate the value of -o links_name=; on failure set @error with a
 * message fit for one line on stderr. */
gboolean lfs_links_name_validate(const char *name, GError **error);
