/* render.c: the body views of one message for the rules (see render.h);
 * headers are in render-hdr.c. */
#include "config.h"
#include "score/render-priv.h"
#include "score/uri.h"

#include <string.h>

/* Deeper MIME nesting than this is not rendered (it is never legitimate mail). */
#define MAX_DEPTH 32

/* Text each part contributes to the body rendering at most, in bytes (what
 * SpamAssassin's body_part_scan_size does): spam says what it sells early,
 * and this keeps a 10 MB message from costing a second of regex matching. */
#define PART_SCAN_SIZE 50000

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
	if (r->parts)
		g_ptr_array_free(r->parts, TRUE);
	g_clear_object(&r->mime);
	g_clear_object(&r->stream);
	if (r->body)
		g_string_free(r->body, TRUE);
	if (r->rawbody)
		g_string_free(r->rawbody, TRUE);
	if (r->html_uris)
		g_ptr_array_free(r->html_uris, TRUE);
	if (r->uris)
		g_ptr_array_free(r->uris, TRUE);
	for (int i = 0; i < SM_RELAYS_N; i++)
		g_free(r->relays[i]);
	sm_message_clear(&r->msg);
	g_free(r);
}

const char *sm_render_full(SmRender *r, gsize *len)
{
	*len = r->msg.len;
	return r->msg.data;
}

/* ---- paragraphs ------------------------------------------------------------ */

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

/* ---- text parts -------------------------------------------------------------- */

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

/* The content of @part with its transfer encoding undone, NUL bytes made
 * spaces; with @to_utf8 its charset converted to UTF-8 too. Newly allocated.
 * Not g_mime_text_part_get_text(), which returns a C string and so would end
 * the text at the first NUL byte. What is still not UTF-8 after conversion
 * (no charset, an unknown one, or a wrong one) goes through utf8_or_latin1(). */
static GByteArray *part_text(GMimePart *part, gboolean to_utf8)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	if (!content)
		return NULL;
	GMimeStream *mem = g_mime_stream_mem_new();
	GMimeStream *filtered = g_mime_stream_filter_new(mem);
	const char *charset = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part),
	                                                               "charset");
	GMimeFilter *conv = to_utf8 && charset && !is_utf8_name(charset)
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
	if (to_utf8 && !g_utf8_validate_len((const char *)text->data, text->len, NULL)) {
		GByteArray *fixed = utf8_or_latin1(text->data, text->len);
		g_byte_array_free(text, TRUE);
		text = fixed;
	}
	return text;
}

static gboolean is_html(GMimeObject *part)
{
	GMimeContentType *ct = g_mime_object_get_content_type(part);
	return ct && g_mime_content_type_is_type(ct, "text", "html");
}

/* The text/plain and text/html parts that are not attachments, in MIME order. */
static void collect(GMimeObject *obj, GPtrArray *parts, int depth)
{
	if (!obj || depth > MAX_DEPTH)
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		for (int i = 0; i < g_mime_multipart_get_count(mp); i++)
			collect(g_mime_multipart_get_part(mp, i), parts, depth + 1);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		if (inner)
			collect(g_mime_message_get_mime_part(inner), parts, depth + 1);
	} else if (GMIME_IS_TEXT_PART(obj) && !g_mime_part_is_attachment(GMIME_PART(obj))) {
		GMimeContentType *ct = g_mime_object_get_content_type(obj);
		if (!ct || g_mime_content_type_is_type(ct, "text", "plain") || is_html(obj))
			g_ptr_array_add(parts, obj);
	}
}

static const GPtrArray *text_parts(SmRender *r)
{
	if (!r->parts) {
		r->parts = g_ptr_array_new();
		if (r->mime)
			collect(g_mime_message_get_mime_part(r->mime), r->parts, 0);
	}
	return r->parts;
}

/* ---- part headers ------------------------------------------------------------ */

static void append_part_headers(GMimeObject *obj, const char *field, SmHeaderForm form,
                                GPtrArray *out, int depth)
{
	if (!obj || depth > MAX_DEPTH)
		return;
	GMimeHeaderList *list = g_mime_object_get_header_list(obj);
	for (int i = 0; list && i < g_mime_header_list_get_count(list); i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(list, i);
		if (g_ascii_strcasecmp(g_mime_header_get_name(h), field) != 0)
			continue;
		const char *v = form == SM_HDR_RAW ? g_mime_header_get_raw_value(h)
		                                   : g_mime_header_get_value(h);
		char *copy = g_strdup(v ? v : "");
		if (form != SM_HDR_RAW)
			sm_render_one_line(copy);
		g_ptr_array_add(out, g_strstrip(copy));
	}
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		for (int i = 0; i < g_mime_multipart_get_count(mp); i++)
			append_part_headers(g_mime_multipart_get_part(mp, i), field, form, out,
			                    depth + 1);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		if (inner)
			append_part_headers(g_mime_message_get_mime_part(inner), field, form, out,
			                    depth + 1);
	}
}

