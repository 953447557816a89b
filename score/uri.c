/* uri.c: finding URIs in text and listing their canonical forms (see uri.h). */
#include "config.h"
#include "score/uri.h"

#include <string.h>

/* Redirectors pointing at redirectors: followed this deep. */
#define MAX_REDIRECTS 2

static const char *const schemes[] = { "http://", "https://", "ftp://", "mailto:", "file://" };

/* Top-level domains that make a bare "name.tld" a host name: the common
 * generic ones and country codes that are not also short English words. */
static const char *const tlds[] = {
	"com", "net", "org", "info", "biz", "edu", "gov", "mil", "int", "name", "pro",
	"xyz", "top", "online", "site", "club", "shop", "store", "app", "dev", "icu",
	"live", "life", "space", "website", "tech", "link", "click", "email", "win",
	"bid", "loan", "work", "vip", "fun", "buzz", "cloud",
	"io", "co", "uk", "de", "fr", "nl", "ru", "cn", "jp", "br", "au", "ca", "es",
	"pl", "ch", "se", "dk", "fi", "cz", "eu", "tk", "ly", "cc", "tv", "ws", "su",
	"ua", "kr", "tw", "hk", "mx", "ar", "za", "tr", "ir", "vn", "sg", "nz", "ie",
	"pt", "gr", "ro", "hu", "sk", "bg", "lt", "lv", "ee", "ml", "ga", "cf", "gq",
};

static gboolean has_prefix_ci(const char *s, gsize avail, const char *prefix)
{
	gsize n = strlen(prefix);
	return avail >= n && g_ascii_strncasecmp(s, prefix, n) == 0;
}

/* ---- finding ----------------------------------------------------------------- */

static gboolean uri_char(char c)
{
	return (guchar)c > ' ' && c != 0x7F && !strchr("\"<>`{}|^", c);
}

/* End of the URI starting at @i: up to a character that cannot be in one,
 * minus trailing punctuation and an unbalanced ')'. */
static gsize uri_end(const char *t, gsize len, gsize i)
{
	gsize e = i;
	int parens = 0;
	while (e < len && uri_char(t[e])) {
		parens += t[e] == '(' ? 1 : t[e] == ')' ? -1 : 0;
		e++;
	}
	while (e > i && (strchr(".,;:!?'", t[e - 1]) || (t[e - 1] == ')' && parens < 0))) {
		if (t[e - 1] == ')')
			parens++;
		e--;
	}
	return e;
}

static gboolean word_char(char c)
{
	return g_ascii_isalnum(c) || c == '.' || c == '-' || c == '_' || c == '%' || c == '+';
}

/* "a.b.tld" with a known TLD, every label made of letters, digits and '-'. */
static gboolean is_host(const char *s, gsize len)
{
	const char *dot = g_strrstr_len(s, len, ".");
	if (!dot || dot == s)
		return FALSE;
	for (gsize i = 0; i < len; i++)
		if (!g_ascii_isalnum(s[i]) && s[i] != '-' && s[i] != '.')
			return FALSE;
	if (g_strstr_len(s, len, ".."))
		return FALSE;
	gsize tlen = s + len - dot - 1;
	for (gsize k = 0; k < G_N_ELEMENTS(tlds); k++)
		if (strlen(tlds[k]) == tlen && g_ascii_strncasecmp(dot + 1, tlds[k], tlen) == 0)
			return TRUE;
	return FALSE;
}

/* A mail address whose '@' is at @at (local part from @start): its end, or 0. */
static gsize address_end(const char *t, gsize len, gsize start, gsize at)
{
	if (at == start)
		return 0;
	gsize e = at + 1;
	while (e < len && (g_ascii_isalnum(t[e]) || t[e] == '.' || t[e] == '-'))
		e++;
	while (e > at + 1 && t[e - 1] == '.')
		e--;
	const char *dot = g_strrstr_len(t + at + 1, e - at - 1, ".");
	if (!dot || dot == t + at + 1 || t + e - dot - 1 < 2)
		return 0;
	for (const char *p = dot + 1; p < t + e; p++)
		if (!g_ascii_isalpha(*p))
			return 0;
	return e;
}

/* Handles the word starting at @i (a scheme, a host, an address, or none of
 * them); returns where scanning goes on. */
static gsize take_word(const char *t, gsize len, gsize i, GPtrArray *out)
{
	for (gsize k = 0; k < G_N_ELEMENTS(schemes); k++) {
		gsize n = strlen(schemes[k]);
		if (has_prefix_ci(t + i, len - i, schemes[k]) && i + n < len &&
		    uri_char(t[i + n])) {
			gsize e = uri_end(t, len, i);
			g_ptr_array_add(out, g_strndup(t + i, e - i));
			return e;
		}
	}
	if ((has_prefix_ci(t + i, len - i, "www.") || has_prefix_ci(t + i, len - i, "ftp.")) &&
	    i + 4 < len && g_ascii_isalnum(t[i + 4])) {
		gsize e = uri_end(t, len, i);
		g_ptr_array_add(out, g_strndup(t + i, e - i));
		return e;
	}
	gsize w = i;
	while (w < len && word_char(t[w]))
		w++;
	if (w < len && t[w] == '@') {
		gsize e = address_end(t, len, i, w);
		if (e) {
			g_ptr_array_add(out, g_strdup_printf("mailto:%.*s", (int)(e - i), t + i));
			return e;
		}
		return w + 1;
	}
	gsize h = w;
	while (h > i && t[h - 1] == '.')
		h--;
	if (is_host(t + i, h - i)) {
		gsize e = h < len && strchr("/:?#", t[h]) ? uri_end(t, len, h) : h;
		g_ptr_array_add(out, g_strdup_printf("http://%.*s", (int)(e - i), t + i));
		return e;
	}
	return w > i ? w : i + 1;
}

