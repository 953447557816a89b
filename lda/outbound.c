/* outbound.c: a rule's pipe, forward and rebroadcast actions (see outbound.h;
 * the list's own parts are in rebroadcast.c). */
#include "config.h"
#include "outbound.h"
#include "rebroadcast.h"
#include "sendmail.h"
#include "status.h"
#include "verdicts.h"

#include <errno.h>
#include <string.h>
#include <sys/wait.h>

/* Output of a pipe kept for the log: the rest is read and dropped. */
#define PIPE_MAX_OUTPUT 4096
/* Of that, at most this much goes into the log line. */
#define PIPE_LOG_OUTPUT 200
/* Kept free before the watchdog's deadline, for filing after a failure. */
#define DEADLINE_MARGIN_MS 5000

/* @want_ms, cut to end DEADLINE_MARGIN_MS before @deadline (at least 1 ms,
 * so a command past it fails at once rather than running unbounded). */
static guint timeout_within(guint want_ms, gint64 deadline)
{
	if (!deadline)
		return want_ms;
	gint64 left = (deadline - g_get_monotonic_time()) / 1000 - DEADLINE_MARGIN_MS;
	return left < 1 ? 1 : (guint)MIN((gint64)want_ms, left);
}

/* @prefix (header fields) in front of the message (sm_message_fields_end()
 * between them). */
static char *with_prefix(const char *prefix, const SmMessage *m, gsize *len)
{
	g_autofree char *fields = g_strconcat(prefix, sm_message_fields_end(m, prefix), NULL);
	gsize flen = strlen(fields);
	char *buf = g_malloc(flen + m->len + 1);
	memcpy(buf, fields, flen);
	memcpy(buf + flen, m->data, m->len);
	buf[flen + m->len] = '\0';
	*len = flen + m->len;
	return buf;
}

/* What the command printed, one line, short: for the log. */
static char *output_note(const SmRunResult *res)
{
	if (!res->output || res->output_len == 0)
		return NULL;
	g_autofree char *head = g_strndup(res->output, MIN(res->output_len, PIPE_LOG_OUTPUT));
	g_autofree char *valid = g_utf8_make_valid(head, -1);
	g_autofree char *line = sm_status_one_line(valid);
	g_strstrip(line);
	if (!*line)
		return NULL;
	return g_strdup_printf("output: %s%s", line,
	                       res->output_len > PIPE_LOG_OUTPUT ? "..." : "");
}

/* ---- pipe ---------------------------------------------------------------------- */

static char **pipe_env(const SmEnvelope *env, const char *rcpt, const SmDecision *d)
{
	char **e = g_get_environ();
	const SmVerdict *v = &d->verdict;
	g_autofree char *score = v->source == SM_VERDICT_NONE ? g_strdup("")
	                                                      : g_strdup_printf("%.1f", v->score);
	e = g_environ_setenv(e, "SENDER", env->sender ? env->sender : "", TRUE);
	e = g_environ_setenv(e, "RECIPIENT", env->recipient ? env->recipient : "", TRUE);
	e = g_environ_setenv(e, "ORIGINAL_RECIPIENT", rcpt ? rcpt : "", TRUE);
	e = g_environ_setenv(e, "SORTMAIL_VERDICT", v->source == SM_VERDICT_NONE ? "unscored"
	                     : v->is_spam ? "spam" : "ham", TRUE);
	e = g_environ_setenv(e, "SORTMAIL_SCORE", score, TRUE);
	e = g_environ_setenv(e, "SORTMAIL_FOLDER", d->folder ? d->folder : "inbox", TRUE);
	return e;
}

