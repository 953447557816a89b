/* test-spamd.c: the spamd client (score/spamd.c), linked in directly.
 *
 * Replies are parsed from canned text; exchanges go to a tiny server in a
 * thread of this test (TCP on 127.0.0.1 with an ephemeral port, or a Unix
 * socket) that records what it was sent and answers as told: a canned reply,
 * byte by byte, nothing at all, or a closed connection. Nothing here depends
 * on timing except a generous bound that catches a hang.
 */
#include "config.h"
#include "score/spamd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static const char SPAM_REPLY[] =
	"SPAMD/1.1 0 EX_OK\r\n"
	"Content-length: 27\r\n"
	"Spam: True ; 1000.0 / 5.0\r\n"
	"\r\n"
	"GTUBE,NO_RECEIVED,NO_RELAYS";

static const char MESSAGE[] =
	"From: someone@example.org\n"
	"To: fred@example.com\n"
	"Subject: test\n"
	"\n"
	"Hello.\n";

/* ---- canned replies ---------------------------------------------------- */

static SmSpamdParse parse(const char *text, gboolean closed, SmSpamdReply *r, char **why)
{
	*r = (SmSpamdReply){ 0 };
	*why = NULL;
	return sm_spamd_parse_reply(text, strlen(text), closed, r, why);
}

static char *join_rules(const SmSpamdReply *r)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; r->rules && i < r->rules->len; i++)
		g_string_append_printf(s, "%s%s", i ? "," : "", (char *)r->rules->pdata[i]);
	return g_string_free(s, FALSE);
}

static void test_parse_good(void)
{
	SmSpamdReply r;
	g_autofree char *why = NULL;
	g_assert_cmpint(parse(SPAM_REPLY, FALSE, &r, &why), ==, SM_SPAMD_PARSE_OK);
	g_assert_null(why);
	g_assert_true(r.is_spam);
	g_assert_cmpfloat(r.score, ==, 1000.0);
	g_assert_cmpfloat(r.threshold, ==, 5.0);
	g_autofree char *rules = join_rules(&r);
	g_assert_cmpstr(rules, ==, "GTUBE,NO_RECEIVED,NO_RELAYS");
	sm_spamd_reply_clear(&r);

	/* Bare LF, a negative score, old spamd's Yes/No, no rules, extra headers. */
	g_assert_cmpint(parse("SPAMD/1.5 0 EX_OK\nContent-length: 0\nSpam: No ; -2.5 / 5.0\n"
	                      "X-Other: x\n\n", FALSE, &r, &why),
	                ==, SM_SPAMD_PARSE_OK);
	g_assert_false(r.is_spam);
	g_assert_cmpfloat(r.score, ==, -2.5);
	g_assert_cmpuint(r.rules->len, ==, 0);
	sm_spamd_reply_clear(&r);

	g_assert_cmpint(parse("SPAMD/1.1 0 EX_OK\r\nspam: yes;7.25/6\r\n"
	                      "content-length: 15\r\n\r\n A_RULE , B_2\r\n", FALSE, &r, &why),
	                ==, SM_SPAMD_PARSE_OK);
	g_assert_true(r.is_spam);
	g_assert_cmpfloat(r.score, ==, 7.25);
	g_assert_cmpfloat(r.threshold, ==, 6.0);
	g_autofree char *two = join_rules(&r);
	g_assert_cmpstr(two, ==, "A_RULE,B_2");
	sm_spamd_reply_clear(&r);

	/* Without Content-length, the body ends with the connection. */
	const char *open_ended = "SPAMD/1.1 0 EX_OK\r\nSpam: False ; 1.0 / 5.0\r\n\r\nX_RULE";
	g_assert_cmpint(parse(open_ended, FALSE, &r, &why), ==, SM_SPAMD_PARSE_MORE);
	g_assert_cmpint(parse(open_ended, TRUE, &r, &why), ==, SM_SPAMD_PARSE_OK);
	g_assert_cmpstr(r.rules->pdata[0], ==, "X_RULE");
	sm_spamd_reply_clear(&r);
}

