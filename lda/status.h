/* status.h: the one place that turns a failure into the process's exit status
 * and the one line Postfix shows in its logs.
 *
 * Policy (as in Postfix local(8) and Dovecot's LDA): every failure during
 * delivery is temporary, EX_TEMPFAIL (75), so the MTA keeps the message queued.
 * A permanent failure would bounce mail, and nothing a delivery agent meets at
 * delivery time is certain enough for that. Only main() exits. */
#ifndef SM_STATUS_H
#define SM_STATUS_H

#include <glib.h>

#define SM_EXIT_OK       0
#define SM_EXIT_TEMPFAIL 75 /* EX_TEMPFAIL from sysexits.h */

/* `sortmail replay` is run by hand, not by an MTA: its statuses say how the
 * run went (sortmail(1), replay). */
#define SM_EXIT_REPLAY_FAILED      1   /* some messages or inputs failed; the rest replayed */
#define SM_EXIT_REPLAY_USAGE       2   /* bad command line or configuration: nothing done */
#define SM_EXIT_REPLAY_INTERRUPTED 130 /* stopped by SIGINT, SIGTERM, SIGHUP; resume with --skip */

#define SM_LDA_ERROR (sm_lda_error_quark())
GQuark sm_lda_error_quark(void);

typedef enum {
	SM_LDA_ERROR_USAGE,  /* bad command line */
	SM_LDA_ERROR_INPUT,  /* could not read the message */
	SM_LDA_ERROR_SETUP,  /* environment or mailbox set-up is unusable */
	SM_LDA_ERROR_DEFER,  /* a rule asked for a retry (a failed pipe with pipe-defer) */
} SmLdaError;

/* The exit status for a delivery that ended with @error (NULL = success). */
int sm_status_exit_code(const GError *error);

/* @text made safe as one line of diagnostics: control characters become spaces,
 * at most 400 bytes, and never starting like an RFC 3463 status code ("5.1.1"),
 * which Postfix would take as the delivery status. Newly allocated. */
char *sm_status_one_line(const char *text);

/* Writes "sortmail: REASON\n" to stderr in one write. */
void sm_status_print(const char *reason);

#endif
