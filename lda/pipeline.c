/* pipeline.c: one message from its bytes to its log line (see pipeline.h).
 * The order of the steps, and what a failure at each one means, is the
 * delivery's (DESIGN.md, "One delivery, start to end"). */
#include "config.h"
#include "pipeline.h"
#include "backend.h"
#include "status.h"
#include "watchdog.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

/* SpamAssassin's headers, so existing MUA filters keep working. Empty when unscored. */
static char *spam_headers(const SmVerdict *v)
{
	if (v->source == SM_VERDICT_NONE)
		return g_strdup("");
	g_autofree char *status = sm_verdict_status_line(v);
	return g_strdup_printf("%sX-Spam-Status: %s\n", v->is_spam ? "X-Spam-Flag: YES\n" : "",
	                       status);
}

const char *sm_pipeline_verdict_word(const SmVerdict *v)
{
	if (v->source == SM_VERDICT_NONE)
		return "unscored";
	return v->is_spam ? "spam" : "ham";
}

const char *sm_pipeline_via(const SmVerdict *v)
{
	return v->source == SM_VERDICT_NONE ? "none" : sm_verdict_source_name(v->source);
}

/* Files the message with @prefix (the X-Spam headers) in front. */
static gboolean store_message(const SmConfig *c, const SmEnvelope *env,
                              const SmPipelineFlags *f, SmOutcome *o, const char *prefix,
                              GError **error)
{
	g_autofree char *ended = NULL;
	const char *end = sm_message_fields_end(&o->msg, prefix);
	if (*end)
		prefix = ended = g_strconcat(prefix, end, NULL);
	g_autofree char *inbox = c->mbox_inbox ? g_strdup(c->mbox_inbox) : NULL;
	SmMailbox box = { .root = c->mailbox_root, .mbox_inbox = inbox, .owner = geteuid() };
	SmDelivery d = {
		.prefix = prefix, .prefix_len = strlen(prefix),
		.data = o->msg.data, .len = o->msg.len,
		.sender = env->sender ? env->sender : "",
		.arrival = time(NULL),
	};
	if (f->stage && c->format != SM_FORMAT_MBOX)
		return sm_maildir_stage(&box, o->decision.folder, &d, &o->staged, error);
	const SmBackend *backend = c->format == SM_FORMAT_MBOX ? &sm_backend_mbox
	                                                       : &sm_backend_maildir;
	return backend->store(&box, o->decision.folder, &d, NULL, error);
}

/* Once the message is safe (or deliberately not filed): for a delivery,
 * exit 0 is now certain; for a replay, the backend's held signals return. */
static void past_commit(const SmPipelineFlags *f)
{
	if (f->disarm_watchdog)
		sm_watchdog_disarm();
	else
		sm_watchdog_release();
}

/* Outbound actions switched off: say so, and keep the message. */
static void outbound_off(const SmDecision *d, SmOutboundOutcome *out)
{
	*out = (SmOutboundOutcome){ .file = !d->discard };
	if (d->outbound && d->outbound->pipe)
		out->pipe_state = g_strdup("off");
	if (d->outbound && d->outbound->forward)
		out->forward_state = g_strdup("off");
	if (d->outbound && d->outbound->rebroadcast)
		out->rebroadcast_state = g_strdup("off");
}

static void reply_step(const SmConfig *c, const SmEnvelope *env, const SmPipelineFlags *f,
                       gint64 deadline_at, SmOutcome *o)
{
	if (o->decision.reply && !f->allow_autorespond) {
		o->reply = (SmAutoreplyOutcome){ .state = g_strdup("off") };
		return;
	}
	sm_autoreply(c, env, &o->msg, o->rcpt.address, &o->decision, f->dry_run ? 0 : deadline_at,
	             f->dry_run, &o->reply);
}

