/* tt-lex.c: template text -> tokens (see tt-priv.h).
 *
 * Contract: a tag runs from "[%" to the first "%]" after it, whatever lies
 * between: as in Template Toolkit, a "%]" inside a quoted string still ends
 * the tag. "[%#" opens a comment tag. The chomp markers behave like TT's
 * CHOMP_ONE: "[%-" removes the spaces and tabs that end the text before the
 * tag and the line end before them, when nothing else stands on that line;
 * "-%]" removes spaces, tabs and one line end after the tag, when nothing else
 * follows on that line. Lines are counted by LF. The text must be UTF-8.
 */
#include "config.h"
#include "templates/tt-priv.h"

#include <stdarg.h>
#include <string.h>

typedef struct {
	const char *name;
	const char *src;
	GArray *out;       /* of TtToken */
	gboolean want_name; /* the previous token was INCLUDE */
} Lexer;

static void push(Lexer *lx, TtTokKind kind, guint line, const char *s, gsize len)
{
	TtToken t = { .kind = kind, .line = line, .len = len };
	if (s)
		t.s = g_strndup(s, len);
	g_array_append_val(lx->out, t);
	lx->want_name = kind == TK_IDENT && strcmp(t.s, "INCLUDE") == 0;
}

static gboolean fail(Lexer *lx, guint line, GError **error, const char *fmt, ...)
	G_GNUC_PRINTF(4, 5);

static gboolean fail(Lexer *lx, guint line, GError **error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_SYNTAX, "%s:%u: %s",
		    lx->name, line, what);
	return FALSE;
}

static guint count_lines(const char *s, gsize from, gsize to)
{
	guint n = 0;
	for (gsize i = from; i < to; i++)
		n += s[i] == '\n';
	return n;
}

static gboolean is_hspace(char c)
{
	return c == ' ' || c == '\t';
}

/* End of the text [from, to) once "[%-" has chomped it. */
static gsize chomp_before(const char *s, gsize from, gsize to)
{
	gsize p = to;
	while (p > from && is_hspace(s[p - 1]))
		p--;
	if (p == from)
		return from;
	if (s[p - 1] != '\n')
		return to;
	p--;
	if (p > from && s[p - 1] == '\r')
		p--;
	return p;
}

/* Start of the text [from, to) once "-%]" has chomped it. */
static gsize chomp_after(const char *s, gsize from, gsize to)
{
	gsize p = from;
	while (p < to && is_hspace(s[p]))
		p++;
	if (p < to && s[p] == '\r')
		p++;
	if (p < to && s[p] == '\n')
		return p + 1;
	return from;
}

static gboolean ident_char(char c)
{
	return g_ascii_isalnum(c) || c == '_' || c == '-';
}

/* A dotted name at *@i: segments of [A-Za-z0-9_-], the first starting with a
 * letter or '_' (checked by the caller). */
static gboolean lex_ident(Lexer *lx, gsize *i, gsize end, guint line, GError **error)
{
	const char *s = lx->src;
	gsize p = *i;
	for (;;) {
		while (p < end && ident_char(s[p]))
			p++;
		if (p >= end || s[p] != '.')
			break;
		if (p + 1 >= end || !(g_ascii_isalnum(s[p + 1]) || s[p + 1] == '_'))
			return fail(lx, line, error, "bad variable name '%.*s'",
				    (int)(p + 1 - *i), s + *i);
		p++;
	}
	push(lx, TK_IDENT, line, s + *i, p - *i);
	*i = p;
	return TRUE;
}

/* A quoted string at *@i (on its opening quote). */
static gboolean lex_string(Lexer *lx, gsize *i, gsize end, guint *line, GError **error)
{
	const char *s = lx->src;
	char q = s[*i];
	guint start_line = *line;
	GString *single = q == '\'' ? g_string_new(NULL) : NULL;
	gsize p = *i + 1;
	for (; p < end && s[p] != q; p++) {
		if (s[p] == '\\' && p + 1 < end) {
			if (single && (s[p + 1] == '\'' || s[p + 1] == '\\')) {
				g_string_append_c(single, s[++p]);
				continue;
			}
			if (!single) {
				*line += s[p + 1] == '\n';
				p++;
				continue;
			}
		}
		*line += s[p] == '\n';
		if (single)
			g_string_append_c(single, s[p]);
	}
	if (p >= end) {
		if (single)
			g_string_free(single, TRUE);
		return fail(lx, start_line, error, "unterminated string");
	}
	if (single) {
		push(lx, TK_SSTRING, start_line, single->str, single->len);
		g_string_free(single, TRUE);
	} else {
		push(lx, TK_DSTRING, start_line, s + *i + 1, p - *i - 1);
	}
	*i = p + 1;
	return TRUE;
}

