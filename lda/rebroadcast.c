/* rebroadcast.c: members files, the admission of a post and the copy for the
 * members (see rebroadcast.h). */
#include "config.h"
#include "rebroadcast.h"
#include "outbound.h"

#include <string.h>

/* ---- members and moderators files -------------------------------------------- */

static gboolean seen(const GPtrArray *a, const char *addr)
{
	for (guint i = 0; i < a->len; i++)
		if (g_ascii_strcasecmp(a->pdata[i], addr) == 0)
			return TRUE;
	return FALSE;
}

gboolean sm_list_parse_addresses(const char *text, gsize len, const char *name,
                                 GPtrArray *out, GError **error)
{
	const char *end = text + len;
	guint line = 0;
	for (const char *s = text; s < end;) {
		const char *nl = memchr(s, '\n', end - s);
		const char *eol = nl ? nl : end;
		line++;
		if (memchr(s, '\0', eol - s)) {
			g_set_error(error, SM_CONFIG_ERROR, SM_CONFIG_ERROR_PARSE,
			            "%s:%u: NUL byte in line", name, line);
			return FALSE;
		}
		g_autofree char *text_line = g_strndup(s, eol - s);
		char *hash = strchr(text_line, '#');
		if (hash)
			*hash = '\0';
		g_strstrip(text_line);
		s = nl ? nl + 1 : end;
		if (!*text_line)
			continue;
		if (!sm_address_is_plain(text_line)) {
			g_autofree char *shown = g_strescape(text_line, NULL);
			g_set_error(error, SM_CONFIG_ERROR, SM_CONFIG_ERROR_PARSE,
			            "%s:%u: bad address '%s' (one plain address per line)", name,
			            line, shown);
			return FALSE;
		}
		if (!seen(out, text_line))
			g_ptr_array_add(out, g_steal_pointer(&text_line));
	}
	return TRUE;
}

gboolean sm_list_read_addresses(const char *path, GPtrArray *out, GError **error)
{
	g_autofree char *text = NULL;
	gsize len;
	if (!g_file_get_contents(path, &text, &len, error))
		return FALSE;
	return sm_list_parse_addresses(text, len, path, out, error);
}

/* ---- From: ------------------------------------------------------------------- */

/* Past a quoted string (at '"') or a comment (at '('; comments nest). */
static const char *skip_quoted(const char *s)
{
	if (*s == '"') {
		for (s++; *s && *s != '"'; s++)
			if (*s == '\\' && s[1])
				s++;
		return *s ? s + 1 : s;
	}
	int depth = 0;
	for (; *s; s++) {
		if (*s == '\\' && s[1])
			s++;
		else if (*s == '(')
			depth++;
		else if (*s == ')' && --depth == 0)
			return s + 1;
	}
	return s;
}

char *sm_list_from_address(const char *value)
{
	if (!value)
		return NULL;
	/* The first '<' outside quotes and comments starts the angle-addr;
	 * meanwhile collect the text without comments, for a bare addr-spec. */
	GString *bare = g_string_new(NULL);
	for (const char *s = value; *s;) {
		if (*s == '"' || *s == '(') {
			const char *next = skip_quoted(s);
			if (*s == '"')
				g_string_append_len(bare, s, next - s);
			else
				g_string_append_c(bare, ' ');
			s = next;
		} else if (*s == '<') {
			g_string_free(bare, TRUE);
			const char *gt = strchr(s + 1, '>');
			g_autofree char *inner = g_strndup(s + 1, gt ? (gsize)(gt - s - 1)
			                                             : strlen(s + 1));
			g_strstrip(inner);
			return *inner ? g_steal_pointer(&inner) : NULL;
		} else if (*s == ',') {
			break; /* a second mailbox: the first one had no angle-addr */
		} else {
			g_string_append_c(bare, *s++);
		}
	}
	g_strstrip(bare->str);
	char *addr = *bare->str && !strpbrk(bare->str, " \t") ? g_strdup(bare->str) : NULL;
	g_string_free(bare, TRUE);
	return addr;
}

/* ---- admission --------------------------------------------------------------- */

/* TRUE when a List-Id field of @m names @id ("phrase <id>" or "<id>"). */
static gboolean carries_list_id(const SmMessage *m, const char *id)
{
	guint pos = 0;
	const SmHeader *h;
	while ((h = sm_message_next(m, "List-Id", &pos))) {
		g_autofree char *v = sm_header_value(m, h);
		g_autofree char *inner = sm_list_from_address(v);
		if (g_ascii_strcasecmp(inner ? inner : v, id) == 0)
			return TRUE;
	}
	return FALSE;
}

/* "Name: value" of the first field @name whose value (its first word, any
 * case) is one of @words (NULL-terminated) or, with @negate, is not. */
static char *field_with(const SmMessage *m, const char *name, const char *const *words,
                        gboolean negate)
{
	guint pos = 0;
	const SmHeader *h;
	while ((h = sm_message_next(m, name, &pos))) {
		g_autofree char *v = sm_header_value(m, h);
		gsize n = strcspn(v, " \t;(");
		gboolean listed = FALSE;
		for (guint i = 0; words[i] && !listed; i++)
			listed = n == strlen(words[i]) && g_ascii_strncasecmp(v, words[i], n) == 0;
		if (listed != negate)
			return g_strdup_printf("%s: %s", name, v);
	}
	return NULL;
}

