/* mbox-read.c: mbox -> messages, From_ lines un-quoted (see mbox-read.h). */
#include "config.h"
#include "mbox-read.h"

#include <string.h>

static gboolean one_of(const char *p, const char *const *names)
{
	for (; *names; names++)
		if (g_ascii_strncasecmp(p, *names, 3) == 0)
			return TRUE;
	return FALSE;
}

static const char *skip_blanks(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static const char *skip_digits(const char *p, const char *end, int *n)
{
	*n = 0;
	while (p < end && g_ascii_isdigit(*p)) {
		p++;
		(*n)++;
	}
	return p;
}

/* "Www Mmm dd hh:mm[:ss]" and a four-digit year somewhere after it. */
static gboolean is_ctime_date(const char *p, const char *end)
{
	static const char *const days[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
		                            NULL };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
		                              "Aug", "Sep", "Oct", "Nov", "Dec", NULL };
	int n;
	if (end - p < 3 || !one_of(p, days))
		return FALSE;
	p = skip_blanks(p + 3, end);
	if (end - p < 3 || !one_of(p, months))
		return FALSE;
	p = skip_blanks(p + 3, end);
	p = skip_digits(p, end, &n);
	if (n < 1 || n > 2)
		return FALSE;
	p = skip_blanks(p, end);
	p = skip_digits(p, end, &n);
	if (n < 1 || n > 2 || p >= end || *p != ':')
		return FALSE;
	p = skip_digits(p + 1, end, &n);
	if (n != 2)
		return FALSE;
	for (; p < end; p++) {
		const char *q = skip_digits(p, end, &n);
		if (n == 4 && (p[-1] == ' ' || p[-1] == '\t'))
			return TRUE;
		if (n)
			p = q - 1;
	}
	return FALSE;
}

gboolean sm_mbox_is_from_line(const char *line, gsize len)
{
	const char *end = line + len;
	while (end > line && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if (end - line < 5 || memcmp(line, "From ", 5) != 0)
		return FALSE;
	const char *p = skip_blanks(line + 5, end);
	if (p < end && *p == '"') {     /* "a quoted local part"@domain */
		const char *q = memchr(p + 1, '"', end - p - 1);
		if (!q)
			return FALSE;
		p = q + 1;
	}
	const char *sender = p;
	while (p < end && *p != ' ' && *p != '\t')
		p++;
	if (p == sender && sender == line + 5)
		return FALSE;
	return is_ctime_date(skip_blanks(p, end), end);
}

void sm_mbox_reader_init(SmMboxReader *r, const char *data, gsize len, SmMboxFormat format)
{
	*r = (SmMboxReader){ .data = data, .len = len, .format = format };
}

/* The line at @p: its length, newline included. */
static gsize line_len(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', end - p);
	return nl ? (gsize)(nl - p) + 1 : (gsize)(end - p);
}

static gboolean is_empty_line(const char *p, gsize n)
{
	return (n == 1 && p[0] == '\n') || (n == 2 && p[0] == '\r' && p[1] == '\n');
}

/* TRUE when the line at @p must lose its first '>' under @f. */
static gboolean is_quoted(const char *p, gsize n, SmMboxFormat f)
{
	gsize i = 0;
	while (i < n && p[i] == '>')
		i++;
	if (i == 0 || (f == SM_MBOX_MBOXO && i != 1))
		return FALSE;
	return n - i >= 5 && memcmp(p + i, "From ", 5) == 0;
}

char *sm_mbox_from_sender(const char *p, gsize n)
{
	const char *end = p + n, *s = skip_blanks(p + 5, end), *e = s;
	if (e < end && *e == '"') {
		const char *q = memchr(e + 1, '"', end - e - 1);
		e = q ? q + 1 : e;
	}
	while (e < end && *e != ' ' && *e != '\t' && *e != '\r' && *e != '\n')
		e++;
	/* A NUL byte would cut the string short: that is no sender at all. */
	if (e == s || memchr(s, '\0', e - s))
		return NULL;
	return g_strndup(s, e - s);
}

/* Copies [@start, @end) without the first '>' of each quoted line. */
static char *unquote(const char *start, const char *end, SmMboxFormat f, gsize *len)
{
	char *out = g_malloc(end - start + 1), *o = out;
	for (const char *p = start; p < end;) {
		gsize n = line_len(p, end);
		gsize skip = is_quoted(p, n, f) ? 1 : 0;
		memcpy(o, p + skip, n - skip);
		o += n - skip;
		p += n;
	}
	*o = '\0';
	*len = (gsize)(o - out);
	return out;
}

gboolean sm_mbox_next(SmMboxReader *r, SmMboxMessage *m)
{
	*m = (SmMboxMessage){ .offset = r->pos };
	const char *p = r->data + r->pos, *end = r->data + r->len;
	if (p >= end)
		return FALSE;
	gsize n = line_len(p, end);
	if (sm_mbox_is_from_line(p, n)) {
		m->from_sender = sm_mbox_from_sender(p, n);
		p += n;
	}
	const char *start = p, *last_empty = NULL, *stop = end;
	for (; p < end; p += n) {
		n = line_len(p, end);
		if (sm_mbox_is_from_line(p, n)) {
			stop = p;
			break;
		}
		if (is_quoted(p, n, r->format))
			m->unquoted++;
		last_empty = is_empty_line(p, n) ? p : NULL;
	}
	r->pos = (gsize)(stop - r->data);
	/* The empty line before the next From_ line (or ending the file) is the
	 * mbox's separator; without it the last message was probably cut. */
	const char *msg_end = stop;
	if (last_empty && last_empty > start)
		msg_end = last_empty;
	else if (stop == end && start < end)
		m->truncated = TRUE;
	if (m->unquoted) {
		m->owned = unquote(start, msg_end, r->format, &m->len);
		m->data = m->owned;
	} else {
		m->data = start;
		m->len = (gsize)(msg_end - start);
	}
	return TRUE;
}

void sm_mbox_message_clear(SmMboxMessage *m)
{
	g_free(m->owned);
	g_free(m->from_sender);
	*m = (SmMboxMessage){ 0 };
}
