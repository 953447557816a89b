/* tt-render.c: walking the syntax tree into a body and reply headers.
 *
 * Contract (see templates.h): values are strings; undefined renders as "";
 * a value is false when it is undefined, empty or "0" (Perl's truth, which
 * Template Toolkit users expect). "a or b" and "a and b" yield the deciding
 * operand, as in TT, so "[% subject or 'no subject' %]" works; "not", "==" and
 * "!=" yield "1" or "".
 *
 * Scopes follow TT's INCLUDE: an included template sees its includer's
 * variables, but plain names it assigns ("greeting = ...") vanish when it
 * ends. Dotted names ("head.Subject") are shared by every level, which is how
 * an include such as normal_header can set reply headers.
 *
 * Every statement and operator costs a step, every byte built costs work;
 * both are bounded, as are the output, each value and the include depth.
 */
#include "config.h"
#include "templates/tt-priv.h"

#include <stdarg.h>
#include <string.h>

G_DEFINE_QUARK(sm-template-error-quark, sm_template_error)

typedef struct {
	const SmTemplateSource *src;
	GHashTable *parsed;     /* name -> TtTemplate *: each file read once per render */
	GPtrArray *stack;       /* of char *: the templates being rendered, outermost first */
	guint first_file;       /* stack entries below this are not files (a string render) */
	GPtrArray *scopes;      /* of GHashTable *, plain name -> value, one per level */
	GHashTable *dotted;     /* dotted name -> value, shared by every level */
	GPtrArray *head_order;  /* of char *: header names in the order first set */
	GString *out;
	guint steps;
	gsize work;
} Render;

static const char *current(const Render *r)
{
	return r->stack->pdata[r->stack->len - 1];
}

static gboolean rfail(Render *r, guint line, GError **error, SmTemplateError code,
		      const char *fmt, ...) G_GNUC_PRINTF(5, 6);

static gboolean rfail(Render *r, guint line, GError **error, SmTemplateError code,
		      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, SM_TEMPLATE_ERROR, code, "%s:%u: %s", current(r), line, what);
	return FALSE;
}

static gboolean spend(Render *r, gsize bytes, guint line, GError **error)
{
	if (++r->steps > SM_TEMPLATE_MAX_STEPS)
		return rfail(r, line, error, SM_TEMPLATE_ERROR_LIMIT,
			     "more than %d steps (an include loop?)", SM_TEMPLATE_MAX_STEPS);
	r->work += bytes;
	if (r->work > SM_TEMPLATE_MAX_WORK)
		return rfail(r, line, error, SM_TEMPLATE_ERROR_LIMIT,
			     "more than %d bytes of work", SM_TEMPLATE_MAX_WORK);
	return TRUE;
}

static gboolean truthy(const char *v)
{
	return *v && strcmp(v, "0") != 0;
}

static char *lookup(Render *r, const char *name)
{
	const char *v = NULL;
	if (strchr(name, '.')) {
		v = g_hash_table_lookup(r->dotted, name);
	} else {
		for (guint i = r->scopes->len; !v && i-- > 0;)
			v = g_hash_table_lookup(r->scopes->pdata[i], name);
	}
	if (v)
		return g_strdup(v);
	char *given = r->src->lookup ? r->src->lookup(name, r->src->lookup_data) : NULL;
	return given ? given : g_strdup("");
}

static char *eval(Render *r, const TtEx *e, guint line, GError **error);

static char *eval_concat(Render *r, const TtEx *e, guint line, GError **error)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < e->parts->len; i++) {
		char *v = eval(r, e->parts->pdata[i], line, error);
		if (!v) {
			g_string_free(s, TRUE);
			return NULL;
		}
		g_string_append(s, v);
		g_free(v);
		if (s->len > SM_TEMPLATE_MAX_VALUE) {
			g_string_free(s, TRUE);
			rfail(r, line, error, SM_TEMPLATE_ERROR_LIMIT,
			      "string longer than %d bytes", SM_TEMPLATE_MAX_VALUE);
			return NULL;
		}
	}
	return g_string_free(s, FALSE);
}

