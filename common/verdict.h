/* verdict.h: the result of scoring one message, shared by score/, cache/ and
 * sortmail/ (none of which may include another: this is their common vocabulary). */
#ifndef SM_VERDICT_H
#define SM_VERDICT_H

#include <glib.h>

typedef enum {
	SM_VERDICT_NONE = 0, /* not scored (noscore rule, oversized, scorer failed) */
	SM_VERDICT_SCORED,   /* scored by this process */
	SM_VERDICT_CACHED,   /* taken from the verdict cache */
	SM_VERDICT_WAITED    /* waited for another delivery's score */
} SmVerdictSource;

typedef struct {
	double score;
	double threshold;
	gboolean is_spam;
	GPtrArray *rules;       /* char *, names of the rules that hit; owned */
	SmVerdictSource source;
	gint64 scored_at;       /* unix seconds */
	double waited_ms;       /* for SM_VERDICT_WAITED */
	/* What went wrong but was worked around while scoring (spamd down, ...),
	 * for the log line; NULL when nothing did. Owned. Not kept by the cache. */
	char *note;
} SmVerdict;

/* Rules a scorer adds when part of the scoring could not take part for a
 * while (DNS lookups unanswered, spamd unreachable): the verdict stands on
 * the rest, and the verdict cache keeps it only briefly (cache-ttl-degraded),
 * so that the copies arriving after the outage are scored whole. */
#define SM_RULE_DNS_UNAVAILABLE "__DNS_UNAVAILABLE"
#define SM_RULE_SPAMD_UNAVAILABLE "SPAMD_UNAVAILABLE"

/* TRUE when @v carries one of the rules above. */
gboolean sm_verdict_degraded(const SmVerdict *v);

void sm_verdict_init(SmVerdict *v);
void sm_verdict_clear(SmVerdict *v);
const char *sm_verdict_source_name(SmVerdictSource s);

/* "Yes, score=7.3 required=5.0 tests=A,B" as SpamAssassin writes it. Newly allocated. */
char *sm_verdict_status_line(const SmVerdict *v);

#endif