/* TRUE when the pipe worked. */
static gboolean run_pipe(const SmConfig *c, const SmEnvelope *env, const SmMessage *m,
                         const char *rcpt, const SmDecision *d, const char *prefix,
                         gint64 deadline, SmJournal *j, SmOutboundOutcome *out)
{
	const SmRule *r = d->outbound;
	if (sm_journal_done(j, "pipe")) {
		out->pipe_state = g_strdup("already-run");
		out->pipe_detail = g_strdup("by an earlier attempt (duplicates journal)");
		return TRUE;
	}
	const char *shell_argv[] = { "/bin/sh", "-c", r->pipe, NULL };
	g_auto(GStrv) envp = pipe_env(env, rcpt, d);
	gsize len;
	g_autofree char *input = with_prefix(prefix, m, &len);
	guint timeout_ms = timeout_within(c->pipe_timeout * 1000, deadline);
	SmRunSpec spec = {
		.argv = r->pipe_shell ? shell_argv : (const char *const *)r->pipe_argv,
		.envp = (const char *const *)envp,
		.input = input, .input_len = len,
		.timeout_ms = timeout_ms,
		.max_output = PIPE_MAX_OUTPUT,
	};
	SmRunResult res;
	if (sm_run(&spec, &res) < 0) {
		out->pipe_state = g_strdup("failed:start");
		out->pipe_detail = g_strdup_printf("cannot run %s: %s", spec.argv[0],
		                                   g_strerror(errno));
		return FALSE;
	}
	gboolean ok = !res.timed_out && WIFEXITED(res.wait_status)
	              && WEXITSTATUS(res.wait_status) == 0;
	if (ok) {
		sm_journal_record(j, "pipe");
		out->pipe_state = g_strdup("ok");
		out->pipe_detail = output_note(&res);
	} else {
		out->pipe_state = g_strdup(res.timed_out ? "failed:timeout"
		                           : WIFSIGNALED(res.wait_status) ? "failed:signal"
		                                                          : "failed:exit");
		/* How it ended, then all it printed (not only the first line). */
		SmRunResult bare = { .timed_out = res.timed_out, .wait_status = res.wait_status };
		g_autofree char *how = sm_run_describe(&bare, timeout_ms);
		g_autofree char *said = output_note(&res);
		out->pipe_detail = said ? g_strdup_printf("%s; %s", how, said) : g_strdup(how);
	}
	sm_run_result_clear(&res);
	return ok;
}

/* ---- forward and rebroadcast ------------------------------------------------------ */

static const char *loop_value(const char *rcpt)
{
	return rcpt && *rcpt ? rcpt : "unknown";
}

/* Through the configured sendmail command, within @deadline. */
static SmSubmitResult submit(const SmConfig *c, gint64 deadline, const char *msg, gsize len,
                             const char *sender, const char *const *to, char **why)
{
	g_autofree const char **command = g_new0(const char *, c->sendmail->len + 1);
	for (guint i = 0; i < c->sendmail->len; i++)
		command[i] = c->sendmail->pdata[i];
	return sm_submit(command, timeout_within(c->sendmail_timeout * 1000, deadline), msg, len,
	                 sender, to, why);
}

static const char *submit_state(SmSubmitResult sr)
{
	return sr == SM_SUBMIT_OK ? "sent" : sr == SM_SUBMIT_TIMEOUT ? "failed:timeout"
	                                                             : "failed:sendmail";
}

/* TRUE when @m carries @name with @value (addresses compared caselessly). */
gboolean sm_outbound_has_address(const SmMessage *m, const char *name, const char *value)
{
	guint pos = 0;
	const SmHeader *h;
	while ((h = sm_message_next(m, name, &pos))) {
		g_autofree char *v = sm_header_value(m, h);
		g_autofree char *a = sm_address_extract(v);
		if (g_ascii_strcasecmp(a ? a : v, value) == 0)
			return TRUE;
	}
	return FALSE;
}

