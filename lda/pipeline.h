/* pipeline.h: one message through the delivery pipeline, whoever calls it:
 * header index -> original recipient -> cache key -> duplicates journal ->
 * decision (scoring on demand) -> pipe and forward -> backend -> journal ->
 * automatic reply. `sortmail deliver` runs it once per process, `sortmail
 * replay` once per saved message; the per-process part (options, envelope,
 * configuration, log targets) stays with the caller.
 *
 * Contract: as for a delivery (DESIGN.md). FALSE (with @error) means the
 * message was not stored and must be tried again: a backend failure, or a
 * pipe that failed under pipe-defer; then the journal was not marked either.
 * TRUE means stored (or, with the stage flag, staged), deliberately
 * discarded, a duplicate skipped, or (dry run) decided. Nothing after storing can turn TRUE into FALSE. Nothing here
 * prints; sm_pipeline_log() writes the delivery's one log line. */
#ifndef SM_PIPELINE_H
#define SM_PIPELINE_H

#include <glib.h>
#include "lda.h"
#include "autoreply.h"
#include "log.h"
#include "maildir-batch.h"
#include "outbound.h"
#include "verdicts.h"

typedef struct {
	gboolean dry_run;           /* decide only: no filing, no journal, nothing sent or run;
	                             * the reply is only looked at ("would-send") */
	gboolean cache_peek;        /* dry runs: take fresh verdicts from the cache, read-only
	                             * (otherwise a dry run does not use the cache at all) */
	gboolean allow_outbound;    /* run pipe and forward; when FALSE their state is "off"
	                             * and the message is filed into the decision's folder */
	gboolean allow_autorespond; /* send replies; when FALSE a reply asked for is "off" */
	gboolean check_duplicates;  /* skip a message the journal says was filed (the journal
	                             * is marked after filing whenever the config keeps it) */
	gboolean disarm_watchdog;   /* deliver: stored means exit 0 (sm_watchdog_disarm());
	                             * otherwise the signals the backend held are released */
	gboolean stage;             /* replay --sync=batch, Maildir only: the message is only
	                             * written into tmp/ (out->staged) and the journal is not
	                             * marked; the caller commits (maildir-batch.h) and then
	                             * marks. Never with allow_outbound or allow_autorespond:
	                             * they would act before the message is durable */
	/* Called (when set) before the duplicates check with the message's key and
	 * original recipient: a caller holding staged messages commits a copy of
	 * this one first, so that the check sees it in the journal. */
	void (*before_check)(gpointer data, const char *key, const char *recipient);
	gpointer before_check_data;
} SmPipelineFlags;

typedef struct {
	SmMessage msg;                /* indexes the caller's bytes */
	char *msgid;                  /* Message-ID value, or NULL */
	SmRecipient rcpt;             /* the original recipient */
	char key[SM_CACHE_KEY_LEN + 1]; /* cache key; "" when not computed */
	SmDecision decision;
	gboolean decided;             /* decision is filled (not for duplicates, failures) */
	gboolean duplicate;           /* filed before for this recipient: nothing done */
	gboolean stored;              /* filed into decision.folder (stage: into tmp/, not
	                               * durable until the caller's commit) */
	SmStaged *staged;             /* stage: the message in tmp/; owned, freed (and then
	                               * removed from tmp/ unless committed) by clear */
	SmAutoreplyOutcome reply;
	SmOutboundOutcome outbound;
	char *cache_warning;          /* cache trouble, for the log; owned; may be NULL */
	/* private */
	SmScoring *own_scoring;
} SmOutcome;

/* Runs @data (@len bytes, no mbox From_ line; must outlive @out) through the
 * pipeline under @c for envelope @env. @shared: a scoring kept across
 * messages (sm_scoring_retarget()); NULL makes one for this message.
 * @started (g_get_monotonic_time()) starts the message's deadline. */
gboolean sm_pipeline_run(const SmConfig *c, const SmEnvelope *env, SmScoring *shared,
                         const char *data, gsize len, const SmPipelineFlags *f,
                         gint64 started, SmOutcome *out, GError **error);
void sm_outcome_clear(SmOutcome *o);

/* "spam", "ham" or "unscored". */
const char *sm_pipeline_verdict_word(const SmVerdict *v);
/* "scored", "cached", "waited" or "none". */
const char *sm_pipeline_via(const SmVerdict *v);

/* The start of a log line: what, id, to, from, the decision @d (may be
 * NULL), ms since @started, the decision's note and @reason (may be NULL). */
GString *sm_pipeline_log_line(const char *what, const char *msgid, const char *to,
                              const char *from, const SmDecision *d, gint64 started,
                              const char *reason);

/* The one line of a message that went well (delivered, discarded, duplicate).
 * @replay_at (may be NULL) ends it as " replay=POSITION" (`sortmail replay`). */
void sm_pipeline_log(const SmOutcome *o, const SmEnvelope *env, const SmLogTargets *log,
                     gint64 started, const char *replay_at);

#endif