const char *sm_list_screen(const SmList *l, const SmEnvelope *env, const SmMessage *m,
                           const SmVerdict *v, char **detail)
{
	static const char *const no[] = { "no", NULL };
	static const char *const bulk[] = { "bulk", "junk", "list", NULL };
	*detail = NULL;
	if (carries_list_id(m, l->id)) {
		*detail = g_strdup_printf("List-Id: <%s>", l->id);
		return "suppressed:loop";
	}
	if (v->source == SM_VERDICT_NONE) {
		*detail = g_strdup("not scored, so spam cannot be ruled out");
		return "held:unscored";
	}
	if (v->is_spam)
		return "held:spam";
	if (!env->sender || !*env->sender) {
		*detail = g_strdup("null envelope sender");
		return "held:automatic";
	}
	if ((*detail = field_with(m, "Auto-Submitted", no, TRUE)) ||
	    (*detail = field_with(m, "Precedence", bulk, FALSE)))
		return "held:automatic";
	return NULL;
}

gboolean sm_list_sender_allowed(const GPtrArray *allowed, const SmEnvelope *env,
                                const SmMessage *m, char **who)
{
	g_autofree char *from_value = sm_message_get(m, "From");
	g_autofree char *from = sm_list_from_address(from_value);
	const char *sender = env->sender ? env->sender : "";
	*who = g_strdup_printf("From %s, envelope sender %s", from ? from : "(none)",
	                       *sender ? sender : "<>");
	return (from && seen(allowed, from)) || (*sender && seen(allowed, sender));
}

/* ---- the copy ---------------------------------------------------------------- */

/* Fields of the message the copy leaves out: the list's own fields are set
 * anew (another list's List-Unsubscribe would unsubscribe a member from that
 * one), and the final delivery writes its own Return-Path. */
static gboolean dropped(const SmMessage *m, const SmHeader *h)
{
	const char *name = m->data + h->off;
	gsize n = h->name_len;
	return (n > 5 && g_ascii_strncasecmp(name, "List-", 5) == 0) ||
	       (n == 10 && g_ascii_strncasecmp(name, "Precedence", 10) == 0) ||
	       (n == 11 && g_ascii_strncasecmp(name, "Return-Path", 11) == 0);
}

/* The Subject field @h with @tag in front of its text. */
static void append_tagged(GString *s, const SmMessage *m, const SmHeader *h, const char *tag)
{
	const char *field = m->data + h->off;
	const char *rest = field + h->name_len + 1; /* past the colon */
	gsize rest_len = h->len - h->name_len - 1;
	g_string_append_len(s, field, h->name_len);
	g_string_append_printf(s, ": %s", tag);
	if (rest_len && rest[0] != ' ' && rest[0] != '\t' && rest[0] != '\r' && rest[0] != '\n')
		g_string_append_c(s, ' ');
	g_string_append_len(s, rest, rest_len);
}

/* Whether the copy's subject needs the tag, and which field gets it. */
static const SmHeader *subject_to_tag(const SmList *l, const SmMessage *m, gboolean *add)
{
	*add = FALSE;
	if (!l->tag)
		return NULL;
	guint pos = 0;
	const SmHeader *h = sm_message_next(m, "Subject", &pos);
	if (!h) {
		*add = TRUE;
		return NULL;
	}
	g_autofree char *v = sm_header_value(m, h);
	g_autofree char *vl = g_ascii_strdown(v, -1);
	g_autofree char *tl = g_ascii_strdown(l->tag, -1);
	return strstr(vl, tl) ? NULL : h;
}

char *sm_list_build_copy(const SmList *l, const SmMessage *m, const char *prefix,
                         const char *loop_value, gsize *len)
{
	gboolean add_subject;
	const SmHeader *tagged = subject_to_tag(l, m, &add_subject);
	GString *s = g_string_sized_new(m->len + 512);
	g_string_append_printf(s, "%s: %s\n%s", SM_LOOP_HEADER, loop_value, prefix);
	g_string_append_printf(s, "List-Id: <%s>\nList-Post: <mailto:%s>\nPrecedence: list\n",
	                       l->id, l->post);
	if (add_subject)
		g_string_append_printf(s, "Subject: %s\n", l->tag);
	g_string_append(s, sm_message_fields_end(m, s->str));
	/* The bytes between indexed fields (there are none, unless the index
	 * stopped at its limit) go as they are. */
	gsize at = 0;
	for (guint i = 0; m->headers && i < m->headers->len; i++) {
		const SmHeader *h = &g_array_index(m->headers, SmHeader, i);
		g_string_append_len(s, m->data + at, h->off - at);
		at = h->off + h->len;
		if (h == tagged)
			append_tagged(s, m, h, l->tag);
		else if (!dropped(m, h))
			g_string_append_len(s, m->data + h->off, h->len);
	}
	g_string_append_len(s, m->data + at, m->len - at);
	*len = s->len;
	return g_string_free(s, FALSE);
}