/* TRUE when forwarding worked or was rightly skipped; FALSE when it failed. */
static gboolean run_forward(const SmConfig *c, const SmEnvelope *env, const SmMessage *m,
                            const char *rcpt, const SmDecision *d, const char *prefix,
                            gint64 deadline, SmJournal *j, SmOutboundOutcome *out)
{
	const SmRule *r = d->outbound;
	if (d->verdict.is_spam && !r->forward_spam) {
		out->forward_state = g_strdup("suppressed:spam");
		return TRUE;
	}
	if (rcpt && *rcpt && sm_outbound_has_address(m, SM_LOOP_HEADER, rcpt)) {
		out->forward_state = g_strdup("suppressed:loop");
		out->forward_detail = g_strdup_printf("%s: %s", SM_LOOP_HEADER, rcpt);
		return TRUE;
	}
	g_autoptr(GPtrArray) to = g_ptr_array_new();
	GString *looped = g_string_new(NULL);
	for (guint i = 0; i < r->forward->len; i++) {
		const char *a = r->forward->pdata[i];
		if (sm_outbound_has_address(m, "Delivered-To", a))
			g_string_append_printf(looped, "%sDelivered-To: %s", looped->len ? ", " : "", a);
		else
			g_ptr_array_add(to, (gpointer)a);
	}
	if (to->len == 0) {
		out->forward_state = g_strdup("suppressed:loop");
		out->forward_detail = g_string_free(looped, FALSE);
		return TRUE;
	}
	if (sm_journal_done(j, "forward")) {
		out->forward_state = g_strdup("already-sent");
		out->forward_detail = g_strdup("by an earlier attempt (duplicates journal)");
		g_string_free(looped, TRUE);
		return TRUE;
	}
	g_ptr_array_add(to, NULL);
	g_autofree char *marker = g_strdup_printf("%s: %s\n%s", SM_LOOP_HEADER,
	                                          loop_value(rcpt), prefix);
	gsize len;
	g_autofree char *msg = with_prefix(marker, m, &len);
	char *why = NULL;
	const char *sender = r->forward_sender ? r->forward_sender
	                     : env->sender ? env->sender : "";
	SmSubmitResult sr = submit(c, deadline, msg, len, sender,
	                           (const char *const *)to->pdata, &why);
	if (sr == SM_SUBMIT_OK)
		sm_journal_record(j, "forward");
	out->forward_state = g_strdup(submit_state(sr));
	if (looped->len) {
		out->forward_detail = why ? g_strdup_printf("%s; not to %s", why, looped->str)
		                          : g_strdup_printf("not to %s", looped->str);
		g_free(why);
	} else {
		out->forward_detail = why;
	}
	g_string_free(looped, TRUE);
	return sr == SM_SUBMIT_OK;
}

/* ---- rebroadcast ------------------------------------------------------------------ */

typedef enum { ADMIT_SEND, ADMIT_SKIP, ADMIT_FAILED, ADMIT_HOLD } Admission;

/* The members, then the moderators, into @allowed; FALSE with @why. */
static gboolean read_lists(const SmList *l, GPtrArray *allowed, guint *members, char **why)
{
	g_autoptr(GError) error = NULL;
	if (sm_list_read_addresses(l->members, allowed, &error)) {
		*members = allowed->len;
		if (!l->moderators || sm_list_read_addresses(l->moderators, allowed, &error))
			return TRUE;
	}
	*why = g_strdup(error->message);
	return FALSE;
}

/* Whether rule @d->outbound's list takes the post; with ADMIT_SEND, @to gets
 * the members (NULL-terminated). */
static Admission admit(const SmEnvelope *env, const SmMessage *m, const char *rcpt,
                       const SmDecision *d, GPtrArray *to, SmOutboundOutcome *out)
{
	const SmList *l = d->outbound->rebroadcast;
	if (rcpt && *rcpt && sm_outbound_has_address(m, SM_LOOP_HEADER, rcpt)) {
		out->rebroadcast_state = g_strdup("suppressed:loop");
		out->rebroadcast_detail = g_strdup_printf("%s: %s", SM_LOOP_HEADER, rcpt);
		return ADMIT_SKIP;
	}
	const char *state = sm_list_screen(l, env, m, &d->verdict, &out->rebroadcast_detail);
	if (state) {
		out->rebroadcast_state = g_strdup(state);
		return g_str_has_prefix(state, "held:") ? ADMIT_HOLD : ADMIT_SKIP;
	}
	guint members = 0;
	if (!read_lists(l, to, &members, &out->rebroadcast_detail)) {
		out->rebroadcast_state = g_strdup("failed:members");
		return ADMIT_FAILED;
	}
	g_autofree char *who = NULL;
	if (!sm_list_sender_allowed(to, env, m, &who)) {
		out->rebroadcast_state = g_strdup("held:sender");
		out->rebroadcast_detail = g_strdup_printf("%s: not a member or moderator", who);
		return ADMIT_HOLD;
	}
	g_ptr_array_set_size(to, members); /* moderators are not sent to */
	if (members == 0) {
		out->rebroadcast_state = g_strdup("failed:members");
		out->rebroadcast_detail = g_strdup_printf("%s: no members", l->members);
		return ADMIT_FAILED;
	}
	g_ptr_array_add(to, NULL);
	return ADMIT_SEND;
}

