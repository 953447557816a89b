/* cache-priv.h: internal to cache/: the SmCache object, the record format, the
 * lock file and the database opening policy shared by cache.c (delivery),
 * cache-filed.c (duplicates journal) and cache-maint.c (maintenance).
 * Record formats are documented in cache/README; cache-record.c is the one
 * place that reads and writes them.
 */
#ifndef SM_CACHE_PRIV_H
#define SM_CACHE_PRIV_H

#include "cache.h"
#include "cache-db.h"

struct SmCache {
	char *path;        /* the GDBM file */
	char *lock_path;   /* PATH.lock */
	char *fingerprint; /* sanitised as stored in records */
	guint ttl, max_wait_ms, db_wait_ms;
	gboolean duplicates;
	gint64 now;
	void (*on_wait)(gpointer data);
	gpointer on_wait_data;
	int lock_fd;       /* -1 until the first miss */
	gboolean broken;   /* gave up on the cache for the rest of this object's life */
	GString *warnings;
	GRand *rand;       /* jitter of the wait loop, seeded per process */
};

/* Records older than this many seconds in the future are not believed. */
#define SM_CACHE_CLOCK_SKEW 300

void sm_cache_warn(SmCache *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
gint64 sm_cache_now(const SmCache *c);
gboolean sm_cache_time_fresh(const SmCache *c, gint64 t);

/* The database for a delivery, following the policy of cache.h: NULL when
 * there is nothing to read (no file yet) or the cache is unusable
 * (c->broken, with a warning). A corrupt file is moved aside on the way;
 * SM_DB_CREATE-like behaviour for @write. */
SmDb *sm_cache_db(SmCache *c, gboolean write);

/* After an operation on an open @db answered @st with @why: closes @db, warns,
 * moves a corrupt file aside, marks the cache broken unless ABSENT/OK. */
void sm_cache_db_failed(SmCache *c, SmDb *db, SmDbStatus st, char *why);

/* ---- lock file (cache-lock.c) ------------------------------------------ */

#define SM_LOCK_SLOTS 4096            /* flight locks: byte 0..4095 */
#define SM_LOCK_ADMIN SM_LOCK_SLOTS   /* creating or moving aside the database */

int sm_lockfile_open(const char *path, guint mode_bits);         /* fd, or -1/errno */
int sm_lock_try(int fd, goffset offset, gboolean exclusive);     /* 0 got, 1 busy, -1 */
void sm_lock_release(int fd, goffset offset);
goffset sm_lock_slot(const char *key);

/* The lock file, opened on first use (its directory made if needed); -1 with
 * a warning when it cannot be. */
int sm_cache_lock_fd(SmCache *c);

/* ---- records (cache-record.c) ------------------------------------------ */

/* Sanitised for the record: tabs, commas, newlines and controls become '_'. */
char *sm_record_clean(const char *s);

char *sm_record_encode(const SmVerdict *v, const char *fingerprint);
/* Fills @v's numbers and rules (rules replaced) and *@fingerprint (newly
 * allocated); FALSE when @text is not a record this version understands. */
gboolean sm_record_decode(const char *text, SmVerdict *v, char **fingerprint);

/* Journal records live under "F:" KEY ":" first 32 hex of SHA-256(recipient). */
#define SM_FILING_PREFIX "F:"
char *sm_filing_key(const char *key, const char *recipient);
char *sm_filing_encode(gint64 filed_at);
gboolean sm_filing_decode(const char *text, gint64 *filed_at);

#endif
