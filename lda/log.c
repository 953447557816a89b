/* log.c: delivery log lines (see log.h). */
#include "config.h"
#include "log.h"
#include "fsutil.h"
#include "status.h"

#include <fcntl.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

char *sm_log_token(const char *value)
{
	if (!value || !*value)
		return g_strdup("-");
	GString *s = g_string_new(NULL);
	for (const char *p = value; *p && s->len < 200; p++) {
		unsigned char c = (unsigned char)*p;
		g_string_append_c(s, (c <= ' ' || c == '"' || c == 0x7f) ? '?' : (char)c);
	}
	return g_string_free(s, FALSE);
}

void sm_log_append_quoted(GString *s, const char *key, const char *text)
{
	if (!text)
		return;
	g_autofree char *line = sm_status_one_line(text);
	g_strdelimit(line, "\"", '\'');
	g_string_append_printf(s, " %s=\"%s\"", key, line);
}

void sm_log_line(const SmLogTargets *t, SmLogLevel level, const char *line)
{
	if (t->syslog) {
		openlog("sortmail", LOG_PID | LOG_NDELAY, LOG_MAIL);
		syslog(level == SM_LOG_WARNING ? LOG_WARNING : LOG_INFO, "%s", line);
		closelog();
	}
	if (!t->file && !t->verbose)
		return;
	g_autofree char *prefixed = g_strdup_printf("sortmail[%ld]: %s\n", (long)getpid(), line);
	if (t->file) {
		/* libc's localtime_r, not GDateTime: GLib re-reads the zone file on
		 * every call, a cost each delivery would pay. */
		char stamp[64] = "";
		time_t now = time(NULL);
		struct tm tm;
		if (localtime_r(&now, &tm))
			strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S%z ", &tm);
		g_autofree char *stamped = g_strconcat(stamp, prefixed, NULL);
		int fd = open(t->file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			(void)sm_write_all(fd, stamped, strlen(stamped));
			close(fd);
		}
	}
	if (t->verbose)
		(void)sm_write_all(STDERR_FILENO, prefixed, strlen(prefixed));
}
