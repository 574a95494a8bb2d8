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

/* Take ownership of *fdp, leaving -1 behind. */
static inline int
lfs_steal_fd(int *fdp)
{
  int fd = *fdp;
  *fdp = -1;
  return fd;
}
