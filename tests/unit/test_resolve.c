/* Unit tests of the symlink resolver on real temporary trees. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fdutil.h"
#include "core/resolve.h"

typedef struct {
  char *top; /* the temporary directory */
  int top_fd;
} Tree;

static void
mk(const Tree *t, const char *rel)
{
  g_autofree char *p = g_build_filename(t->top, rel, NULL);
  g_assert_cmpint(g_mkdir_with_parents(p, 0755), ==, 0);
}

static void
touch(const Tree *t, const char *rel)
{
  g_autofree char *p = g_build_filename(t->top, rel, NULL);
  g_assert_true(g_file_set_contents(p, "x", 1, NULL));
}

static void
ln_s(const Tree *t, const char *target, const char *rel)
{
  g_autofree char *p = g_build_filename(t->top, rel, NULL);
  g_assert_cmpint(symlink(target, p), ==, 0);
}

static void
tree_setup(Tree *t, gconstpointer data)
{
  t->top = g_dir_make_tmp("lfs-resolve-XXXXXX", NULL);
  g_assert_nonnull(t->top);
  t->top_fd = open(t->top, O_PATH | O_DIRECTORY | O_CLOEXEC);
  g_assert_cmpint(t->top_fd, >=, 0);
  mk(t, "dir/sub");
  mk(t, "mp");
  mk(t, "under/inner");
  touch(t, "file");
  touch(t, "dir/sub/f");
  touch(t, "under/x");
}

static void
rm_rf(const char *path)
{
  g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", path);
  g_assert_cmpint(system(cmd), ==, 0);
}

static void
tree_teardown(Tree *t, gconstpointer data)
{
  close(t->top_fd);
  rm_rf(t->top);
  g_free(t->top);
}

/* Resolve @target as if it were a symlink in @dir. */
static int
res(const Tree *t, const char *dir, const char *target)
{
  return lfs_resolve_symlink(t->top_fd, dir, target, NULL);
}

static void
test_relative(Tree *t, gconstpointer data)
{
  g_assert_cmpint(res(t, "", "file"), ==, 0);
  g_assert_cmpint(res(t, "", "dir"), ==, 0);
  g_assert_cmpint(res(t, "", "dir/sub/f"), ==, 0);
  g_assert_cmpint(res(t, "", "nope"), ==, ENOENT);
  g_assert_cmpint(res(t, "", "nope/x"), ==, ENOENT);
  g_assert_cmpint(res(t, "", "file/x"), ==, ENOTDIR);
  g_assert_cmpint(res(t, "", "file/"), ==, ENOTDIR);
  g_assert_cmpint(res(t, "", "file/."), ==, ENOTDIR);
  g_assert_cmpint(res(t, "", "dir/"), ==, 0);
  g_assert_cmpint(res(t, "", "./dir//sub/./f"), ==, 0);
  g_assert_cmpint(res(t, "", ""), ==, ENOENT);
  g_assert_cmpint(res(t, "dir/sub", "f"), ==, 0);
  g_assert_cmpint(res(t, "dir/sub", "../../file"), ==, 0);
  g_assert_cmpint(res(t, "dir/sub", "../sub/../../nope"), ==, ENOENT);
  g_assert_cmpint(res(t, "gone", "file"), ==, ENOENT);
  g_autofree char *longname = g_strnfill(300, 'l');
  g_assert_cmpint(res(t, "", longname), ==, ENAMETOOLONG);
}

static void
test_absolute(Tree *t, gconstpointer data)
{
  g_autofree char *abs = g_build_filename(t->top, "dir/sub/f", NULL);
  g_autofree char *absmissing = g_build_filename(t->top, "dir/none", NULL);
  g_assert_cmpint(res(t, "dir", abs), ==, 0);
  g_assert_cmpint(res(t, "dir", absmissing), ==, ENOENT);
  g_assert_cmpint(res(t, "", "/"), ==, 0);
  g_assert_cmpint(res(t, "", "/.."), ==, 0);
  g_assert_cmpint(res(t, "", "/../../.."), ==, 0);
}

