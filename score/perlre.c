/* perlre.c: Perl regex literals -> common/regex.h (see perlre.h). */
#include "config.h"
#include "score/perlre.h"
#include "score/score.h"

#include <string.h>

static char closing_delimiter(char open)
{
	switch (open) {
	case '{': return '}';
	case '(': return ')';
	case '[': return ']';
	case '<': return '>';
	default:  return open;
	}
}

/* Finds the closing delimiter of a pattern starting at @p; bracket pairs nest
 * and a backslash always takes the next character with it. NULL when missing. */
static const char *find_close(const char *p, char open, char close)
{
	const char stops[] = { '\\', open, close, '\0' };
	int depth = 0;
	for (; *p; p++) {
		p += strcspn(p, stops); /* patterns reach 200 KB (ReplaceTags) */
		if (!*p)
			return NULL;
		if (*p == '\\') {
			if (!p[1])
				return NULL;
			p++;
		} else if (open != close && *p == open) {
			depth++;
		} else if (*p == close) {
			if (depth == 0)
				return p;
			depth--;
		}
	}
	return NULL;
}

static gboolean parse_flags(const char **p, guint *flags, GError **error)
{
	for (; g_ascii_isalpha(**p); (*p)++) {
		switch (**p) {
		case 'i': *flags |= SM_REGEX_CASELESS; break;
		case 'm': *flags |= SM_REGEX_MULTILINE; break;
		case 's': *flags |= SM_REGEX_DOTALL; break;
		case 'x': *flags |= SM_REGEX_EXTENDED; break;
		case 'o': /* "compile once": we always do */
		case 'a': case 'u': case 'l': case 'd': /* character-set rules: see perlre.h */
			break;
		default:
			g_set_error(error, SM_SCORE_ERROR, SM_SCORE_ERROR_RULES,
			            "unsupported regex flag '%c'", **p);
			return FALSE;
		}
	}
	return TRUE;
}

/* ---- rewriting --------------------------------------------------------------- */

/* Length of a "(?flags)" or "(?flags:" group at @p, or 0 when @p starts
 * something else; flags are letters, '^' and '-'. */
static gsize flag_group_len(const char *p)
{
	if (p[0] != '(' || p[1] != '?')
		return 0;
	gsize i = 2;
	while (g_ascii_isalpha(p[i]) || p[i] == '^' || p[i] == '-')
		i++;
	if (i == 2 && p[i] != ')')
		return 0;
	return p[i] == ')' || p[i] == ':' ? i + 1 : 0;
}

/* Copies a flag group minus Perl's character-set letters (a u l d p o). A
 * group left empty, "(?)", disappears. */
static void copy_flag_group(const char *p, gsize len, GString *out)
{
	gsize start = out->len;
	g_string_append(out, "(?");
	for (gsize i = 2; i + 1 < len; i++)
		if (!strchr("auldpo", p[i]))
			g_string_append_c(out, p[i]);
	g_string_append_c(out, p[len - 1]);
	if (strcmp(out->str + start, "(?)") == 0 || strcmp(out->str + start, "(?-)") == 0)
		g_string_truncate(out, start);
}

/* Reads the hex digits of "{HHHH}" at @p into *@cp; returns the length of the
 * braces and what they hold, or 0. */
static gsize braced_hex(const char *p, gunichar *cp)
{
	if (*p != '{')
		return 0;
	gsize i = 1;
	guint64 v = 0;
	while (g_ascii_isxdigit(p[i]) && i < 10)
		v = v * 16 + g_ascii_xdigit_value(p[i++]);
	if (i == 1 || p[i] != '}' || v > 0x10FFFF)
		return 0;
	*cp = (gunichar)v;
	return i + 1;
}

/* The code point of "\x{...}" or "\N{U+...}" at @p (a backslash) into *@cp:
 * returns the length of the escape, 0 when @p is something else. */
