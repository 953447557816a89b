/* test-sendmail.c: running a helper command (lda/sendmail.c): input, output,
 * exit status, the deadline, what the child inherits; and sm_submit()'s
 * command line, with a fake sendmail that records its arguments and input. */
#include "config.h"
#include "lda/sendmail.h"

#include <glib/gstdio.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int run_sh(const char *script, const char *input, guint timeout_ms, SmRunResult *out)
{
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	SmRunSpec spec = { .argv = argv, .input = input, .input_len = input ? strlen(input) : 0,
	                   .timeout_ms = timeout_ms, .max_output = 65536 };
	return sm_run(&spec, out);
}

static void test_input_output(void)
{
	SmRunResult r;
	g_assert_cmpint(run_sh("cat; echo err >&2", "hello\nworld\n", 10000, &r), ==, 0);
	g_assert_false(r.timed_out);
	g_assert_true(WIFEXITED(r.wait_status));
	g_assert_cmpint(WEXITSTATUS(r.wait_status), ==, 0);
	g_assert_cmpstr(r.output, ==, "hello\nworld\nerr\n");
	g_assert_cmpuint(r.output_len, ==, 16);
	sm_run_result_clear(&r);

	/* No input: stdin is at EOF at once. */
	g_assert_cmpint(run_sh("cat; echo done", NULL, 10000, &r), ==, 0);
	g_assert_cmpstr(r.output, ==, "done\n");
	sm_run_result_clear(&r);
}

static void test_exit_status(void)
{
	SmRunResult r;
	g_assert_cmpint(run_sh("echo 'queue file write error' >&2; exit 75", NULL, 10000, &r), ==,
	                0);
	g_assert_cmpint(WEXITSTATUS(r.wait_status), ==, 75);
	g_autofree char *d = sm_run_describe(&r, 10000);
	g_assert_cmpstr(d, ==, "exit status 75: queue file write error");
	sm_run_result_clear(&r);

	g_assert_cmpint(run_sh("kill -TERM $$", NULL, 10000, &r), ==, 0);
	g_assert_true(WIFSIGNALED(r.wait_status));
	g_autofree char *k = sm_run_describe(&r, 10000);
	g_assert_cmpstr(k, ==, "killed by signal 15");
	sm_run_result_clear(&r);
}

/* A command that does not read a large input, or reads it all, never blocks us. */
static void test_big_input(void)
{
	gsize n = 4 * 1024 * 1024;
	g_autofree char *big = g_malloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\0';
	SmRunResult r;
	g_assert_cmpint(run_sh("exit 3", big, 30000, &r), ==, 0);
	g_assert_false(r.timed_out);
	g_assert_cmpint(WEXITSTATUS(r.wait_status), ==, 3);
	sm_run_result_clear(&r);

	g_assert_cmpint(run_sh("wc -c", big, 30000, &r), ==, 0);
	g_assert_cmpint(g_ascii_strtoll(r.output, NULL, 10), ==, (gint64)n);
	sm_run_result_clear(&r);
}

static void test_output_bounded(void)
{
	const char *argv[] = { "/bin/sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' y", NULL };
	SmRunSpec spec = { .argv = argv, .timeout_ms = 30000, .max_output = 100 };
	SmRunResult r;
	g_assert_cmpint(sm_run(&spec, &r), ==, 0);
	g_assert_cmpint(WEXITSTATUS(r.wait_status), ==, 0);
	g_assert_cmpuint(r.output_len, ==, 100);
	g_assert_cmpuint(strlen(r.output), ==, 100);
	sm_run_result_clear(&r);
}

/* A hung command is killed at the deadline, with what it started. */
static void test_timeout(void)
{
	SmRunResult r;
	g_assert_cmpint(run_sh("echo started; sleep 60 & sleep 60", NULL, 300, &r), ==, 0);
	g_assert_true(r.timed_out);
	g_assert_true(WIFSIGNALED(r.wait_status));
	g_assert_cmpint(WTERMSIG(r.wait_status), ==, SIGKILL);
	g_autofree char *d = sm_run_describe(&r, 300);
	g_assert_cmpstr(d, ==, "timed out after 0.3 s: started");
	sm_run_result_clear(&r);
}

