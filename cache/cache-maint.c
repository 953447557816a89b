/* cache-maint.c: stats, dump, show, prune and forget for `sortmail cache`.
 *
 * Unlike deliveries, maintenance reports problems (GError) instead of working
 * around them, and leaves a corrupt file where it is for the user to look at;
 * the next delivery moves it aside. Records are read into memory first so
 * that GDBM's lock is not held while the caller prints.
 */
#include "config.h"
#include "cache-priv.h"

#include <string.h>
#include <sys/stat.h>

typedef struct {
	GPtrArray *keys, *values; /* char *, parallel */
} Records;

static void records_init(Records *r)
{
	r->keys = g_ptr_array_new_with_free_func(g_free);
	r->values = g_ptr_array_new_with_free_func(g_free);
}

static void records_clear(Records *r)
{
	g_ptr_array_free(r->keys, TRUE);
	g_ptr_array_free(r->values, TRUE);
}

static gboolean collect(const char *key, const char *value, gpointer user)
{
	Records *r = user;
	g_ptr_array_add(r->keys, g_strdup(key));
	g_ptr_array_add(r->values, g_strdup(value));
	return TRUE;
}

static gboolean db_error(SmCache *c, SmDbStatus st, char *why, GError **error)
{
	SmCacheError code = st == SM_DB_BUSY ? SM_CACHE_ERROR_BUSY
	                  : st == SM_DB_CORRUPT ? SM_CACHE_ERROR_CORRUPT : SM_CACHE_ERROR_FAILED;
	g_set_error(error, SM_CACHE_ERROR, code, "%s: %s%s", c->path, why ? why : "unknown error",
	            st == SM_DB_CORRUPT ? " (the next delivery moves it aside)" : "");
	g_free(why);
	return FALSE;
}

/* *@db stays NULL when there is no database (an empty cache). */
static gboolean open_db(SmCache *c, SmDbMode mode, SmDb **db, GError **error)
{
	char *why = NULL;
	SmDbStatus st = sm_db_open(c->path, mode, 0600, c->db_wait_ms, db, NULL, &why);
	if (st == SM_DB_OK || st == SM_DB_ABSENT)
		return TRUE;
	return db_error(c, st, why, error);
}

static gboolean read_all(SmCache *c, SmDb *db, Records *r, GError **error)
{
	char *why = NULL;
	SmDbStatus st = sm_db_foreach(db, collect, r, &why);
	return st == SM_DB_OK || db_error(c, st, why, error);
}

static gboolean load(SmCache *c, Records *r, GError **error)
{
	SmDb *db = NULL;
	if (!open_db(c, SM_DB_READ, &db, error))
		return FALSE;
	if (!db)
		return TRUE;
	gboolean ok = read_all(c, db, r, error);
	sm_db_close(db);
	return ok;
}

static gboolean is_filing(const char *dbkey)
{
	return g_str_has_prefix(dbkey, SM_FILING_PREFIX);
}

static gboolean journal_error(SmCache *c, GError **error)
{
	int saved = errno;
	g_autofree char *dir = sm_filed_dir(c);
	g_set_error(error, SM_CACHE_ERROR, SM_CACHE_ERROR_FAILED, "%s: %s", dir,
	            g_strerror(saved));
	return FALSE;
}

static void entry_from(SmCache *c, const char *key, const char *value, SmCacheEntry *e)
{
	*e = (SmCacheEntry){ .key = g_strdup(key) };
	sm_verdict_init(&e->verdict);
	e->valid = sm_record_decode(value, &e->verdict, &e->fingerprint);
	if (!e->valid)
		e->fingerprint = g_strdup("");
	e->verdict.source = SM_VERDICT_CACHED;
	e->stale = !e->valid || strcmp(e->fingerprint, c->fingerprint) != 0 ||
	           !sm_cache_verdict_fresh(c, &e->verdict);
}

void sm_cache_entry_clear(SmCacheEntry *e)
{
	g_clear_pointer(&e->key, g_free);
	g_clear_pointer(&e->fingerprint, g_free);
	sm_verdict_clear(&e->verdict);
}

