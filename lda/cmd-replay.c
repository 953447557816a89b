/* cmd-replay.c: the `replay` subcommand: saved mail (mbox files, Maildirs,
 * single messages, stdin) through the delivery pipeline, one message after
 * the other, with the envelope taken from each message's own headers.
 *
 *   sortmail replay [options] PATH...
 *
 * Safe by default: nothing that leaves the mailbox (replies, pipes,
 * forwards) happens without --autorespond / --outbound; the inputs are only
 * read; a message that fails is reported and the run goes on; SIGINT stops
 * after the current message and says how to resume. The duplicates journal
 * is used as a delivery uses it, so replaying twice does not file twice.
 * Exit status: status.h (SM_EXIT_REPLAY_*), documented in sortmail(1). */
#include "config.h"
#include "replay.h"
#include "status.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

volatile sig_atomic_t sm_replay_stop;

enum { OPT_JSON = 256, OPT_AUTORESPOND, OPT_OUTBOUND, OPT_SKIP, OPT_MBOX_FORMAT,
       OPT_NO_DUPLICATES, OPT_SYNC };

static void usage(FILE *to)
{
	fputs("usage: sortmail replay [options] PATH...\n"
	      "Runs saved mail through the delivery pipeline. PATH: an mbox file, a Maildir,\n"
	      "a message file, or - (an mbox on standard input).\n"
	      "  -n, --dry-run            decide and print, write nothing\n"
	      "      --json               one JSON object per message on standard output\n"
	      "      --autorespond        send the automatic replies rules ask for (default: off)\n"
	      "      --outbound           run pipe and forward actions (default: off)\n"
	      "      --skip N             skip the first N messages (to resume)\n"
	      "      --mbox-format=F      mboxrd (default) or mboxo: how From_ lines were quoted\n"
	      "      --no-duplicates-check  file messages the duplicates journal has seen\n"
	      "  -j, --jobs N             N processes (copies of one message go to one)\n"
	      "      --sync=MODE          batch (default): make Maildir messages durable many\n"
	      "                           at a time; each: one by one, as a delivery does\n"
	      "  -f, --sender ADDR        envelope sender (default: Return-Path, From_ line)\n"
	      "  -r, --recipient ADDR     envelope recipient (default: first Delivered-To)\n"
	      "  -a, --original-recipient ADDR\n"
	      "  -c, --config FILE        the configuration (default ~/.sortmail/config)\n"
	      "  -v, --verbose            one line per message also when not a dry run\n"
	      "  -q, --quiet              no progress bar, no summary\n"
	      "Exit status: 0 all replayed, 1 some message or input failed, 2 usage or\n"
	      "configuration error, 130 interrupted (resume with --skip). See sortmail(1).\n", to);
}

static gboolean parse_number(const char *s, guint64 max, guint64 *out)
{
	char *end = NULL;
	if (!s || !g_ascii_isdigit(*s))
		return FALSE;
	guint64 v = g_ascii_strtoull(s, &end, 10);
	if (*end || v > max)
		return FALSE;
	*out = v;
	return TRUE;
}

