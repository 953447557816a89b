/* verdicts.c: verdict = cache hit, or score once per key (see verdicts.h). */
#include "config.h"
#include "verdicts.h"
#include "lda.h"
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

/* The cache directory (or, before it exists, the directory it would be made
 * in) must belong to us: root replaying mail into a user's home must not
 * leave a root-owned ~/.sortmail behind, nor trust a cache someone else owns. */
static gboolean cache_dir_is_ours(const char *path)
{
	g_autofree char *dir = g_path_get_dirname(path);
	struct stat st;
	if (stat(dir, &st) < 0) {
		g_autofree char *parent = g_path_get_dirname(dir);
		if (stat(parent, &st) < 0)
			return FALSE;
	}
	return st.st_uid == geteuid();
}

SmScoring *sm_scoring_new(const SmConfig *c, const SmEnvelope *env, const SmMessage *m,
                          const char *key, gboolean use_cache)
{
	SmScoring *s = g_new0(SmScoring, 1);
	s->scorer = scorer_for(c, &s->rule_files, &s->settings);
	s->m = m;
	s->key = key;
	if (use_cache && c->cache_path && key && *key && !cache_dir_is_ours(c->cache_path)) {
		s->warning = "cache directory missing or owned by another user; cache not used";
	} else if (use_cache && c->cache_path && key && *key) {
		SmCacheOptions o;
		fill_cache_options(c, &o);
		s->fingerprint = sm_scorer_fingerprint(s->scorer);
		o.fingerprint = s->fingerprint;
		s->cache = sm_cache_new(&o);
	}
	return s;
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

gboolean sm_scoring_score(const SmMessage *m, SmVerdict *out, gpointer user, GError **error)
{
	SmScoring *s = user;
	if (!s->cache)
		return sm_scorer_score(s->scorer, m, out, error);
	return sm_cache_get_or_compute(s->cache, s->key, compute, s, out, error);
}

gboolean sm_scoring_already_filed(SmScoring *s, const char *recipient)
{
	return s->cache && sm_cache_already_filed(s->cache, s->key, recipient);
}

void sm_scoring_mark_filed(SmScoring *s, const char *recipient)
{
	if (s->cache)
		sm_cache_mark_filed(s->cache, s->key, recipient);
}

const char *sm_scoring_warning(SmScoring *s)
{
	return s->cache ? sm_cache_warning(s->cache) : s->warning;
}