static gboolean file_and_reply(const SmConfig *c, const SmEnvelope *env, SmScoring *scoring,
                               const SmPipelineFlags *f, gint64 started, SmOutcome *o,
                               GError **error)
{
	/* Pipe, forward and reply keep within the delivery's own deadline. */
	gint64 deadline_at = started + (gint64)c->deadline * G_USEC_PER_SEC;
	/* Before filing: whether and where to file depends on how they went. */
	g_autofree char *prefix = spam_headers(&o->decision.verdict);
	if (f->allow_outbound)
		sm_outbound(c, env, &o->msg, o->rcpt.address, &o->decision, prefix, deadline_at,
		            &o->outbound);
	else
		outbound_off(&o->decision, &o->outbound);
	if (o->outbound.defer) {
		/* Neither filed nor marked in the journal: the retry starts afresh. */
		g_set_error(error, SM_LDA_ERROR, SM_LDA_ERROR_DEFER, "pipe %s (pipe-defer): %s",
		            o->outbound.pipe_state,
		            o->outbound.pipe_detail ? o->outbound.pipe_detail : "-");
		return FALSE;
	}
	if (o->outbound.file && !store_message(c, env, f, o, prefix, error))
		return FALSE;
	o->stored = o->outbound.file;
	past_commit(f);
	/* Not when a pipe, forward or rebroadcast took the message instead of a
	 * filing: what they did is in the journal already (outbound.c), and a
	 * forward that comes back (a loop) must then be filed, not taken for a
	 * duplicate of a message that was never filed anywhere. */
	gboolean taken = o->decision.outbound && !o->outbound.file;
	/* A staged message is marked by the caller, once it is durable. */
	if (c->duplicates && !taken && !o->staged)
		sm_scoring_mark_filed(scoring, o->rcpt.address);
	/* Only now, with the message safe: whatever the reply does, it is logged
	 * and the exit status stays 0. It keeps within the deadline itself (the
	 * watchdog is disarmed), counted from the start, as the watchdog's is. */
	reply_step(c, env, f, deadline_at, o);
	return TRUE;
}

static gboolean run(const SmConfig *c, const SmEnvelope *env, SmScoring *scoring,
                    const SmPipelineFlags *f, gint64 started, SmOutcome *o, GError **error)
{
	if (!f->dry_run && c->duplicates && f->check_duplicates && f->before_check && *o->key)
		f->before_check(f->before_check_data, o->key, o->rcpt.address);
	if (!f->dry_run && c->duplicates && f->check_duplicates
	    && sm_scoring_already_filed(scoring, o->rcpt.address)) {
		/* Filed before for this recipient (an MTA retry after a crash between
		 * filing and exit, or a duplicate sent twice): once is enough. */
		past_commit(f);
		o->duplicate = TRUE;
		return TRUE;
	}
	sm_decide(c, env, &o->msg, o->rcpt.address, sm_scoring_score, scoring, &o->decision);
	o->decided = TRUE;
	if (f->dry_run) {
		if (f->allow_outbound)
			o->outbound = (SmOutboundOutcome){ .file = !o->decision.discard };
		else
			outbound_off(&o->decision, &o->outbound);
		reply_step(c, env, f, 0, o);
		return TRUE;
	}
	return file_and_reply(c, env, scoring, f, started, o, error);
}

gboolean sm_pipeline_run(const SmConfig *c, const SmEnvelope *env, SmScoring *shared,
                         const char *data, gsize len, const SmPipelineFlags *f,
                         gint64 started, SmOutcome *out, GError **error)
{
	sm_message_index(&out->msg, data, len);
	out->msgid = sm_message_get(&out->msg, "Message-ID");
	sm_recipient_recover(c, env, &out->msg, &out->rcpt);

	/* The key hashes the whole body: only worth it when a cache will use it.
	 * Mail too big to score has no verdict to share and skips the journal. */
	gboolean use_cache = (!f->dry_run || f->cache_peek) && c->cache_path
	                     && out->msg.len <= c->max_score_size;
	if (use_cache)
		sm_cache_key(&out->msg, out->key);
	SmScoring *scoring = shared;
	if (scoring)
		sm_scoring_retarget(scoring, c, &out->msg, use_cache ? out->key : NULL, use_cache,
		                    f->dry_run);
	else
		scoring = out->own_scoring = sm_scoring_new(c, env, &out->msg,
		                                            use_cache ? out->key : NULL, use_cache);
	gboolean ok = run(c, env, scoring, f, started, out, error);
	const char *warning = sm_scoring_warning(scoring);
	out->cache_warning = g_strdup(warning);
	return ok;
}

