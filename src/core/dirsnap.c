/* dirsnap.c: read a whole directory with getdents64. */
#include "dirsnap.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct linux_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

LfsDirSnap *
lfs_dirsnap_new(void)
{
  LfsDirSnap *snap = g_new0(LfsDirSnap, 1);
  snap->ents = g_array_new(FALSE, FALSE, sizeof(LfsDirent));
  snap->names = g_byte_array_new();
  return snap;
}

void
lfs_dirsnap_free(LfsDirSnap *snap)
{
  if (snap == NULL)
    return;
  g_array_unref(snap->ents);
  g_byte_array_unref(snap->names);
  g_free(snap);
}

void
lfs_dirsnap_append(LfsDirSnap *snap, uint64_t ino, uint8_t type, const char *name)
{
  LfsDirent e = {.ino = ino, .type = type, .name_off = snap->names->len};
  g_byte_array_append(snap->names, (const guint8 *)name, strlen(name) + 1);
  g_array_append_val(snap->ents, e);
}

gboolean
lfs_dirsnap_contains(const LfsDirSnap *snap, const char *name)
{
  for (guint i = 0; i < lfs_dirsnap_len(snap); i++) {
    if (strcmp(lfs_dirsnap_name(snap, lfs_dirsnap_get(snap, i)), name) == 0)
      return TRUE;
  }
  return FALSE;
}

int
lfs_dirsnap_read(LfsDirSnap *snap, int dirfd)
{
  g_array_set_size(snap->ents, 0);
  g_byte_array_set_size(snap->names, 0);
  if (lseek(dirfd, 0, SEEK_SET) < 0)
    return errno;

  char buf[32768] __attribute__((aligned(8)));
  for (;;) {
    long n = syscall(SYS_getdents64, dirfd, buf, sizeof buf);
    if (n < 0)
      return errno;
    if (n == 0)
      return 0;
    for (long pos = 0; pos < n;) {
      const struct linux_dirent64 *d = (const void *)(buf + pos);
      lfs_dirsnap_append(snap, d->d_ino, d->d_type, d->d_name);
      pos += d->d_reclen;
    }
  }
}
