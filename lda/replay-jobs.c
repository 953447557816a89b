/* replay-jobs.c: `sortmail replay --jobs N`: N worker processes, each
 * taking the messages that fall to it (replay-loop.c, worker_for(): all
 * copies of one message to one worker, which files them in turn).
 *
 * Each worker reads the inputs itself (they are files: mapped, shared page
 * cache), prints its own lines (one write each, so lines never interleave)
 * and talks to the parent through one pipe: a '.' per message done (the
 * progress bar), then '\n' and its tally as text, then "resume\tN" when it
 * was interrupted before its message N+1. The parent adds the tallies up;
 * the run resumes at the smallest N (later messages that other workers had
 * done are found in the duplicates journal). */
#include "config.h"
#include "replay.h"
#include "fsutil.h"
#include "status.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
	pid_t pid;
	int fd;            /* read end of its pipe; -1 once at EOF */
	gboolean in_tally; /* past the '\n' */
	GString *tally;
} Worker;

static void worker_main(const Replay *rp, SmReplayInput *in, guint k, int fd)
{
	ReplayRun run = { 0 };
	sm_replay_tally_init(&run.tally);
	sm_replay_loop(rp, in, k, rp->jobs, fd, &run);
	g_autofree char *dump = sm_replay_tally_dump(&run.tally);
	GString *s = g_string_new("\n");
	g_string_append(s, dump);
	if (run.interrupted)
		g_string_append_printf(s, "resume\t%" G_GUINT64_FORMAT "\n", run.resume_at);
	(void)sm_write_all(fd, s->str, s->len);
	g_string_free(s, TRUE);
	sm_replay_tally_clear(&run.tally);
	close(fd);
}

/* Reads what is there from @w; FALSE at EOF. */
static gboolean drain(Worker *w, guint64 *done)
{
	char buf[4096];
	ssize_t n = read(w->fd, buf, sizeof buf);
	if (n < 0 && errno == EINTR)
		return TRUE;
	if (n <= 0)
		return FALSE;
	for (ssize_t i = 0; i < n; i++) {
		if (w->in_tally)
			g_string_append_c(w->tally, buf[i]);
		else if (buf[i] == '.')
			(*done)++;
		else if (buf[i] == '\n')
			w->in_tally = TRUE;
	}
	return TRUE;
}

/* Adds @text (a worker's tally) into @run; "resume" lines take the minimum. */
static void merge(ReplayRun *run, char *text)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	GString *rest = g_string_new(NULL);
	for (char **l = lines; *l; l++) {
		if (g_str_has_prefix(*l, "resume\t")) {
			guint64 at = g_ascii_strtoull(*l + 7, NULL, 10);
			run->resume_at = run->interrupted ? MIN(run->resume_at, at) : at;
			run->interrupted = TRUE;
		} else if (**l) {
			g_string_append_printf(rest, "%s\n", *l);
		}
	}
	sm_replay_tally_load(&run->tally, rest->str);
	g_string_free(rest, TRUE);
}

static void collect(const Replay *rp, Worker *w, guint jobs, ReplayRun *run)
{
	struct pollfd *fds = g_new0(struct pollfd, jobs);
	guint64 done = 0;
	gint64 since = g_get_monotonic_time(), drawn = since;
	for (;;) {
		guint open = 0;
		for (guint i = 0; i < jobs; i++) {
			fds[i] = (struct pollfd){ .fd = w[i].fd, .events = POLLIN };
			open += w[i].fd >= 0;
		}
		if (!open)
			break;
		if (poll(fds, jobs, 200) < 0 && errno != EINTR)
			break;
		for (guint i = 0; i < jobs; i++)
			if (w[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
			    && !drain(&w[i], &done)) {
				close(w[i].fd);
				w[i].fd = -1;
			}
		if (rp->progress && g_get_monotonic_time() - drawn > G_USEC_PER_SEC / 5) {
			drawn = g_get_monotonic_time();
			sm_replay_progress(done, rp->total, (drawn - since) / 1e6);
		}
	}
	g_free(fds);
	for (guint i = 0; i < jobs; i++) {
		int st = 0;
		while (waitpid(w[i].pid, &st, 0) < 0 && errno == EINTR)
			;
		if (!w[i].in_tally || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			/* A worker that died took its tally along: say so, fail the run. */
			fprintf(stderr, "sortmail replay: worker %u ended abnormally; its counts "
			        "are missing from the summary\n", i + 1);
			sm_replay_tally_add(&run->tally, "input-errors", 1);
		}
		merge(run, w[i].tally->str);
		g_string_free(w[i].tally, TRUE);
	}
}

gboolean sm_replay_jobs(const Replay *rp, SmReplayInput *in, ReplayRun *run)
{
	guint jobs = rp->jobs;
	Worker *w = g_new0(Worker, jobs);
	fflush(NULL);
	guint started = 0;
	for (; started < jobs; started++) {
		int p[2];
		if (pipe(p) < 0)
			break;
		pid_t pid = fork();
		if (pid < 0) {
			close(p[0]);
			close(p[1]);
			break;
		}
		if (pid == 0) {
			close(p[0]);
			for (guint i = 0; i < started; i++)
				close(w[i].fd);
			/* A worker must not draw the bar or print the summary itself. */
			Replay mine = *rp;
			mine.progress = FALSE;
			worker_main(&mine, in, started, p[1]);
			_exit(0);
		}
		close(p[1]);
		w[started] = (Worker){ .pid = pid, .fd = p[0], .tally = g_string_new(NULL) };
	}
	if (started < jobs) {
		fprintf(stderr, "sortmail replay: cannot start worker %u: %s\n", started + 1,
		        g_strerror(errno));
		/* Those already running stop after their current message. */
		for (guint i = 0; i < started; i++)
			kill(w[i].pid, SIGTERM);
	}
	collect(rp, w, started, run);
	g_free(w);
	return started == jobs;
}
