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
 * Trust, without SpamAssassin's trusted_networks: relays from the top whose
 * sending IP is private, loopback or link-local are trusted (and internal);
 * the first one from a public IP and all below it are untrusted (and
 * external). Headers that name no IP are not relays.
 */
#include "config.h"
#include "score/render-priv.h"

#include <gio/gio.h>
#include <string.h>

typedef struct {
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
	g_autoptr(GInetAddress) a = g_inet_address_new_from_string(s);
	return a != NULL;
}

/* The sender's IP in the from clause: bracketed first, else a bare one in
 * parentheses or right after "from". */
static char *find_ip(const char *from)
{
	for (const char *p = strchr(from, '['); p; p = strchr(p + 1, '[')) {
		const char *s = p + 1;
		if (g_ascii_strncasecmp(s, "IPv6:", 5) == 0)
			s += 5;
		g_autofree char *w = word_at(s, "]");
		if (w && is_ip(w))
			return g_steal_pointer(&w);
	}
	for (const char *p = strchr(from, '('); p; p = strchr(p + 1, '(')) {
		g_autofree char *w = word_at(p + 1, ")]:");
		if (w && is_ip(w))
			return g_steal_pointer(&w);
	}
	g_autofree char *w = word_at(from, "(;[");
	return w && is_ip(w) ? g_steal_pointer(&w) : NULL;
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
	const char *by = find_ci(p, " by ");
	g_autofree char *from = by ? g_strndup(p, by - p) : g_strdup(p);
	r->ip = find_ip(from);
	if (!r->ip)
		return FALSE;
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

static gboolean is_private(const char *ip)
{
	g_autoptr(GInetAddress) a = g_inet_address_new_from_string(ip);
	if (!a)
		return FALSE;
	if (g_inet_address_get_is_loopback(a) || g_inet_address_get_is_link_local(a) ||
	    g_inet_address_get_is_site_local(a) || g_inet_address_get_is_any(a))
		return TRUE;
	/* IPv6 unique local addresses (fc00::/7), which GLib calls neither. */
	const guint8 *b = g_inet_address_to_bytes(a);
	return g_inet_address_get_family(a) == G_SOCKET_FAMILY_IPV6 && (b[0] & 0xFE) == 0xFC;
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
			trusting = trusting && is_private(relay.ip);
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
