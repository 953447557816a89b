/* sendmail.h: running a helper command, and handing a message to sendmail.
 *
 * sm_run() is the general part (the autoresponder's sendmail today, forward
 * and pipe actions later): run a command without a shell, feed it its input,
 * keep a bounded part of what it prints, and never wait past a deadline; a
 * command still running then is killed with its whole process group.
 * sm_submit() builds on it for "sendmail -i -f SENDER -- RECIPIENT...".
 *
 * The child starts with default signal dispositions and an empty signal mask
 * (sortmail itself ignores SIGPIPE and SIGXFSZ and blocks the watchdog's
 * signals after filing, and none of that is the child's business), no file
 * descriptors but 0, 1 and 2, and its own process group. While it runs,
 * SIGPIPE is ignored in the caller (a command that does not read its input
 * costs an EPIPE, not the process); the disposition is restored after.
 */
#ifndef SM_SENDMAIL_H
#define SM_SENDMAIL_H

#include <glib.h>

typedef struct {
	const char *const *argv;  /* NULL-terminated; argv[0] an absolute path */
	const char *const *envp;  /* NULL-terminated; NULL: this process's environment */
	const char *input;        /* written to the command's stdin, then EOF; may be NULL */
	gsize input_len;
	guint timeout_ms;         /* from the start; then SIGKILL to its process group */
	gsize max_output;         /* bytes of stdout + stderr kept; the rest is read and dropped */
} SmRunSpec;

typedef struct {
	gboolean timed_out;  /* killed at the deadline (wait_status then says SIGKILL) */
	int wait_status;     /* as waitpid() gives it */
	char *output;        /* stdout and stderr as they came, NUL-terminated; owned */
	gsize output_len;
} SmRunResult;

/* Runs @spec into @out (cleared with sm_run_result_clear()). 0 when the
 * command ran (whatever its exit status), -1 with errno when it could not be
 * started (then @out holds nothing). */
int sm_run(const SmRunSpec *spec, SmRunResult *out);
void sm_run_result_clear(SmRunResult *r);

/* "exit status 1", "killed by signal 9", "timed out after 2.5 s", followed by
 * ": " and the first line of the output if there is one. Newly allocated. */
char *sm_run_describe(const SmRunResult *r, guint timeout_ms);

typedef enum {
	SM_SUBMIT_OK,       /* the command took the message (exit status 0) */
	SM_SUBMIT_REFUSED,  /* it ran and said no (another exit status, a signal) */
	SM_SUBMIT_TIMEOUT,  /* killed at the deadline: the message may have been queued */
	SM_SUBMIT_FAILED,   /* it could not be started */
} SmSubmitResult;

/* Runs @command (argv[0] absolute, then its own arguments) with
 * "-i -f SENDER -- RECIPIENT..." appended and @message on stdin. An empty
 * @envelope_sender is the null sender and is passed as "<>", which Postfix's
 * sendmail reads as the null sender (tests/integration/postfix-reply.sh), as
 * Exim's and Sendmail's do. "--" keeps a recipient that begins with '-' from
 * being read as an option. *@why gets a one-line
 * explanation unless SM_SUBMIT_OK (newly allocated; may be NULL). */
SmSubmitResult sm_submit(const char *const *command, guint timeout_ms, const char *message,
                         gsize len, const char *envelope_sender,
                         const char *const *recipients, char **why);

#endif
