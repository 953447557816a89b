/* html.c: HTML -> plain text for body rules (see sm_html_to_text in render.h).
 *
 * Not an HTML parser: a single forward scan that is good enough for rules and
 * cannot be made to loop or read out of bounds by hostile markup. Inline tags
 * vanish without a trace, so "V<b></b>iagra" renders as "Viagra"; characters
 * that only serve to break words up (zero-width spaces, soft hyphens) are
 * dropped for the same reason.
 *
 * Hidden text is not text: the content of <script> and <style>, comments,
 * and elements a reader never sees (style "display:none",
 * "visibility:hidden" or "font-size:0", or the hidden attribute) up to
 * their matching end tag. Spam hides words there to look like mail.
 *
 * URIs come from the href, src, action and background attributes of every
 * tag, hidden or not.
 */
#include "config.h"
#include "score/render.h"

#include <string.h>

/* Elements whose start or end ends a paragraph. */
static const char *const block_tags[] = {
	"address", "article", "blockquote", "br", "center", "dd", "div", "dl", "dt",
	"footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
	"ol", "p", "pre", "section", "table", "tbody", "thead", "title", "tr", "ul",
};

/* Elements whose content is not text at all. Not <head>: browsers end it at
 * the first body content, so skipping to "</head>" would let a message hide
 * its whole text from the rules by never closing it. */
static const char *const skipped_tags[] = { "script", "style" };

/* Elements that have no content, so no end tag to wait for. */
static const char *const void_tags[] = {
	"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
	"param", "source", "track", "wbr",
};

/* Attributes whose value is a URI. */
static const char *const uri_attrs[] = { "href", "src", "action", "background" };

typedef struct {
	const char *h;
	gsize len;
	GString *out;          /* the text */
	GPtrArray *uris;       /* NULL: not wanted */
	char hidden[17];       /* the element whose content is hidden; "" when none */
	guint hidden_nest;     /* elements of that name open inside it */
} Html;

/* Called several times per tag: the first byte rules out most entries
 * without a call (1.5M strcmp() calls on a 500 KB HTML message). */
static gboolean in_list(const char *name, const char *const *list, gsize n)
{
	for (gsize i = 0; i < n; i++)
		if (name[0] == list[i][0] && strcmp(name, list[i]) == 0)
			return TRUE;
	return FALSE;
}

/* First case-insensitive occurrence of @needle in @h[@from, @len), or @len. */
static gsize find_ci(const char *h, gsize len, gsize from, const char *needle)
{
	gsize n = strlen(needle);
	for (gsize i = from; i + n <= len; i++)
		if (g_ascii_strncasecmp(h + i, needle, n) == 0)
			return i;
	return len;
}

/* End of a tag starting at @i ('<'): just past its '>', quotes respected. */
static gsize tag_end(const char *h, gsize len, gsize i)
{
	char quote = 0;
	for (i++; i < len; i++) {
		if (quote) {
			if (h[i] == quote)
				quote = 0;
		} else if (h[i] == '"' || h[i] == '\'') {
			quote = h[i];
		} else if (h[i] == '>') {
			return i + 1;
		}
	}
	return len;
}

