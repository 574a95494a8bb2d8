/* main.c: command line, checks before mounting, and the session. */
#include "config.h"
#include "lfs.h"
#include "devio/bdi.h"
#include "live/moves.h"
#include "live/scan.h"
#include "live/watch.h"
#include "passthrough/passthrough.h"
#include "view/links.h"
#include "view/vinval.h"
#include "core/openrel.h"

#include "core/fdutil.h"
#include "core/log.h"
#include "devio/devio.h"
#include "devio/kpass.h"
#include "passthrough/lockwait.h"
#include "passthrough/locks.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  char *source;
  char *mountpoint;
  char *cache;
  char *links;
  char *links_name;
  char *passthrough;
  char *spin;
  int watch;
  char *watch_mode;
  gboolean allow_other;
  gboolean help;
  gboolean version;
  int extra_args;
} LfsCmdline;

enum { KEY_HELP, KEY_VERSION, KEY_ALLOW_OTHER };

static const struct fuse_opt lfs_fuse_opts[] = {
    {"cache=%s", offsetof(LfsCmdline, cache), 0},
    {"links=%s", offsetof(LfsCmdline, links), 0},
    {"links_name=%s", offsetof(LfsCmdline, links_name), 0},
    {"watch", offsetof(LfsCmdline, watch), 1},
    {"passthrough=%s", offsetof(LfsCmdline, passthrough), 0},
    {"spin=%s", offsetof(LfsCmdline, spin), 0},
    {"watch=%s", offsetof(LfsCmdline, watch_mode), 0},
    FUSE_OPT_KEY("-h", KEY_HELP),
    FUSE_OPT_KEY("--help", KEY_HELP),
    FUSE_OPT_KEY("-V", KEY_VERSION),
    FUSE_OPT_KEY("--version", KEY_VERSION),
    FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
    FUSE_OPT_END,
};

static int
opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
  LfsCmdline *cl = data;
  switch (key) {
  case KEY_HELP:
    cl->help = TRUE;
    return 0;
  case KEY_VERSION:
    cl->version = TRUE;
    return 0;
  case KEY_ALLOW_OTHER:
    cl->allow_other = TRUE;
    return 1;
  case FUSE_OPT_KEY_NONOPT:
    if (cl->source == NULL) {
      cl->source = g_strdup(arg);
      return 0;
    }
    if (cl->mountpoint == NULL) {
      cl->mountpoint = g_strdup(arg);
      return 1;
    }
    cl->extra_args++;
    return 0;
  default:
    return 1;
  }
}

static void
usage(FILE *out, const char *prog)
{
  fprintf(
      out,
      "usage: %s [options] SOURCE MOUNTPOINT\n"
      "Mount SOURCE at MOUNTPOINT as a passthrough view with a read-only\n"
      ".links directory in every directory (hard-link siblings, dangling symlinks).\n"
      "\n"
      "options:\n"
      "  -h, --help             print this help and exit\n"
      "  -V, --version          print the version and exit\n"
      "  -f                     stay in the foreground\n"
      "  -d, -o debug           print every request (implies -f)\n"
      "  -s                     single-threaded\n"
      "  -o cache=MODE          never|auto|always: kernel caching (default auto: 1 s)\n"
      "  -o links_name=NAME     name of the virtual directory (default .links)\n"
      "  -o links=MODE          visible|root|hidden: where readdir lists NAME (default\n"
      "                         visible; cd NAME works in every mode)\n"
      "  -o watch[=HOW]         follow changes made directly in SOURCE; HOW: auto\n"
      "                         (fanotify if allowed, else inotify)|fanotify|inotify\n"
      "  -o passthrough=MODE    auto|off: kernel does file I/O itself (default auto)\n"
      "  -o spin=US             wait US µs for a request before sleeping (default 20)\n"
      "  -o allow_other         let other users in (default_permissions always on)\n"
      "  -o ro                  read-only view\n"
      "  -o OPT[,OPT...]        other FUSE mount options (see mount.fuse3(8))\n"
      "\n"
      "Unmount: fusermount3 -u MOUNTPOINT, SIGINT or SIGTERM. SIGHUP rescans SOURCE.\n",
      prog);
}

static gboolean
check_dir(const char *what, const char *path)
{
  struct stat st;
  if (stat(path, &st) < 0) {
    fprintf(stderr, "linkfs: %s '%s': %s\n", what, path, g_strerror(errno));
    return FALSE;
  }
  if (!S_ISDIR(st.st_mode)) {
    fprintf(stderr, "linkfs: %s '%s': %s\n", what, path, g_strerror(ENOTDIR));
    return FALSE;
  }
  return TRUE;
}

