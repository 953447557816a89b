/* test-mbox.c: the mbox backend (lda/deliver-mbox.c, lda/mbox-lock.c).
 *
 * Every test works in its own temporary directory. Tests that need another
 * process (a lock holder, concurrent writers, a lowered file size limit, other
 * privileges) fork; children report through their exit status. Nothing here
 * passes or fails on timing: a lock holder that must outlast us holds until
 * killed, and one that must let us through releases on its own.
 */
#include "config.h"
#include "lda/backend.h"
#include "lda/mbox-lock.h"
#include "lda/watchdog.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define T_SENDER "alice@example.org"
#define T_ARRIVAL ((time_t)1700000000)  /* Tue Nov 14 22:13:20 2023 UTC */
#define T_FROM "From " T_SENDER " Tue Nov 14 22:13:20 2023\n"

typedef struct {
	char *dir;     /* the test's temporary directory */
	char *inbox;   /* dir/inbox */
	char *root;    /* dir/folders (absent at first) */
	SmMailbox box;
} Fixture;

static void rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		GDir *d = g_dir_open(path, 0, NULL);
		const char *name;
		while (d && (name = g_dir_read_name(d))) {
			g_autofree char *child = g_build_filename(path, name, NULL);
			rm_rf(child);
		}
		if (d)
			g_dir_close(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

static void fixture_setup(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	f->dir = g_dir_make_tmp("test-mbox-XXXXXX", &error);
	g_assert_no_error(error);
	f->inbox = g_build_filename(f->dir, "inbox", NULL);
	f->root = g_build_filename(f->dir, "folders", NULL);
	f->box = (SmMailbox){ .root = f->root, .mbox_inbox = f->inbox, .owner = geteuid() };
	sm_mbox_lock_timeout_ms = 30000;
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
	sm_watchdog_release();  /* a successful delivery leaves its signals held */
	rm_rf(f->dir);
	g_free(f->dir);
	g_free(f->inbox);
	g_free(f->root);
}

static gboolean deliver_full(const SmMailbox *box, const char *folder, const char *prefix,
                             const char *data, gsize len, const char *sender, char **stored,
                             GError **error)
{
	SmDelivery d = { .prefix = prefix, .prefix_len = prefix ? strlen(prefix) : 0,
		         .data = data, .len = len, .sender = sender, .arrival = T_ARRIVAL };
	return sm_backend_mbox.store(box, folder, &d, stored, error);
}

static gboolean deliver(Fixture *f, const char *data, GError **error)
{
	return deliver_full(&f->box, "inbox", NULL, data, strlen(data), T_SENDER, NULL, error);
}

static void deliver_ok(Fixture *f, const char *data)
{
	g_autoptr(GError) error = NULL;
	g_assert_true(deliver(f, data, &error));
	g_assert_no_error(error);
}

static char *slurp(const char *path, gsize *len)
{
	char *s = NULL;
	g_autoptr(GError) error = NULL;
	g_assert_true(g_file_get_contents(path, &s, len, &error));
	g_assert_no_error(error);
	return s;
}

static void assert_file(const char *path, const char *expect)
{
	g_autofree char *got = slurp(path, NULL);
	g_assert_cmpstr(got, ==, expect);
}

static void write_file(const char *path, const char *text)
{
	g_autoptr(GError) error = NULL;
	g_assert_true(g_file_set_contents(path, text, -1, &error));
	g_assert_no_error(error);
	g_assert_cmpint(chmod(path, 0600), ==, 0);
}

static void assert_no_dotlock(const char *mbox)
{
	g_autofree char *lock = g_strconcat(mbox, ".lock", NULL);
	g_assert_false(g_file_test(lock, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK));
}

static int wait_child(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		g_assert_cmpint(errno, ==, EINTR);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- an mboxrd reader, independent of the writer ---- */

typedef struct {
	char *from_line;  /* without its newline */
	GString *body;    /* unquoted */
} Parsed;

static void parsed_free(gpointer p)
{
	Parsed *m = p;
	g_free(m->from_line);
	g_string_free(m->body, TRUE);
	g_free(m);
}

static gboolean is_quoted_from(const char *line)
{
	while (*line == '>')
		line++;
	return g_str_has_prefix(line, "From ");
}

/* Splits @text (all of it) into messages; each must end with the empty line. */
static GPtrArray *parse_mbox(const char *text, gsize len)
{
	GPtrArray *msgs = g_ptr_array_new_with_free_func(parsed_free);
	Parsed *cur = NULL;
	const char *p = text, *end = text + len;
	g_assert_true(len == 0 || g_str_has_prefix(text, "From "));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		g_assert_nonnull(nl);  /* the writer always ends lines */
		gsize n = (gsize)(nl + 1 - p);
		if (g_str_has_prefix(p, "From ")) {
			cur = g_new0(Parsed, 1);
			cur->from_line = g_strndup(p, n - 1);
			cur->body = g_string_new(NULL);
			g_ptr_array_add(msgs, cur);
		} else if (p[0] == '>' && is_quoted_from(p)) {
			g_string_append_len(cur->body, p + 1, (gssize)n - 1);
		} else {
			g_string_append_len(cur->body, p, (gssize)n);
		}
		p = nl + 1;
	}
	for (guint i = 0; i < msgs->len; i++) {
		Parsed *m = msgs->pdata[i];
		g_assert_true(g_str_has_suffix(m->body->str, "\n\n") || g_str_equal(m->body->str, "\n"));
		g_string_truncate(m->body, m->body->len - 1);
	}
	return msgs;
}

/* ---- formatting ---- */

static void test_golden(Fixture *f, gconstpointer data)
{
	gsize len;
	g_autofree char *eml = slurp(SM_TEST_DATA "/mbox/quoting.eml", &len);
	g_autofree char *expect = slurp(SM_TEST_DATA "/mbox/quoting.mbox", NULL);
	g_autoptr(GError) error = NULL;
	g_assert_true(deliver_full(&f->box, "INBOX", "X-Spam-Flag: NO\n", eml, len, T_SENDER,
	                           NULL, &error));
	g_assert_no_error(error);
	assert_file(f->inbox, expect);
	assert_no_dotlock(f->inbox);
}

static void test_quoting_cases(Fixture *f, gconstpointer data)
{
	/* First line of the data, with no prefix. */
	deliver_ok(f, "From nobody\nx\n");
	/* First line of the data after a prefix; "From" at the very end. */
	g_autoptr(GError) error = NULL;
	g_assert_true(deliver_full(&f->box, "inbox", "X-A: 1\n", ">>From z\nsay From\nFrom ", 23,
	                           T_SENDER, NULL, &error));
	g_assert_no_error(error);
	/* A prefix line is quoted too; the data then starts mid-line. */
	g_assert_true(deliver_full(&f->box, "inbox", "From oops\nX-B: ", "From y\n", 7, T_SENDER,
	                           NULL, &error));
	g_assert_no_error(error);
	assert_file(f->inbox, T_FROM ">From nobody\nx\n\n"
	                      T_FROM "X-A: 1\n>>>From z\nsay From\n>From \n\n"
	                      T_FROM ">From oops\nX-B: From y\n\n");
}

static void test_null_sender(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_assert_true(deliver_full(&f->box, "inbox", NULL, "a\n", 2, "", NULL, &error));
	g_assert_true(deliver_full(&f->box, "inbox", NULL, "b\n", 2, NULL, NULL, &error));
	g_assert_true(deliver_full(&f->box, "inbox", NULL, "c\n", 2, "x y\tz\n\x7f@h", NULL, &error));
	g_assert_no_error(error);
	assert_file(f->inbox, "From MAILER-DAEMON Tue Nov 14 22:13:20 2023\na\n\n"
	                      "From MAILER-DAEMON Tue Nov 14 22:13:20 2023\nb\n\n"
	                      "From x_y_z__@h Tue Nov 14 22:13:20 2023\nc\n\n");
}

static void test_date(Fixture *f, gconstpointer data)
{
	SmDelivery d = { .data = "x\n", .len = 2, .sender = "s", .arrival = 1699000000 };
	g_autoptr(GError) error = NULL;
	g_assert_true(sm_backend_mbox.store(&f->box, "inbox", &d, NULL, &error));
	g_assert_no_error(error);
	assert_file(f->inbox, "From s Fri Nov  3 08:26:40 2023\nx\n\n");
}

static void test_no_final_newline(Fixture *f, gconstpointer data)
{
	deliver_ok(f, "Subject: x\n\nbody");
	deliver_ok(f, "");
	assert_file(f->inbox, T_FROM "Subject: x\n\nbody\n\n" T_FROM "\n");
}

static void test_crlf(Fixture *f, gconstpointer data)
{
	deliver_ok(f, "Subject: x\r\n\r\nFrom y\r\n>From w\r\nz");
	assert_file(f->inbox, T_FROM "Subject: x\r\n\r\n>From y\r\n>>From w\r\nz\n\n");
}

static void test_two_deliveries(Fixture *f, gconstpointer data)
{
	deliver_ok(f, "Subject: 1\n\none\n");
	deliver_ok(f, "Subject: 2\n\ntwo\n");
	assert_file(f->inbox, T_FROM "Subject: 1\n\none\n\n" T_FROM "Subject: 2\n\ntwo\n\n");
	struct stat st;
	g_assert_cmpint(stat(f->inbox, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, 0600);
	g_assert_cmpint(st.st_uid, ==, geteuid());
}

/* Many quote points (more than one writev batch) in a big message, read back. */
static void test_large(Fixture *f, gconstpointer data)
{
	GString *msg = g_string_new("Subject: big\n\n");
	for (int i = 0; msg->len < 8 * 1024 * 1024; i++)
		g_string_append_printf(msg, "%sFrom line %d, padding padding padding\n",
		                       i % 3 == 0 ? "" : i % 3 == 1 ? ">" : "x ", i);
	g_autoptr(GError) error = NULL;
	g_assert_true(deliver_full(&f->box, "inbox", "X-P: 1\n", msg->str, msg->len, T_SENDER,
	                           NULL, &error));
	g_assert_no_error(error);
	gsize len;
	g_autofree char *text = slurp(f->inbox, &len);
	g_autoptr(GPtrArray) msgs = parse_mbox(text, len);
	g_assert_cmpuint(msgs->len, ==, 1);
	Parsed *m = msgs->pdata[0];
	g_assert_cmpstr(m->from_line, ==, "From " T_SENDER " Tue Nov 14 22:13:20 2023");
	g_assert_true(g_str_has_prefix(m->body->str, "X-P: 1\n"));
	g_assert_cmpuint(m->body->len, ==, msg->len + 7);
	g_assert_true(memcmp(m->body->str + 7, msg->str, msg->len) == 0);
	g_string_free(msg, TRUE);
}

/* ---- where it goes ---- */

static void test_folders(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *stored = NULL;
	g_assert_true(deliver_full(&f->box, "lists.foo", NULL, "x\n", 2, T_SENDER, &stored, &error));
	g_assert_no_error(error);
	g_autofree char *want = g_build_filename(f->root, "lists.foo", NULL);
	g_assert_cmpstr(stored, ==, want);
	assert_file(want, T_FROM "x\n\n");
	struct stat st;
	g_assert_cmpint(lstat(f->root, &st), ==, 0);
	g_assert_true(S_ISDIR(st.st_mode));
	g_assert_cmpint(st.st_mode & 07777, ==, 0700);

	g_clear_pointer(&stored, g_free);
	g_assert_true(deliver_full(&f->box, "InBoX", NULL, "y\n", 2, T_SENDER, &stored, &error));
	g_assert_cmpstr(stored, ==, f->inbox);

	const char *bad[] = { "x.lock", "../x", "..", "" };
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_assert_false(deliver_full(&f->box, bad[i], NULL, "z\n", 2, T_SENDER, NULL, &error));
		g_assert_error(error, SM_DELIVER_ERROR, SM_DELIVER_ERROR_UNSAFE);
		g_clear_error(&error);
	}
	g_autofree char *outside = g_build_filename(f->dir, "x", NULL);
	g_assert_false(g_file_test(outside, G_FILE_TEST_EXISTS));
}

/* ---- what it refuses ---- */

static void assert_refused(Fixture *f)
{
	g_autoptr(GError) error = NULL;
	g_assert_false(deliver(f, "Subject: no\n\nno\n", &error));
	g_assert_error(error, SM_DELIVER_ERROR, SM_DELIVER_ERROR_UNSAFE);
	assert_no_dotlock(f->inbox);
}

/* The default layout, ROOT/inbox: the root is made for the inbox too. */
static void test_inbox_in_root(Fixture *f, gconstpointer data)
{
	g_free(f->inbox);
	f->inbox = g_build_filename(f->root, "inbox", NULL);
	f->box.mbox_inbox = f->inbox;
	deliver_ok(f, "a\n");
	assert_file(f->inbox, T_FROM "a\n\n");
	struct stat st;
	g_assert_cmpint(lstat(f->root, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, 0700);
}

/* Root must not create its own files in a user's mbox directory. */
static void test_inbox_dir_of_another_user(Fixture *f, gconstpointer data)
{
	if (geteuid() != 0) {
		g_test_skip("needs root to give a directory to another uid");
		return;
	}
	g_autofree char *dir = g_build_filename(f->dir, "user", NULL);
	g_assert_cmpint(mkdir(dir, 0700), ==, 0);
	g_assert_cmpint(chown(dir, 4242, (gid_t)-1), ==, 0);
	g_free(f->inbox);
	f->inbox = g_build_filename(dir, "inbox", NULL);
	f->box.mbox_inbox = f->inbox;
	assert_refused(f);
	g_assert_false(g_file_test(f->inbox, G_FILE_TEST_EXISTS));

	/* The same directory as the folder root. */
	f->box.root = dir;
	assert_refused(f);
	g_assert_false(g_file_test(f->inbox, G_FILE_TEST_EXISTS));
}

static void test_symlink(Fixture *f, gconstpointer data)
{
	g_autofree char *target = g_build_filename(f->dir, "target", NULL);
	write_file(target, "precious\n");
	g_assert_cmpint(symlink(target, f->inbox), ==, 0);
	assert_refused(f);
	assert_file(target, "precious\n");

	/* A dangling symlink must not make us create its target. */
	g_assert_cmpint(unlink(target), ==, 0);
	assert_refused(f);
	g_assert_false(g_file_test(target, G_FILE_TEST_EXISTS));
}

static void test_hardlink(Fixture *f, gconstpointer data)
{
	write_file(f->inbox, "");
	deliver_ok(f, "a\n");
	g_autofree char *other = g_build_filename(f->dir, "other", NULL);
	g_assert_cmpint(link(f->inbox, other), ==, 0);
	assert_refused(f);
	assert_file(f->inbox, T_FROM "a\n\n");
}

static void test_not_regular(Fixture *f, gconstpointer data)
{
	g_assert_cmpint(mkfifo(f->inbox, 0600), ==, 0);  /* must not block us */
	assert_refused(f);
	g_assert_cmpint(unlink(f->inbox), ==, 0);
	g_assert_cmpint(mkdir(f->inbox, 0700), ==, 0);
	assert_refused(f);
}

static void test_wrong_owner(Fixture *f, gconstpointer data)
{
	if (geteuid() != 0) {
		g_test_skip("needs root to give a file to another uid");
		return;
	}
	write_file(f->inbox, "old\n");
	g_assert_cmpint(chown(f->inbox, 4242, (gid_t)-1), ==, 0);
	assert_refused(f);
	assert_file(f->inbox, "old\n");
}

/* Root delivering for a user creates the user's file, not root's. */
static void test_new_file_owner(Fixture *f, gconstpointer data)
{
	if (geteuid() != 0) {
		g_test_skip("needs root to create a file for another uid");
		return;
	}
	f->box.owner = 4242;
	deliver_ok(f, "a\n");
	struct stat st;
	g_assert_cmpint(stat(f->inbox, &st), ==, 0);
	g_assert_cmpint(st.st_uid, ==, 4242);
	g_assert_cmpint(st.st_mode & 07777, ==, 0600);
	deliver_ok(f, "b\n");
	assert_file(f->inbox, T_FROM "a\n\n" T_FROM "b\n\n");
}

/* ---- locking ---- */

static char *make_dotlock(Fixture *f, const char *content, time_t age)
{
	char *lock = g_strconcat(f->inbox, ".lock", NULL);
	write_file(lock, content);
	struct timespec ts[2] = { { .tv_sec = time(NULL) - age }, { .tv_sec = time(NULL) - age } };
	g_assert_cmpint(utimensat(AT_FDCWD, lock, ts, 0), ==, 0);
	return lock;
}

static void test_stale_dotlock(Fixture *f, gconstpointer data)
{
	g_autofree char *lock = make_dotlock(f, "12345\n", 10 * 60);
	deliver_ok(f, "a\n");
	assert_file(f->inbox, T_FROM "a\n\n");
	assert_no_dotlock(f->inbox);
}

/* A pid that was ours a moment ago and is gone now. */
static pid_t dead_pid(void)
{
	pid_t pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0)
		_exit(0);
	int status;
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	return pid;
}

static char *record_of_dead_sortmail(const char *append)
{
	char host[256];
	g_assert_cmpint(gethostname(host, 64), ==, 0);
	host[63] = '\0';
	return g_strdup_printf("sortmail %ld %s%s\n", (long)dead_pid(), host, append);
}

/* The dotlock of a sortmail that died: taken over at once (no 300 s wait). */
static void test_dead_writer_dotlock(Fixture *f, gconstpointer data)
{
	g_autofree char *rec = record_of_dead_sortmail("");
	g_autofree char *lock = make_dotlock(f, rec, 0);
	sm_mbox_lock_timeout_ms = 100;
	deliver_ok(f, "a\n");
	assert_file(f->inbox, T_FROM "a\n\n");
	assert_no_dotlock(f->inbox);
}

/* A sortmail killed in the middle of an append: the half message it names is
 * cut off before the next append; only where its record still fits. */
static void test_dead_writer_append(Fixture *f, gconstpointer data)
{
	deliver_ok(f, "a\n");
	struct stat st;
	g_assert_cmpint(stat(f->inbox, &st), ==, 0);
	const char *whole = T_FROM "a\n\n";
	struct {
		off_t at;       /* the offset the record names */
		gboolean other; /* another file's identity */
		const char *expect;
	} cases[] = {
		{ st.st_size, FALSE, T_FROM "a\n\n" T_FROM "b\n\n" },
		/* no From_ line at the offset: not an append of ours, left alone */
		{ st.st_size + 2, FALSE, T_FROM "a\n\n" "From x Tue Nov\n" T_FROM "b\n\n" },
		{ st.st_size, TRUE, T_FROM "a\n\n" "From x Tue Nov\n" T_FROM "b\n\n" },
	};
	sm_mbox_lock_timeout_ms = 100;
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		write_file(f->inbox, whole);
		g_assert_cmpint(chmod(f->inbox, 0600), ==, 0);
		g_assert_cmpint(stat(f->inbox, &st), ==, 0);
		/* the half message: a From_ line cut short, no blank line after it */
		int fd = open(f->inbox, O_WRONLY | O_APPEND);
		g_assert_cmpint(fd, >=, 0);
		g_assert_cmpint(write(fd, "From x Tue Nov\n", 15), ==, 15);
		close(fd);
		g_autofree char *append = g_strdup_printf(" %lld %llu %llu", (long long)cases[i].at,
		                                          (unsigned long long)st.st_dev,
		                                          (unsigned long long)st.st_ino
		                                              + (cases[i].other ? 1 : 0));
		g_autofree char *rec = record_of_dead_sortmail(append);
		g_autofree char *lock = make_dotlock(f, rec, 0);
		deliver_ok(f, "b\n");
		assert_file(f->inbox, cases[i].expect);
		assert_no_dotlock(f->inbox);
	}
}

