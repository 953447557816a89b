/* replay-loop.c: the loop of `sortmail replay` over its messages (see
 * replay.h): each message's envelope from its own headers, the pipeline,
 * its log line, its report line, the progress bar; with --sync=batch, the
 * batches whose commit must come before any of that is said (below). */
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

/* One message on its way through: run, then (at once, or after its batch's
 * commit) reported. */
typedef struct {
	SmReplayItem item;   /* batch mode: its strings and data are the copies below */
	char *data, *name, *flags, *from_sender;
	SmEnvelope env;
	SmOutcome out;
	GError *error;
	gboolean ok;
	guint64 n;
	gint64 started;
	char *pos;
} Entry;

/* The item outlives the input's next call: batch mode keeps it until commit. */
static void entry_copy_item(Entry *e, const SmReplayItem *item)
{
	e->item = *item;
	e->item.data = e->data = item->data ? g_memdup2(item->data, item->len ? item->len : 1)
	                                    : NULL;
	e->item.name = e->name = g_strdup(item->name);
	e->item.flags = e->flags = g_strdup(item->flags);
	e->item.from_sender = e->from_sender = g_strdup(item->from_sender);
}

static void entry_free(Entry *e)
{
	sm_outcome_clear(&e->out);
	sm_envelope_clear(&e->env);
	g_clear_error(&e->error);
	g_free(e->data);
	g_free(e->name);
	g_free(e->flags);
	g_free(e->from_sender);
	g_free(e->pos);
	g_free(e);
}

static Entry *run_one(const Replay *rp, const SmPipelineFlags *flags, SmScoring *scoring,
                      SmReplayInput *in, SmReplayItem *item, guint64 n)
{
	Entry *e = g_new0(Entry, 1);
	e->n = n;
	e->started = g_get_monotonic_time();
	e->pos = sm_replay_position(item);
	gboolean loaded = sm_replay_input_load(in, item, &e->error);
	if (flags->stage)
		entry_copy_item(e, item);
	else
		e->item = *item;
	message_envelope(rp, &e->item, &e->env);
	if (e->item.truncated)
		report_truncated(rp, &e->item, n);
	if (!loaded) {
		e->ok = FALSE;
	} else if (e->item.len == 0) {
		g_set_error(&e->error, SM_LDA_ERROR, SM_LDA_ERROR_INPUT, "empty message");
		e->ok = FALSE;
	} else {
		e->ok = sm_pipeline_run(rp->config, &e->env, scoring, e->item.data, e->item.len,
		                        flags, e->started, &e->out, &e->error);
	}
	return e;
}

/* Log line, report line, tally: what became of @e is final now. */
static void report_entry(const Replay *rp, Entry *e, ReplayRun *run)
{
	if (e->ok && !rp->dry_run)
		sm_pipeline_log(&e->out, &e->env, &rp->log, e->started, e->pos);
	if (!e->ok) {
		log_failure(rp, &e->env, &e->out, e->started, e->pos, e->error->message);
		report_failure(rp, &e->item, e->n, e->error->message);
	}
	SmReplayResult r = { .n = e->n, .item = &e->item, .env = &e->env,
	                     .out = e->item.len ? &e->out : NULL, .ok = e->ok,
	                     .error = e->error, .dry_run = rp->dry_run };
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
}

/* ---- --sync=batch ---------------------------------------------------------
 * Messages are staged in tmp/ and held, in order, with the results around
 * them, until BATCH_MAX are staged, or BATCH_BYTES of their copies are held,
 * or BATCH_US have passed since the first;
 * then one commit makes them durable, and only then is each marked in the
 * duplicates journal and reported (log, -v/--json line, summary). A crash
 * before leaves files in tmp/ and nothing reported or marked: --skip from the
 * last message reported re-files them. */
#define BATCH_MAX 256
#define BATCH_US (G_USEC_PER_SEC / 2)
#define BATCH_BYTES (32 * 1024 * 1024)

typedef struct {
	const Replay *rp;
	ReplayRun *run;
	GPtrArray *entries;    /* Entry *, in message order */
	GHashTable *pending;   /* "KEY\tRECIPIENT" of the staged ones */
	guint staged;
	gsize bytes;           /* message copies held */
	gint64 first_at;
} Batch;

static char *pending_name(const char *key, const char *recipient)
{
	return g_strdup_printf("%s\t%s", key, recipient ? recipient : "");
}

/* A staged message is durable now: the journal may say so. */
static void mark_filed(const Replay *rp, Entry *e)
{
	if (!*e->out.key)
		return;
	g_autofree char *w = sm_lda_mark_filed(rp->config, e->out.key, e->out.rcpt.address);
	if (!w)
		return;
	char *both = e->out.cache_warning ? g_strdup_printf("%s; %s", e->out.cache_warning, w)
	                                  : g_strdup(w);
	g_free(e->out.cache_warning);
	e->out.cache_warning = both;
}

