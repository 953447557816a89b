/* render-hdr.c: header views of one message for the rules (see render.h). */
#include "config.h"
#include "score/render-priv.h"

#include <string.h>

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

void sm_render_one_line(char *s)
{
	for (; *s; s++)
		if (*s == '\r' || *s == '\n')
			*s = ' ';
}

/* @s appended as one line (sm_render_one_line()). */
static void append_one_line(GString *out, const char *s)
{
	gsize start = out->len;
	g_string_append(out, s);
	sm_render_one_line(out->str + start);
}

void sm_render_append_decoded(GString *out, const SmMessage *m, const SmHeader *h)
{
	g_autofree char *unfolded = sm_header_value(m, h);
	g_autofree char *decoded = g_mime_utils_header_decode_text(NULL, unfolded);
	append_one_line(out, decoded ? decoded : unfolded);
}

static void append_line(GString *out, gboolean *first, const char *s)
{
	if (!*first)
		g_string_append_c(out, '\n');
	*first = FALSE;
	append_one_line(out, s ? s : "");
}

static void append_addresses(GString *out, gboolean *first, InternetAddressList *list,
                             SmHeaderForm form)
{
	for (int i = 0; list && i < internet_address_list_length(list); i++) {
		InternetAddress *a = internet_address_list_get_address(list, i);
		if (INTERNET_ADDRESS_IS_GROUP(a)) {
			InternetAddressGroup *g = INTERNET_ADDRESS_GROUP(a);
			append_addresses(out, first, internet_address_group_get_members(g), form);
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
		sm_render_append_decoded(out, m, h);
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

/* Pseudo-fields that stand for several real ones (all of them, in message
 * order), as SpamAssassin defines them. */
static const struct {
	const char *name;
	const char *const fields[4];
} groups[] = {
	{ "ToCc", { "To", "Cc", NULL } },
	{ "MESSAGEID", { "Message-Id", "Resent-Message-Id", "X-Message-Id", NULL } },
};

static gboolean wanted(const SmMessage *m, const SmHeader *h, const char *field)
{
	for (gsize g = 0; g < G_N_ELEMENTS(groups); g++) {
		if (strcmp(field, groups[g].name) != 0)
			continue;
		for (const char *const *f = groups[g].fields; *f; f++)
			if (field_is(m, h, *f))
				return TRUE;
		return FALSE;
	}
	return field_is(m, h, field);
}

/* The envelope sender as the receiving side recorded it: the first of these
 * headers, reduced to its address. */
static char *envelope_from(const SmMessage *m)
{
	static const char *const names[] = { "X-Envelope-From", "Envelope-Sender", "Return-Path" };
	for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree char *v = sm_message_get(m, names[i]);
		if (!v)
			continue;
		char *addr = sm_address_extract(v);
		return addr ? addr : g_strdup(g_strstrip(v));
	}
	return NULL;
}

static const struct {
	const char *name;
	SmRelaysKind kind;
} relays[] = {
	{ "X-Spam-Relays-Trusted", SM_RELAYS_TRUSTED },
	{ "X-Spam-Relays-Untrusted", SM_RELAYS_UNTRUSTED },
	{ "X-Spam-Relays-Internal", SM_RELAYS_INTERNAL },
	{ "X-Spam-Relays-External", SM_RELAYS_EXTERNAL },
};

/* Headers that are computed, not found: FALSE when @field is none of them,
 * else TRUE with the value (or NULL) in *@out. */
static gboolean computed(SmRender *r, const char *field, char **out)
{
	if (strcmp(field, "EnvelopeFrom") == 0) {
		*out = envelope_from(&r->msg);
		return TRUE;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(relays); i++) {
		if (strcmp(field, relays[i].name) == 0) {
			*out = g_strdup(sm_relays_header(r, relays[i].kind));
			return TRUE;
		}
	}
	return FALSE;
}

char *sm_render_header(SmRender *r, const char *field, SmHeaderForm form, SmHeaderPick pick)
{
	const SmMessage *m = &r->msg;
	if (strcmp(field, "ALL") == 0)
		return header_all(m, form);
	char *value = NULL;
	if (computed(r, field, &value))
		return value;

	/* Which of the matching fields: all, or the first or last one only. */
	guint only = G_MAXUINT;
	for (guint i = 0; pick != SM_HDR_EVERY && i < m->headers->len; i++) {
		if (wanted(m, &g_array_index(m->headers, SmHeader, i), field)) {
			only = i;
			if (pick == SM_HDR_FIRST)
				break;
		}
	}
	GString *out = NULL;
	gboolean first_addr = TRUE; /* address forms: one line per address */
	for (guint i = 0; i < m->headers->len; i++) {
		const SmHeader *h = &g_array_index(m->headers, SmHeader, i);
		if (pick != SM_HDR_EVERY ? i != only : !wanted(m, h, field))
			continue;
		if (!out)
			out = g_string_new(NULL);
		else if (form == SM_HDR_DECODED || form == SM_HDR_RAW)
			g_string_append_c(out, '\n');
		append_field(out, m, h, form, &first_addr);
	}
	return out ? g_string_free(out, FALSE) : NULL;
}
