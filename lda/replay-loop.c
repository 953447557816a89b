/* replay-loop.c: the loop of `sortmail replay` over its messages (see
 * replay.h): each message's envelope from its own headers, the pipeline,
 * its log line, its report line, the progress bar. */
#include "config.h"
#include "replay.h"
#include "fsutil.h"
#include "status.h"

#include <string.h>
#include <unistd.h>

/* Redraw the progress bar at most this often. */
#define PROGRESS_EVERY_US (G_USEC_PER_SEC / 5)

/* The address in header @name of @m: "" for "<>", NULL when there is none. */
static char *header_address(const SmMessage *m, const char *name)
{
	g_autofree char *v = sm_message_get(m, name);
	if (!v)
		return NULL;
	if (strstr(v, "<>"))
		return g_strdup("");
	return sm_address_extract(v);
}

/* The message's envelope: -f/-r/-a when given, else Return-Path (then the
 * From_ line) for the sender and the first Delivered-To for the recipient. */
static void message_envelope(const Replay *rp, const SmReplayItem *item, SmEnvelope *e)
{
	const SmEnvelope *b = &rp->base;
	SmMessage m;
	sm_message_index(&m, item->data ? item->data : "", item->len);
	*e = (SmEnvelope){
		.user = g_strdup(b->user), .home = g_strdup(b->home),
		.extension = g_strdup(b->extension),
		.original_recipient = g_strdup(b->original_recipient),
		.original_from_option = b->original_from_option,
	};
	e->sender = b->sender ? g_strdup(b->sender) : header_address(&m, "Return-Path");
	if (!e->sender)
		e->sender = g_strdup(item->from_sender ? item->from_sender : "");
	if (rp->env_args.recipient)
		e->recipient = g_strdup(b->recipient);
	else
		e->recipient = header_address(&m, "Delivered-To");
	if (!e->recipient || !*e->recipient) {
		g_free(e->recipient);
		e->recipient = g_strdup(b->recipient);
	}
	sm_message_clear(&m);
}

static void say(const char *text, gsize len, gboolean progress)
{
	if (progress)
		sm_replay_progress_clear();
	(void)sm_write_all(STDERR_FILENO, text, len);
}

/* One line on stderr for a message or an input that failed. */
static void report_failure(const Replay *rp, const SmReplayItem *item, guint64 n,
                           const char *why)
{
	g_autofree char *pos = sm_replay_position(item);
	g_autofree char *one = sm_status_one_line(why);
	g_autofree char *line = n
		? g_strdup_printf("sortmail replay: message %" G_GUINT64_FORMAT " (%s) failed: %s\n",
		                  n, pos, one)
		: g_strdup_printf("sortmail replay: %s\n", one);
	say(line, strlen(line), rp->progress);
}

static void report_truncated(const Replay *rp, const SmReplayItem *item, guint64 n)
{
	g_autofree char *pos = sm_replay_position(item);
	g_autofree char *line = g_strdup_printf(
		"sortmail replay: message %" G_GUINT64_FORMAT " (%s): the mbox ends inside it "
		"(no empty line after it): probably truncated; replayed as it is\n", n, pos);
	say(line, strlen(line), rp->progress);
}

static void log_failure(const Replay *rp, const SmEnvelope *env, const SmOutcome *o,
                        gint64 started, const char *pos, const char *why)
{
	if (rp->dry_run)
		return;
	GString *line = sm_pipeline_log_line("failed", o->msgid, o->rcpt.address, env->sender,
	                                     NULL, started, why);
	g_autofree char *at = sm_log_token(pos);
	g_string_append_printf(line, " replay=%s", at);
	sm_log_line(&rp->log, SM_LOG_WARNING, line->str);
	g_string_free(line, TRUE);
}

static void replay_one(const Replay *rp, SmScoring *scoring, SmReplayInput *in,
                       SmReplayItem *item, guint64 n, ReplayRun *run)
{
	SmEnvelope env;
	SmOutcome out = { 0 };
	g_autoptr(GError) error = NULL;
	g_autofree char *pos = sm_replay_position(item);
	gint64 started = g_get_monotonic_time();
	gboolean ok;

	gboolean loaded = sm_replay_input_load(in, item, &error);
	message_envelope(rp, item, &env);
	if (item->truncated)
		report_truncated(rp, item, n);
	if (!loaded) {
		ok = FALSE;
	} else if (item->len == 0) {
		g_set_error(&error, SM_LDA_ERROR, SM_LDA_ERROR_INPUT, "empty message");
		ok = FALSE;
	} else {
		ok = sm_pipeline_run(rp->config, &env, scoring, item->data, item->len, &rp->flags,
		                     started, &out, &error);
	}
	if (ok && !rp->dry_run)
		sm_pipeline_log(&out, &env, &rp->log, started, pos);
	if (!ok) {
		log_failure(rp, &env, &out, started, pos, error->message);
		report_failure(rp, item, n, error->message);
	}
	SmReplayResult r = { .n = n, .item = item, .env = &env, .out = item->len ? &out : NULL,
	                     .ok = ok, .error = error, .dry_run = rp->dry_run };
	sm_replay_tally_result(&run->tally, &r);
	if (rp->json || rp->dry_run || rp->verbose) {
		GString *s = g_string_new(NULL);
		if (rp->json)
			sm_replay_json(s, &r);
		else
			sm_replay_text(s, &r);
		if (rp->progress && rp->stdout_tty)
			sm_replay_progress_clear();
		(void)sm_write_all(STDOUT_FILENO, s->str, s->len);
		g_string_free(s, TRUE);
	}
	sm_outcome_clear(&out);
	sm_envelope_clear(&env);
}

void sm_replay_loop(const Replay *rp, SmReplayInput *in, guint k, guint jobs, int progress_fd,
                    ReplayRun *run)
{
	SmScoring *scoring = sm_scoring_new(rp->config, &rp->base, NULL, NULL, FALSE);
	guint64 n = 0, done = 0;
	/* The rate counts from here: not the start-up, not the counting pass. */
	gint64 since = g_get_monotonic_time(), drawn = since;
	for (;;) {
		SmReplayItem item;
		g_autoptr(GError) error = NULL;
		SmReplayNext next = sm_replay_input_next(in, &item, &error);
		if (next == SM_REPLAY_END)
			break;
		if (next == SM_REPLAY_ERROR) {
			/* Every worker meets it; one reports it. */
			if (k == 0) {
				report_failure(rp, &item, 0, error->message);
				sm_replay_tally_add(&run->tally, "input-errors", 1);
			}
			continue;
		}
		if (++n <= rp->skip || (n - rp->skip - 1) % jobs != k)
			continue;
		if (sm_replay_stop) {
			run->interrupted = TRUE;
			run->resume_at = n - rp->skip - 1;
			break;
		}
		replay_one(rp, scoring, in, &item, n, run);
		done++;
		if (progress_fd >= 0) {
			(void)sm_write_all(progress_fd, ".", 1);
		} else if (rp->progress && g_get_monotonic_time() - drawn > PROGRESS_EVERY_US) {
			drawn = g_get_monotonic_time();
			sm_replay_progress(done, rp->total, (drawn - since) / 1e6);
		}
	}
	sm_scoring_free(scoring);
}
