/* rules-finish.c: from what the rule files said to the rules that run (see
 * sm_rules_finish() in rules-priv.h and the scoring rules in rules.h).
 *
 * Meta rules form a graph over rule names. It is walked depth first from
 * every meta: the post-order is an order in which each meta comes after the
 * metas it uses, and a meta met again while still on the path closes a
 * cycle (reported; the metas on it do not run). Then, from the rules that
 * count, the rules they need are marked, dependents before dependencies.
 */
#include "config.h"
#include "score/rules-priv.h"

#include <string.h>

/* A meta built on metas this deep is not followed further. */
#define MAX_META_DEPTH 500

#define NONE G_MAXUINT
#define ZERO (G_MAXUINT - 1)

typedef struct {
	Parser *p;
	SmScoreRule **r;    /* p->defined->pdata */
	guint n;
	gboolean *disabled; /* score 0: never runs, unknown to metas */
	GArray **deps;      /* metas: guint per name, defined index or NONE */
	guint8 *state;      /* walk: 0 new, 1 on the path, 2 done */
	gboolean *broken;   /* on a cycle */
	GArray *path;       /* guint, the metas being walked */
	GArray *order;      /* guint, metas in post-order */
} Graph;

static gboolean is_sub_rule(const char *name)
{
	return g_str_has_prefix(name, "__");
}

/* Score, tflags and description from the lines that name @r. */
static void apply(Parser *p, SmScoreRule *r)
{
	const ScoreLine *s = g_hash_table_lookup(p->scores, r->name);
	const Tflags *t = g_hash_table_lookup(p->tflags, r->name);
	if (t) {
		r->tflags = t->flags;
		r->maxhits = t->maxhits;
	}
	if (s) {
		r->score = s->value[p->set->score_set];
	} else if (is_sub_rule(r->name)) {
		r->score = 0.0;
	} else {
		r->score = g_str_has_prefix(r->name, "T_") ? 0.01 : 1.0;
		if (r->tflags & SM_TFLAG_NICE)
			r->score = -r->score;
	}
	r->scored = r->score != 0.0 && !is_sub_rule(r->name);
	r->describe = g_strdup(g_hash_table_lookup(p->describes, r->name));
}

/* A name nothing defines, even in a skipped block or as an eval rule. */
static gboolean nowhere(Parser *p, const char *name)
{
	return !g_hash_table_contains(p->by_name, name) && !g_hash_table_contains(p->evals, name) &&
	       !g_hash_table_contains(p->elsewhere, name);
}

static void report_orphan_scores(Parser *p)
{
	for (guint i = 0; i < p->score_lines->len; i++) {
		ScoreLine *s = p->score_lines->pdata[i];
		if (g_hash_table_lookup(p->scores, s->name) == s && nowhere(p, s->name))
			g_ptr_array_add(p->set->problems,
			                g_strdup_printf("%s: score for undefined rule %s", s->where,
			                                s->name));
	}
}

/* The defined index of each name of meta @i; for a name that is not a rule
 * that can run, ZERO when it is a rule SpamAssassin would have run (an
 * eval: one, or one in a block for a plugin sortmail lacks), NONE when it
 * is no rule at all or a disabled one (see match.c). */
static GArray *meta_deps(Graph *g, guint i)
{
	const GPtrArray *names = sm_meta_names(g->r[i]->meta);
	GArray *deps = g_array_sized_new(FALSE, FALSE, sizeof(guint), names->len);
	for (guint k = 0; k < names->len; k++) {
		const char *name = names->pdata[k];
		gpointer idx = g_hash_table_lookup(g->p->by_name, name);
		guint j = idx ? GPOINTER_TO_UINT(idx) - 1 : NONE;
		if (j != NONE && g->disabled[j])
			j = NONE;
		else if (!idx && (g_hash_table_contains(g->p->evals, name) ||
		                  g_hash_table_contains(g->p->elsewhere, name)))
			j = ZERO;
		if (!idx && nowhere(g->p, name))
			g_ptr_array_add(g->p->set->problems,
			                g_strdup_printf("%s: meta %s: no rule named %s",
			                                g->r[i]->where, g->r[i]->name, name));
		g_array_append_val(deps, j);
	}
	return deps;
}

static void report_cycle(Graph *g, guint from)
{
	GString *chain = g_string_new(NULL);
	gboolean on = FALSE;
	for (guint k = 0; k < g->path->len; k++) {
		guint j = g_array_index(g->path, guint, k);
		on = on || j == from;
		if (!on)
			continue;
		g->broken[j] = TRUE;
		g_string_append_printf(chain, "%s -> ", g->r[j]->name);
	}
	g_string_append(chain, g->r[from]->name);
	g_ptr_array_add(g->p->set->problems,
	                g_strdup_printf("%s: meta %s: dependency cycle %s; not run",
	                                g->r[from]->where, g->r[from]->name, chain->str));
	g_string_free(chain, TRUE);
}

