/* test-dns.c: blocklist settings, registered domains, URI hosts (score/dnsbl.c)
 * and the resolver's behaviour when DNS does not answer (score/dns.c): a
 * silent server (timeout, within the deadline) and a closed port (fast
 * failure). Answers from a real DNS server are tests/integration/dnsbl.sh's. */
#include "config.h"
#include "score/dnsbl.h"
#include "score/dns.h"
#include "score/score.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* dnsbl.c reports through the scorer's error domain, defined by module.c. */
G_DEFINE_QUARK(sm-score-error-quark, sm_score_error)

/* ---- settings ---------------------------------------------------------------- */

static SmDnsbl *load(const char *const *settings, GPtrArray *problems)
{
	return sm_dnsbl_new(settings, problems);
}

static void test_settings_good(void)
{
	const char *const settings[] = {
		"/home/u/.sortmail/config:3: spamd 127.0.0.1:783", /* not ours */
		"/home/u/.sortmail/config:4: dns-server 127.0.0.1:5353 [::1]:5353 192.0.2.53",
		"/home/u/.sortmail/config:5: dns-timeout 1.5",
		"/home/u/.sortmail/config:6: trusted-networks 198.51.100.0/24 2001:db8::/32",
		"/home/u/.sortmail/config:7: dnsbl zen.example RCVD_IN_ZEN 1.0 "
		"127.0.0.2=RCVD_IN_ZEN_SBL:3.5 4=RCVD_IN_ZEN_XBL:2",
		"/home/u/.sortmail/config:8: uribl dbl.example. URIBL_DBL 2.5",
		"/home/u/.sortmail/config:9: dnsbl-all-relays yes",
		NULL
	};
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	SmDnsbl *d = load(settings, problems);
	g_assert_nonnull(d);
	for (guint i = 0; i < problems->len; i++)
		g_test_message("problem: %s", (char *)problems->pdata[i]);
	g_assert_cmpuint(problems->len, ==, 0);
	g_assert_true(sm_dnsbl_wanted(settings));
	sm_dnsbl_free(d);
}

static void test_settings_none(void)
{
	const char *const settings[] = { "c:1: dns-server 127.0.0.1", "c:2: dns-timeout 2",
	                                 NULL };
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	g_assert_null(load(settings, problems));
	g_assert_cmpuint(problems->len, ==, 0);
	g_assert_false(sm_dnsbl_wanted(settings));
	const char *const empty[] = { NULL };
	g_assert_null(load(empty, NULL));
}

static void test_settings_bad(void)
{
	static const struct {
		const char *line;
		const char *problem;
	} cases[] = {
		{ "dns-server localhost", "not a server address" },
		{ "dns-server 127.0.0.1:0", "not a server address" },
		{ "dns-server 127.0.0.1:70000", "not a server address" },
		{ "dns-timeout 0", "from 0.1 to 60" },
		{ "dns-timeout soon", "from 0.1 to 60" },
		{ "dns-timeout 1 2", "usage: dns-timeout SECONDS" },
		{ "trusted-networks 10.0.0.0/33", "'10.0.0.0/33' is not a network" },
		{ "trusted-networks", "usage: trusted-networks" },
		{ "dnsbl zen.example RCVD_IN_ZEN", "usage: dnsbl ZONE NAME SCORE" },
		{ "dnsbl zen..example RCVD_IN_ZEN 1", "not a DNS zone" },
		{ "dnsbl zen.example RCVD-IN-ZEN 1", "not a rule name" },
		{ "dnsbl zen.example RCVD_IN_ZEN lots", "'lots' is not a score" },
		{ "dnsbl zen.example RCVD_IN_ZEN 1 2=SBL", "not CODE=NAME:SCORE" },
		{ "dnsbl zen.example RCVD_IN_ZEN 1 300=SBL:1", "'300' is not a code" },
		{ "dnsbl zen.example RCVD_IN_ZEN 1 10.0.0.2=SBL:1", "not a code" },
		{ "dnsbl zen.example RCVD_IN_ZEN 1 127.255.255.254=X:1", "refuses the query" },
		{ "uribl dbl.example URIBL 1 127.0.0.1=X:1", "refuses the query" },
		{ "dnsbl zen.example RCVD_IN_ZEN 1 2=SBL:x", "'x' is not a score" },
		{ "dnsbl-all-relays maybe", "takes yes or no" },
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *bad = g_strdup_printf("/etc/sm conf:%u: %s", i + 10, cases[i].line);
		/* A good zone too: the bad line is skipped, the rest is used. */
		const char *const settings[] = { "/etc/sm conf:1: dnsbl ok.example OK 1", bad, NULL };
		g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
		SmDnsbl *d = load(settings, problems);
		g_assert_nonnull(d);
		g_assert_cmpuint(problems->len, ==, 1);
		const char *p = problems->pdata[0];
		g_autofree char *where = g_strdup_printf("/etc/sm conf:%u: ", i + 10);
		if (!g_str_has_prefix(p, where) || !strstr(p, cases[i].problem))
			g_test_message("for '%s' got '%s'", cases[i].line, p);
		g_assert_true(g_str_has_prefix(p, where));
		g_assert_nonnull(strstr(p, cases[i].problem));
		sm_dnsbl_free(d);
	}
}

