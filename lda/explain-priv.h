/* explain-priv.h: what the parts of `sortmail explain` share:
 * cmd-explain.c (options, envelope, original recipient, scoring, the
 * decision), explain-cache.c (the verdict cache) and explain-actions.c
 * (folder, pipe and forward, reply).
 * Internal to lda/. */
#ifndef SM_EXPLAIN_PRIV_H
#define SM_EXPLAIN_PRIV_H

#include <glib.h>
#include "sortmail/sortmail.h"
#include "cache/cache.h"

/* One section title, then "  KEY  value" lines: the layout of the output. */
void sm_explain_section(const char *title);
void sm_explain_item(const char *key, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* "KEY  spam, score 7.3, required 5.0, tests=A,B" */
void sm_explain_verdict(const char *key, const SmVerdict *v);

/* The verdict cache section (explain-cache.c): the file, @key (NULL: the message is not scored, so not
 * looked up), the duplicates journal for @rcpt and the stored verdict.
 * TRUE when a fresh verdict was found: it is in @cached (zeroed by the
 * caller, cleared with sm_cache_entry_clear()); a stale one may be there too. */
gboolean sm_explain_cache(const SmConfig *c, const SmEnvelope *env, const char *key,
                          const char *rcpt, SmCacheEntry *cached);

/* The steps after the decision: where the message would be filed (full
 * path), the pipe and forward it would run (argv), and the reply it would
 * send, rendered in full. Reads only. */
void sm_explain_actions(const SmConfig *c, const SmEnvelope *env, const SmMessage *m,
                        const char *rcpt, const SmDecision *d);

#endif