/* Files the post into the list's hold folder instead, with why in the note. */
static void hold(SmDecision *d, const SmOutboundOutcome *out)
{
	const SmList *l = d->outbound->rebroadcast;
	g_free(d->folder);
	d->folder = g_strdup(l->hold);
	char *note = g_strdup_printf("%s%sheld for list %s (%s: %s)", d->note ? d->note : "",
	                             d->note && *d->note ? "; " : "", l->name,
	                             out->rebroadcast_state, out->rebroadcast_detail
	                             ? out->rebroadcast_detail : "-");
	g_free(d->note);
	d->note = note;
}

/* TRUE when the rebroadcast went out (now or by an earlier attempt). */
static gboolean run_rebroadcast(const SmConfig *c, const SmMessage *m, const char *rcpt,
                                const SmDecision *d, const char *prefix, gint64 deadline,
                                GPtrArray *to, SmJournal *j, SmOutboundOutcome *out)
{
	const SmList *l = d->outbound->rebroadcast;
	g_autofree char *what = g_strconcat("rebroadcast ", l->name, NULL);
	if (sm_journal_done(j, what)) {
		out->rebroadcast_state = g_strdup("already-sent");
		out->rebroadcast_detail = g_strdup("by an earlier attempt (duplicates journal)");
		return TRUE;
	}
	gsize len;
	g_autofree char *copy = sm_list_build_copy(l, m, prefix, loop_value(rcpt), &len);
	char *why = NULL;
	SmSubmitResult sr = submit(c, deadline, copy, len, l->bounce,
	                           (const char *const *)to->pdata, &why);
	out->rebroadcast_state = g_strdup(submit_state(sr));
	if (sr == SM_SUBMIT_OK) {
		sm_journal_record(j, what);
		out->rebroadcast_detail = g_strdup_printf("list %s, %u member%s", l->name,
		                                          to->len - 1, to->len == 2 ? "" : "s");
	} else {
		out->rebroadcast_detail = why;
	}
	return sr == SM_SUBMIT_OK;
}

/* ---- all of them ------------------------------------------------------------------- */

static gboolean took(const char *state)
{
	return state && (strcmp(state, "ok") == 0 || strcmp(state, "sent") == 0 ||
	                 g_str_has_prefix(state, "already-"));
}

void sm_outbound(const SmConfig *c, const SmEnvelope *env, const SmMessage *m,
                 const char *rcpt, SmDecision *d, const char *prefix,
                 gint64 deadline, SmOutboundOutcome *out)
{
	*out = (SmOutboundOutcome){ .file = !d->discard };
	const SmRule *r = d->outbound;
	if (!r)
		return;
	g_autoptr(SmJournal) j = sm_journal_new(c, m, rcpt);
	g_autoptr(GPtrArray) to = g_ptr_array_new_with_free_func(g_free);
	Admission admission = r->rebroadcast ? admit(env, m, rcpt, d, to, out) : ADMIT_SKIP;
	gboolean failed = admission == ADMIT_FAILED;
	if (admission == ADMIT_HOLD) {
		/* Held for review: the rule's other actions wait for the review too. */
		hold(d, out);
		return;
	}
	if (r->pipe && !run_pipe(c, env, m, rcpt, d, prefix, deadline, j, out)) {
		failed = TRUE;
		if (r->pipe_defer) {
			out->defer = out->warn = TRUE;
			out->file = FALSE;
			return;
		}
	}
	if (r->forward && !run_forward(c, env, m, rcpt, d, prefix, deadline, j, out))
		failed = TRUE;
	if (admission == ADMIT_SEND &&
	    !run_rebroadcast(c, m, rcpt, d, prefix, deadline, to, j, out))
		failed = TRUE;
	out->warn = failed;
	/* Sending nothing on purpose (spam, a loop) is not "done": keep the message. */
	gboolean done = took(out->pipe_state) || took(out->forward_state)
	                || took(out->rebroadcast_state);
	out->file = !r->file_on_failure || failed || !done;
}

void sm_outbound_outcome_clear(SmOutboundOutcome *o)
{
	g_free(o->pipe_state);
	g_free(o->pipe_detail);
	g_free(o->forward_state);
	g_free(o->forward_detail);
	g_free(o->rebroadcast_state);
	g_free(o->rebroadcast_detail);
	*o = (SmOutboundOutcome){ 0 };
}
