/* sendmail.c: running a helper command with a deadline; submitting a message
 * through sendmail (see sendmail.h).
 *
 * One loop does everything without threads or signal handlers: poll() writes
 * the input (non-blocking, so a command that does not read cannot block us),
 * reads the output, and wakes up every few milliseconds to ask waitpid()
 * whether the command has ended. A command that exits while something it
 * started still holds the output pipe is not waited for beyond a short grace.
 * Between fork() and exec() the child calls only async-signal-safe functions;
 * everything it needs is prepared before the fork.
 */
#include "config.h"
#include "sendmail.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define POLL_TICK_MS 10      /* how often to ask whether the command has ended */
#define OUTPUT_GRACE_MS 200  /* reading output after the command has ended */

/* ---- the child ----------------------------------------------------------- */

static void close_from(int first)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)first, ~0U, 0) == 0)
		return;
#endif
	long max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = first; fd < max; fd++)
		close(fd);
}

/* Reports errno on @err_fd (close-on-exec: EOF means exec() worked). */
__attribute__((noreturn))
static void child(const SmRunSpec *spec, int in_fd, int out_fd, int err_fd)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGXFSZ, SIG_DFL);
	setpgid(0, 0);

	/* Out of the way of 0..3 first, then into place. */
	int in_hi = fcntl(in_fd, F_DUPFD_CLOEXEC, 10);
	int out_hi = fcntl(out_fd, F_DUPFD_CLOEXEC, 10);
	int err_hi = fcntl(err_fd, F_DUPFD_CLOEXEC, 10);
	if (in_hi < 0 || out_hi < 0 || err_hi < 0 || dup2(in_hi, 0) < 0 || dup2(out_hi, 1) < 0 ||
	    dup2(out_hi, 2) < 0 || dup2(err_hi, 3) < 0 || fcntl(3, F_SETFD, FD_CLOEXEC) < 0) {
		int e = errno;
		(void)!write(err_hi >= 0 ? err_hi : err_fd, &e, sizeof e);
		_exit(127);
	}
	close_from(4);
	execve(spec->argv[0], (char *const *)spec->argv,
	       (char *const *)(spec->envp ? spec->envp : (const char *const *)environ));
	int e = errno;
	(void)!write(3, &e, sizeof e);
	_exit(127);
}

/* ---- the parent ---------------------------------------------------------- */

typedef struct {
	const SmRunSpec *spec;
	pid_t pid;
	int in_fd, out_fd;  /* -1 once done */
	gsize written;
	GByteArray *output;
	gboolean exited;
	int status;
} Run;

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void write_some(Run *r)
{
	gsize left = r->spec->input_len - r->written;
	ssize_t n = left ? write(r->in_fd, r->spec->input + r->written, left) : 0;
	if (n > 0)
		r->written += (gsize)n;
	/* EPIPE: the command does not want the rest; that is its business. */
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		close_fd(&r->in_fd);
	else if (r->written == r->spec->input_len)
		close_fd(&r->in_fd);
}

static void read_some(Run *r)
{
	char buf[4096];
	ssize_t n = read(r->out_fd, buf, sizeof buf);
	if (n > 0) {
		gsize room = r->spec->max_output > r->output->len
		             ? r->spec->max_output - r->output->len : 0;
		g_byte_array_append(r->output, (const guint8 *)buf, MIN((gsize)n, room));
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		close_fd(&r->out_fd);
	}
}

static void reap(Run *r, gboolean block)
{
	if (r->exited)
		return;
	pid_t got;
	do
		got = waitpid(r->pid, &r->status, block ? 0 : WNOHANG);
	while (got < 0 && errno == EINTR);
	if (got == r->pid || got < 0)
		r->exited = TRUE;
}

/* Polls until the command has ended and its output is read (or the grace
 * after its end is over), or the deadline. TRUE when it ended in time. */
static gboolean pump(Run *r, gint64 deadline)
{
	gint64 grace_end = 0;
	for (;;) {
		reap(r, FALSE);
		gint64 now = g_get_monotonic_time();
		if (r->exited && !grace_end)
			grace_end = now + OUTPUT_GRACE_MS * 1000;
		if (r->exited && (r->out_fd < 0 || now >= grace_end))
			return TRUE;
		if (!r->exited && now >= deadline)
			return FALSE;
		if (r->exited)
			close_fd(&r->in_fd);
		struct pollfd fds[2];
		nfds_t n = 0;
		if (r->in_fd >= 0)
			fds[n++] = (struct pollfd){ .fd = r->in_fd, .events = POLLOUT };
		if (r->out_fd >= 0)
			fds[n++] = (struct pollfd){ .fd = r->out_fd, .events = POLLIN };
		gint64 until = r->exited ? grace_end : deadline;
		int wait_ms = (int)MIN((until - now + 999) / 1000, POLL_TICK_MS);
		if (poll(fds, n, MAX(wait_ms, 1)) <= 0)
			continue;
		for (nfds_t i = 0; i < n; i++) {
			if (!fds[i].revents)
				continue;
			if (fds[i].fd == r->in_fd)
				write_some(r);
			else if (fds[i].fd == r->out_fd)
				read_some(r);
		}
	}
}

/* Waits for exec(): 0 when it worked, else the child's errno (the child is reaped). */
static int exec_result(pid_t pid, int err_read)
{
	int e = 0;
	ssize_t n;
	do
		n = read(err_read, &e, sizeof e);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof e)
		return 0;
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return e ? e : ECHILD;
}

