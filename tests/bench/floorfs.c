/* floorfs: the fastest FUSE daemon this machine can run for a given tree,
 * to measure what any FUSE filesystem at least costs for a workload.
 *
 *   floorfs [--sleep] SNAPSHOT MOUNTPOINT
 *
 * At start it walks SNAPSHOT (a real directory, or a linkfs view with its
 * .links directories) and keeps every name, stat and symlink target in
 * memory. Then it mounts MOUNTPOINT read-only and serves that copy: no
 * system call per request beyond reading it and writing the reply, entry
 * and attribute timeouts of a day (the copy never changes), readdirplus,
 * every extended attribute answered ENODATA from memory. One thread reads
 * the device without ever sleeping (O_NONBLOCK, polling in a loop), which
 * removes the daemon's wake-up from each round trip; --sleep makes it
 * block in read(2) instead, as libfuse's loop does.
 *
 * tools/bench mounts it as the peer `floor`: a workload's ratio to native
 * access through floorfs is the least any FUSE daemon could reach with the
 * same tree on the same machine. It is a measuring instrument, not part of
 * linkfs, and is not installed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define TIMEOUT (24.0 * 3600.0)

typedef struct {
  char *name;
  guint32 parent;
  guint32 first; /* first child, children are contiguous */
  guint32 nchild;
  struct stat st;
  char *target; /* symlinks */
} Node;

typedef struct {
  GArray *nodes;       /* of Node, index = nodeid - 1 */
  GHashTable *by_name; /* "PARENT/NAME" -> nodeid */
  gboolean no_opendir; /* the kernel can do without OPENDIR */
} Floor;

static char *
key_of(guint32 parent, const char *name)
{
  return g_strdup_printf("%u/%s", parent, name);
}

static Node *
node_at(Floor *f, fuse_ino_t ino)
{
  if (ino == 0 || ino > f->nodes->len)
    return NULL;
  return &g_array_index(f->nodes, Node, ino - 1);
}

static int
cmp_names(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the children of directory `id`, read through `dfd`, in name
 * order; a breadth-first walk keeps each directory's children together. */
static void
read_children(Floor *f, guint32 id, int dfd)
{
  DIR *d = fdopendir(dfd);
  if (d == NULL) {
    close(dfd);
    return;
  }
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
      g_ptr_array_add(names, g_strdup(de->d_name));
  }
  if (names->len > 1)
    qsort(names->pdata, names->len, sizeof(char *), cmp_names);
  g_array_index(f->nodes, Node, id - 1).first = f->nodes->len + 1;
  g_array_index(f->nodes, Node, id - 1).nchild = names->len;
  for (guint k = 0; k < names->len; k++) {
    Node n = {.name = g_strdup(names->pdata[k]), .parent = id};
    if (fstatat(dirfd(d), n.name, &n.st, AT_SYMLINK_NOFOLLOW) != 0) {
      /* Gone meanwhile: keep the slot, as a file of nothing. */
      n.st.st_mode = S_IFREG | 0444;
    }
    if (S_ISLNK(n.st.st_mode)) {
      char buf[PATH_MAX];
      ssize_t len = readlinkat(dirfd(d), n.name, buf, sizeof buf - 1);
      n.target = g_strndup(buf, len > 0 ? (gsize)len : 0);
    }
    g_array_append_val(f->nodes, n);
    g_hash_table_insert(f->by_name, key_of(id, n.name), GUINT_TO_POINTER(f->nodes->len));
  }
  closedir(d);
}