/* Every proper prefix of a good reply asks for more; the whole is OK. */
static void test_parse_prefixes(void)
{
	gsize n = strlen(SPAM_REPLY);
	for (gsize i = 0; i < n; i++) {
		SmSpamdReply r = { 0 };
		char *why = NULL;
		SmSpamdParse p = sm_spamd_parse_reply(SPAM_REPLY, i, FALSE, &r, &why);
		if (p != SM_SPAMD_PARSE_MORE)
			g_error("prefix of %" G_GSIZE_FORMAT " bytes: %d (%s)", i, p, why);
		g_assert_null(r.rules);
		SmSpamdParse q = sm_spamd_parse_reply(SPAM_REPLY, i, TRUE, &r, &why);
		if (q != SM_SPAMD_PARSE_BAD)
			g_error("prefix of %" G_GSIZE_FORMAT " bytes, closed: %d", i, q);
		g_assert_nonnull(why);
		g_free(why);
	}
}

static void expect_bad(const char *reply, const char *why_part)
{
	SmSpamdReply r;
	g_autofree char *why = NULL;
	SmSpamdParse p = parse(reply, FALSE, &r, &why);
	if (p != SM_SPAMD_PARSE_BAD || !why || !strstr(why, why_part))
		g_error("'%s': %d, '%s' (expected BAD with '%s')", reply, p, why, why_part);
	g_assert_null(r.rules);
}

static void test_parse_bad(void)
{
	/* Garbage is recognised from its first bytes, without waiting for more. */
	expect_bad("HTTP", "not a spamd reply");
	expect_bad("\x01\x02", "not a spamd reply");
	expect_bad("SPAMD/x 0 EX_OK\r\n", "not a spamd reply");
	expect_bad("SPAMD/1.0 76 Bad header line: (Content-length contains non-numeric bytes)\r\n",
	           "spamd failed: 'SPAMD/1.0 76 Bad header line");
	expect_bad("SPAMD/1.0 EX_OK\r\n", "not a spamd reply");
	expect_bad("SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\n\r\n", "no Spam: header");
	expect_bad("SPAMD/1.1 0 EX_OK\r\nSpam: Maybe ; 1 / 5\r\n\r\n", "bad header");
	expect_bad("SPAMD/1.1 0 EX_OK\r\nSpam: True ; abc / 5\r\n\r\n", "bad header");
	expect_bad("SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1 / 5 junk\r\n\r\n", "bad header");
	expect_bad("SPAMD/1.1 0 EX_OK\r\nSpam: True ; nan / 5\r\n\r\n", "bad header");
	expect_bad("SPAMD/1.1 0 EX_OK\r\nContent-length: -1\r\n\r\n", "bad header");
	expect_bad("SPAMD/1.1 0 EX_OK\r\nno colon here\r\n\r\n", "bad header line");
	expect_bad("SPAMD/1.1 0 EX_OK\r\nContent-length: 12\r\nSpam: True ; 6 / 5\r\n\r\n"
	           "A,<script>,B", "rule name");
	expect_bad("SPAMD/1.1 0 EX_OK\r\nContent-length: 8\r\nSpam: True ; 6 / 5\r\n\r\n"
	           "A RULE,B", "rule name");
	/* A failure status is reported as it is (control bytes shown as '?'). */
	expect_bad("SPAMD/1.0 74 Too\x1b[1m many\r\n", "'SPAMD/1.0 74 Too?[1m many'");
	GString *long_head = g_string_new("SPAMD/1.1 0 EX_OK\r\n");
	while (long_head->len < 10000)
		g_string_append(long_head, "X-Padding: 0123456789012345678901234567890123456789\r\n");
	expect_bad(long_head->str, "too long");
	g_string_free(long_head, TRUE);
}

/* ---- settings ------------------------------------------------------------ */

static SmSpamd *spamd_from(GPtrArray *problems, ...)
{
	g_autoptr(GPtrArray) lines = g_ptr_array_new();
	va_list ap;
	va_start(ap, problems);
	for (const char *s; (s = va_arg(ap, const char *));)
		g_ptr_array_add(lines, (gpointer)s);
	va_end(ap);
	g_ptr_array_add(lines, NULL);
	return sm_spamd_new((const char *const *)lines->pdata, 5.0, problems);
}

