/* render.c: headers and body text of one message for the rules (see render.h). */
#include "config.h"
#include "score/render.h"
#include "common/message.h"

#include <gmime/gmime.h>
#include <string.h>

/* Deeper MIME nesting than this is not rendered (it is never legitimate mail). */
#define MAX_DEPTH 32

/* Text each part contributes to the body rendering at most, in bytes (what
 * SpamAssassin's body_part_scan_size does): spam says what it sells early,
 * and this keeps a 10 MB message from costing a second of regex matching. */
#define PART_SCAN_SIZE 50000

struct SmRender {
	SmMessage msg;         /* header index over the borrowed bytes */
	GByteArray borrowed;   /* the borrowed bytes seen as an array, never resized */
	GMimeStream *stream;   /* reads @borrowed; GMime parts keep views into it */
	GMimeMessage *mime;    /* NULL when GMime could not parse the message */
	GString *body;         /* NULL until sm_render_body() */
};

SmRender *sm_render_new(const char *data, gsize len)
{
	SmRender *r = g_new0(SmRender, 1);
	sm_message_index(&r->msg, data, len);

	/* No copy: a GMimeStreamMem that does not own its array only ever reads
	 * ->data and ->len, and the parser keeps part contents as substreams of it
	 * (so the stream lives as long as @r). */
	r->borrowed.data = (guint8 *)data;
	r->borrowed.len = (guint)MIN(len, (gsize)G_MAXUINT);
	r->stream = g_mime_stream_mem_new_with_byte_array(&r->borrowed);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(r->stream), FALSE);
	GMimeParser *parser = g_mime_parser_new_with_stream(r->stream);
	r->mime = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	return r;
}

void sm_render_free(SmRender *r)
{
	if (!r)
		return;
	g_clear_object(&r->mime);
	g_clear_object(&r->stream);
	if (r->body)
		g_string_free(r->body, TRUE);
	sm_message_clear(&r->msg);
	g_free(r);
}

/* ---- headers ------------------------------------------------------------- */

static gboolean field_is(const SmMessage *m, const SmHeader *h, const char *name)
{
	return h->name_len == strlen(name) &&
	       g_ascii_strncasecmp(m->data + h->off, name, h->name_len) == 0;
}

/* As written after the colon: leading blanks and the final newline removed,
 * folding kept, NUL bytes made spaces (they would cut the C string). */
static void append_raw(GString *out, const SmMessage *m, const SmHeader *h)
{
	const char *p = m->data + h->off + h->name_len + 1;
	const char *end = m->data + h->off + h->len;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	for (; p < end; p++)
		g_string_append_c(out, *p ? *p : ' ');
}

static void append_decoded(GString *out, const SmMessage *m, const SmHeader *h)
{
	g_autofree char *unfolded = sm_header_value(m, h);
	g_autofree char *decoded = g_mime_utils_header_decode_text(NULL, unfolded);
	g_string_append(out, decoded ? decoded : unfolded);
}

static void append_line(GString *out, gboolean *first, const char *s)
{
	if (!*first)
		g_string_append_c(out, '\n');
	*first = FALSE;
	g_string_append(out, s ? s : "");
}

static void append_addresses(GString *out, gboolean *first, InternetAddressList *list,
                             SmHeaderForm form)
{
	for (int i = 0; list && i < internet_address_list_length(list); i++) {
		InternetAddress *a = internet_address_list_get_address(list, i);
		if (INTERNET_ADDRESS_IS_GROUP(a)) {
			append_addresses(out, first,
			                 internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)),
			                 form);
		} else if (form == SM_HDR_ADDR) {
			append_line(out, first,
			            internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)));
		} else {
			append_line(out, first, internet_address_get_name(a));
		}
	}
}

static void append_field(GString *out, const SmMessage *m, const SmHeader *h,
                         SmHeaderForm form, gboolean *first_addr)
{
	switch (form) {
	case SM_HDR_DECODED:
		append_decoded(out, m, h);
		break;
	case SM_HDR_RAW:
		append_raw(out, m, h);
		break;
	case SM_HDR_ADDR:
	case SM_HDR_NAME: {
		g_autofree char *unfolded = sm_header_value(m, h);
		InternetAddressList *list = internet_address_list_parse(NULL, unfolded);
		append_addresses(out, first_addr, list, form);
		g_clear_object(&list);
		break;
	}
	}
}

