/* log.h: the one line per delivery, to syslog (facility mail), to an optional
 * log file (appended with one write, so concurrent deliveries do not interleave)
 * and to stderr with -v. Logging never fails a delivery. */
#ifndef SM_LOG_H
#define SM_LOG_H

#include <glib.h>

typedef struct {
	gboolean syslog;
	const char *file;   /* NULL: none */
	gboolean verbose;   /* also stderr */
} SmLogTargets;

typedef enum { SM_LOG_INFO, SM_LOG_WARNING } SmLogLevel;

void sm_log_line(const SmLogTargets *t, SmLogLevel level, const char *line);

/* @value made safe as one key=value token: spaces, '"' and control characters
 * become '?', empty becomes "-", at most 200 bytes. Newly allocated. */
char *sm_log_token(const char *value);

/* Appends ` KEY="TEXT"` to @s, TEXT made one safe line (sm_status_one_line)
 * with '"' turned into '\''. Nothing when @text is NULL. */
void sm_log_append_quoted(GString *s, const char *key, const char *text);

#endif
