/* tt-parse.c: tokens -> syntax tree (see tt-priv.h).
 *
 * Grammar (statements are separated by ";" or by the end of a tag):
 *   block     := { TEXT | statement (";" | "%]") }
 *   statement := IF expr sep block {ELSIF expr sep block} [ELSE sep block] END
 *              | UNLESS expr sep block [ELSE sep block] END
 *              | INCLUDE (NAME | string) | [SET] IDENT "=" expr | [GET] expr
 *   expr      := and {("or" | "||") and}
 *   and       := not {("and" | "&&") not}
 *   not       := ("not" | "!") not | cmp
 *   cmp       := primary [("==" | "!=") primary]
 *   primary   := IDENT | string | NUMBER | "(" expr ")"
 * Keywords are upper case, word operators either case. Double-quoted strings
 * are split here into literal parts and $var / ${var} references.
 */
#include "config.h"
#include "templates/tt-priv.h"

#include <stdarg.h>
#include <string.h>

typedef struct {
	const char *name;
	GArray *toks;
	guint i;
	guint nest; /* open IFs and parentheses */
	guint ops;  /* "and"/"or" in the current expression: each is a level of its tree */
} Parser;

static const char *const keywords[] = {
	"IF", "ELSIF", "ELSE", "END", "UNLESS", "INCLUDE", "GET", "SET", NULL
};

static TtToken *peek(Parser *p)
{
	return &g_array_index(p->toks, TtToken, p->i);
}

static TtToken *next(Parser *p)
{
	TtToken *t = peek(p);
	if (t->kind != TK_EOF)
		p->i++;
	return t;
}

static gboolean is_kw(const TtToken *t, const char *kw)
{
	return t->kind == TK_IDENT && strcmp(t->s, kw) == 0;
}

static gboolean is_word_op(const TtToken *t, const char *op)
{
	return t->kind == TK_IDENT && g_ascii_strcasecmp(t->s, op) == 0;
}

static gboolean is_sep(const TtToken *t)
{
	return t->kind == TK_SEMI || t->kind == TK_TAG_END;
}

static void fail(Parser *p, guint line, GError **error, const char *fmt, ...) G_GNUC_PRINTF(4, 5);

static void fail(Parser *p, guint line, GError **error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_SYNTAX, "%s:%u: %s",
		    p->name, line, what);
}

static void unexpected(Parser *p, const TtToken *t, GError **error)
{
	static const char *const names[] = {
		[TK_TEXT] = "text", [TK_TAG_END] = "end of tag", [TK_SEMI] = "';'",
		[TK_DSTRING] = "string", [TK_SSTRING] = "string", [TK_ASSIGN] = "'='",
		[TK_EQ] = "'=='", [TK_NE] = "'!='", [TK_NOT] = "'!'", [TK_AND] = "'&&'",
		[TK_OR] = "'||'", [TK_LPAREN] = "'('", [TK_RPAREN] = "')'",
		[TK_EOF] = "end of template",
	};
	if (t->kind == TK_IDENT || t->kind == TK_NAME || t->kind == TK_NUMBER)
		fail(p, t->line, error, "unexpected '%s'", t->s);
	else
		fail(p, t->line, error, "unexpected %s", names[t->kind]);
}

/* ---- expressions -------------------------------------------------------- */

static TtEx *ex_new(TtExKind kind, const char *s, gsize len)
{
	TtEx *e = g_new0(TtEx, 1);
	e->kind = kind;
	if (s) {
		e->s = g_strndup(s, len);
		e->len = len;
	}
	return e;
}

static void ex_free(TtEx *e)
{
	if (!e)
		return;
	g_free(e->s);
	ex_free(e->a);
	ex_free(e->b);
	if (e->parts)
		g_ptr_array_free(e->parts, TRUE);
	g_free(e);
}

static TtEx *ex_binary(TtExKind kind, TtEx *a, TtEx *b)
{
	TtEx *e = ex_new(kind, NULL, 0);
	e->a = a;
	e->b = b;
	return e;
}

static void flush_literal(GPtrArray *parts, GString *lit)
{
	if (lit->len)
		g_ptr_array_add(parts, ex_new(EX_LIT, lit->str, lit->len));
	g_string_truncate(lit, 0);
}

static gboolean var_start(char c)
{
	return g_ascii_isalpha(c) || c == '_';
}

static gboolean var_char(char c)
{
	return g_ascii_isalnum(c) || c == '_';
}

