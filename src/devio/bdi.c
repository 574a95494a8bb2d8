/* bdi.c: the kernel's readahead for the view.
 *
 * The kernel gives a new FUSE mount the default readahead of 128 KiB, and a
 * daemon can only lower it at init. Sequential reads through the view then
 * cost one request per 128 KiB; with 768 KiB they run about twice as fast
 * (measured: 2.1 to 4.5 GB/s for a 1 GiB file in the source's page cache).
 * At 1 MiB and more a reply no longer fits libfuse's splice pipe and reads
 * fall ten times slower, so 768 it is. Only root may write the setting in
 * /sys/class/bdi (before INIT, whose reply also asks for 768: the kernel
 * keeps the smaller of the two); anyone else keeps the default. The mount's device number
 * comes from /proc/self/mountinfo: stat(MOUNTPOINT) would ask our own mount,
 * whose loop is not running yet. */
#include "bdi.h"

#include <glib.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void
unescape_octal(char *s)
{
  char *w = s;
  for (char *r = s; *r; r++) {
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
        r[3] >= '0' && r[3] <= '7') {
      *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
      r += 3;
    } else {
      *w++ = *r;
    }
  }
  *w = '\0';
}

/* "MAJOR:MINOR" of the last mount on mountpoint, or NULL. */
static char *
mount_devnum(const char *mountpoint)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents("/proc/self/mountinfo", &text, NULL, NULL))
    return NULL;
  char *found = NULL;
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; *l != NULL; l++) {
    g_auto(GStrv) f = g_strsplit(*l, " ", 6);
    if (g_strv_length(f) < 5)
      continue;
    unescape_octal(f[4]);
    if (strcmp(f[4], mountpoint) == 0) {
      g_free(found);
      found = g_strdup(f[2]);
    }
  }
  return found;
}

void
lfs_tune_readahead(const char *mountpoint)
{
  g_autofree char *real = realpath(mountpoint, NULL);
  g_autofree char *dev = real ? mount_devnum(real) : NULL;
  if (dev == NULL)
    return;
  g_autofree char *path = g_strdup_printf("/sys/class/bdi/%s/read_ahead_kb", dev);
  g_autofree char *now = NULL;
  if (!g_file_get_contents(path, &now, NULL, NULL) || atoi(now) >= LFS_VIEW_READAHEAD_KB)
    return;
  FILE *f = fopen(path, "w");
  if (f == NULL)
    return; /* not root: the default stays */
  fprintf(f, "%d\n", LFS_VIEW_READAHEAD_KB);
  fclose(f);
}
