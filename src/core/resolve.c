/* resolve.c: step-by-step symlink resolution relative to directory
 * descriptors, guarded against the view's own mountpoint.  See resolve.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdutil.h"
#include "names.h"
#include "resolve.h"

/* A directory on the walked chain. */
typedef struct {
  int fd;
  dev_t dev;
  ino_t ino;
  char *rel;     /* its path in the view (relative to SOURCE), or NULL: outside */
  gboolean view; /* reached inside the view (from the link's place, or through
                    the mountpoint), not by SOURCE's own path */
} ChainDir;

typedef enum {
  BOTTOM_FSROOT, /* chain[0] is "/" */
  BOTTOM_SOURCE, /* chain[0] is SOURCE */
  BOTTOM_OTHER,  /* chain[0] came from the kernel's ".." */
} Bottom;

typedef struct {
  GArray *chain; /* ChainDir; the last one is the current directory */
  Bottom bottom;
  GPtrArray *todo; /* components still to walk; the last one is next */
  int hops;
  const struct lfs_resolve_guard *guard;
  int root_fd;        /* SOURCE */
  dev_t source_dev;   /* and its identity: a directory reached by SOURCE's */
  ino_t source_ino;   /* own path is in the view */
  LfsResolution *out; /* where the links followed and the end go, or NULL */
  char *last;         /* the last component walked, when it named an entry */
} Walk;

/* Returned by a step that did not finish the walk. */
#define STEP_CONTINUE (-1)

static void
chain_dir_clear(ChainDir *d)
{
  (void)close(d->fd);
  g_free(d->rel);
}

static void
walk_clear_chain(Walk *w)
{
  for (guint i = 0; i < w->chain->len; i++)
    chain_dir_clear(&g_array_index(w->chain, ChainDir, i));
  g_array_set_size(w->chain, 0);
}

static void
walk_pop(Walk *w)
{
  chain_dir_clear(&g_array_index(w->chain, ChainDir, w->chain->len - 1));
  g_array_set_size(w->chain, w->chain->len - 1);
}

static void
walk_init(Walk *w, int root_fd, const struct lfs_resolve_guard *guard, LfsResolution *out)
{
  *w = (Walk){.chain = g_array_new(FALSE, FALSE, sizeof(ChainDir)),
              .bottom = BOTTOM_FSROOT,
              .todo = g_ptr_array_new_with_free_func(g_free),
              .guard = guard,
              .root_fd = root_fd,
              .out = out};
  struct stat st;
  if (out != NULL && fstat(root_fd, &st) == 0) {
    w->source_dev = st.st_dev;
    w->source_ino = st.st_ino;
  }
}

static void
walk_destroy(Walk *w)
{
  walk_clear_chain(w);
  g_array_unref(w->chain);
  g_ptr_array_unref(w->todo);
  g_free(w->last);
}

static ChainDir *
walk_top(Walk *w)
{
  return &g_array_index(w->chain, ChainDir, w->chain->len - 1);
}

/* Push @fd (taken over) on the chain: the directory @name of the current
 * one (NULL: a new bottom), in the view if @view (see ChainDir). */
static int
walk_push_fd(Walk *w, int fd, const char *name, gboolean view)
{
  lfs_autofd owned = fd;
  struct stat st;
  if (fstat(owned, &st) < 0)
    return errno;
  ChainDir d = {.fd = g_steal_fd(&owned), .dev = st.st_dev, .ino = st.st_ino};
  const ChainDir *up = w->chain->len > 0 && name != NULL ? walk_top(w) : NULL;
  if (w->out != NULL && view && name == NULL)
    d.rel = g_strdup(""); /* SOURCE, in the view */
  else if (w->out != NULL && st.st_dev == w->source_dev && st.st_ino == w->source_ino)
    d.rel = g_strdup(""); /* SOURCE by its own path */
  else if (w->out != NULL && up != NULL && up->rel != NULL)
    d.rel = lfs_path_join(up->rel, name);
  d.view = view;
  g_array_append_val(w->chain, d);
  return 0;
}

static int
walk_reset_fsroot(Walk *w)
{
  walk_clear_chain(w);
  w->bottom = BOTTOM_FSROOT;
  int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno;
  return walk_push_fd(w, fd, NULL, FALSE);
}

