/* reply-build.c: the reply message itself, with GMime (see reply.h for what it
 * contains).
 *
 * Header safety is built in two layers. First, every value from the incoming
 * message or the template passes sm_reply_clean_value() (no CR, LF or other
 * controls) and addresses are checked before GMime sees them. Second, the
 * written header block is read back and must consist of exactly the fields
 * this file set, each once, with only folding in between: whatever GMime or
 * a value did, no header field can appear that was not put there on purpose.
 */
#include "config.h"
#include "templates/reply-priv.h"

#include <gmime/gmime.h>
#include <string.h>

#define MAX_REFERENCES 20  /* the last ones of a long thread are the useful ones */

char *sm_reply_clean_value(const char *s)
{
	g_autofree char *valid = g_utf8_make_valid(s ? s : "", -1);
	GString *out = g_string_sized_new(strlen(valid));
	for (const char *p = valid; *p; p++) {
		guchar c = (guchar)*p;
		if (c == '\r' || c == '\n')
			continue;
		/* "=?" as text: GMime 3.2 mis-encodes a value holding one (a line
		 * left without its folding white space, or an encoded word cut in
		 * two), and a reader would take it for an encoded word anyway. */
		if (c == '?' && out->len && out->str[out->len - 1] == '=')
			g_string_append_c(out, ' ');
		g_string_append_c(out, c < 0x20 || c == 0x7f ? ' ' : (char)c);
	}
	if (out->len > SM_REPLY_MAX_HEADER) {
		const char *end = g_utf8_find_prev_char(out->str, out->str + SM_REPLY_MAX_HEADER + 1);
		g_string_truncate(out, end ? (gsize)(end - out->str) : 0);
	}
	g_strstrip(out->str);
	return g_string_free(out, FALSE);
}

/* An address we put in To:/From: ourselves: printable ASCII, an '@' with text
 * on both sides, nothing that quotes, comments or separates. */
static gboolean address_ok(const char *a)
{
	const char *at = a ? strrchr(a, '@') : NULL;
	if (!at || at == a || !at[1])
		return FALSE;
	for (const char *p = a; *p; p++)
		if ((guchar)*p <= ' ' || (guchar)*p >= 0x7f || strchr("<>()[],;:\\\"", *p))
			return FALSE;
	return TRUE;
}

/* ---- the fields we write, remembered for the final check ------------------ */

typedef struct {
	GMimeMessage *msg;
	GPtrArray *names; /* char *, every field name set, in order */
	GPtrArray *notes;
} Builder;

static void set_field(Builder *b, const char *name, const char *value)
{
	g_mime_object_set_header(GMIME_OBJECT(b->msg), name, value, "utf-8");
	g_ptr_array_add(b->names, g_strdup(name));
}

static void add_mailbox(Builder *b, GMimeAddressType type, const char *field,
                        const char *name, const char *address)
{
	InternetAddress *ia = internet_address_mailbox_new(name, address);
	internet_address_set_charset(ia, "utf-8");
	internet_address_list_add(g_mime_message_get_addresses(b->msg, type), ia);
	g_object_unref(ia);
	g_ptr_array_add(b->names, g_strdup(field));
}

/* ---- Message-ID, In-Reply-To, References ---------------------------------- */

/* A message id we can repeat: printable ASCII, no brackets or spaces. */
static gboolean msgid_ok(const char *id)
{
	if (!id || !*id || strlen(id) > 250)
		return FALSE;
	for (const char *p = id; *p; p++)
		if ((guchar)*p <= ' ' || (guchar)*p >= 0x7f || *p == '<' || *p == '>')
			return FALSE;
	return TRUE;
}

static void append_ids(GPtrArray *ids, const char *raw)
{
	if (!raw)
		return;
	GMimeReferences *refs = g_mime_references_parse(NULL, raw);
	if (!refs)
		return;
	for (int i = 0; i < g_mime_references_length(refs); i++) {
		const char *id = g_mime_references_get_message_id(refs, i);
		if (msgid_ok(id))
			g_ptr_array_add(ids, g_strdup(id));
	}
	g_mime_references_free(refs);
}

