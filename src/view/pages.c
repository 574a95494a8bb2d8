/* pages.c: the directory whose page .links/dirs/INO is. The kernel
 * follows D/.links to that page while it knows D, so the inode table has
 * D; a page reached by its path alone (typed, bookmarked, after the kernel
 * forgot D) is looked for in the source, breadth first, comparing the
 * inode numbers that readdir gives. */
#include "pages.h"

#include "core/fdutil.h"
#include "core/names.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>

/* Whether the directory dir/name is (dev, ino); d_ino is what readdir
 * said, looked at only on the source's own filesystem. */
static gboolean
is_it(LfsCtx *c, const char *path, ino_t d_ino, dev_t dev, ino_t ino)
{
  if (dev == lfs_itab_root_dev(c->itab) && d_ino != ino)
    return FALSE;
  struct stat st;
  return lfs_stat_rel(&c->root, path, &st) == 0 && S_ISDIR(st.st_mode) &&
         st.st_dev == dev && st.st_ino == ino;
}

/* Read the directory dir, queueing its subdirectories; the path of
 * (dev, ino) if it is one of them. */
static char *
search_in(LfsCtx *c, const char *dir, dev_t dev, ino_t ino, GQueue *todo)
{
  int fd = -1;
  if (lfs_open_rel(&c->root, dir, O_RDONLY | O_DIRECTORY, &fd) != 0)
    return NULL;
  DIR *d = fdopendir(fd);
  if (d == NULL) {
    close(fd);
    return NULL;
  }
  char *found = NULL;
  struct dirent *de;
  while (found == NULL && (de = readdir(d)) != NULL) {
    if ((de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) ||
        strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    char *path = lfs_path_join(dir, de->d_name);
    if (is_it(c, path, de->d_ino, dev, ino))
      found = path;
    else
      g_queue_push_tail(todo, path);
  }
  closedir(d);
  return found;
}

static char *
search(LfsCtx *c, dev_t dev, ino_t ino)
{
  GQueue todo = G_QUEUE_INIT;
  g_queue_push_tail(&todo, g_strdup(""));
  char *found = NULL;
  while (found == NULL && !g_queue_is_empty(&todo)) {
    g_autofree char *dir = g_queue_pop_head(&todo);
    found = search_in(c, dir, dev, ino, &todo);
  }
  g_queue_clear_full(&todo, g_free);
  return found;
}

LfsInode *
lfs_page_dir(LfsCtx *c, guint64 vino)
{
  dev_t dev;
  ino_t ino;
  if (!lfs_itab_devino_of(c->itab, vino, &dev, &ino))
    return NULL;
  LfsInode *d = lfs_itab_find(c->itab, dev, ino);
  if (d != NULL && (lfs_inode_type(d) != S_IFDIR || !lfs_itab_named(c->itab, d))) {
    lfs_itab_unref(c->itab, d);
    d = NULL;
  }
  if (d == NULL) {
    g_autofree char *path = search(c, dev, ino);
    int err;
    d = path ? lfs_itab_walk(c->itab, path, &err) : NULL;
    dev_t ddev;
    ino_t dino;
    if (d != NULL && (lfs_inode_devino(d, &ddev, &dino), ddev != dev || dino != ino)) {
      lfs_itab_unref(c->itab, d); /* moved meanwhile */
      d = NULL;
    }
  }
  if (d == lfs_itab_root(c->itab)) { /* its page is .links itself */
    lfs_itab_unref(c->itab, d);
    d = NULL;
  }
  return d;
}
