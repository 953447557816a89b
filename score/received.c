/* received.c: relay addresses from Received headers (see received.h). */
#include "config.h"
#include "score/received.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

static const guint8 v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

gboolean sm_ip_parse(const char *text, SmIp *out)
{
	*out = (SmIp){ 0 };
	if (inet_pton(AF_INET, text, out->addr) == 1) {
		out->family = AF_INET;
		return TRUE;
	}
	if (inet_pton(AF_INET6, text, out->addr) != 1)
		return FALSE;
	out->family = AF_INET6;
	/* ::ffff:a.b.c.d is an IPv4 peer seen through an IPv6 socket. */
	if (memcmp(out->addr, v4_mapped_prefix, sizeof v4_mapped_prefix) == 0) {
		memmove(out->addr, out->addr + 12, 4);
		memset(out->addr + 4, 0, 12);
		out->family = AF_INET;
	}
	return TRUE;
}

char *sm_ip_to_string(const SmIp *ip)
{
	char buf[INET6_ADDRSTRLEN];
	if (!inet_ntop(ip->family, ip->addr, buf, sizeof buf))
		return g_strdup("?");
	return g_strdup(buf);
}

static guint family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

gboolean sm_net_parse(const char *text, SmNet *out)
{
	*out = (SmNet){ 0 };
	const char *slash = strchr(text, '/');
	g_autofree char *addr = slash ? g_strndup(text, (gsize)(slash - text)) : g_strdup(text);
	if (!sm_ip_parse(addr, &out->ip))
		return FALSE;
	guint max = family_bits(out->ip.family);
	/* "::ffff:10.0.0.0/104" names IPv4 space in IPv6 notation. */
	if (out->ip.family == AF_INET && strchr(addr, ':'))
		max = 128;
	out->bits = max;
	if (slash) {
		char *end = NULL;
		if (!g_ascii_isdigit(slash[1]))
			return FALSE;
		guint64 bits = g_ascii_strtoull(slash + 1, &end, 10);
		if (*end || bits > max)
			return FALSE;
		out->bits = (guint)bits;
	}
	if (max == 128 && out->ip.family == AF_INET) {
		if (out->bits < 96)
			return FALSE;
		out->bits -= 96;
	}
	return TRUE;
}

gboolean sm_net_contains(const SmNet *net, const SmIp *ip)
{
	if (net->ip.family != ip->family)
		return FALSE;
	guint whole = net->bits / 8, rest = net->bits % 8;
	if (memcmp(net->ip.addr, ip->addr, whole) != 0)
		return FALSE;
	if (rest == 0)
		return TRUE;
	guint8 mask = (guint8)(0xff << (8 - rest));
	return (net->ip.addr[whole] & mask) == (ip->addr[whole] & mask);
}

static const char *const private_nets[] = {
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
	"172.16.0.0/12", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
	"::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8",
	NULL
};

gboolean sm_ip_is_private(const SmIp *ip)
{
	static GArray *nets;
	static gsize done;
	if (g_once_init_enter(&done)) {
		GArray *a = g_array_new(FALSE, FALSE, sizeof(SmNet));
		for (guint i = 0; private_nets[i]; i++) {
			SmNet n;
			if (sm_net_parse(private_nets[i], &n))
				g_array_append_val(a, n);
		}
		nets = a;
		g_once_init_leave(&done, 1);
	}
	for (guint i = 0; i < nets->len; i++)
		if (sm_net_contains(&g_array_index(nets, SmNet, i), ip))
			return TRUE;
	return FALSE;
}

char *sm_ip_reverse_name(const SmIp *ip, const char *zone)
{
	GString *s = g_string_new(NULL);
	if (ip->family == AF_INET) {
		g_string_printf(s, "%u.%u.%u.%u.", ip->addr[3], ip->addr[2], ip->addr[1],
		                ip->addr[0]);
	} else {
		static const char hex[] = "0123456789abcdef";
		for (int i = 15; i >= 0; i--) {
			g_string_append_c(s, hex[ip->addr[i] & 0xf]);
			g_string_append_c(s, '.');
			g_string_append_c(s, hex[ip->addr[i] >> 4]);
			g_string_append_c(s, '.');
		}
	}
	g_string_append(s, zone);
	return g_string_free(s, FALSE);
}