/* "$name.part" at s[*i] (just after '$'): the dots that are followed by a
 * name character belong to the name, so "$to." ends a sentence. */
static gsize interp_plain(const char *s, gsize i, gsize len)
{
	gsize p = i;
	while (p < len && var_char(s[p]))
		p++;
	while (p + 1 < len && s[p] == '.' && var_char(s[p + 1]))
		for (p++; p < len && var_char(s[p]); p++)
			;
	return p;
}

static gboolean valid_var_name(const char *s, gsize len)
{
	if (len == 0 || !var_start(s[0]) || s[len - 1] == '.')
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (s[i] == '.' ? s[i + 1] == '.' : !(var_char(s[i]) || s[i] == '-'))
			return FALSE;
	}
	return TRUE;
}

static char unescape(char c)
{
	switch (c) {
	case 'n': return '\n';
	case 't': return '\t';
	case 'r': return '\r';
	case '"': return '"';
	case '\\': return '\\';
	case '$': return '$';
	default: return '\0';
	}
}

static TtEx *parse_dstring(Parser *p, const TtToken *t, GError **error)
{
	const char *s = t->s;
	gsize len = t->len;
	TtEx *e = ex_new(EX_CONCAT, NULL, 0);
	e->parts = g_ptr_array_new_with_free_func((GDestroyNotify)ex_free);
	g_autoptr(GString) lit = g_string_new(NULL);
	for (gsize i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len) {
			char u = unescape(s[i + 1]);
			if (u)
				g_string_append_c(lit, u);
			else
				g_string_append_len(lit, s + i, 2);
			i++;
		} else if (s[i] == '$' && i + 1 < len && s[i + 1] == '{') {
			const char *close = memchr(s + i, '}', len - i);
			if (!close) {
				fail(p, t->line, error, "unterminated ${ in string");
				goto fail;
			}
			g_autofree char *name = g_strndup(s + i + 2, (gsize)(close - s) - i - 2);
			g_strstrip(name);
			if (!valid_var_name(name, strlen(name))) {
				fail(p, t->line, error, "bad variable name '${%s}' in string", name);
				goto fail;
			}
			flush_literal(e->parts, lit);
			g_ptr_array_add(e->parts, ex_new(EX_VAR, name, strlen(name)));
			i = (gsize)(close - s);
		} else if (s[i] == '$' && i + 1 < len && var_start(s[i + 1])) {
			gsize end = interp_plain(s, i + 1, len);
			flush_literal(e->parts, lit);
			g_ptr_array_add(e->parts, ex_new(EX_VAR, s + i + 1, end - i - 1));
			i = end - 1;
		} else {
			g_string_append_c(lit, s[i]);
		}
	}
	flush_literal(e->parts, lit);
	return e;
fail:
	ex_free(e);
	return NULL;
}

static TtEx *parse_or(Parser *p, GError **error);

static TtEx *parse_primary(Parser *p, GError **error)
{
	TtToken *t = next(p);
	switch (t->kind) {
	case TK_SSTRING:
	case TK_NUMBER:
		return ex_new(EX_LIT, t->s, t->len);
	case TK_DSTRING:
		return parse_dstring(p, t, error);
	case TK_IDENT:
		if (g_strv_contains(keywords, t->s) || is_word_op(t, "and") ||
		    is_word_op(t, "or") || is_word_op(t, "not"))
			break;
		return ex_new(EX_VAR, t->s, t->len);
	case TK_LPAREN: {
		if (++p->nest > SM_TEMPLATE_MAX_NEST) {
			fail(p, t->line, error, "nested deeper than %d", SM_TEMPLATE_MAX_NEST);
			return NULL;
		}
		TtEx *e = parse_or(p, error);
		if (!e)
			return NULL;
		TtToken *c = next(p);
		if (c->kind != TK_RPAREN) {
			ex_free(e);
			fail(p, t->line, error, "'(' without ')'");
			return NULL;
		}
		p->nest--;
		return e;
	}
	default:
		break;
	}
	unexpected(p, t, error);
	return NULL;
}

static TtEx *parse_cmp(Parser *p, GError **error)
{
	TtEx *a = parse_primary(p, error);
	if (!a)
		return NULL;
	TtTokKind k = peek(p)->kind;
	if (k != TK_EQ && k != TK_NE)
		return a;
	next(p);
	TtEx *b = parse_primary(p, error);
	if (!b) {
		ex_free(a);
		return NULL;
	}
	return ex_binary(k == TK_EQ ? EX_EQ : EX_NE, a, b);
}