static const struct {
	const char *name;
	gunichar c;
} entities[] = {
	{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
	{ "nbsp", ' ' }, { "copy", 0xA9 }, { "reg", 0xAE }, { "trade", 0x2122 },
	{ "euro", 0x20AC }, { "pound", 0xA3 }, { "yen", 0xA5 }, { "cent", 0xA2 },
	{ "hellip", 0x2026 }, { "mdash", 0x2014 }, { "ndash", 0x2013 }, { "bull", 0x2022 },
	{ "lsquo", 0x2018 }, { "rsquo", 0x2019 }, { "ldquo", 0x201C }, { "rdquo", 0x201D },
	{ "laquo", 0xAB }, { "raquo", 0xBB }, { "middot", 0xB7 }, { "deg", 0xB0 },
	{ "shy", 0xAD }, { "zwj", 0x200D }, { "zwnj", 0x200C },
	{ "aacute", 0xE1 }, { "agrave", 0xE0 }, { "auml", 0xE4 }, { "ccedil", 0xE7 },
	{ "eacute", 0xE9 }, { "egrave", 0xE8 }, { "iacute", 0xED }, { "ntilde", 0xF1 },
	{ "oacute", 0xF3 }, { "ouml", 0xF6 }, { "szlig", 0xDF }, { "uacute", 0xFA },
	{ "uuml", 0xFC }, { "Auml", 0xC4 }, { "Ouml", 0xD6 }, { "Uuml", 0xDC },
};

static gboolean invisible(gunichar c)
{
	return c == 0xAD || c == 0x200B || c == 0x200C || c == 0x200D || c == 0x2060 ||
	       c == 0xFEFF;
}

static void append_unichar(GString *out, gunichar c)
{
	if (c == 0 || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		c = 0xFFFD;
	if (c == 0xA0)
		c = ' ';
	if (!invisible(c))
		g_string_append_unichar(out, c);
}

/* Decodes "&name;", "&#N;" or "&#xH;" at @i; an unknown or broken one stays
 * as text. Returns where the text resumes. */
static gsize entity(const char *h, gsize len, gsize i, GString *out)
{
	gsize semi = i + 1;
	while (semi < len && semi - i <= 10 && (g_ascii_isalnum(h[semi]) || h[semi] == '#'))
		semi++;
	if (semi >= len || h[semi] != ';' || semi == i + 1) {
		g_string_append_c(out, '&');
		return i + 1;
	}
	char word[12];
	memcpy(word, h + i + 1, semi - i - 1);
	word[semi - i - 1] = '\0';

	if (word[0] == '#') {
		gboolean hex = word[1] == 'x' || word[1] == 'X';
		const char *digits = word + (hex ? 2 : 1);
		char *end = NULL;
		guint64 v = g_ascii_strtoull(digits, &end, hex ? 16 : 10);
		if (end == digits || *end) {
			g_string_append_c(out, '&');
			return i + 1;
		}
		append_unichar(out, v > 0x10FFFF ? 0xFFFD : (gunichar)v);
		return semi + 1;
	}
	for (gsize k = 0; k < G_N_ELEMENTS(entities); k++) {
		if (strcmp(word, entities[k].name) == 0) {
			append_unichar(out, entities[k].c);
			return semi + 1;
		}
	}
	g_string_append_c(out, '&');
	return i + 1;
}

/* ---- attributes ------------------------------------------------------------ */

/* Entities decoded, white space at both ends trimmed. Newly allocated. */
static char *attr_text(const char *s, gsize len)
{
	GString *out = g_string_sized_new(len);
	gsize i = 0;
	while (i < len) {
		if (s[i] == '&') {
			i = entity(s, len, i, out);
		} else {
			g_string_append_c(out, s[i]);
			i++;
		}
	}
	return g_strstrip(g_string_free(out, FALSE));
}

/* Calls @fn for each attribute of the tag whose attributes are @s[0, @len):
 * its lowercased name (up to 16 bytes) and its raw value (may be empty). */
typedef void (*AttrFn)(Html *x, const char *name, const char *value, gsize vlen,
                       gpointer user);

static void each_attr(Html *x, const char *s, gsize len, AttrFn fn, gpointer user)
{
	gsize i = 0;
	while (i < len) {
		while (i < len && (g_ascii_isspace(s[i]) || s[i] == '/'))
			i++;
		gsize n = i;
		while (n < len && !g_ascii_isspace(s[n]) && !strchr("=>/", s[n]))
			n++;
		if (n == i) {
			i++;
			continue;
		}
		char name[17];
		gsize nlen = MIN(n - i, sizeof name - 1);
		for (gsize k = 0; k < nlen; k++)
			name[k] = g_ascii_tolower(s[i + k]);
		name[nlen] = '\0';
		i = n;
		while (i < len && g_ascii_isspace(s[i]))
			i++;
		const char *v = s + i;
		gsize vlen = 0;
		if (i < len && s[i] == '=') {
			i++;
			while (i < len && g_ascii_isspace(s[i]))
				i++;
			char quote = i < len && (s[i] == '"' || s[i] == '\'') ? s[i] : 0;
			if (quote)
				i++;
			v = s + i;
			while (i < len && (quote ? s[i] != quote
			                         : !g_ascii_isspace(s[i]) && s[i] != '>'))
				i++;
			vlen = s + i - v;
			if (quote && i < len)
				i++;
		}
		fn(x, name, v, vlen, user);
	}
}

static void take_uri(Html *x, const char *name, const char *value, gsize vlen, gpointer user)
{
	if (vlen && in_list(name, uri_attrs, G_N_ELEMENTS(uri_attrs)))
		g_ptr_array_add(x->uris, attr_text(value, vlen));
}

/* Style values that hide an element, compared with white space removed. */
static gboolean hiding_style(const char *value, gsize vlen)
{
	g_autofree char *v = attr_text(value, vlen);
	GString *s = g_string_new(NULL);
	for (const char *p = v; *p; p++)
		if (!g_ascii_isspace(*p))
			g_string_append_c(s, g_ascii_tolower(*p));
	const char *fs = strstr(s->str, "font-size:0");
	gboolean hides = strstr(s->str, "display:none") || strstr(s->str, "visibility:hidden") ||
	                 (fs && !g_ascii_isdigit(fs[11]) && fs[11] != '.');
	g_string_free(s, TRUE);
	return hides;
}

static void find_hiding(Html *x, const char *name, const char *value, gsize vlen,
                        gpointer user)
{
	gboolean *hides = user;
	if (strcmp(name, "hidden") == 0 ||
	    (strcmp(name, "style") == 0 && hiding_style(value, vlen)))
		*hides = TRUE;
}

/* ---- tags ------------------------------------------------------------------- */

/* Keeps track of a hidden element around the tag @name (see the top). */
static void track_hidden(Html *x, const char *name, gboolean closing, gboolean empty,
                         const char *attrs, gsize alen)
{
	if (x->hidden[0]) {
		if (strcmp(name, x->hidden) != 0 || empty)
			return;
		if (!closing)
			x->hidden_nest++;
		else if (x->hidden_nest)
			x->hidden_nest--;
		else
			x->hidden[0] = '\0';
		return;
	}
	gboolean hides = FALSE;
	if (!closing && !empty)
		each_attr(x, attrs, alen, find_hiding, &hides);
	if (hides) {
		g_strlcpy(x->hidden, name, sizeof x->hidden);
		x->hidden_nest = 0;
	}
}

/* Handles the markup at @i ('<'); returns where the text resumes. */
static gsize tag(Html *x, gsize i)
{
	const char *h = x->h;
	gsize len = x->len;
	if (i + 4 <= len && memcmp(h + i, "<!--", 4) == 0) {
		gsize end = find_ci(h, len, i + 4, "-->");
		return end < len ? end + 3 : len;
	}
	gsize p = i + 1;
	gboolean closing = p < len && h[p] == '/';
	if (closing)
		p++;
	if (p < len && (h[p] == '!' || h[p] == '?'))
		return tag_end(h, len, i);
	gsize start = p;
	while (p < len && p - start < 16 && g_ascii_isalnum(h[p]))
		p++;
	if (p == start) {
		/* "a < b": not markup. */
		if (!x->hidden[0])
			g_string_append_c(x->out, '<');
		return i + 1;
	}
	char name[17];
	for (gsize k = 0; k < p - start; k++)
		name[k] = g_ascii_tolower(h[start + k]);
	name[p - start] = '\0';

	gsize end = tag_end(h, len, i);
	gsize alen = end - p - (end <= len && h[end - 1] == '>' ? 1 : 0);
	gboolean empty = in_list(name, void_tags, G_N_ELEMENTS(void_tags)) ||
	                 (alen && h[p + alen - 1] == '/');
	if (x->uris && !closing)
		each_attr(x, h + p, alen, take_uri, NULL);
	if (!closing && in_list(name, skipped_tags, G_N_ELEMENTS(skipped_tags))) {
		char close[20];
		g_snprintf(close, sizeof close, "</%s", name);
		gsize c = find_ci(h, len, end, close);
		return c < len ? tag_end(h, len, c) : len;
	}
	track_hidden(x, name, closing, empty, h + p, alen);
	if (x->hidden[0])
		return end;
	if (in_list(name, block_tags, G_N_ELEMENTS(block_tags)))
		g_string_append(x->out, "\n\n");
	else if (strcmp(name, "td") == 0 || strcmp(name, "th") == 0)
		g_string_append_c(x->out, ' ');
	return end;
}

void sm_html_render(const char *html, gsize len, GString *out, GPtrArray *uris)
{
	Html x = { .h = html, .len = len, .out = out, .uris = uris };
	/* Text of hidden elements goes here and is dropped. */
	g_autoptr(GString) sink = g_string_new(NULL);
	gsize i = 0;
	while (i < len) {
		if (html[i] == '<') {
			i = tag(&x, i);
		} else if (html[i] == '&') {
			i = entity(html, len, i, x.hidden[0] ? sink : out);
		} else {
			/* Plain text up to the next markup in one go. */
			gsize j = i;
			while (j < len && html[j] != '<' && html[j] != '&')
				j++;
			if (!x.hidden[0])
				g_string_append_len(out, html + i, j - i);
			i = j;
		}
		if (sink->len)
			g_string_truncate(sink, 0);
	}
}

void sm_html_to_text(const char *html, gsize len, GString *out)
{
	sm_html_render(html, len, out, NULL);
}
