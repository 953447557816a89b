/* cache-priv.h: internal to cache/: the SmCache object, the record format, the
 * lock file and the database opening policy shared by cache.c (get-or-compute),
 * cache-open.c, cache-lock.c, cache-filed.c (duplicates journal) and
 * cache-maint.c (maintenance).
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
	guint ttl, degraded_ttl, max_wait_ms, db_wait_ms;
	gboolean duplicates;
	gint64 now;
	void (*on_wait)(gpointer data);
	gpointer on_wait_data;
	int lock_fd;       /* -1 until the first miss */
	gboolean broken;   /* gave up on the cache for the rest of this object's life */
	GString *warnings;
	GRand *rand;       /* jitter of the wait loop, seeded per process */
	const char *what;  /* for warnings: "verdict cache", or "reply memory" (replied.c) */
};

/* Records older than this many seconds in the future are not believed. */
#define SM_CACHE_CLOCK_SKEW 300

void sm_cache_warn(SmCache *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Warns "WHAT PATH unusable: WHY" and stops using the cache. */
void sm_cache_give_up(SmCache *c, const char *why);
gint64 sm_cache_now(const SmCache *c);
gboolean sm_cache_time_fresh(const SmCache *c, gint64 t);
/* A stored verdict's age against the TTL, or degraded_ttl when it is
 * sm_verdict_degraded(). */
gboolean sm_cache_verdict_fresh(const SmCache *c, const SmVerdict *v);

/* ---- opening the database (cache-open.c) ------------------------------- */

/* The database for a delivery, following the policy of cache.h: NULL when
 * there is nothing to read (no file yet) or the cache is unusable
 * (c->broken, with a warning). A corrupt file is moved aside on the way;
 * for @write, a missing one is created. */
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

/* Polling intervals for a lock held by another delivery: short, because the
 * typical wait is one scoring (tens of ms) and each poll is one fcntl(). */
#define SM_CACHE_POLL_FIRST_US 500
#define SM_CACHE_POLL_MAX_US 5000

/* The permission of new cache files: that of the database when there is one
 * (so an admin's group-writable shared cache stays shared), else 0600. */
guint sm_cache_file_mode(const SmCache *c);
/* The lock file, opened on first use (its directory made if needed) with the
 * database's permissions, or 0600; -1 with the cache given up if it cannot be. */
int sm_cache_lock_fd(SmCache *c);
/* Polls for @slot until @wait_ms have passed: 0 got, 1 timed out, -1 error. */
int sm_cache_lock_within(SmCache *c, goffset slot, gboolean exclusive, guint wait_ms);
/* Gives the cache up, naming the lock file and errno. */
void sm_cache_lock_failed(SmCache *c);
/* A sleep of about @us (from @us/2 to 3@us/2), so waiters do not poll in step. */
gulong sm_cache_jitter(SmCache *c, gulong us);

/* ---- records (cache-record.c) ------------------------------------------ */

/* Sanitised for the record: tabs, commas, newlines and controls become '_'. */
char *sm_record_clean(const char *s);

char *sm_record_encode(const SmVerdict *v, const char *fingerprint);
/* Fills @v's numbers and rules (rules replaced) and *@fingerprint (newly
 * allocated); FALSE when @text is not a record this version understands. */
gboolean sm_record_decode(const char *text, SmVerdict *v, char **fingerprint);

/* Journal records of sortmail 0.1 lived in the database under "F:" KEY ":"
 * ...; prune deletes any it finds (the journal is now cache-filed.c's files). */
#define SM_FILING_PREFIX "F:"

/* ---- duplicates journal (cache-filed.c) -------------------------------- */

/* The journal's directory, PATH.filed (newly allocated). */
char *sm_filed_dir(const SmCache *c);
/* Counts (and with @prune deletes) the stale filings; fresh ones into *@fresh.
 * 0, or -1 with errno (a missing directory is an empty journal). */
int sm_filed_scan(SmCache *c, gboolean prune, guint *fresh, guint *stale);
/* Deletes the filings of @key; counts them into *@removed. 0 or -1/errno. */
int sm_filed_forget(SmCache *c, const char *key, guint *removed);

#endif
