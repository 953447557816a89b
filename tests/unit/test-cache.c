/* test-cache.c: the verdict cache (cache/): key, get-or-compute, single flight
 * across processes, recovery from broken files, duplicates journal, maintenance.
 *
 * Concurrency tests sequence processes with pipes, never with sleeps: the
 * computing child blocks until the parent has heard every other child report
 * (through the on_wait hook) that it is waiting.
 */
#include "config.h"
#include "cache/cache.h"
#include "cache/cache-db.h"
#include "cache/cache-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SM_TEST_DATA
#error "SM_TEST_DATA must name tests/data"
#endif

/* ---- helpers ----------------------------------------------------------- */

static void rm_rf(const char *path)
{
	GDir *d = g_dir_open(path, 0, NULL);
	if (d) {
		const char *name;
		while ((name = g_dir_read_name(d))) {
			g_autofree char *child = g_build_filename(path, name, NULL);
			rm_rf(child);
		}
		g_dir_close(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

typedef struct {
	char *dir;
	char *db;
	char *counter; /* each compute() appends two bytes */
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
	f->dir = g_dir_make_tmp("test-cache-XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	f->db = g_build_filename(f->dir, "home", ".sortmail", "verdicts.db", NULL);
	f->counter = g_build_filename(f->dir, "computed", NULL);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
	rm_rf(f->dir);
	g_free(f->dir);
	g_free(f->db);
	g_free(f->counter);
}

static SmCacheOptions options(const Fixture *f)
{
	SmCacheOptions o;
	sm_cache_options_init(&o);
	o.path = f->db;
	o.fingerprint = "rules-v1";
	return o;
}

static void load_message(const char *name, char **data, SmMessage *m)
{
	g_autofree char *path = g_build_filename(SM_TEST_DATA, "cache", name, NULL);
	gsize len;
	g_assert_true(g_file_get_contents(path, data, &len, NULL));
	sm_message_index(m, *data, len);
}

static void key_of_file(const char *name, char out[SM_CACHE_KEY_LEN + 1])
{
	g_autofree char *data = NULL;
	SmMessage m;
	load_message(name, &data, &m);
	sm_cache_key(&m, out);
	sm_message_clear(&m);
}

static void key_of_string(const char *s, char out[SM_CACHE_KEY_LEN + 1])
{
	SmMessage m;
	sm_message_index(&m, s, strlen(s));
	sm_cache_key(&m, out);
	sm_message_clear(&m);
}

static guint count_computes(const Fixture *f)
{
	struct stat st;
	if (stat(f->counter, &st) != 0)
		return 0;
	return st.st_size / 2;
}

/* Parent-side view of the concurrency protocol, and the compute() used by
 * every test: it appends to the counter file, and the first one ever may
 * report 'C' and block until the parent writes to go_fd (or kills it). */
typedef struct {
	const Fixture *f;
	int status_fd;    /* children write Report records here; -1 in-process */
	int go_fd;        /* the first computer blocks reading this; -1: no block */
	gboolean fail;
	gboolean dont_cache;
	gboolean degraded; /* the verdict says DNS was unavailable */
	double score;
} Compute;

typedef struct {
	char tag; /* 'C' computing, 'W' waiting, 'D' done, 'E' child error */
	pid_t pid;
} Report;

static void report(int fd, char tag)
{
	Report r;
	memset(&r, 0, sizeof r); /* the padding is written too (valgrind) */
	r.tag = tag;
	r.pid = getpid();
	if (fd >= 0 && write(fd, &r, sizeof r) != sizeof r)
		_exit(99);
}

static void on_wait(gpointer data)
{
	const Compute *cp = data;
	report(cp->status_fd, 'W');
}

static gboolean compute(SmVerdict *out, gpointer user, GError **error)
{
	Compute *cp = user;
	int fd = open(cp->f->counter, O_WRONLY | O_APPEND | O_CREAT, 0600);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, "x\n", 2), ==, 2);
	close(fd);
	if (cp->go_fd >= 0 && count_computes(cp->f) == 1) {
		char c;
		report(cp->status_fd, 'C');
		if (read(cp->go_fd, &c, 1) != 1)
			_exit(98);
	}
	if (cp->fail) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "scorer broke");
		return FALSE;
	}
	out->score = cp->score;
	out->threshold = 5.0;
	out->is_spam = cp->score >= 5.0;
	g_ptr_array_add(out->rules, g_strdup("RULE_A"));
	g_ptr_array_add(out->rules, g_strdup("RULE_B"));
	if (cp->degraded)
		g_ptr_array_add(out->rules, g_strdup(SM_RULE_DNS_UNAVAILABLE));
	out->source = cp->dont_cache ? SM_VERDICT_NONE : SM_VERDICT_SCORED;
	return TRUE;
}

