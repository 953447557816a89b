/* html.c: HTML -> plain text for body rules (see sm_html_to_text in render.h).
 *
 * Not an HTML parser: a single forward scan that is good enough for rules and
 * cannot be made to loop or read out of bounds by hostile markup. Inline tags
 * vanish without a trace, so "V<b></b>iagra" renders as "Viagra"; characters
 * that only serve to break words up (zero-width spaces, soft hyphens) are
 * dropped for the same reason.
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

static gboolean in_list(const char *name, const char *const *list, gsize n)
{
	for (gsize i = 0; i < n; i++)
		if (strcmp(name, list[i]) == 0)
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

/* Handles the markup at @i ('<'); returns where the text resumes. */
static gsize tag(const char *h, gsize len, gsize i, GString *out)
{
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
		g_string_append_c(out, '<');
		return i + 1;
	}
	char name[17];
	for (gsize k = 0; k < p - start; k++)
		name[k] = g_ascii_tolower(h[start + k]);
	name[p - start] = '\0';

	gsize end = tag_end(h, len, i);
	if (!closing && in_list(name, skipped_tags, G_N_ELEMENTS(skipped_tags))) {
		char close[20];
		g_snprintf(close, sizeof close, "</%s", name);
		gsize c = find_ci(h, len, end, close);
		return c < len ? tag_end(h, len, c) : len;
	}
	if (in_list(name, block_tags, G_N_ELEMENTS(block_tags)))
		g_string_append(out, "\n\n");
	else if (strcmp(name, "td") == 0 || strcmp(name, "th") == 0)
		g_string_append_c(out, ' ');
	return end;
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

void sm_html_to_text(const char *html, gsize len, GString *out)
{
	gsize i = 0;
	while (i < len) {
		if (html[i] == '<') {
			i = tag(html, len, i, out);
		} else if (html[i] == '&') {
			i = entity(html, len, i, out);
		} else {
			/* Plain text up to the next markup in one go. */
			gsize j = i;
			while (j < len && html[j] != '<' && html[j] != '&')
				j++;
			g_string_append_len(out, html + i, j - i);
			i = j;
		}
	}
}