/* ---- one Received header ------------------------------------------------- */

/* The end of the "from" clause starting at @s: the word "by", or a ';', at
 * parenthesis depth 0 (comments may say "authenticated by ..."). */
static const char *from_clause_end(const char *s)
{
	int depth = 0;
	for (const char *p = s; *p; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (depth == 0 && *p == ';')
			return p;
		else if (depth == 0 && g_ascii_isspace(*p) && g_ascii_strncasecmp(p + 1, "by", 2) == 0
		         && (p[3] == '\0' || g_ascii_isspace(p[3])))
			return p;
	}
	return s + strlen(s);
}

/* The first [...] in @clause holding an address ("[1.2.3.4]", "[IPv6:...]"). */
static gboolean bracketed_ip(const char *clause, SmIp *out)
{
	for (const char *p = strchr(clause, '['); p; p = strchr(p + 1, '[')) {
		const char *close = strchr(p, ']');
		if (!close)
			return FALSE;
		g_autofree char *inner = g_strndup(p + 1, (gsize)(close - p - 1));
		const char *text = inner;
		if (g_ascii_strncasecmp(text, "IPv6:", 5) == 0)
			text += 5;
		if (sm_ip_parse(text, out))
			return TRUE;
	}
	return FALSE;
}

/* A bare address among the words of @clause: inside parentheses first
 * ("helo (192.0.2.1)"), then anywhere ("from 192.0.2.1"). */
static gboolean bare_ip(const char *clause, SmIp *out)
{
	g_auto(GStrv) words = g_strsplit_set(clause, " \t()", -1);
	for (int pass = 0; pass < 2; pass++) {
		int depth = 0;
		const char *p = clause;
		for (guint i = 0; words[i]; i++) {
			/* words[i] starts at p; the separator after it tells the depth. */
			gsize len = strlen(words[i]);
			gboolean inside = depth > 0;
			if (len && (pass == 1 || inside) && sm_ip_parse(words[i], out))
				return TRUE;
			p += len;
			if (*p == '(')
				depth++;
			else if (*p == ')' && depth > 0)
				depth--;
			if (*p)
				p++;
		}
	}
	return FALSE;
}

gboolean sm_received_sender(const char *value, SmIp *out)
{
	const char *s = value;
	while (g_ascii_isspace(*s))
		s++;
	if (g_ascii_strncasecmp(s, "from", 4) != 0 || !g_ascii_isspace(s[4]))
		return FALSE;
	s += 5;
	g_autofree char *clause = g_strndup(s, (gsize)(from_clause_end(s) - s));
	return bracketed_ip(clause, out) || bare_ip(clause, out);
}

/* ---- the relays of a message ------------------------------------------------ */

static gboolean in_nets(const GArray *nets, const SmIp *ip)
{
	for (guint i = 0; nets && i < nets->len; i++)
		if (sm_net_contains(&g_array_index(nets, SmNet, i), ip))
			return TRUE;
	return FALSE;
}

static gboolean seen(const GArray *ips, const SmIp *ip)
{
	for (guint i = 0; i < ips->len; i++) {
		const SmIp *o = &g_array_index(ips, SmIp, i);
		if (o->family == ip->family && memcmp(o->addr, ip->addr, sizeof o->addr) == 0)
			return TRUE;
	}
	return FALSE;
}

GArray *sm_received_untrusted(const char *const *values, guint n, const GArray *trusted,
                              gboolean all)
{
	GArray *out = g_array_new(FALSE, FALSE, sizeof(SmIp));
	for (guint i = 0; i < n; i++) {
		SmIp ip;
		if (!sm_received_sender(values[i], &ip))
			continue;
		if (sm_ip_is_private(&ip) || in_nets(trusted, &ip))
			continue;
		if (!seen(out, &ip))
			g_array_append_val(out, ip);
		if (!all)
			break;
	}
	return out;
}
