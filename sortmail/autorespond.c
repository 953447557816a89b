/* autorespond.c: when an automatic reply must not be sent (see sortmail.h).
 *
 * Contract: pure functions of the configuration, the rule, the envelope, the
 * message's header index and the verdict; no GMime (the raw, unfolded header
 * values are enough to recognise every case), no I/O.
 *
 * The conditions follow RFC 3834 (section 2): never answer what is itself
 * automatic (bounces, other autoresponders, lists, bulk mail), nor spam, nor
 * ourselves; the first that holds is reported, in the order of the table in
 * sortmail.conf(5), under a fixed code that the log line carries:
 *   spam, null-sender, bad-sender, mailer-daemon, owner-sender,
 *   request-sender, own-address, auto-submitted, precedence, list-header,
 *   auto-response-suppress, not-addressed-to-me
 */
#include "config.h"
#include "sortmail/sortmail.h"

#include <string.h>

#define DETAIL_MAX 120

/* "@name: @value", @value shortened for a log line (which makes it one line). */
static char *detail_of(const char *name, const char *value)
{
	g_autofree char *v = g_utf8_make_valid(value ? value : "", -1);
	if (strlen(v) > DETAIL_MAX) {
		const char *end = g_utf8_find_prev_char(v, v + DETAIL_MAX);
		v[end ? end - v : 0] = '\0';
	}
	return g_strdup_printf("%s: %s", name, v);
}

static void set_detail(char **detail, char *text)
{
	if (detail)
		*detail = text;
	else
		g_free(text);
}

/* ---- the envelope sender --------------------------------------------------- */

/* A sender we could write into To: and onto sendmail's command line: no
 * controls, spaces, brackets or quotes, not starting like an option. */
static gboolean sender_plain(const char *s)
{
	if (s[0] == '-')
		return FALSE;
	for (const char *p = s; *p; p++)
		if ((guchar)*p <= ' ' || *p == 0x7f || strchr("<>()[],;\\\"", *p))
			return FALSE;
	return TRUE;
}

static const char *sender_veto(const SmConfig *c, const char *sender, char **detail)
{
	if (!sender || !*sender)
		return "null-sender";
	if (!sender_plain(sender)) {
		set_detail(detail, detail_of("sender", sender));
		return "bad-sender";
	}
	const char *at = strrchr(sender, '@');
	gsize local_len = at ? (gsize)(at - sender) : strlen(sender);
	g_autofree char *local = g_ascii_strdown(sender, local_len);
	if (strcmp(local, "mailer-daemon") == 0)
		return "mailer-daemon";
	if (g_str_has_prefix(local, "owner-"))
		return "owner-sender";
	if (g_str_has_suffix(local, "-request"))
		return "request-sender";
	if (sm_is_personal(c, sender))
		return "own-address";
	return NULL;
}

/* ---- headers --------------------------------------------------------------- */

/* The first word of a header value, lowercased: "No (comment)" -> "no". */
static char *first_word(const char *value)
{
	const char *p = value;
	while (*p == ' ' || *p == '\t')
		p++;
	const char *end = p;
	while (*end && !strchr(" \t;(", *end))
		end++;
	return g_ascii_strdown(p, end - p);
}

static const char *auto_submitted_veto(const SmMessage *m, char **detail)
{
	guint pos = 0;
	const SmHeader *h;
	while ((h = sm_message_next(m, "Auto-Submitted", &pos))) {
		g_autofree char *value = sm_header_value(m, h);
		g_autofree char *word = first_word(value);
		if (strcmp(word, "no") != 0) {
			set_detail(detail, detail_of("Auto-Submitted", value));
			return "auto-submitted";
		}
	}
	return NULL;
}

static const char *precedence_veto(const SmMessage *m, char **detail)
{
	guint pos = 0;
	const SmHeader *h;
	while ((h = sm_message_next(m, "Precedence", &pos))) {
		g_autofree char *value = sm_header_value(m, h);
		g_autofree char *word = first_word(value);
		if (strcmp(word, "bulk") == 0 || strcmp(word, "junk") == 0 ||
		    strcmp(word, "list") == 0) {
			set_detail(detail, detail_of("Precedence", value));
			return "precedence";
		}
	}
	return NULL;
}

/* Any List-* field (RFC 2369, 2919) means a mailing list sent it. */
static const char *list_veto(const SmMessage *m, char **detail)
{
	for (guint i = 0; i < m->headers->len; i++) {
		const SmHeader *h = &g_array_index(m->headers, SmHeader, i);
		if (h->name_len > 5 && g_ascii_strncasecmp(m->data + h->off, "List-", 5) == 0) {
			g_autofree char *name = g_strndup(m->data + h->off, MIN(h->name_len, 60));
			g_autofree char *shown = g_utf8_make_valid(name, -1);
			set_detail(detail, g_strdup_printf("%s present", shown));
			return "list-header";
		}
	}
	return NULL;
}