/* "a and b" / "a or b": the first operand when it decides, else the second. */
static char *eval_logic(Render *r, const TtEx *e, guint line, GError **error)
{
	char *a = eval(r, e->a, line, error);
	if (!a || truthy(a) == (e->kind == EX_OR))
		return a;
	g_free(a);
	return eval(r, e->b, line, error);
}

static char *eval_compare(Render *r, const TtEx *e, guint line, GError **error)
{
	g_autofree char *a = eval(r, e->a, line, error);
	if (!a)
		return NULL;
	g_autofree char *b = eval(r, e->b, line, error);
	if (!b)
		return NULL;
	return g_strdup((strcmp(a, b) == 0) == (e->kind == EX_EQ) ? "1" : "");
}

/* The value of @e, newly allocated, or NULL + error. */
static char *eval(Render *r, const TtEx *e, guint line, GError **error)
{
	char *v = NULL;
	switch (e->kind) {
	case EX_LIT: v = g_strndup(e->s, e->len); break;
	case EX_VAR: v = lookup(r, e->s); break;
	case EX_CONCAT: v = eval_concat(r, e, line, error); break;
	case EX_NOT: {
		g_autofree char *a = eval(r, e->a, line, error);
		if (a)
			v = g_strdup(truthy(a) ? "" : "1");
		break;
	}
	case EX_AND:
	case EX_OR: v = eval_logic(r, e, line, error); break;
	case EX_EQ:
	case EX_NE: v = eval_compare(r, e, line, error); break;
	}
	if (v && !spend(r, strlen(v), line, error)) {
		g_free(v);
		return NULL;
	}
	return v;
}

static gboolean emit(Render *r, const char *s, gsize len, guint line, GError **error)
{
	if (r->out->len + len > SM_TEMPLATE_MAX_OUTPUT)
		return rfail(r, line, error, SM_TEMPLATE_ERROR_LIMIT,
			     "output larger than %d bytes", SM_TEMPLATE_MAX_OUTPUT);
	if (!spend(r, len, line, error))
		return FALSE;
	g_string_append_len(r->out, s, (gssize)len);
	return TRUE;
}

/* Takes @value. */
static gboolean assign(Render *r, const char *name, char *value, guint line, GError **error)
{
	if (strlen(value) > SM_TEMPLATE_MAX_VALUE) {
		g_free(value);
		return rfail(r, line, error, SM_TEMPLATE_ERROR_LIMIT,
			     "value of %s longer than %d bytes", name, SM_TEMPLATE_MAX_VALUE);
	}
	if (!strchr(name, '.')) {
		g_hash_table_replace(r->scopes->pdata[r->scopes->len - 1], g_strdup(name), value);
		return TRUE;
	}
	if (g_str_has_prefix(name, "head.")) {
		const char *h = tt_head_name(name);
		if (!h) {
			g_free(value);
			return rfail(r, line, error, SM_TEMPLATE_ERROR_SYNTAX,
				     "%s: not a header name", name + 5);
		}
		if (!g_hash_table_contains(r->dotted, name))
			g_ptr_array_add(r->head_order, g_strdup(h));
	}
	g_hash_table_replace(r->dotted, g_strdup(name), value);
	return TRUE;
}

/* Appends where an error inside an included template was reached from. */
static void add_context(GError *e, const char *includer, guint line)
{
	char *m = g_strdup_printf("%s (included from %s:%u)", e->message, includer, line);
	g_free(e->message);
	e->message = m;
}

static gboolean run_body(Render *r, const GPtrArray *body, GError **error);

static TtTemplate *get_template(Render *r, const char *name, guint line, GError **error)
{
	TtTemplate *t = g_hash_table_lookup(r->parsed, name);
	if (t)
		return t;
	GError *e = NULL;
	gsize len = 0;
	g_autofree char *text = tt_load(r->src, name, &len, &e);
	if (!text) {
		g_propagate_prefixed_error(error, e, "%s:%u: INCLUDE %s: ", current(r), line, name);
		return NULL;
	}
	t = tt_parse(name, text, len, &e);
	if (!t) {
		add_context(e, current(r), line);
		g_propagate_error(error, e);
		return NULL;
	}
	g_hash_table_insert(r->parsed, g_strdup(name), t);
	return t;
}