static int
walk_reset_source(Walk *w)
{
  walk_clear_chain(w);
  w->bottom = BOTTOM_SOURCE;
  int fd = fcntl(w->root_fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0)
    return errno;
  return walk_push_fd(w, fd, NULL, TRUE);
}

/* Queue the components of @path so that its first one is walked next.
 * Empty components are kept: a trailing one means "must be a directory". */
static void
walk_push_path(Walk *w, const char *path)
{
  g_auto(GStrv) parts = g_strsplit(path, "/", -1);
  guint n = g_strv_length(parts);
  for (guint i = n; i > 0; i--)
    g_ptr_array_add(w->todo, g_strdup(parts[i - 1]));
}

static gboolean
is_mountpoint_step(Walk *w, const char *name)
{
  const struct lfs_resolve_guard *g = w->guard;
  if (g == NULL || g->mp_fd < 0 || g->mp_name == NULL)
    return FALSE;
  ChainDir *top = walk_top(w);
  return top->dev == g->mp_parent_dev && top->ino == g->mp_parent_ino &&
         strcmp(name, g->mp_name) == 0;
}

/* The mountpoint, as a user of the view meets it: inside the view (a
 * MOUNTPOINT inside SOURCE, walked from a link's place) the view shows the
 * directory under the mount there; from outside (an absolute target, or
 * SOURCE's own path) the view itself, that is SOURCE, whose ".." is the
 * mountpoint's parent. Either way, never our own mount. */
static int
walk_enter_mountpoint(Walk *w)
{
  if (walk_top(w)->view) {
    int fd = fcntl(w->guard->mp_fd, F_DUPFD_CLOEXEC, 0);
    return fd < 0 ? errno : walk_push_fd(w, fd, w->guard->mp_name, TRUE);
  }
  int fd = fcntl(w->root_fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0)
    return errno;
  return walk_push_fd(w, fd, NULL, TRUE);
}

