/* meta.c: meta expressions, parsed into a postfix program (see meta.h).
 *
 * A recursive-descent parser, one function per precedence level, emits the
 * operations in evaluation order; evaluating is one pass over them with a
 * small stack, so scoring a message never parses. && and || jump over their
 * right operand when the left one decides (Perl gives the same values), so
 * the rules there are not even asked for: a sub-rule that no meta needs on
 * this message is never run (match.c).
 */
#include "config.h"
#include "score/meta.h"
#include "score/score.h"
#include "score/rulecache.h"

#include <string.h>

/* Parentheses and unary operators nest at most this deep: a meta is a line
 * of a rule file, and the recursion must not be steerable into the stack. */
#define MAX_NESTING 100

typedef enum {
	OP_NUM, OP_NAME,
	OP_NOT, OP_NEG,
	OP_MUL, OP_DIV, OP_ADD, OP_SUB,
	OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE,
	OP_AND, OP_OR,  /* jump to target when the top decides; else pop it */
} OpCode;

typedef struct {
	OpCode op;
	double num;     /* OP_NUM */
	guint name;     /* OP_NAME: index into names / slots */
	guint target;   /* OP_AND, OP_OR: the operation after the right operand */
} Op;

struct SmMeta {
	GArray *ops;        /* Op */
	GPtrArray *names;   /* char * */
	guint *slots;       /* one per name once bound, else NULL */
	guint stack;        /* deepest evaluation stack */
	gboolean unknown;
};

typedef struct {
	const char *s;
	SmMeta *m;
	guint depth;
	GError **error;
} Parser;

static gboolean fail(Parser *p, const char *what)
{
	if (*p->s)
		g_set_error(p->error, SM_SCORE_ERROR, SM_SCORE_ERROR_RULES, "meta: %s at '%.20s'",
		            what, p->s);
	else
		g_set_error(p->error, SM_SCORE_ERROR, SM_SCORE_ERROR_RULES, "meta: %s at the end",
		            what);
	return FALSE;
}

static void skip_space(Parser *p)
{
	while (g_ascii_isspace(*p->s))
		p->s++;
}

/* Consumes @tok if it comes next (and is not the start of a longer operator). */
static gboolean accept(Parser *p, const char *tok)
{
	skip_space(p);
	gsize n = strlen(tok);
	if (strncmp(p->s, tok, n) != 0)
		return FALSE;
	/* "<" must not take "<=", "!" not "!=", "=" never stands alone. */
	if (n == 1 && strchr("<>!", tok[0]) && p->s[1] == '=')
		return FALSE;
	p->s += n;
	return TRUE;
}

static void emit(Parser *p, OpCode op)
{
	Op o = { .op = op };
	g_array_append_val(p->m->ops, o);
}

static guint name_index(SmMeta *m, const char *name, gsize len)
{
	for (guint i = 0; i < m->names->len; i++) {
		const char *n = m->names->pdata[i];
		if (strlen(n) == len && strncmp(n, name, len) == 0)
			return i;
	}
	g_ptr_array_add(m->names, g_strndup(name, len));
	return m->names->len - 1;
}

static gboolean parse_or(Parser *p);

static gboolean parse_primary(Parser *p)
{
	skip_space(p);
	const char *s = p->s;
	if (*s == '(') {
		p->s++;
		if (++p->depth > MAX_NESTING)
			return fail(p, "nested too deep");
		if (!parse_or(p))
			return FALSE;
		p->depth--;
		return accept(p, ")") || fail(p, "expected ')'");
	}
	if (g_ascii_isdigit(*s) || (*s == '.' && g_ascii_isdigit(s[1]))) {
		char *end = NULL;
		Op o = { .op = OP_NUM, .num = g_ascii_strtod(s, &end) };
		g_array_append_val(p->m->ops, o);
		p->s = end;
		return TRUE;
	}
	if (g_ascii_isalpha(*s) || *s == '_') {
		const char *e = s;
		while (g_ascii_isalnum(*e) || *e == '_')
			e++;
		Op o = { .op = OP_NAME, .name = name_index(p->m, s, e - s) };
		g_array_append_val(p->m->ops, o);
		p->s = e;
		return TRUE;
	}
	return fail(p, "expected a rule name, a number or '('");
}

static gboolean parse_unary(Parser *p)
{
	OpCode op;
	if (accept(p, "!"))
		op = OP_NOT;
	else if (accept(p, "-"))
		op = OP_NEG;
	else if (accept(p, "+"))
		op = OP_NUM; /* unary plus: nothing to do */
	else
		return parse_primary(p);
	if (++p->depth > MAX_NESTING)
		return fail(p, "nested too deep");
	if (!parse_unary(p))
		return FALSE;
	p->depth--;
	if (op != OP_NUM)
		emit(p, op);
	return TRUE;
}