static void test_server_check(void)
{
	static const struct {
		const char *in, *out;
	} good[] = {
		{ "127.0.0.1", "127.0.0.1" },
		{ "127.0.0.1:5353", "127.0.0.1:5353" },
		{ "::1", "::1" },
		{ "[::1]:5353", "[::1]:5353" },
		{ "[2001:db8::53]", "2001:db8::53" },
	};
	for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
		g_autoptr(GString) s = g_string_new(NULL);
		g_assert_true(sm_dns_server_check(good[i].in, s, NULL));
		g_assert_cmpstr(s->str, ==, good[i].out);
	}
	const char *bad[] = { "", "dns.example", "1.2.3", "1.2.3.4:", "1.2.3.4:x",
	                      "[::1", "[::1]:", "[1.2.3.4]:53", "::1:53x", NULL };
	for (guint i = 0; bad[i]; i++) {
		g_autoptr(GString) s = g_string_new(NULL);
		g_autoptr(GError) err = NULL;
		g_assert_false(sm_dns_server_check(bad[i], s, &err));
		g_assert_error(err, SM_DNS_ERROR, SM_DNS_ERROR_SERVER);
	}
}

/* ---- domains and URIs ------------------------------------------------------- */

static void test_registered_domain(void)
{
	static const struct {
		const char *host, *domain;
	} cases[] = {
		{ "example.com", "example.com" },
		{ "www.Example.COM", "example.com" },
		{ "a.b.c.example.net.", "example.net" },
		{ "shop.example.co.uk", "example.co.uk" },
		{ "example.co.uk", "example.co.uk" },
		{ "deep.sub.example.com.au", "example.com.au" },
		{ "example.co.jp", "example.co.jp" },
		{ "co.uk", NULL },
		{ "localhost", NULL },
		{ "192.0.2.1", NULL },
		{ "", NULL },
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *got = sm_registered_domain(cases[i].host);
		g_assert_cmpstr(got, ==, cases[i].domain);
	}
}

static char *hosts_of(const char *text)
{
	g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func(g_free);
	sm_uri_hosts(text, strlen(text), hosts);
	g_ptr_array_add(hosts, NULL);
	return g_strjoinv(" ", (char **)hosts->pdata);
}

static void test_uri_hosts(void)
{
	g_autofree char *a = hosts_of(
		"Visit http://www.Example.co.uk/path?x=1 and HTTPS://user:pw@Shop.Example.com:8443/x,"
		" <a href=\"http://track.example.net\">, http://192.0.2.1/ and"
		" (http://www.example.co.uk/again) or http://localhost/ or http:// alone;"
		" https://a.example.org. http://h.example.net=\n");
	g_assert_cmpstr(a, ==,
	                "www.example.co.uk shop.example.com track.example.net a.example.org "
	                "h.example.net");
	g_autofree char *b = hosts_of("no links here, just ftp://files.example.com/ and www.example");
	g_assert_cmpstr(b, ==, "");
	g_autofree char *c = hosts_of("http://x"); /* too short to be anything */
	g_assert_cmpstr(c, ==, "");
}

/* ---- the resolver when DNS does not answer ------------------------------------ */

