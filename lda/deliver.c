/* deliver.c: the `deliver` subcommand, one delivery from start to end:
 * options -> envelope -> config -> spool -> header index -> original recipient
 * -> decision (scoring on demand) -> pipe and forward (outbound.h) -> backend
 * -> automatic reply -> log line -> exit status.
 * Every failure before the message is safely stored becomes exit 75; nothing
 * after it (the reply included) can change the exit status or file again. */
#include "config.h"
#include "lda.h"
#include "autoreply.h"
#include "backend.h"
#include "outbound.h"
#include "log.h"
#include "spool.h"
#include "status.h"
#include "watchdog.h"
#include "verdicts.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_DEADLINE 900

typedef struct {
	SmEnvelopeArgs env;
	const char *config_path;
	gboolean dry_run;
	gboolean verbose;
	gboolean help, version;
} DeliverOptions;

static gboolean parse_options(int argc, char **argv, DeliverOptions *o, GError **error)
{
	static const struct option longopts[] = {
		{ "sender", required_argument, NULL, 'f' },
		{ "recipient", required_argument, NULL, 'r' },
		{ "original-recipient", required_argument, NULL, 'a' },
		{ "config", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+f:r:a:c:nvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': o->env.sender = optarg; break;
		case 'r': o->env.recipient = optarg; break;
		case 'a': o->env.original_recipient = optarg; break;
		case 'c': o->config_path = optarg; break;
		case 'n': o->dry_run = TRUE; break;
		case 'v': o->verbose = TRUE; break;
		case 'h': o->help = TRUE; break;
		case 'V': o->version = TRUE; break;
		default:
			g_set_error(error, SM_LDA_ERROR, SM_LDA_ERROR_USAGE,
			            "usage error: unknown or incomplete option %s (see sortmail --help)",
			            argv[optind - 1]);
			return FALSE;
		}
	}
	if (optind < argc) {
		g_set_error(error, SM_LDA_ERROR, SM_LDA_ERROR_USAGE,
		            "usage error: unexpected argument '%s' (see sortmail --help)", argv[optind]);
		return FALSE;
	}
	return TRUE;
}

static void print_help(void)
{
	fputs("usage: sortmail [deliver] [-f SENDER] [-r RECIPIENT] [-a ORIGINAL_RECIPIENT]\n"
	      "                [-c CONFIG] [-n|--dry-run] [-v] < message\n"
	      "       sortmail --version | --help\n"
	      "Delivers one message from standard input into the user's Maildir or mbox,\n"
	      "sorted into inbox, ube, ubetrap or a folder chosen by rules.\n"
	      "Exit status: 0 delivered (or deliberately discarded), 75 try again later.\n"
	      "See sortmail(1) and sortmail.conf(5).\n", stdout);
}

/* ---- what gets written ----------------------------------------------------- */

/* SpamAssassin's headers, so existing MUA filters keep working. Empty when unscored. */
static char *spam_headers(const SmVerdict *v)
{
	if (v->source == SM_VERDICT_NONE)
		return g_strdup("");
	g_autofree char *status = sm_verdict_status_line(v);
	return g_strdup_printf("%sX-Spam-Status: %s\n", v->is_spam ? "X-Spam-Flag: YES\n" : "",
	                       status);
}

static const char *verdict_word(const SmVerdict *v)
{
	if (v->source == SM_VERDICT_NONE)
		return "unscored";
	return v->is_spam ? "spam" : "ham";
}

static char *describe_verdict(const SmVerdict *v)
{
	if (v->source == SM_VERDICT_NONE)
		return g_strdup("verdict=unscored score=- required=-");
	return g_strdup_printf("verdict=%s score=%.1f required=%.1f", verdict_word(v), v->score,
	                       v->threshold);
}

/* The start of every log line: what happened, to whom, the decision, the time,
 * and the decision's note or the failure's reason. */