/* One get-or-compute in a fresh SmCache; returns the source, asserts the rest. */
static SmVerdictSource get(const Fixture *f, const SmCacheOptions *o, const char *key,
                           Compute *cp, char **warning)
{
	g_autoptr(SmCache) c = sm_cache_new(o);
	g_autoptr(GError) error = NULL;
	SmVerdict v;
	sm_verdict_init(&v);
	g_assert_true(sm_cache_get_or_compute(c, key, compute, cp, &v, &error));
	g_assert_no_error(error);
	g_assert_cmpfloat(v.score, ==, cp->score);
	g_assert_cmpfloat(v.threshold, ==, 5.0);
	g_assert_cmpuint(v.rules->len, ==, cp->degraded ? 3 : 2);
	g_assert_cmpstr(v.rules->pdata[1], ==, "RULE_B");
	if (v.source != SM_VERDICT_NONE)
		g_assert_cmpint(v.scored_at, >, 0);
	SmVerdictSource s = v.source;
	sm_verdict_clear(&v);
	if (warning)
		*warning = g_strdup(sm_cache_warning(c));
	else
		g_assert_null(sm_cache_warning(c));
	return s;
}

static const char *const KEY = "7f14c3eb3ebeca309eca6d41e1af671aa41cf277c856352832e662486db91d2d";

/* ---- the key ----------------------------------------------------------- */

static void test_key_copies_share(void)
{
	char a[65], b[65], crlf[65], reused[65], none[65];
	key_of_file("copy-alice.eml", a);
	key_of_file("copy-bob.eml", b);
	key_of_file("copy-carol-crlf.eml", crlf);
	key_of_file("reused-id.eml", reused);
	key_of_file("no-message-id.eml", none);
	g_assert_cmpstr(a, ==, b);
	g_assert_cmpstr(a, ==, crlf);
	g_assert_cmpstr(a, !=, reused);
	g_assert_cmpstr(a, !=, none);
	g_assert_cmpuint(strlen(none), ==, SM_CACHE_KEY_LEN);
}

/* keys.txt was computed by an independent implementation (keys.py). */
static void test_key_golden(void)
{
	g_autofree char *path = g_build_filename(SM_TEST_DATA, "cache", "keys.txt", NULL);
	g_autofree char *text = NULL;
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	guint checked = 0;
	for (guint i = 0; lines[i]; i++) {
		g_auto(GStrv) f = g_strsplit(lines[i], " ", 2);
		if (g_strv_length(f) != 2)
			continue;
		char key[65];
		key_of_file(f[0], key);
		g_assert_cmpstr(key, ==, f[1]);
		checked++;
	}
	g_assert_cmpuint(checked, ==, 5);
}

static void test_key_normalization(void)
{
	char k1[65], k2[65], k3[65], k4[65], k5[65];
	key_of_string("Message-ID: <id@x>\nSubject: a\n\nbody\r\n", k1);
	key_of_string("X-Spam: 1\nmessage-id:   <id@x>  (a comment)\n\nbody\n", k2);
	key_of_string("Message-Id: id@x\nMessage-ID: <other@x>\n\nbody\n", k3);
	key_of_string("Message-ID: <ID@X>\n\nbody\n", k4);
	key_of_string("Message-ID: <id@x>\n\nbody\r", k5);
	g_assert_cmpstr(k1, ==, k2);
	g_assert_cmpstr(k1, ==, k3);
	g_assert_cmpstr(k1, !=, k4); /* no case folding */
	g_assert_cmpstr(k1, !=, k5); /* a lone CR is not a line ending */

	/* No Message-ID and no body: SHA-256 of one NUL byte. */
	char empty[65];
	key_of_string("Subject: x\n", empty);
	g_autofree char *want = g_compute_checksum_for_data(G_CHECKSUM_SHA256,
	                                                    (const guchar *)"", 1);
	g_assert_cmpstr(empty, ==, want);
}

/* ---- get or compute, one process --------------------------------------- */

static void test_miss_then_hit(Fixture *f, gconstpointer data)
{
	SmCacheOptions o = options(f);
	Compute cp = { .f = f, .status_fd = -1, .go_fd = -1, .score = 7.25 };
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_SCORED);
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_CACHED);
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_CACHED);
	g_assert_cmpuint(count_computes(f), ==, 1);

	struct stat st;
	g_assert_cmpint(stat(f->db, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	g_autofree char *lock = g_strconcat(f->db, ".lock", NULL);
	g_assert_cmpint(stat(lock, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	g_autofree char *dir = g_path_get_dirname(f->db);
	g_assert_cmpint(stat(dir, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0700);
}

static void test_stale_by_ttl(Fixture *f, gconstpointer data)
{
	SmCacheOptions o = options(f);
	Compute cp = { .f = f, .status_fd = -1, .go_fd = -1, .score = 1.5 };
	o.ttl = 3600;
	o.now = 1700000000;
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_SCORED);
	o.now += 3599;
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_CACHED);
	o.now += 1;
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_SCORED);
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_CACHED);
	/* A record from the future (clock stepped back far) is not believed. */
	o.now -= 3 * 3600;
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_SCORED);
	g_assert_cmpuint(count_computes(f), ==, 3);
}

