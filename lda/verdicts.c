/* verdicts.c: verdict = cache hit, or score once per key (see verdicts.h). */
#include "config.h"
#include "verdicts.h"
#include "lda.h"
#include "fsutil.h"
#include "score/score.h"

#include <sys/stat.h>
#include <unistd.h>

struct SmScoring {
	SmScorer *scorer;
	SmCache *cache;          /* NULL: score directly */
	char *fingerprint;
	char **rule_files;       /* NULL-terminated, for the scorer options */
	char **settings;         /* likewise */
	const SmMessage *m;
	const char *key;
	const char *warning;     /* our own, when the cache was not even tried */
	gboolean peek;           /* read the cache only (sm_scoring_retarget()) */
};

/* A NULL-terminated copy of @a (char *), for the scorer's options. */
static char **strv_of(const GPtrArray *a)
{
	char **v = g_new0(char *, a->len + 1);
	for (guint i = 0; i < a->len; i++)
		v[i] = g_strdup(a->pdata[i]);
	return v;
}

/* @files and @settings receive what the scorer's options borrow. */
static SmScorer *scorer_for(const SmConfig *c, char ***files, char ***settings)
{
	*files = strv_of(c->rule_files);
	*settings = strv_of(c->scorer_settings);
	SmScorerOptions opts = {
		.module_path = c->scorer_module,
		.rule_files = (const char *const *)*files,
		.required_score = c->required_score,
		.settings = (const char *const *)*settings,
		.rule_cache = c->rule_cache,
	};
	return sm_scorer_new(&opts);
}

SmScorer *sm_lda_scorer_new(const SmConfig *c)
{
	g_auto(GStrv) files = NULL;
	g_auto(GStrv) settings = NULL;
	return scorer_for(c, &files, &settings); /* the scorer keeps copies */
}

static void fill_cache_options(const SmConfig *c, SmCacheOptions *o)
{
	sm_cache_options_init(o);
	o->path = c->cache_path;
	o->ttl = c->cache_ttl;
	o->degraded_ttl = c->cache_ttl_degraded;
	o->max_wait_ms = c->cache_wait * 1000;
	o->duplicates = c->duplicates;
}

void sm_lda_cache_options(const SmConfig *c, const SmEnvelope *env, SmCacheOptions *o,
                          char **fingerprint)
{
	g_auto(GStrv) files = NULL;
	g_auto(GStrv) settings = NULL;
	SmScorer *scorer = scorer_for(c, &files, &settings);
	*fingerprint = sm_scorer_fingerprint(scorer);
	sm_scorer_free(scorer);
	fill_cache_options(c, o);
	o->fingerprint = *fingerprint;
}


/* The cache handle for @s's message, when it is to be used. */
static void attach_cache(SmScoring *s, const SmConfig *c, gboolean use_cache)
{
	const char *key = s->key;
	if (use_cache && c->cache_path && key && *key && !sm_parent_dir_is_ours(c->cache_path)) {
		s->warning = "cache directory missing or owned by another user; cache not used";
	} else if (use_cache && c->cache_path && key && *key) {
		SmCacheOptions o;
		fill_cache_options(c, &o);
		if (!s->fingerprint)
			s->fingerprint = sm_scorer_fingerprint(s->scorer);
		o.fingerprint = s->fingerprint;
		s->cache = sm_cache_new(&o);
	}
}

SmScoring *sm_scoring_new(const SmConfig *c, const SmEnvelope *env, const SmMessage *m,
                          const char *key, gboolean use_cache)
{
	SmScoring *s = g_new0(SmScoring, 1);
	s->scorer = scorer_for(c, &s->rule_files, &s->settings);
	s->m = m;
	s->key = key;
	attach_cache(s, c, use_cache);
	return s;
}

void sm_scoring_retarget(SmScoring *s, const SmConfig *c, const SmMessage *m, const char *key,
                         gboolean use_cache, gboolean peek)
{
	g_clear_pointer(&s->cache, sm_cache_free);
	s->warning = NULL;
	s->m = m;
	s->key = key;
	s->peek = peek;
	attach_cache(s, c, use_cache);
}

void sm_scoring_free(SmScoring *s)
{
	if (!s)
		return;
	sm_cache_free(s->cache);
	sm_scorer_free(s->scorer);
	g_strfreev(s->rule_files);
	g_strfreev(s->settings);
	g_free(s->fingerprint);
	g_free(s);
}