static gboolean check_include(Render *r, const char *name, guint line, GError **error)
{
	if (!sm_template_name_valid(name)) {
		g_autofree char *shown = g_strescape(name, NULL);
		return rfail(r, line, error, SM_TEMPLATE_ERROR_NAME,
			     "INCLUDE %.100s: not a template name (only letters, digits, "
			     "'_', '-' and '.' inside; no '..')", shown);
	}
	if (r->stack->len > SM_TEMPLATE_MAX_DEPTH)
		return rfail(r, line, error, SM_TEMPLATE_ERROR_LIMIT,
			     "INCLUDE %s: includes nested deeper than %d", name,
			     SM_TEMPLATE_MAX_DEPTH);
	for (guint i = r->first_file; i < r->stack->len; i++) {
		if (strcmp(r->stack->pdata[i], name) != 0)
			continue;
		g_autoptr(GString) chain = g_string_new(NULL);
		for (guint j = i; j < r->stack->len; j++)
			g_string_append_printf(chain, "%s -> ", (char *)r->stack->pdata[j]);
		g_string_append(chain, name);
		return rfail(r, line, error, SM_TEMPLATE_ERROR_LIMIT,
			     "INCLUDE %s: include cycle (%s)", name, chain->str);
	}
	return TRUE;
}

static gboolean run_template(Render *r, const TtTemplate *t, GError **error)
{
	g_ptr_array_add(r->stack, g_strdup(t->name));
	g_ptr_array_add(r->scopes, g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free));
	gboolean ok = run_body(r, t->body, error);
	g_ptr_array_remove_index(r->scopes, r->scopes->len - 1);
	g_ptr_array_remove_index(r->stack, r->stack->len - 1);
	return ok;
}

static gboolean include(Render *r, const char *name, guint line, GError **error)
{
	if (!check_include(r, name, line, error))
		return FALSE;
	TtTemplate *t = get_template(r, name, line, error);
	if (!t)
		return FALSE;
	GError *e = NULL;
	if (run_template(r, t, &e))
		return TRUE;
	add_context(e, current(r), line);
	g_propagate_error(error, e);
	return FALSE;
}

static gboolean run_if(Render *r, const TtNode *n, GError **error)
{
	for (guint i = 0; i < n->branches->len; i++) {
		const TtBranch *b = n->branches->pdata[i];
		if (b->cond) {
			g_autofree char *v = eval(r, b->cond, n->line, error);
			if (!v)
				return FALSE;
			if (!truthy(v))
				continue;
		}
		return run_body(r, b->body, error);
	}
	return TRUE;
}

static gboolean run_node(Render *r, const TtNode *n, GError **error)
{
	if (!spend(r, 0, n->line, error))
		return FALSE;
	if (n->kind == ND_TEXT)
		return emit(r, n->s, n->len, n->line, error);
	if (n->kind == ND_IF)
		return run_if(r, n, error);
	char *v = eval(r, n->ex, n->line, error);
	if (!v)
		return FALSE;
	gboolean ok;
	if (n->kind == ND_ASSIGN)
		return assign(r, n->s, v, n->line, error);
	if (n->kind == ND_INCLUDE)
		ok = include(r, v, n->line, error);
	else
		ok = emit(r, v, strlen(v), n->line, error);
	g_free(v);
	return ok;
}

static gboolean run_body(Render *r, const GPtrArray *body, GError **error)
{
	for (guint i = 0; i < body->len; i++) {
		if (!run_node(r, body->pdata[i], error))
			return FALSE;
	}
	return TRUE;
}

/* ---- results ------------------------------------------------------------ */

static void header_free(SmTemplateHeader *h)
{
	g_free(h->name);
	g_free(h->value);
	g_free(h);
}

void sm_template_result_free(SmTemplateResult *res)
{
	if (!res)
		return;
	g_free(res->body);
	g_ptr_array_free(res->headers, TRUE);
	g_free(res);
}

