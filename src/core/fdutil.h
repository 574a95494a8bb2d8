/* fdutil.h: descriptor helpers in the style of libglnx's glnx_autofd. */
#pragma once

#include <errno.h>
#include <unistd.h>

static inline void
lfs_fd_cleanup(int *fdp)
{
  int errsv = errno;
  if (*fdp >= 0)
    close(*fdp);
  *fdp = -1;
  errno = errsv;
}

/* An int that is closed when it goes out of scope. */
#define lfs_autofd __attribute__((cleanup(lfs_fd_cleanup))) int

/* Ownership of an lfs_autofd is handed on with GLib's g_steal_fd(). */