/* A verdict made while DNS (or spamd) was unavailable is kept for
 * degraded_ttl only; a whole one for the TTL. */
static void test_stale_degraded(Fixture *f, gconstpointer data)
{
	SmCacheOptions o = options(f);
	Compute cp = { .f = f, .status_fd = -1, .go_fd = -1, .score = 2.5, .degraded = TRUE };
	o.ttl = 3600;
	o.degraded_ttl = 600;
	o.now = 1700000000;
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_SCORED);
	o.now += 599;
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_CACHED);
	o.now += 1;
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_SCORED);
	/* the outage is over: the new verdict is whole and kept for the TTL */
	cp.degraded = FALSE;
	o.now += 600;
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_SCORED);
	o.now += 3599;
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_CACHED);
	g_assert_cmpuint(count_computes(f), ==, 3);

	/* degraded_ttl longer than the TTL: the TTL still bounds it */
	SmCacheOptions o2 = options(f);
	Compute cp2 = { .f = f, .status_fd = -1, .go_fd = -1, .score = 2.5, .degraded = TRUE };
	o2.ttl = 300;
	o2.degraded_ttl = 900;
	o2.now = 1800000000;
	g_assert_cmpint(get(f, &o2, KEY, &cp2, NULL), ==, SM_VERDICT_SCORED);
	o2.now += 300;
	g_assert_cmpint(get(f, &o2, KEY, &cp2, NULL), ==, SM_VERDICT_SCORED);
}

static void test_stale_by_fingerprint(Fixture *f, gconstpointer data)
{
	SmCacheOptions o = options(f);
	Compute cp = { .f = f, .status_fd = -1, .go_fd = -1, .score = 9 };
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_SCORED);
	o.fingerprint = "rules-v2";
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_SCORED);
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_CACHED);
	o.fingerprint = NULL;
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_SCORED);
	g_assert_cmpuint(count_computes(f), ==, 3);
}

static void test_compute_failure(Fixture *f, gconstpointer data)
{
	SmCacheOptions o = options(f);
	Compute cp = { .f = f, .status_fd = -1, .go_fd = -1, .score = 3, .fail = TRUE };
	g_autoptr(SmCache) c = sm_cache_new(&o);
	g_autoptr(GError) error = NULL;
	SmVerdict v;
	sm_verdict_init(&v);
	g_assert_false(sm_cache_get_or_compute(c, KEY, compute, &cp, &v, &error));
	g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED);
	sm_verdict_clear(&v);

	/* Nothing was stored, and the flight lock was released. */
	cp.fail = FALSE;
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_SCORED);
	g_assert_cmpuint(count_computes(f), ==, 2);
}

static void test_dont_cache(Fixture *f, gconstpointer data)
{
	SmCacheOptions o = options(f);
	Compute cp = { .f = f, .status_fd = -1, .go_fd = -1, .score = 2, .dont_cache = TRUE };
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_NONE);
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_NONE);
	g_assert_cmpuint(count_computes(f), ==, 2);
}

/* A record of a version this code does not know reads as no record. */
static void test_unknown_record_version(Fixture *f, gconstpointer data)
{
	SmCacheOptions o = options(f);
	Compute cp = { .f = f, .status_fd = -1, .go_fd = -1, .score = 6 };
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_SCORED);

	SmDb *db = NULL;
	g_autofree char *why = NULL;
	g_assert_cmpint(sm_db_open(f->db, SM_DB_WRITE, 0600, 1000, &db, NULL, &why), ==, SM_DB_OK);
	g_assert_cmpint(sm_db_store(db, KEY, "2\tsomething new", &why), ==, SM_DB_OK);
	sm_db_close(db);
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_SCORED);
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_CACHED);
}

/* ---- single flight across processes ------------------------------------ */

typedef struct {
	guint scored, cached, waited, killed, other;
} Outcomes;

static void child_run(const Fixture *f, const char *key, Compute *cp)
{
	SmCacheOptions o = options(f);
	o.on_wait = on_wait;
	o.on_wait_data = cp;
	SmCache *c = sm_cache_new(&o);
	SmVerdict v;
	sm_verdict_init(&v);
	gboolean ok = sm_cache_get_or_compute(c, key, compute, cp, &v, NULL);
	int code = ok && v.score == cp->score && v.rules->len == 2 && !sm_cache_warning(c)
	           ? (int)v.source : 20;
	report(cp->status_fd, code == 20 ? 'E' : 'D');
	sm_verdict_clear(&v);
	sm_cache_free(c);
	_exit(code);
}

/* Forks one delivery of @key reporting to @status; its compute() blocks on
 * @go if it is the first compute of the test. */
