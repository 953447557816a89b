/* module.c: the scorer module, sortmail-score.so (the module's side of score.h).
 *
 * The only code that links GMime. It exports one symbol, sm_score_module_v1;
 * score/loader.c finds it with dlsym(). An engine is the compiled rules plus
 * the threshold; scoring a message renders it once (render.h) and runs every
 * rule over that rendering. Scoring never fails: broken MIME, NUL bytes and
 * undecodable headers give a rendering that is merely less informative.
 *
 * Rules come from the rule cache when it is current (rulecache.h), else
 * from their files, and are then stored in it for the next delivery.
 *
 * Threshold: the required_score passed to load() (sortmail's configuration)
 * is authoritative; "required_score" lines in rule files are ignored.
 * Score set: SpamAssassin's set 0 (no Bayes, no network tests), i.e. the first
 * of four values on a score line; set 1 (network tests, no Bayes) when DNS
 * blocklists are configured (dnsbl.h).
 */
#include "config.h"
#include "score/score.h"
#include "score/rules.h"
#include "score/rulecache.h"
#include "score/render.h"
#include "score/spamd.h"
#include "score/dnsbl.h"

#include <gmime/gmime.h>
#include <gmodule.h>
#include <string.h>

typedef struct {
	SmRuleSet *rules;
	double required;
	SmSpamd *spamd;       /* NULL: no spamd configured (spamd.h) */
	SmDnsbl *dnsbl;       /* NULL: no DNS blocklist configured (dnsbl.h) */
	SmScoreTrace *trace;  /* set while explaining one message, else NULL */
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
	sm_spamd_free(e->spamd);
	sm_dnsbl_free(e->dnsbl);
	g_free(e);
}

static void *engine_load(const SmScoreModuleArgs *args, GError **error)
{
	const char *const *rule_files = args->rule_files;
	double required = args->required_score;
	guint score_set = sm_rules_score_set(sm_dnsbl_wanted(args->settings));
	const char *cache = args->fingerprint ? args->rule_cache : NULL;
	SmRuleSet *set = cache ? sm_rule_cache_load(cache, args->fingerprint, score_set) : NULL;
	if (!set) {
		set = sm_rules_load(rule_files, score_set, error);
		if (!set)
			return NULL;
		if (cache && set->rules->len > 0)
			sm_rule_cache_save(set, cache, args->fingerprint);
	}
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
	e->spamd = sm_spamd_new(args->settings, required, set->problems);
	e->dnsbl = sm_dnsbl_new(args->settings, set->problems);
	return e;
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

static void hit_free(gpointer p)
{
	SmScoreHit *h = p;
	g_free(h->name);
	g_free(h->kind);
	g_free(h->describe);
	g_free(h->where);
	g_free(h);
}

static void trace_hit(SmScoreTrace *t, const SmScoreRule *rule)
{
	SmScoreHit *h = g_new0(SmScoreHit, 1);
	h->name = g_strdup(rule->name);
	h->score = rule->score;
	h->kind = g_strdup(sm_rule_kind_name(rule->kind));
	h->describe = g_strdup(rule->describe);
	h->where = g_strdup(rule->where);
	g_ptr_array_add(t->hits, h);
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
	SmRender *render = sm_render_new(data, len);
	if (!out->rules)
		out->rules = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_set_size(out->rules, 0);
	/* The lookups go out now and are collected after the rules ran. */
	SmDnsblRun *dns = e->dnsbl ? sm_dnsbl_start(e->dnsbl, data, len, sm_render_uris(render),
	                                            NULL) : NULL;

	double sum = 0.0;
	if (e->trace && !e->trace->hits)
		e->trace->hits = g_ptr_array_new_with_free_func(hit_free);
	g_autofree guint *hits = sm_rules_run(e->rules, render);
	for (guint i = 0; i < e->rules->rules->len; i++) {
		const SmScoreRule *rule = e->rules->rules->pdata[i];
		if (hits[i] && rule->scored) {
			sum += rule->score;
			g_ptr_array_add(out->rules, g_strdup(rule->name));
			if (e->trace)
				trace_hit(e->trace, rule);
		}
	}
	if (dns && e->trace)
		sm_dnsbl_trace(dns, e->trace->dns);
	if (dns)
		sum += sm_dnsbl_finish(dns, out->rules, &out->note);
	g_ptr_array_sort(out->rules, compare_strings);
	out->score = round3(sum);
	out->threshold = e->required;
	out->is_spam = out->score >= e->required;
	out->source = SM_VERDICT_SCORED;
	out->scored_at = g_get_real_time() / G_USEC_PER_SEC;
	out->waited_ms = 0.0;

	sm_render_free(render);
	return TRUE;
}

static void engine_report(void *engine, SmScorerReport *out)
{
	Engine *e = engine;
	/* What does not compile is found when a rule first runs: find it now. */
	out->rules = sm_rules_compile_all(e->rules);
	out->problems = e->rules->problems;
	out->unknown = e->rules->unknown;
	G_STATIC_ASSERT((int)SM_RULE_N_KINDS == (int)SM_SCORE_KINDS);
	for (int k = 0; k < SM_SCORE_KINDS; k++) {
		out->kinds[k] = e->rules->defined[k];
		out->skipped_kinds[k] = e->rules->skipped[k];
	}
	out->unsupported = e->rules->unsupported;
	out->skipped_lines = e->rules->skipped_lines;
	out->score_set = e->rules->score_set;
}

/* spamd, when configured, around the local scoring (spamd.h decides when
 * the local rules run and how the two verdicts combine). */
static gboolean engine_score_with_spamd(void *engine, const char *data, gsize len,
                                        SmVerdict *out, GError **error)
{
	Engine *e = engine;
	if (!e->spamd)
		return engine_score(engine, data, len, out, error);
	return sm_spamd_score(e->spamd, data, len, out, engine_score, engine, error);
}

/* The same scoring with e->trace set: the steps are written down on the way. */
static gboolean engine_explain(void *engine, const char *data, gsize len, SmVerdict *out,
                               SmScoreTrace *trace, GError **error)
{
	Engine *e = engine;
	e->trace = trace;
	if (e->dnsbl)
		trace->dns = g_ptr_array_new_with_free_func(g_free);
	if (e->spamd)
		sm_spamd_trace(e->spamd, &trace->spamd);
	gboolean ok = engine_score_with_spamd(engine, data, len, out, error);
	if (e->spamd)
		sm_spamd_trace(e->spamd, NULL);
	e->trace = NULL;
	return ok;
}

G_MODULE_EXPORT const SmScoreModule sm_score_module_v1 = {
	.abi = SM_SCORE_MODULE_ABI,
	.load = engine_load,
	.score = engine_score_with_spamd,
	.free = engine_free,
	.report = engine_report,
	.explain = engine_explain,
};
