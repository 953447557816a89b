/* match.c: running a rule set over one rendering (see "running" in rules.h).
 *
 * Each view of the message (a header, the body, the URIs...) is computed
 * the first time a rule asks for it, once. Regexes are compiled (or decoded
 * from the rule cache) on first use, and JIT-compiled at their second use
 * or on a long text (SM_RULES_JIT_AFTER): compiling all of a large set up
 * front would cost more than matching it on one message, and a delivery
 * scores one message. Before that, the
 * prefilter (prefilter.h) rules out most of them: a regex whose literals
 * are absent from the text is neither compiled nor run. A ReplaceTags
 * rule's regex is even made on first use (replacetags.c).
 *
 * Meta rules run last, in dependency order (rules-finish.c). A rule that
 * SpamAssassin would have run but sortmail cannot (eval:, or of a plugin
 * sortmail lacks) counts as 0 in metas: such checks find nothing most of
 * the time, so "!EVAL_RULE" stays true as it mostly is in SpamAssassin. A
 * meta using a rule that SpamAssassin would not run either (defined nowhere,
 * or disabled by a score of 0) is evaluated twice, with those rules as 0 and
 * as 1, and hits only when both hit: it hits only if it would whatever they
 * said, which is what SpamAssassin 4 does with rules it did not run.
 *
 * Only the rules that count are run for sure; a sub-rule ("__", or scored
 * 0) runs when a meta asks for its value, which && and || do not do when
 * their left operand decides (meta.c). Values are kept: each rule runs at
 * most once per message.
 */
#include "config.h"
#include "score/rules.h"
#include "score/prefilter.h"
#include "score/rulecache.h"

#include <string.h>

/* Matches a rule counts at most, with tflags multiple and no maxhits. */
#define MAX_HITS 1000

/* A hit count not computed yet. */
#define UNSET G_MAXUINT

typedef struct {
	SmRuleSet *set;
	SmRender *render;
	char **values;     /* header slots; NULL: missing (when known) */
	gsize *lens;       /* their lengths */
	char **lowered;    /* their prefilter case folding; NULL: not made yet */
	gboolean *known;
	GPtrArray **parts; /* header slots of MIME parts (mimeheader); NULL: not yet */
	SmTrigrams *grams[SM_RULE_N_KINDS]; /* of the body, rawbody, URIs, full text */
	GString *uri_text; /* the URIs, one per line, for their trigrams */
	guint *hits;       /* per rule; UNSET until run */
} Run;

static guint rule_value(Run *run, guint i);

static void broken(SmRuleSet *set, SmScoreRule *rule, const GError *err)
{
	rule->re.broken = TRUE;
	char *msg = g_strdup_printf("%s: %s: %s", rule->where, rule->name, err->message);
	g_ptr_array_add(set->problems, msg);
}

/* A ReplaceTags rule's regex is made on first use (replacetags.c). */
static void untag(SmRuleSet *set, SmScoreRule *rule)
{
	if (!rule->tagged)
		return;
	rule->tagged = FALSE;
	g_autofree char *raw = sm_replace_expand(set->replace, rule, set->problems);
	g_autoptr(GError) err = NULL;
	if (raw && !sm_rules_set_regex(rule, raw, &err))
		broken(set, rule, err);
	g_clear_pointer(&rule->raw, g_free);
}

/* Compiles @rule's regex if not done yet; FALSE when it does not compile. */
static gboolean compile(SmRuleSet *set, SmScoreRule *rule)
{
	SmLazyRegex *lr = &rule->re;
	untag(set, rule);
	if (lr->re)
		return TRUE;
	if (lr->broken || !lr->pattern)
		return FALSE;
	g_autoptr(GError) err = NULL;
	lr->jit_after = SM_RULES_JIT_AFTER;
	/* A stored form that fails its checksum or PCRE2's checks is compiled
	 * again from the pattern, as if there were no cache. */
	if (lr->stored && sm_rc_checksum(lr->stored, lr->stored_len) == lr->stored_sum)
		lr->re = sm_regex_deserialize(lr->stored, lr->stored_len, NULL);
	lr->stored = NULL;
	if (!lr->re)
		lr->re = sm_regex_new(lr->pattern, lr->flags, &err);
	if (!lr->re)
		broken(set, rule, err);
	return lr->re != NULL;
}

SmRegex *sm_rules_regex(SmRuleSet *set, SmScoreRule *rule, gsize text_len)
{
	SmLazyRegex *lr = &rule->re;
	if (!compile(set, rule))
		return NULL;
	/* sm_regex_jit() is a no-op once done. */
	if (++lr->uses >= lr->jit_after || text_len >= SM_RULES_JIT_TEXT)
		sm_regex_jit(lr->re);
	return lr->re;
}