static pid_t spawn(Fixture *f, const char *key, int status[2], int go[2])
{
	pid_t pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		close(status[0]);
		close(go[1]);
		Compute cp = { .f = f, .status_fd = status[1], .go_fd = go[0], .score = 8.5 };
		child_run(f, key, &cp);
	}
	return pid;
}

static int exit_code(pid_t pid)
{
	int st;
	g_assert_cmpint(waitpid(pid, &st, 0), ==, pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

/* Reads one Report from before the parent's "go": nobody can be done yet.
 * The 120 s guard turns a lost child into a failure, not a hang. */
static Report read_report(int fd)
{
	Report r;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	g_assert_cmpint(poll(&p, 1, 120000), ==, 1);
	g_assert_cmpint(read(fd, &r, sizeof r), ==, sizeof r);
	g_assert_cmpint(r.tag, !=, 'E');
	g_assert_cmpint(r.tag, !=, 'D');
	return r;
}

/* Forks @n deliveries of one key; the first computer blocks until all the
 * others wait. Then either lets it finish or kills it. */
static Outcomes burst(Fixture *f, guint n, gboolean kill_computer)
{
	int status[2], go[2];
	g_autofree pid_t *pids = g_new(pid_t, n);
	Outcomes out = { 0 };

	g_assert_cmpint(pipe(status), ==, 0);
	g_assert_cmpint(pipe(go), ==, 0);
	for (guint i = 0; i < n; i++)
		pids[i] = spawn(f, KEY, status, go);
	close(status[1]);
	close(go[0]);

	pid_t computer = 0;
	for (guint heard = 0; heard < n; heard++) {
		Report r = read_report(status[0]);
		if (r.tag == 'C')
			computer = r.pid;
	}
	g_assert_cmpint(computer, >, 0);
	if (kill_computer)
		g_assert_cmpint(kill(computer, SIGKILL), ==, 0);
	else
		g_assert_cmpint(write(go[1], "g", 1), ==, 1);

	for (guint i = 0; i < n; i++) {
		int code = exit_code(pids[i]);
		if (code == -SIGKILL && pids[i] == computer)
			out.killed++;
		else if (code == SM_VERDICT_SCORED)
			out.scored++;
		else if (code == SM_VERDICT_CACHED)
			out.cached++;
		else if (code == SM_VERDICT_WAITED)
			out.waited++;
		else
			out.other++;
	}
	close(status[0]);
	close(go[1]);
	return out;
}

static void test_burst(Fixture *f, gconstpointer data)
{
	guint n = GPOINTER_TO_UINT(data);
	Outcomes o = burst(f, n, FALSE);
	g_assert_cmpuint(count_computes(f), ==, 1);
	g_assert_cmpuint(o.scored, ==, 1);
	g_assert_cmpuint(o.waited, ==, n - 1);
	g_assert_cmpuint(o.cached + o.killed + o.other, ==, 0);

	/* Later deliveries of the same message: a plain cache hit. */
	Compute cp = { .f = f, .status_fd = -1, .go_fd = -1, .score = 8.5 };
	SmCacheOptions opts = options(f);
	g_assert_cmpint(get(f, &opts, KEY, &cp, NULL), ==, SM_VERDICT_CACHED);
}

static void test_burst_computer_killed(Fixture *f, gconstpointer data)
{
	Outcomes o = burst(f, 20, TRUE);
	g_assert_cmpuint(o.killed, ==, 1);
	g_assert_cmpuint(count_computes(f), ==, 2);
	g_assert_cmpuint(o.scored, ==, 1);
	g_assert_cmpuint(o.waited, ==, 18);
	g_assert_cmpuint(o.cached + o.other, ==, 0);
}

/* Two keys that share a flight slot: the second waits for the first, finds
 * no verdict of its own, and computes it. */
static void test_slot_collision(Fixture *f, gconstpointer data)
{
	char other[32] = "";
	for (guint i = 0; !*other; i++) {
		g_snprintf(other, sizeof other, "other-%u", i);
		if (sm_lock_slot(other) != sm_lock_slot(KEY))
			*other = '\0';
	}
	int status[2], go[2];
	g_assert_cmpint(pipe(status), ==, 0);
	g_assert_cmpint(pipe(go), ==, 0);
	pid_t first = spawn(f, KEY, status, go);
	g_assert_cmpint(read_report(status[0]).tag, ==, 'C');
	pid_t second = spawn(f, other, status, go);
	g_assert_cmpint(read_report(status[0]).tag, ==, 'W');
	g_assert_cmpint(write(go[1], "g", 1), ==, 1);
	g_assert_cmpint(exit_code(first), ==, SM_VERDICT_SCORED);
	g_assert_cmpint(exit_code(second), ==, SM_VERDICT_SCORED);
	g_assert_cmpuint(count_computes(f), ==, 2);
	close(status[0]);
	close(status[1]);
	close(go[0]);
	close(go[1]);
}

/* A scorer that takes longer than max_wait_ms: the waiter scores by itself. */
static void test_wait_timeout(Fixture *f, gconstpointer data)
{
	int status[2], go[2];
	g_assert_cmpint(pipe(status), ==, 0);
	g_assert_cmpint(pipe(go), ==, 0);
	pid_t slow = spawn(f, KEY, status, go);
	g_assert_cmpint(read_report(status[0]).tag, ==, 'C');

	SmCacheOptions o = options(f);
	Compute cp = { .f = f, .status_fd = -1, .go_fd = -1, .score = 8.5 };
	o.max_wait_ms = 20;
	g_autofree char *w = NULL;
	g_assert_cmpint(get(f, &o, KEY, &cp, &w), ==, SM_VERDICT_SCORED);
	g_assert_nonnull(w);
	g_test_message("warning: %s", w);
	g_assert_nonnull(strstr(w, "waited 20 ms"));

	g_assert_cmpint(write(go[1], "g", 1), ==, 1);
	g_assert_cmpint(exit_code(slow), ==, SM_VERDICT_SCORED);
	g_assert_cmpuint(count_computes(f), ==, 2);
	close(status[0]);
	close(status[1]);
	close(go[0]);
	close(go[1]);
}

/* ---- broken files ------------------------------------------------------ */

static guint count_corrupt_files(const Fixture *f)
{
	g_autofree char *dir = g_path_get_dirname(f->db);
	g_autofree char *base = g_path_get_basename(f->db);
	g_autofree char *prefix = g_strconcat(base, ".corrupt-", NULL);
	GDir *d = g_dir_open(dir, 0, NULL);
	guint n = 0;
	const char *name;
	while (d && (name = g_dir_read_name(d)))
		n += g_str_has_prefix(name, prefix);
	if (d)
		g_dir_close(d);
	return n;
}

static void check_recovers(Fixture *f)
{
	SmCacheOptions o = options(f);
	Compute cp = { .f = f, .status_fd = -1, .go_fd = -1, .score = 4 };
	g_autofree char *warning = NULL;
	g_assert_cmpint(get(f, &o, KEY, &cp, &warning), ==, SM_VERDICT_SCORED);
	g_assert_nonnull(warning);
	g_test_message("warning: %s", warning);
	g_assert_nonnull(strstr(warning, "corrupt"));
	g_assert_nonnull(strstr(warning, "moved aside"));
	g_assert_cmpuint(count_corrupt_files(f), ==, 1);
	/* Recreated, and usable again. */
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_CACHED);
	g_assert_cmpuint(count_computes(f), ==, 1);
}

static void test_garbage_file(Fixture *f, gconstpointer data)
{
	g_autofree char *dir = g_path_get_dirname(f->db);
	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	g_autofree char *garbage = g_strnfill(10000, 'g');
	g_assert_true(g_file_set_contents(f->db, garbage, -1, NULL));
	check_recovers(f);
}

static void test_truncated_file(Fixture *f, gconstpointer data)
{
	SmCacheOptions o = options(f);
	Compute cp = { .f = f, .status_fd = -1, .go_fd = -1, .score = 4 };
	char key[65];
	for (int i = 0; i < 50; i++) {
		g_autofree char *msg = g_strdup_printf("Message-ID: <%d@x>\n\nbody %d\n", i, i);
		key_of_string(msg, key);
		g_assert_cmpint(get(f, &o, key, &cp, NULL), ==, SM_VERDICT_SCORED);
	}
	g_assert_cmpint(truncate(f->db, 700), ==, 0);
	g_assert_cmpint(unlink(f->counter), ==, 0);
	check_recovers(f);
}

static void test_unusable_directory(Fixture *f, gconstpointer data)
{
	/* A regular file where the directory should be: fails even for root. */
	g_autofree char *blocker = g_build_filename(f->dir, "home", NULL);
	g_assert_true(g_file_set_contents(blocker, "not a directory", -1, NULL));
	SmCacheOptions o = options(f);
	Compute cp = { .f = f, .status_fd = -1, .go_fd = -1, .score = 6 };
	g_autofree char *w1 = NULL, *w2 = NULL;
	g_assert_cmpint(get(f, &o, KEY, &cp, &w1), ==, SM_VERDICT_SCORED);
	g_assert_nonnull(w1);
	g_test_message("warning: %s", w1);
	g_assert_nonnull(strstr(w1, "unusable"));
	g_assert_cmpint(get(f, &o, KEY, &cp, &w2), ==, SM_VERDICT_SCORED);
	g_assert_cmpuint(count_computes(f), ==, 2);

	/* The journal is advisory: it answers "not filed" and stays quiet about it. */
	g_autoptr(SmCache) c = sm_cache_new(&o);
	g_assert_false(sm_cache_already_filed(c, KEY, "a@x"));
	sm_cache_mark_filed(c, KEY, "a@x");
	g_assert_false(sm_cache_already_filed(c, KEY, "a@x"));
	g_assert_nonnull(sm_cache_warning(c));
}

static void test_unwritable_directory(Fixture *f, gconstpointer data)
{
	if (geteuid() == 0) {
		g_test_skip("root can write anywhere; test_unusable_directory covers this");
		return;
	}
	g_autofree char *dir = g_path_get_dirname(f->db);
	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	g_assert_cmpint(chmod(dir, 0500), ==, 0);
	SmCacheOptions o = options(f);
	Compute cp = { .f = f, .status_fd = -1, .go_fd = -1, .score = 6 };
	g_autofree char *w = NULL;
	g_assert_cmpint(get(f, &o, KEY, &cp, &w), ==, SM_VERDICT_SCORED);
	g_assert_nonnull(w);
	g_test_message("warning: %s", w);
	g_assert_nonnull(strstr(w, "Permission denied"));
	chmod(dir, 0700);
}

/* GDBM's own lock held by someone else for longer than db_wait_ms. */
static void test_database_busy(Fixture *f, gconstpointer data)
{
	SmCacheOptions o = options(f);
	Compute cp = { .f = f, .status_fd = -1, .go_fd = -1, .score = 6 };
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_SCORED);

	SmDb *db = NULL;
	g_autofree char *why = NULL;
	g_assert_cmpint(sm_db_open(f->db, SM_DB_WRITE, 0600, 1000, &db, NULL, &why), ==, SM_DB_OK);
	o.db_wait_ms = 20;
	g_autofree char *w = NULL;
	g_assert_cmpint(get(f, &o, KEY, &cp, &w), ==, SM_VERDICT_SCORED);
	g_assert_nonnull(w);
	g_test_message("warning: %s", w);
	g_assert_nonnull(strstr(w, "locked"));
	sm_db_close(db);
	g_assert_cmpint(get(f, &o, KEY, &cp, NULL), ==, SM_VERDICT_CACHED);
	g_assert_cmpuint(count_computes(f), ==, 2);
}