static void test_cannot_start(void)
{
	SmRunResult r;
	const char *missing[] = { "/nonexistent/sendmail", NULL };
	SmRunSpec spec = { .argv = missing, .timeout_ms = 1000 };
	errno = 0;
	g_assert_cmpint(sm_run(&spec, &r), ==, -1);
	g_assert_cmpint(errno, ==, ENOENT);
	g_assert_null(r.output);

	const char *relative[] = { "sh", "-c", "true", NULL };
	spec.argv = relative;
	g_assert_cmpint(sm_run(&spec, &r), ==, -1);
	g_assert_cmpint(errno, ==, EINVAL);

	const char *dir[] = { "/", NULL };
	spec.argv = dir;
	g_assert_cmpint(sm_run(&spec, &r), ==, -1);
	g_assert_cmpint(errno, ==, EACCES);
}

/* A signal mask from a /proc/PID/status line "NAME HEX". */
static guint64 mask_of(const char *status, const char *name)
{
	const char *p = strstr(status, name);
	if (!p)
		g_error("no %s in: %s", name, status);
	return g_ascii_strtoull(p + strlen(name), NULL, 16);
}

static guint64 sig_bit(int sig)
{
	return G_GUINT64_CONSTANT(1) << (sig - 1);
}

/* The child gets default signals, an empty mask, only fds 0-2, the
 * environment it is given. */
static void test_child_state(void)
{
	signal(SIGPIPE, SIG_IGN); /* as main() does */
	signal(SIGXFSZ, SIG_IGN);
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	int stray = open("/dev/null", O_RDONLY); /* not close-on-exec */
	g_assert_cmpint(stray, >=, 0);

	/* Builtins only before /proc/$$ is read: no fork of the shell's that
	 * could block signals for a moment. */
	const char *argv[] = { "/bin/sh", "-c",
	                       "while read -r k v; do case $k in SigBlk:|SigIgn:) echo \"$k $v\";; "
	                       "esac; done < /proc/$$/status; ls /proc/$$/fd; echo \"[$FOO]\"",
	                       NULL };
	const char *envp[] = { "FOO=bar", "PATH=/usr/bin:/bin", NULL };
	SmRunSpec spec = { .argv = argv, .envp = envp, .timeout_ms = 10000, .max_output = 4096 };
	SmRunResult r;
	g_assert_cmpint(sm_run(&spec, &r), ==, 0);
	close(stray);
	sigprocmask(SIG_SETMASK, &old, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGXFSZ, SIG_DFL);

	g_assert_cmpint(WEXITSTATUS(r.wait_status), ==, 0);
	/* Only the signals sortmail touches: the C library and sanitizers may
	 * have their own in the masks. */
	guint64 blocked = mask_of(r.output, "SigBlk: "), ignored = mask_of(r.output, "SigIgn: ");
	g_assert_cmpuint(blocked & sig_bit(SIGTERM), ==, 0);
	g_assert_cmpuint(ignored & (sig_bit(SIGPIPE) | sig_bit(SIGXFSZ)), ==, 0);
	g_assert_nonnull(strstr(r.output, "\n0\n1\n2\n[bar]\n"));
	sm_run_result_clear(&r);
}

/* ---- sm_submit ------------------------------------------------------------ */

typedef struct {
	char *dir;
	char *script;
} Fake;

/* A sendmail that writes its arguments (one per line) and its input to
 * DIR/argv and DIR/input, then does what @tail says. */
static void fake_new(Fake *f, const char *tail)
{
	f->dir = g_dir_make_tmp("test-sendmail-XXXXXX", NULL);
	f->script = g_build_filename(f->dir, "sendmail", NULL);
	g_autofree char *text = g_strdup_printf("#!/bin/sh\n"
	                                        "printf '%%s\\n' \"$@\" > '%s/argv'\n"
	                                        "cat > '%s/input'\n%s\n",
	                                        f->dir, f->dir, tail);
	g_assert_true(g_file_set_contents(f->script, text, -1, NULL));
	g_assert_cmpint(g_chmod(f->script, 0700), ==, 0);
}