int sm_run(const SmRunSpec *spec, SmRunResult *out)
{
	int in[2], outp[2], err[2];
	*out = (SmRunResult){ 0 };
	if (!spec->argv || !spec->argv[0] || spec->argv[0][0] != '/') {
		errno = EINVAL;
		return -1;
	}
	if (pipe2(in, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(outp, O_CLOEXEC) < 0) {
		int e = errno;
		close(in[0]), close(in[1]);
		errno = e;
		return -1;
	}
	if (pipe2(err, O_CLOEXEC) < 0) {
		int e = errno;
		close(in[0]), close(in[1]), close(outp[0]), close(outp[1]);
		errno = e;
		return -1;
	}
	pid_t pid = fork();
	if (pid == 0)
		child(spec, in[0], outp[1], err[1]);
	int fork_errno = errno;
	if (pid > 0)
		setpgid(pid, pid); /* as the child does: whoever is first, the kill finds it */
	close(in[0]), close(outp[1]), close(err[1]);
	int e = pid < 0 ? fork_errno : exec_result(pid, err[0]);
	close(err[0]);
	if (e) {
		close(in[1]), close(outp[0]);
		errno = e;
		return -1;
	}

	/* A command that exits without reading its input must cost an EPIPE, not
	 * the process (main() ignores SIGPIPE already; a caller might not). */
	struct sigaction ignore = { .sa_handler = SIG_IGN }, old_pipe;
	sigemptyset(&ignore.sa_mask);
	sigaction(SIGPIPE, &ignore, &old_pipe);
	Run r = { .spec = spec, .pid = pid, .in_fd = in[1], .out_fd = outp[0],
	          .output = g_byte_array_new() };
	fcntl(r.in_fd, F_SETFL, O_NONBLOCK);
	fcntl(r.out_fd, F_SETFL, O_NONBLOCK);
	if (!spec->input || spec->input_len == 0)
		close_fd(&r.in_fd);
	gint64 deadline = g_get_monotonic_time() + (gint64)spec->timeout_ms * 1000;
	if (!pump(&r, deadline)) {
		out->timed_out = TRUE;
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		reap(&r, TRUE);
	}
	close_fd(&r.in_fd);
	close_fd(&r.out_fd);
	sigaction(SIGPIPE, &old_pipe, NULL);
	out->wait_status = r.status;
	g_byte_array_append(r.output, (const guint8 *)"", 1);
	out->output_len = r.output->len - 1;
	out->output = (char *)g_byte_array_free(r.output, FALSE);
	return 0;
}

void sm_run_result_clear(SmRunResult *r)
{
	g_free(r->output);
	*r = (SmRunResult){ 0 };
}

char *sm_run_describe(const SmRunResult *r, guint timeout_ms)
{
	g_autofree char *what = NULL;
	if (r->timed_out)
		what = g_strdup_printf("timed out after %g s", timeout_ms / 1000.0);
	else if (WIFEXITED(r->wait_status))
		what = g_strdup_printf("exit status %d", WEXITSTATUS(r->wait_status));
	else if (WIFSIGNALED(r->wait_status))
		what = g_strdup_printf("killed by signal %d", WTERMSIG(r->wait_status));
	else
		what = g_strdup("ended oddly");
	const char *text = r->output ? r->output : "";
	while (*text == '\n' || *text == '\r' || *text == ' ')
		text++;
	gsize n = strcspn(text, "\r\n");
	if (!n)
		return g_steal_pointer(&what);
	g_autofree char *line = g_strndup(text, MIN(n, 200));
	g_autofree char *valid = g_utf8_make_valid(line, -1);
	return g_strdup_printf("%s: %s", what, valid);
}

/* ---- sendmail ------------------------------------------------------------ */

#define SUBMIT_MAX_OUTPUT 4096

SmSubmitResult sm_submit(const char *const *command, guint timeout_ms, const char *message,
                         gsize len, const char *envelope_sender,
                         const char *const *recipients, char **why)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	for (guint i = 0; command && command[i]; i++)
		g_ptr_array_add(argv, (gpointer)command[i]);
	g_ptr_array_add(argv, (gpointer)"-i");
	g_ptr_array_add(argv, (gpointer)"-f");
	g_ptr_array_add(argv, (gpointer)(envelope_sender && *envelope_sender ? envelope_sender
	                                                                     : "<>"));
	g_ptr_array_add(argv, (gpointer)"--");
	for (guint i = 0; recipients && recipients[i]; i++)
		g_ptr_array_add(argv, (gpointer)recipients[i]);
	g_ptr_array_add(argv, NULL);

	SmRunSpec spec = {
		.argv = (const char *const *)argv->pdata,
		.input = message, .input_len = len,
		.timeout_ms = timeout_ms,
		.max_output = SUBMIT_MAX_OUTPUT,
	};
	SmRunResult r;
	if (why)
		*why = NULL;
	if (sm_run(&spec, &r) < 0) {
		if (why)
			*why = g_strdup_printf("cannot run %s: %s", command && command[0] ? command[0]
			                       : "(none)", g_strerror(errno));
		return SM_SUBMIT_FAILED;
	}
	SmSubmitResult result = r.timed_out ? SM_SUBMIT_TIMEOUT
	                      : WIFEXITED(r.wait_status) && WEXITSTATUS(r.wait_status) == 0
	                      ? SM_SUBMIT_OK : SM_SUBMIT_REFUSED;
	if (result != SM_SUBMIT_OK && why) {
		g_autofree char *d = sm_run_describe(&r, spec.timeout_ms);
		*why = g_strdup_printf("%s %s", command[0], d);
	}
	sm_run_result_clear(&r);
	return result;
}