/* Whether path is already the mountpoint of a linkfs view. */
static gboolean
is_linkfs_mount(const char *path)
{
  g_autofree char *real = realpath(path, NULL);
  g_autofree char *info = NULL;
  if (real == NULL || !g_file_get_contents("/proc/self/mountinfo", &info, NULL, NULL))
    return FALSE;
  g_auto(GStrv) lines = g_strsplit(info, "\n", -1);
  for (char **l = lines; *l != NULL; l++) {
    g_auto(GStrv) f = g_strsplit(*l, " ", -1);
    if (g_strv_length(f) < 10)
      continue;
    const char *sep = strstr(*l, " - ");
    g_autofree char *mnt = g_strcompress(f[4]); /* octal escapes like \040 */
    if (sep != NULL && strcmp(mnt, real) == 0 &&
        g_str_has_prefix(sep + 3, "fuse.linkfs "))
      return TRUE;
  }
  return FALSE;
}

static gboolean
check_fuse_device(void)
{
  struct stat st;
  if (stat("/dev/fuse", &st) < 0 || !S_ISCHR(st.st_mode)) {
    fprintf(stderr, "linkfs: /dev/fuse: %s (is the fuse module loaded?)\n",
            g_strerror(errno ? errno : ENODEV));
    return FALSE;
  }
  return TRUE;
}

static gboolean
apply_options(const LfsCmdline *cl, LfsOptions *o)
{
  g_autoptr(GError) error = NULL;
  if ((cl->cache != NULL && !lfs_parse_cache_mode(cl->cache, &o->cache, &error)) ||
      (cl->links != NULL && !lfs_parse_links_mode(cl->links, &o->links, &error)) ||
      (cl->links_name != NULL && !lfs_validate_links_name(cl->links_name, &error)) ||
      (cl->passthrough != NULL &&
       !lfs_parse_passthrough(cl->passthrough, &o->passthrough, &error)) ||
      (cl->spin != NULL && !lfs_parse_spin(cl->spin, &o->spin_us, &error)) ||
      (cl->watch_mode != NULL &&
       !lfs_parse_watch_mode(cl->watch_mode, &o->watch, &error))) {
    fprintf(stderr, "linkfs: %s\n", error->message);
    return FALSE;
  }
  if (cl->links_name != NULL) {
    g_free(o->links_name);
    o->links_name = g_strdup(cl->links_name);
  }
  if (cl->watch_mode == NULL && cl->watch)
    o->watch = LFS_WATCH_AUTO;
  return TRUE;
}

/* Remember the directory under the mountpoint, for a MOUNTPOINT inside
 * SOURCE: the inode table, the scan and the resolver all use it instead of
 * walking into our own mount. */
static void
guard_mountpoint(LfsCtx *c, const char *mountpoint)
{
  g_autofree char *real = realpath(mountpoint, NULL);
  lfs_autofd mp = open(mountpoint, O_PATH | O_DIRECTORY | O_CLOEXEC);
  lfs_autofd parent = mp >= 0 ? openat(mp, "..", O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
  struct stat pst;
  if (real == NULL || parent < 0 || fstat(parent, &pst) < 0)
    return;
  g_autofree char *name = g_path_get_basename(real);
  size_t slen = strlen(c->source);
  if (strcmp(c->source, "/") == 0)
    c->root.mp_rel = g_strdup(real + 1);
  else if (strncmp(real, c->source, slen) == 0 && real[slen] == '/')
    c->root.mp_rel = g_strdup(real + slen + 1);
  c->root.mp_fd = fcntl(mp, F_DUPFD_CLOEXEC, 0);
  c->guard = (struct lfs_resolve_guard){.source_path = c->source,
                                        .mp_parent_dev = pst.st_dev,
                                        .mp_parent_ino = pst.st_ino,
                                        .mp_name = NULL,
                                        .mp_fd = c->root.mp_fd};
  lfs_itab_set_guard(c->itab, g_steal_fd(&mp), pst.st_dev, pst.st_ino, name);
  c->mp_name = g_steal_pointer(&name);
  c->guard.mp_name = c->mp_name;
}

static size_t
descriptor_budget(void)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  getrlimit(RLIMIT_NOFILE, &rl);
  /* The inode table shares it out (passthrough/inode.h). */
  return rl.rlim_cur == RLIM_INFINITY ? 65536 : (size_t)rl.rlim_cur;
}