void sm_uri_find(const char *text, gsize len, GPtrArray *out)
{
	gsize i = 0;
	while (i < len) {
		gboolean starts = g_ascii_isalnum(text[i]) &&
		                  (i == 0 || (!word_char(text[i - 1]) && text[i - 1] != '@' &&
		                              text[i - 1] != '/'));
		i = starts ? take_word(text, len, i, out) : i + 1;
	}
}

/* ---- canonical forms --------------------------------------------------------- */

/* Decodes %XX escapes (not %00, which would end the string). */
static char *percent_decode(const char *s, gsize len)
{
	GString *out = g_string_sized_new(len);
	for (gsize i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && g_ascii_isxdigit(s[i + 1]) &&
		    g_ascii_isxdigit(s[i + 2])) {
			char c = (char)(g_ascii_xdigit_value(s[i + 1]) * 16 +
			                g_ascii_xdigit_value(s[i + 2]));
			if (c) {
				g_string_append_c(out, c);
				i += 2;
				continue;
			}
		}
		g_string_append_c(out, s[i]);
	}
	return g_string_free(out, FALSE);
}

/* Form 1 of uri.h. Newly allocated, or NULL when nothing is left. */
static char *cleaned(const char *uri)
{
	GString *s = g_string_new(NULL);
	for (const char *p = uri; *p; p++)
		if (!g_ascii_isspace(*p))
			g_string_append_c(s, *p);
	while (s->len && strchr("\"'<", s->str[0]))
		g_string_erase(s, 0, 1);
	while (s->len && strchr("\"'>", s->str[s->len - 1]))
		g_string_truncate(s, s->len - 1);
	/* "http:\\host", "http:/host" -> "http://host" */
	const char *colon = strchr(s->str, ':');
	if (colon && (colon[1] == '/' || colon[1] == '\\')) {
		gsize at = colon - s->str + 1, n = 0;
		while (at + n < s->len && (s->str[at + n] == '/' || s->str[at + n] == '\\'))
			n++;
		g_string_erase(s, at, n);
		g_string_insert(s, at, "//");
	}
	if (has_prefix_ci(s->str, s->len, "www."))
		g_string_prepend(s, "http://");
	else if (has_prefix_ci(s->str, s->len, "ftp."))
		g_string_prepend(s, "ftp://");
	if (!s->len) {
		g_string_free(s, TRUE);
		return NULL;
	}
	return g_string_free(s, FALSE);
}

/* Form 2 of uri.h, or NULL when the URI has no authority. */
static char *host_normalised(const char *uri)
{
	const char *sep = strstr(uri, "://");
	if (!sep)
		return NULL;
	const char *auth = sep + 3;
	gsize alen = strcspn(auth, "/?#");
	const char *at = g_strrstr_len(auth, alen, "@");
	const char *host = at ? at + 1 : auth;
	g_autofree char *decoded = percent_decode(host, auth + alen - host);
	g_autofree char *lower = g_ascii_strdown(decoded, -1);
	char *port = strrchr(lower, ':');
	gsize hlen = port && !strchr(lower, ']') ? (gsize)(port - lower) : strlen(lower);
	if (hlen && lower[hlen - 1] == '.')
		memmove(lower + hlen - 1, lower + hlen, strlen(lower + hlen) + 1);
	return g_strdup_printf("%.*s%s%s", (int)(auth - uri), uri, lower, auth + alen);
}

/* Where an embedded http(s):// URI starts in @uri after its own scheme. */
static const char *redirect_target(const char *uri)
{
	const char *sep = strstr(uri, "://");
	if (!sep)
		return NULL;
	for (const char *p = sep + 3; *p; p++)
		if (g_ascii_strncasecmp(p, "http://", 7) == 0 ||
		    g_ascii_strncasecmp(p, "https://", 8) == 0)
			return p;
	return NULL;
}

typedef struct {
	GPtrArray *list;
	GHashTable *seen;
} Forms;

static void add(Forms *f, char *form)
{
	if (!form)
		return;
	if (g_hash_table_contains(f->seen, form)) {
		g_free(form);
		return;
	}
	g_ptr_array_add(f->list, form);
	g_hash_table_add(f->seen, form);
}

static void canonicalise(Forms *f, const char *uri, int depth)
{
	char *clean = cleaned(uri);
	if (!clean)
		return;
	/* Every form is made before any is added: add() may free its argument. */
	char *host = host_normalised(clean);
	g_autofree char *decoded = percent_decode(clean, strlen(clean));
	gboolean differs = strcmp(decoded, clean) != 0;
	const char *target = redirect_target(decoded);
	add(f, clean);
	add(f, host);
	if (differs)
		add(f, g_strdup(decoded));
	if (target && depth < MAX_REDIRECTS)
		canonicalise(f, target, depth + 1);
}

GPtrArray *sm_uri_canonical_list(const GPtrArray *uris)
{
	Forms f = { g_ptr_array_new_with_free_func(g_free),
	            g_hash_table_new(g_str_hash, g_str_equal) };
	for (guint i = 0; i < uris->len; i++)
		canonicalise(&f, uris->pdata[i], 0);
	g_hash_table_destroy(f.seen);
	return f.list;
}