/* ---- duplicates journal ------------------------------------------------ */

static void test_duplicates(Fixture *f, gconstpointer data)
{
	SmCacheOptions o = options(f);
	o.now = 1700000000;
	o.ttl = 600;
	g_autoptr(SmCache) c = sm_cache_new(&o);
	g_assert_false(sm_cache_already_filed(c, KEY, "alice@example.com"));
	sm_cache_mark_filed(c, KEY, "alice@example.com");
	g_assert_true(sm_cache_already_filed(c, KEY, "alice@example.com"));
	g_assert_false(sm_cache_already_filed(c, KEY, "bob@example.com"));
	g_assert_false(sm_cache_already_filed(c, "0000", "alice@example.com"));
	g_assert_null(sm_cache_warning(c));

	o.now += 599;
	g_autoptr(SmCache) later = sm_cache_new(&o);
	g_assert_true(sm_cache_already_filed(later, KEY, "alice@example.com"));
	o.now += 1;
	g_autoptr(SmCache) expired = sm_cache_new(&o);
	g_assert_false(sm_cache_already_filed(expired, KEY, "alice@example.com"));

	o.now -= 1;
	o.duplicates = FALSE;
	g_autoptr(SmCache) off = sm_cache_new(&o);
	g_assert_false(sm_cache_already_filed(off, KEY, "alice@example.com"));
	sm_cache_mark_filed(off, KEY, "bob@example.com");
	g_assert_false(sm_cache_already_filed(later, KEY, "bob@example.com"));
}

