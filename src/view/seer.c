/* seer.c: who may see what in .links (SPEC section 5): a path is shown to
 * a caller only if it may search every directory on the way and read the
 * directory holding it, checked under the caller's credentials. */
#include "seer.h"

#include "core/fdutil.h"
#include "core/names.h"
#include "passthrough/creds.h"

#include <fcntl.h>
#include <unistd.h>

struct LfsSeer {
  LfsCtx *c;
  fuse_req_t req;
  GHashTable *dirs; /* dir relpath -> GINT_TO_POINTER(1 sees, 2 not) */
};

LfsSeer *
lfs_seer_new(LfsCtx *c, fuse_req_t req)
{
  const struct fuse_ctx *fc = fuse_req_ctx(req);
  if (!c->root_daemon || fc->uid == 0)
    return NULL;
  LfsSeer *s = g_new0(LfsSeer, 1);
  s->c = c;
  s->req = req;
  s->dirs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  return s;
}

void
lfs_seer_free(LfsSeer *s)
{
  if (s == NULL)
    return;
  g_hash_table_unref(s->dirs);
  g_free(s);
}

gboolean
lfs_seer_sees_dir(LfsSeer *s, const char *dir)
{
  if (s == NULL)
    return TRUE;
  gpointer v = g_hash_table_lookup(s->dirs, dir);
  if (v != NULL)
    return GPOINTER_TO_INT(v) == 1;
  LfsCreds cr;
  gboolean ok = FALSE;
  if (lfs_creds_enter(s->req, &cr) == 0) {
    lfs_autofd fd = -1;
    ok = lfs_open_rel(&s->c->root, dir, O_PATH | O_DIRECTORY, &fd) == 0 &&
         faccessat(fd, "", R_OK | X_OK, AT_EMPTY_PATH | AT_EACCESS) == 0;
    lfs_creds_leave(&cr);
  }
  g_hash_table_insert(s->dirs, g_strdup(dir), GINT_TO_POINTER(ok ? 1 : 2));
  return ok;
}

gboolean
lfs_seer_sees(LfsSeer *s, const char *relpath)
{
  if (s == NULL)
    return TRUE;
  g_autofree char *dir = NULL, *name = NULL;
  if (!lfs_path_split(relpath, &dir, &name))
    return lfs_seer_sees_dir(s, "");
  return lfs_seer_sees_dir(s, dir);
}