/* Open the directory @name under the current one and make it current. */
static int
walk_enter(Walk *w, const char *name)
{
  if (is_mountpoint_step(w, name))
    return walk_enter_mountpoint(w);
  int fd = openat(walk_top(w)->fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return errno;
  return walk_push_fd(w, fd, name, walk_top(w)->view);
}

static int
walk_dotdot(Walk *w)
{
  if (w->chain->len > 1) {
    walk_pop(w);
    return STEP_CONTINUE;
  }
  if (w->bottom == BOTTOM_FSROOT)
    return STEP_CONTINUE;
  if (w->bottom == BOTTOM_SOURCE && w->guard && w->guard->source_path &&
      w->guard->source_path[0] == '/') {
    /* Walk down to SOURCE from "/", then up once. */
    g_ptr_array_add(w->todo, g_strdup(".."));
    walk_push_path(w, w->guard->source_path + 1);
    int r = walk_reset_fsroot(w);
    return r ? r : STEP_CONTINUE;
  }
  int fd = openat(walk_top(w)->fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno;
  walk_clear_chain(w);
  w->bottom = BOTTOM_OTHER;
  int r = walk_push_fd(w, fd, NULL, FALSE);
  return r ? r : STEP_CONTINUE;
}

static int
walk_follow(Walk *w, const char *name)
{
  if (++w->hops > LFS_RESOLVE_MAX_SYMLINKS)
    return ELOOP;
  const char *rel = walk_top(w)->rel;
  if (w->out != NULL && rel != NULL)
    g_ptr_array_add(w->out->via, lfs_path_join(rel, name));

  char buf[PATH_MAX + 1];
  ssize_t n = readlinkat(walk_top(w)->fd, name, buf, sizeof buf);
  if (n < 0)
    return errno;
  if (n == 0)
    return ENOENT;
  if ((size_t)n >= sizeof buf)
    return ENAMETOOLONG;
  buf[n] = '\0';

  if (buf[0] == '/') {
    int r = walk_reset_fsroot(w);
    if (r)
      return r;
  }
  walk_push_path(w, buf[0] == '/' ? buf + 1 : buf);
  return STEP_CONTINUE;
}

/* Make the directory @name current and go on. */
static int
walk_enter_continue(Walk *w, const char *name)
{
  int r = walk_enter(w, name);
  return r ? r : STEP_CONTINUE;
}

/* The walk ends at the entry @name of the current directory. */
static int
walk_end_at(Walk *w, const char *name)
{
  g_free(w->last);
  w->last = g_strdup(name);
  return 0;
}

/* Walk the component @name; @last: no component follows it. */
static int
walk_step(Walk *w, const char *name, gboolean last)
{
  if (*name == '\0' || strcmp(name, ".") == 0)
    return STEP_CONTINUE;
  if (strcmp(name, "..") == 0)
    return walk_dotdot(w);

  /* The end is the mountpoint's directory: entered, to know which. */
  if (is_mountpoint_step(w, name))
    return walk_enter_continue(w, name);

  struct stat st;
  if (fstatat(walk_top(w)->fd, name, &st, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) < 0)
    return errno;
  if (S_ISLNK(st.st_mode))
    return walk_follow(w, name);
  if (S_ISDIR(st.st_mode))
    return last ? walk_end_at(w, name) : walk_enter_continue(w, name);
  return last ? walk_end_at(w, name) : ENOTDIR;
}

static int
walk_run(Walk *w)
{
  while (w->todo->len > 0) {
    g_autofree char *name = g_ptr_array_steal_index(w->todo, w->todo->len - 1);
    g_clear_pointer(&w->last, g_free);
    int r = walk_step(w, name, w->todo->len == 0);
    if (r != STEP_CONTINUE)
      return r;
  }
  return 0;
}

/* Make the link's directory current: real directories only, no symlinks. */
static int
walk_descend(Walk *w, const char *dir_rel)
{
  g_auto(GStrv) parts = g_strsplit(dir_rel ? dir_rel : "", "/", -1);
  for (guint i = 0; parts[i] != NULL; i++) {
    if (*parts[i] == '\0' || strcmp(parts[i], ".") == 0)
      continue;
    if (strcmp(parts[i], "..") == 0)
      return EINVAL;
    int r = walk_enter(w, parts[i]);
    if (r)
      return r;
  }
  return 0;
}

/* Where a finished walk ended, in the view: the entry last named in the
 * current directory, or the current directory itself. */
static char *
walk_end_path(Walk *w)
{
  const char *rel = walk_top(w)->rel;
  if (rel == NULL)
    return NULL;
  return w->last != NULL ? lfs_path_join(rel, w->last) : g_strdup(rel);
}

static int
resolve(int root_fd, const char *link_dir_rel, const char *target,
        const struct lfs_resolve_guard *guard, LfsResolution *out)
{
  if (target == NULL || *target == '\0')
    return ENOENT;

  Walk w;
  walk_init(&w, root_fd, guard, out);
  int r;
  if (target[0] == '/') {
    r = walk_reset_fsroot(&w);
  } else {
    r = walk_reset_source(&w);
    if (r == 0)
      r = walk_descend(&w, link_dir_rel);
  }
  if (r == 0) {
    walk_push_path(&w, target[0] == '/' ? target + 1 : target);
    r = walk_run(&w);
  }
  if (r == 0 && out != NULL)
    out->path = walk_end_path(&w);
  walk_destroy(&w);
  return r;
}

int
lfs_resolve_symlink(int root_fd, const char *link_dir_rel, const char *target,
                    const struct lfs_resolve_guard *guard)
{
  return resolve(root_fd, link_dir_rel, target, guard, NULL);
}

void
lfs_resolution_clear(LfsResolution *r)
{
  g_clear_pointer(&r->path, g_free);
  g_clear_pointer(&r->via, g_ptr_array_unref);
  r->err = 0;
}

int
lfs_resolve_symlink_full(int root_fd, const char *link_dir_rel, const char *target,
                         const struct lfs_resolve_guard *guard, LfsResolution *out)
{
  *out = (LfsResolution){.via = g_ptr_array_new_with_free_func(g_free)};
  out->err = resolve(root_fd, link_dir_rel, target, guard, out);
  if (out->err != 0 || out->path == NULL) { /* dangles, or leaves the view */
    g_clear_pointer(&out->path, g_free);
    g_ptr_array_set_size(out->via, 0);
  }
  return out->err;
}

gboolean
lfs_resolve_is_dangling(int err)
{
  return err == ENOENT || err == ENOTDIR || err == ELOOP;
}