void sm_outcome_clear(SmOutcome *o)
{
	sm_autoreply_outcome_clear(&o->reply);
	sm_outbound_outcome_clear(&o->outbound);
	sm_scoring_free(o->own_scoring);
	sm_staged_free(o->staged);
	sm_decision_clear(&o->decision);
	sm_recipient_clear(&o->rcpt);
	sm_message_clear(&o->msg);
	g_free(o->msgid);
	g_free(o->cache_warning);
	*o = (SmOutcome){ 0 };
}

/* ---- the log line ------------------------------------------------------- */

static char *describe_verdict(const SmVerdict *v)
{
	if (v->source == SM_VERDICT_NONE)
		return g_strdup("verdict=unscored score=- required=-");
	return g_strdup_printf("verdict=%s score=%.1f required=%.1f", sm_pipeline_verdict_word(v),
	                       v->score, v->threshold);
}

GString *sm_pipeline_log_line(const char *what, const char *msgid, const char *to,
                              const char *from, const SmDecision *d, gint64 started,
                              const char *reason)
{
	g_autofree char *id_t = sm_log_token(msgid), *to_t = sm_log_token(to),
	                *from_t = sm_log_token(from);
	GString *s = g_string_new(what);
	g_string_append_printf(s, " id=%s to=%s from=%s", id_t, to_t, from_t);
	if (d) {
		g_autofree char *verdict = describe_verdict(&d->verdict);
		g_autofree char *folder = sm_log_token(d->discard ? "(discard)" : d->folder);
		g_string_append_printf(s, " %s via=%s", verdict, sm_pipeline_via(&d->verdict));
		if (d->verdict.source == SM_VERDICT_WAITED)
			g_string_append_printf(s, " waited=%.0fms", d->verdict.waited_ms);
		g_string_append_printf(s, " folder=%s", folder);
		if (d->rule)
			g_string_append_printf(s, " rule=%s:%u", d->rule->file ? d->rule->file : "-",
			                       d->rule->line);
	}
	g_string_append_printf(s, " ms=%.2f", (g_get_monotonic_time() - started) / 1000.0);
	sm_log_append_quoted(s, "note", d ? d->note : NULL);
	sm_log_append_quoted(s, "reason", reason);
	return s;
}

static void append_field(GString *s, const char *key, const char *state, const char *detail)
{
	if (!state)
		return;
	g_autofree char *st = sm_log_token(state);
	g_autofree char *note_key = g_strconcat(key, "_note", NULL);
	g_string_append_printf(s, " %s=%s", key, st);
	sm_log_append_quoted(s, note_key, detail);
}

void sm_pipeline_log(const SmOutcome *o, const SmEnvelope *env, const SmLogTargets *log,
                     gint64 started, const char *replay_at)
{
	const char *what = o->duplicate ? "duplicate"
	                 : o->decision.discard ? "discarded" : "delivered";
	GString *line = sm_pipeline_log_line(what, o->msgid, o->rcpt.address, env->sender,
	                                     o->duplicate ? NULL : &o->decision, started, NULL);
	if (o->duplicate)
		g_string_append_printf(line, " key=%.16s", o->key);
	sm_log_append_quoted(line, "cache_warning", o->cache_warning);
	if (o->reply.state) {
		g_autofree char *state = sm_log_token(o->reply.state);
		g_autofree char *tmpl = sm_log_token(o->decision.reply->autorespond);
		g_string_append_printf(line, " reply=%s reply_template=%s", state, tmpl);
		sm_log_append_quoted(line, "reply_note", o->reply.detail);
	}
	/* "filed=no" when the rule's pipe, forward or rebroadcast took the message. */
	append_field(line, "pipe", o->outbound.pipe_state, o->outbound.pipe_detail);
	append_field(line, "forward", o->outbound.forward_state, o->outbound.forward_detail);
	append_field(line, "rebroadcast", o->outbound.rebroadcast_state,
	             o->outbound.rebroadcast_detail);
	if ((o->outbound.pipe_state || o->outbound.forward_state
	     || o->outbound.rebroadcast_state) && !o->outbound.file)
		g_string_append(line, " filed=no");
	if (replay_at) {
		g_autofree char *at = sm_log_token(replay_at);
		g_string_append_printf(line, " replay=%s", at);
	}
	sm_log_line(log, o->decision.degraded || o->cache_warning || o->reply.warn
	            || o->outbound.warn ? SM_LOG_WARNING : SM_LOG_INFO, line->str);
	g_string_free(line, TRUE);
}