static void
load(Floor *f, const char *root)
{
  Node r = {.name = g_strdup(""), .parent = 1};
  if (stat(root, &r.st) != 0 || !S_ISDIR(r.st.st_mode)) {
    fprintf(stderr, "floorfs: %s: not a directory\n", root);
    exit(1);
  }
  g_array_append_val(f->nodes, r);
  int rootfd = open(root, O_RDONLY | O_DIRECTORY);
  if (rootfd < 0) {
    perror(root);
    exit(1);
  }
  /* nodes grows while we walk it: index, not pointer. */
  for (guint32 id = 1; id <= f->nodes->len; id++) {
    Node *n = &g_array_index(f->nodes, Node, id - 1);
    if (!S_ISDIR(n->st.st_mode))
      continue;
    g_autofree char *rel = NULL;
    for (guint32 p = id; p != 1; p = g_array_index(f->nodes, Node, p - 1).parent) {
      const char *name = g_array_index(f->nodes, Node, p - 1).name;
      char *next = rel ? g_strconcat(name, "/", rel, NULL) : g_strdup(name);
      g_free(rel);
      rel = next;
    }
    int dfd = openat(rootfd, rel ? rel : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (dfd >= 0)
      read_children(f, id, dfd);
  }
  close(rootfd);
}

static void
free_floor(Floor *f)
{
  for (guint k = 0; k < f->nodes->len; k++) {
    g_free(g_array_index(f->nodes, Node, k).name);
    g_free(g_array_index(f->nodes, Node, k).target);
  }
  g_array_unref(f->nodes);
  g_hash_table_unref(f->by_name);
}

static void
fill_entry(struct fuse_entry_param *e, fuse_ino_t ino, const Node *n)
{
  *e = (struct fuse_entry_param){
      .ino = ino, .attr = n->st, .attr_timeout = TIMEOUT, .entry_timeout = TIMEOUT};
}

static void
op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
  Floor *f = fuse_req_userdata(req);
  g_autofree char *key = key_of((guint32)parent, name);
  fuse_ino_t ino = GPOINTER_TO_UINT(g_hash_table_lookup(f->by_name, key));
  struct fuse_entry_param e;
  if (ino == 0) {
    e = (struct fuse_entry_param){.ino = 0, .entry_timeout = TIMEOUT};
    fuse_reply_entry(req, &e);
    return;
  }
  fill_entry(&e, ino, node_at(f, ino));
  fuse_reply_entry(req, &e);
}

static void
op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
  fuse_reply_none(req);
}

static void
op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
  fuse_reply_none(req);
}

static void
op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  Node *n = node_at(fuse_req_userdata(req), ino);
  if (n == NULL) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  fuse_reply_attr(req, &n->st, TIMEOUT);
}

static void
op_readlink(fuse_req_t req, fuse_ino_t ino)
{
  Node *n = node_at(fuse_req_userdata(req), ino);
  if (n == NULL || n->target == NULL) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  fuse_reply_readlink(req, n->target);
}

/* With FUSE_CAP_NO_OPENDIR_SUPPORT the first ENOSYS stops the kernel
 * from sending OPENDIR and RELEASEDIR at all: two requests less per
 * directory listed. */
static void
op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  Floor *f = fuse_req_userdata(req);
  Node *n = node_at(f, ino);
  if (n == NULL || !S_ISDIR(n->st.st_mode)) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  if (f->no_opendir)
    fuse_reply_err(req, ENOSYS);
  else
    fuse_reply_open(req, fi);
}

/* Offsets: 1 is ".", 2 "..", 3 + k the k-th child. */
static void
do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, gboolean plus)
{
  Floor *f = fuse_req_userdata(req);
  Node *dir = node_at(f, ino);
  if (dir == NULL) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  g_autofree char *buf = g_malloc(size);
  size_t used = 0;
  for (off_t o = off; o < (off_t)dir->nchild + 2; o++) {
    const char *name;
    fuse_ino_t child = 0;
    const Node *n;
    if (o < 2) {
      name = o == 0 ? "." : "..";
      n = o == 0 ? dir : node_at(f, dir->parent);
    } else {
      child = dir->first + (fuse_ino_t)(o - 2);
      n = node_at(f, child);
      name = n->name;
    }
    size_t len;
    if (plus) {
      struct fuse_entry_param e;
      fill_entry(&e, child, n);
      len = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, o + 1);
    } else {
      len = fuse_add_direntry(req, buf + used, size - used, name, &n->st, o + 1);
    }
    if (len > size - used)
      break;
    used += len;
  }
  fuse_reply_buf(req, buf, used);
}

