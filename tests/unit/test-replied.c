/* test-replied.c: the reply memory (cache/replied.c): claim, record, period,
 * single flight across processes (a burst of five copies -> one reply),
 * failing closed, and the maintenance calls. */
#include "config.h"
#include "cache/cache.h"

#include <glib/gstdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define T0 1700000000 /* "now" of most tests */

typedef struct {
	char *dir;
	char *path;
} Fixture;

static void setup(Fixture *f, gconstpointer data)
{
	f->dir = g_dir_make_tmp("test-replied-XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	f->path = g_build_filename(f->dir, "sub", "replied.db", NULL);
}

static void remove_tree(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *name;
	while (d && (name = g_dir_read_name(d))) {
		g_autofree char *p = g_build_filename(dir, name, NULL);
		if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
			remove_tree(p);
		else
			g_unlink(p);
	}
	g_rmdir(dir);
}

static void teardown(Fixture *f, gconstpointer data)
{
	remove_tree(f->dir);
	g_free(f->dir);
	g_free(f->path);
}

static SmReplied *memory_at(const char *path, gint64 now, guint max_wait_ms)
{
	SmRepliedOptions o = { .path = path, .max_wait_ms = max_wait_ms, .db_wait_ms = 2000,
	                       .now = now };
	return sm_replied_new(&o);
}

static void test_claim_record(Fixture *f, gconstpointer data)
{
	g_autoptr(SmReplied) r = memory_at(f->path, T0, 1000);
	gint64 last = -1;
	g_assert_cmpint(sm_replied_claim(r, "Asker@Example.NET", "information", 3600, &last), ==,
	                SM_REPLIED_GO);
	g_assert_cmpint(last, ==, 0);
	sm_replied_finish(r, TRUE);
	g_assert_null(sm_replied_warning(r));
	g_assert_true(g_file_test(f->path, G_FILE_TEST_EXISTS));

	/* The same sender in any case, the same template: remembered. */
	g_assert_cmpint(sm_replied_claim(r, "asker@example.net", "information", 3600, &last), ==,
	                SM_REPLIED_RECENT);
	g_assert_cmpint(last, ==, T0);
	/* RECENT holds no claim: finishing is a no-op. */
	sm_replied_finish(r, TRUE);

	/* Another template, another sender: not. */
	g_assert_cmpint(sm_replied_claim(r, "asker@example.net", "vacation", 3600, NULL), ==,
	                SM_REPLIED_GO);
	sm_replied_finish(r, FALSE);
	g_assert_cmpint(sm_replied_claim(r, "other@example.net", "information", 3600, NULL), ==,
	                SM_REPLIED_GO);
	sm_replied_finish(r, FALSE);

	/* Not recorded when the reply was not sent. */
	g_assert_cmpint(sm_replied_claim(r, "asker@example.net", "vacation", 3600, NULL), ==,
	                SM_REPLIED_GO);
	sm_replied_finish(r, FALSE);
}

static void test_period(Fixture *f, gconstpointer data)
{
	{
		g_autoptr(SmReplied) r = memory_at(f->path, T0, 1000);
		g_assert_cmpint(sm_replied_claim(r, "a@x", "t", 7 * 86400, NULL), ==, SM_REPLIED_GO);
		sm_replied_finish(r, TRUE);
	}
	g_autoptr(SmReplied) later = memory_at(f->path, T0 + 7 * 86400 - 1, 1000);
	g_assert_cmpint(sm_replied_claim(later, "a@x", "t", 7 * 86400, NULL), ==,
	                SM_REPLIED_RECENT);
	/* The rule's period of now counts, not the recorded one. */
	g_assert_cmpint(sm_replied_claim(later, "a@x", "t", 86400, NULL), ==, SM_REPLIED_GO);
	sm_replied_finish(later, FALSE);

	g_autoptr(SmReplied) over = memory_at(f->path, T0 + 7 * 86400, 1000);
	g_assert_cmpint(sm_replied_claim(over, "a@x", "t", 7 * 86400, NULL), ==, SM_REPLIED_GO);
	sm_replied_finish(over, TRUE);
	g_assert_cmpint(sm_replied_claim(over, "a@x", "t", 7 * 86400, NULL), ==, SM_REPLIED_RECENT);

	/* A record from the far future (a clock set wrong) is not believed. */
	g_autoptr(SmReplied) past = memory_at(f->path, T0, 1000);
	g_assert_cmpint(sm_replied_claim(past, "a@x", "t", 7 * 86400, NULL), ==, SM_REPLIED_GO);
	sm_replied_finish(past, FALSE);
}

/* A claim held by one object (here: the same process, another descriptor)
 * keeps the other waiting, then BUSY. The outcome does not depend on how long
 * the wait is: the holder never lets go during it. */
static void test_busy(Fixture *f, gconstpointer data)
{
	g_autoptr(SmReplied) a = memory_at(f->path, T0, 1000);
	g_autoptr(SmReplied) b = memory_at(f->path, T0, 20);
	g_assert_cmpint(sm_replied_claim(a, "a@x", "t", 3600, NULL), ==, SM_REPLIED_GO);
	g_assert_cmpint(sm_replied_claim(b, "a@x", "t", 3600, NULL), ==, SM_REPLIED_BUSY);
	sm_replied_finish(a, TRUE);
	g_assert_cmpint(sm_replied_claim(b, "a@x", "t", 3600, NULL), ==, SM_REPLIED_RECENT);
	/* Freeing a claim that was never finished releases it, unrecorded. */
	g_assert_cmpint(sm_replied_claim(b, "c@x", "t", 3600, NULL), ==, SM_REPLIED_GO);
	g_clear_pointer(&b, sm_replied_free);
	g_assert_cmpint(sm_replied_claim(a, "c@x", "t", 3600, NULL), ==, SM_REPLIED_GO);
	sm_replied_finish(a, FALSE);
}

/* Five deliveries of one message from one sender, started together (a pipe
 * is their starting gun): each claims, and the one that may "sends" (appends
 * a line to a file) and records. Exactly one line, whatever the order. */
static void test_burst(Fixture *f, gconstpointer data)
{
	enum { N = 5 };
	g_autofree char *sent = g_build_filename(f->dir, "sent", NULL);
	int gun[2];
	g_assert_cmpint(pipe(gun), ==, 0);
	pid_t pids[N];
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		g_assert_cmpint(pids[i], >=, 0);
		if (pids[i] > 0)
			continue;
		close(gun[1]);
		char c;
		(void)!read(gun[0], &c, 1);
		SmReplied *r = memory_at(f->path, 0, 20000);
		SmRepliedClaim claim = sm_replied_claim(r, "burst@example.net", "unknown-address",
		                                        7 * 86400, NULL);
		if (claim == SM_REPLIED_GO) {
			int fd = open(sent, O_WRONLY | O_APPEND | O_CREAT, 0600);
			(void)!write(fd, "reply\n", 6);
			close(fd);
			g_usleep(50000); /* make the others wait for real */
		}
		sm_replied_finish(r, claim == SM_REPLIED_GO);
		gboolean clean = sm_replied_warning(r) == NULL;
		sm_replied_free(r);
		_exit(claim == SM_REPLIED_GO ? 10 : claim == SM_REPLIED_RECENT ? 11 : clean ? 12 : 13);
	}
	close(gun[0]);
	close(gun[1]);
	int go = 0, recent = 0;
	for (int i = 0; i < N; i++) {
		int status;
		g_assert_cmpint(waitpid(pids[i], &status, 0), ==, pids[i]);
		g_assert_true(WIFEXITED(status));
		go += WEXITSTATUS(status) == 10;
		recent += WEXITSTATUS(status) == 11;
	}
	g_assert_cmpint(go, ==, 1);
	g_assert_cmpint(recent, ==, N - 1);
	g_autofree char *text = NULL;
	g_assert_true(g_file_get_contents(sent, &text, NULL, NULL));
	g_assert_cmpstr(text, ==, "reply\n");
}