static char *header_all(const SmMessage *m, SmHeaderForm form)
{
	GString *out = g_string_new(NULL);
	for (guint i = 0; i < m->headers->len; i++) {
		const SmHeader *h = &g_array_index(m->headers, SmHeader, i);
		g_string_append_len(out, m->data + h->off, h->name_len);
		g_string_append(out, ": ");
		append_field(out, m, h, form, NULL);
		g_string_append_c(out, '\n');
	}
	return g_string_free(out, FALSE);
}

char *sm_render_header(SmRender *r, const char *field, SmHeaderForm form)
{
	const SmMessage *m = &r->msg;
	if (g_ascii_strcasecmp(field, "ALL") == 0)
		return header_all(m, form);
	gboolean tocc = g_ascii_strcasecmp(field, "ToCc") == 0;

	GString *out = NULL;
	gboolean first_addr = TRUE; /* address forms: one line per address */
	for (guint i = 0; i < m->headers->len; i++) {
		const SmHeader *h = &g_array_index(m->headers, SmHeader, i);
		if (tocc ? !field_is(m, h, "To") && !field_is(m, h, "Cc") : !field_is(m, h, field))
			continue;
		if (!out)
			out = g_string_new(NULL);
		else if (form == SM_HDR_DECODED || form == SM_HDR_RAW)
			g_string_append_c(out, '\n');
		append_field(out, m, h, form, &first_addr);
	}
	return out ? g_string_free(out, FALSE) : NULL;
}

/* ---- body ------------------------------------------------------------------ */

/* Length of the UTF-8 sequence at @s that only serves to hide words from
 * rules (zero-width space/joiners, word joiner, BOM, soft hyphen), or 0. */
static gsize invisible_len(const char *s, gsize avail)
{
	const guchar *u = (const guchar *)s;
	if (avail >= 2 && u[0] == 0xC2 && u[1] == 0xAD)
		return 2;
	if (avail >= 3 && u[0] == 0xE2 && u[1] == 0x80 && u[2] >= 0x8B && u[2] <= 0x8D)
		return 3;
	if (avail >= 3 && u[0] == 0xE2 && u[1] == 0x81 && u[2] == 0xA0)
		return 3;
	if (avail >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF)
		return 3;
	return 0;
}

/* Appends @s as paragraphs, one per line (see render.h). */
static void append_paragraphs(GString *out, const char *s, gsize len)
{
	gboolean open = FALSE;
	guint newlines = 0;
	gboolean space = FALSE;

	for (gsize i = 0; i < len; i++) {
		char c = s[i];
		if (c == '\n') {
			newlines++;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || c == '\0') {
			space = TRUE;
			continue;
		}
		if ((guchar)c == 0xC2 && i + 1 < len && (guchar)s[i + 1] == 0xA0) {
			space = TRUE; /* no-break space */
			i++;
			continue;
		}
		gsize skip = (guchar)c >= 0xC2 ? invisible_len(s + i, len - i) : 0;
		if (skip) {
			i += skip - 1;
			continue;
		}
		if (open && newlines >= 2)
			g_string_append_c(out, '\n');
		else if (open && (newlines || space))
			g_string_append_c(out, ' ');
		g_string_append_c(out, c);
		open = TRUE;
		newlines = 0;
		space = FALSE;
	}
	if (open)
		g_string_append_c(out, '\n');
}

typedef struct {
	GPtrArray *plain; /* GByteArray *, UTF-8 */
	GPtrArray *html;  /* GByteArray *, UTF-8 */
} Texts;

static gboolean is_utf8_name(const char *charset)
{
	return g_ascii_strcasecmp(charset, "utf-8") == 0 ||
	       g_ascii_strcasecmp(charset, "utf8") == 0 ||
	       g_ascii_strcasecmp(charset, "us-ascii") == 0;
}

/* Valid UTF-8 sequences kept, every other byte taken as Latin-1: undeclared
 * 8-bit text is most often Latin-1, and one stray byte must not garble the
 * rest of a part that is otherwise proper UTF-8. Newly allocated. */
static GByteArray *utf8_or_latin1(const guint8 *p, gsize len)
{
	GByteArray *out = g_byte_array_sized_new(len + len / 8);
	gsize i = 0;
	while (i < len) {
		/* (gunichar)-1: invalid here, (gunichar)-2: cut short by the end. */
		gunichar c = g_utf8_get_char_validated((const char *)p + i, len - i);
		if (c < (gunichar)-2) {
			gsize n = g_utf8_skip[p[i]];
			g_byte_array_append(out, p + i, n);
			i += n;
		} else {
			char buf[6];
			g_byte_array_append(out, (const guint8 *)buf, g_unichar_to_utf8(p[i], buf));
			i++;
		}
	}
	return out;
}

