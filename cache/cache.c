/* cache.c: the SmCache object, the database policy, and get-or-compute with
 * single flight (see cache.h; the protocol is described in cache/README).
 *
 * Lock order, always: flight slot -> admin slot -> GDBM's own lock. The flight
 * lock of a key is held while computing, never while waiting; the admin slot
 * only around creating or moving aside the database file; GDBM's lock only
 * for one open-operate-close.
 */
#include "config.h"
#include "cache-priv.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

G_DEFINE_QUARK(sm-cache-error-quark, sm_cache_error)

/* Polling interval of a waiter: it starts short, because the typical wait is
 * one scoring (tens of ms), and stays short, because each poll is one fcntl. */
#define POLL_FIRST_US 500
#define POLL_MAX_US 5000

void sm_cache_options_init(SmCacheOptions *o)
{
	*o = (SmCacheOptions){
		.ttl = SM_CACHE_DEFAULT_TTL,
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
	c->max_wait_ms = o->max_wait_ms;
	c->db_wait_ms = o->db_wait_ms;
	c->duplicates = o->duplicates;
	c->now = o->now;
	c->on_wait = o->on_wait;
	c->on_wait_data = o->on_wait_data;
	c->lock_fd = -1;
	c->warnings = g_string_new(NULL);
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

gboolean sm_cache_time_fresh(const SmCache *c, gint64 t)
{
	gint64 now = sm_cache_now(c);
	return t <= now + SM_CACHE_CLOCK_SKEW && now - t < (gint64)c->ttl;
}

static void give_up(SmCache *c, const char *why)
{
	sm_cache_warn(c, "verdict cache %s unusable: %s", c->path, why);
	c->broken = TRUE;
}

/* The permission of new cache files: that of the database when there is one
 * (so an admin's group-writable shared cache stays shared), else 0600. */
static guint file_mode(const SmCache *c)
{
	struct stat st;
	if (stat(c->path, &st) == 0)
		return (st.st_mode & 0660) | 0600;
	return 0600;
}

int sm_cache_lock_fd(SmCache *c)
{
	if (c->lock_fd >= 0 || c->broken)
		return c->lock_fd;
	g_autofree char *dir = g_path_get_dirname(c->path);
	if (g_mkdir_with_parents(dir, 0700) != 0) {
		g_autofree char *why = g_strdup_printf("cannot create %s: %s", dir, g_strerror(errno));
		give_up(c, why);
		return -1;
	}
	c->lock_fd = sm_lockfile_open(c->lock_path, file_mode(c));
	if (c->lock_fd < 0) {
		g_autofree char *why = g_strdup_printf("cannot open %s: %s", c->lock_path,
		                                       g_strerror(errno));
		give_up(c, why);
	}
	return c->lock_fd;
}

static gulong jitter(SmCache *c, gulong us)
{
	if (!c->rand)
		c->rand = g_rand_new_with_seed((guint32)getpid() ^ (guint32)g_get_monotonic_time());
	return us / 2 + g_rand_int_range(c->rand, 0, (gint32)us);
}

/* Polls for a lock until @wait_ms have passed: 0 got, 1 timed out, -1 error. */
static int lock_within(SmCache *c, goffset slot, gboolean exclusive, guint wait_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)wait_ms * 1000;
	gulong interval = POLL_FIRST_US;
	for (;;) {
		int r = sm_lock_try(c->lock_fd, slot, exclusive);
		if (r != 1)
			return r;
		gint64 left = deadline - g_get_monotonic_time();
		if (left <= 0)
			return 1;
		g_usleep(MIN((gint64)jitter(c, interval), left));
		interval = MIN(interval * 2, POLL_MAX_US);
	}
}

/* ---- the database policy ----------------------------------------------- */

static gboolean admin_lock(SmCache *c)
{
	if (sm_cache_lock_fd(c) < 0)
		return FALSE;
	int r = lock_within(c, SM_LOCK_ADMIN, TRUE, c->db_wait_ms);
	if (r != 0)
		give_up(c, r > 0 ? "its lock file stayed locked" : g_strerror(errno));
	return r == 0;
}

/* Moves the corrupt file @id aside; TRUE when the path is free for a new one. */
static gboolean move_aside(SmCache *c, const SmDbFileId *id, const char *why)
{
	g_autofree char *moved = NULL;
	if (!admin_lock(c))
		return FALSE;
	int r = sm_db_move_aside(c->path, id, &moved);
	int saved_errno = errno;
	sm_lock_release(c->lock_fd, SM_LOCK_ADMIN);
	if (r < 0) {
		g_autofree char *text = g_strdup_printf("%s, and cannot move it aside: %s", why,
		                                        g_strerror(saved_errno));
		give_up(c, text);
		return FALSE;
	}
	if (r == 0)
		sm_cache_warn(c, "verdict cache %s was corrupt (%s): moved aside to %s", c->path,
		              why, moved);
	return TRUE;
}

/* Creates or initialises the file under the admin lock: GDBM decides whether
 * to initialise from a size it reads before taking its own lock, so two
 * unserialised creators could each initialise it. */
static SmDbStatus create_db(SmCache *c, guint mode, SmDb **db, SmDbFileId *id, char **why)
{
	if (!admin_lock(c))
		return SM_DB_FAILED;
	SmDbStatus st = sm_db_open(c->path, SM_DB_CREATE, mode, c->db_wait_ms, db, id, why);
	sm_lock_release(c->lock_fd, SM_LOCK_ADMIN);
	return st;
}

SmDb *sm_cache_db(SmCache *c, gboolean write)
{
	guint mode = 0600;
	for (int attempt = 0; attempt < 3 && !c->broken; attempt++) {
		SmDb *db = NULL;
		SmDbFileId id = { 0 };
		g_autofree char *why = NULL;
		SmDbStatus st = sm_db_open(c->path, write ? SM_DB_WRITE : SM_DB_READ, mode,
		                           c->db_wait_ms, &db, &id, &why);
		if (st == SM_DB_ABSENT && write) {
			g_clear_pointer(&why, g_free);
			st = create_db(c, mode, &db, &id, &why);
			if (st == SM_DB_FAILED && c->broken)
				return NULL;
		}
		switch (st) {
		case SM_DB_OK:
			return db;
		case SM_DB_ABSENT:
			return NULL;
		case SM_DB_CORRUPT:
			if (!move_aside(c, &id, why))
				return NULL;
			mode = (id.mode & 0660) | 0600;
			if (!write)
				return NULL;
			continue;
		case SM_DB_BUSY:
		case SM_DB_FAILED:
			give_up(c, why);
			return NULL;
		}
	}
	if (!c->broken)
		give_up(c, "it keeps turning out corrupt");
	return NULL;
}

void sm_cache_db_failed(SmCache *c, SmDb *db, SmDbStatus st, char *why)
{
	SmDbFileId id;
	sm_db_file_id(db, &id);
	sm_db_close(db);
	if (st == SM_DB_CORRUPT)
		move_aside(c, &id, why);
	else if (st != SM_DB_OK && st != SM_DB_ABSENT)
		give_up(c, why);
	g_free(why);
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
	                 sm_cache_time_fresh(c, v.scored_at);
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
		int r = lock_within(c, slot, FALSE, left_ms > 0 ? (guint)left_ms : 0);
		if (r > 0)
			return WAIT_TIMEOUT;
		if (r < 0) {
			give_up(c, g_strerror(errno));
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
			give_up(c, g_strerror(errno));
			return WAIT_BROKEN;
		}
		g_usleep(jitter(c, POLL_FIRST_US));
	}
}

gboolean sm_cache_get_or_compute(SmCache *c, const char *key, SmCacheComputeFunc compute,
                                 gpointer user, SmVerdict *out, GError **error)
{
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
		give_up(c, g_strerror(errno));
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
