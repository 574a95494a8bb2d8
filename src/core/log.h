/* log.h: the daemon's warnings. In the foreground they go to stderr; once
 * the daemon has detached (stderr is /dev/null then) to the system journal,
 * or to syslog where no journal runs. No FUSE. */
#pragma once

#include <glib.h>
#include <stdarg.h>

typedef struct LfsLog LfsLog;

/* Install the writer for the process (once, at start; it lives as long as
 * the process): to stderr until lfs_log_detached. */
LfsLog *lfs_log_new(void);
/* The daemon has detached from its terminal. */
void lfs_log_detached(LfsLog *log);
/* A warning, one line, without the "linkfs: warning: " prefix. */
void lfs_warn(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void lfs_warnv(const char *fmt, va_list ap) G_GNUC_PRINTF(1, 0);