/* The content of @part with its transfer encoding undone and its charset
 * converted to UTF-8, NUL bytes made spaces; newly allocated. Not
 * g_mime_text_part_get_text(), which returns a C string and so would end the
 * text at the first NUL byte. What is still not UTF-8 afterwards (no charset,
 * an unknown one, or a wrong one) goes through utf8_or_latin1(). */
static GByteArray *part_text(GMimePart *part)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	if (!content)
		return NULL;
	GMimeStream *mem = g_mime_stream_mem_new();
	GMimeStream *filtered = g_mime_stream_filter_new(mem);
	const char *charset = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part),
	                                                               "charset");
	GMimeFilter *conv = charset && !is_utf8_name(charset)
	                    ? g_mime_filter_charset_new(charset, "UTF-8") : NULL;
	if (conv) {
		g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), conv);
		g_object_unref(conv);
	}
	g_mime_data_wrapper_write_to_stream(content, filtered);
	g_mime_stream_flush(filtered);
	g_object_unref(filtered);
	GByteArray *text = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	g_object_unref(mem);

	for (guint i = 0; i < text->len; i++)
		if (text->data[i] == '\0')
			text->data[i] = ' ';
	if (!g_utf8_validate_len((const char *)text->data, text->len, NULL)) {
		GByteArray *fixed = utf8_or_latin1(text->data, text->len);
		g_byte_array_free(text, TRUE);
		text = fixed;
	}
	return text;
}

static void free_text(gpointer p)
{
	g_byte_array_free(p, TRUE);
}

static void collect(GMimeObject *obj, Texts *t, int depth)
{
	if (!obj || depth > MAX_DEPTH)
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		for (int i = 0; i < g_mime_multipart_get_count(mp); i++)
			collect(g_mime_multipart_get_part(mp, i), t, depth + 1);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		if (inner)
			collect(g_mime_message_get_mime_part(inner), t, depth + 1);
	} else if (GMIME_IS_TEXT_PART(obj) && !g_mime_part_is_attachment(GMIME_PART(obj))) {
		GMimeContentType *ct = g_mime_object_get_content_type(obj);
		GPtrArray *into = NULL;
		if (!ct || g_mime_content_type_is_type(ct, "text", "plain"))
			into = t->plain;
		else if (g_mime_content_type_is_type(ct, "text", "html"))
			into = t->html;
		GByteArray *text = into ? part_text(GMIME_PART(obj)) : NULL;
		if (text)
			g_ptr_array_add(into, text);
	}
}

static void render_body(SmRender *r)
{
	r->body = g_string_sized_new(MIN(r->msg.len, PART_SCAN_SIZE) + 64);
	if (!r->mime) {
		/* Nothing GMime could parse: the rules still see the bytes. */
		append_paragraphs(r->body, r->msg.data, MIN(r->msg.len, PART_SCAN_SIZE));
		return;
	}
	guint pos = 0;
	const SmHeader *subject = sm_message_next(&r->msg, "Subject", &pos);
	if (subject) {
		g_autoptr(GString) s = g_string_new(NULL);
		append_decoded(s, &r->msg, subject);
		append_paragraphs(r->body, s->str, s->len);
	}

	Texts t = { g_ptr_array_new_with_free_func(free_text),
	            g_ptr_array_new_with_free_func(free_text) };
	collect(g_mime_message_get_mime_part(r->mime), &t, 0);
	for (guint i = 0; i < t.plain->len; i++) {
		const GByteArray *a = t.plain->pdata[i];
		append_paragraphs(r->body, (const char *)a->data, MIN(a->len, PART_SCAN_SIZE));
	}
	g_autoptr(GString) text = g_string_new(NULL);
	for (guint i = 0; i < t.html->len; i++) {
		const GByteArray *a = t.html->pdata[i];
		g_string_truncate(text, 0);
		sm_html_to_text((const char *)a->data, a->len, text);
		append_paragraphs(r->body, text->str, MIN(text->len, PART_SCAN_SIZE));
	}
	g_ptr_array_free(t.plain, TRUE);
	g_ptr_array_free(t.html, TRUE);
}

const GString *sm_render_body(SmRender *r)
{
	if (!r->body)
		render_body(r);
	return r->body;
}
