/* replied.c: the reply memory of the autoresponder (see cache.h).
 *
 * It is a second SmCache (its own file and lock file) used through the same
 * machinery as the verdict cache: sm_cache_db() for the open/create/move-aside
 * policy, the flight slots of the lock file for single flight. The protocol:
 *
 *   claim(sender, template):  wait (polling, bounded) for the key's exclusive
 *                             slot; read the record; fresh -> RECENT (slot
 *                             released), else GO with the slot held
 *   finish(replied):          store "replied now" if asked; release the slot
 *
 * so of a burst of copies of one message from one sender, the first sends
 * and records while the others wait, then read the record and stay silent.
 * Lock order as everywhere in cache/: flight slot -> admin slot -> GDBM.
 *
 * Records (text, like the verdict cache's), stored under
 *   TEMPLATE <TAB> sender-lowercased
 * are
 *   1 <TAB> replied_at <TAB> every
 * (unix seconds, seconds). Template names cannot hold a tab; controls in
 * the sender are made '_' (such senders are never answered anyway).
 */
#include "config.h"
#include "cache-priv.h"

#include <string.h>

#define REPLIED_VERSION "1"
#define REPLIED_FIELDS 3

struct SmReplied {
	SmCache *c;
	char *key;     /* of the claim in progress; NULL: none */
	goffset slot;
	guint every;
};

SmReplied *sm_replied_new(const SmRepliedOptions *o)
{
	SmCacheOptions co;
	sm_cache_options_init(&co);
	co.path = o->path;
	co.max_wait_ms = o->max_wait_ms;
	co.db_wait_ms = o->db_wait_ms;
	co.now = o->now;
	co.duplicates = FALSE;
	SmReplied *r = g_new0(SmReplied, 1);
	r->c = sm_cache_new(&co);
	r->c->what = "reply memory";
	return r;
}

void sm_replied_free(SmReplied *r)
{
	if (!r)
		return;
	sm_replied_finish(r, FALSE);
	sm_cache_free(r->c);
	g_free(r);
}

const char *sm_replied_warning(SmReplied *r)
{
	return sm_cache_warning(r->c);
}

static char *record_key(const char *sender, const char *template_name)
{
	g_autofree char *lower = g_ascii_strdown(sender ? sender : "", -1);
	g_autofree char *clean = sm_record_clean(lower);
	return g_strconcat(template_name, "\t", clean, NULL);
}

static gboolean decode(const char *text, gint64 *at, guint *every)
{
	g_auto(GStrv) f = g_strsplit(text, "\t", REPLIED_FIELDS + 1);
	guint64 e;
	if (g_strv_length(f) != REPLIED_FIELDS || strcmp(f[0], REPLIED_VERSION) != 0 ||
	    !g_ascii_string_to_signed(f[1], 10, 0, G_MAXINT64, at, NULL) ||
	    !g_ascii_string_to_unsigned(f[2], 10, 1, G_MAXUINT, &e, NULL))
		return FALSE;
	*every = (guint)e;
	return TRUE;
}

static gboolean fresh(SmCache *c, gint64 at, guint every)
{
	gint64 now = sm_cache_now(c);
	return at <= now + SM_CACHE_CLOCK_SKEW && now - at < (gint64)every;
}

/* ---- claim and finish ---------------------------------------------------- */

/* The record of @key: 1 fresh, 0 none or stale, -1 the memory is unusable. */
static int look_up(SmReplied *r, const char *key, guint every, gint64 *last)
{
	SmDb *db = sm_cache_db(r->c, FALSE);
	if (!db)
		return r->c->broken ? -1 : 0;
	g_autofree char *value = NULL;
	char *why = NULL;
	SmDbStatus st = sm_db_fetch(db, key, &value, &why);
	if (st != SM_DB_OK && st != SM_DB_ABSENT) {
		sm_cache_db_failed(r->c, db, st, why);
		return -1;
	}
	sm_db_close(db);
	gint64 at;
	guint recorded_every;
	if (st == SM_DB_ABSENT || !decode(value, &at, &recorded_every))
		return 0;
	/* The rule's period now, not the one recorded: shortening "every" in
	 * the config takes effect at once. */
	if (!fresh(r->c, at, every))
		return 0;
	if (last)
		*last = at;
	return 1;
}

