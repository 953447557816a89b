/* cache.h: the face of cache/: the shared verdict cache, a GDBM file (default
 * ~/.sortmail/verdicts.db, chosen by the caller) with a sidecar lock file
 * PATH.lock; the duplicates journal, a directory PATH.filed beside it; and
 * the reply memory of the autoresponder, in a second GDBM file kept like the
 * cache (at the end).
 *
 * Contract: the cache is never the reason a delivery fails or waits without
 * bound. Every problem with it (no directory, permission, a corrupt or busy
 * database, a verdict that takes too long to arrive) makes the call fall back
 * to computing without the cache and leaves a warning for the caller's log
 * (sm_cache_warning()); only the caller's own computation can fail. After
 * such a problem an SmCache stops using the file, so one delivery pays for
 * it at most once. A corrupt database is moved aside (PATH.corrupt-STAMP-PID)
 * and recreated.
 *
 * Trust: whoever can write the file decides verdicts. New files are 0600;
 * sharing one cache between users means giving them an explicitly
 * group-writable file (see cache/README).
 *
 * cache/ stores verdicts; it does not know how they are made (no score/ here).
 */
#ifndef SM_CACHE_H
#define SM_CACHE_H

#include <glib.h>
#include "common/message.h"
#include "common/verdict.h"

#define SM_CACHE_ERROR (sm_cache_error_quark())
GQuark sm_cache_error_quark(void);

typedef enum {
	SM_CACHE_ERROR_FAILED,  /* cannot open, read or write the file */
	SM_CACHE_ERROR_BUSY,    /* another process held the database too long */
	SM_CACHE_ERROR_CORRUPT, /* the file is not a sound database */
} SmCacheError;

/* ---- the key ----------------------------------------------------------- */

#define SM_CACHE_KEY_LEN 64 /* hex digits of SHA-256 */

/* SHA-256, in lowercase hex, over: the normalized Message-ID, one NUL byte,
 * and the body (from m->body_off to the end) with every CRLF turned into LF.
 * The normalized Message-ID is the value of the first Message-ID header,
 * unfolded as sm_header_value() does; then, if it contains '<', the text
 * between that '<' and the next '>' (or the end); else the whole value. No
 * case change. No Message-ID header gives "". Nothing else in the header block
 * counts, so copies of one message to several recipients share the key. */
void sm_cache_key(const SmMessage *m, char out_hex[SM_CACHE_KEY_LEN + 1]);

/* ---- the cache --------------------------------------------------------- */

typedef struct SmCache SmCache;

typedef struct {
	const char *path;        /* the GDBM file (its directory is made 0700 if missing) */
	const char *fingerprint; /* rule set and scorer settings; verdicts stored under
	                          * another fingerprint are stale. NULL: "" */
	guint ttl;               /* seconds a verdict or a filing stays fresh */
	guint degraded_ttl;      /* seconds for a verdict made while part of the scoring
	                          * was unavailable (sm_verdict_degraded()), if shorter */
	guint max_wait_ms;       /* how long to wait for another delivery's verdict */
	guint db_wait_ms;        /* how long to retry GDBM's own lock, per opening */
	gboolean duplicates;     /* keep the duplicates journal */
	gint64 now;              /* unix time to use as "now"; 0: the clock (tests) */
	/* Called once when a call starts waiting for another delivery's verdict
	 * (for a log or a test); may be NULL. */
	void (*on_wait)(gpointer data);
	gpointer on_wait_data;
} SmCacheOptions;

#define SM_CACHE_DEFAULT_TTL 86400
#define SM_CACHE_DEFAULT_DEGRADED_TTL 600
#define SM_CACHE_DEFAULT_MAX_WAIT_MS 30000
/* Not 2 s: with 200-300 deliveries on 2 cores a holder of GDBM's lock waits
 * for a CPU long enough that 2 s ran out and entries were lost
 * (tests/reliability/load.sh). Still bounded: after one BUSY the cache is
 * given up for the delivery. */