/* Whether close(2) on SOURCE's filesystem may write back and fail (it has a
 * flush operation): network and FUSE filesystems, or one we do not know. */
static gboolean
source_flushes(int fd)
{
  static const unsigned long local[] = {
      0xEF53,     /* ext2/3/4 */
      0x58465342, /* xfs */
      0x9123683E, /* btrfs */
      0x01021994, /* tmpfs */
      0x2FC12FC1, /* zfs */
      0xF2F52010, /* f2fs */
      0x794c7630, /* overlayfs */
      0x4d44,     /* vfat */
      0x5346544e, /* ntfs */
      0x3153464a, /* jfs */
      0x52654973, /* reiserfs */
  };
  struct statfs sfs;
  if (fstatfs(fd, &sfs) < 0)
    return TRUE;
  for (guint k = 0; k < G_N_ELEMENTS(local); k++) {
    if ((unsigned long)sfs.f_type == local[k])
      return FALSE;
  }
  return TRUE;
}

static void
lfs_init(void *userdata, struct fuse_conn_info *conn)
{
  if (conn->capable & FUSE_CAP_FLOCK_LOCKS)
    conn->want |= FUSE_CAP_FLOCK_LOCKS;
  /* fcntl locks become locks on the source (passthrough/locks.h). */
  if (conn->capable & FUSE_CAP_POSIX_LOCKS)
    conn->want |= FUSE_CAP_POSIX_LOCKS;
  if (conn->capable & FUSE_CAP_SPLICE_WRITE)
    conn->want |= FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE;
  if (conn->capable & FUSE_CAP_SPLICE_READ)
    conn->want |= FUSE_CAP_SPLICE_READ;
  conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
  /* The caller's umask is applied where the object is made (creds.h). */
  if (conn->capable & FUSE_CAP_DONT_MASK)
    conn->want |= FUSE_CAP_DONT_MASK;
  /* The kernel clears set-user-ID and set-group-ID on write, truncate and
   * chown by the rules for the caller; the daemon, root with CAP_FSETID,
   * would keep them. */
  conn->want &= ~(unsigned)FUSE_CAP_HANDLE_KILLPRIV;
  /* The kernel keeps the smaller of this and what bdi.c has set. */
  conn->max_readahead = LFS_VIEW_READAHEAD_KB * 1024;
}

/* The device I/O hooks (devio.h), carrying FUSE passthrough when wanted
 * and possible; without spinning or passthrough, libfuse's own I/O. The
 * session goes on without them if they cannot be installed. */
static void
attach_devio(LfsCtx *c, struct fuse_session *se)
{
  c->kpass = lfs_kpass_new(c->opt.passthrough);
  if (c->kpass == NULL && c->opt.spin_us == 0)
    return;
  c->devio = lfs_devio_new(c->opt.spin_us, c->kpass, !c->source_flushes);
  int err = lfs_devio_attach(c->devio, se);
  if (err != 0) {
    lfs_warn("no FUSE passthrough or spin: %s", g_strerror(err));
    g_clear_pointer(&c->devio, lfs_devio_free);
    g_clear_pointer(&c->kpass, lfs_kpass_free);
  }
}

/* libfuse's loop, single- or multithreaded: its exit status. */
static int
run_loop(struct fuse_session *se, struct fuse_cmdline_opts *fo)
{
  if (fo->singlethread)
    return fuse_session_loop(se);
  struct fuse_loop_config *cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(cfg, (unsigned)fo->clone_fd);
  if (fo->max_idle_threads != UINT_MAX)
    fuse_loop_cfg_set_idle_threads(cfg, fo->max_idle_threads);
  if (fo->max_threads > 0 && fo->max_threads <= 1000)
    fuse_loop_cfg_set_max_threads(cfg, fo->max_threads);
  int ret = fuse_session_loop_mt(se, cfg);
  fuse_loop_cfg_destroy(cfg);
  return ret;
}

/* The mounted session: detach, start the threads, serve until unmounted,
 * stop the threads. Returns the loop's exit status. */
