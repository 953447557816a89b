/* spamd-reply.c: spamd's reply to SYMBOLS, parsed (see spamd.h,
 * sm_spamd_parse_reply).
 *
 *   SPAMD/1.1 0 EX_OK
 *   Content-length: 27
 *   Spam: True ; 1000.0 / 5.0
 *
 *   GTUBE,NO_RECEIVED,NO_RELAYS
 *
 * Lines end in CRLF (a bare LF is accepted). Anything that does not start
 * like this is known to be garbage from its first bytes; a non-zero status is
 * a failure; rule names must be SpamAssassin's (letters, digits, _), since
 * they end up in a header.
 */
#include "config.h"
#include "score/spamd.h"

#include <math.h>
#include <string.h>

#define MAX_REPLY (64 * 1024)
#define MAX_HEAD 8192

void sm_spamd_reply_clear(SmSpamdReply *r)
{
	if (r->rules)
		g_ptr_array_free(r->rules, TRUE);
	*r = (SmSpamdReply){ 0 };
}

/* ---- the reply --------------------------------------------------------- */

/* @s without control bytes and at most 120 characters, for a message. */
static char *shown(const char *s, gsize len)
{
	GString *o = g_string_new(NULL);
	for (gsize i = 0; i < len && o->len < 120; i++)
		g_string_append_c(o, (guchar)s[i] < ' ' || (guchar)s[i] >= 127 ? '?' : s[i]);
	return g_string_free(o, FALSE);
}

static SmSpamdParse bad(char **why, char *message)
{
	*why = message;
	return SM_SPAMD_PARSE_BAD;
}

/* The lines of the head, without their "\r\n" or "\n"; NULL when the head
 * is not complete yet. *@body_at: where the body starts. */
static GPtrArray *head_lines(const char *buf, gsize len, gsize *body_at)
{
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
	gsize at = 0;
	for (;;) {
		const char *nl = memchr(buf + at, '\n', len - at);
		if (!nl) {
			g_ptr_array_free(lines, TRUE);
			return NULL;
		}
		gsize end = nl - buf, stop = end > at && buf[end - 1] == '\r' ? end - 1 : end;
		char *line = g_strndup(buf + at, stop - at);
		at = end + 1;
		if (!*line) {
			g_free(line);
			*body_at = at;
			return lines;
		}
		g_ptr_array_add(lines, line);
	}
}

/* "SPAMD/1.1 0 EX_OK": the status code, or -1 when the line is not one. */
static int status_code(const char *line, const char **text)
{
	if (!g_str_has_prefix(line, "SPAMD/"))
		return -1;
	const char *p = line + 6;
	if (!g_ascii_isdigit(*p))
		return -1;
	while (g_ascii_isdigit(*p) || *p == '.')
		p++;
	if (*p != ' ' || !g_ascii_isdigit(p[1]))
		return -1;
	char *end = NULL;
	guint64 code = g_ascii_strtoull(p + 1, &end, 10);
	if (code > 255 || (*end && *end != ' '))
		return -1;
	*text = *end ? end + 1 : end;
	return (int)code;
}

/* "True ; 7.3 / 5.0" (or Yes/No, as old spamd wrote). */
static gboolean parse_spam(const char *v, SmSpamdReply *out)
{
	gsize n = strcspn(v, " ;");
	if (n == 4 && (g_ascii_strncasecmp(v, "true", 4) == 0))
		out->is_spam = TRUE;
	else if (n == 3 && g_ascii_strncasecmp(v, "yes", 3) == 0)
		out->is_spam = TRUE;
	else if ((n == 5 && g_ascii_strncasecmp(v, "false", 5) == 0)
	         || (n == 2 && g_ascii_strncasecmp(v, "no", 2) == 0))
		out->is_spam = FALSE;
	else
		return FALSE;
	const char *p = v + n;
	while (*p == ' ')
		p++;
	if (*p++ != ';')
		return FALSE;
	char *end = NULL;
	out->score = g_ascii_strtod(p, &end);
	if (end == p || !isfinite(out->score))
		return FALSE;
	p = end;
	while (*p == ' ')
		p++;
	if (*p++ != '/')
		return FALSE;
	out->threshold = g_ascii_strtod(p, &end);
	if (end == p || !isfinite(out->threshold))
		return FALSE;
	while (*end == ' ')
		end++;
	return *end == '\0';
}

/* SpamAssassin's rule names: letters, digits, underscores. */
static gboolean is_rule_name(const char *s)
{
	gsize n = 0;
	for (; s[n]; n++)
		if (!g_ascii_isalnum(s[n]) && s[n] != '_')
			return FALSE;
	return n > 0 && n <= 128;
}

