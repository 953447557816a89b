/* verdicts.h: how a delivery gets its verdict: through the shared verdict cache
 * (cache/) when there is one, with the scorer (score/) as the computation on a
 * miss. Also the duplicates journal. Everything here is advisory: a cache
 * problem becomes a warning for the log line, never a failed delivery. */
#ifndef SM_VERDICTS_H
#define SM_VERDICTS_H

#include <glib.h>
#include "cache/cache.h"
#include "score/score.h"
#include "sortmail/sortmail.h"

typedef struct SmScoring SmScoring;

/* A scorer set up as deliveries under @c set it up (module, rule files,
 * threshold, scorer settings); for `sortmail check`. Free with
 * sm_scorer_free(). */
SmScorer *sm_lda_scorer_new(const SmConfig *c);

/* For one message @m with cache key @key (borrowed, both outlive the result).
 * @use_cache FALSE (dry runs, or "cache none") scores directly. */
SmScoring *sm_scoring_new(const SmConfig *c, const SmEnvelope *env, const SmMessage *m,
                          const char *key, gboolean use_cache);
void sm_scoring_free(SmScoring *s);

/* Points @s at the next message of many (`sortmail replay`): the scorer, once
 * loaded, and the rules fingerprint are kept from one message to the next;
 * the cache handle is renewed, so sm_scoring_warning() speaks of this message
 * only. @key as for sm_scoring_new(). With @peek the cache is only read: a
 * fresh verdict is taken (source CACHED), anything else is scored and not
 * stored, and the duplicates journal is neither read nor written (dry runs). */
void sm_scoring_retarget(SmScoring *s, const SmConfig *c, const SmMessage *m, const char *key,
                         gboolean use_cache, gboolean peek);

/* An SmScoreFunc for sm_decide(); @user is the SmScoring. */
gboolean sm_scoring_score(const SmMessage *m, SmVerdict *out, gpointer user, GError **error);

/* The duplicates journal for (key, @recipient); FALSE/no-op without a cache. */
gboolean sm_scoring_already_filed(SmScoring *s, const char *recipient);
void sm_scoring_mark_filed(SmScoring *s, const char *recipient);

/* Marks (@key, @recipient) filed in @c's duplicates journal, as
 * sm_scoring_mark_filed() does for the message a scoring points at; for
 * `sortmail replay --sync=batch`, which marks a batch only once it is
 * durable. No-op for an empty @key or without a journal. Returns the cache's
 * warning (newly allocated), or NULL. */
char *sm_lda_mark_filed(const SmConfig *c, const char *key, const char *recipient);

/* The duplicates journal for what a delivery does besides filing
 * (outbound.c): a pipe that ran, a forward or rebroadcast that was sent, so
 * an MTA retry after a later failure (filing) does not do it again. Records
 * are the message's key with a pseudo-recipient: @what ("pipe", "forward",
 * "rebroadcast LIST"), a tab, the original recipient @rcpt (borrowed, like
 * @c and @m). The tab keeps them apart from every real recipient (recovered
 * recipients have no control characters). Opened on first use; nothing is
 * kept, and every answer is "not done", when deliveries of @m keep no
 * journal ("cache none", "duplicates no", a message too big to score, a cache
 * directory that is not ours). */
typedef struct SmJournal SmJournal;
SmJournal *sm_journal_new(const SmConfig *c, const SmMessage *m, const char *rcpt);
gboolean sm_journal_done(SmJournal *j, const char *what);
void sm_journal_record(SmJournal *j, const char *what);
void sm_journal_free(SmJournal *j);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SmJournal, sm_journal_free)

/* Cache trouble so far, or NULL. Borrowed. */
const char *sm_scoring_warning(SmScoring *s);

#endif