static gboolean parse_options(int argc, char **argv, Replay *rp)
{
	static const struct option longopts[] = {
		{ "sender", required_argument, NULL, 'f' },
		{ "recipient", required_argument, NULL, 'r' },
		{ "original-recipient", required_argument, NULL, 'a' },
		{ "config", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "autorespond", no_argument, NULL, OPT_AUTORESPOND },
		{ "outbound", no_argument, NULL, OPT_OUTBOUND },
		{ "skip", required_argument, NULL, OPT_SKIP },
		{ "mbox-format", required_argument, NULL, OPT_MBOX_FORMAT },
		{ "no-duplicates-check", no_argument, NULL, OPT_NO_DUPLICATES },
		{ "sync", required_argument, NULL, OPT_SYNC },
		{ NULL, 0, NULL, 0 }
	};
	int c;
	guint64 n;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:r:a:c:nj:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': rp->env_args.sender = optarg; break;
		case 'r': rp->env_args.recipient = optarg; break;
		case 'a': rp->env_args.original_recipient = optarg; break;
		case 'c': rp->config_path = optarg; break;
		case 'n': rp->dry_run = TRUE; break;
		case 'v': rp->verbose = TRUE; break;
		case 'q': rp->quiet = TRUE; break;
		case 'h': rp->help = TRUE; break;
		case OPT_JSON: rp->json = TRUE; break;
		case OPT_AUTORESPOND: rp->autorespond = TRUE; break;
		case OPT_OUTBOUND: rp->outbound = TRUE; break;
		case OPT_NO_DUPLICATES: rp->no_duplicates_check = TRUE; break;
		case 'j':
			if (!parse_number(optarg, 64, &n) || n == 0) {
				fprintf(stderr, "sortmail replay: --jobs wants a number from 1 to 64\n");
				return FALSE;
			}
			rp->jobs = (guint)n;
			break;
		case OPT_SKIP:
			if (!parse_number(optarg, G_MAXUINT64 - 1, &rp->skip)) {
				fprintf(stderr, "sortmail replay: --skip wants a number\n");
				return FALSE;
			}
			break;
		case OPT_SYNC:
			if (strcmp(optarg, "batch") == 0 || strcmp(optarg, "each") == 0) {
				rp->sync_each = strcmp(optarg, "each") == 0;
			} else {
				fprintf(stderr, "sortmail replay: --sync is batch or each\n");
				return FALSE;
			}
			break;
		case OPT_MBOX_FORMAT:
			if (strcmp(optarg, "mboxrd") == 0)
				rp->mbox_format = SM_MBOX_MBOXRD;
			else if (strcmp(optarg, "mboxo") == 0)
				rp->mbox_format = SM_MBOX_MBOXO;
			else {
				fprintf(stderr, "sortmail replay: --mbox-format is mboxrd or mboxo\n");
				return FALSE;
			}
			break;
		default:
			fprintf(stderr, "sortmail replay: unknown or incomplete option %s\n",
			        argv[optind - 1]);
			usage(stderr);
			return FALSE;
		}
	}
	rp->paths = argv + optind;
	if (!rp->help && !*rp->paths) {
		usage(stderr);
		return FALSE;
	}
	return TRUE;
}

/* The envelope every message starts from: -f, -r, -a only; never SENDER,
 * RECIPIENT or ORIGINAL_RECIPIENT from the environment (those belong to a
 * delivery, not to saved mail). */
static gboolean setup_envelope(Replay *rp)
{
	SmEnvelopeArgs args = rp->env_args;
	sm_envelope_fill(&rp->base, &args);
	if (!args.sender)
		g_clear_pointer(&rp->base.sender, g_free);
	if (!args.original_recipient)
		g_clear_pointer(&rp->base.original_recipient, g_free);
	if (!args.recipient) {
		g_free(rp->base.recipient);
		rp->base.recipient = g_strdup(rp->base.user);
	}
	if (!rp->base.home || !*rp->base.home) {
		fprintf(stderr, "sortmail replay: no home directory (HOME unset)\n");
		return FALSE;
	}
	return TRUE;
}

static void on_stop(int sig)
{
	sm_replay_stop = 1;
	/* A second Ctrl-C ends the run at once. */
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void catch_stop_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* @arg as the shell needs it: as it is when it is plain, quoted otherwise. */
static char *shell_word(const char *arg)
{
	gboolean plain = *arg != '\0';
	for (const char *p = arg; *p; p++)
		if (!g_ascii_isalnum(*p) && !strchr("@%+=:,./_-", *p))
			plain = FALSE;
	return plain ? g_strdup(arg) : g_shell_quote(arg);
}

/* The command line again, with --skip @skip instead of any --skip given. */
static char *resume_command(int argc, char **argv, guint64 skip)
{
	GString *s = g_string_new("sortmail replay");
	g_string_append_printf(s, " --skip %" G_GUINT64_FORMAT, skip);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--skip") == 0) {
			i++;
			continue;
		}
		if (g_str_has_prefix(argv[i], "--skip="))
			continue;
		g_autofree char *q = shell_word(argv[i]);
		g_string_append_printf(s, " %s", q);
	}
	return g_string_free(s, FALSE);
}