/* Fresh, or too big to be a dotlock: left alone, and we give up. */
static void test_busy_dotlock(Fixture *f, gconstpointer data)
{
	const struct { const char *content; time_t age; } cases[] = {
		{ "", 0 },
		{ "From a Tue Nov 14 22:13:20 2023\nSubject: looks like mail, not a lock\n\n", 3600 },
	};
	sm_mbox_lock_timeout_ms = 100;
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *lock = make_dotlock(f, cases[i].content, cases[i].age);
		g_autoptr(GError) error = NULL;
		g_assert_false(deliver(f, "a\n", &error));
		g_assert_error(error, SM_DELIVER_ERROR, SM_DELIVER_ERROR_LOCK);
		assert_file(lock, cases[i].content);
		g_assert_false(g_file_test(f->inbox, G_FILE_TEST_EXISTS));
		g_assert_cmpint(unlink(lock), ==, 0);
	}
}

typedef struct {
	pid_t pid;
	int release_fd;  /* closing it ends the holder */
} Holder;

/* Forks a child that takes a classic POSIX lock on @path and holds it for a
 * short while (@briefly) or until release_holder(). The child also ends when
 * we die (its end of the pipe sees EOF), so a failing test leaves no orphan. */
static Holder hold_fcntl_lock(const char *path, gboolean briefly)
{
	int ready[2], release[2];
	g_assert_cmpint(pipe(ready), ==, 0);
	g_assert_cmpint(pipe(release), ==, 0);
	pid_t pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		close(ready[0]);
		close(release[1]);
		int fd = open(path, O_RDWR);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		if (fd < 0 || fcntl(fd, F_SETLKW, &fl) < 0)
			_exit(3);
		if (write(ready[1], "x", 1) != 1)
			_exit(4);
		struct pollfd pfd = { .fd = release[0], .events = POLLIN };
		while (poll(&pfd, 1, briefly ? 300 : -1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(ready[1]);
	close(release[0]);
	char c;
	g_assert_cmpint(read(ready[0], &c, 1), ==, 1);
	close(ready[0]);
	return (Holder){ .pid = pid, .release_fd = release[1] };
}

static void release_holder(Holder *h)
{
	close(h->release_fd);
	g_assert_cmpint(wait_child(h->pid), ==, 0);
}

static void test_fcntl_wait(Fixture *f, gconstpointer data)
{
	deliver_ok(f, "a\n");
	Holder h = hold_fcntl_lock(f->inbox, TRUE);
	deliver_ok(f, "b\n");
	release_holder(&h);
	assert_file(f->inbox, T_FROM "a\n\n" T_FROM "b\n\n");
	assert_no_dotlock(f->inbox);
}

static void test_fcntl_timeout(Fixture *f, gconstpointer data)
{
	deliver_ok(f, "a\n");
	Holder h = hold_fcntl_lock(f->inbox, FALSE);
	sm_mbox_lock_timeout_ms = 100;
	g_autoptr(GError) error = NULL;
	gboolean ok = deliver(f, "b\n", &error);
	release_holder(&h);
	g_assert_false(ok);
	g_assert_error(error, SM_DELIVER_ERROR, SM_DELIVER_ERROR_LOCK);
	assert_file(f->inbox, T_FROM "a\n\n");
	assert_no_dotlock(f->inbox);
}

static gboolean alrm_blocked(void)
{
	sigset_t cur;
	g_assert_cmpint(sigprocmask(SIG_BLOCK, NULL, &cur), ==, 0);
	return sigismember(&cur, SIGALRM) == 1;
}

/* The backend contract of watchdog.h: held after a success, released after a
 * failure. */
static void test_watchdog_held(Fixture *f, gconstpointer data)
{
	deliver_ok(f, "a\n");
	g_assert_true(alrm_blocked());
	sm_watchdog_release();

	Holder h = hold_fcntl_lock(f->inbox, FALSE);
	sm_mbox_lock_timeout_ms = 50;
	g_autoptr(GError) error = NULL;
	gboolean ok = deliver(f, "b\n", &error);
	release_holder(&h);
	g_assert_false(ok);
	g_assert_false(alrm_blocked());
}

/* The time limit (here SIGTERM, handled the same way) while we wait for a
 * lock: exit 75, and no dotlock left behind, whenever it lands. */
static void test_watchdog_while_waiting(Fixture *f, gconstpointer data)
{
	deliver_ok(f, "a\n");
	sm_watchdog_release();
	Holder h = hold_fcntl_lock(f->inbox, FALSE);
	int ready[2];
	g_assert_cmpint(pipe(ready), ==, 0);
	pid_t pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		close(ready[0]);
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, STDERR_FILENO);  /* the watchdog's one line */
		sm_watchdog_start(0);
		if (write(ready[1], "x", 1) != 1)
			_exit(4);
		GError *error = NULL;
		deliver(f, "b\n", &error);
		_exit(1);  /* not reached unless the signal was lost */
	}
	close(ready[1]);
	char c;
	g_assert_cmpint(read(ready[0], &c, 1), ==, 1);
	close(ready[0]);
	kill(pid, SIGTERM);
	g_assert_cmpint(wait_child(pid), ==, 75);
	release_holder(&h);
	assert_file(f->inbox, T_FROM "a\n\n");
	assert_no_dotlock(f->inbox);
}