static void set_threading(Builder *b, const SmMessage *in)
{
	g_autofree char *raw_id = sm_message_get(in, "Message-ID");
	g_autoptr(GPtrArray) parent = g_ptr_array_new_with_free_func(g_free);
	append_ids(parent, raw_id);
	if (parent->len == 0)
		return;
	const char *id = parent->pdata[0];
	g_autofree char *in_reply_to = g_strdup_printf("<%s>", id);
	set_field(b, "In-Reply-To", in_reply_to);

	g_autofree char *raw_refs = sm_message_get(in, "References");
	g_autoptr(GPtrArray) refs = g_ptr_array_new_with_free_func(g_free);
	append_ids(refs, raw_refs);
	g_ptr_array_add(refs, g_strdup(id));
	GString *s = g_string_new(NULL);
	guint first = refs->len > MAX_REFERENCES ? refs->len - MAX_REFERENCES : 0;
	for (guint i = first; i < refs->len; i++)
		g_string_append_printf(s, "%s<%s>", s->len ? " " : "", (char *)refs->pdata[i]);
	set_field(b, "References", s->str);
	g_string_free(s, TRUE);
}

static char *fresh_message_id(const SmReplyRequest *req)
{
	if (req->message_id)
		return g_strdup(req->message_id);
	const char *at = strrchr(req->from_address, '@');
	return g_mime_utils_generate_message_id(at ? at + 1 : g_get_host_name());
}

/* ---- the template's headers ----------------------------------------------- */

static gboolean name_is(const char *a, const char *b)
{
	return g_ascii_strcasecmp(a, b) == 0;
}

/* Reply-To is a list of plain mailboxes (no groups); anything else is dropped. */
static gboolean mailboxes_ok(InternetAddressList *list)
{
	if (!list || internet_address_list_length(list) == 0)
		return FALSE;
	for (int i = 0; i < internet_address_list_length(list); i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		if (!INTERNET_ADDRESS_IS_MAILBOX(ia) ||
		    !address_ok(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia))))
			return FALSE;
	}
	return TRUE;
}

static void set_reply_to(Builder *b, const char *value)
{
	InternetAddressList *list = internet_address_list_parse(NULL, value);
	if (!mailboxes_ok(list)) {
		g_ptr_array_add(b->notes, g_strdup("template header Reply-To ignored: not a list "
		                                   "of plain addresses"));
		if (list)
			g_object_unref(list);
		return;
	}
	for (int i = 0; i < internet_address_list_length(list); i++)
		internet_address_set_charset(internet_address_list_get_address(list, i), "utf-8");
	internet_address_list_append(
		g_mime_message_get_addresses(b->msg, GMIME_ADDRESS_TYPE_REPLY_TO), list);
	g_object_unref(list);
	g_ptr_array_add(b->names, g_strdup("Reply-To"));
}

static gboolean x_name_ok(const char *name)
{
	if (g_ascii_strncasecmp(name, "X-", 2) != 0 || !name[2] || strlen(name) > 76)
		return FALSE;
	for (const char *p = name; *p; p++)
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_')
			return FALSE;
	return TRUE;
}

/* The headers of the template other than Subject and From (used elsewhere).
 * One set to nothing is left out: a template may take back what an INCLUDE
 * set. */
