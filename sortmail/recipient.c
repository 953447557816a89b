/* recipient.c: the envelope's lifetime, original-recipient recovery, un-plus
 * rules and personal addresses (see sortmail.h).
 *
 * Contract: pure functions over strings; nothing here reads the process
 * environment or the file system. Every address that comes out has had its
 * control characters removed, since it ends up in folder names (through rule
 * captures) and log lines, and comes from headers anybody can write.
 */
#include "config.h"
#include "sortmail/sortmail.h"

#include <string.h>

void sm_envelope_clear(SmEnvelope *e)
{
	g_free(e->sender);
	g_free(e->recipient);
	g_free(e->original_recipient);
	g_free(e->user);
	g_free(e->home);
	g_free(e->extension);
	*e = (SmEnvelope){ 0 };
}

/* Drops control characters, then any surrounding spaces and angle brackets
 * ("<fred@x>" as some MTAs write it). NULL in, NULL out. */
static char *clean_address(const char *s)
{
	if (!s)
		return NULL;
	GString *out = g_string_sized_new(strlen(s));
	for (const char *p = s; *p; p++) {
		guchar c = (guchar)*p;
		if (c >= 0x20 && c != 0x7f)
			g_string_append_c(out, (char)c);
	}
	gsize start = 0, end = out->len;
	while (start < end && strchr(" <>", out->str[start]))
		start++;
	while (end > start && strchr(" <>", out->str[end - 1]))
		end--;
	char *r = g_strndup(out->str + start, end - start);
	g_string_free(out, TRUE);
	return r;
}

char *sm_unplus(const SmConfig *c, const char *address, const SmUnplus **used)
{
	if (used)
		*used = NULL;
	if (!c || !address)
		return NULL;
	for (guint i = 0; c->unplus && i < c->unplus->len; i++) {
		const SmUnplus *u = c->unplus->pdata[i];
		char *r = sm_regex_expand(u->re, address, u->replacement);
		if (r) {
			if (used)
				*used = u;
			return r;
		}
	}
	return NULL;
}

/* Cleans @raw and applies the un-plus rules; FALSE (and @out untouched) when
 * nothing usable is left, so that recovery falls through to the next source. */
static gboolean take(const SmConfig *c, const char *raw, SmRecipientSource source,
                     SmRecipient *out)
{
	g_autofree char *addr = clean_address(raw);
	if (!addr || !*addr)
		return FALSE;
	const SmUnplus *used = NULL;
	g_autofree char *rewritten = sm_unplus(c, addr, &used);
	if (rewritten) {
		/* The replacement is the user's, the captures came from the header. */
		g_autofree char *clean = clean_address(rewritten);
		if (!*clean)
			return FALSE;
		out->address = g_steal_pointer(&clean);
		out->unplus = used;
	} else {
		out->address = g_steal_pointer(&addr);
		out->unplus = NULL;
	}
	out->source = source;
	return TRUE;
}

static gboolean take_header(const SmConfig *c, const SmMessage *m, const char *name,
                            SmRecipientSource source, SmRecipient *out)
{
	if (!m || !m->headers)
		return FALSE;
	g_autofree char *value = sm_message_get(m, name);
	g_autofree char *addr = sm_address_extract(value);
	return take(c, addr, source, out);
}

void sm_recipient_recover(const SmConfig *c, const SmEnvelope *env, const SmMessage *m,
                          SmRecipient *out)
{
	*out = (SmRecipient){ .source = SM_RCPT_NONE };
	if (take_header(c, m, "Delivered-To", SM_RCPT_DELIVERED_TO, out))
		return;
	if (env && take(c, env->original_recipient,
	                env->original_from_option ? SM_RCPT_OPTION : SM_RCPT_ORIGINAL_ENV, out))
		return;
	if (take_header(c, m, "X-Original-To", SM_RCPT_X_ORIGINAL_TO, out))
		return;
	/* Un-plussed too: Postfix's RECIPIENT keeps the extension the rules undo. */
	if (env && take(c, env->recipient, SM_RCPT_ENVELOPE, out))
		return;
	out->address = g_strdup("");
}

void sm_recipient_clear(SmRecipient *r)
{
	g_free(r->address);
	*r = (SmRecipient){ .source = SM_RCPT_NONE };
}

const char *sm_recipient_source_name(SmRecipientSource s)
{
	switch (s) {
	case SM_RCPT_DELIVERED_TO:  return "delivered-to";
	case SM_RCPT_OPTION:        return "option";
	case SM_RCPT_ORIGINAL_ENV:  return "original-recipient";
	case SM_RCPT_X_ORIGINAL_TO: return "x-original-to";
	case SM_RCPT_ENVELOPE:      return "envelope";
	case SM_RCPT_NONE:          break;
	}
	return "none";
}

gboolean sm_is_personal(const SmConfig *c, const char *address)
{
	g_autofree char *clean = clean_address(address);
	if (!c || !c->personal || !clean || !*clean)
		return FALSE;
	g_autofree char *lower = g_ascii_strdown(clean, -1);
	const char *domain = strrchr(lower, '@');
	for (guint i = 0; i < c->personal->len; i++) {
		const char *p = c->personal->pdata[i];
		if (p[0] == '@' ? (domain && strcmp(domain, p) == 0) : strcmp(lower, p) == 0)
			return TRUE;
	}
	return FALSE;
}
