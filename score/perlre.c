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
	int depth = 0;
	for (; *p; p++) {
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
		case 'o': break; /* "compile once": we always do */
		default:
			g_set_error(error, SM_SCORE_ERROR, SM_SCORE_ERROR_RULES,
			            "unsupported regex flag '%c'", **p);
			return FALSE;
		}
	}
	return TRUE;
}

SmRegex *sm_perlre_compile(const char *text, guint extra_flags, const char **end,
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
	guint flags = extra_flags;
	if (!parse_flags(&p, &flags, error))
		return NULL;

	g_autofree char *pattern = g_strndup(start, stop - start);
	SmRegex *re = sm_regex_new(pattern, flags | SM_REGEX_JIT, error);
	if (re && end)
		*end = p;
	return re;
}