/* Fails closed: without a usable memory, no reply. */
static void test_unusable(Fixture *f, gconstpointer data)
{
	g_autofree char *file = g_build_filename(f->dir, "plain-file", NULL);
	g_assert_true(g_file_set_contents(file, "x", 1, NULL));
	g_autofree char *path = g_build_filename(file, "replied.db", NULL);
	g_autoptr(SmReplied) r = memory_at(path, T0, 100);
	g_assert_cmpint(sm_replied_claim(r, "a@x", "t", 3600, NULL), ==, SM_REPLIED_UNKNOWN);
	g_assert_nonnull(strstr(sm_replied_warning(r), "reply memory"));
	g_assert_cmpint(sm_replied_claim(r, "a@x", "t", 3600, NULL), ==, SM_REPLIED_UNKNOWN);
}

/* A corrupt file is moved aside and the memory starts again. */
static void test_corrupt(Fixture *f, gconstpointer data)
{
	g_autofree char *sub = g_path_get_dirname(f->path);
	g_assert_cmpint(g_mkdir_with_parents(sub, 0700), ==, 0);
	g_assert_true(g_file_set_contents(f->path, "this is not a GDBM file at all, no no no\n"
	                                  "really not", -1, NULL));
	g_autoptr(SmReplied) r = memory_at(f->path, T0, 1000);
	g_assert_cmpint(sm_replied_claim(r, "a@x", "t", 3600, NULL), ==, SM_REPLIED_GO);
	sm_replied_finish(r, TRUE);
	g_assert_nonnull(strstr(sm_replied_warning(r), "was corrupt"));
	g_assert_cmpint(sm_replied_claim(r, "a@x", "t", 3600, NULL), ==, SM_REPLIED_RECENT);
}

