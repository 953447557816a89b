/* message.c: header-block indexing without copying (see message.h). */
#include "config.h"
#include "message.h"

#include <string.h>

/* A field name is printable US-ASCII except colon (RFC 5322 ftext); we also
 * refuse space so that "From sender date" lines are not fields. */
static gsize field_name_len(const char *p, gsize avail)
{
	gsize i = 0;
	while (i < avail && p[i] > ' ' && p[i] < 127 && p[i] != ':')
		i++;
	return (i > 0 && i < avail && p[i] == ':') ? i : 0;
}

static gsize line_end(const char *p, gsize off, gsize len)
{
	const char *nl = memchr(p + off, '\n', len - off);
	return nl ? (gsize)(nl - p) + 1 : len;
}

static gboolean is_blank_line(const char *p, gsize off, gsize len)
{
	if (off < len && p[off] == '\n')
		return TRUE;
	return off + 1 < len && p[off] == '\r' && p[off + 1] == '\n';
}

void sm_message_index(SmMessage *m, const char *data, gsize len)
{
	gsize off = 0;

	m->data = data;
	m->len = len;
	m->headers = g_array_new(FALSE, FALSE, sizeof(SmHeader));
	m->body_off = len;

	while (off < len) {
		if (is_blank_line(data, off, len)) {
			m->body_off = line_end(data, off, len);
			return;
		}
		gsize name_len = field_name_len(data + off, len - off);
		if (name_len == 0) {
			/* Not a header: the body starts here (broken input). */
			m->body_off = off;
			return;
		}
		SmHeader h = { .off = off, .name_len = name_len };
		gsize end = line_end(data, off, len);
		while (end < len && (data[end] == ' ' || data[end] == '\t'))
			end = line_end(data, end, len);
		h.len = end - off;
		if (m->headers->len < SM_MESSAGE_MAX_HEADERS)
			g_array_append_val(m->headers, h);
		off = end;
	}
}

void sm_message_clear(SmMessage *m)
{
	if (m->headers)
		g_array_free(m->headers, TRUE);
	m->headers = NULL;
}

const char *sm_message_fields_end(const SmMessage *m, const char *fields)
{
	gboolean folded = m->len > 0 && (m->data[0] == ' ' || m->data[0] == '\t');
	return folded && fields && *fields ? "\n" : "";
}

const SmHeader *sm_message_next(const SmMessage *m, const char *name, guint *pos)
{
	gsize n = strlen(name);
	for (guint i = *pos; i < m->headers->len; i++) {
		const SmHeader *h = &g_array_index(m->headers, SmHeader, i);
		if (h->name_len == n && g_ascii_strncasecmp(m->data + h->off, name, n) == 0) {
			*pos = i + 1;
			return h;
		}
	}
	*pos = m->headers->len;
	return NULL;
}

char *sm_header_value(const SmMessage *m, const SmHeader *h)
{
	const char *p = m->data + h->off + h->name_len + 1;
	const char *end = m->data + h->off + h->len;
	GString *s = g_string_sized_new(end - p);
	gboolean pending_space = FALSE;

	for (; p < end; p++) {
		char c = *p;
		if (c == '\r' || c == '\n') {
			pending_space = s->len > 0;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\0') {
			pending_space = s->len > 0;
			continue;
		}
		if (pending_space)
			g_string_append_c(s, ' ');
		pending_space = FALSE;
		g_string_append_c(s, c);
	}
	return g_string_free(s, FALSE);
}

char *sm_message_get(const SmMessage *m, const char *name)
{
	guint pos = 0;
	const SmHeader *h = sm_message_next(m, name, &pos);
	return h ? sm_header_value(m, h) : NULL;
}

char *sm_address_extract(const char *value)
{
	if (!value)
		return NULL;
	const char *lt = strchr(value, '<');
	const char *start, *end;
	if (lt) {
		start = lt + 1;
		end = strchr(start, '>');
		if (!end)
			end = start + strlen(start);
	} else {
		start = value;
		while (*start == ' ' || *start == '\t')
			start++;
		end = start;
		while (*end && *end != ' ' && *end != '\t' && *end != ',' && *end != '(')
			end++;
	}
	while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end == start)
		return NULL;
	return g_strndup(start, end - start);
}
