/* status.c: failures -> exit status and one-line reason (see status.h). */
#include "config.h"
#include "status.h"

#include <string.h>
#include <unistd.h>

G_DEFINE_QUARK(sm-lda-error-quark, sm_lda_error)

int sm_status_exit_code(const GError *error)
{
	return error ? SM_EXIT_TEMPFAIL : SM_EXIT_OK;
}

static gboolean looks_like_status_code(const char *s)
{
	return g_ascii_isdigit(s[0]) && s[1] == '.' && g_ascii_isdigit(s[2]);
}

char *sm_status_one_line(const char *text)
{
	GString *s = g_string_new(NULL);
	if (!text || !*text)
		text = "unknown error";
	if (looks_like_status_code(text))
		g_string_append(s, "error ");
	for (const char *p = text; *p && s->len < 400; p++)
		g_string_append_c(s, ((unsigned char)*p < 0x20 || *p == 0x7f) ? ' ' : *p);
	return g_string_free(s, FALSE);
}

void sm_status_print(const char *reason)
{
	g_autofree char *line = sm_status_one_line(reason);
	g_autofree char *out = g_strdup_printf("sortmail: %s\n", line);
	ssize_t n = write(STDERR_FILENO, out, strlen(out));
	(void)n;
}