static void set_template_headers(Builder *b, const SmTemplateResult *t)
{
	for (guint i = 0; t->headers && i < t->headers->len; i++) {
		const SmTemplateHeader *h = t->headers->pdata[i];
		if (name_is(h->name, "Subject") || name_is(h->name, "From"))
			continue;
		g_autofree char *value = sm_reply_clean_value(h->value);
		if (!*value)
			continue;
		if (name_is(h->name, "Reply-To")) {
			set_reply_to(b, value);
		} else if (name_is(h->name, "Organization") || name_is(h->name, "Content-Language")) {
			set_field(b, name_is(h->name, "Organization") ? "Organization"
			                                              : "Content-Language", value);
		} else if (x_name_ok(h->name)) {
			set_field(b, h->name, value);
		} else {
			g_autofree char *shown = g_strescape(h->name, NULL);
			g_ptr_array_add(b->notes, g_strdup_printf("template header %s ignored: not "
			                                          "one a template may set", shown));
		}
	}
}

/* ---- the body ------------------------------------------------------------- */

static gboolean needs_qp(const char *text, gsize len)
{
	gsize line = 0;
	for (gsize i = 0; i < len; i++) {
		guchar c = (guchar)text[i];
		if (c >= 0x80 || c == '\r' || c == '\0')
			return TRUE;
		line = c == '\n' ? 0 : line + 1;
		if (line > 998)
			return TRUE;
	}
	return FALSE;
}

static void set_body(Builder *b, const SmTemplateResult *t)
{
	g_autofree char *text = g_utf8_make_valid(t->body ? t->body : "",
	                                          t->body ? (gssize)t->body_len : 0);
	gsize len = strlen(text);
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(text, len);
	GMimeDataWrapper *content = g_mime_data_wrapper_new_with_stream(
		stream, GMIME_CONTENT_ENCODING_DEFAULT);
	g_object_unref(stream);

	GMimePart *part = g_mime_part_new_with_type("text", "plain");
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(part), "charset", "utf-8");
	g_mime_part_set_content(part, content);
	g_object_unref(content);
	g_mime_part_set_content_encoding(part, needs_qp(text, len)
	                                       ? GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE
	                                       : GMIME_CONTENT_ENCODING_7BIT);
	g_mime_message_set_mime_part(b->msg, GMIME_OBJECT(part));
	g_object_unref(part);
	g_ptr_array_add(b->names, g_strdup("MIME-Version"));
	g_ptr_array_add(b->names, g_strdup("Content-Type"));
	g_ptr_array_add(b->names, g_strdup("Content-Transfer-Encoding"));
}

/* ---- the final check ------------------------------------------------------ */

/* The header block of @data must be exactly the fields in @names, each once
 * (names compared without case), with folded continuation lines only. */
static gboolean header_block_ok(const char *data, gsize len, GPtrArray *names, char **why)
{
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	const char *p = data, *end = data + len;
	guint fields = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		if (!nl)
			break;
		if (nl == p) {
			if (fields == names->len)
				return TRUE;
			*why = g_strdup_printf("%u fields instead of %u", fields, names->len);
			return FALSE;
		}
		if (memchr(p, '\r', nl - p) || memchr(p, '\0', nl - p)) {
			*why = g_strdup("a CR or NUL in the header block");
			return FALSE;
		}
		if (*p == ' ' || *p == '\t') {
			p = nl + 1;
			continue;
		}
		const char *colon = memchr(p, ':', nl - p);
		g_autofree char *name = colon ? g_ascii_strdown(p, colon - p) : NULL;
		gboolean known = FALSE;
		for (guint i = 0; name && i < names->len && !known; i++)
			known = g_ascii_strcasecmp(name, names->pdata[i]) == 0;
		if (!known || g_hash_table_contains(seen, name)) {
			g_autofree char *line = g_strndup(p, MIN(nl - p, 60));
			*why = g_strdup_printf("unexpected header line \"%s\"", line);
			return FALSE;
		}
		g_hash_table_add(seen, g_steal_pointer(&name));
		fields++;
		p = nl + 1;
	}
	*why = g_strdup("no end of the header block");
	return FALSE;
}

/* ---- all together ---------------------------------------------------------- */