static int finish(const Replay *rp, ReplayRun *run, int argc, char **argv)
{
	double seconds = (g_get_monotonic_time() - rp->started) / 1e6;
	if (rp->progress)
		sm_replay_progress_clear();
	if (!rp->quiet) {
		GString *s = g_string_new(NULL);
		sm_replay_summary(s, &run->tally, seconds);
		fputs(s->str, rp->json ? stderr : stdout);
		fflush(rp->json ? stderr : stdout);
		g_string_free(s, TRUE);
	}
	if (run->interrupted) {
		g_autofree char *cmd = resume_command(argc, argv, rp->skip + run->resume_at);
		fprintf(stderr, "sortmail replay: interrupted after message %" G_GUINT64_FORMAT
		        "; to resume:\n  %s\n", rp->skip + run->resume_at, cmd);
		return SM_EXIT_REPLAY_INTERRUPTED;
	}
	if (sm_replay_tally_get(&run->tally, "result:failed")
	    || sm_replay_tally_get(&run->tally, "input-errors"))
		return SM_EXIT_REPLAY_FAILED;
	return SM_EXIT_OK;
}

static gboolean setup(Replay *rp)
{
	if (!setup_envelope(rp))
		return FALSE;
	g_autoptr(GError) error = NULL;
	rp->config = sm_lda_config_load(rp->config_path, &rp->base, &error);
	if (!rp->config) {
		fprintf(stderr, "sortmail replay: %s\n", error->message);
		return FALSE;
	}
	rp->log = (SmLogTargets){ .syslog = rp->config->syslog && !rp->dry_run,
	                          .file = rp->dry_run ? NULL : rp->config->log_file };
	rp->flags = (SmPipelineFlags){
		.dry_run = rp->dry_run, .cache_peek = TRUE,
		.allow_outbound = rp->outbound, .allow_autorespond = rp->autorespond,
		.check_duplicates = !rp->no_duplicates_check,
		/* Batches only where nothing leaves the mailbox before the commit
		 * (a reply or forward about a message not yet durable), and only for
		 * Maildir: mbox appends stay one locked, synced append each. */
		.stage = !rp->dry_run && !rp->sync_each && !rp->outbound && !rp->autorespond
		         && rp->config->format != SM_FORMAT_MBOX,
	};
	if (rp->jobs > 1)
		for (char **p = rp->paths; *p; p++)
			if (strcmp(*p, "-") == 0) {
				fprintf(stderr, "sortmail replay: standard input cannot be shared by "
				        "--jobs workers; using one process\n");
				rp->jobs = 1;
			}
	rp->progress = !rp->quiet && isatty(STDERR_FILENO);
	rp->stdout_tty = isatty(STDOUT_FILENO);
	rp->total = rp->progress ? sm_replay_input_count(rp->paths, rp->mbox_format) : -1;
	if (rp->total > 0)
		rp->total = rp->total > (gint64)rp->skip ? rp->total - (gint64)rp->skip : 0;
	return TRUE;
}

int sm_cmd_replay(int argc, char **argv)
{
	Replay rp = { .jobs = 1, .mbox_format = SM_MBOX_MBOXRD,
	              .started = g_get_monotonic_time() };
	ReplayRun run = { 0 };
	SmReplayInput *in = NULL;
	int status = SM_EXIT_REPLAY_USAGE;
	if (!parse_options(argc, argv, &rp))
		return SM_EXIT_REPLAY_USAGE;
	if (rp.help) {
		usage(stdout);
		return SM_EXIT_OK;
	}
	if (!setup(&rp))
		goto out;
	catch_stop_signals();
	sm_replay_tally_init(&run.tally);
	in = sm_replay_input_new(rp.paths, rp.mbox_format);
	if (rp.jobs > 1) {
		if (!sm_replay_jobs(&rp, in, &run))
			goto out;
	} else {
		sm_replay_loop(&rp, in, 0, 1, -1, &run);
	}
	status = finish(&rp, &run, argc, argv);
out:
	sm_replay_input_free(in);
	if (run.tally.counts)
		sm_replay_tally_clear(&run.tally);
	if (rp.config)
		sm_config_free(rp.config);
	sm_envelope_clear(&rp.base);
	return status;
}