/* A directory we may not create dotlocks in (like /var/mail without group
 * mail): the fcntl lock alone must do. */
static void test_dotlock_eacces(Fixture *f, gconstpointer data)
{
	if (geteuid() != 0) {
		g_test_skip("needs root to run as another uid");
		return;
	}
	const uid_t nobody = 65534;
	g_assert_cmpint(chmod(f->dir, 0755), ==, 0);
	write_file(f->inbox, "");
	g_assert_cmpint(chown(f->inbox, nobody, (gid_t)-1), ==, 0);
	f->box.owner = nobody;
	pid_t pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(nobody) < 0 || setuid(nobody) < 0)
			_exit(3);
		GError *error = NULL;
		_exit(deliver(f, "a\n", &error) ? 0 : 1);
	}
	g_assert_cmpint(wait_child(pid), ==, 0);
	assert_file(f->inbox, T_FROM "a\n\n");
	assert_no_dotlock(f->inbox);
}

/* ---- failure leaves the mbox as it was ---- */

static void test_truncate_efbig(Fixture *f, gconstpointer data)
{
	deliver_ok(f, "Subject: first\n\nkept\n");
	gsize before_len;
	g_autofree char *before = slurp(f->inbox, &before_len);
	g_autofree char *big = g_strnfill(64 * 1024, 'x');

	pid_t pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		struct rlimit rl;
		signal(SIGXFSZ, SIG_IGN);  /* so write() fails with EFBIG instead */
		if (getrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(3);
		rl.rlim_cur = before_len + 100;  /* the From line fits, the body does not */
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(4);
		GError *error = NULL;
		gboolean delivered = deliver(f, big, &error);
		/* _exit() skips g_autofree: free by hand, no leak for valgrind */
		g_clear_pointer(&before, g_free);
		g_clear_pointer(&big, g_free);
		if (delivered)
			_exit(1);
		/* GFileError has no EFBIG: it maps to FAILED, with errno's text. */
		gboolean efbig = error->domain == G_FILE_ERROR &&
		                 strstr(error->message, g_strerror(EFBIG)) != NULL;
		g_error_free(error);
		_exit(efbig ? 0 : 2);
	}
	g_assert_cmpint(wait_child(pid), ==, 0);
	gsize after_len;
	g_autofree char *after = slurp(f->inbox, &after_len);
	g_assert_cmpmem(after, after_len, before, before_len);
	assert_no_dotlock(f->inbox);
	deliver_ok(f, "Subject: second\n\nfine\n");
}

