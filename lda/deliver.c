/* deliver.c: the `deliver` subcommand, one delivery from start to end:
 * options -> envelope -> config -> spool -> the message's pipeline (header
 * index -> original recipient -> decision -> pipe and forward -> backend ->
 * automatic reply: pipeline.h) -> log line -> exit status.
 * Every failure before the message is safely stored becomes exit 75; nothing
 * after it (the reply included) can change the exit status or file again. */
#include "config.h"
#include "lda.h"
#include "log.h"
#include "pipeline.h"
#include "spool.h"
#include "status.h"
#include "watchdog.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
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
	      "       sortmail replay [options] PATH...   (saved mbox, Maildir or files)\n"
	      "       sortmail explain [-c CONFIG] < message\n"
	      "       sortmail check [-c CONFIG] [--rules]\n"
	      "       sortmail cache stats|prune|dump|show|forget ...\n"
	      "       sortmail --version | --help\n"
	      "Delivers one message from standard input into the user's Maildir or mbox,\n"
	      "sorted into inbox, ube, ubetrap or a folder chosen by rules.\n"
	      "Exit status: 0 delivered (or deliberately discarded), 75 try again later.\n"
	      "See sortmail(1) and sortmail.conf(5).\n", stdout);
}

/* ---- the delivery -------------------------------------------------------- */

static void print_dry_run(const SmDecision *d, const char *to, const SmAutoreplyOutcome *reply)
{
	g_autofree char *to_t = sm_log_token(to);
	GString *tests = g_string_new(NULL);
	for (guint i = 0; d->verdict.rules && i < d->verdict.rules->len; i++)
		g_string_append_printf(tests, "%s%s", i ? "," : "", (char *)d->verdict.rules->pdata[i]);
	printf("folder=%s to=%s ", d->discard ? "(discard)" : d->folder, to_t);
	if (d->verdict.source == SM_VERDICT_NONE)
		printf("verdict=unscored score=- required=-");
	else
		printf("verdict=%s score=%.1f required=%.1f", sm_pipeline_verdict_word(&d->verdict),
		       d->verdict.score, d->verdict.threshold);
	printf(" via=%s tests=%s", sm_pipeline_via(&d->verdict), tests->len ? tests->str : "none");
	if (reply->state)
		printf(" reply=%s reply_template=%s", reply->state, d->reply->autorespond);
	if (d->outbound && d->outbound->pipe)
		printf(" pipe=would-run");
	if (d->outbound && d->outbound->forward)
		printf(" forward=%s", d->verdict.is_spam && !d->outbound->forward_spam
		                      ? "suppressed:spam" : "would-send");
	if (d->outbound && d->outbound->rebroadcast)
		printf(" rebroadcast=would-check list=%s", d->outbound->rebroadcast->name);
	putchar('\n');
	g_string_free(tests, TRUE);
	fflush(stdout);
}

typedef struct {
	DeliverOptions opts;
	SmEnvelope env;
	SmConfig *config;
	SmSpool spool;
	SmOutcome out;
	gint64 started;
	SmLogTargets log;
} Delivery;

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
	SmPipelineFlags flags = {
		.dry_run = dl->opts.dry_run,
		.allow_outbound = TRUE, .allow_autorespond = TRUE,
		.check_duplicates = TRUE, .disarm_watchdog = TRUE,
	};
	if (!sm_pipeline_run(dl->config, &dl->env, NULL, dl->spool.msg, dl->spool.msg_len, &flags,
	                     dl->started, &dl->out, error))
		return FALSE;
	if (dl->opts.dry_run)
		print_dry_run(&dl->out.decision, dl->out.rcpt.address, &dl->out.reply);
	return TRUE;
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
		GString *line = sm_pipeline_log_line("deferred", dl.out.msgid, dl.out.rcpt.address,
		                                     dl.env.sender, NULL, dl.started, error->message);
		SmLogTargets fallback = { .syslog = TRUE, .verbose = FALSE };
		sm_log_line(dl.config ? &dl.log : &fallback, SM_LOG_WARNING, line->str);
		g_string_free(line, TRUE);
		sm_status_print(error->message);
	}
	if (ok && !dl.opts.help && !dl.opts.version && !dl.opts.dry_run)
		sm_pipeline_log(&dl.out, &dl.env, &dl.log, dl.started, NULL);
	int status = sm_status_exit_code(error);

	sm_outcome_clear(&dl.out);
	sm_spool_clear(&dl.spool);
	if (dl.config)
		sm_config_free(dl.config);
	sm_envelope_clear(&dl.env);
	return status;
}