typedef struct {
	GPtrArray *lines;
} Listing;

static gboolean list_one(const SmRepliedEntry *e, gpointer user)
{
	Listing *l = user;
	g_ptr_array_add(l->lines, g_strdup_printf("%s %s %" G_GINT64_FORMAT " %u %s", e->sender,
	                                          e->template_name, e->replied_at, e->every,
	                                          e->stale ? "stale" : "fresh"));
	return TRUE;
}

static int compare_strings(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *listing(SmReplied *r)
{
	Listing l = { .lines = g_ptr_array_new_with_free_func(g_free) };
	g_autoptr(GError) error = NULL;
	g_assert_true(sm_replied_foreach(r, list_one, &l, &error));
	g_assert_no_error(error);
	g_ptr_array_sort(l.lines, compare_strings);
	g_ptr_array_add(l.lines, NULL);
	char *s = g_strjoinv("\n", (char **)l.lines->pdata);
	g_ptr_array_free(l.lines, TRUE);
	return s;
}

static void record_at(const char *path, gint64 now, const char *sender, const char *tmpl,
                      guint every)
{
	g_autoptr(SmReplied) r = memory_at(path, now, 1000);
	g_assert_cmpint(sm_replied_claim(r, sender, tmpl, every, NULL), ==, SM_REPLIED_GO);
	sm_replied_finish(r, TRUE);
}

static void test_maintenance(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	guint removed = 99;
	g_autoptr(SmReplied) r = memory_at(f->path, T0, 1000);
	/* No file yet: an empty memory. */
	g_autofree char *none = listing(r);
	g_assert_cmpstr(none, ==, "");
	g_assert_true(sm_replied_forget(r, "a@x", NULL, &removed, &error));
	g_assert_cmpuint(removed, ==, 0);

	record_at(f->path, T0 - 100, "a@x", "information", 3600);
	record_at(f->path, T0 - 100, "A@X", "vacation", 60);
	record_at(f->path, T0 - 100, "b@x", "information", 3600);
	g_autofree char *all = listing(r);
	g_assert_cmpstr(all, ==, "a@x information 1699999900 3600 fresh\n"
	                         "a@x vacation 1699999900 60 stale\n"
	                         "b@x information 1699999900 3600 fresh");

	g_assert_true(sm_replied_prune(r, &removed, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(removed, ==, 1);
	g_assert_true(sm_replied_forget(r, "B@x", "information", &removed, &error));
	g_assert_cmpuint(removed, ==, 1);
	g_assert_true(sm_replied_forget(r, "a@x", "vacation", &removed, &error));
	g_assert_cmpuint(removed, ==, 0);
	record_at(f->path, T0, "a@x", "vacation", 60);
	g_assert_true(sm_replied_forget(r, "a@x", NULL, &removed, &error));
	g_assert_cmpuint(removed, ==, 2);
	g_autofree char *empty = listing(r);
	g_assert_cmpstr(empty, ==, "");
	/* Forgotten: the next one goes out. */
	g_assert_cmpint(sm_replied_claim(r, "a@x", "information", 3600, NULL), ==, SM_REPLIED_GO);
	sm_replied_finish(r, FALSE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/replied/claim-record", Fixture, NULL, setup, test_claim_record, teardown);
	g_test_add("/replied/period", Fixture, NULL, setup, test_period, teardown);
	g_test_add("/replied/busy", Fixture, NULL, setup, test_busy, teardown);
	g_test_add("/replied/burst", Fixture, NULL, setup, test_burst, teardown);
	g_test_add("/replied/unusable", Fixture, NULL, setup, test_unusable, teardown);
	g_test_add("/replied/corrupt", Fixture, NULL, setup, test_corrupt, teardown);
	g_test_add("/replied/maintenance", Fixture, NULL, setup, test_maintenance, teardown);
	return g_test_run();
}