/* The journal is a directory of files; deliveries prune it once an hour. */
static void test_journal_files(Fixture *f, gconstpointer data)
{
	SmCacheOptions o = options(f);
	o.now = 1700000000;
	o.ttl = 7200;
	g_autoptr(SmCache) c = sm_cache_new(&o);
	sm_cache_mark_filed(c, KEY, "alice@example.com");
	g_assert_null(sm_cache_warning(c));

	g_autofree char *dir = g_strconcat(f->db, ".filed", NULL);
	g_autofree char *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256,
	                                                      "alice@example.com", -1);
	g_autofree char *name = g_strdup_printf("%s/%s.%.32s", dir, KEY, hash);
	struct stat st;
	g_assert_cmpint(lstat(name, &st), ==, 0);
	g_assert_cmpint(st.st_mtime, ==, o.now);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	g_assert_cmpint(lstat(dir, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0700);

	/* A symlink planted under a filing's name is not a filing. */
	g_autofree char *bob = g_compute_checksum_for_string(G_CHECKSUM_SHA256,
	                                                     "bob@example.com", -1);
	g_autofree char *planted = g_strdup_printf("%s/%s.%.32s", dir, KEY, bob);
	g_assert_cmpint(symlink(name, planted), ==, 0);
	g_assert_false(sm_cache_already_filed(c, KEY, "bob@example.com"));

	/* Within the hour nobody scans; after it the next filing prunes. */
	o.now += 3599;
	g_autoptr(SmCache) soon = sm_cache_new(&o);
	sm_cache_mark_filed(soon, "1111", "carol@example.com");
	o.now += 3601; /* alice's filing is 7200 s old: stale; 1111's is fresh */
	g_autoptr(SmCache) later = sm_cache_new(&o);
	g_assert_false(sm_cache_already_filed(later, KEY, "alice@example.com"));
	g_assert_cmpint(lstat(name, &st), ==, 0);
	sm_cache_mark_filed(later, "2222", "carol@example.com");
	g_assert_cmpint(lstat(name, &st), ==, -1);
	g_assert_cmpint(lstat(planted, &st), ==, -1);
	g_assert_true(sm_cache_already_filed(later, "2222", "carol@example.com"));
	g_assert_null(sm_cache_warning(later));

	/* A journal record of sortmail 0.1 in the database goes at the next prune. */
	SmDb *db = NULL;
	g_autofree char *why = NULL;
	g_assert_cmpint(sm_db_open(f->db, SM_DB_CREATE, 0600, 1000, &db, NULL, &why), ==, SM_DB_OK);
	g_assert_cmpint(sm_db_store(db, "F:abcd:0123", "1\t1700000000", &why), ==, SM_DB_OK);
	sm_db_close(db);
	g_autoptr(GError) error = NULL;
	SmCacheStats stats;
	g_assert_true(sm_cache_stats(later, &stats, &error));
	g_assert_cmpuint(stats.filings, ==, 3);
	g_assert_cmpuint(stats.stale_filings, ==, 1);
	guint removed;
	g_assert_true(sm_cache_prune(later, &removed, &error));
	g_assert_cmpuint(removed, ==, 1);
	g_assert_true(sm_cache_stats(later, &stats, &error));
	g_assert_cmpuint(stats.filings, ==, 2);
	g_assert_cmpuint(stats.stale_filings, ==, 0);
	g_assert_no_error(error);
}

