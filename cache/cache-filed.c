/* cache-filed.c: the duplicates journal (see cache.h).
 *
 * One record per (key, original recipient), holding when it was filed. It is
 * advisory: a journal we cannot read answers "not filed" (filing twice is
 * better than losing mail), one we cannot write is skipped with a warning.
 */
#include "config.h"
#include "cache-priv.h"

gboolean sm_cache_already_filed(SmCache *c, const char *key, const char *recipient)
{
	if (!c->duplicates || c->broken)
		return FALSE;
	SmDb *db = sm_cache_db(c, FALSE);
	if (!db)
		return FALSE;
	g_autofree char *jkey = sm_filing_key(key, recipient ? recipient : "");
	g_autofree char *value = NULL;
	char *why = NULL;
	SmDbStatus st = sm_db_fetch(db, jkey, &value, &why);
	if (st != SM_DB_OK && st != SM_DB_ABSENT) {
		sm_cache_db_failed(c, db, st, why);
		return FALSE;
	}
	sm_db_close(db);
	gint64 filed_at;
	return st == SM_DB_OK && sm_filing_decode(value, &filed_at) &&
	       sm_cache_time_fresh(c, filed_at);
}

void sm_cache_mark_filed(SmCache *c, const char *key, const char *recipient)
{
	if (!c->duplicates || c->broken)
		return;
	SmDb *db = sm_cache_db(c, TRUE);
	if (!db)
		return;
	g_autofree char *jkey = sm_filing_key(key, recipient ? recipient : "");
	g_autofree char *value = sm_filing_encode(sm_cache_now(c));
	char *why = NULL;
	SmDbStatus st = sm_db_store(db, jkey, value, &why);
	if (st != SM_DB_OK) {
		sm_cache_db_failed(c, db, st, why);
		return;
	}
	sm_db_close(db);
}