static char *subject_of(const SmMessage *in, const SmTemplateResult *t)
{
	const char *set = sm_template_result_header(t, "Subject");
	g_autofree char *mine = set ? sm_reply_clean_value(set) : NULL;
	if (mine && *mine)
		return g_steal_pointer(&mine);
	g_autofree char *orig = sm_reply_decoded_header(in, "Subject");
	g_autofree char *clean = sm_reply_clean_value(orig);
	return g_strconcat("Auto: ", *clean ? clean : "your message", NULL);
}

/* head.From is a display name only; an address in it is not ours to use. */
static char *display_name(Builder *b, const SmTemplateResult *t)
{
	const char *set = sm_template_result_header(t, "From");
	if (!set)
		return NULL;
	g_autofree char *name = sm_reply_clean_value(set);
	if (strchr(name, '@') || strchr(name, '<')) {
		g_ptr_array_add(b->notes, g_strdup("template header From ignored: a display name "
		                                   "may not hold '@' or '<'"));
		return NULL;
	}
	return *name ? g_steal_pointer(&name) : NULL;
}

static void write_headers(Builder *b, const SmReplyRequest *req, const SmMessage *in,
                          const SmTemplateResult *t)
{
	g_autofree char *name = display_name(b, t);
	add_mailbox(b, GMIME_ADDRESS_TYPE_FROM, "From", name, req->from_address);
	add_mailbox(b, GMIME_ADDRESS_TYPE_TO, "To", NULL, req->sender);
	g_autofree char *subject = subject_of(in, t);
	g_mime_message_set_subject(b->msg, subject, "utf-8");
	g_ptr_array_add(b->names, g_strdup("Subject"));

	g_autoptr(GDateTime) date = req->date ? g_date_time_new_from_unix_local(req->date)
	                                      : g_date_time_new_now_local();
	g_mime_message_set_date(b->msg, date);
	g_ptr_array_add(b->names, g_strdup("Date"));
	g_autofree char *id = fresh_message_id(req);
	g_mime_message_set_message_id(b->msg, id);
	g_ptr_array_add(b->names, g_strdup("Message-Id"));
	set_threading(b, in);
	set_field(b, "Auto-Submitted", "auto-replied");
	set_template_headers(b, t);
}

gboolean sm_reply_compose(const SmReplyRequest *req, const SmMessage *in,
                          const SmTemplateResult *t, SmReply *out, GError **error)
{
	if (!address_ok(req->sender) || !address_ok(req->from_address)) {
		g_set_error(error, SM_REPLY_ERROR, SM_REPLY_ERROR_BUILD,
		            "cannot reply from <%s> to <%s>: not a plain address",
		            req->from_address ? req->from_address : "",
		            req->sender ? req->sender : "");
		return FALSE;
	}
	if (req->message_id && !msgid_ok(req->message_id)) {
		g_set_error(error, SM_REPLY_ERROR, SM_REPLY_ERROR_BUILD, "bad Message-ID");
		return FALSE;
	}
	Builder b = {
		.msg = g_mime_message_new(FALSE),
		.names = g_ptr_array_new_with_free_func(g_free),
		.notes = g_ptr_array_new_with_free_func(g_free),
	};
	write_headers(&b, req, in, t);
	set_body(&b, t);

	GMimeStream *stream = g_mime_stream_mem_new();
	g_mime_object_write_to_stream(GMIME_OBJECT(b.msg), NULL, stream);
	GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
	g_autofree char *why = NULL;
	gboolean ok = header_block_ok((const char *)bytes->data, bytes->len, b.names, &why);
	if (ok) {
		out->len = bytes->len;
		out->data = g_strndup((const char *)bytes->data, bytes->len);
		out->notes = g_steal_pointer(&b.notes);
	} else {
		g_set_error(error, SM_REPLY_ERROR, SM_REPLY_ERROR_BUILD,
		            "the reply's header block failed its check: %s", why);
	}
	g_object_unref(stream);
	g_object_unref(b.msg);
	g_ptr_array_free(b.names, TRUE);
	if (b.notes)
		g_ptr_array_free(b.notes, TRUE);
	return ok;
}