static void test_truncate_enospc(Fixture *f, gconstpointer data)
{
	if (geteuid() != 0) {
		g_test_skip("needs root to mount a tiny tmpfs");
		return;
	}
	g_autofree char *mnt = g_build_filename(f->dir, "mnt", NULL);
	g_assert_cmpint(mkdir(mnt, 0700), ==, 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k,mode=0700") < 0) {
		g_autofree char *why = g_strdup_printf("cannot mount a tmpfs here: %s", g_strerror(errno));
		g_test_skip(why);
		return;
	}
	g_free(f->inbox);
	f->inbox = g_build_filename(mnt, "inbox", NULL);
	f->box.mbox_inbox = f->inbox;
	deliver_ok(f, "Subject: first\n\nkept\n");
	gsize before_len;
	g_autofree char *before = slurp(f->inbox, &before_len);
	g_autofree char *big = g_strnfill(256 * 1024, 'x');
	g_autoptr(GError) error = NULL;
	g_assert_false(deliver(f, big, &error));
	g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_NOSPC);
	gsize after_len;
	g_autofree char *after = slurp(f->inbox, &after_len);
	g_assert_cmpmem(after, after_len, before, before_len);
	assert_no_dotlock(f->inbox);
	g_assert_cmpint(umount2(mnt, MNT_DETACH), ==, 0);
}

