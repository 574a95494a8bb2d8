/* kpass.c: FUSE passthrough negotiated beneath libfuse 3.14.
 *
 * The session's custom I/O hooks (devio.c) hand us every request and
 * reply. A request's header is looked at: INIT tells whether the kernel offers
 * FUSE_PASSTHROUGH; the unique ids of OPEN and CREATE requests are remembered. Replies
 * pass unchanged except two: the INIT reply gets FUSE_PASSTHROUGH and a stack depth when
 * the kernel offered it, and the reply to a remembered OPEN or CREATE whose file handle
 * was registered as a backing file gets FOPEN_PASSTHROUGH and the backing id. Replies are
 * matched to requests by unique id, never guessed from their size or contents; the
 * backing id travels in the reply's file handle (fh_make).
 *
 * Locking: k->lock guards both tables; a leaf lock, held for hash
 * operations and the backing ioctls (which never wait on the mount). */
#include "kpass.h"

#include "lfs.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

/* From the kernel's <linux/fuse.h> 7.40, newer than libfuse 3.14's. */
#define KP_FUSE_PASSTHROUGH (1ULL << 37)
#define KP_FOPEN_PASSTHROUGH (1U << 7)
struct kp_backing_map {
  int32_t fd;
  uint32_t flags;
  uint64_t padding;
};
#define KP_IOC_BACKING_OPEN _IOW(229, 1, struct kp_backing_map)
#define KP_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)
/* fuse_init_out.max_stack_depth is 7.40's name for unused[0]. */
G_STATIC_ASSERT(offsetof(struct fuse_init_out, unused) == 36);
/* Our source is not stacked on another passthrough: a depth of one. */
#define KP_STACK_DEPTH 1

struct LfsKpass {
  int devfd;
  gint offered; /* atomic: the kernel's INIT offered FUSE_PASSTHROUGH */
  gint active;  /* atomic: we accepted it in the INIT reply */
  gint refused; /* atomic: registering failed with EPERM once */
  guint64 init_unique;
  gint npending; /* atomic: size of pending, to skip the lock */
  GMutex lock;
  GHashTable *pending; /* unique of an OPEN or CREATE request being served */
  GHashTable *inodes;  /* kernel inode -> KpInode, while it has open files */
};

/* The kernel allows one backing file per inode at a time: every open of
 * an inode shares the backing id registered by its first open, until the
 * last one is released. */
typedef struct {
  int32_t id;
  guint nopen;
} KpInode;

/* The file handle of a passthrough open carries its backing id, so that
 * its reply can be patched and its release can drop it. */
#define KP_FH_TAG (1ULL << 63)

static uint64_t
fh_make(int fd, int32_t id)
{
  return KP_FH_TAG | ((uint64_t)(uint32_t)id << 32) | (uint32_t)fd;
}

static int32_t
fh_backing_id(uint64_t fh)
{
  return (fh & KP_FH_TAG) ? (int32_t)((fh >> 32) & 0x7fffffff) : 0;
}

LfsKpass *
lfs_kpass_new(gboolean wanted)
{
  if (!wanted || geteuid() != 0)
    return NULL;
  LfsKpass *k = g_new0(LfsKpass, 1);
  k->devfd = -1;
  g_mutex_init(&k->lock);
  k->pending = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
  k->inodes = g_hash_table_new_full(NULL, NULL, NULL, g_free);
  return k;
}

void
lfs_kpass_free(LfsKpass *k)
{
  if (k == NULL)
    return;
  g_hash_table_unref(k->pending);
  g_hash_table_unref(k->inodes);
  g_mutex_clear(&k->lock);
  g_free(k);
}

static void
note_init(LfsKpass *k, const struct fuse_in_header *in, size_t len)
{
  if (len < sizeof *in + sizeof(struct fuse_init_in))
    return;
  const struct fuse_init_in *arg = (const void *)(in + 1);
  uint64_t flags = arg->flags;
  if (flags & FUSE_INIT_EXT)
    flags |= (uint64_t)arg->flags2 << 32;
  k->init_unique = in->unique;
  g_atomic_int_set(&k->offered, (flags & KP_FUSE_PASSTHROUGH) != 0);
}

void
lfs_kpass_note_request(LfsKpass *k, const void *buf, size_t len)
{
  if (k == NULL || len < sizeof(struct fuse_in_header))
    return;
  const struct fuse_in_header *in = buf;
  if (in->opcode == FUSE_INIT) {
    note_init(k, in, len);
    return;
  }
  if ((in->opcode != FUSE_OPEN && in->opcode != FUSE_CREATE) ||
      !g_atomic_int_get(&k->active))
    return;
  g_mutex_lock(&k->lock);
  g_hash_table_add(k->pending, g_memdup2(&in->unique, sizeof in->unique));
  g_atomic_int_inc(&k->npending);
  g_mutex_unlock(&k->lock);
}

static gboolean
take_pending(LfsKpass *k, uint64_t unique)
{
  if (g_atomic_int_get(&k->npending) == 0)
    return FALSE;
  g_mutex_lock(&k->lock);
  gboolean found = g_hash_table_remove(k->pending, &unique);
  if (found)
    g_atomic_int_add(&k->npending, -1);
  g_mutex_unlock(&k->lock);
  return found;
}