static void test_settings_good(void)
{
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	const char *const none[] = { NULL };
	g_assert_null(sm_spamd_new(none, 5.0, problems));
	g_assert_null(spamd_from(problems, "a:1: dnsbl zen.example 127.0.0.2 3", NULL));
	const char *const good[] = { "127.0.0.1:783", "localhost", "spamd.example.org:10783",
	                             "[::1]:783", "[::1]", "/run/spamd.sock",
	                             "/run/my spamd/socket" };
	for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
		g_autofree char *line = g_strdup_printf("c:1: spamd %s", good[i]);
		SmSpamd *sd = spamd_from(problems, line, "c:2: spamd-timeout 2.5",
		                         "c:3: spamd-mode add", "c:4: spamd-user fred", NULL);
		g_assert_nonnull(sd);
		g_assert_cmpint(sm_spamd_mode(sd), ==, SM_SPAMD_ADD);
		sm_spamd_free(sd);
	}
	SmSpamd *sd = spamd_from(problems, "c:1: spamd 127.0.0.1", NULL);
	g_assert_cmpint(sm_spamd_mode(sd), ==, SM_SPAMD_REPLACE); /* the default */
	sm_spamd_free(sd);
	for (guint i = 0; i < problems->len; i++)
		g_test_message("unexpected: %s", (char *)problems->pdata[i]);
	g_assert_cmpuint(problems->len, ==, 0);

	/* Settings without an address change nothing, but are reported. */
	g_assert_null(spamd_from(problems, "x.conf:7: spamd-timeout 3", NULL));
	g_assert_cmpuint(problems->len, ==, 1);
	g_assert_true(g_str_has_prefix(problems->pdata[0], "x.conf:7: ignored"));
}

static gboolean local_calls;

/* The local scorer of these tests: two rules, 2.0 points. */
static gboolean fake_local(void *engine, const char *data, gsize len, SmVerdict *out,
                           GError **error)
{
	local_calls++;
	if (engine) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "local failure");
		return FALSE;
	}
	g_assert_true(len == 0 || data[0] != '\0');
	g_ptr_array_add(out->rules, g_strdup("LOCAL_A"));
	g_ptr_array_add(out->rules, g_strdup("SHARED"));
	out->score = 2.0;
	out->threshold = 5.0;
	out->is_spam = FALSE;
	out->source = SM_VERDICT_SCORED;
	return TRUE;
}

static void score(SmSpamd *sd, const char *msg, SmVerdict *v)
{
	g_autoptr(GError) err = NULL;
	sm_verdict_init(v);
	local_calls = 0;
	g_assert_true(sm_spamd_score(sd, msg, strlen(msg), v, fake_local, NULL, &err));
	g_assert_no_error(err);
}

static gboolean has(const SmVerdict *v, const char *rule)
{
	for (guint i = 0; i < v->rules->len; i++)
		if (strcmp(v->rules->pdata[i], rule) == 0)
			return TRUE;
	return FALSE;
}