/* The read-only journal lookup of `sortmail explain`: the same answers as
 * sm_cache_already_filed(), no file created when there is none. */
static void test_lookup_filed(Fixture *f, gconstpointer data)
{
	SmCacheOptions o = options(f);
	o.now = 1700000000;
	o.ttl = 600;
	g_autoptr(SmCache) c = sm_cache_new(&o);
	gint64 at = -1;
	g_autoptr(GError) error = NULL;
	g_assert_true(sm_cache_lookup_filed(c, KEY, "alice@example.com", &at, &error));
	g_assert_no_error(error);
	g_assert_cmpint(at, ==, 0);
	g_assert_false(g_file_test(o.path, G_FILE_TEST_EXISTS));
	sm_cache_mark_filed(c, KEY, "alice@example.com");
	g_assert_true(sm_cache_lookup_filed(c, KEY, "alice@example.com", &at, &error));
	g_assert_cmpint(at, ==, 1700000000);
	g_assert_true(sm_cache_lookup_filed(c, KEY, "bob@example.com", &at, &error));
	g_assert_cmpint(at, ==, 0);
	o.now += 600;
	g_autoptr(SmCache) expired = sm_cache_new(&o);
	g_assert_true(sm_cache_lookup_filed(expired, KEY, "alice@example.com", &at, &error));
	g_assert_cmpint(at, ==, 0);
}

/* ---- maintenance ------------------------------------------------------- */

static gboolean collect_entry(const SmCacheEntry *e, gpointer user)
{
	GPtrArray *lines = user;
	g_ptr_array_add(lines, g_strdup_printf("%.8s %s %s", e->key, e->stale ? "stale" : "fresh",
	                                       e->valid ? e->fingerprint : "(invalid)"));
	return TRUE;
}