static int
serve_mounted(LfsCtx *c, struct fuse_session *se, struct fuse_cmdline_opts *fo)
{
  lfs_tune_readahead(fo->mountpoint);
  attach_devio(c, se);
  fuse_daemonize(fo->foreground);
  if (!fo->foreground)
    lfs_log_detached(c->log);
  lfs_procfd_open(&c->procfd); /* our /proc/self, after the fork */
  lfs_watch_start(c);          /* threads after the fork of fuse_daemonize */
  lfs_vinval_start(c);
  lfs_scan_start(c);
  lfs_watch_run(c);
  int ret = run_loop(se, fo);
  /* Lock waits still going are answered EINTR. */
  g_clear_pointer(&c->lockwaits, lfs_lockwaits_free);
  lfs_scan_stop(c);
  lfs_watch_stop(c);
  lfs_vinval_stop(c);
  fuse_session_unmount(se);
  /* A loop ended by SIGINT or SIGTERM is a clean unmount. */
  return ret == SIGINT || ret == SIGTERM ? 0 : ret;
}

static int
run_session(LfsCtx *c, struct fuse_args *args, struct fuse_cmdline_opts *fo)
{
  struct fuse_lowlevel_ops ops = {.init = lfs_init};
  lfs_passthrough_ops(&ops);
  lfs_dirops_ops(&ops);
  lfs_fileops_ops(&ops);
  lfs_links_ops(c, &ops);

  struct fuse_session *se = fuse_session_new(args, &ops, sizeof ops, c);
  if (se == NULL)
    return 1;
  c->se = se;
  c->lockwaits = lfs_lockwaits_new();
  int ret = 1;
  /* libfuse only takes signals left at their default; a shell starting us
   * in the background sets SIGINT to ignored, yet SIGINT must unmount. */
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  /* Modes are masked with each caller's umask, never the daemon's. */
  umask(0);
  if (fuse_set_signal_handlers(se) == 0) {
    if (fuse_session_mount(se, fo->mountpoint) == 0)
      ret = serve_mounted(c, se, fo);
    fuse_remove_signal_handlers(se);
  }
  g_clear_pointer(&c->lockwaits, lfs_lockwaits_free);
  fuse_session_destroy(se);
  g_clear_pointer(&c->devio, lfs_devio_free);
  g_clear_pointer(&c->kpass, lfs_kpass_free);
  return ret != 0 ? 1 : 0;
}

static void
cmdline_clear(LfsCmdline *cl)
{
  g_free(cl->source);
  g_free(cl->mountpoint);
  free(cl->cache);
  free(cl->links);
  free(cl->links_name);
  free(cl->passthrough);
  free(cl->spin);
  free(cl->watch_mode);
}

