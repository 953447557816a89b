/* autoreply.h: step 9 of a delivery: the automatic reply a rule asked for,
 * after the message has been filed (see DESIGN.md and sortmail-templates(5)).
 *
 * Contract: nothing here can fail the delivery. The outcome is one of
 *   sent                      the reply went to sendmail
 *   suppressed:CODE           deliberately not sent: a never-answer condition
 *                             (sortmail/autorespond.c), "recent" (the reply
 *                             memory says it was sent within the rule's
 *                             period) or "busy" (another delivery is sending it)
 *   failed:CODE               it should have been sent and was not: "template",
 *                             "module", "build", "memory", "sendmail", "timeout",
 *                             "deadline"
 * and goes into the delivery's log line. A reply is recorded in the reply
 * memory when it was sent, or when sendmail timed out (it may have been
 * queued, and a hung sendmail must not stall every later delivery too).
 *
 * Time: the watchdog is disarmed once the message is filed, so the reply
 * bounds itself: waiting for another delivery's reply and sendmail together
 * stay within the delivery's deadline (which is below the MTA's own time
 * limit, past which Postfix would bounce a message that was in fact filed).
 */
#ifndef SM_AUTOREPLY_H
#define SM_AUTOREPLY_H

#include <glib.h>
#include "sortmail/sortmail.h"
#include "templates/reply.h"

typedef struct {
	char *state;   /* as above; NULL when no reply was asked for; owned */
	char *detail;  /* evidence, notes or the error, for the log; may be NULL; owned */
	gboolean warn; /* failed, or the reply memory had trouble: log a warning */
} SmAutoreplyOutcome;

/* Answers @m (filed, or deliberately discarded) if @d asks for it. @rcpt is
 * the original recipient; @deadline the g_get_monotonic_time() by which the
 * reply must be done (0: none). With @dry_run only the never-answer
 * conditions are looked at ("would-send" or "suppressed:CODE"): no memory,
 * no sending. */
void sm_autoreply(const SmConfig *c, const SmEnvelope *env, const SmMessage *m,
                  const char *rcpt, const SmDecision *d, gint64 deadline, gboolean dry_run,
                  SmAutoreplyOutcome *out);
void sm_autoreply_outcome_clear(SmAutoreplyOutcome *o);

/* The reply @d->reply asks for, built from its template as a delivery builds
 * it (`sortmail explain` shows it). FALSE with @error (SM_REPLY_ERROR). */
gboolean sm_autoreply_build(const SmConfig *c, const SmEnvelope *env, const SmMessage *m,
                            const char *rcpt, const SmDecision *d, SmReply *reply,
                            GError **error);

#endif
