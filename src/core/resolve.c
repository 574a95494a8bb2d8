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
#include "resolve.h"

/* A directory on the walked chain. */
typedef struct {
  int fd;
  dev_t dev;
  ino_t ino;
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
} Walk;

/* Returned by a step that did not finish the walk. */
#define STEP_CONTINUE (-1)

static void
walk_clear_chain(Walk *w)
{
  for (guint i = 0; i < w->chain->len; i++)
    (void)close(g_array_index(w->chain, ChainDir, i).fd);
  g_array_set_size(w->chain, 0);
}

static void
walk_init(Walk *w, const struct lfs_resolve_guard *guard)
{
  w->chain = g_array_new(FALSE, FALSE, sizeof(ChainDir));
  w->bottom = BOTTOM_FSROOT;
  w->todo = g_ptr_array_new_with_free_func(g_free);
  w->hops = 0;
  w->guard = guard;
}

static void
walk_destroy(Walk *w)
{
  walk_clear_chain(w);
  g_array_unref(w->chain);
  g_ptr_array_unref(w->todo);
}

static ChainDir *
walk_top(Walk *w)
{
  return &g_array_index(w->chain, ChainDir, w->chain->len - 1);
}

/* Push @fd (taken over) on the chain. */
static int
walk_push_fd(Walk *w, int fd)
{
  lfs_autofd owned = fd;
  struct stat st;
  if (fstat(owned, &st) < 0)
    return errno;
  ChainDir d = {.fd = g_steal_fd(&owned), .dev = st.st_dev, .ino = st.st_ino};
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
  return walk_push_fd(w, fd);
}

static int
walk_reset_source(Walk *w, int root_fd)
{
  walk_clear_chain(w);
  w->bottom = BOTTOM_SOURCE;
  int fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0)
    return errno;
  return walk_push_fd(w, fd);
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

/* Open the directory @name under the current one and make it current. */
static int
walk_enter(Walk *w, const char *name)
{
  int fd;
  if (is_mountpoint_step(w, name))
    fd = fcntl(w->guard->mp_fd, F_DUPFD_CLOEXEC, 0);
  else
    fd = openat(walk_top(w)->fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return errno;
  return walk_push_fd(w, fd);
}

static int
walk_dotdot(Walk *w)
{
  if (w->chain->len > 1) {
    (void)close(walk_top(w)->fd);
    g_array_set_size(w->chain, w->chain->len - 1);
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
  int r = walk_push_fd(w, fd);
  return r ? r : STEP_CONTINUE;
}

static int
walk_follow(Walk *w, const char *name)
{
  if (++w->hops > LFS_RESOLVE_MAX_SYMLINKS)
    return ELOOP;

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

/* Walk the component @name; @last: no component follows it. */
static int
walk_step(Walk *w, const char *name, gboolean last)
{
  if (*name == '\0' || strcmp(name, ".") == 0)
    return STEP_CONTINUE;
  if (strcmp(name, "..") == 0)
    return walk_dotdot(w);

  if (is_mountpoint_step(w, name))
    return last ? 0 : walk_enter_continue(w, name);

  struct stat st;
  if (fstatat(walk_top(w)->fd, name, &st, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) < 0)
    return errno;
  if (S_ISLNK(st.st_mode))
    return walk_follow(w, name);
  if (S_ISDIR(st.st_mode))
    return last ? 0 : walk_enter_continue(w, name);
  return last ? 0 : ENOTDIR;
}

static int
walk_run(Walk *w)
{
  while (w->todo->len > 0) {
    g_autofree char *name = g_ptr_array_steal_index(w->todo, w->todo->len - 1);
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

int
lfs_resolve_symlink(int root_fd, const char *link_dir_rel, const char *target,
                    const struct lfs_resolve_guard *guard)
{
  if (target == NULL || *target == '\0')
    return ENOENT;

  Walk w;
  walk_init(&w, guard);
  int r;
  if (target[0] == '/') {
    r = walk_reset_fsroot(&w);
  } else {
    r = walk_reset_source(&w, root_fd);
    if (r == 0)
      r = walk_descend(&w, link_dir_rel);
  }
  if (r == 0) {
    walk_push_path(&w, target[0] == '/' ? target + 1 : target);
    r = walk_run(&w);
  }
  walk_destroy(&w);
  return r;
}

gboolean
lfs_resolve_is_dangling(int err)
{
  return err == ENOENT || err == ENOTDIR || err == ELOOP;
}