static void test_settings_bad(void)
{
	const char *const bad[][2] = {
		{ "spamd", "takes 1 argument" },
		{ "spamd host:0", "bad port" },
		{ "spamd host:65536", "bad port" },
		{ "spamd host:http", "bad port" },
		{ "spamd ::1:783", "[ADDR]:PORT" },
		{ "spamd [::1", "[IPV6]:PORT" },
		{ "spamd a b", "takes 1 argument" },
		{ "spamd-timeout 0", "bad timeout" },
		{ "spamd-timeout abc", "bad timeout" },
		{ "spamd-timeout 601", "bad timeout" },
		{ "spamd-timeout -1", "bad timeout" },
		{ "spamd-mode both", "replace or add" },
		{ "spamd-mode", "takes 1 argument" },
		{ "spamd-user a b", "takes 1 argument" },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
		g_autofree char *line = g_strdup_printf("my.conf:%zu: %s", i + 3, bad[i][0]);
		g_autofree char *prefix = g_strdup_printf("my.conf:%zu: ", i + 3);
		SmSpamd *sd = spamd_from(problems, "my.conf:1: spamd 127.0.0.1:9", line, NULL);
		if (problems->len != 1 || !g_str_has_prefix(problems->pdata[0], prefix)
		    || !strstr(problems->pdata[0], bad[i][1]))
			g_error("'%s': %u problems, first '%s'", bad[i][0], problems->len,
			        problems->len ? (char *)problems->pdata[0] : "");
		/* A bad setting: spamd is not asked, and every verdict says so. */
		g_assert_nonnull(sd);
		SmVerdict v;
		score(sd, MESSAGE, &v);
		g_assert_cmpint(local_calls, ==, 1);
		g_assert_true(has(&v, SM_SPAMD_FAILED_RULE));
		g_assert_nonnull(v.note);
		g_assert_true(g_str_has_prefix(v.note, "spamd not used: my.conf:"));
		sm_verdict_clear(&v);
		sm_spamd_free(sd);
	}
}

/* ---- a tiny spamd -------------------------------------------------------- */

typedef struct {
	int listen_fd;
	int stop[2];              /* written by the test: the server ends */
	char *path;               /* Unix socket, or NULL */
	guint16 port;
	const char *reply;        /* NULL: never answer */
	gsize chunk;              /* reply in pieces this big; 0: at once */
	gboolean close_at_once;   /* close without reading */
	gboolean hang_up;         /* read the request, close without a word */
	guint accepted;
	GByteArray *request;      /* what the last client sent */
	GArray *held;             /* int, connections left unanswered until the end */
	GThread *thread;
} Server;