static void batch_commit(Batch *b)
{
	GPtrArray *staged = g_ptr_array_new();
	for (guint i = 0; i < b->entries->len; i++) {
		Entry *e = b->entries->pdata[i];
		if (e->out.staged)
			g_ptr_array_add(staged, e->out.staged);
	}
	sm_maildir_commit((SmStaged *const *)staged->pdata, staged->len);
	g_ptr_array_free(staged, TRUE);
	for (guint i = 0; i < b->entries->len; i++) {
		Entry *e = b->entries->pdata[i];
		SmStaged *st = e->out.staged;
		if (st && st->done && b->rp->config->duplicates) {
			mark_filed(b->rp, e);
		} else if (st && !st->done) {
			e->ok = FALSE;
			e->out.stored = FALSE;
			e->error = g_error_copy(st->error);
		}
		report_entry(b->rp, e, b->run);
		entry_free(e);
	}
	g_ptr_array_set_size(b->entries, 0);
	g_hash_table_remove_all(b->pending);
	b->staged = 0;
	b->bytes = 0;
}

/* The pipeline's before_check: a copy of this message waiting in the batch
 * must be in the journal before the duplicates check looks. */
static void batch_before_check(gpointer data, const char *key, const char *recipient)
{
	Batch *b = data;
	g_autofree char *name = pending_name(key, recipient);
	if (g_hash_table_contains(b->pending, name))
		batch_commit(b);
}

static void batch_add(Batch *b, Entry *e)
{
	if (!e->out.staged && !b->entries->len) {
		report_entry(b->rp, e, b->run);
		entry_free(e);
		return;
	}
	if (e->out.staged) {
		if (!b->staged++)
			b->first_at = g_get_monotonic_time();
		if (*e->out.key)
			g_hash_table_add(b->pending, pending_name(e->out.key, e->out.rcpt.address));
	}
	g_ptr_array_add(b->entries, e);
	b->bytes += e->item.len;
	if (b->staged >= BATCH_MAX || b->bytes >= BATCH_BYTES
	    || g_get_monotonic_time() - b->first_at >= BATCH_US)
		batch_commit(b);
}

/* Which of @jobs workers takes message @i (0-based, after --skip). Copies of
 * one message all go to one worker, which files them one after another:
 * spread over two workers, two copies for the same recipient could each find
 * the other missing from the duplicates journal and both be filed (and
 * copies for different recipients would meet in the verdict cache's single
 * flight, one of them waiting). Copies are told by their Message-ID or,
 * without one, by their size (an identical copy has the same). A message
 * that cannot be read goes round robin, so that exactly one worker reports
 * it. Every worker reads every message to decide: the inputs are files, the
 * second read comes from the page cache. */
static guint worker_for(SmReplayInput *in, SmReplayItem *item, guint64 i, guint jobs)
{
	if (jobs == 1)
		return 0;
	if (!sm_replay_input_load(in, item, NULL))
		return (guint)(i % jobs);
	SmMessage m;
	sm_message_index(&m, item->data ? item->data : "", item->len);
	g_autofree char *id = sm_message_get(&m, "Message-ID");
	sm_message_clear(&m);
	guint h = id && *id ? g_str_hash(id) : (guint)(item->len ^ (item->len >> 32));
	return h % jobs;
}

void sm_replay_loop(const Replay *rp, SmReplayInput *in, guint k, guint jobs, int progress_fd,
                    ReplayRun *run)
{
	SmScoring *scoring = sm_scoring_new(rp->config, &rp->base, NULL, NULL, FALSE);
	guint64 n = 0, done = 0;
	Batch batch = { .rp = rp, .run = run, .entries = g_ptr_array_new(),
	                .pending = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL) };
	SmPipelineFlags flags = rp->flags;
	if (flags.stage) {
		flags.before_check = batch_before_check;
		flags.before_check_data = &batch;
	}
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
		if (++n <= rp->skip || worker_for(in, &item, n - rp->skip - 1, jobs) != k)
			continue;
		if (sm_replay_stop) {
			/* What was done is reported before the resume point is. */
			batch_commit(&batch);
			run->interrupted = TRUE;
			run->resume_at = n - rp->skip - 1;
			break;
		}
		Entry *e = run_one(rp, &flags, scoring, in, &item, n);
		if (flags.stage) {
			batch_add(&batch, e);
		} else {
			report_entry(rp, e, run);
			entry_free(e);
		}
		done++;
		if (progress_fd >= 0) {
			(void)sm_write_all(progress_fd, ".", 1);
		} else if (rp->progress && g_get_monotonic_time() - drawn > PROGRESS_EVERY_US) {
			drawn = g_get_monotonic_time();
			sm_replay_progress(done, rp->total, (drawn - since) / 1e6);
		}
	}
	batch_commit(&batch);
	g_ptr_array_free(batch.entries, TRUE);
	g_hash_table_destroy(batch.pending);
	sm_scoring_free(scoring);
}