/* One binary precedence level: operands from @next, operators from @ops. */
typedef gboolean (*Level)(Parser *p);
typedef struct {
	const char *tok;
	OpCode op;
} BinOp;

static gboolean parse_level(Parser *p, Level next, const BinOp *ops, gsize n)
{
	if (!next(p))
		return FALSE;
	for (;;) {
		gsize k;
		for (k = 0; k < n; k++)
			if (accept(p, ops[k].tok))
				break;
		if (k == n)
			return TRUE;
		if (!next(p))
			return FALSE;
		emit(p, ops[k].op);
	}
}

static gboolean parse_mul(Parser *p)
{
	static const BinOp ops[] = { { "*", OP_MUL }, { "/", OP_DIV } };
	return parse_level(p, parse_unary, ops, G_N_ELEMENTS(ops));
}

static gboolean parse_add(Parser *p)
{
	static const BinOp ops[] = { { "+", OP_ADD }, { "-", OP_SUB } };
	return parse_level(p, parse_mul, ops, G_N_ELEMENTS(ops));
}

static gboolean parse_rel(Parser *p)
{
	static const BinOp ops[] = { { "<=", OP_LE }, { ">=", OP_GE }, { "<", OP_LT },
	                             { ">", OP_GT } };
	return parse_level(p, parse_add, ops, G_N_ELEMENTS(ops));
}

static gboolean parse_eq(Parser *p)
{
	static const BinOp ops[] = { { "==", OP_EQ }, { "!=", OP_NE } };
	return parse_level(p, parse_rel, ops, G_N_ELEMENTS(ops));
}

/* A level of && or ||: "a && b" is [a] AND(->end) [b] end. */
static gboolean parse_logic(Parser *p, Level next, const char *tok, OpCode op)
{
	if (!next(p))
		return FALSE;
	while (accept(p, tok)) {
		guint jump = p->m->ops->len;
		emit(p, op);
		if (!next(p))
			return FALSE;
		g_array_index(p->m->ops, Op, jump).target = p->m->ops->len;
	}
	return TRUE;
}

static gboolean parse_and(Parser *p)
{
	return parse_logic(p, parse_eq, "&&", OP_AND);
}

static gboolean parse_or(Parser *p)
{
	return parse_logic(p, parse_and, "||", OP_OR);
}

/* The deepest stack the program needs. */
static guint stack_need(const GArray *ops)
{
	guint depth = 0, max = 0;
	for (guint i = 0; i < ops->len; i++) {
		OpCode op = g_array_index(ops, Op, i).op;
		if (op == OP_NUM || op == OP_NAME)
			depth++;
		else if (op != OP_NOT && op != OP_NEG)
			depth--;
		max = MAX(max, depth);
	}
	return max;
}

SmMeta *sm_meta_parse(const char *expr, GError **error)
{
	SmMeta *m = g_new0(SmMeta, 1);
	m->ops = g_array_new(FALSE, FALSE, sizeof(Op));
	m->names = g_ptr_array_new_with_free_func(g_free);
	Parser p = { .s = expr, .m = m, .error = error };
	gboolean ok = parse_or(&p);
	skip_space(&p);
	if (ok && *p.s)
		ok = fail(&p, "unexpected text");
	if (!ok) {
		sm_meta_free(m);
		return NULL;
	}
	m->stack = stack_need(m->ops);
	return m;
}

void sm_meta_free(SmMeta *m)
{
	if (!m)
		return;
	g_array_free(m->ops, TRUE);
	g_ptr_array_free(m->names, TRUE);
	g_free(m->slots);
	g_free(m);
}

const GPtrArray *sm_meta_names(const SmMeta *m)
{
	return m->names;
}

void sm_meta_bind(SmMeta *m, const guint *slots)
{
	g_free(m->slots);
	m->slots = g_memdup2(slots, sizeof(guint) * MAX(m->names->len, 1));
	m->unknown = FALSE;
	for (guint i = 0; i < m->names->len; i++)
		m->unknown = m->unknown || slots[i] == SM_META_UNKNOWN;
}

gboolean sm_meta_has_unknown(const SmMeta *m)
{
	return m->unknown;
}

static double binary(OpCode op, double a, double b)
{
	switch (op) {
	case OP_MUL: return a * b;
	case OP_DIV: return b != 0.0 ? a / b : 0.0;
	case OP_ADD: return a + b;
	case OP_SUB: return a - b;
	case OP_LT:  return a < b;
	case OP_LE:  return a <= b;
	case OP_GT:  return a > b;
	case OP_GE:  return a >= b;
	case OP_EQ:  return a == b;
	case OP_NE:  return a != b;
	default:     g_assert_not_reached();
	}
}