gboolean sm_cache_stats(SmCache *c, SmCacheStats *out, GError **error)
{
	Records r;
	struct stat st;

	*out = (SmCacheStats){ 0 };
	records_init(&r);
	gboolean ok = load(c, &r, error);
	for (guint i = 0; ok && i < r.keys->len; i++) {
		const char *key = r.keys->pdata[i], *value = r.values->pdata[i];
		if (is_filing(key)) {
			out->stale_filings++; /* an old version's journal record */
			continue;
		}
		SmCacheEntry e;
		entry_from(c, key, value, &e);
		out->entries++;
		out->stale += e.stale;
		if (e.valid) {
			gint64 t = e.verdict.scored_at;
			out->oldest = out->oldest && out->oldest < t ? out->oldest : t;
			out->newest = MAX(out->newest, t);
		}
		sm_cache_entry_clear(&e);
	}
	if (ok && stat(c->path, &st) == 0)
		out->size = st.st_size;
	records_clear(&r);
	guint fresh = 0, stale = 0;
	if (ok && sm_filed_scan(c, FALSE, &fresh, &stale) < 0)
		ok = journal_error(c, error);
	out->filings = out->stale_filings + fresh + stale;
	out->stale_filings += stale;
	return ok;
}

gboolean sm_cache_foreach(SmCache *c, SmCacheEntryFunc f, gpointer user, GError **error)
{
	Records r;
	records_init(&r);
	gboolean ok = load(c, &r, error), go_on = TRUE;
	for (guint i = 0; ok && go_on && i < r.keys->len; i++) {
		if (is_filing(r.keys->pdata[i]))
			continue;
		SmCacheEntry e;
		entry_from(c, r.keys->pdata[i], r.values->pdata[i], &e);
		go_on = f(&e, user);
		sm_cache_entry_clear(&e);
	}
	records_clear(&r);
	return ok;
}

gboolean sm_cache_lookup(SmCache *c, const char *key, SmCacheEntry *out, gboolean *found,
                         GError **error)
{
	SmDb *db = NULL;
	g_autofree char *value = NULL;
	char *why = NULL;

	*found = FALSE;
	if (!open_db(c, SM_DB_READ, &db, error))
		return FALSE;
	if (!db)
		return TRUE;
	SmDbStatus st = sm_db_fetch(db, key, &value, &why);
	sm_db_close(db);
	if (st != SM_DB_OK && st != SM_DB_ABSENT)
		return db_error(c, st, why, error);
	if (st == SM_DB_OK) {
		entry_from(c, key, value, out);
		*found = TRUE;
	}
	return TRUE;
}

/* Deletes the records that @doomed picks, then maybe gives the space back. */
typedef gboolean (*DoomFunc)(SmCache *c, const char *key, const char *value, gpointer user);

static gboolean delete_where(SmCache *c, DoomFunc doomed, gpointer user, gboolean reorganize,
                             guint *removed, GError **error)
{
	SmDb *db = NULL;
	Records r;
	char *why = NULL;

	*removed = 0;
	if (!open_db(c, SM_DB_WRITE, &db, error))
		return FALSE;
	if (!db)
		return TRUE;
	records_init(&r);
	gboolean ok = read_all(c, db, &r, error);
	for (guint i = 0; ok && i < r.keys->len; i++) {
		if (!doomed(c, r.keys->pdata[i], r.values->pdata[i], user))
			continue;
		SmDbStatus st = sm_db_delete(db, r.keys->pdata[i], &why);
		if (st == SM_DB_OK)
			(*removed)++;
		else if (st != SM_DB_ABSENT)
			ok = db_error(c, st, why, error);
	}
	if (ok && reorganize && *removed > 0) {
		SmDbStatus st = sm_db_reorganize(db, &why);
		if (st != SM_DB_OK)
			ok = db_error(c, st, why, error);
	}
	sm_db_close(db);
	records_clear(&r);
	return ok;
}

static gboolean stale_record(SmCache *c, const char *key, const char *value, gpointer user)
{
	if (is_filing(key))
		return TRUE; /* an old version's journal record */
	SmCacheEntry e;
	entry_from(c, key, value, &e);
	gboolean stale = e.stale;
	sm_cache_entry_clear(&e);
	return stale;
}

gboolean sm_cache_prune(SmCache *c, guint *removed, GError **error)
{
	guint fresh = 0, stale = 0;
	if (!delete_where(c, stale_record, NULL, TRUE, removed, error))
		return FALSE;
	if (sm_filed_scan(c, TRUE, &fresh, &stale) < 0)
		return journal_error(c, error);
	*removed += stale;
	return TRUE;
}

static gboolean record_of_key(SmCache *c, const char *dbkey, const char *value, gpointer user)
{
	const char *key = user;
	if (strcmp(dbkey, key) == 0)
		return TRUE;
	gsize n = strlen(SM_FILING_PREFIX);
	return is_filing(dbkey) && g_str_has_prefix(dbkey + n, key) &&
	       dbkey[n + strlen(key)] == ':';
}

gboolean sm_cache_forget(SmCache *c, const char *key, guint *removed, GError **error)
{
	if (!delete_where(c, record_of_key, (gpointer)key, FALSE, removed, error))
		return FALSE;
	return sm_filed_forget(c, key, removed) == 0 || journal_error(c, error);
}
