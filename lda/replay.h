/* replay.h: the state of one `sortmail replay` run, shared by cmd-replay.c
 * (options, set-up, the loop over messages) and replay-jobs.c (--jobs: the
 * same loop in N worker processes, each taking every Nth message). */
#ifndef SM_REPLAY_H
#define SM_REPLAY_H

#include <glib.h>
#include <signal.h>
#include "pipeline.h"
#include "replay-input.h"
#include "replay-report.h"

typedef struct {
	/* options */
	SmEnvelopeArgs env_args;
	const char *config_path;
	gboolean dry_run, json, verbose, quiet, help;
	gboolean autorespond, outbound, no_duplicates_check;
	gboolean sync_each;     /* --sync=each: make every message durable on its own */
	guint64 skip;
	guint jobs;
	SmMboxFormat mbox_format;
	char **paths;           /* NULL-terminated, borrowed from argv */
	/* set-up */
	SmEnvelope base;        /* home, user; sender/recipient only from -f/-r/-a */
	SmConfig *config;
	SmLogTargets log;
	SmPipelineFlags flags;
	gboolean progress;      /* draw the progress bar (stderr is a terminal) */
	gboolean stdout_tty;    /* standard output is a terminal too: erase the bar first */
	gint64 total;           /* messages in the inputs, -1 unknown (only with progress) */
	gint64 started;
} Replay;

/* What one worker (or the single process) did. */
typedef struct {
	SmReplayTally tally;
	guint64 resume_at;      /* interrupted: messages 1..resume_at were all done; else 0 */
	gboolean interrupted;
} ReplayRun;

/* Set by SIGINT, SIGTERM or SIGHUP: stop after the current message. */
extern volatile sig_atomic_t sm_replay_stop;

/* Runs the messages of @rp's inputs (after --skip) that fall to worker @k of
 * @jobs: all copies of one message (Message-ID, else size) to one worker.
 * @progress_fd >= 0: a worker, which writes one byte there per message
 * instead of drawing the progress bar. */
void sm_replay_loop(const Replay *rp, SmReplayInput *in, guint k, guint jobs, int progress_fd,
                    ReplayRun *run);

/* --jobs: forks rp->jobs workers running sm_replay_loop() over their copies
 * of @in (made before, so all see the same messages) and adds up their runs
 * into @run. FALSE (with a message on stderr) when it cannot fork. */
gboolean sm_replay_jobs(const Replay *rp, SmReplayInput *in, ReplayRun *run);

#endif