static gsize braced_escape(const char *p, gunichar *cp)
{
	if (p[1] == 'x') {
		gsize k = braced_hex(p + 2, cp);
		return k ? k + 2 : 0;
	}
	if (p[1] == 'N' && p[2] == '{' && p[3] == 'U' && p[4] == '+') {
		/* "\N{U+HHHH}": the digits after the '+' up to the '}'. */
		gsize i = 5;
		guint64 v = 0;
		while (g_ascii_isxdigit(p[i]) && i < 13)
			v = v * 16 + g_ascii_xdigit_value(p[i++]);
		if (i == 5 || p[i] != '}' || v > 0x10FFFF)
			return 0;
		*cp = (gunichar)v;
		return i + 1;
	}
	return 0;
}

/* The UTF-8 bytes of @cp as PCRE2 escapes. */
static void append_utf8(GString *out, gunichar cp)
{
	char buf[6];
	gint len = g_unichar_to_utf8(cp, buf);
	for (gint i = 0; i < len; i++)
		g_string_append_printf(out, "\\x%02X", (guchar)buf[i]);
}

/* Handles "\x{...}" and "\N{U+...}" at @p (a backslash) outside a class:
 * returns how many bytes were consumed, 0 to leave them as they are. */
static gsize wide_escape(const char *p, GString *out)
{
	gunichar cp = 0;
	gsize n = braced_escape(p, &cp);
	if (!n || (p[1] == 'x' && cp <= 0xFF))
		return 0;
	if (cp <= 0xFF) {
		g_string_append_printf(out, "\\x{%X}", cp);
	} else {
		g_string_append(out, "(?:");
		append_utf8(out, cp);
		g_string_append_c(out, ')');
	}
	return n;
}

/* TRUE when the class [@p, @e) names a code point in braces. */
static gboolean class_is_wide(const char *p, const char *e)
{
	for (const char *q = p; q + 2 < e; q++)
		if (q[0] == '\\' && (q[1] == 'x' || q[1] == 'N') && q[2] == '{')
			return TRUE;
	return FALSE;
}

/* Copies the class [@p, @e) (@e just past its ']'). A class naming code points
 * above 0xFF, which PCRE2 cannot take without UTF mode, becomes an
 * alternation of the rest of the class and their UTF-8 bytes:
 * [i\x{0456}] -> (?:[i]|\xD1\x96). Negated classes and ranges over such code
 * points are copied as they are (and do not compile). */
static void copy_class(const char *p, const char *e, GString *out)
{
	g_autoptr(GString) rest = g_string_new("[");
	g_autoptr(GString) alts = g_string_new(NULL);
	const char *q = p + 1;
	gboolean ok = *q != '^';
	if (*q == ']')
		g_string_append_c(rest, *q++);
	while (ok && q < e - 1) {
		gunichar cp = 0;
		gsize n = *q == '\\' ? braced_escape(q, &cp) : 0;
		if (n && cp > 0xFF) {
			gboolean range = (rest->len > 1 && rest->str[rest->len - 1] == '-') ||
			                 (q[n] == '-' && q + n + 1 < e - 1);
			ok = !range;
			g_string_append_c(alts, '|');
			append_utf8(alts, cp);
			q += n;
			continue;
		}
		gsize len = *q == '\\' && q[1] ? 2 : 1;
		g_string_append_len(rest, q, len);
		q += len;
	}
	if (!ok || !alts->len) {
		g_string_append_len(out, p, e - p);
		return;
	}
	g_string_append(out, "(?:");
	if (rest->len > 1)
		g_string_append_printf(out, "%s]", rest->str);
	g_string_append(out, alts->str + (rest->len > 1 ? 0 : 1));
	g_string_append_c(out, ')');
}

/* End of the character class starting at @p ('['), just past its ']'; a ']'
 * right after "[" or "[^" is a literal, as is anything escaped. */
static const char *class_end(const char *p)
{
	const char *q = p + 1;
	if (*q == '^')
		q++;
	if (*q == ']')
		q++;
	for (; *q; q++) {
		if (*q == '\\' && q[1])
			q++;
		else if (*q == '[' && q[1] == ':' && strstr(q + 2, ":]"))
			q = strstr(q + 2, ":]") + 1;
		else if (*q == ']')
			return q + 1;
	}
	return q;
}

