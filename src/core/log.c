/* log.c: warnings through GLib's structured logging, so that a detached
 * daemon's reach the system journal (or syslog) instead of a closed
 * stderr. */
#include "log.h"

#include <stdio.h>
#include <syslog.h>

struct LfsLog {
  gint detached; /* atomic: read by every thread that warns */
};

static const char *
field_text(const GLogField *fields, gsize n, const char *key)
{
  for (gsize k = 0; k < n; k++)
    if (g_strcmp0(fields[k].key, key) == 0 && fields[k].length < 0)
      return fields[k].value;
  return NULL;
}

static int
syslog_priority(GLogLevelFlags level)
{
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    return LOG_ERR;
  if (level & G_LOG_LEVEL_WARNING)
    return LOG_WARNING;
  return LOG_INFO;
}

/* In the foreground: a warning as "linkfs: warning: MESSAGE"; a message
 * that carries LINKFS_RAW (libfuse's own, -d's debug output) exactly as
 * it is, newline included (libfuse writes some lines in pieces). */
static void
to_stderr(GLogLevelFlags level, const char *msg, gboolean raw)
{
  if (raw)
    fputs(msg, stderr);
  else if (!(level & G_LOG_LEVEL_DEBUG) ||
           !g_log_writer_default_would_drop(level, "linkfs"))
    fprintf(stderr, "linkfs: %s%s\n", (level & G_LOG_LEVEL_WARNING) ? "warning: " : "",
            msg);
}

static GLogWriterOutput
writer(GLogLevelFlags level, const GLogField *fields, gsize n, gpointer data)
{
  LfsLog *log = data;
  const char *msg = field_text(fields, n, "MESSAGE");
  if (msg == NULL)
    msg = "";
  if (!g_atomic_int_get(&log->detached)) {
    to_stderr(level, msg, field_text(fields, n, "LINKFS_RAW") != NULL);
    return G_LOG_WRITER_HANDLED;
  }
  if (level & G_LOG_LEVEL_DEBUG)
    return G_LOG_WRITER_HANDLED;
  if (g_log_writer_journald(level, fields, n, NULL) == G_LOG_WRITER_HANDLED)
    return G_LOG_WRITER_HANDLED;
  g_autofree char *line = g_strchomp(g_strdup(msg));
  syslog(syslog_priority(level), "%s", line);
  return G_LOG_WRITER_HANDLED;
}

LfsLog *
lfs_log_new(void)
{
  LfsLog *log = g_new0(LfsLog, 1);
  /* GLib lets a process set its writer once, so log lives as long as the
   * process (reachable from GLib's writer: never reported as a leak). */
  g_log_set_writer_func(writer, log, NULL);
  return log;
}

void
lfs_log_detached(LfsLog *log)
{
  openlog("linkfs", LOG_PID, LOG_DAEMON);
  g_atomic_int_set(&log->detached, 1);
}

void
lfs_warnv(const char *fmt, va_list ap)
{
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  g_log_structured("linkfs", G_LOG_LEVEL_WARNING, "SYSLOG_IDENTIFIER", "linkfs",
                   "MESSAGE", "%s", msg);
}

void
lfs_warn(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  lfs_warnv(fmt, ap);
  va_end(ap);
}