guint sm_rules_compile_all(SmRuleSet *set)
{
	guint good = 0;
	for (guint i = 0; i < set->rules->len; i++) {
		SmScoreRule *rule = set->rules->pdata[i];
		if (rule->re.pattern)
			compile(set, rule);
		good += !rule->re.broken;
	}
	return good;
}

static char *const *literals(SmRuleSet *set, SmScoreRule *rule);

void sm_rules_analyse_all(SmRuleSet *set)
{
	for (guint i = 0; i < set->rules->len; i++) {
		SmScoreRule *rule = set->rules->pdata[i];
		if (rule->re.pattern || rule->tagged)
			literals(set, rule);
	}
}

static char *const *literals(SmRuleSet *set, SmScoreRule *rule)
{
	SmLazyRegex *lr = &rule->re;
	untag(set, rule);
	if (!lr->analysed && !lr->broken) {
		lr->literals = sm_prefilter_literals(lr->pattern, lr->flags);
		lr->analysed = TRUE;
	}
	return lr->literals;
}

/* The text @kind rules match, for the prefilter (the URIs: joined). */
static const char *subject(Run *run, SmRuleKind kind, gsize *len)
{
	switch (kind) {
	case SM_RULE_BODY: {
		const GString *b = sm_render_body(run->render);
		*len = b->len;
		return b->str;
	}
	case SM_RULE_RAWBODY: {
		const GString *b = sm_render_rawbody(run->render);
		*len = b->len;
		return b->str;
	}
	case SM_RULE_URI:
		if (!run->uri_text) {
			const GPtrArray *uris = sm_render_uris(run->render);
			run->uri_text = g_string_new(NULL);
			for (guint i = 0; i < uris->len; i++) {
				g_string_append(run->uri_text, uris->pdata[i]);
				g_string_append_c(run->uri_text, '\n');
			}
		}
		*len = run->uri_text->len;
		return run->uri_text->str;
	default:
		return sm_render_full(run->render, len);
	}
}

/* FALSE when @rule's regex cannot match its text (body, rawbody, uri, full). */
static gboolean may_match(Run *run, SmScoreRule *rule)
{
	char *const *lits = literals(run->set, rule);
	if (!lits)
		return TRUE;
	if (!run->grams[rule->kind]) {
		gsize len;
		const char *text = subject(run, rule->kind, &len);
		run->grams[rule->kind] = sm_trigrams_new(text, len);
	}
	return sm_trigrams_may_contain(run->grams[rule->kind], lits);
}

static const char *field_value(Run *run, guint slot)
{
	if (!run->known[slot]) {
		const SmHeaderSlot *s = &g_array_index(run->set->slots, SmHeaderSlot, slot);
		run->values[slot] = sm_render_header(run->render, s->field, s->form, s->pick);
		run->lens[slot] = run->values[slot] ? strlen(run->values[slot]) : 0;
		run->known[slot] = TRUE;
	}
	return run->values[slot];
}

/* Matches of @re in @s[@start, @len), at most @max, none overlapping. */
static guint count(SmRegex *re, const char *s, gsize len, gsize start, guint max)
{
	guint n = 0;
	gsize pos = start, from, to;
	while (n < max && pos <= len && sm_regex_find(re, s, len, pos, &from, &to)) {
		n++;
		pos = to > from ? to : to + 1;
	}
	return n;
}

static guint max_hits(const SmScoreRule *rule)
{
	if (!(rule->tflags & SM_TFLAG_MULTIPLE))
		return 1;
	return rule->maxhits ? rule->maxhits : MAX_HITS;
}

static guint header_hits(Run *run, SmScoreRule *rule)
{
	guint slot = rule->slot;
	const char *v = field_value(run, slot);
	if (rule->exists)
		return v != NULL;
	char *const *lits = literals(run->set, rule);
	gsize len;
	if (v) {
		/* Many rules test one header: fold its case once, then search. */
		len = run->lens[slot];
		if (lits && !run->lowered[slot])
			run->lowered[slot] = sm_prefilter_lower(v, len);
		if (lits && !sm_lowered_may_contain(run->lowered[slot], len, lits))
			return rule->negate ? 1 : 0;
	} else {
		v = rule->if_unset ? rule->if_unset : "";
		len = strlen(v);
		if (lits && !sm_text_may_contain(v, len, lits))
			return rule->negate ? 1 : 0;
	}
	SmRegex *re = sm_rules_regex(run->set, rule, len);
	if (!re)
		return 0;
	if (rule->negate)
		return !sm_regex_match(re, v, len);
	return count(re, v, len, 0, max_hits(rule));
}