static GPtrArray *parse_symbols(const char *body, gsize len)
{
	g_autofree char *text = g_strndup(body, len);
	g_auto(GStrv) names = g_strsplit(text, ",", -1);
	GPtrArray *rules = g_ptr_array_new_with_free_func(g_free);
	for (char **n = names; *n; n++) {
		g_strstrip(*n);
		if (!**n)
			continue;
		if (!is_rule_name(*n)) {
			g_ptr_array_free(rules, TRUE);
			return NULL;
		}
		g_ptr_array_add(rules, g_strdup(*n));
	}
	return rules;
}

/* The reply's head is incomplete: read on, unless that cannot help. */
static SmSpamdParse head_incomplete(gsize len, gboolean closed, char **why)
{
	if (len > MAX_HEAD)
		return bad(why, g_strdup("reply head too long"));
	if (closed)
		return bad(why, g_strdup("reply cut short"));
	return SM_SPAMD_PARSE_MORE;
}

/* The status line: OK to go on, or BAD (not spamd, or a failure status). */
static SmSpamdParse check_status(const char *buf, gsize len, char **why)
{
	g_autofree char *first = g_strndup(buf, len);
	g_strchomp(first);
	const char *text = NULL;
	int code = status_code(first, &text);
	g_autofree char *line = shown(first, strlen(first));
	if (code < 0)
		return bad(why, g_strdup_printf("not a spamd reply: '%s'", line));
	if (code != 0)
		return bad(why, g_strdup_printf("spamd failed: '%s'", line));
	return SM_SPAMD_PARSE_OK;
}

SmSpamdParse sm_spamd_parse_reply(const char *buf, gsize len, gboolean closed,
                                  SmSpamdReply *out, char **why)
{
	/* Garbage is known as such from its first bytes: no need to wait. */
	if (strncmp(buf, "SPAMD/", MIN(len, 6)) != 0) {
		const char *eol = memchr(buf, '\n', len);
		gsize n = eol ? (gsize)(eol - buf) : len;
		g_autofree char *s = shown(buf, n && buf[n - 1] == '\r' ? n - 1 : n);
		return bad(why, g_strdup_printf("not a spamd reply: '%s'", s));
	}
	const char *nl = memchr(buf, '\n', len);
	if (!nl)
		return head_incomplete(len, closed, why);
	if (check_status(buf, nl - buf, why) == SM_SPAMD_PARSE_BAD)
		return SM_SPAMD_PARSE_BAD;
	gsize body_at = 0;
	g_autoptr(GPtrArray) lines = head_lines(buf, len, &body_at);
	if (!lines)
		return head_incomplete(len, closed, why);

	SmSpamdReply r = { 0 };
	gboolean have_spam = FALSE;
	gint64 clen = -1;
	for (guint i = 1; i < lines->len; i++) {
		const char *line = lines->pdata[i], *colon = strchr(line, ':');
		g_autofree char *s = shown(line, strlen(line));
		if (!colon)
			return bad(why, g_strdup_printf("bad header line in the reply: '%s'", s));
		const char *value = colon + 1 + strspn(colon + 1, " \t");
		gsize n = colon - line;
		if (n == 14 && g_ascii_strncasecmp(line, "Content-length", n) == 0) {
			char *end = NULL;
			guint64 v = g_ascii_strtoull(value, &end, 10);
			if (!g_ascii_isdigit(*value) || *end || v > MAX_REPLY)
				return bad(why, g_strdup_printf("bad header in the reply: '%s'", s));
			clen = (gint64)v;
		} else if (n == 4 && g_ascii_strncasecmp(line, "Spam", n) == 0) {
			if (!parse_spam(value, &r))
				return bad(why, g_strdup_printf("bad header in the reply: '%s'", s));
			have_spam = TRUE;
		}
	}
	if (!have_spam)
		return bad(why, g_strdup("no Spam: header in the reply"));
	gsize avail = len - body_at;
	if ((clen >= 0 && avail < (gsize)clen) || (clen < 0 && !closed))
		return closed ? bad(why, g_strdup("reply cut short")) : SM_SPAMD_PARSE_MORE;
	r.rules = parse_symbols(buf + body_at, clen >= 0 ? (gsize)clen : avail);
	if (!r.rules)
		return bad(why, g_strdup("a rule name in the reply is not one"));
	*out = r;
	return SM_SPAMD_PARSE_OK;
}