GPtrArray *sm_render_part_headers(SmRender *r, const char *field, SmHeaderForm form)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	if (r->mime)
		append_part_headers(g_mime_message_get_mime_part(r->mime), field, form, out, 0);
	return out;
}

/* ---- body ------------------------------------------------------------------ */

static void append_html(SmRender *r, GString *scratch, const GByteArray *a)
{
	g_string_truncate(scratch, 0);
	sm_html_render((const char *)a->data, a->len, scratch, r->html_uris);
	append_paragraphs(r->body, scratch->str, MIN(scratch->len, PART_SCAN_SIZE));
}

static void render_body(SmRender *r)
{
	r->body = g_string_sized_new(MIN(r->msg.len, PART_SCAN_SIZE) + 64);
	r->html_uris = g_ptr_array_new_with_free_func(g_free);
	if (!r->mime) {
		/* Nothing GMime could parse: the rules still see the bytes. */
		append_paragraphs(r->body, r->msg.data, MIN(r->msg.len, PART_SCAN_SIZE));
		return;
	}
	guint pos = 0;
	const SmHeader *subject = sm_message_next(&r->msg, "Subject", &pos);
	if (subject) {
		g_autoptr(GString) s = g_string_new(NULL);
		sm_render_append_decoded(s, &r->msg, subject);
		append_paragraphs(r->body, s->str, s->len);
		r->subject_len = r->body->len;
	}

	/* Plain text first, then HTML made text (the order rules were written for). */
	const GPtrArray *parts = text_parts(r);
	g_autoptr(GString) scratch = g_string_new(NULL);
	for (int html = 0; html <= 1; html++) {
		for (guint i = 0; i < parts->len; i++) {
			GMimeObject *part = parts->pdata[i];
			if (is_html(part) != html)
				continue;
			GByteArray *a = part_text(GMIME_PART(part), TRUE);
			if (!a)
				continue;
			if (html)
				append_html(r, scratch, a);
			else
				append_paragraphs(r->body, (const char *)a->data,
				                  MIN(a->len, PART_SCAN_SIZE));
			g_byte_array_free(a, TRUE);
		}
	}
}

const GString *sm_render_body(SmRender *r)
{
	if (!r->body)
		render_body(r);
	return r->body;
}

gsize sm_render_body_subject_len(SmRender *r)
{
	sm_render_body(r);
	return r->subject_len;
}

/* ---- raw body ---------------------------------------------------------------- */

static void render_rawbody(SmRender *r)
{
	r->rawbody = g_string_new(NULL);
	if (!r->mime) {
		gsize n = MIN(r->msg.len - r->msg.body_off, PART_SCAN_SIZE);
		g_string_append_len(r->rawbody, r->msg.data + r->msg.body_off, n);
		for (gsize i = 0; i < r->rawbody->len; i++)
			if (r->rawbody->str[i] == '\0')
				r->rawbody->str[i] = ' ';
		return;
	}
	const GPtrArray *parts = text_parts(r);
	for (guint i = 0; i < parts->len; i++) {
		GByteArray *a = part_text(GMIME_PART(parts->pdata[i]), FALSE);
		if (!a)
			continue;
		g_string_append_len(r->rawbody, (const char *)a->data, MIN(a->len, PART_SCAN_SIZE));
		if (r->rawbody->len && r->rawbody->str[r->rawbody->len - 1] != '\n')
			g_string_append_c(r->rawbody, '\n');
		g_byte_array_free(a, TRUE);
	}
}

const GString *sm_render_rawbody(SmRender *r)
{
	if (!r->rawbody)
		render_rawbody(r);
	return r->rawbody;
}

/* ---- URIs --------------------------------------------------------------------- */

const GPtrArray *sm_render_uris(SmRender *r)
{
	if (r->uris)
		return r->uris;
	const GString *body = sm_render_body(r);
	g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func(g_free);
	sm_uri_find(body->str, body->len, found);
	for (guint i = 0; i < r->html_uris->len; i++)
		g_ptr_array_add(found, g_strdup(r->html_uris->pdata[i]));
	r->uris = sm_uri_canonical_list(found);
	return r->uris;
}
