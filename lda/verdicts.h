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

/* An SmScoreFunc for sm_decide(); @user is the SmScoring. */
gboolean sm_scoring_score(const SmMessage *m, SmVerdict *out, gpointer user, GError **error);

/* The duplicates journal for (key, @recipient); FALSE/no-op without a cache. */
gboolean sm_scoring_already_filed(SmScoring *s, const char *recipient);
void sm_scoring_mark_filed(SmScoring *s, const char *recipient);

/* The duplicates journal alone, for what a delivery records besides its
 * filing (outbound.c: a forward or rebroadcast already sent, so an MTA retry
 * after a failed filing does not send again). Fills @key with @m's key.
 * NULL when deliveries of @m keep no journal: "cache none", "duplicates no",
 * a message too big to score, or a cache directory that is not ours. */
SmCache *sm_lda_journal_new(const SmConfig *c, const SmMessage *m,
                            char key[SM_CACHE_KEY_LEN + 1]);

/* Cache trouble so far, or NULL. Borrowed. */
const char *sm_scoring_warning(SmScoring *s);

#endif