/* Reads until the client's end of stream, or until told to stop. */
static void read_request(Server *srv, int fd)
{
	g_byte_array_set_size(srv->request, 0);
	char buf[65536];
	for (;;) {
		struct pollfd p[2] = { { fd, POLLIN, 0 }, { srv->stop[0], POLLIN, 0 } };
		if (poll(p, 2, -1) < 0 && errno == EINTR)
			continue;
		if (p[1].revents)
			return;
		ssize_t r = read(fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		g_byte_array_append(srv->request, (guint8 *)buf, r);
	}
}

/* FALSE: @fd is kept open, unanswered, until the server stops. */
static gboolean answer(Server *srv, int fd)
{
	if (!srv->reply) {
		g_array_append_val(srv->held, fd);
		return FALSE;
	}
	gsize len = strlen(srv->reply), step = srv->chunk ? srv->chunk : len;
	for (gsize at = 0; at < len; at += step) {
		if (send(fd, srv->reply + at, MIN(step, len - at), MSG_NOSIGNAL) < 0)
			break;
		if (srv->chunk)
			g_usleep(200);
	}
	return TRUE;
}

static gpointer serve(gpointer data)
{
	Server *srv = data;
	for (;;) {
		struct pollfd p[2] = { { srv->listen_fd, POLLIN, 0 }, { srv->stop[0], POLLIN, 0 } };
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents)
			return NULL;
		int fd = accept(srv->listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		srv->accepted++;
		if (!srv->close_at_once) {
			read_request(srv, fd);
			if (!srv->hang_up && !answer(srv, fd))
				continue;
		}
		close(fd);
	}
}

/* Starts a server; SIGALRM stays blocked in its thread (see test_eintr). */
static Server *server_start(const char *reply, gboolean unix_socket)
{
	Server *srv = g_new0(Server, 1);
	srv->reply = reply;
	srv->request = g_byte_array_new();
	srv->held = g_array_new(FALSE, FALSE, sizeof(int));
	g_assert_cmpint(pipe(srv->stop), ==, 0);
	if (unix_socket) {
		g_autofree char *dir = g_dir_make_tmp("test-spamd-XXXXXX", NULL);
		srv->path = g_build_filename(dir, "spamd.sock", NULL);
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		g_strlcpy(sun.sun_path, srv->path, sizeof sun.sun_path);
		srv->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		g_assert_cmpint(bind(srv->listen_fd, (struct sockaddr *)&sun, sizeof sun), ==, 0);
	} else {
		struct sockaddr_in sin = { .sin_family = AF_INET,
		                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t n = sizeof sin;
		srv->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		/* Small buffers, so a big message takes many partial writes. */
		int small = 4096;
		setsockopt(srv->listen_fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
		g_assert_cmpint(bind(srv->listen_fd, (struct sockaddr *)&sin, sizeof sin), ==, 0);
		g_assert_cmpint(getsockname(srv->listen_fd, (struct sockaddr *)&sin, &n), ==, 0);
		srv->port = ntohs(sin.sin_port);
	}
	g_assert_cmpint(listen(srv->listen_fd, 8), ==, 0);
	sigset_t alrm, old;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, &old);
	srv->thread = g_thread_new("spamd", serve, srv);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return srv;
}

static void server_stop(Server *srv)
{
	g_assert_cmpint(write(srv->stop[1], "x", 1), ==, 1);
	g_thread_join(srv->thread);
	close(srv->listen_fd);
	close(srv->stop[0]);
	close(srv->stop[1]);
	if (srv->path) {
		g_autofree char *dir = g_path_get_dirname(srv->path);
		g_unlink(srv->path);
		g_rmdir(dir);
		g_free(srv->path);
	}
	for (guint i = 0; i < srv->held->len; i++)
		close(g_array_index(srv->held, int, i));
	g_array_free(srv->held, TRUE);
	g_byte_array_free(srv->request, TRUE);
	g_free(srv);
}

/* A client of @srv with extra settings lines (NULL-terminated). */
static SmSpamd *client_for(const Server *srv, const char *mode, const char *timeout)
{
	g_autofree char *where = srv->path ? g_strdup(srv->path)
	                                   : g_strdup_printf("127.0.0.1:%u", srv->port);
	g_autofree char *l1 = g_strdup_printf("t:1: spamd %s", where);
	g_autofree char *l2 = g_strdup_printf("t:2: spamd-mode %s", mode);
	g_autofree char *l3 = g_strdup_printf("t:3: spamd-timeout %s", timeout);
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	SmSpamd *sd = spamd_from(problems, l1, l2, l3, "t:4: spamd-user fred", NULL);
	g_assert_cmpuint(problems->len, ==, 0);
	g_assert_nonnull(sd);
	return sd;
}

static gboolean ask(SmSpamd *sd, const char *msg, gsize len, SmSpamdReply *r, char **why)
{
	*r = (SmSpamdReply){ 0 };
	*why = NULL;
	return sm_spamd_ask(sd, msg, len, r, why);
}

/* What the client sent: the SPAMC/1.5 head, then the message bytes exactly. */
static void expect_request(const Server *srv, const char *msg, gsize len)
{
	g_autofree char *head = g_strdup_printf("SYMBOLS SPAMC/1.5\r\nContent-length: %"
	                                        G_GSIZE_FORMAT "\r\nUser: fred\r\n\r\n", len);
	gsize hl = strlen(head);
	g_assert_cmpuint(srv->request->len, ==, hl + len);
	g_assert_true(memcmp(srv->request->data, head, hl) == 0);
	g_assert_true(memcmp(srv->request->data + hl, msg, len) == 0);
}

static void test_exchange(gconstpointer unix_socket)
{
	Server *srv = server_start(SPAM_REPLY, GPOINTER_TO_INT(unix_socket));
	SmSpamd *sd = client_for(srv, "replace", "20");
	SmSpamdReply r;
	g_autofree char *why = NULL;
	g_assert_true(ask(sd, MESSAGE, strlen(MESSAGE), &r, &why));
	g_assert_null(why);
	g_assert_cmpfloat(r.score, ==, 1000.0);
	expect_request(srv, MESSAGE, strlen(MESSAGE));
	sm_spamd_reply_clear(&r);

	/* A reply one byte at a time. */
	srv->chunk = 1;
	g_assert_true(ask(sd, MESSAGE, strlen(MESSAGE), &r, &why));
	g_assert_cmpuint(r.rules->len, ==, 3);
	sm_spamd_reply_clear(&r);
	sm_spamd_free(sd);
	server_stop(srv);
}

/* 8 MB through a small receive buffer: many partial writes, none lost. */
static void test_big_message(void)
{
	Server *srv = server_start(SPAM_REPLY, FALSE);
	SmSpamd *sd = client_for(srv, "replace", "60");
	gsize len = 8 * 1024 * 1024;
	g_autofree char *msg = g_malloc(len);
	for (gsize i = 0; i < len; i++)
		msg[i] = "abcdefghijklmnopqrstuvwxyz0123456789\n"[i % 37];
	SmSpamdReply r;
	g_autofree char *why = NULL;
	g_assert_true(ask(sd, msg, len, &r, &why));
	expect_request(srv, msg, len);
	sm_spamd_reply_clear(&r);
	sm_spamd_free(sd);
	server_stop(srv);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* SORTMAIL_TEST_SLOWDOWN (./dev.sh valgrind): how many times slower than
 * natively this test runs; 1 when unset. */
static gint64 slowdown(void)
{
	const char *s = g_getenv("SORTMAIL_TEST_SLOWDOWN");
	gint64 n = s ? g_ascii_strtoll(s, NULL, 10) : 1;
	return n >= 1 ? n : 1;
}

/* Signals every 100 µs interrupt poll, send and receive: no harm done.
 * Under valgrind every sendmsg() first checks the whole buffer it is given,
 * which takes longer than 100 µs for 4 MB: a signal was then always pending
 * when the call was made, and it failed with EINTR before sending a byte.
 * There: every 100 µs times the slowdown, on 4 MB divided by it (about 20
 * signals in the exchange). */
static void test_eintr(void)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old); /* no SA_RESTART */
	Server *srv = server_start(SPAM_REPLY, FALSE);
	srv->chunk = 1;
	SmSpamd *sd = client_for(srv, "replace", "60");
	gsize len = 4 * 1024 * 1024 / slowdown();
	g_autofree char *msg = g_malloc(len);
	memset(msg, 'x', len);
	gint64 us = 100 * slowdown();
	struct itimerval every = { { us / G_USEC_PER_SEC, us % G_USEC_PER_SEC },
	                           { us / G_USEC_PER_SEC, us % G_USEC_PER_SEC } },
	                 off = { { 0, 0 }, { 0, 0 } };
	alarms = 0;
	setitimer(ITIMER_REAL, &every, NULL);
	SmSpamdReply r;
	g_autofree char *why = NULL;
	gboolean ok = ask(sd, msg, len, &r, &why);
	setitimer(ITIMER_REAL, &off, NULL);
	/* A signal still pending (valgrind delivers them late) is discarded by
	 * SIG_IGN; under the old action, the default one, it would end the test. */
	signal(SIGALRM, SIG_IGN);
	sigaction(SIGALRM, &old, NULL);
	g_test_message("%d signals during the exchange", (int)alarms);
	if (!ok)
		g_error("exchange failed under signals: %s", why);
	expect_request(srv, msg, len);
	sm_spamd_reply_clear(&r);
	sm_spamd_free(sd);
	server_stop(srv);
}

static void expect_failure(Server *srv, const char *timeout, const char *why_part)
{
	SmSpamd *sd = client_for(srv, "replace", timeout);
	SmSpamdReply r;
	g_autofree char *why = NULL;
	gint64 start = g_get_monotonic_time();
	g_assert_false(ask(sd, MESSAGE, strlen(MESSAGE), &r, &why));
	/* A hang detector only; the deadline itself is not measured here. */
	g_assert_cmpint(g_get_monotonic_time() - start, <, 30 * G_USEC_PER_SEC);
	g_assert_null(r.rules);
	if (!why || !strstr(why, why_part))
		g_error("failure '%s', expected '%s'", why, why_part);
	sm_spamd_free(sd);
}

static void test_failures(void)
{
	Server *srv = server_start(NULL, FALSE);
	expect_failure(srv, "0.3", "no reply in time");
	srv->hang_up = TRUE;
	expect_failure(srv, "20", "without a reply");
	srv->hang_up = FALSE;
	/* Unread data: a reset, seen while sending or while reading. */
	srv->close_at_once = TRUE;
	expect_failure(srv, "20", "");
	srv->close_at_once = FALSE;
	srv->reply = "HTTP/1.1 400 Bad Request\r\n\r\n";
	expect_failure(srv, "20", "not a spamd reply: 'HTTP/1.1");
	srv->reply = "SPAMD/1.0 76 Bad header line: x\r\n";
	expect_failure(srv, "20", "spamd failed");
	srv->reply = "SPAMD/1.1 0 EX_OK\r\nContent-length: 27\r\nSpam: True ; 1000.0 / 5.0\r\n\r\nGTU";
	expect_failure(srv, "20", "cut short");
	server_stop(srv);

	/* Nobody listening: refused at once. */
	Server *gone = server_start(NULL, FALSE);
	gone->close_at_once = TRUE;
	SmSpamd *sd = client_for(gone, "replace", "20");
	server_stop(gone);
	SmSpamdReply r;
	g_autofree char *why = NULL;
	g_assert_false(ask(sd, MESSAGE, strlen(MESSAGE), &r, &why));
	g_assert_nonnull(strstr(why, "connect:"));
	sm_spamd_free(sd);

	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	sd = spamd_from(problems, "t:1: spamd /nonexistent/spamd.sock", NULL);
	g_clear_pointer(&why, g_free);
	g_assert_false(ask(sd, MESSAGE, strlen(MESSAGE), &r, &why));
	g_assert_nonnull(strstr(why, "No such file"));
	sm_spamd_free(sd);
}

/* A host name, not a literal, goes through the resolver thread. */
static void test_host_name(void)
{
	Server *srv = server_start(SPAM_REPLY, FALSE);
	g_autofree char *line = g_strdup_printf("t:1: spamd localhost:%u", srv->port);
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	SmSpamd *sd = spamd_from(problems, line, "t:2: spamd-user fred", NULL);
	SmSpamdReply r;
	g_autofree char *why = NULL;
	if (!ask(sd, MESSAGE, strlen(MESSAGE), &r, &why))
		g_error("localhost:%u: %s", srv->port, why);
	sm_spamd_reply_clear(&r);
	sm_spamd_free(sd);
	server_stop(srv);

	sd = spamd_from(problems, "t:1: spamd no-such-host.invalid:783", NULL);
	g_clear_pointer(&why, g_free);
	g_assert_false(ask(sd, MESSAGE, strlen(MESSAGE), &r, &why));
	g_assert_nonnull(strstr(why, "resolv"));
	sm_spamd_free(sd);
}

/* ---- verdicts ------------------------------------------------------------ */

static void test_replace(void)
{
	Server *srv = server_start("SPAMD/1.1 0 EX_OK\r\nContent-length: 9\r\n"
	                           "Spam: False ; 6.04 / 10.0\r\n\r\nZED,ALPHA", FALSE);
	SmSpamd *sd = client_for(srv, "replace", "20");
	SmVerdict v;
	/* An mbox "From " line is not sent. */
	g_autofree char *mboxed = g_strconcat("From someone@example.org Sat Mar 16 03:12:45 2024\n",
	                                      MESSAGE, NULL);
	score(sd, mboxed, &v);
	expect_request(srv, MESSAGE, strlen(MESSAGE));
	g_assert_cmpint(local_calls, ==, 0);
	g_assert_cmpfloat(v.score, ==, 6.04);
	g_assert_cmpfloat(v.threshold, ==, 5.0); /* sortmail's, not spamd's */
	g_assert_true(v.is_spam);
	g_assert_cmpuint(v.rules->len, ==, 2);
	g_assert_cmpstr(v.rules->pdata[0], ==, "ALPHA");
	g_assert_cmpstr(v.rules->pdata[1], ==, "ZED");
	g_assert_cmpint(v.source, ==, SM_VERDICT_SCORED);
	g_assert_null(v.note);
	sm_verdict_clear(&v);

	/* spamd fails: the local verdict, marked. */
	srv->reply = "garbage";
	score(sd, MESSAGE, &v);
	g_assert_cmpint(local_calls, ==, 1);
	g_assert_cmpfloat(v.score, ==, 2.0);
	g_assert_true(has(&v, "LOCAL_A") && has(&v, SM_SPAMD_FAILED_RULE));
	g_assert_nonnull(strstr(v.note, "not a spamd reply"));
	g_assert_nonnull(strstr(v.note, "local score only"));
	sm_verdict_clear(&v);

	/* Too big for spamd (as spamc): local only, spamd not even asked. */
	guint before = srv->accepted;
	gsize big = 600 * 1024;
	g_autofree char *msg = g_malloc(big + 1);
	memset(msg, 'a', big);
	msg[big] = '\0';
	score(sd, msg, &v);
	g_assert_cmpuint(srv->accepted, ==, before);
	g_assert_cmpint(local_calls, ==, 1);
	g_assert_false(has(&v, SM_SPAMD_FAILED_RULE));
	sm_verdict_clear(&v);

	/* The local scorer's failure is the only failure. */
	g_autoptr(GError) err = NULL;
	sm_verdict_init(&v);
	g_assert_false(sm_spamd_score(sd, MESSAGE, strlen(MESSAGE), &v, fake_local, sd, &err));
	g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED);
	sm_verdict_clear(&v);
	sm_spamd_free(sd);
	server_stop(srv);
}

