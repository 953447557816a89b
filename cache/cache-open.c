/* cache-open.c: opening the database for a delivery, following the policy of
 * cache.h: create it when missing, move it aside when corrupt, give the cache
 * up (with a warning) on anything else. Creating and moving aside happen under
 * the admin slot of the lock file, so that concurrent deliveries agree on
 * which file is the database.
 */
#include "config.h"
#include "cache-priv.h"

#include <errno.h>

static gboolean admin_lock(SmCache *c)
{
	if (sm_cache_lock_fd(c) < 0)
		return FALSE;
	int r = sm_cache_lock_within(c, SM_LOCK_ADMIN, TRUE, c->db_wait_ms);
	if (r > 0)
		sm_cache_give_up(c, "its lock file stayed locked");
	else if (r < 0)
		sm_cache_lock_failed(c);
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
		sm_cache_give_up(c, text);
		return FALSE;
	}
	if (r == 0)
		sm_cache_warn(c, "%s %s was corrupt (%s): moved aside to %s", c->what, c->path,
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
			sm_cache_give_up(c, why);
			return NULL;
		}
	}
	if (!c->broken)
		sm_cache_give_up(c, "it keeps turning out corrupt");
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
		sm_cache_give_up(c, why);
	g_free(why);
}