static GString *log_line(const char *what, const char *msgid, const char *to, const char *from,
                         const SmDecision *d, gint64 started, const char *reason)
{
	g_autofree char *id_t = sm_log_token(msgid), *to_t = sm_log_token(to),
	                *from_t = sm_log_token(from);
	GString *s = g_string_new(what);
	g_string_append_printf(s, " id=%s to=%s from=%s", id_t, to_t, from_t);
	if (d) {
		g_autofree char *verdict = describe_verdict(&d->verdict);
		g_autofree char *folder = sm_log_token(d->discard ? "(discard)" : d->folder);
		g_string_append_printf(s, " %s via=%s", verdict,
		                       d->verdict.source == SM_VERDICT_NONE
		                           ? "none" : sm_verdict_source_name(d->verdict.source));
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

static void print_dry_run(const SmDecision *d, const char *to, const SmAutoreplyOutcome *reply)
{
	g_autofree char *verdict = describe_verdict(&d->verdict);
	g_autofree char *to_t = sm_log_token(to);
	GString *tests = g_string_new(NULL);
	for (guint i = 0; d->verdict.rules && i < d->verdict.rules->len; i++)
		g_string_append_printf(tests, "%s%s", i ? "," : "", (char *)d->verdict.rules->pdata[i]);
	printf("folder=%s to=%s %s via=%s tests=%s", d->discard ? "(discard)" : d->folder, to_t,
	       verdict,
	       d->verdict.source == SM_VERDICT_NONE ? "none"
	                                            : sm_verdict_source_name(d->verdict.source),
	       tests->len ? tests->str : "none");
	if (reply->state)
		printf(" reply=%s reply_template=%s", reply->state, d->reply->autorespond);
	if (d->outbound && d->outbound->pipe)
		printf(" pipe=would-run");
	if (d->outbound && d->outbound->forward)
		printf(" forward=%s", d->verdict.is_spam && !d->outbound->forward_spam
		                      ? "suppressed:spam" : "would-send");
	putchar('\n');
	g_string_free(tests, TRUE);
	fflush(stdout);
}

/* ---- the delivery -------------------------------------------------------- */

typedef struct {
	DeliverOptions opts;
	SmEnvelope env;
	SmConfig *config;
	SmSpool spool;
	SmMessage msg;
	SmRecipient rcpt;
	SmDecision decision;
	char *msgid;
	char key[SM_CACHE_KEY_LEN + 1];
	SmScoring *scoring;
	gint64 started;
	SmLogTargets log;
	gboolean duplicate;
	SmAutoreplyOutcome reply;
	SmOutboundOutcome outbound;
} Delivery;

/* Files the message with @prefix (the X-Spam headers) in front. */
static gboolean store_message(Delivery *dl, const char *prefix, GError **error)
{
	const SmConfig *c = dl->config;
	g_autofree char *inbox = c->mbox_inbox ? g_strdup(c->mbox_inbox) : NULL;
	SmMailbox box = { .root = c->mailbox_root, .mbox_inbox = inbox, .owner = geteuid() };
	SmDelivery d = {
		.prefix = prefix, .prefix_len = strlen(prefix),
		.data = dl->spool.msg, .len = dl->spool.msg_len,
		.sender = dl->env.sender ? dl->env.sender : "",
		.arrival = time(NULL),
	};
	const SmBackend *backend = c->format == SM_FORMAT_MBOX ? &sm_backend_mbox
	                                                       : &sm_backend_maildir;
	return backend->store(&box, dl->decision.folder, &d, NULL, error);
}

static gboolean run(Delivery *dl, int argc, char **argv, GError **error)
{
	if (!parse_options(argc, argv, &dl->opts, error))
		return FALSE;
	if (dl->opts.help || dl->opts.version)
		return TRUE;
	sm_envelope_fill(&dl->env, &dl->opts.env);
	if (!dl->env.home || !*dl->env.home) {
		g_set_error(error, SM_LDA_ERROR, SM_LDA_ERROR_SETUP, "no home directory (HOME unset)");
		return FALSE;
	}
	dl->config = sm_lda_config_load(dl->opts.config_path, &dl->env, error);
	if (!dl->config)
		return FALSE;
	sm_watchdog_start(dl->config->deadline);
	dl->log = (SmLogTargets){ .syslog = dl->config->syslog && !dl->opts.dry_run,
	                          .file = dl->opts.dry_run ? NULL : dl->config->log_file,
	                          .verbose = dl->opts.verbose };

	if (!sm_spool_read(&dl->spool, STDIN_FILENO, error))
		return FALSE;
	if (!dl->env.sender)
		dl->env.sender = g_strdup(dl->spool.from_sender ? dl->spool.from_sender : "");
	sm_message_index(&dl->msg, dl->spool.msg, dl->spool.msg_len);
	dl->msgid = sm_message_get(&dl->msg, "Message-ID");
	sm_recipient_recover(dl->config, &dl->env, &dl->msg, &dl->rcpt);

	/* The key hashes the whole body: only worth it when a cache will use it.
	 * Mail too big to score has no verdict to share and skips the journal. */
	gboolean use_cache = !dl->opts.dry_run && dl->config->cache_path
	                     && dl->msg.len <= dl->config->max_score_size;
	if (use_cache)
		sm_cache_key(&dl->msg, dl->key);
	dl->scoring = sm_scoring_new(dl->config, &dl->env, &dl->msg, use_cache ? dl->key : NULL,
	                             use_cache);
	if (!dl->opts.dry_run && dl->config->duplicates
	    && sm_scoring_already_filed(dl->scoring, dl->rcpt.address)) {
		/* Filed before for this recipient (an MTA retry after a crash between
		 * filing and exit, or a duplicate sent twice): once is enough. */
		sm_watchdog_disarm();
		dl->duplicate = TRUE;
		return TRUE;
	}
	sm_decide(dl->config, &dl->env, &dl->msg, dl->rcpt.address, sm_scoring_score, dl->scoring,
	          &dl->decision);

	if (dl->opts.dry_run) {
		sm_autoreply(dl->config, &dl->env, &dl->msg, dl->rcpt.address, &dl->decision, 0,
		             TRUE, &dl->reply);
		print_dry_run(&dl->decision, dl->rcpt.address, &dl->reply);
		return TRUE;
	}
	/* Pipe, forward and reply keep within the delivery's own deadline. */
	gint64 deadline_at = dl->started + (gint64)dl->config->deadline * G_USEC_PER_SEC;
	/* Before filing: whether and where to file depends on how they went. */
	g_autofree char *prefix = spam_headers(&dl->decision.verdict);
	sm_outbound(dl->config, &dl->env, &dl->msg, dl->rcpt.address, &dl->decision, prefix,
	            deadline_at, &dl->outbound);
	if (dl->outbound.defer) {
		/* Neither filed nor marked in the journal: the retry starts afresh. */
		g_set_error(error, SM_LDA_ERROR, SM_LDA_ERROR_DEFER, "pipe %s (pipe-defer): %s",
		            dl->outbound.pipe_state,
		            dl->outbound.pipe_detail ? dl->outbound.pipe_detail : "-");
		return FALSE;
	}
	if (dl->outbound.file && !store_message(dl, prefix, error))
		return FALSE;
	sm_watchdog_disarm();
	if (dl->config->duplicates)
		sm_scoring_mark_filed(dl->scoring, dl->rcpt.address);
	/* Only now, with the message safe: whatever the reply does, it is logged
	 * and the exit status stays 0. It keeps within the deadline itself (the
	 * watchdog is disarmed), counted from the start, as the watchdog's is. */
	sm_autoreply(dl->config, &dl->env, &dl->msg, dl->rcpt.address, &dl->decision, deadline_at,
	             FALSE, &dl->reply);
	return TRUE;
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

/* The one line of a delivery that ended well (delivered, discarded, duplicate). */
static void log_outcome(Delivery *dl)
{
	const char *cache_warning = dl->scoring ? sm_scoring_warning(dl->scoring) : NULL;
	const char *what = dl->duplicate ? "duplicate"
	                 : dl->decision.discard ? "discarded" : "delivered";
	GString *line = log_line(what, dl->msgid, dl->rcpt.address, dl->env.sender,
	                         dl->duplicate ? NULL : &dl->decision, dl->started, NULL);
	if (dl->duplicate)
		g_string_append_printf(line, " key=%.16s", dl->key);
	sm_log_append_quoted(line, "cache_warning", cache_warning);
	if (dl->reply.state) {
		g_autofree char *state = sm_log_token(dl->reply.state);
		g_autofree char *tmpl = sm_log_token(dl->decision.reply->autorespond);
		g_string_append_printf(line, " reply=%s reply_template=%s", state, tmpl);
		sm_log_append_quoted(line, "reply_note", dl->reply.detail);
	}
	/* "filed=no" when the rule's pipe or forward took the message. */
	append_field(line, "pipe", dl->outbound.pipe_state, dl->outbound.pipe_detail);
	append_field(line, "forward", dl->outbound.forward_state, dl->outbound.forward_detail);
	if ((dl->outbound.pipe_state || dl->outbound.forward_state) && !dl->outbound.file)
		g_string_append(line, " filed=no");
	sm_log_line(&dl->log, dl->decision.degraded || cache_warning || dl->reply.warn
	            || dl->outbound.warn ? SM_LOG_WARNING : SM_LOG_INFO, line->str);
	g_string_free(line, TRUE);
}

int sm_cmd_deliver(int argc, char **argv)
{
	Delivery dl = { .started = g_get_monotonic_time() };
	g_autoptr(GError) error = NULL;

	/* Until the config says otherwise, the default deadline already applies. */
	sm_watchdog_start(DEFAULT_DEADLINE);
	gboolean ok = run(&dl, argc, argv, &error);
	if (ok && dl.opts.help)
		print_help();
	else if (ok && dl.opts.version)
		sm_print_version();
	if (!ok) {
		sm_watchdog_release();
		GString *line = log_line("deferred", dl.msgid, dl.rcpt.address, dl.env.sender, NULL,
		                         dl.started, error->message);
		SmLogTargets fallback = { .syslog = TRUE, .verbose = FALSE };
		sm_log_line(dl.config ? &dl.log : &fallback, SM_LOG_WARNING, line->str);
		g_string_free(line, TRUE);
		sm_status_print(error->message);
	}
	if (ok && !dl.opts.help && !dl.opts.version && !dl.opts.dry_run)
		log_outcome(&dl);
	int status = sm_status_exit_code(error);

	sm_autoreply_outcome_clear(&dl.reply);
	sm_outbound_outcome_clear(&dl.outbound);
	sm_scoring_free(dl.scoring);
	sm_decision_clear(&dl.decision);
	sm_recipient_clear(&dl.rcpt);
	sm_message_clear(&dl.msg);
	sm_spool_clear(&dl.spool);
	g_free(dl.msgid);
	if (dl.config)
		sm_config_free(dl.config);
	sm_envelope_clear(&dl.env);
	return status;
}