SmRepliedClaim sm_replied_claim(SmReplied *r, const char *sender, const char *template_name,
                                guint every, gint64 *last)
{
	g_return_val_if_fail(r && !r->key && template_name && every > 0, SM_REPLIED_UNKNOWN);
	SmCache *c = r->c;
	if (last)
		*last = 0;
	if (c->broken || sm_cache_lock_fd(c) < 0)
		return SM_REPLIED_UNKNOWN;
	g_autofree char *key = record_key(sender, template_name);
	goffset slot = sm_lock_slot(key);
	int got = sm_cache_lock_within(c, slot, TRUE, c->max_wait_ms);
	if (got > 0)
		return SM_REPLIED_BUSY;
	if (got < 0) {
		sm_cache_lock_failed(c);
		return SM_REPLIED_UNKNOWN;
	}
	int seen = look_up(r, key, every, last);
	if (seen != 0) {
		sm_lock_release(c->lock_fd, slot);
		return seen > 0 ? SM_REPLIED_RECENT : SM_REPLIED_UNKNOWN;
	}
	r->key = g_steal_pointer(&key);
	r->slot = slot;
	r->every = every;
	return SM_REPLIED_GO;
}

static void record(SmReplied *r)
{
	SmCache *c = r->c;
	SmDb *db = c->broken ? NULL : sm_cache_db(c, TRUE);
	if (!db) {
		sm_cache_warn(c, "the reply was not recorded");
		return;
	}
	g_autofree char *value = g_strdup_printf(REPLIED_VERSION "\t%" G_GINT64_FORMAT "\t%u",
	                                         sm_cache_now(c), r->every);
	char *why = NULL;
	SmDbStatus st = sm_db_store(db, r->key, value, &why);
	if (st != SM_DB_OK) {
		sm_cache_db_failed(c, db, st, why);
		sm_cache_warn(c, "the reply was not recorded");
		return;
	}
	sm_db_close(db);
}

void sm_replied_finish(SmReplied *r, gboolean replied)
{
	if (!r->key)
		return;
	if (replied)
		record(r);
	if (r->c->lock_fd >= 0)
		sm_lock_release(r->c->lock_fd, r->slot);
	g_clear_pointer(&r->key, g_free);
}

/* ---- maintenance ---------------------------------------------------------- */

static gboolean db_error(SmReplied *r, SmDbStatus st, char *why, GError **error)
{
	SmCacheError code = st == SM_DB_BUSY ? SM_CACHE_ERROR_BUSY
	                  : st == SM_DB_CORRUPT ? SM_CACHE_ERROR_CORRUPT : SM_CACHE_ERROR_FAILED;
	g_set_error(error, SM_CACHE_ERROR, code, "%s: %s", r->c->path, why ? why : "unknown error");
	g_free(why);
	return FALSE;
}

static gboolean collect(const char *key, const char *value, gpointer user)
{
	GPtrArray *kv = user;
	g_ptr_array_add(kv, g_strdup(key));
	g_ptr_array_add(kv, g_strdup(value));
	return TRUE;
}

/* Every record into @kv (key, value, key, value...); *@db is left open for
 * the caller when @mode is SM_DB_WRITE, NULL when there is no file. */
static gboolean load(SmReplied *r, SmDbMode mode, GPtrArray *kv, SmDb **db, GError **error)
{
	char *why = NULL;
	*db = NULL;
	SmDbStatus st = sm_db_open(r->c->path, mode, 0600, r->c->db_wait_ms, db, NULL, &why);
	if (st == SM_DB_ABSENT)
		return TRUE;
	if (st != SM_DB_OK)
		return db_error(r, st, why, error);
	st = sm_db_foreach(*db, collect, kv, &why);
	if (st != SM_DB_OK) {
		g_clear_pointer(db, sm_db_close);
		return db_error(r, st, why, error);
	}
	if (mode == SM_DB_READ)
		g_clear_pointer(db, sm_db_close);
	return TRUE;
}

