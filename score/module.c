/* module.c: the scorer module, sortmail-score.so (the module's side of score.h).
 *
 * The only code that links GMime. It exports one symbol, sm_score_module_v1;
 * score/loader.c finds it with dlsym(). An engine is the compiled rules plus
 * the threshold; scoring a message renders it once (render.h) and runs every
 * rule over that rendering. Scoring never fails: broken MIME, NUL bytes and
 * undecodable headers give a rendering that is merely less informative.
 *
 * Threshold: the required_score passed to load() (sortmail's configuration)
 * is authoritative; "required_score" lines in rule files are ignored.
 * Score set: SpamAssassin's set 0 (no Bayes, no network tests), i.e. the first
 * of four values on a score line, because neither exists here yet; the DNS
 * tests of a later issue will switch this to set 1.
 */
#include "config.h"
#include "score/score.h"
#include "score/rules.h"
#include "score/render.h"

#include <gmime/gmime.h>
#include <gmodule.h>
#include <string.h>

#define SCORE_SET 0

typedef struct {
	SmRuleSet *rules;
	double required;
} Engine;

/* Same name as the loader's, so both give the same GQuark. */
G_DEFINE_QUARK(sm-score-error-quark, sm_score_error)

static void init_gmime(void)
{
	static gsize done;
	if (g_once_init_enter(&done)) {
		g_mime_init();
		g_once_init_leave(&done, 1);
	}
}

static void engine_free(void *engine)
{
	Engine *e = engine;
	if (!e)
		return;
	sm_rules_free(e->rules);
	g_free(e);
}

static void *engine_load(const SmScoreModuleArgs *args, GError **error)
{
	const char *const *rule_files = args->rule_files;
	double required = args->required_score;
	SmRuleSet *set = sm_rules_load(rule_files, SCORE_SET, error);
	if (!set)
		return NULL;
	if (set->rules->len == 0) {
		g_autofree char *list = rule_files ? g_strjoinv(" ", (char **)rule_files)
		                                   : g_strdup("(no files)");
		g_set_error(error, SM_SCORE_ERROR, SM_SCORE_ERROR_RULES,
		            "no usable rule in %s (%u problems)", list, set->problems->len);
		sm_rules_free(set);
		return NULL;
	}
	init_gmime();
	Engine *e = g_new0(Engine, 1);
	e->rules = set;
	e->required = required;
	return e;
}

/* Header values of one message, computed the first time a rule asks. */
typedef struct {
	SmRender *render;
	const GArray *slots;
	char **values;     /* NULL: field missing (when known[i]) */
	gboolean *known;
} Fields;

static const char *field_value(Fields *f, guint slot)
{
	if (!f->known[slot]) {
		const SmHeaderSlot *s = &g_array_index(f->slots, SmHeaderSlot, slot);
		f->values[slot] = sm_render_header(f->render, s->field, s->form);
		f->known[slot] = TRUE;
	}
	return f->values[slot];
}

static gboolean rule_hits(const SmScoreRule *rule, Fields *f)
{
	if (rule->kind == SM_RULE_BODY) {
		const GString *body = sm_render_body(f->render);
		return sm_regex_match(rule->re, body->str, body->len);
	}
	const char *v = field_value(f, rule->slot);
	if (rule->exists)
		return v != NULL;
	if (!v)
		v = rule->if_unset ? rule->if_unset : "";
	return sm_regex_match(rule->re, v, strlen(v)) != rule->negate;
}

static gint compare_strings(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* SpamAssassin keeps three decimals, so 0.1 + 0.2 compares as 0.3. */
static double round3(double x)
{
	return (double)(gint64)(x * 1000.0 + (x < 0 ? -0.5 : 0.5)) / 1000.0;
}

static gboolean engine_score(void *engine, const char *data, gsize len, SmVerdict *out,
                             GError **error)
{
	Engine *e = engine;
	/* The contract says no mbox "From " line; be lenient rather than blind. */
	if (len >= 5 && memcmp(data, "From ", 5) == 0) {
		const char *nl = memchr(data, '\n', len);
		gsize skip = nl ? (gsize)(nl - data) + 1 : len;
		data += skip;
		len -= skip;
	}
	guint n = e->rules->slots->len;
	Fields f = {
		.render = sm_render_new(data, len),
		.slots = e->rules->slots,
		.values = g_new0(char *, n + 1),
		.known = g_new0(gboolean, n + 1),
	};
	if (!out->rules)
		out->rules = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_set_size(out->rules, 0);

	double sum = 0.0;
	for (guint i = 0; i < e->rules->rules->len; i++) {
		const SmScoreRule *rule = e->rules->rules->pdata[i];
		if (rule_hits(rule, &f)) {
			sum += rule->score;
			g_ptr_array_add(out->rules, g_strdup(rule->name));
		}
	}
	g_ptr_array_sort(out->rules, compare_strings);
	out->score = round3(sum);
	out->threshold = e->required;
	out->is_spam = out->score >= e->required;
	out->source = SM_VERDICT_SCORED;
	out->scored_at = g_get_real_time() / G_USEC_PER_SEC;
	out->waited_ms = 0.0;

	for (guint i = 0; i < n; i++)
		g_free(f.values[i]);
	g_free(f.values);
	g_free(f.known);
	sm_render_free(f.render);
	return TRUE;
}

static void engine_report(void *engine, SmScorerReport *out)
{
	Engine *e = engine;
	out->rules = e->rules->rules->len;
	out->problems = e->rules->problems;
	out->unknown = e->rules->unknown;
}

G_MODULE_EXPORT const SmScoreModule sm_score_module_v1 = {
	.abi = SM_SCORE_MODULE_ABI,
	.load = engine_load,
	.score = engine_score,
	.free = engine_free,
	.report = engine_report,
};