static TtEx *parse_not(Parser *p, GError **error)
{
	TtToken *t = peek(p);
	if (t->kind != TK_NOT && !is_word_op(t, "not"))
		return parse_cmp(p, error);
	next(p);
	if (++p->nest > SM_TEMPLATE_MAX_NEST) {
		fail(p, t->line, error, "nested deeper than %d", SM_TEMPLATE_MAX_NEST);
		return NULL;
	}
	TtEx *a = parse_not(p, error);
	p->nest--;
	return a ? ex_binary(EX_NOT, a, NULL) : NULL;
}

static gboolean count_op(Parser *p, GError **error)
{
	if (++p->ops <= SM_TEMPLATE_MAX_OPS)
		return TRUE;
	fail(p, peek(p)->line, error, "more than %d and/or in one expression", SM_TEMPLATE_MAX_OPS);
	return FALSE;
}

static TtEx *parse_and(Parser *p, GError **error)
{
	TtEx *a = parse_not(p, error);
	while (a && (peek(p)->kind == TK_AND || is_word_op(peek(p), "and"))) {
		if (!count_op(p, error)) {
			ex_free(a);
			return NULL;
		}
		next(p);
		TtEx *b = parse_not(p, error);
		if (!b) {
			ex_free(a);
			return NULL;
		}
		a = ex_binary(EX_AND, a, b);
	}
	return a;
}

static TtEx *parse_or(Parser *p, GError **error)
{
	TtEx *a = parse_and(p, error);
	while (a && (peek(p)->kind == TK_OR || is_word_op(peek(p), "or"))) {
		if (!count_op(p, error)) {
			ex_free(a);
			return NULL;
		}
		next(p);
		TtEx *b = parse_and(p, error);
		if (!b) {
			ex_free(a);
			return NULL;
		}
		a = ex_binary(EX_OR, a, b);
	}
	return a;
}

/* A whole expression (not a parenthesised part of one). */
static TtEx *parse_expr(Parser *p, GError **error)
{
	p->ops = 0;
	return parse_or(p, error);
}

/* ---- statements --------------------------------------------------------- */

static void node_free(TtNode *n);

static void branch_free(TtBranch *b)
{
	ex_free(b->cond);
	g_ptr_array_free(b->body, TRUE);
	g_free(b);
}

static void node_free(TtNode *n)
{
	g_free(n->s);
	ex_free(n->ex);
	if (n->branches)
		g_ptr_array_free(n->branches, TRUE);
	g_free(n);
}

static TtNode *node_new(TtNdKind kind, guint line)
{
	TtNode *n = g_new0(TtNode, 1);
	n->kind = kind;
	n->line = line;
	return n;
}

static GPtrArray *body_new(void)
{
	return g_ptr_array_new_with_free_func((GDestroyNotify)node_free);
}

static gboolean parse_block(Parser *p, GPtrArray *body, gboolean in_if, GError **error);

static gboolean expect_sep(Parser *p, GError **error)
{
	if (is_sep(peek(p))) {
		next(p);
		return TRUE;
	}
	unexpected(p, peek(p), error);
	return FALSE;
}

/* IF/UNLESS, the keyword already taken. */
static TtNode *parse_if(Parser *p, const TtToken *kw, GError **error)
{
	TtNode *n = node_new(ND_IF, kw->line);
	n->branches = g_ptr_array_new_with_free_func((GDestroyNotify)branch_free);
	if (++p->nest > SM_TEMPLATE_MAX_NEST) {
		fail(p, kw->line, error, "nested deeper than %d", SM_TEMPLATE_MAX_NEST);
		goto fail;
	}
	gboolean unless = strcmp(kw->s, "UNLESS") == 0, has_cond = TRUE;
	for (;;) {
		TtBranch *b = g_new0(TtBranch, 1);
		b->body = body_new();
		g_ptr_array_add(n->branches, b);
		if (has_cond) {
			b->cond = parse_expr(p, error);
			if (!b->cond)
				goto fail;
			if (unless)
				b->cond = ex_binary(EX_NOT, b->cond, NULL);
		}
		if (!expect_sep(p, error) || !parse_block(p, b->body, TRUE, error))
			goto fail;
		TtToken *t = next(p);
		if (is_kw(t, "END"))
			break;
		if (t->kind == TK_EOF) {
			fail(p, kw->line, error, "%s without END", kw->s);
			goto fail;
		}
		if (!has_cond || (unless && is_kw(t, "ELSIF"))) {
			unexpected(p, t, error);
			goto fail;
		}
		has_cond = is_kw(t, "ELSIF");
	}
	p->nest--;
	return n;
fail:
	node_free(n);
	return NULL;
}

