/* outbound.h: a rule's pipe, forward and rebroadcast actions
 * (sortmail.conf(5)), run after the decision and before filing, because
 * their outcome decides whether and where the message is filed.
 *
 * Contract: no mail is lost. A rule without a folder action files nothing
 * when its pipe, forward and rebroadcast worked; any failure (pipe: exit
 * status not 0, a signal, the timeout, not startable; forward or rebroadcast:
 * sendmail refused, timed out or could not run; rebroadcast: the members or
 * moderators file unreadable, bad or empty) files the message into the
 * decision's folder instead (the inbox for such a rule), or, for a failed pipe
 * with pipe-defer, defers the whole delivery (exit 75; the caller must then
 * neither file nor mark the duplicates journal). Deliberately skipped sends
 * (spam, a loop) are not failures: the message is then filed as the rule
 * says, or into the inbox. The pipe runs first, so a deferred delivery has
 * sent nothing.
 *
 * A post the rule's list does not take (rebroadcast.h: not scored, automatic,
 * from a sender who is neither member nor moderator) is held: the decision's
 * folder becomes the list's hold folder, its note says why, and none of the
 * rule's actions runs. Only then does sm_outbound() change the decision.
 *
 * What worked is recorded in the duplicates journal (when there is one), so
 * an MTA retry after a later failure (filing) neither runs the pipe nor sends
 * again: it says already-run / already-sent.
 *
 * Outcomes, for the log line:
 *   pipe=ok | pipe=already-run | pipe=failed:exit|signal|timeout|start
 *   forward=sent | forward=already-sent | forward=suppressed:spam|loop
 *     | forward=failed:sendmail|timeout
 *   rebroadcast=sent | rebroadcast=already-sent | rebroadcast=suppressed:loop
 *     | rebroadcast=held:sender|automatic|unscored|spam
 *     | rebroadcast=failed:members|sendmail|timeout
 */
#ifndef SM_OUTBOUND_H
#define SM_OUTBOUND_H

#include <glib.h>
#include "sortmail/sortmail.h"

typedef struct {
	char *pipe_state;     /* as above; NULL: no pipe; owned */
	char *pipe_detail;    /* why it failed or what it printed; may be NULL; owned */
	char *forward_state;  /* as above; NULL: no forward; owned */
	char *forward_detail; /* may be NULL; owned */
	char *rebroadcast_state;  /* as above; NULL: no rebroadcast; owned */
	char *rebroadcast_detail; /* may be NULL; owned */
	gboolean file;        /* the message must be filed into the decision's folder */
	gboolean defer;       /* the pipe failed and the rule says pipe-defer */
	gboolean warn;        /* something failed: log a warning */
} SmOutboundOutcome;

/* Runs @d->outbound's actions for @m (with @prefix, the X-Spam headers, in
 * front of it), and holds a post its list does not take (@d's folder and note
 * then change). @rcpt is the original recipient, also the loop marker's
 * value. @deadline (g_get_monotonic_time(); 0: none) is the watchdog's: each
 * command's timeout is cut to end a few seconds before it, so the watchdog
 * never fires with a command still running. With no outbound rule, only
 * out->file is set (TRUE unless discard). */
void sm_outbound(const SmConfig *c, const SmEnvelope *env, const SmMessage *m,
                 const char *rcpt, SmDecision *d, const char *prefix,
                 gint64 deadline, SmOutboundOutcome *out);
void sm_outbound_outcome_clear(SmOutboundOutcome *o);

/* TRUE when @m carries a header @name whose address (or, without one, whose
 * value) is @value, caselessly: the forward's loop tests (the marker, and
 * Delivered-To for a target); also used by `sortmail explain`. */
gboolean sm_outbound_has_address(const SmMessage *m, const char *name, const char *value);

/* The loop marker header's name. */
#define SM_LOOP_HEADER "X-Sortmail-Loop"

#endif
