/* watchdog.c: SIGALRM/SIGTERM -> clean exit 75 (see watchdog.h).
 *
 * The state below is the one deliberate mutable global besides the config: a
 * signal handler can reach nothing else. It is written only outside the
 * handler, with the signals blocked. */
#include "config.h"
#include "watchdog.h"
#include "status.h"

#include <limits.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static char cleanup_path[PATH_MAX];
static volatile sig_atomic_t cleanup_set;

static void give_up(int sig)
{
	static const char timeout_msg[] = "sortmail: time limit reached, try again later\n";
	static const char signal_msg[] = "sortmail: terminated by a signal, try again later\n";
	if (cleanup_set)
		unlink(cleanup_path);
	if (sig == SIGALRM) {
		ssize_t n = write(STDERR_FILENO, timeout_msg, sizeof timeout_msg - 1);
		(void)n;
	} else {
		ssize_t n = write(STDERR_FILENO, signal_msg, sizeof signal_msg - 1);
		(void)n;
	}
	_exit(SM_EXIT_TEMPFAIL);
}

static void watched_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGALRM);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGINT);
}

void sm_watchdog_start(unsigned seconds)
{
	struct sigaction sa = { .sa_handler = give_up };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	alarm(seconds);
}

void sm_watchdog_set_cleanup(const char *path)
{
	sigset_t set, old;
	watched_signals(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	cleanup_set = 0;
	if (path && strlen(path) < sizeof cleanup_path) {
		strcpy(cleanup_path, path);
		cleanup_set = 1;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

void sm_watchdog_hold(void)
{
	sigset_t set;
	watched_signals(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

void sm_watchdog_release(void)
{
	sigset_t set;
	watched_signals(&set);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

void sm_watchdog_disarm(void)
{
	sigset_t set;
	alarm(0);
	watched_signals(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	cleanup_set = 0;
}
