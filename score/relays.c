/* relays.c: SpamAssassin's X-Spam-Relays-* pseudo-headers, from the
 * message's Received headers (see render.h).
 *
 * Each Received header whose "from" clause names the sending host's IP is
 * one relay, written as SpamAssassin writes it:
 *
 *   [ ip=192.0.2.1 rdns=mail.example.org helo=example.org by=mx.example.net
 *     ident= envfrom= intl=0 id=4AbC auth= msa=0 ]
 *
 * relays separated by a space, the nearest (topmost header) first. Field
 * values come from the common MTA formats (Postfix/Sendmail
 * "from HELO (RDNS [IP])", Exim "from RDNS ([IP] helo=HELO)", qmail
 * "from RDNS (HELO x) (IP)"); "unknown" reverse DNS is empty. A relay
 * authenticated itself when the protocol after "with" is ESMTPA/ESMTPSA
 * (auth= names it).
 *
 * The sender's IP, and whether it is trusted, are read as for the blocklist
 * look-ups (received.h: sm_received_sender(), sm_ip_is_private()), so the
 * two never disagree; the IP is written in its canonical form. Trust,
 * without SpamAssassin's trusted_networks: relays from the top whose sending
 * IP is not routed on the Internet are trusted (and internal); the first one
 * from a public IP and all below it are untrusted (and external). Headers
 * that name no IP are not relays.
 */
#include "config.h"
#include "score/render-priv.h"
#include "score/received.h"

#include <string.h>

typedef struct {
	SmIp addr;
	char *ip, *rdns, *helo, *by, *ident, *envfrom, *id, *auth;
} Relay;

static void relay_clear(Relay *r)
{
	g_free(r->ip);
	g_free(r->rdns);
	g_free(r->helo);
	g_free(r->by);
	g_free(r->ident);
	g_free(r->envfrom);
	g_free(r->id);
	g_free(r->auth);
}

/* Case-insensitive strstr. */
static const char *find_ci(const char *h, const char *needle)
{
	gsize n = strlen(needle);
	for (; *h; h++)
		if (g_ascii_strncasecmp(h, needle, n) == 0)
			return h;
	return NULL;
}

/* The word at @p (up to white space or one of @stops), or NULL. */
static char *word_at(const char *p, const char *stops)
{
	const char *e = p;
	while (*e && !g_ascii_isspace(*e) && !strchr(stops, *e))
		e++;
	return e > p ? g_strndup(p, e - p) : NULL;
}

static gboolean is_ip(const char *s)
{
	SmIp ip;
	return sm_ip_parse(s, &ip);
}

static void set_host(char **dst, char *name)
{
	if (name) {
		gsize n = strlen(name);
		if (n && name[n - 1] == '.')
			name[n - 1] = '\0';
		if (g_ascii_strcasecmp(name, "unknown") == 0 || is_ip(name))
			name[0] = '\0';
	}
	g_free(*dst);
	*dst = name;
}

/* helo, rdns and ident from the from clause (@from points after "from "). */
static void parse_names(Relay *r, const char *from)
{
	char *first = word_at(from, "(;");
	const char *helo_kw = find_ci(from, "helo=");
	const char *qmail_helo = find_ci(from, "(HELO ");
	if (helo_kw || qmail_helo) {
		/* Exim / qmail: the first word is the reverse DNS name. */
		set_host(&r->rdns, first);
		r->helo = helo_kw ? word_at(helo_kw + 5, ")") : word_at(qmail_helo + 6, ")");
		return;
	}
	/* Postfix / Sendmail: "HELO (ident@RDNS [IP])". */
	r->helo = first;
	const char *open = strchr(from, '(');
	const char *bracket = open ? strchr(open, '[') : NULL;
	if (!bracket)
		return;
	g_autofree char *inside = g_strndup(open + 1, bracket - open - 1);
	char *name = g_strstrip(inside);
	char *at = strchr(name, '@');
	if (at) {
		r->ident = g_strndup(name, at - name);
		name = at + 1;
	}
	set_host(&r->rdns, *name && !strchr(name, ' ') ? g_strdup(name) : NULL);
}

static void parse_rest(Relay *r, const char *by)
{
	r->by = word_at(by, ";(");
	const char *id = find_ci(by, " id ");
	if (id)
		r->id = word_at(id + 4, ";");
	const char *with = find_ci(by, " with ");
	g_autofree char *proto = with ? word_at(with + 6, ";(") : NULL;
	if (proto && (g_ascii_strcasecmp(proto, "ESMTPA") == 0 ||
	              g_ascii_strcasecmp(proto, "ESMTPSA") == 0))
		r->auth = g_ascii_strup(proto, -1);
}

static gboolean parse_relay(const char *value, Relay *r)
{
	const char *p = value;
	while (g_ascii_isspace(*p))
		p++;
	if (g_ascii_strncasecmp(p, "from ", 5) != 0)
		return FALSE;
	p += 5;
	/* The sender's address as the blocklist look-ups read it (received.h). */
	if (!sm_received_sender(value, &r->addr))
		return FALSE;
	r->ip = sm_ip_to_string(&r->addr);
	const char *by = find_ci(p, " by ");
	g_autofree char *from = by ? g_strndup(p, by - p) : g_strdup(p);
	parse_names(r, g_strchug(from));
	if (by)
		parse_rest(r, by + 4);
	const char *env = find_ci(value, "envelope-from");
	if (env) {
		env += strlen("envelope-from");
		while (*env == ' ' || *env == '<' || *env == '=')
			env++;
		r->envfrom = word_at(env, ">;)");
	}
	return TRUE;
}

static void append_relay(GString *out, const Relay *r, gboolean internal)
{
	if (out->len)
		g_string_append_c(out, ' ');
#define F(x) ((x) ? (x) : "")
	g_string_append_printf(out,
	                       "[ ip=%s rdns=%s helo=%s by=%s ident=%s envfrom=%s intl=%d id=%s "
	                       "auth=%s msa=0 ]",
	                       F(r->ip), F(r->rdns), F(r->helo), F(r->by), F(r->ident),
	                       F(r->envfrom), internal ? 1 : 0, F(r->id), F(r->auth));
#undef F
}

static void compute(SmRender *r)
{
	GString *trusted = g_string_new(NULL), *untrusted = g_string_new(NULL);
	gboolean trusting = TRUE;
	guint pos = 0;
	for (const SmHeader *h; (h = sm_message_next(&r->msg, "Received", &pos));) {
		g_autofree char *value = sm_header_value(&r->msg, h);
		Relay relay = { 0 };
		if (parse_relay(value, &relay)) {
			trusting = trusting && sm_ip_is_private(&relay.addr);
			append_relay(trusting ? trusted : untrusted, &relay, trusting);
		}
		relay_clear(&relay);
	}
	r->relays[SM_RELAYS_TRUSTED] = g_strdup(trusted->str);
	r->relays[SM_RELAYS_INTERNAL] = g_string_free(trusted, FALSE);
	r->relays[SM_RELAYS_UNTRUSTED] = g_strdup(untrusted->str);
	r->relays[SM_RELAYS_EXTERNAL] = g_string_free(untrusted, FALSE);
	r->relays_done = TRUE;
}

const char *sm_relays_header(SmRender *r, SmRelaysKind kind)
{
	if (!r->relays_done)
		compute(r);
	return r->relays[kind];
}