#define SM_CACHE_DEFAULT_DB_WAIT_MS 10000

/* Fills @o with the defaults above, duplicates on, path NULL (must be set). */
void sm_cache_options_init(SmCacheOptions *o);

/* Copies what it needs from @o; opens nothing. */
SmCache *sm_cache_new(const SmCacheOptions *o);
void sm_cache_free(SmCache *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SmCache, sm_cache_free)

/* Fills @out (initialised by the caller, as for SmScoreFunc); FALSE with
 * @error when it cannot. Returning TRUE with out->source == SM_VERDICT_NONE
 * means "a result, but do not cache it". */
typedef gboolean (*SmCacheComputeFunc)(SmVerdict *out, gpointer user, GError **error);

/* The verdict for @key (non-empty, normally from sm_cache_key()) into @out
 * (initialised by the caller):
 * - a fresh stored verdict (younger than the TTL, or than degraded_ttl when
 *   sm_verdict_degraded(), same fingerprint): source CACHED;
 * - else single flight: one process per key computes and stores, the others
 *   wait up to max_wait_ms and take its verdict (source WAITED, waited_ms);
 *   if it dies, one waiter computes at once (source SCORED).
 * FALSE only when @compute failed (its error is passed on); the cache's own
 * trouble ends in computing without it and a warning. */
gboolean sm_cache_get_or_compute(SmCache *c, const char *key, SmCacheComputeFunc compute,
                                 gpointer user, SmVerdict *out, GError **error);

/* What went wrong with the cache so far, "; "-separated; NULL when nothing.
 * Borrowed, valid until the next call on @c. */
const char *sm_cache_warning(SmCache *c);

/* ---- the duplicates journal -------------------------------------------- */

/* Advisory, for not filing one message twice for one original recipient
 * (an MTA retry after a crash between filing and exit). Both answer or do
 * nothing when the journal is off or the cache unusable (with a warning). */
gboolean sm_cache_already_filed(SmCache *c, const char *key, const char *recipient);
void sm_cache_mark_filed(SmCache *c, const char *key, const char *recipient);

/* ---- maintenance (`sortmail cache`) ------------------------------------ */

typedef struct {
	char *key;           /* owned */
	gboolean valid;      /* the record could be read; otherwise only key is set */
	SmVerdict verdict;   /* source CACHED; rules owned */
	char *fingerprint;   /* owned; "" when invalid */
	gboolean stale;      /* too old, other fingerprint, or not valid */
} SmCacheEntry;

void sm_cache_entry_clear(SmCacheEntry *e);

typedef struct {
	guint entries;        /* verdicts */
	guint stale;          /* of which stale */
	guint filings;        /* duplicates journal records */
	guint stale_filings;
	gint64 oldest, newest; /* scored_at of the valid verdicts; 0 when none */
	goffset size;         /* bytes of the file; 0 when there is none */
} SmCacheStats;

/* These report errors instead of working around them, and a missing file is
 * an empty cache. They never move a corrupt file aside. */
gboolean sm_cache_stats(SmCache *c, SmCacheStats *out, GError **error);

/* Calls @f for each verdict (order unspecified) after reading them all, so
 * the database is not held while @f runs; @f returns FALSE to stop. */
typedef gboolean (*SmCacheEntryFunc)(const SmCacheEntry *e, gpointer user);
gboolean sm_cache_foreach(SmCache *c, SmCacheEntryFunc f, gpointer user, GError **error);

/* The entry for @key into @out (cleared by sm_cache_entry_clear()); *@found
 * FALSE (and @out untouched) when there is none. */
gboolean sm_cache_lookup(SmCache *c, const char *key, SmCacheEntry *out, gboolean *found,
                         GError **error);

/* When the duplicates journal has a fresh record of @key filed for
 * @recipient: *@filed_at its time, else 0. Read only (for `sortmail
 * explain`): unlike sm_cache_already_filed() it takes no lock of ours and
 * reports a problem instead of working around it. */