static const char *header_veto(const SmMessage *m, char **detail)
{
	const char *why;
	if (!m || !m->headers)
		return NULL;
	if ((why = auto_submitted_veto(m, detail)) || (why = precedence_veto(m, detail)) ||
	    (why = list_veto(m, detail)))
		return why;
	guint pos = 0;
	if (sm_message_next(m, "X-Auto-Response-Suppress", &pos)) {
		set_detail(detail, g_strdup("X-Auto-Response-Suppress present"));
		return "auto-response-suppress";
	}
	return NULL;
}

/* ---- To and Cc ------------------------------------------------------------- */

typedef struct {
	const SmConfig *c;
	GString *bare;    /* the element's text outside quotes, comments and <> */
	GString *angle;   /* the text inside <>, when there was one */
	gboolean in_angle, had_angle;
	gboolean found;
} AddrScan;

static void finish_element(AddrScan *s)
{
	GString *addr = s->had_angle ? s->angle : s->bare;
	/* "fred @ example.org" (folding may leave spaces) is fred@example.org */
	g_autofree char *compact = g_strdup(addr->str);
	char *w = compact;
	for (const char *r = compact; *r; r++)
		if (*r != ' ' && *r != '\t')
			*w++ = *r;
	*w = '\0';
	if (*compact && sm_is_personal(s->c, compact))
		s->found = TRUE;
	g_string_truncate(s->bare, 0);
	g_string_truncate(s->angle, 0);
	s->in_angle = s->had_angle = FALSE;
}

/* Skips a quoted string or a (nested) comment starting at @p; returns the
 * byte after it. A quoted local part inside <> is kept as text. */
static const char *skip_quoted(const char *p, GString *keep)
{
	char close = *p == '"' ? '"' : ')';
	int depth = 0;
	for (const char *q = p; *q; q++) {
		if (*q == '\\' && q[1]) {
			if (keep)
				g_string_append_len(keep, q, 2);
			q++;
			continue;
		}
		if (keep)
			g_string_append_c(keep, *q);
		if (close == ')' && *q == '(')
			depth++;
		else if (*q == close && (close == '"' ? q > p : --depth == 0))
			return q + 1;
	}
	return p + strlen(p);
}

/* Walks an address list (RFC 5322 section 3.4, groups included) well enough
 * to find the addresses: display names, comments and quoted text are set
 * aside, "<...>" wins over the bare text of its element. */
static void scan_addresses(AddrScan *s, const char *value)
{
	for (const char *p = value; *p;) {
		if (*p == '"' || *p == '(') {
			p = skip_quoted(p, s->in_angle && *p == '"' ? s->angle : NULL);
			continue;
		}
		if (s->in_angle) {
			if (*p == '>')
				s->in_angle = FALSE;
			else
				g_string_append_c(s->angle, *p);
		} else if (*p == '<') {
			g_string_truncate(s->angle, 0);
			s->in_angle = s->had_angle = TRUE;
		} else if (*p == ',' || *p == ';') {
			finish_element(s);
		} else if (*p == ':') {
			/* "group:": what came before is the group's name */
			g_string_truncate(s->bare, 0);
		} else {
			g_string_append_c(s->bare, *p);
		}
		p++;
	}
	finish_element(s);
}

gboolean sm_autorespond_addressed_to_me(const SmConfig *c, const SmMessage *m)
{
	static const char *const fields[] = { "To", "Cc" };
	if (!m || !m->headers)
		return FALSE;
	AddrScan s = { .c = c, .bare = g_string_new(NULL), .angle = g_string_new(NULL) };
	for (guint f = 0; f < G_N_ELEMENTS(fields) && !s.found; f++) {
		guint pos = 0;
		const SmHeader *h;
		while (!s.found && (h = sm_message_next(m, fields[f], &pos))) {
			g_autofree char *value = sm_header_value(m, h);
			scan_addresses(&s, value);
		}
	}
	g_string_free(s.bare, TRUE);
	g_string_free(s.angle, TRUE);
	return s.found;
}

/* ---- all of it ------------------------------------------------------------- */

const char *sm_autorespond_veto(const SmConfig *c, const SmRule *r, const SmEnvelope *env,
                                const SmMessage *m, const SmVerdict *v, char **detail)
{
	const char *why;
	if (detail)
		*detail = NULL;
	if (v && v->source != SM_VERDICT_NONE && v->is_spam) {
		set_detail(detail, g_strdup_printf("score %.1f", v->score));
		return "spam";
	}
	if ((why = sender_veto(c, env ? env->sender : NULL, detail)) ||
	    (why = header_veto(m, detail)))
		return why;
	if (r && r->vacation && !sm_autorespond_addressed_to_me(c, m))
		return "not-addressed-to-me";
	return NULL;
}