static void test_maintenance(Fixture *f, gconstpointer data)
{
	SmCacheOptions o = options(f);
	Compute cp = { .f = f, .status_fd = -1, .go_fd = -1, .score = 5.5 };
	o.now = 1700000000;
	o.ttl = 1000;
	g_autoptr(GError) error = NULL;
	SmCacheStats st;

	/* No file at all: an empty cache, not an error. */
	g_autoptr(SmCache) none = sm_cache_new(&o);
	g_assert_true(sm_cache_stats(none, &st, &error));
	g_assert_cmpuint(st.entries + st.filings + st.size, ==, 0);

	const char *const keys[] = { "aaaa", "bbbb", "cccc" };
	for (guint i = 0; i < 3; i++) {
		o.now = 1700000000 + i * 500; /* aaaa will be stale at the end */
		g_assert_cmpint(get(f, &o, keys[i], &cp, NULL), ==, SM_VERDICT_SCORED);
	}
	o.fingerprint = "rules-v2"; /* dddd's fingerprint is not the current one */
	g_assert_cmpint(get(f, &o, "dddd", &cp, NULL), ==, SM_VERDICT_SCORED);
	o.fingerprint = "rules-v1";
	g_autoptr(SmCache) c = sm_cache_new(&o);
	sm_cache_mark_filed(c, "bbbb", "alice@example.com");
	sm_cache_mark_filed(c, "bbbb", "bob@example.com");
	sm_cache_mark_filed(c, "cccc", "bob@example.com");

	g_assert_true(sm_cache_stats(c, &st, &error));
	g_assert_cmpuint(st.entries, ==, 4);
	g_assert_cmpuint(st.stale, ==, 2);
	g_assert_cmpuint(st.filings, ==, 3);
	g_assert_cmpuint(st.stale_filings, ==, 0);
	g_assert_cmpint(st.oldest, ==, 1700000000);
	g_assert_cmpint(st.newest, ==, 1700001000);
	g_assert_cmpint(st.size, >, 0);

	g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
	g_assert_true(sm_cache_foreach(c, collect_entry, lines, &error));
	g_assert_cmpuint(lines->len, ==, 4);

	SmCacheEntry e;
	gboolean found;
	g_assert_true(sm_cache_lookup(c, "bbbb", &e, &found, &error));
	g_assert_true(found);
	g_assert_true(e.valid);
	g_assert_false(e.stale);
	g_assert_cmpfloat(e.verdict.score, ==, 5.5);
	g_assert_true(e.verdict.is_spam);
	g_assert_cmpstr(e.fingerprint, ==, "rules-v1");
	sm_cache_entry_clear(&e);
	g_assert_true(sm_cache_lookup(c, "zzzz", &e, &found, &error));
	g_assert_false(found);

	guint removed;
	g_assert_true(sm_cache_forget(c, "bbbb", &removed, &error));
	g_assert_cmpuint(removed, ==, 3);
	g_assert_true(sm_cache_prune(c, &removed, &error));
	g_assert_cmpuint(removed, ==, 2);
	g_assert_true(sm_cache_stats(c, &st, &error));
	g_assert_cmpuint(st.entries, ==, 1);
	g_assert_cmpuint(st.stale, ==, 0);
	g_assert_cmpuint(st.filings, ==, 1);
	g_assert_no_error(error);

	/* Maintenance reports a corrupt file instead of moving it. */
	g_assert_true(g_file_set_contents(f->db, "garbage garbage garbage", -1, NULL));
	g_assert_false(sm_cache_stats(c, &st, &error));
	g_assert_error(error, SM_CACHE_ERROR, SM_CACHE_ERROR_CORRUPT);
	g_assert_cmpuint(count_corrupt_files(f), ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/cache/key/copies-share", test_key_copies_share);
	g_test_add_func("/cache/key/golden", test_key_golden);
	g_test_add_func("/cache/key/normalization", test_key_normalization);
#define ADD(path, fn, data) \
	g_test_add(path, Fixture, data, fixture_setup, fn, fixture_teardown)
	ADD("/cache/get/miss-then-hit", test_miss_then_hit, NULL);
	ADD("/cache/get/stale-by-ttl", test_stale_by_ttl, NULL);
	ADD("/cache/get/stale-degraded", test_stale_degraded, NULL);
	ADD("/cache/get/stale-by-fingerprint", test_stale_by_fingerprint, NULL);
	ADD("/cache/get/compute-failure", test_compute_failure, NULL);
	ADD("/cache/get/dont-cache", test_dont_cache, NULL);
	ADD("/cache/get/unknown-record-version", test_unknown_record_version, NULL);
	ADD("/cache/flight/burst-20", test_burst, GUINT_TO_POINTER(20));
	ADD("/cache/flight/burst-100", test_burst, GUINT_TO_POINTER(100));
	ADD("/cache/flight/computer-killed", test_burst_computer_killed, NULL);
	ADD("/cache/flight/slot-collision", test_slot_collision, NULL);
	ADD("/cache/flight/wait-timeout", test_wait_timeout, NULL);
	ADD("/cache/broken/garbage-file", test_garbage_file, NULL);
	ADD("/cache/broken/truncated-file", test_truncated_file, NULL);
	ADD("/cache/broken/unusable-directory", test_unusable_directory, NULL);
	ADD("/cache/broken/unwritable-directory", test_unwritable_directory, NULL);
	ADD("/cache/broken/database-busy", test_database_busy, NULL);
	ADD("/cache/duplicates", test_duplicates, NULL);
	ADD("/cache/journal-files", test_journal_files, NULL);
	ADD("/cache/duplicates/lookup-read-only", test_lookup_filed, NULL);
	ADD("/cache/maintenance", test_maintenance, NULL);
	return g_test_run();
}