gboolean sm_cache_lookup_filed(SmCache *c, const char *key, const char *recipient,
                               gint64 *filed_at, GError **error);

/* Deletes stale verdicts and filings, then gives the space back. */
gboolean sm_cache_prune(SmCache *c, guint *removed, GError **error);

/* Deletes the verdict for @key and its filings; *@removed counts records. */
gboolean sm_cache_forget(SmCache *c, const char *key, guint *removed, GError **error);

/* ---- the reply memory (replied.c) --------------------------------------- */

/* At most one automatic reply per (sender, template) per period: a GDBM file
 * of its own (default ~/.sortmail/replied.db, chosen by the caller) with its
 * lock file PATH.lock, opened, locked, created and moved aside when corrupt
 * exactly like the verdict cache (see cache/README). The sender is compared
 * lowercased. Unlike the verdict cache it fails closed: when the memory
 * cannot be used, the answer is "do not reply", since a reply sent without
 * it could be one of many. */

typedef struct SmReplied SmReplied;

typedef struct {
	const char *path;     /* the GDBM file (its directory is made 0700 if missing) */
	guint max_wait_ms;    /* how long to wait for a delivery that is replying to the
	                       * same sender with the same template */
	guint db_wait_ms;     /* how long to retry GDBM's own lock, per opening */
	gint64 now;           /* unix time to use as "now"; 0: the clock (tests) */
} SmRepliedOptions;

SmReplied *sm_replied_new(const SmRepliedOptions *o);
/* Ends an unfinished claim without recording. */
void sm_replied_free(SmReplied *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SmReplied, sm_replied_free)

typedef enum {
	SM_REPLIED_GO,      /* no reply within the period: the claim is held (other
	                     * deliveries for this sender and template wait) until
	                     * sm_replied_finish() */
	SM_REPLIED_RECENT,  /* replied less than the period ago (*@last says when) */
	SM_REPLIED_BUSY,    /* another delivery held the claim past max_wait_ms (it is
	                     * most likely sending this very reply): do not reply */
	SM_REPLIED_UNKNOWN, /* the memory is unusable: do not reply (see the warning) */
} SmRepliedClaim;

/* Single flight: takes the lock of (@sender, @template_name), then reads its
 * record. @every is the period in seconds. One claim at a time per object. */
SmRepliedClaim sm_replied_claim(SmReplied *r, const char *sender, const char *template_name,
                                guint every, gint64 *last);
/* Ends the claim; records "replied now" (for the claim's period) when
 * @replied. A failure to record is a warning. No-op without a claim. */
void sm_replied_finish(SmReplied *r, gboolean replied);

/* What went wrong so far, "; "-separated; NULL when nothing. Borrowed. */
const char *sm_replied_warning(SmReplied *r);

/* Maintenance (`sortmail cache replies`, ...): errors are reported, not
 * worked around; a missing file is an empty memory. */
typedef struct {
	char *sender;         /* lowercased; owned */
	char *template_name;  /* owned */
	gint64 replied_at;    /* unix seconds */
	guint every;          /* the period it was recorded with */
	gboolean valid;       /* the record could be read; else only the names are set */
	gboolean stale;       /* the period is over, or not valid */
} SmRepliedEntry;

typedef gboolean (*SmRepliedEntryFunc)(const SmRepliedEntry *e, gpointer user);
/* Calls @f for each record (order unspecified) after reading them all. */
gboolean sm_replied_foreach(SmReplied *r, SmRepliedEntryFunc f, gpointer user,
                            GError **error);
/* Deletes the records of @sender (any case) for @template_name, or for every
 * template when it is NULL. */
gboolean sm_replied_forget(SmReplied *r, const char *sender, const char *template_name,
                           guint *removed, GError **error);
/* Deletes the stale records, then gives the space back. */
gboolean sm_replied_prune(SmReplied *r, guint *removed, GError **error);

#endif
