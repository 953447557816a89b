/* explain-priv.h: what the two halves of `sortmail explain` share:
 * cmd-explain.c (options, envelope, original recipient, cache, scoring, the
 * decision) and explain-actions.c (folder, pipe and forward, reply).
 * Internal to lda/. */
#ifndef SM_EXPLAIN_PRIV_H
#define SM_EXPLAIN_PRIV_H

#include <glib.h>
#include "sortmail/sortmail.h"

/* One section title, then "  KEY  value" lines: the layout of the output. */
void sm_explain_section(const char *title);
void sm_explain_item(const char *key, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* The steps after the decision: where the message would be filed (full
 * path), the pipe and forward it would run (argv), and the reply it would
 * send, rendered in full. Reads only. */
void sm_explain_actions(const SmConfig *c, const SmEnvelope *env, const SmMessage *m,
                        const char *rcpt, const SmDecision *d);

#endif