/* The payload of a reply made by libfuse's send_reply_ok: one buffer after
 * the header. Patched in a copy, sent with writev. */
typedef struct {
  struct iovec iov[2];
  union {
    struct fuse_init_out init;
    char bytes[sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out)];
  } u;
} KpReply;

static gboolean
copy_payload(KpReply *r, const struct iovec *iov, int count, size_t min)
{
  if (count != 2 || iov[1].iov_len < min || iov[1].iov_len > sizeof r->u)
    return FALSE;
  r->iov[0] = iov[0];
  memcpy(r->u.bytes, iov[1].iov_base, iov[1].iov_len);
  r->iov[1] = (struct iovec){.iov_base = r->u.bytes, .iov_len = iov[1].iov_len};
  return TRUE;
}

static gboolean
patch_init(LfsKpass *k, const struct iovec *iov, int count, KpReply *r)
{
  if (!g_atomic_int_get(&k->offered) ||
      !copy_payload(r, iov, count, offsetof(struct fuse_init_out, unused) + 4))
    return FALSE;
  if (!(r->u.init.flags & FUSE_INIT_EXT) || (r->u.init.flags & FUSE_WRITEBACK_CACHE))
    return FALSE;
  r->u.init.flags2 |= (uint32_t)(KP_FUSE_PASSTHROUGH >> 32);
  r->u.init.unused[0] = KP_STACK_DEPTH;
  k->init_unique = 0;
  g_atomic_int_set(&k->active, 1);
  return TRUE;
}

static gboolean
patch_open(LfsKpass *k, const struct iovec *iov, int count, KpReply *r)
{
  if (!copy_payload(r, iov, count, sizeof(struct fuse_open_out)))
    return FALSE;
  struct fuse_open_out oo;
  char *tail = r->u.bytes + r->iov[1].iov_len - sizeof oo;
  memcpy(&oo, tail, sizeof oo);
  int32_t id = fh_backing_id(oo.fh);
  if (id <= 0)
    return FALSE;
  oo.open_flags |= KP_FOPEN_PASSTHROUGH;
  oo.open_flags &= ~(uint32_t)FOPEN_DIRECT_IO;
  oo.padding = (uint32_t)id; /* 7.40's backing_id */
  memcpy(tail, &oo, sizeof oo);
  return TRUE;
}

ssize_t
lfs_kpass_writev(LfsKpass *k, int fd, struct iovec *iov, int count)
{
  const struct fuse_out_header *out = iov[0].iov_base;
  KpReply r;
  if (k != NULL && count >= 1 && iov[0].iov_len == sizeof *out) {
    gboolean patched = FALSE;
    if (k->init_unique != 0 && out->unique == k->init_unique && out->error == 0)
      patched = patch_init(k, iov, count, &r);
    else if (take_pending(k, out->unique) && out->error == 0)
      patched = patch_open(k, iov, count, &r);
    if (patched)
      return writev(fd, r.iov, 2);
  }
  return writev(fd, iov, count);
}

void
lfs_kpass_set_device(LfsKpass *k, int devfd)
{
  if (k != NULL)
    k->devfd = devfd;
}

gboolean
lfs_kpass_active(LfsKpass *k)
{
  return k != NULL && g_atomic_int_get(&k->active) && !g_atomic_int_get(&k->refused);
}

static void
backing_refused(LfsKpass *k)
{
  /* EPERM: the kernel did not take FUSE_PASSTHROUGH after all (or we lack
   * CAP_SYS_ADMIN); no open has used it, so stop trying. */
  if (errno == EPERM && g_atomic_int_compare_and_exchange(&k->refused, 0, 1))
    lfs_warn("FUSE passthrough refused: %s", g_strerror(errno));
}

gboolean
lfs_kpass_open(LfsKpass *k, gconstpointer node, int fd, uint64_t *fh)
{
  if (!lfs_kpass_active(k))
    return FALSE;
  g_mutex_lock(&k->lock);
  KpInode *ki = g_hash_table_lookup(k->inodes, node);
  if (ki == NULL) {
    struct kp_backing_map map = {.fd = fd};
    int id = ioctl(k->devfd, KP_IOC_BACKING_OPEN, &map);
    if (id <= 0) {
      g_mutex_unlock(&k->lock);
      backing_refused(k);
      return FALSE;
    }
    ki = g_new0(KpInode, 1);
    ki->id = id;
    g_hash_table_insert(k->inodes, (gpointer)node, ki);
  }
  ki->nopen++;
  *fh = fh_make(fd, ki->id);
  g_mutex_unlock(&k->lock);
  return TRUE;
}

void
lfs_kpass_release(LfsKpass *k, gconstpointer node, uint64_t fh)
{
  if (k == NULL || fh_backing_id(fh) == 0)
    return;
  g_mutex_lock(&k->lock);
  KpInode *ki = g_hash_table_lookup(k->inodes, node);
  if (ki != NULL && --ki->nopen == 0) {
    uint32_t id = (uint32_t)ki->id;
    ioctl(k->devfd, KP_IOC_BACKING_CLOSE, &id);
    g_hash_table_remove(k->inodes, node);
  }
  g_mutex_unlock(&k->lock);
}

const char *
lfs_kpass_state(LfsKpass *k, gboolean wanted)
{
  if (!wanted)
    return "off";
  return lfs_kpass_active(k) ? "on" : "unavailable";
}