/* ---- many writers ---- */

#define N_WRITERS 20

static char *writer_message(int i)
{
	GString *s = g_string_new(NULL);
	g_string_append_printf(s, "Subject: writer %d\n\nFrom writer %d\n", i, i);
	for (int line = 0; line < 2000; line++)
		g_string_append_printf(s, "%s writer %d line %d\n", line % 7 ? "text" : ">From", i, line);
	g_string_append_printf(s, "end of writer %d\n", i);
	return g_string_free(s, FALSE);
}

static void test_concurrent(Fixture *f, gconstpointer data)
{
	pid_t pids[N_WRITERS];
	for (int i = 0; i < N_WRITERS; i++) {
		pids[i] = fork();
		g_assert_cmpint(pids[i], >=, 0);
		if (pids[i] == 0) {
			char *msg = writer_message(i);
			GError *error = NULL;
			_exit(deliver(f, msg, &error) ? 0 : 1);
		}
	}
	for (int i = 0; i < N_WRITERS; i++)
		g_assert_cmpint(wait_child(pids[i]), ==, 0);

	gsize len;
	g_autofree char *text = slurp(f->inbox, &len);
	g_autoptr(GPtrArray) msgs = parse_mbox(text, len);
	g_assert_cmpuint(msgs->len, ==, N_WRITERS);
	gboolean seen[N_WRITERS] = { FALSE };
	for (guint k = 0; k < msgs->len; k++) {
		Parsed *m = msgs->pdata[k];
		int i;
		g_assert_cmpint(sscanf(m->body->str, "Subject: writer %d", &i), ==, 1);
		g_assert_true(i >= 0 && i < N_WRITERS && !seen[i]);
		seen[i] = TRUE;
		g_autofree char *want = writer_message(i);
		g_assert_cmpstr(m->body->str, ==, want);
	}
	assert_no_dotlock(f->inbox);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add("/mbox/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("golden", test_golden);
	ADD("quoting-cases", test_quoting_cases);
	ADD("null-sender", test_null_sender);
	ADD("date", test_date);
	ADD("no-final-newline", test_no_final_newline);
	ADD("crlf", test_crlf);
	ADD("two-deliveries", test_two_deliveries);
	ADD("large", test_large);
	ADD("folders", test_folders);
	ADD("inbox-in-root", test_inbox_in_root);
	ADD("inbox-dir-of-another-user", test_inbox_dir_of_another_user);
	ADD("symlink-refused", test_symlink);
	ADD("hardlink-refused", test_hardlink);
	ADD("not-regular-refused", test_not_regular);
	ADD("wrong-owner-refused", test_wrong_owner);
	ADD("new-file-owner", test_new_file_owner);
	ADD("stale-dotlock", test_stale_dotlock);
	ADD("busy-dotlock", test_busy_dotlock);
	ADD("dead-writer-dotlock", test_dead_writer_dotlock);
	ADD("dead-writer-append", test_dead_writer_append);
	ADD("fcntl-wait", test_fcntl_wait);
	ADD("fcntl-timeout", test_fcntl_timeout);
	ADD("watchdog-held", test_watchdog_held);
	ADD("watchdog-while-waiting", test_watchdog_while_waiting);
	ADD("dotlock-eacces", test_dotlock_eacces);
	ADD("truncate-efbig", test_truncate_efbig);
	ADD("truncate-enospc", test_truncate_enospc);
	ADD("concurrent", test_concurrent);
#undef ADD
	return g_test_run();
}