double sm_meta_eval(const SmMeta *m, SmMetaValue value, gpointer user, double unknown_value)
{
	double small[32];
	double *stack = m->stack <= G_N_ELEMENTS(small) ? small : g_new(double, m->stack);
	guint sp = 0;
	for (guint i = 0; i < m->ops->len; i++) {
		const Op *o = &g_array_index(m->ops, Op, i);
		switch (o->op) {
		case OP_NUM:
			stack[sp++] = o->num;
			break;
		case OP_NAME: {
			guint slot = m->slots ? m->slots[o->name] : SM_META_UNKNOWN;
			stack[sp++] = slot == SM_META_UNKNOWN ? unknown_value
			              : slot == SM_META_ZERO ? 0.0 : value(user, slot);
			break;
		}
		case OP_AND:
		case OP_OR:
			/* Perl: a && b is a when a is false, else b (|| the other way). */
			if ((stack[sp - 1] != 0.0) == (o->op == OP_OR))
				i = o->target - 1;
			else
				sp--;
			break;
		case OP_NOT:
			stack[sp - 1] = stack[sp - 1] == 0.0;
			break;
		case OP_NEG:
			stack[sp - 1] = -stack[sp - 1];
			break;
		default:
			sp--;
			stack[sp - 1] = binary(o->op, stack[sp - 1], stack[sp]);
		}
	}
	double v = sp ? stack[0] : 0.0;
	if (stack != small)
		g_free(stack);
	return v;
}

/* ---- the rule cache --------------------------------------------------------- */

void sm_meta_save(const SmMeta *m, GByteArray *out)
{
	sm_rc_put_u32(out, m->ops->len);
	for (guint i = 0; i < m->ops->len; i++) {
		const Op *o = &g_array_index(m->ops, Op, i);
		sm_rc_put_u32(out, o->op);
		sm_rc_put_f64(out, o->num);
		sm_rc_put_u32(out, o->name);
		sm_rc_put_u32(out, o->target);
	}
	/* The bound slots only: the names served binding, which is done. */
	sm_rc_put_u32(out, m->names->len);
	for (guint i = 0; i < m->names->len; i++)
		sm_rc_put_u32(out, m->slots ? m->slots[i] : SM_META_UNKNOWN);
}

SmMeta *sm_meta_restore(SmRcReader *in, guint n_rules)
{
	guint n_ops = sm_rc_get_u32(in);
	if (in->bad || n_ops > sm_rc_left(in))
		return NULL;
	SmMeta *m = g_new0(SmMeta, 1);
	m->ops = g_array_sized_new(FALSE, FALSE, sizeof(Op), n_ops);
	m->names = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < n_ops && !in->bad; i++) {
		Op o;
		o.op = sm_rc_get_u32(in);
		o.num = sm_rc_get_f64(in);
		o.name = sm_rc_get_u32(in);
		o.target = sm_rc_get_u32(in);
		in->bad = in->bad || o.op > OP_OR || o.target > n_ops;
		g_array_append_val(m->ops, o);
	}
	guint n_names = sm_rc_get_u32(in);
	in->bad = in->bad || n_names > sm_rc_left(in);
	if (!in->bad) {
		m->slots = g_new(guint, MAX(n_names, 1));
		m->slots[0] = SM_META_UNKNOWN;
	}
	for (guint i = 0; i < n_names && !in->bad; i++) {
		guint slot = m->slots[i] = sm_rc_get_u32(in);
		in->bad = in->bad || (slot >= n_rules && slot != SM_META_UNKNOWN &&
		                      slot != SM_META_ZERO);
		m->unknown = m->unknown || slot == SM_META_UNKNOWN;
	}
	/* Evaluation must never pop an empty stack, nor name a missing name. */
	gint64 depth = 0;
	for (guint i = 0; i < n_ops && !in->bad; i++) {
		const Op *o = &g_array_index(m->ops, Op, i);
		in->bad = o->op == OP_NAME && o->name >= n_names;
		if (o->op == OP_NUM || o->op == OP_NAME)
			depth++;
		else if (o->op == OP_NOT || o->op == OP_NEG)
			in->bad = in->bad || depth < 1;
		else
			in->bad = in->bad || --depth < (o->op == OP_AND || o->op == OP_OR ? 0 : 1);
	}
	if (in->bad) {
		sm_meta_free(m);
		return NULL;
	}
	m->stack = stack_need(m->ops);
	return m;
}