/* A UDP socket on 127.0.0.1 that is never read: a server that never answers. */
static int silent_server(guint *port)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	g_assert_cmpint(fd, >=, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
	socklen_t len = sizeof sa;
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static guint datagrams_waiting(int fd)
{
	char buf[512];
	guint n = 0;
	while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
		n++;
	return n;
}

static const char message[] =
	"Received: from mx-in.example.org (mx-in.example.org [10.0.0.2]) by mx.example.org id 1\n"
	"Received: from spam.example (unknown [192.0.2.99]) by mx-in.example.org id 2\n"
	"Subject: deals\n"
	"\n"
	"Buy at http://shop.example.com/ now.\n";

typedef struct {
	double score;
	GPtrArray *rules;
	char *note;
	double ms;
} Outcome;

static void outcome_clear(Outcome *o)
{
	g_ptr_array_free(o->rules, TRUE);
	g_free(o->note);
}

static Outcome run_with(guint port, const char *timeout)
{
	g_autofree char *server = g_strdup_printf("t:1: dns-server 127.0.0.1:%u", port);
	g_autofree char *deadline = g_strdup_printf("t:2: dns-timeout %s", timeout);
	const char *const settings[] = { server, deadline,
	                                 "t:3: dnsbl zen.test RCVD_IN_TEST 2",
	                                 "t:4: uribl dbl.test URIBL_TEST 1", NULL };
	SmDnsbl *d = sm_dnsbl_new(settings, NULL);
	g_assert_nonnull(d);
	Outcome o = { .rules = g_ptr_array_new_with_free_func(g_free) };
	gint64 t0 = g_get_monotonic_time();
	SmDnsblRun *run = sm_dnsbl_start(d, message, sizeof message - 1, NULL, NULL);
	o.score = sm_dnsbl_finish(run, o.rules, &o.note);
	o.ms = (double)(g_get_monotonic_time() - t0) / 1000.0;
	g_test_message("lookups took %.1f ms (%.1f ms in dns.c); note: %s", o.ms,
	               sm_dnsbl_last_ms(d), o.note ? o.note : "(none)");
	sm_dnsbl_free(d);
	return o;
}

static void test_timeout(void)
{
	guint port;
	int fd = silent_server(&port);
	Outcome o = run_with(port, "0.5");
	g_assert_cmpfloat(o.score, ==, 0.0);
	g_assert_cmpuint(o.rules->len, ==, 1);
	g_assert_cmpstr(o.rules->pdata[0], ==, "__DNS_UNAVAILABLE");
	g_assert_nonnull(o.note);
	g_assert_nonnull(strstr(o.note, "no DNS: 2 of 2 lookups unanswered (2 timed out"));
	/* The deadline holds; only a generous upper bound, never a lower one. */
	g_assert_cmpfloat(o.ms, <, 500.0 + 2000.0);
	/* Both queries (relay and URI domain) did go out. */
	g_assert_cmpuint(datagrams_waiting(fd), >=, 2);
	outcome_clear(&o);
	close(fd);
}

static void test_refused(void)
{
	/* A port just freed: nothing listens there, the kernel says so at once. */
	guint port;
	close(silent_server(&port));
	Outcome o = run_with(port, "10");
	g_assert_cmpuint(o.rules->len, ==, 1);
	g_assert_cmpstr(o.rules->pdata[0], ==, "__DNS_UNAVAILABLE");
	g_assert_nonnull(strstr(o.note, "no DNS: 2 of 2 lookups unanswered"));
	/* Not waiting for the 10 s deadline (bound generous, as always). */
	g_assert_cmpfloat(o.ms, <, 5000.0);
	outcome_clear(&o);
}

static void test_batch_direct(void)
{
	guint port;
	int fd = silent_server(&port);
	g_autofree char *servers = g_strdup_printf("127.0.0.1:%u", port);
	const char *const names[] = { "2.0.0.127.zen.test", "example.com.dbl.test", NULL };
	SmDnsBatch *b = sm_dns_start(names, servers, 300, NULL);
	g_assert_nonnull(b);
	const GArray *qs = sm_dns_finish(b);
	g_assert_cmpuint(qs->len, ==, 2);
	for (guint i = 0; i < qs->len; i++) {
		const SmDnsQuery *q = &g_array_index(qs, SmDnsQuery, i);
		g_assert_cmpstr(q->name, ==, names[i]);
		g_assert_cmpint(q->status, ==, SM_DNS_TIMEOUT);
		g_assert_cmpuint(q->n_addrs, ==, 0);
	}
	g_assert_cmpfloat(sm_dns_elapsed_ms(b), <, 300.0 + 2000.0);
	sm_dns_free(b);
	/* Nothing to ask: done at once. */
	const char *const none[] = { NULL };
	b = sm_dns_start(none, servers, 300, NULL);
	g_assert_cmpuint(sm_dns_finish(b)->len, ==, 0);
	sm_dns_free(b);
	close(fd);
}

static void test_nothing_to_ask(void)
{
	/* No untrusted relay and no URI: no query, no note, no rule. */
	const char *const settings[] = { "t:1: dns-server 127.0.0.1:9", "t:2: dnsbl zen.test Z 1",
	                                 "t:3: uribl dbl.test U 1", NULL };
	SmDnsbl *d = sm_dnsbl_new(settings, NULL);
	const char msg[] = "Received: from localhost (localhost [127.0.0.1]) by mx id 1\n"
	                   "Subject: hi\n\nplain text\n";
	g_autoptr(GPtrArray) rules = g_ptr_array_new_with_free_func(g_free);
	char *note = NULL;
	SmDnsblRun *run = sm_dnsbl_start(d, msg, sizeof msg - 1, NULL, NULL);
	g_assert_cmpfloat(sm_dnsbl_finish(run, rules, &note), ==, 0.0);
	g_assert_cmpuint(rules->len, ==, 0);
	g_assert_null(note);
	sm_dnsbl_free(d);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dns/settings/good", test_settings_good);
	g_test_add_func("/dns/settings/none", test_settings_none);
	g_test_add_func("/dns/settings/bad", test_settings_bad);
	g_test_add_func("/dns/server-check", test_server_check);
	g_test_add_func("/dns/registered-domain", test_registered_domain);
	g_test_add_func("/dns/uri-hosts", test_uri_hosts);
	g_test_add_func("/dns/timeout", test_timeout);
	g_test_add_func("/dns/refused", test_refused);
	g_test_add_func("/dns/batch", test_batch_direct);
	g_test_add_func("/dns/nothing-to-ask", test_nothing_to_ask);
	return g_test_run();
}
