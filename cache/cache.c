/* cache.c: the SmCache object and get-or-compute with single flight (see
 * cache.h; the protocol is described in cache/README).
 *
 * Lock order, always: flight slot -> admin slot -> GDBM's own lock. The flight
 * lock of a key is held while computing, never while waiting; the admin slot
 * only around creating or moving aside the database file; GDBM's lock only
 * for one open-operate-close.
 */
#include "config.h"
#include "cache-priv.h"

#include <string.h>
#include <unistd.h>

G_DEFINE_QUARK(sm-cache-error-quark, sm_cache_error)

void sm_cache_options_init(SmCacheOptions *o)
{
	*o = (SmCacheOptions){
		.ttl = SM_CACHE_DEFAULT_TTL,
		.degraded_ttl = SM_CACHE_DEFAULT_DEGRADED_TTL,
		.max_wait_ms = SM_CACHE_DEFAULT_MAX_WAIT_MS,
		.db_wait_ms = SM_CACHE_DEFAULT_DB_WAIT_MS,
		.duplicates = TRUE,
	};
}

SmCache *sm_cache_new(const SmCacheOptions *o)
{
	SmCache *c = g_new0(SmCache, 1);
	c->path = g_strdup(o->path ? o->path : "");
	c->lock_path = g_strconcat(c->path, ".lock", NULL);
	c->fingerprint = sm_record_clean(o->fingerprint);
	c->ttl = o->ttl;
	c->degraded_ttl = o->degraded_ttl && o->degraded_ttl < o->ttl ? o->degraded_ttl : o->ttl;
	c->max_wait_ms = o->max_wait_ms;
	c->db_wait_ms = o->db_wait_ms;
	c->duplicates = o->duplicates;
	c->now = o->now;
	c->on_wait = o->on_wait;
	c->on_wait_data = o->on_wait_data;
	c->lock_fd = -1;
	c->warnings = g_string_new(NULL);
	c->what = "verdict cache";
	if (!*c->path) {
		sm_cache_warn(c, "no verdict cache path configured");
		c->broken = TRUE;
	}
	return c;
}

void sm_cache_free(SmCache *c)
{
	if (!c)
		return;
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	if (c->rand)
		g_rand_free(c->rand);
	g_string_free(c->warnings, TRUE);
	g_free(c->path);
	g_free(c->lock_path);
	g_free(c->fingerprint);
	g_free(c);
}

/* ---- small helpers ----------------------------------------------------- */

void sm_cache_warn(SmCache *c, const char *fmt, ...)
{
	va_list ap;
	if (c->warnings->len)
		g_string_append(c->warnings, "; ");
	va_start(ap, fmt);
	g_string_append_vprintf(c->warnings, fmt, ap);
	va_end(ap);
}

const char *sm_cache_warning(SmCache *c)
{
	return c->warnings->len ? c->warnings->str : NULL;
}

gint64 sm_cache_now(const SmCache *c)
{
	return c->now ? c->now : g_get_real_time() / G_USEC_PER_SEC;
}

static gboolean fresh_for(const SmCache *c, gint64 t, guint ttl)
{
	gint64 now = sm_cache_now(c);
	return t <= now + SM_CACHE_CLOCK_SKEW && now - t < (gint64)ttl;
}

gboolean sm_cache_time_fresh(const SmCache *c, gint64 t)
{
	return fresh_for(c, t, c->ttl);
}

gboolean sm_cache_verdict_fresh(const SmCache *c, const SmVerdict *v)
{
	return fresh_for(c, v->scored_at, sm_verdict_degraded(v) ? c->degraded_ttl : c->ttl);
}

void sm_cache_give_up(SmCache *c, const char *why)
{
	sm_cache_warn(c, "%s %s unusable: %s", c->what, c->path, why);
	c->broken = TRUE;
}

/* ---- get or compute ---------------------------------------------------- */

typedef enum { LOOK_MISS, LOOK_HIT, LOOK_BROKEN } Look;

static void take_verdict(SmVerdict *out, SmVerdict *from)
{
	GPtrArray *rules = out->rules;
	*out = *from;
	from->rules = rules;
}

static Look look_up(SmCache *c, const char *key, SmVerdict *out)
{
	SmDb *db = sm_cache_db(c, FALSE);
	if (!db)
		return c->broken ? LOOK_BROKEN : LOOK_MISS;
	g_autofree char *value = NULL;
	char *why = NULL;
	SmDbStatus st = sm_db_fetch(db, key, &value, &why);
	if (st != SM_DB_OK && st != SM_DB_ABSENT) {
		sm_cache_db_failed(c, db, st, why);
		return c->broken ? LOOK_BROKEN : LOOK_MISS;
	}
	sm_db_close(db);
	if (st == SM_DB_ABSENT)
		return LOOK_MISS;

	SmVerdict v;
	g_autofree char *fp = NULL;
	sm_verdict_init(&v);
	gboolean fresh = sm_record_decode(value, &v, &fp) && strcmp(fp, c->fingerprint) == 0 &&
	                 sm_cache_verdict_fresh(c, &v);
	if (fresh)
		take_verdict(out, &v);
	sm_verdict_clear(&v);
	return fresh ? LOOK_HIT : LOOK_MISS;
}