static gboolean compute(SmVerdict *out, gpointer user, GError **error)
{
	SmScoring *s = user;
	return sm_scorer_score(s->scorer, s->m, out, error);
}

/* A fresh verdict from the cache without writing anything, or FALSE. */
static gboolean peek_cached(SmScoring *s, SmVerdict *out)
{
	SmCacheEntry e = { 0 };
	gboolean found = FALSE;
	g_autoptr(GError) error = NULL;
	if (!sm_cache_lookup(s->cache, s->key, &e, &found, &error)) {
		sm_cache_free(s->cache);
		s->cache = NULL;
		s->warning = "verdict cache unreadable; scored without it";
		return FALSE;
	}
	gboolean fresh = found && e.valid && !e.stale;
	if (fresh) {
		GPtrArray *rules = out->rules;
		*out = e.verdict;
		e.verdict.rules = rules;
		out->source = SM_VERDICT_CACHED;
	}
	if (found)
		sm_cache_entry_clear(&e);
	return fresh;
}

gboolean sm_scoring_score(const SmMessage *m, SmVerdict *out, gpointer user, GError **error)
{
	SmScoring *s = user;
	if (s->cache && s->peek && peek_cached(s, out))
		return TRUE;
	if (!s->cache || s->peek)
		return sm_scorer_score(s->scorer, m, out, error);
	return sm_cache_get_or_compute(s->cache, s->key, compute, s, out, error);
}

gboolean sm_scoring_already_filed(SmScoring *s, const char *recipient)
{
	return s->cache && !s->peek && sm_cache_already_filed(s->cache, s->key, recipient);
}

void sm_scoring_mark_filed(SmScoring *s, const char *recipient)
{
	if (s->cache && !s->peek)
		sm_cache_mark_filed(s->cache, s->key, recipient);
}

char *sm_lda_mark_filed(const SmConfig *c, const char *key, const char *recipient)
{
	if (!c->cache_path || !c->duplicates || !key || !*key || !sm_parent_dir_is_ours(c->cache_path))
		return NULL;
	SmCacheOptions o;
	fill_cache_options(c, &o);
	SmCache *cache = sm_cache_new(&o);
	sm_cache_mark_filed(cache, key, recipient);
	const char *w = sm_cache_warning(cache);
	char *warning = w && *w ? g_strdup(w) : NULL;
	sm_cache_free(cache);
	return warning;
}

struct SmJournal {
	const SmConfig *c;
	const SmMessage *m;
	const char *rcpt;
	gboolean opened;
	SmCache *cache;          /* NULL: no journal */
	char key[SM_CACHE_KEY_LEN + 1];
};

SmJournal *sm_journal_new(const SmConfig *c, const SmMessage *m, const char *rcpt)
{
	SmJournal *j = g_new0(SmJournal, 1);
	j->c = c;
	j->m = m;
	j->rcpt = rcpt;
	return j;
}

static SmCache *journal_cache(SmJournal *j)
{
	const SmConfig *c = j->c;
	if (j->opened)
		return j->cache;
	j->opened = TRUE;
	if (!c->cache_path || !c->duplicates || j->m->len > c->max_score_size ||
	    !sm_parent_dir_is_ours(c->cache_path))
		return NULL;
	sm_cache_key(j->m, j->key);
	SmCacheOptions o;
	fill_cache_options(c, &o); /* journal records carry no fingerprint */
	j->cache = sm_cache_new(&o);
	return j->cache;
}

static char *journal_name(const SmJournal *j, const char *what)
{
	return g_strdup_printf("%s\t%s", what, j->rcpt ? j->rcpt : "");
}

gboolean sm_journal_done(SmJournal *j, const char *what)
{
	if (!journal_cache(j))
		return FALSE;
	g_autofree char *name = journal_name(j, what);
	return sm_cache_already_filed(j->cache, j->key, name);
}

void sm_journal_record(SmJournal *j, const char *what)
{
	if (!journal_cache(j))
		return;
	g_autofree char *name = journal_name(j, what);
	sm_cache_mark_filed(j->cache, j->key, name);
}

void sm_journal_free(SmJournal *j)
{
	if (!j)
		return;
	sm_cache_free(j->cache);
	g_free(j);
}

const char *sm_scoring_warning(SmScoring *s)
{
	return s->cache ? sm_cache_warning(s->cache) : s->warning;
}