/* Everything that can be checked before mounting; one line on stderr if not. */
static gboolean
check_args(const LfsCmdline *cl, LfsCtx *c, struct fuse_args *args,
           struct fuse_cmdline_opts *fo)
{
  if (!apply_options(cl, &c->opt) || fuse_parse_cmdline(args, fo) != 0)
    return FALSE;
  if (!check_dir("SOURCE", cl->source) || !check_dir("MOUNTPOINT", fo->mountpoint) ||
      !check_fuse_device())
    return FALSE;
  if (is_linkfs_mount(fo->mountpoint)) {
    fprintf(stderr, "linkfs: MOUNTPOINT '%s' is already a linkfs mount\n",
            fo->mountpoint);
    return FALSE;
  }
  c->source = realpath(cl->source, NULL);
  int root_fd = c->source ? open(c->source, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
  int err = root_fd < 0 ? errno : 0;
  if (err == 0)
    c->itab = lfs_itab_new(root_fd, descriptor_budget(), &err);
  if (c->itab == NULL) {
    fprintf(stderr, "linkfs: SOURCE '%s': %s\n", cl->source, g_strerror(err));
    return FALSE;
  }
  c->root.fd = open(c->source, O_PATH | O_DIRECTORY | O_CLOEXEC);
  c->root.openat2 = lfs_have_openat2(c->root.fd);
  guard_mountpoint(c, fo->mountpoint);
  c->timeout = lfs_cache_timeout(c->opt.cache);
  /* With allow_other a listing depends on the caller: the kernel caches no
   * virtual entry (it looks each one up again for every caller), only
   * their attributes, which are the same for everyone and refreshed by
   * each of those lookups. */
  c->vattr_timeout = MIN(c->timeout, 1.0);
  c->vtimeout = cl->allow_other ? 0.0 : c->vattr_timeout;
  c->root_daemon = geteuid() == 0;
  c->source_flushes = source_flushes(c->root.fd);
  return lfs_watch_open(c);
}

static void
add_mount_options(const LfsCmdline *cl, const LfsCtx *c, struct fuse_args *args)
{
  g_autofree char *fsname = g_strdup_printf("fsname=%s", c->source);
  char *mopts = NULL;
  fuse_opt_add_opt_escaped(&mopts, fsname);
  fuse_opt_add_opt(&mopts, "subtype=linkfs");
  if (cl->allow_other)
    fuse_opt_add_opt(&mopts, "default_permissions");
  fuse_opt_add_arg(args, "-o");
  fuse_opt_add_arg(args, mopts);
  free(mopts);
}

/* libfuse's own messages ("fuse: ...", and -d's) take the way of our
 * warnings, so that a detached daemon's reach the journal too; in the
 * foreground they are printed as libfuse prints them. */
static void
fuse_log_to_ours(enum fuse_log_level level, const char *fmt, va_list ap)
{
  /* Kept whole: libfuse writes some lines in pieces, the newline last. */
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  GLogLevelFlags gl = level <= FUSE_LOG_WARNING ? G_LOG_LEVEL_WARNING
                      : level <= FUSE_LOG_INFO  ? G_LOG_LEVEL_INFO
                                                : G_LOG_LEVEL_DEBUG;
  g_log_structured("linkfs", gl, "LINKFS_RAW", "1", "SYSLOG_IDENTIFIER", "linkfs",
                   "MESSAGE", "%s", msg);
}

static int
prepare_and_run(LfsCmdline *cl, struct fuse_args *args)
{
  LfsCtx ctx = {.root = {.fd = -1, .mp_fd = -1}, .procfd = LFS_PROCFD_INIT};
  struct fuse_cmdline_opts fo = {0};
  ctx.log = lfs_log_new();
  fuse_set_log_func(fuse_log_to_ours);
  lfs_options_init(&ctx.opt);
  ctx.index = lfs_index_new();
  ctx.vnodes = lfs_vnodes_new();
  g_rw_lock_init(&ctx.change_lock);
  g_rw_lock_init(&ctx.vreply_lock);
  ctx.scan = lfs_scan_new();
  ctx.moves = lfs_moves_new();
  int ret = 1;
  if (check_args(cl, &ctx, args, &fo)) {
    ctx.locks = lfs_locks_new(&ctx.procfd, ctx.itab);
    add_mount_options(cl, &ctx, args);
    ret = run_session(&ctx, args, &fo);
  }
  lfs_watch_stop(&ctx); /* if the session never ran */
  lfs_vnodes_free(&ctx, ctx.vnodes);
  lfs_locks_free(ctx.locks);
  lfs_itab_free(ctx.itab);
  lfs_index_free(ctx.index);
  if (ctx.root.fd >= 0)
    close(ctx.root.fd);
  if (ctx.root.mp_fd >= 0)
    close(ctx.root.mp_fd);
  lfs_procfd_close(&ctx.procfd);
  g_free(ctx.root.mp_rel);
  g_free(ctx.mp_name);
  g_rw_lock_clear(&ctx.change_lock);
  g_rw_lock_clear(&ctx.vreply_lock);
  lfs_scan_free(ctx.scan);
  lfs_moves_free(ctx.moves);
  free(ctx.source);
  free(fo.mountpoint);
  lfs_options_clear(&ctx.opt);
  return ret;
}

int
main(int argc, char *argv[])
{
  struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
  LfsCmdline cl = {0};
  int ret = 1;

  /* SIGHUP is taken by sigwait (rescan), never by a handler. */
  sigset_t hup;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &hup, NULL);

  if (fuse_opt_parse(&args, &cl, lfs_fuse_opts, opt_proc) != 0) {
    /* libfuse said why */
  } else if (cl.help) {
    usage(stdout, "linkfs");
    ret = 0;
  } else if (cl.version) {
    printf("linkfs %s (libfuse %s)\n", PACKAGE_VERSION, fuse_pkgversion());
    ret = 0;
  } else if (cl.source == NULL || cl.mountpoint == NULL) {
    fprintf(stderr, "linkfs: missing %s (usage: linkfs [options] SOURCE MOUNTPOINT)\n",
            cl.source == NULL ? "SOURCE and MOUNTPOINT" : "MOUNTPOINT");
  } else if (cl.extra_args > 0) {
    fprintf(stderr, "linkfs: too many arguments (usage: linkfs [options] SOURCE "
                    "MOUNTPOINT)\n");
  } else {
    ret = prepare_and_run(&cl, &args);
  }
  cmdline_clear(&cl);
  fuse_opt_free_args(&args);
  return ret;
}