static void walk(Graph *g, guint i)
{
	if (g->state[i] == 2)
		return;
	if (g->state[i] == 1) {
		report_cycle(g, i);
		return;
	}
	if (g->path->len >= MAX_META_DEPTH) {
		g->broken[i] = TRUE;
		g_ptr_array_add(g->p->set->problems,
		                g_strdup_printf("%s: meta %s: built on metas more than %d deep; "
		                                "not run", g->r[i]->where, g->r[i]->name,
		                                MAX_META_DEPTH));
		return;
	}
	g->state[i] = 1;
	g_array_append_val(g->path, i);
	const GArray *deps = g->deps[i];
	for (guint k = 0; k < deps->len; k++) {
		guint j = g_array_index(deps, guint, k);
		if (j < ZERO && g->r[j]->kind == SM_RULE_META)
			walk(g, j);
	}
	g_array_set_size(g->path, g->path->len - 1);
	g->state[i] = 2;
	g_array_append_val(g->order, i);
}

/* Which rules run: those that count, and what the metas among them use. */
static gboolean *needed_rules(Graph *g)
{
	gboolean *needed = g_new0(gboolean, g->n);
	for (guint i = 0; i < g->n; i++)
		needed[i] = g->r[i]->scored && !g->broken[i];
	for (guint k = g->order->len; k-- > 0;) {
		guint i = g_array_index(g->order, guint, k);
		if (!needed[i] || g->broken[i])
			continue;
		for (guint d = 0; d < g->deps[i]->len; d++) {
			guint j = g_array_index(g->deps[i], guint, d);
			if (j < ZERO && !g->broken[j])
				needed[j] = TRUE;
		}
	}
	return needed;
}

/* Moves the rules that run into p->set->rules, in running order; frees the rest. */
static void keep(Graph *g, const gboolean *needed)
{
	guint *run_index = g_new(guint, g->n);
	GPtrArray *rules = g->p->set->rules;
	for (guint i = 0; i < g->n; i++) {
		run_index[i] = NONE;
		if (needed[i] && g->r[i]->kind != SM_RULE_META) {
			run_index[i] = rules->len;
			g_ptr_array_add(rules, g->r[i]);
		}
	}
	for (guint k = 0; k < g->order->len; k++) {
		guint i = g_array_index(g->order, guint, k);
		if (needed[i] && !g->broken[i]) {
			run_index[i] = rules->len;
			g_ptr_array_add(rules, g->r[i]);
		}
	}
	for (guint i = 0; i < g->n; i++) {
		if (run_index[i] != NONE && g->r[i]->kind == SM_RULE_META) {
			GArray *deps = g->deps[i];
			guint *slots = g_new(guint, deps->len + 1);
			for (guint d = 0; d < deps->len; d++) {
				guint j = g_array_index(deps, guint, d);
				slots[d] = j == NONE ? SM_META_UNKNOWN
				           : j == ZERO ? SM_META_ZERO : run_index[j];
			}
			sm_meta_bind(g->r[i]->meta, slots);
			g_free(slots);
		}
		if (run_index[i] == NONE)
			sm_rules_rule_free(g->r[i]);
	}
	g_free(run_index);
}

void sm_rules_finish(Parser *p)
{
	sm_replace_mark(p);
	report_orphan_scores(p);
	/* Close the holes left by rules redefined as eval: (by_name follows). */
	GPtrArray *all = p->defined;
	guint n = 0;
	for (guint i = 0; i < all->len; i++) {
		SmScoreRule *r = all->pdata[i];
		if (!r)
			continue;
		all->pdata[n++] = r;
		g_hash_table_insert(p->by_name, r->name, GUINT_TO_POINTER(n));
		if (!r->tagged)
			g_clear_pointer(&r->raw, g_free);
	}
	Graph g = {
		.p = p, .r = (SmScoreRule **)all->pdata, .n = n,
		.disabled = g_new0(gboolean, n + 1), .deps = g_new0(GArray *, n + 1),
		.state = g_new0(guint8, n + 1), .broken = g_new0(gboolean, n + 1),
		.path = g_array_new(FALSE, FALSE, sizeof(guint)),
		.order = g_array_new(FALSE, FALSE, sizeof(guint)),
	};
	for (guint i = 0; i < n; i++) {
		apply(p, g.r[i]);
		g.disabled[i] = !g.r[i]->scored && !is_sub_rule(g.r[i]->name);
		p->set->defined[g.r[i]->kind]++;
	}
	for (guint i = 0; i < n; i++)
		if (g.r[i]->kind == SM_RULE_META)
			g.deps[i] = meta_deps(&g, i);
	for (guint i = 0; i < n; i++)
		if (g.r[i]->kind == SM_RULE_META && !g.disabled[i])
			walk(&g, i);
	g_autofree gboolean *needed = needed_rules(&g);
	keep(&g, needed);

	/* The rules now belong to p->set->rules or are freed. */
	g_hash_table_remove_all(p->by_name);
	g_ptr_array_set_free_func(all, NULL);
	g_ptr_array_set_size(all, 0);
	g_ptr_array_set_free_func(all, sm_rules_rule_free);
	for (guint i = 0; i < n; i++)
		if (g.deps[i])
			g_array_free(g.deps[i], TRUE);
	g_free(g.deps);
	g_free(g.disabled);
	g_free(g.state);
	g_free(g.broken);
	g_array_free(g.path, TRUE);
	g_array_free(g.order, TRUE);
}