static void
test_chains(Tree *t, gconstpointer data)
{
  ln_s(t, "file", "l1");
  ln_s(t, "l1", "l2");
  ln_s(t, "dir", "ldir");
  ln_s(t, "sub", "dir/lsub");
  ln_s(t, "missing", "lmiss");
  ln_s(t, "file/x", "lnotdir");
  g_assert_cmpint(res(t, "", "l2"), ==, 0);
  g_assert_cmpint(res(t, "", "ldir/lsub/f"), ==, 0);
  g_assert_cmpint(res(t, "", "ldir/lsub/"), ==, 0);
  g_assert_cmpint(res(t, "", "lmiss"), ==, ENOENT);
  g_assert_cmpint(res(t, "", "lnotdir"), ==, ENOTDIR);
  g_assert_cmpint(res(t, "", "l1/"), ==, ENOTDIR);
  /* ".." after a directory symlink is the physical parent. */
  g_assert_cmpint(res(t, "", "ldir/lsub/../../file"), ==, 0);
  g_assert_cmpint(res(t, "dir", "lsub/../sub/f"), ==, 0);
  ln_s(t, "../../dir/sub", "under/inner/back");
  g_assert_cmpint(res(t, "", "under/inner/back/../../file"), ==, 0);
  g_assert_cmpint(res(t, "", "under/inner/back/../../inner"), ==, ENOENT);
}

static void
test_loops(Tree *t, gconstpointer data)
{
  ln_s(t, "loop2", "loop1");
  ln_s(t, "loop1", "loop2");
  ln_s(t, "self", "self");
  ln_s(t, ".", "dot");
  g_assert_cmpint(res(t, "", "loop1"), ==, ELOOP);
  g_assert_cmpint(res(t, "", "self"), ==, ELOOP);
  g_assert_cmpint(res(t, "", "dot/dot/dot/file"), ==, 0);

  /* 40 hops resolve, 41 do not: as the kernel. */
  for (int i = 1; i <= 41; i++) {
    g_autofree char *name = g_strdup_printf("c%d", i);
    g_autofree char *target = i == 1 ? g_strdup("file") : g_strdup_printf("c%d", i - 1);
    ln_s(t, target, name);
  }
  g_assert_cmpint(res(t, "", "c40"), ==, 0);
  g_assert_cmpint(res(t, "", "c41"), ==, ELOOP);
  g_autofree char *p40 = g_build_filename(t->top, "c40", NULL);
  g_autofree char *p41 = g_build_filename(t->top, "c41", NULL);
  struct stat st;
  g_assert_cmpint(stat(p40, &st), ==, 0);
  g_assert_cmpint(stat(p41, &st), ==, -1);
  g_assert_cmpint(errno, ==, ELOOP);

  g_assert_true(lfs_resolve_is_dangling(ELOOP));
  g_assert_true(lfs_resolve_is_dangling(ENOENT));
  g_assert_true(lfs_resolve_is_dangling(ENOTDIR));
  g_assert_false(lfs_resolve_is_dangling(0));
  g_assert_false(lfs_resolve_is_dangling(EACCES));
  g_assert_false(lfs_resolve_is_dangling(ENAMETOOLONG));
}

/* SOURCE = top/dir: ".." of SOURCE is its real parent. */
static void
test_above_source(Tree *t, gconstpointer data)
{
  g_autofree char *src = g_build_filename(t->top, "dir", NULL);
  lfs_autofd src_fd = open(src, O_PATH | O_DIRECTORY | O_CLOEXEC);
  g_assert_cmpint(src_fd, >=, 0);
  struct lfs_resolve_guard guard = {.source_path = src, .mp_fd = -1};
  g_assert_cmpint(lfs_resolve_symlink(src_fd, "", "../file", &guard), ==, 0);
  g_assert_cmpint(lfs_resolve_symlink(src_fd, "sub", "../../file", &guard), ==, 0);
  g_assert_cmpint(lfs_resolve_symlink(src_fd, "", "../nope", &guard), ==, ENOENT);
  g_assert_cmpint(lfs_resolve_symlink(src_fd, "", "../dir/sub/f", &guard), ==, 0);
  /* Without source_path: the kernel's "..". */
  g_assert_cmpint(lfs_resolve_symlink(src_fd, "", "../file", NULL), ==, 0);
  g_assert_cmpint(lfs_resolve_symlink(src_fd, "", "../../../../../../..", NULL), ==, 0);
}