const char *sm_template_result_header(const SmTemplateResult *res, const char *name)
{
	for (guint i = 0; i < res->headers->len; i++) {
		const SmTemplateHeader *h = res->headers->pdata[i];
		if (g_ascii_strcasecmp(h->name, name) == 0)
			return h->value;
	}
	return NULL;
}

static SmTemplateResult *result_take(Render *r)
{
	SmTemplateResult *res = g_new0(SmTemplateResult, 1);
	res->body_len = r->out->len;
	res->body = g_string_free(r->out, FALSE);
	r->out = NULL;
	res->headers = g_ptr_array_new_with_free_func((GDestroyNotify)header_free);
	for (guint i = 0; i < r->head_order->len; i++) {
		const char *name = r->head_order->pdata[i];
		g_autofree char *var = g_strconcat("head.", name, NULL);
		SmTemplateHeader *h = g_new0(SmTemplateHeader, 1);
		h->name = g_strdup(name);
		h->value = g_strdup(g_hash_table_lookup(r->dotted, var));
		gsize n = strlen(h->value);
		while (n > 0 && (h->value[n - 1] == '\n' || h->value[n - 1] == '\r'))
			h->value[--n] = '\0';
		g_ptr_array_add(res->headers, h);
	}
	return res;
}

/* ---- entry points ------------------------------------------------------- */

static void render_init(Render *r, const SmTemplateSource *src)
{
	*r = (Render){ .src = src };
	r->parsed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					  (GDestroyNotify)tt_template_free);
	r->stack = g_ptr_array_new_with_free_func(g_free);
	r->scopes = g_ptr_array_new_with_free_func((GDestroyNotify)g_hash_table_unref);
	r->dotted = g_hash_table_new_full(tt_var_hash, tt_var_equal, g_free, g_free);
	r->head_order = g_ptr_array_new_with_free_func(g_free);
	r->out = g_string_new(NULL);
}

static void render_clear(Render *r)
{
	g_hash_table_unref(r->parsed);
	g_ptr_array_free(r->stack, TRUE);
	g_ptr_array_free(r->scopes, TRUE);
	g_hash_table_unref(r->dotted);
	g_ptr_array_free(r->head_order, TRUE);
	if (r->out)
		g_string_free(r->out, TRUE);
}

static SmTemplateResult *render_top(Render *r, TtTemplate *t, GError **error)
{
	SmTemplateResult *res = run_template(r, t, error) ? result_take(r) : NULL;
	render_clear(r);
	return res;
}

SmTemplateResult *sm_template_render(const SmTemplateSource *src, const char *name,
				     GError **error)
{
	if (!sm_template_name_valid(name)) {
		g_autofree char *shown = g_strescape(name ? name : "", NULL);
		g_set_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_NAME,
			    "%.100s: not a template name", shown);
		return NULL;
	}
	gsize len = 0;
	GError *e = NULL;
	g_autofree char *text = tt_load(src, name, &len, &e);
	if (!text) {
		g_propagate_prefixed_error(error, e, "%s: ", name);
		return NULL;
	}
	Render r;
	render_init(&r, src);
	TtTemplate *t = tt_parse(name, text, len, error);
	if (!t) {
		render_clear(&r);
		return NULL;
	}
	g_hash_table_insert(r.parsed, g_strdup(name), t);
	return render_top(&r, t, error);
}

SmTemplateResult *sm_template_render_string(const SmTemplateSource *src, const char *label,
					    const char *text, gsize len, GError **error)
{
	if (len > SM_TEMPLATE_MAX_FILE) {
		g_set_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_LIMIT,
			    "%s: larger than %d bytes", label, SM_TEMPLATE_MAX_FILE);
		return NULL;
	}
	g_autoptr(TtTemplate) t = tt_parse(label, text, len, error);
	if (!t)
		return NULL;
	Render r;
	render_init(&r, src);
	r.first_file = 1; /* the label names no file: it cannot close a cycle */
	return render_top(&r, t, error);
}
