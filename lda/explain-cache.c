/* explain-cache.c: the verdict cache step of `sortmail explain`
 * (explain-priv.h): the key, and read-only lookups of the verdict and of
 * the duplicates journal, through cache/'s maintenance functions, which
 * open the database for reading and take none of the delivery's locks; a
 * missing file is a miss, never created.
 */
#include "config.h"
#include "explain-priv.h"
#include "lda.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The duplicates journal, read only: a delivery checks it before deciding. */
static void explain_journal(const SmConfig *c, SmCache *cache, const char *key,
                            const char *rcpt)
{
	if (!c->duplicates) {
		sm_explain_item("duplicates", "journal off (duplicates no)");
		return;
	}
	gint64 at = 0;
	g_autoptr(GError) error = NULL;
	if (!sm_cache_lookup_filed(cache, key, rcpt, &at, &error)) {
		sm_explain_item("duplicates", "journal unreadable: %s", error->message);
	} else if (at) {
		g_autoptr(GDateTime) t = g_date_time_new_from_unix_local(at);
		g_autofree char *when = g_date_time_format(t, "%Y-%m-%d %H:%M:%S %z");
		sm_explain_item("duplicates", "already filed for %s at %s: a delivery would log "
		                "\"duplicate\" and do nothing of what follows", rcpt, when);
	} else {
		sm_explain_item("duplicates", "not filed before for %s",
		                rcpt && *rcpt ? rcpt : "(none)");
	}
}

/* Deliveries do not use a cache in another user's directory (verdicts.c). */
static void explain_owner(const char *path)
{
	g_autofree char *dir = g_path_get_dirname(path);
	struct stat st;
	if (stat(dir, &st) == 0 && st.st_uid != geteuid())
		sm_explain_item("beware", "%s belongs to uid %u: a delivery by this user would not "
		                "use the cache", dir, (unsigned)st.st_uid);
}

gboolean sm_explain_cache(const SmConfig *c, const SmEnvelope *env, const char *key,
                          const char *rcpt, SmCacheEntry *cached)
{
	sm_explain_section("verdict cache");
	if (!c->cache_path) {
		sm_explain_item("cache", "none (cache none): the message is scored every time");
		return FALSE;
	}
	sm_explain_item("file", "%s", c->cache_path);
	explain_owner(c->cache_path);
	if (!key) {
		sm_explain_item("key", "not computed: the message is larger than max-score-size "
		                "(%zu bytes), never scored nor cached", c->max_score_size);
		return FALSE;
	}
	sm_explain_item("key", "%s", key);
	SmCacheOptions o;
	g_autofree char *fingerprint = NULL;
	sm_lda_cache_options(c, env, &o, &fingerprint);
	g_autoptr(SmCache) cache = sm_cache_new(&o);
	g_autoptr(GError) error = NULL;
	gboolean found = FALSE;
	if (!sm_cache_lookup(cache, key, cached, &found, &error)) {
		sm_explain_item("lookup", "failed: %s (a delivery would score without the cache)",
		                error->message);
		return FALSE;
	}
	explain_journal(c, cache, key, rcpt);
	if (!found) {
		sm_explain_item("lookup", "miss: no verdict stored for this key (a delivery would "
		                "score it and store the verdict)");
		return FALSE;
	}
	if (cached->stale || !cached->valid) {
		sm_explain_item("lookup", "stale: %s (a delivery would score it again)",
		                !cached->valid ? "the record cannot be read"
		                : strcmp(cached->fingerprint, fingerprint) != 0
		                ? "made with other rules or settings"
		                : sm_verdict_degraded(&cached->verdict)
		                ? "made while DNS or spamd was unavailable, older than cache-ttl-degraded"
		                : "older than cache-ttl");
		return FALSE;
	}
	sm_explain_item("lookup", "hit: a fresh verdict (a delivery would use it, not score)");
	sm_explain_verdict("cached verdict", &cached->verdict);
	return TRUE;
}