/* mimeheader: the field of each MIME part on its own. */
static guint mimeheader_hits(Run *run, SmScoreRule *rule)
{
	guint slot = rule->slot;
	if (!run->parts[slot]) {
		const SmHeaderSlot *s = &g_array_index(run->set->slots, SmHeaderSlot, slot);
		run->parts[slot] = sm_render_part_headers(run->render, s->field, s->form);
	}
	const GPtrArray *values = run->parts[slot];
	char *const *lits = literals(run->set, rule);
	guint max = max_hits(rule), n = 0;
	for (guint i = 0; i < values->len && n < max; i++) {
		const char *v = values->pdata[i];
		gsize len = strlen(v);
		if (lits && !sm_text_may_contain(v, len, lits))
			continue;
		SmRegex *re = sm_rules_regex(run->set, rule, len);
		if (!re)
			return 0;
		n += count(re, v, len, 0, max - n);
	}
	return n;
}

static guint uri_hits(Run *run, SmScoreRule *rule, SmRegex *re)
{
	const GPtrArray *uris = sm_render_uris(run->render);
	guint max = max_hits(rule), n = 0;
	for (guint i = 0; i < uris->len && n < max; i++) {
		const char *u = uris->pdata[i];
		n += count(re, u, strlen(u), 0, max - n);
	}
	return n;
}

static double meta_value(gpointer user, guint slot)
{
	return rule_value(user, slot);
}

static guint meta_hits(Run *run, const SmScoreRule *rule)
{
	if (sm_meta_eval(rule->meta, meta_value, run, 0.0) == 0.0)
		return 0;
	return !sm_meta_has_unknown(rule->meta) ||
	       sm_meta_eval(rule->meta, meta_value, run, 1.0) != 0.0;
}

static guint rule_hits(Run *run, SmScoreRule *rule)
{
	if (rule->kind == SM_RULE_META)
		return meta_hits(run, rule);
	if (rule->kind == SM_RULE_HEADER)
		return header_hits(run, rule);
	if (rule->kind == SM_RULE_MIMEHEADER)
		return mimeheader_hits(run, rule);
	if (!may_match(run, rule))
		return 0;
	gsize text_len;
	subject(run, rule->kind, &text_len);
	SmRegex *re = sm_rules_regex(run->set, rule, text_len);
	if (!re)
		return 0;
	switch (rule->kind) {
	case SM_RULE_BODY: {
		const GString *body = sm_render_body(run->render);
		gsize start = rule->tflags & SM_TFLAG_NOSUBJECT
		              ? sm_render_body_subject_len(run->render) : 0;
		return count(re, body->str, body->len, start, max_hits(rule));
	}
	case SM_RULE_RAWBODY: {
		const GString *raw = sm_render_rawbody(run->render);
		return count(re, raw->str, raw->len, 0, max_hits(rule));
	}
	case SM_RULE_URI:
		return uri_hits(run, rule, re);
	case SM_RULE_FULL: {
		gsize len;
		const char *full = sm_render_full(run->render, &len);
		return count(re, full, len, 0, max_hits(rule));
	}
	default:
		return 0;
	}
}

/* The hit count of rule @i, run now if not yet. Metas run after the metas
 * they use (rules-finish.c), so this recursion ends. */
static guint rule_value(Run *run, guint i)
{
	if (run->hits[i] == UNSET)
		run->hits[i] = rule_hits(run, run->set->rules->pdata[i]);
	return run->hits[i];
}

guint *sm_rules_run(SmRuleSet *set, SmRender *r)
{
	guint n = set->slots->len;
	Run run = {
		.set = set,
		.render = r,
		.values = g_new0(char *, n + 1),
		.lens = g_new0(gsize, n + 1),
		.lowered = g_new0(char *, n + 1),
		.known = g_new0(gboolean, n + 1),
		.parts = g_new0(GPtrArray *, n + 1),
	};
	guint *hits = run.hits = g_new(guint, set->rules->len + 1);
	for (guint i = 0; i < set->rules->len; i++)
		hits[i] = UNSET;
	for (guint i = 0; i < set->rules->len; i++)
		if (((SmScoreRule *)set->rules->pdata[i])->scored)
			rule_value(&run, i);
	for (guint i = 0; i < set->rules->len; i++)
		if (hits[i] == UNSET)
			hits[i] = 0;
	for (guint i = 0; i < n; i++) {
		g_free(run.values[i]);
		g_free(run.lowered[i]);
		if (run.parts[i])
			g_ptr_array_free(run.parts[i], TRUE);
	}
	g_free(run.parts);
	g_free(run.values);
	g_free(run.lens);
	g_free(run.lowered);
	g_free(run.known);
	for (int k = 0; k < SM_RULE_N_KINDS; k++)
		sm_trigrams_free(run.grams[k]);
	if (run.uri_text)
		g_string_free(run.uri_text, TRUE);
	return hits;
}
