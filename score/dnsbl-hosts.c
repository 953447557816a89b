/* dnsbl-hosts.c: the names a URI blocklist looks up (see dnsbl.h): host
 * names in text, and the registered domain of a host name. Nothing here
 * touches the network or the blocklist settings.
 */
#include "config.h"
#include "score/dnsbl.h"
#include "score/received.h"

#include <string.h>

/* Two-level public suffixes common in mail, under which the registered
 * domain has three labels. Not the Public Suffix List: a short list that
 * catches the frequent cases. */
static const char *const two_level_suffixes[] = {
	"ac.uk", "co.uk", "gov.uk", "ltd.uk", "me.uk", "net.uk", "org.uk", "plc.uk",
	"com.au", "edu.au", "gov.au", "net.au", "org.au", "id.au",
	"co.nz", "net.nz", "org.nz", "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp",
	"co.za", "org.za", "com.br", "net.br", "org.br", "com.cn", "net.cn", "org.cn",
	"com.mx", "com.ar", "com.tr", "co.in", "net.in", "org.in", "co.kr", "or.kr",
	"com.tw", "com.hk", "com.sg", "co.id", "com.my", "com.ph", "com.pk", "com.ua",
	"co.il", "com.vn", "com.sa", "com.eg", "com.ng", "co.th", "com.co", "com.pe",
	NULL
};

char *sm_registered_domain(const char *host)
{
	g_autofree char *h = g_ascii_strdown(host, -1);
	gsize n = strlen(h);
	while (n && h[n - 1] == '.')
		h[--n] = '\0';
	SmIp ip;
	if (n == 0 || sm_ip_parse(h, &ip))
		return NULL;
	/* Walk back over the last labels. */
	const char *dots[3] = { NULL, NULL, NULL };
	guint found = 0;
	for (const char *p = h + n; p > h && found < 3; p--)
		if (p[-1] == '.')
			dots[found++] = p - 1;
	if (found == 0)
		return NULL;
	const char *last2 = found >= 2 ? dots[1] + 1 : h;
	for (guint i = 0; two_level_suffixes[i]; i++) {
		if (strcmp(last2, two_level_suffixes[i]) != 0)
			continue;
		if (found < 2)
			return NULL; /* the suffix itself */
		return g_strdup(found >= 3 ? dots[2] + 1 : h);
	}
	return g_strdup(last2);
}

static gboolean authority_char(char c)
{
	return g_ascii_isalnum(c) || c == '.' || c == '-' || c == '_' || c == '@' || c == ':';
}

/* The host of an authority ("user@host:port"), checked; NULL when it is
 * not a DNS name of two labels or more (IP literals included). */
static char *authority_host(const char *s, gsize len)
{
	g_autofree char *a = g_ascii_strdown(s, (gssize)len);
	char *host = strrchr(a, '@');
	host = host ? host + 1 : a;
	char *colon = strchr(host, ':');
	if (colon)
		*colon = '\0';
	gsize n = strlen(host);
	while (n && host[n - 1] == '.')
		host[--n] = '\0';
	if (n == 0 || n > 253 || !strchr(host, '.'))
		return NULL;
	g_auto(GStrv) labels = g_strsplit(host, ".", -1);
	guint count = g_strv_length(labels);
	for (guint i = 0; i < count; i++)
		if (!*labels[i] || strlen(labels[i]) > 63)
			return NULL;
	const char *tld = labels[count - 1];
	gboolean alpha = FALSE;
	for (const char *c = tld; *c; c++)
		alpha |= g_ascii_isalpha(*c);
	return alpha ? g_strdup(host) : NULL;
}

static void add_unique(GPtrArray *a, char *s)
{
	for (guint i = 0; i < a->len; i++)
		if (strcmp(a->pdata[i], s) == 0) {
			g_free(s);
			return;
		}
	g_ptr_array_add(a, s);
}

void sm_uri_hosts(const char *text, gsize len, GPtrArray *hosts)
{
	for (gsize i = 0; i + 7 < len; i++) {
		if ((text[i] | 0x20) != 'h')
			continue;
		gsize j;
		if (g_ascii_strncasecmp(text + i, "http://", 7) == 0)
			j = i + 7;
		else if (i + 8 < len && g_ascii_strncasecmp(text + i, "https://", 8) == 0)
			j = i + 8;
		else
			continue;
		gsize k = j;
		while (k < len && authority_char(text[k]))
			k++;
		char *host = k > j ? authority_host(text + j, k - j) : NULL;
		if (host)
			add_unique(hosts, host);
		i = k - 1;
	}
}

void sm_registered_domains(const GPtrArray *hosts, GPtrArray *domains, guint max)
{
	for (guint i = 0; i < hosts->len && domains->len < max; i++) {
		char *dom = sm_registered_domain(hosts->pdata[i]);
		if (dom)
			add_unique(domains, dom);
	}
}