/* "\A", "\z" or "\Z" at @p, rewritten for SM_PERLRE_LINES. */
static gboolean line_anchor(const char *p, GString *out)
{
	if (p[1] == 'A')
		g_string_append_c(out, '^');
	else if (p[1] == 'z' || p[1] == 'Z')
		g_string_append_c(out, '$');
	else
		return FALSE;
	return TRUE;
}

/* The runs between what is rewritten are copied as they are, in one piece. */
static char *translate(const char *re, gsize len, gboolean lines)
{
	g_autofree char *in = g_strndup(re, len);
	GString *out = g_string_sized_new(len + 8);
	const char *p = in, *run = in;
	while (*p) {
		gsize n;
		if (p[0] == '\\' && p[1] == 'Q') {
			/* Quoted up to \E: nothing inside is syntax. */
			const char *e = strstr(p + 2, "\\E");
			p = e ? e + 2 : p + strlen(p);
		} else if (p[0] == '\\' && (p[1] == 'x' || p[1] == 'N') && p[2] == '{') {
			g_string_append_len(out, run, p - run);
			run = p;
			n = wide_escape(p, out);
			p += n ? n : 2;
			if (n)
				run = p;
		} else if (p[0] == '\\' && lines && p[1] && strchr("AzZ", p[1])) {
			g_string_append_len(out, run, p - run);
			line_anchor(p, out);
			run = p += 2;
		} else if (p[0] == '\\') {
			p += p[1] ? 2 : 1;
		} else if (p[0] == '[') {
			const char *e = class_end(p);
			if (class_is_wide(p, e)) {
				g_string_append_len(out, run, p - run);
				copy_class(p, e, out);
				run = e;
			}
			p = e;
		} else if (p[0] == '(' && (n = flag_group_len(p))) {
			g_string_append_len(out, run, p - run);
			copy_flag_group(p, n, out);
			run = p += n;
		} else {
			p += 1 + strcspn(p + 1, "\\[(");
		}
	}
	g_string_append_len(out, run, p - run);
	return g_string_free(out, FALSE);
}

/* ---- literals -------------------------------------------------------------------- */

char *sm_perlre_parse(const char *text, guint options, guint *flags, const char **end,
                      GError **error)
{
	const char *p = text;
	char open;

	if (*p == '/') {
		open = '/';
	} else if (*p == 'm' && p[1] && !g_ascii_isalnum(p[1]) && !g_ascii_isspace(p[1]) &&
	           p[1] != '\\') {
		open = *++p;
	} else {
		g_set_error(error, SM_SCORE_ERROR, SM_SCORE_ERROR_RULES,
		            "expected a regex (/.../ or m{...})");
		return NULL;
	}
	char close = closing_delimiter(open);
	const char *start = p + 1;
	const char *stop = find_close(start, open, close);
	if (!stop) {
		g_set_error(error, SM_SCORE_ERROR, SM_SCORE_ERROR_RULES,
		            "regex has no closing '%c'", close);
		return NULL;
	}
	if (stop == start) {
		/* In Perl an empty pattern means "the last one that matched". */
		g_set_error(error, SM_SCORE_ERROR, SM_SCORE_ERROR_RULES, "empty regex");
		return NULL;
	}
	p = stop + 1;
	gboolean lines = (options & SM_PERLRE_LINES) != 0;
	*flags = (options & ~SM_PERLRE_LINES) | (lines ? SM_REGEX_MULTILINE : 0);
	if (!parse_flags(&p, flags, error))
		return NULL;
	if (end)
		*end = p;
	return translate(start, stop - start, lines);
}

SmRegex *sm_perlre_compile(const char *text, guint extra_flags, const char **end,
                           GError **error)
{
	guint flags;
	g_autofree char *pattern = sm_perlre_parse(text, extra_flags, &flags, end, error);
	return pattern ? sm_regex_new(pattern, flags | SM_REGEX_JIT, error) : NULL;
}