static void test_add(void)
{
	Server *srv = server_start("SPAMD/1.1 0 EX_OK\r\nContent-length: 14\r\n"
	                           "Spam: False ; 3.5 / 5.0\r\n\r\nSHARED,SPAMD_B", FALSE);
	SmSpamd *sd = client_for(srv, "add", "20");
	SmVerdict v;
	score(sd, MESSAGE, &v);
	g_assert_cmpint(local_calls, ==, 1);
	g_assert_cmpfloat(v.score, ==, 5.5);
	g_assert_true(v.is_spam);
	g_assert_cmpuint(v.rules->len, ==, 3); /* SHARED once */
	g_assert_cmpstr(v.rules->pdata[0], ==, "LOCAL_A");
	g_assert_cmpstr(v.rules->pdata[1], ==, "SHARED");
	g_assert_cmpstr(v.rules->pdata[2], ==, "SPAMD_B");
	g_assert_null(v.note);
	sm_verdict_clear(&v);

	srv->reply = NULL; /* silent */
	sm_spamd_free(sd);
	sd = client_for(srv, "add", "0.2");
	score(sd, MESSAGE, &v);
	g_assert_cmpfloat(v.score, ==, 2.0);
	g_assert_false(v.is_spam);
	g_assert_true(has(&v, SM_SPAMD_FAILED_RULE));
	g_autofree char *where = g_strdup_printf("spamd 127.0.0.1:%u: no reply in time", srv->port);
	g_assert_true(g_str_has_prefix(v.note, where));
	sm_verdict_clear(&v);
	sm_spamd_free(sd);
	server_stop(srv);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/spamd/parse-good", test_parse_good);
	g_test_add_func("/spamd/parse-prefixes", test_parse_prefixes);
	g_test_add_func("/spamd/parse-bad", test_parse_bad);
	g_test_add_func("/spamd/settings-good", test_settings_good);
	g_test_add_func("/spamd/settings-bad", test_settings_bad);
	g_test_add_data_func("/spamd/exchange-tcp", GINT_TO_POINTER(FALSE), test_exchange);
	g_test_add_data_func("/spamd/exchange-unix", GINT_TO_POINTER(TRUE), test_exchange);
	g_test_add_func("/spamd/big-message", test_big_message);
	g_test_add_func("/spamd/eintr", test_eintr);
	g_test_add_func("/spamd/failures", test_failures);
	g_test_add_func("/spamd/host-name", test_host_name);
	g_test_add_func("/spamd/replace", test_replace);
	g_test_add_func("/spamd/add", test_add);
	return g_test_run();
}