static void store(SmCache *c, const char *key, const SmVerdict *v)
{
	if (c->broken)
		return;
	SmDb *db = sm_cache_db(c, TRUE);
	if (!db)
		return;
	g_autofree char *record = sm_record_encode(v, c->fingerprint);
	char *why = NULL;
	SmDbStatus st = sm_db_store(db, key, record, &why);
	if (st != SM_DB_OK) {
		sm_cache_db_failed(c, db, st, why);
		return;
	}
	sm_db_close(db);
}

static gboolean compute_and_store(SmCache *c, const char *key, SmCacheComputeFunc compute,
                                  gpointer user, SmVerdict *out, GError **error)
{
	if (!compute(out, user, error))
		return FALSE;
	if (out->source == SM_VERDICT_NONE)
		return TRUE;
	out->source = SM_VERDICT_SCORED;
	if (out->scored_at == 0)
		out->scored_at = sm_cache_now(c);
	store(c, key, out);
	return TRUE;
}

static void set_source(SmVerdict *out, SmVerdictSource source, gint64 since)
{
	out->source = source;
	out->waited_ms = source == SM_VERDICT_WAITED
	                 ? (double)(g_get_monotonic_time() - since) / 1000.0 : 0.0;
}

typedef enum { WAIT_GOT_VERDICT, WAIT_MUST_COMPUTE, WAIT_BROKEN, WAIT_TIMEOUT } WaitResult;

/* Another process holds the key's flight lock. Whenever nobody does, we read
 * (under a shared lock, so all waiters read at once); no verdict then means
 * the computer died or failed, and whoever gets the exclusive lock first
 * computes. Returns holding the exclusive lock only for WAIT_MUST_COMPUTE. */
static WaitResult wait_for_verdict(SmCache *c, const char *key, goffset slot, SmVerdict *out)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)c->max_wait_ms * 1000;
	for (;;) {
		gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
		int r = sm_cache_lock_within(c, slot, FALSE, left_ms > 0 ? (guint)left_ms : 0);
		if (r > 0)
			return WAIT_TIMEOUT;
		if (r < 0) {
			sm_cache_lock_failed(c);
			return WAIT_BROKEN;
		}
		Look l = look_up(c, key, out);
		sm_lock_release(c->lock_fd, slot);
		if (l != LOOK_MISS)
			return l == LOOK_HIT ? WAIT_GOT_VERDICT : WAIT_BROKEN;
		r = sm_lock_try(c->lock_fd, slot, TRUE);
		if (r == 0) {
			l = look_up(c, key, out);
			if (l == LOOK_MISS)
				return WAIT_MUST_COMPUTE;
			sm_lock_release(c->lock_fd, slot);
			return l == LOOK_HIT ? WAIT_GOT_VERDICT : WAIT_BROKEN;
		}
		if (r < 0) {
			sm_cache_lock_failed(c);
			return WAIT_BROKEN;
		}
		g_usleep(sm_cache_jitter(c, SM_CACHE_POLL_FIRST_US));
	}
}

gboolean sm_cache_get_or_compute(SmCache *c, const char *key, SmCacheComputeFunc compute,
                                 gpointer user, SmVerdict *out, GError **error)
{
	g_return_val_if_fail(c && key && *key && compute && out, FALSE);
	Look l = c->broken ? LOOK_BROKEN : look_up(c, key, out);
	if (l == LOOK_HIT) {
		set_source(out, SM_VERDICT_CACHED, 0);
		return TRUE;
	}
	if (l == LOOK_BROKEN || sm_cache_lock_fd(c) < 0)
		return compute_and_store(c, key, compute, user, out, error);

	goffset slot = sm_lock_slot(key);
	int r = sm_lock_try(c->lock_fd, slot, TRUE);
	if (r < 0) {
		sm_cache_lock_failed(c);
		return compute_and_store(c, key, compute, user, out, error);
	}
	if (r == 0) {
		/* Someone may have stored it between our look and our lock. */
		l = look_up(c, key, out);
		if (l == LOOK_HIT) {
			sm_lock_release(c->lock_fd, slot);
			set_source(out, SM_VERDICT_CACHED, 0);
			return TRUE;
		}
	} else {
		gint64 since = g_get_monotonic_time();
		if (c->on_wait)
			c->on_wait(c->on_wait_data);
		switch (wait_for_verdict(c, key, slot, out)) {
		case WAIT_GOT_VERDICT:
			set_source(out, SM_VERDICT_WAITED, since);
			return TRUE;
		case WAIT_MUST_COMPUTE:
			break;
		case WAIT_TIMEOUT:
			sm_cache_warn(c, "waited %u ms for another delivery's verdict; scoring it here",
			              c->max_wait_ms);
			return compute_and_store(c, key, compute, user, out, error);
		case WAIT_BROKEN:
			return compute_and_store(c, key, compute, user, out, error);
		}
	}
	gboolean ok = compute_and_store(c, key, compute, user, out, error);
	sm_lock_release(c->lock_fd, slot);
	return ok;
}