static gboolean lex_operator(Lexer *lx, gsize *i, gsize end, guint line, GError **error)
{
	const char *s = lx->src;
	char c = s[*i], n = *i + 1 < end ? s[*i + 1] : '\0';
	TtTokKind k;
	gsize w = 1;
	switch (c) {
	case ';': k = TK_SEMI; break;
	case '(': k = TK_LPAREN; break;
	case ')': k = TK_RPAREN; break;
	case '=': k = n == '=' ? TK_EQ : TK_ASSIGN; w = n == '=' ? 2 : 1; break;
	case '!': k = n == '=' ? TK_NE : TK_NOT; w = n == '=' ? 2 : 1; break;
	case '&':
	case '|':
		if (n != c)
			return fail(lx, line, error, "unexpected character '%c' (did you mean '%c%c'?)",
				    c, c, c);
		k = c == '&' ? TK_AND : TK_OR;
		w = 2;
		break;
	default:
		if (g_ascii_isprint(c))
			return fail(lx, line, error, "unexpected character '%c'", c);
		return fail(lx, line, error, "unexpected byte 0x%02x", (guchar)c);
	}
	push(lx, k, line, NULL, 0);
	*i += w;
	return TRUE;
}

/* The bare word after INCLUDE: anything up to white space or ';'. Checked
 * when the include runs, so that "../x" gets a clear refusal. */
static void lex_name(Lexer *lx, gsize *i, gsize end, guint line)
{
	const char *s = lx->src;
	gsize p = *i;
	while (p < end && !g_ascii_isspace(s[p]) && s[p] != ';')
		p++;
	push(lx, TK_NAME, line, s + *i, p - *i);
	*i = p;
}

/* The tokens of one tag's contents [i, end), starting on @line. */
static gboolean lex_tag(Lexer *lx, gsize i, gsize end, guint line, GError **error)
{
	const char *s = lx->src;
	while (i < end) {
		char c = s[i];
		if (g_ascii_isspace(c)) {
			line += c == '\n';
			i++;
		} else if (c == '#') {
			while (i < end && s[i] != '\n')
				i++;
		} else if (lx->want_name && c != '"' && c != '\'' && c != ';') {
			lex_name(lx, &i, end, line);
		} else if (c == '"' || c == '\'') {
			if (!lex_string(lx, &i, end, &line, error))
				return FALSE;
		} else if (g_ascii_isdigit(c)) {
			gsize p = i;
			while (p < end && (g_ascii_isdigit(s[p]) || s[p] == '.'))
				p++;
			push(lx, TK_NUMBER, line, s + i, p - i);
			i = p;
		} else if (g_ascii_isalpha(c) || c == '_') {
			if (!lex_ident(lx, &i, end, line, error))
				return FALSE;
		} else if (!lex_operator(lx, &i, end, line, error)) {
			return FALSE;
		}
	}
	lx->want_name = FALSE;
	return TRUE;
}

void tt_tokens_free(GArray *tokens)
{
	if (!tokens)
		return;
	for (guint i = 0; i < tokens->len; i++)
		g_free(g_array_index(tokens, TtToken, i).s);
	g_array_free(tokens, TRUE);
}

static gboolean check_utf8(Lexer *lx, gsize len, GError **error)
{
	const char *bad = NULL;
	if (g_utf8_validate(lx->src, (gssize)len, &bad))
		return TRUE;
	gsize at = (gsize)(bad - lx->src);
	return fail(lx, 1 + count_lines(lx->src, 0, at), error,
		    at < len && lx->src[at] == '\0' ? "NUL byte in template" : "not valid UTF-8");
}

GArray *tt_lex(const char *name, const char *src, gsize len, GError **error)
{
	Lexer lx = { .name = name, .src = src, .out = g_array_new(FALSE, FALSE, sizeof(TtToken)) };
	gsize pos = 0;
	guint line = 1;
	gboolean chomp_next = FALSE;

	if (!check_utf8(&lx, len, error))
		goto fail;
	for (;;) {
		const char *open = len > pos ? memmem(src + pos, len - pos, "[%", 2) : NULL;
		gsize t = open ? (gsize)(open - src) : len;
		gboolean pre = open && t + 2 < len && src[t + 2] == '-';
		gsize from = chomp_next ? chomp_after(src, pos, t) : pos;
		gsize to = pre ? chomp_before(src, from, t) : t;

		line += count_lines(src, pos, from);
		if (to > from)
			push(&lx, TK_TEXT, line, src + from, to - from);
		line += count_lines(src, from, t);
		if (!open)
			break;

		gsize start = t + 2 + (pre ? 1 : 0);
		const char *close = len > start ? memmem(src + start, len - start, "%]", 2) : NULL;
		if (!close) {
			fail(&lx, line, error, "unterminated [%% tag");
			goto fail;
		}
		gsize end = (gsize)(close - src);
		chomp_next = end > start && src[end - 1] == '-';
		if (src[start] != '#') {
			if (!lex_tag(&lx, start, chomp_next ? end - 1 : end, line, error))
				goto fail;
			push(&lx, TK_TAG_END, line + count_lines(src, t, end), NULL, 0);
		}
		line += count_lines(src, t, end + 2);
		pos = end + 2;
	}
	push(&lx, TK_EOF, line, NULL, 0);
	return lx.out;
fail:
	tt_tokens_free(lx.out);
	return NULL;
}