/* The guard: "mp" stands for the mountpoint, "under" for the directory
 * under the mount; a walk through "mp" must use the guard's descriptor. */
static void
test_guard(Tree *t, gconstpointer data)
{
  struct stat st;
  g_assert_cmpint(fstat(t->top_fd, &st), ==, 0);
  g_autofree char *under = g_build_filename(t->top, "under", NULL);
  lfs_autofd under_fd = open(under, O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct lfs_resolve_guard guard = {
      .source_path = t->top,
      .mp_parent_dev = st.st_dev,
      .mp_parent_ino = st.st_ino,
      .mp_name = "mp",
      .mp_fd = under_fd,
  };
  g_assert_cmpint(res(t, "", "mp/x"), ==, ENOENT);
  g_assert_cmpint(lfs_resolve_symlink(t->top_fd, "", "mp/x", &guard), ==, 0);
  g_assert_cmpint(lfs_resolve_symlink(t->top_fd, "", "mp/inner/../x", &guard), ==, 0);
  g_assert_cmpint(lfs_resolve_symlink(t->top_fd, "", "mp/../file", &guard), ==, 0);
  g_assert_cmpint(lfs_resolve_symlink(t->top_fd, "", "mp", &guard), ==, 0);
  g_assert_cmpint(lfs_resolve_symlink(t->top_fd, "", "mp/nope", &guard), ==, ENOENT);
  /* The link's own directory below the mountpoint. */
  g_assert_cmpint(lfs_resolve_symlink(t->top_fd, "mp/inner", "../x", &guard), ==, 0);
  /* Through a symlink. */
  ln_s(t, "mp", "tomp");
  g_assert_cmpint(lfs_resolve_symlink(t->top_fd, "", "tomp/x", &guard), ==, 0);
  g_assert_cmpint(res(t, "", "tomp/x"), ==, ENOENT);
  /* By the mountpoint's own path (absolute, or ".." above SOURCE walking
   * down from "/"), the mountpoint is the view: SOURCE again. */
  g_autofree char *abs = g_build_filename(t->top, "mp", "x", NULL);
  g_autofree char *absfile = g_build_filename(t->top, "mp", "file", NULL);
  g_assert_cmpint(lfs_resolve_symlink(t->top_fd, "dir", abs, &guard), ==, ENOENT);
  g_assert_cmpint(lfs_resolve_symlink(t->top_fd, "dir", absfile, &guard), ==, 0);
  g_autofree char *base = g_path_get_basename(t->top);
  g_autofree char *up = g_strdup_printf("../%s/mp/x", base);
  g_autofree char *upfile = g_strdup_printf("../%s/mp/mp/x", base);
  g_assert_cmpint(lfs_resolve_symlink(t->top_fd, "", up, &guard), ==, ENOENT);
  g_assert_cmpint(lfs_resolve_symlink(t->top_fd, "", upfile, &guard), ==, 0);
}

/* Resolve fully; returns the error, *path the end ("-" for NULL) and *via
 * the links followed, joined by " ". */
static int
full(int root_fd, const char *dir, const char *target,
     const struct lfs_resolve_guard *guard, char **path, char **via)
{
  LfsResolution r;
  int err = lfs_resolve_symlink_full(root_fd, dir, target, guard, &r);
  g_assert_cmpint(err, ==, r.err);
  g_assert_cmpint(err, ==, lfs_resolve_symlink(root_fd, dir, target, guard));
  *path = g_strdup(r.path != NULL ? r.path : "-");
  g_ptr_array_add(r.via, NULL);
  *via = g_strjoinv(" ", (char **)r.via->pdata);
  g_ptr_array_set_size(r.via, r.via->len - 1);
  lfs_resolution_clear(&r);
  return err;
}

#define FULL(fd, dir, target, guard, err, epath, evia)                                   \
  do {                                                                                   \
    g_autofree char *p_ = NULL, *v_ = NULL;                                              \
    g_assert_cmpint(full(fd, dir, target, guard, &p_, &v_), ==, err);                    \
    g_assert_cmpstr(p_, ==, epath);                                                      \
    g_assert_cmpstr(v_, ==, evia);                                                       \
  } while (0)

/* Where a walk ends in the view and the links it follows on the way. */
static void
test_full(Tree *t, gconstpointer data)
{
  ln_s(t, "file", "l1");
  ln_s(t, "l1", "l2");
  ln_s(t, "dir", "ldir");
  ln_s(t, "sub", "dir/lsub");
  ln_s(t, "../l1", "dir/up");
  ln_s(t, "../l2", "dir/upl");
  ln_s(t, "missing", "lmiss");
  int fd = t->top_fd;
  FULL(fd, "", "file", NULL, 0, "file", "");
  FULL(fd, "", "l1", NULL, 0, "file", "l1");
  FULL(fd, "", "l2", NULL, 0, "file", "l2 l1");
  FULL(fd, "", "ldir/lsub/f", NULL, 0, "dir/sub/f", "ldir dir/lsub");
  FULL(fd, "", "ldir/lsub/../../file", NULL, 0, "file", "ldir dir/lsub");
  FULL(fd, "dir", "upl", NULL, 0, "file", "dir/upl l2 l1");
  FULL(fd, "", "dir/", NULL, 0, "dir", "");
  FULL(fd, "", "dir/sub/..", NULL, 0, "dir", "");
  FULL(fd, "dir/sub", "..", NULL, 0, "dir", "");
  FULL(fd, "", ".", NULL, 0, "", "");
  FULL(fd, "", "ldir", NULL, 0, "dir", "ldir");
  FULL(fd, "", "nope", NULL, ENOENT, "-", "");
  FULL(fd, "", "lmiss", NULL, ENOENT, "-", "");
  FULL(fd, "", "l1/", NULL, ENOTDIR, "-", "");
  g_autofree char *abs = g_build_filename(t->top, "ldir", "sub", "f", NULL);
  FULL(fd, "dir", abs, NULL, 0, "dir/sub/f", "ldir");
  FULL(fd, "dir", "/", NULL, 0, "-", "");

  /* SOURCE = top/dir: what lies above it is outside the view, and SOURCE
   * reached again by its own path is in it. */
  g_autofree char *src = g_build_filename(t->top, "dir", NULL);
  lfs_autofd src_fd = open(src, O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct lfs_resolve_guard guard = {.source_path = src, .mp_fd = -1};
  FULL(src_fd, "", "../file", &guard, 0, "-", "");
  FULL(src_fd, "", "up", &guard, 0, "-", "");
  FULL(src_fd, "", "../dir/sub/f", &guard, 0, "sub/f", "");
  FULL(src_fd, "", "../ldir/lsub/f", &guard, 0, "sub/f", "lsub");
  FULL(src_fd, "sub", "../../dir/lsub", &guard, 0, "sub", "lsub");
  g_autofree char *abs_in = g_build_filename(src, "sub", "f", NULL);
  FULL(src_fd, "", abs_in, &guard, 0, "sub/f", "");
  FULL(src_fd, "", "../l2", NULL, 0, "-", "");

  /* MOUNTPOINT = top/mp, outside SOURCE: a path through it is a path of
   * the view, that is of SOURCE; its ".." is top again. */
  struct stat st;
  g_assert_cmpint(fstat(t->top_fd, &st), ==, 0);
  g_autofree char *under = g_build_filename(t->top, "under", NULL);
  lfs_autofd under_fd = open(under, O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct lfs_resolve_guard mp = {.source_path = src,
                                 .mp_parent_dev = st.st_dev,
                                 .mp_parent_ino = st.st_ino,
                                 .mp_name = "mp",
                                 .mp_fd = under_fd};
  g_autofree char *via_mp = g_build_filename(t->top, "mp", "sub", "f", NULL);
  g_autofree char *via_mp_up = g_build_filename(t->top, "mp", "..", "file", NULL);
  g_autofree char *via_mp_x = g_build_filename(t->top, "mp", "x", NULL);
  FULL(src_fd, "", via_mp, &mp, 0, "sub/f", "");
  FULL(src_fd, "", via_mp_up, &mp, 0, "-", "");
  FULL(src_fd, "", via_mp_x, &mp, ENOENT, "-", "");
  FULL(src_fd, "sub", "../../mp/lsub/f", &mp, 0, "sub/f", "lsub");
  FULL(src_fd, "sub", "../../mp", &mp, 0, "", "");

  /* MOUNTPOINT = top/mp inside SOURCE = top: from a link's place, mp is
   * the directory under the mount, as the view shows it. */
  struct lfs_resolve_guard in = mp;
  in.source_path = t->top;
  FULL(fd, "", "mp/x", &in, 0, "mp/x", "");
  FULL(fd, "", "mp", &in, 0, "mp", "");
  FULL(fd, "mp/inner", "../x", &in, 0, "mp/x", "");
  FULL(fd, "", via_mp_x, &in, ENOENT, "-", "");
  g_autofree char *via_mp_file = g_build_filename(t->top, "mp", "file", NULL);
  FULL(fd, "", via_mp_file, &in, 0, "file", "");
  g_autofree char *via_mp_mp = g_build_filename(t->top, "mp", "mp", "x", NULL);
  FULL(fd, "", via_mp_mp, &in, 0, "mp/x", "");
}

/* Resolve as an unprivileged user. Root is never denied, so as root (CI
 * runs as root) a child drops to nobody before resolving and exits with the
 * result; 255 means it could not drop. */
static int
res_unprivileged(const Tree *t, const char *dir, const char *target)
{
  if (geteuid() != 0)
    return res(t, dir, target);
  pid_t pid = fork();
  g_assert_cmpint(pid, >=, 0);
  if (pid == 0) {
    const uid_t nobody = 65534;
    if (setgroups(0, NULL) != 0 || setresgid(nobody, nobody, nobody) != 0 ||
        setresuid(nobody, nobody, nobody) != 0)
      _exit(255);
    _exit(res(t, dir, target));
  }
  int status = 0;
  g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
  g_assert_true(WIFEXITED(status));
  g_assert_cmpint(WEXITSTATUS(status), !=, 255);
  return WEXITSTATUS(status);
}

static void
test_eacces(Tree *t, gconstpointer data)
{
  g_assert_cmpint(chmod(t->top, 0755), ==, 0); /* nobody may search it */
  mk(t, "open");
  touch(t, "open/in");
  mk(t, "closed");
  touch(t, "closed/in");
  g_autofree char *closed = g_build_filename(t->top, "closed", NULL);
  g_assert_cmpint(chmod(closed, 0), ==, 0);
  int open_r = res_unprivileged(t, "", "open/in");
  int r = res_unprivileged(t, "", "closed/in");
  g_assert_cmpint(chmod(closed, 0755), ==, 0);
  g_assert_cmpint(open_r, ==, 0);
  g_assert_cmpint(r, ==, EACCES);
  g_assert_false(lfs_resolve_is_dangling(r));
}

#define ADD(path, fn) g_test_add(path, Tree, NULL, tree_setup, fn, tree_teardown)

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  ADD("/resolve/relative", test_relative);
  ADD("/resolve/absolute", test_absolute);
  ADD("/resolve/chains", test_chains);
  ADD("/resolve/loops", test_loops);
  ADD("/resolve/above-source", test_above_source);
  ADD("/resolve/guard", test_guard);
  ADD("/resolve/full", test_full);
  ADD("/resolve/eacces", test_eacces);
  return g_test_run();
}
