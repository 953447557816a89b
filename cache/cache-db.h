/* cache-db.h: internal to cache/: the GDBM file behind a tiny API, so that only
 * cache-gdbm.c ever sees gdbm.h.
 *
 * Contract: every call is bounded in time. Opening retries GDBM's own lock
 * (one writer or many readers, never waiting inside GDBM) with backoff until
 * @wait_ms have passed, then answers SM_DB_BUSY. Keys and values are C strings
 * stored without their NUL. A status other than OK/ABSENT comes with a one-line
 * reason in *@why (newly allocated) that does not repeat the database's path. A database that GDBM finds structurally
 * broken answers SM_DB_CORRUPT, and sm_db_open() then also gives the identity
 * of the broken file so that the caller can move exactly that file aside.
 */
#ifndef SM_CACHE_DB_H
#define SM_CACHE_DB_H

#include <glib.h>

typedef struct SmDb SmDb;

typedef enum {
	SM_DB_READ,   /* shared; a missing or empty file is SM_DB_ABSENT */
	SM_DB_WRITE,  /* exclusive; a missing or empty file is SM_DB_ABSENT */
	SM_DB_CREATE, /* exclusive; creates (or initialises an empty file) */
} SmDbMode;

typedef enum {
	SM_DB_OK,
	SM_DB_ABSENT,  /* no such file (open) or no such key (fetch, delete) */
	SM_DB_BUSY,    /* GDBM's lock was not obtained within the wait */
	SM_DB_CORRUPT, /* not a GDBM file, truncated, or structurally broken */
	SM_DB_FAILED,  /* anything else: permission, no space, I/O error */
} SmDbStatus;

/* Identifies one file (not one path), and its permission bits. */
typedef struct {
	guint64 dev, ino;
	guint mode;
} SmDbFileId;

/* @mode is the permission of a file SM_DB_CREATE creates. On SM_DB_CORRUPT,
 * @id (if not NULL) names the broken file. *@out is NULL unless SM_DB_OK. */
SmDbStatus sm_db_open(const char *path, SmDbMode mode, guint mode_bits, guint wait_ms,
                      SmDb **out, SmDbFileId *id, char **why);
void sm_db_close(SmDb *db);
void sm_db_file_id(SmDb *db, SmDbFileId *id);

/* *@value is newly allocated on SM_DB_OK. */
SmDbStatus sm_db_fetch(SmDb *db, const char *key, char **value, char **why);
SmDbStatus sm_db_store(SmDb *db, const char *key, const char *value, char **why);
SmDbStatus sm_db_delete(SmDb *db, const char *key, char **why);

/* Calls @f for every record (order unspecified); @f returns FALSE to stop.
 * The database must not be changed from inside @f. */
typedef gboolean (*SmDbForeachFunc)(const char *key, const char *value, gpointer user);
SmDbStatus sm_db_foreach(SmDb *db, SmDbForeachFunc f, gpointer user, char **why);

/* Gives the space of deleted records back (rewrites the file; writers only). */
SmDbStatus sm_db_reorganize(SmDb *db, char **why);

/* Renames the file at @path to PATH.corrupt-YYYYmmddTHHMMSS-PID if it still is
 * the file @id names; 0 done (*@new_path newly allocated), 1 nothing to do (it
 * was already moved or replaced), -1 with errno. The caller serialises calls. */
int sm_db_move_aside(const char *path, const SmDbFileId *id, char **new_path);

#endif