static void
op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
           struct fuse_file_info *fi)
{
  do_readdir(req, ino, size, off, FALSE);
}

static void
op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
               struct fuse_file_info *fi)
{
  do_readdir(req, ino, size, off, TRUE);
}

static void
op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  fuse_reply_err(req, 0);
}

static void
op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
  fuse_reply_err(req, ENODATA);
}

static void
op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
  if (size == 0)
    fuse_reply_xattr(req, 0);
  else
    fuse_reply_buf(req, NULL, 0);
}

static void
op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  if ((fi->flags & O_ACCMODE) != O_RDONLY) {
    fuse_reply_err(req, EROFS);
    return;
  }
  fuse_reply_open(req, fi);
}

static void
op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
  /* Files read as empty: the floor is for metadata workloads. */
  fuse_reply_buf(req, NULL, 0);
}

static void
op_statfs(fuse_req_t req, fuse_ino_t ino)
{
  struct statvfs sv = {.f_bsize = 4096, .f_namemax = 255};
  fuse_reply_statfs(req, &sv);
}

static void
op_init(void *data, struct fuse_conn_info *conn)
{
  Floor *f = data;
  if (getenv("FLOORFS_AUTO") == NULL)
    conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
  if (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) {
    conn->want |= FUSE_CAP_NO_OPENDIR_SUPPORT;
    f->no_opendir = TRUE;
  }
}

static const struct fuse_lowlevel_ops ops = {
    .init = op_init,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .readlink = op_readlink,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .readdirplus = op_readdirplus,
    .releasedir = op_releasedir,
    .getxattr = op_getxattr,
    .listxattr = op_listxattr,
    .open = op_open,
    .read = op_read,
    .statfs = op_statfs,
};

/* Polls the device in a loop, never sleeping, until it is unmounted. */
static int
spin_loop(struct fuse_session *se)
{
  int fd = fuse_session_fd(se);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  struct fuse_buf fbuf = {.mem = NULL};
  int res = 0;
  while (!fuse_session_exited(se)) {
    res = fuse_session_receive_buf(se, &fbuf);
    if (res == -EAGAIN || res == -EINTR)
      continue;
    if (res <= 0)
      break;
    fuse_session_process_buf(se, &fbuf);
  }
  free(fbuf.mem);
  return res == -ENODEV || res == 0 ? 0 : -res;
}

int
main(int argc, char **argv)
{
  gboolean sleep_mode = argc > 1 && strcmp(argv[1], "--sleep") == 0;
  if (sleep_mode) {
    argv[1] = argv[0];
    argv++;
    argc--;
  }
  if (argc != 3) {
    fprintf(stderr, "usage: floorfs [--sleep] SNAPSHOT MOUNTPOINT\n");
    return 2;
  }
  Floor f = {.nodes = g_array_new(FALSE, TRUE, sizeof(Node)),
             .by_name = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)};
  load(&f, argv[1]);
  fprintf(stderr, "floorfs: %u entries of %s in memory\n", f.nodes->len, argv[1]);

  char *fargv[] = {argv[0], "-o", "ro,fsname=floorfs,subtype=floorfs", NULL};
  struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
  struct fuse_session *se = fuse_session_new(&args, &ops, sizeof ops, &f);
  fuse_opt_free_args(&args);
  if (se == NULL || fuse_set_signal_handlers(se) != 0)
    return 1;
  if (fuse_session_mount(se, argv[2]) != 0)
    return 1;
  int rc = sleep_mode ? fuse_session_loop(se) : spin_loop(se);
  fuse_session_unmount(se);
  fuse_remove_signal_handlers(se);
  fuse_session_destroy(se);
  free_floor(&f);
  return rc == 0 ? 0 : 1;
}