static void entry_from(SmReplied *r, const char *key, const char *value, SmRepliedEntry *e)
{
	const char *tab = strchr(key, '\t');
	*e = (SmRepliedEntry){ 0 };
	e->template_name = tab ? g_strndup(key, tab - key) : g_strdup(key);
	e->sender = g_strdup(tab ? tab + 1 : "");
	e->valid = decode(value, &e->replied_at, &e->every);
	e->stale = !e->valid || !fresh(r->c, e->replied_at, e->every);
}

static void entry_clear(SmRepliedEntry *e)
{
	g_free(e->sender);
	g_free(e->template_name);
}

gboolean sm_replied_foreach(SmReplied *r, SmRepliedEntryFunc f, gpointer user,
                            GError **error)
{
	g_autoptr(GPtrArray) kv = g_ptr_array_new_with_free_func(g_free);
	SmDb *db;
	if (!load(r, SM_DB_READ, kv, &db, error))
		return FALSE;
	gboolean go_on = TRUE;
	for (guint i = 0; go_on && i + 1 < kv->len; i += 2) {
		SmRepliedEntry e;
		entry_from(r, kv->pdata[i], kv->pdata[i + 1], &e);
		go_on = f(&e, user);
		entry_clear(&e);
	}
	return TRUE;
}

typedef gboolean (*Doomed)(SmReplied *r, const SmRepliedEntry *e, gpointer user);

static gboolean delete_where(SmReplied *r, Doomed doomed, gpointer user, gboolean reorganize,
                             guint *removed, GError **error)
{
	g_autoptr(GPtrArray) kv = g_ptr_array_new_with_free_func(g_free);
	SmDb *db;
	char *why = NULL;
	*removed = 0;
	if (!load(r, SM_DB_WRITE, kv, &db, error))
		return FALSE;
	if (!db)
		return TRUE;
	gboolean ok = TRUE;
	for (guint i = 0; ok && i + 1 < kv->len; i += 2) {
		SmRepliedEntry e;
		entry_from(r, kv->pdata[i], kv->pdata[i + 1], &e);
		gboolean doom = doomed(r, &e, user);
		entry_clear(&e);
		if (!doom)
			continue;
		SmDbStatus st = sm_db_delete(db, kv->pdata[i], &why);
		if (st == SM_DB_OK)
			(*removed)++;
		else if (st != SM_DB_ABSENT)
			ok = db_error(r, st, why, error);
	}
	if (ok && reorganize && *removed > 0) {
		SmDbStatus st = sm_db_reorganize(db, &why);
		if (st != SM_DB_OK)
			ok = db_error(r, st, why, error);
	}
	sm_db_close(db);
	return ok;
}

typedef struct {
	const char *sender;        /* lowercased */
	const char *template_name; /* NULL: any */
} Who;

static gboolean is_who(SmReplied *r, const SmRepliedEntry *e, gpointer user)
{
	const Who *w = user;
	return strcmp(e->sender, w->sender) == 0 &&
	       (!w->template_name || strcmp(e->template_name, w->template_name) == 0);
}

gboolean sm_replied_forget(SmReplied *r, const char *sender, const char *template_name,
                           guint *removed, GError **error)
{
	g_autofree char *key = record_key(sender, "");
	Who w = { .sender = key + 1, .template_name = template_name };
	return delete_where(r, is_who, &w, FALSE, removed, error);
}

static gboolean is_stale(SmReplied *r, const SmRepliedEntry *e, gpointer user)
{
	return e->stale;
}

gboolean sm_replied_prune(SmReplied *r, guint *removed, GError **error)
{
	return delete_where(r, is_stale, NULL, TRUE, removed, error);
}