static char *fake_file(Fake *f, const char *name)
{
	g_autofree char *path = g_build_filename(f->dir, name, NULL);
	char *text = NULL;
	g_file_get_contents(path, &text, NULL, NULL);
	return text;
}

static void fake_free(Fake *f)
{
	const char *names[] = { "argv", "input", "sendmail" };
	for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree char *p = g_build_filename(f->dir, names[i], NULL);
		g_unlink(p);
	}
	g_rmdir(f->dir);
	g_free(f->dir);
	g_free(f->script);
}

static void test_submit(void)
{
	Fake f;
	fake_new(&f, "exit 0");
	const char *command[] = { f.script, "-C", "/etc/postfix-out", NULL };
	const char *rcpts[] = { "asker@example.net", NULL };
	const char *msg = "To: asker@example.net\n\n.\nbody\n";
	char *why = (char *)"untouched";
	g_assert_cmpint(sm_submit(command, 10000, msg, strlen(msg), "", rcpts, &why), ==,
	                SM_SUBMIT_OK);
	g_assert_null(why);
	g_autofree char *argv = fake_file(&f, "argv");
	g_assert_cmpstr(argv, ==, "-C\n/etc/postfix-out\n-i\n-f\n<>\n--\nasker@example.net\n");
	g_autofree char *input = fake_file(&f, "input");
	g_assert_cmpstr(input, ==, msg);

	/* A real sender, and a recipient that looks like an option stays a recipient. */
	const char *odd[] = { "-oQ/tmp", NULL };
	g_assert_cmpint(sm_submit(command, 10000, msg, strlen(msg), "me@x", odd, NULL), ==,
	                SM_SUBMIT_OK);
	g_autofree char *argv2 = fake_file(&f, "argv");
	g_assert_cmpstr(argv2, ==, "-C\n/etc/postfix-out\n-i\n-f\nme@x\n--\n-oQ/tmp\n");
	fake_free(&f);
}

static void test_submit_failures(void)
{
	const char *rcpts[] = { "asker@example.net", NULL };
	const char *msg = "Subject: x\n\nbody\n";
	char *why = NULL;

	Fake f;
	fake_new(&f, "echo 'sendmail: fatal: no queue' >&2; exit 1");
	const char *command[] = { f.script, NULL };
	g_assert_cmpint(sm_submit(command, 10000, msg, strlen(msg), "", rcpts, &why), ==,
	                SM_SUBMIT_REFUSED);
	g_autofree char *expect = g_strdup_printf("%s exit status 1: sendmail: fatal: no queue",
	                                          f.script);
	g_assert_cmpstr(why, ==, expect);
	g_clear_pointer(&why, g_free);
	fake_free(&f);

	fake_new(&f, "sleep 60");
	const char *hang[] = { f.script, NULL };
	g_assert_cmpint(sm_submit(hang, 1000, msg, strlen(msg), "", rcpts, &why), ==,
	                SM_SUBMIT_TIMEOUT);
	g_assert_nonnull(strstr(why, "timed out after 1 s"));
	g_clear_pointer(&why, g_free);
	/* It read its input before it hung. */
	g_autofree char *input = fake_file(&f, "input");
	g_assert_cmpstr(input, ==, msg);
	fake_free(&f);

	const char *missing[] = { "/nonexistent/sendmail", NULL };
	g_assert_cmpint(sm_submit(missing, 1000, msg, strlen(msg), "", rcpts, &why), ==,
	                SM_SUBMIT_FAILED);
	g_assert_cmpstr(why, ==, "cannot run /nonexistent/sendmail: No such file or directory");
	g_free(why);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sendmail/run/input-output", test_input_output);
	g_test_add_func("/sendmail/run/exit-status", test_exit_status);
	g_test_add_func("/sendmail/run/big-input", test_big_input);
	g_test_add_func("/sendmail/run/output-bounded", test_output_bounded);
	g_test_add_func("/sendmail/run/timeout", test_timeout);
	g_test_add_func("/sendmail/run/cannot-start", test_cannot_start);
	g_test_add_func("/sendmail/run/child-state", test_child_state);
	g_test_add_func("/sendmail/submit", test_submit);
	g_test_add_func("/sendmail/submit/failures", test_submit_failures);
	return g_test_run();
}