static TtNode *parse_include(Parser *p, const TtToken *kw, GError **error)
{
	TtToken *t = next(p);
	TtNode *n = node_new(ND_INCLUDE, kw->line);
	if (t->kind == TK_NAME || t->kind == TK_SSTRING)
		n->ex = ex_new(EX_LIT, t->s, t->len);
	else if (t->kind == TK_DSTRING)
		n->ex = parse_dstring(p, t, error);
	else
		fail(p, kw->line, error, "INCLUDE without a template name");
	if (!n->ex) {
		node_free(n);
		return NULL;
	}
	return n;
}

static TtNode *parse_assign(Parser *p, const TtToken *target, GError **error)
{
	if (target->kind != TK_IDENT || g_strv_contains(keywords, target->s)) {
		unexpected(p, target, error);
		return NULL;
	}
	next(p); /* '=' */
	TtNode *n = node_new(ND_ASSIGN, target->line);
	n->s = g_strdup(target->s);
	n->ex = parse_expr(p, error);
	if (!n->ex) {
		node_free(n);
		return NULL;
	}
	return n;
}

static TtNode *parse_statement(Parser *p, GError **error)
{
	TtToken *t = peek(p);
	if (is_kw(t, "IF") || is_kw(t, "UNLESS"))
		return parse_if(p, next(p), error);
	if (is_kw(t, "INCLUDE"))
		return parse_include(p, next(p), error);
	gboolean set = is_kw(t, "SET"), get = is_kw(t, "GET");
	if (set || get) {
		next(p);
		t = peek(p);
	}
	const TtToken *after = t->kind == TK_EOF ? t : &g_array_index(p->toks, TtToken, p->i + 1);
	if (!get && after->kind == TK_ASSIGN)
		return parse_assign(p, next(p), error);
	if (set) {
		fail(p, t->line, error, "SET without an assignment");
		return NULL;
	}
	TtEx *e = parse_expr(p, error);
	if (!e)
		return NULL;
	TtNode *n = node_new(ND_OUTPUT, t->line);
	n->ex = e;
	return n;
}

/* Statements up to the end (top level) or up to ELSIF/ELSE/END, which stays
 * unread for the IF that asked. */
static gboolean parse_block(Parser *p, GPtrArray *body, gboolean in_if, GError **error)
{
	for (;;) {
		TtToken *t = peek(p);
		if (t->kind == TK_EOF)
			return TRUE;
		if (is_sep(t)) {
			next(p);
			continue;
		}
		if (t->kind == TK_TEXT) {
			TtNode *n = node_new(ND_TEXT, t->line);
			n->s = g_strndup(t->s, t->len);
			n->len = t->len;
			g_ptr_array_add(body, n);
			next(p);
			continue;
		}
		if (is_kw(t, "ELSIF") || is_kw(t, "ELSE") || is_kw(t, "END")) {
			if (in_if)
				return TRUE;
			fail(p, t->line, error, "%s without IF", t->s);
			return FALSE;
		}
		TtNode *n = parse_statement(p, error);
		if (!n)
			return FALSE;
		g_ptr_array_add(body, n);
		if (!expect_sep(p, error))
			return FALSE;
	}
}

void tt_template_free(TtTemplate *t)
{
	if (!t)
		return;
	g_free(t->name);
	if (t->body)
		g_ptr_array_free(t->body, TRUE);
	g_free(t);
}

TtTemplate *tt_parse(const char *name, const char *src, gsize len, GError **error)
{
	GArray *toks = tt_lex(name, src, len, error);
	if (!toks)
		return NULL;
	Parser p = { .name = name, .toks = toks };
	TtTemplate *t = g_new0(TtTemplate, 1);
	t->name = g_strdup(name);
	t->body = body_new();
	gboolean ok = parse_block(&p, t->body, FALSE, error);
	tt_tokens_free(toks);
	if (!ok) {
		tt_template_free(t);
		return NULL;
	}
	return t;
}
