/* test-received.c: addresses, networks, reversed names and relays from
 * Received headers (score/received.c). The header forms are in
 * tests/data/dns/received.txt. */
#include "config.h"
#include "score/received.h"

#include <string.h>
#include <sys/socket.h>

static SmIp ip(const char *text)
{
	SmIp out;
	g_assert_true(sm_ip_parse(text, &out));
	return out;
}

static void test_ip_parse(void)
{
	SmIp a;
	g_assert_true(sm_ip_parse("192.0.2.1", &a));
	g_assert_cmpint(a.family, ==, AF_INET);
	g_assert_cmpuint(a.addr[0], ==, 192);
	g_assert_cmpuint(a.addr[3], ==, 1);
	g_assert_true(sm_ip_parse("2001:DB8::1", &a));
	g_assert_cmpint(a.family, ==, AF_INET6);
	g_autofree char *s6 = sm_ip_to_string(&a);
	g_assert_cmpstr(s6, ==, "2001:db8::1");
	/* IPv4-mapped: the IPv4 address it stands for. */
	g_assert_true(sm_ip_parse("::ffff:198.51.100.7", &a));
	g_assert_cmpint(a.family, ==, AF_INET);
	g_autofree char *s4 = sm_ip_to_string(&a);
	g_assert_cmpstr(s4, ==, "198.51.100.7");
	const char *bad[] = { "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", "example.com",
	                      "[1.2.3.4]", "fe80::1%eth0", "::g", NULL };
	for (guint i = 0; bad[i]; i++)
		g_assert_false(sm_ip_parse(bad[i], &a));
}

static void test_networks(void)
{
	SmNet n;
	g_assert_true(sm_net_parse("198.51.100.0/24", &n));
	SmIp in = ip("198.51.100.200"), out = ip("198.51.101.1"), six = ip("2001:db8::1");
	g_assert_true(sm_net_contains(&n, &in));
	g_assert_false(sm_net_contains(&n, &out));
	g_assert_false(sm_net_contains(&n, &six));

	g_assert_true(sm_net_parse("192.0.2.7", &n)); /* one host */
	SmIp seven = ip("192.0.2.7"), eight = ip("192.0.2.8");
	g_assert_true(sm_net_contains(&n, &seven));
	g_assert_false(sm_net_contains(&n, &eight));

	g_assert_true(sm_net_parse("172.16.0.0/12", &n)); /* a prefix not on a byte */
	SmIp a = ip("172.31.255.255"), b = ip("172.32.0.0");
	g_assert_true(sm_net_contains(&n, &a));
	g_assert_false(sm_net_contains(&n, &b));

	g_assert_true(sm_net_parse("2001:db8::/32", &n));
	SmIp c = ip("2001:db8:ffff::1"), d = ip("2001:db9::1");
	g_assert_true(sm_net_contains(&n, &c));
	g_assert_false(sm_net_contains(&n, &d));

	g_assert_true(sm_net_parse("0.0.0.0/0", &n));
	g_assert_true(sm_net_contains(&n, &in));

	/* IPv4 space written as IPv4-mapped IPv6. */
	g_assert_true(sm_net_parse("::ffff:198.51.100.0/120", &n));
	g_assert_true(sm_net_contains(&n, &in));
	g_assert_false(sm_net_contains(&n, &out));

	const char *bad[] = { "198.51.100.0/33", "2001:db8::/129", "198.51.100.0/", "/24",
	                      "198.51.100.0/x", "198.51.100.0/24/1", "::ffff:1.2.3.4/95", NULL };
	for (guint i = 0; bad[i]; i++)
		g_assert_false(sm_net_parse(bad[i], &n));
}

static void test_private(void)
{
	const char *priv[] = { "10.1.2.3", "172.16.0.1", "192.168.1.1", "127.0.0.1",
	                       "169.254.1.1", "100.64.0.1", "0.1.2.3", "224.0.0.1",
	                       "255.255.255.255", "::1", "::", "fe80::1", "fd00::1",
	                       "ff02::1", "::ffff:10.0.0.1", NULL };
	const char *pub[] = { "192.0.2.1", "198.51.100.1", "203.0.113.1", "8.8.8.8",
	                      "172.32.0.1", "100.128.0.1", "2001:db8::1", NULL };
	for (guint i = 0; priv[i]; i++) {
		SmIp a = ip(priv[i]);
		g_assert_true(sm_ip_is_private(&a));
	}
	for (guint i = 0; pub[i]; i++) {
		SmIp a = ip(pub[i]);
		g_assert_false(sm_ip_is_private(&a));
	}
}

static void test_reverse_name(void)
{
	SmIp a = ip("192.0.2.1");
	g_autofree char *v4 = sm_ip_reverse_name(&a, "zen.example");
	g_assert_cmpstr(v4, ==, "1.2.0.192.zen.example");
	SmIp b = ip("2001:db8::567:89ab");
	g_autofree char *v6 = sm_ip_reverse_name(&b, "bl.example");
	g_assert_cmpstr(v6, ==,
	                "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example");
	SmIp c = ip("127.0.0.2"); /* the usual test point */
	g_autofree char *tp = sm_ip_reverse_name(&c, "zen.spamhaus.org");
	g_assert_cmpstr(tp, ==, "2.0.0.127.zen.spamhaus.org");
}

static void test_received_forms(void)
{
	g_autofree char *path = g_build_filename(SM_TEST_DATA, "dns", "received.txt", NULL);
	g_autofree char *text = NULL;
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	guint cases = 0;
	for (guint i = 0; lines[i]; i++) {
		const char *line = lines[i];
		if (!*line || *line == '#')
			continue;
		const char *tab = strchr(line, '\t');
		g_assert_nonnull(tab);
		g_autofree char *expect = g_strndup(line, (gsize)(tab - line));
		SmIp got;
		gboolean found = sm_received_sender(tab + 1, &got);
		g_autofree char *shown = found ? sm_ip_to_string(&got) : g_strdup("-");
		if (strcmp(shown, expect) != 0)
			g_test_message("line %u: %s", i + 1, tab + 1);
		g_assert_cmpstr(shown, ==, expect);
		cases++;
	}
	g_assert_cmpuint(cases, >=, 20);
}

/* From the top: our submission, our internal hop, a trusted partner, then
 * the relay that handed the message over, then the hops it claims. */
static const char *const chain[] = {
	"by mx.example.org (Postfix, from userid 1000) id 1",
	"from mx-in.example.org (mx-in.example.org [10.0.0.2]) by mx.example.org id 2",
	"from relay.partner.example (relay.partner.example [198.51.100.7]) by mx-in id 3",
	"from spam.example (unknown [203.0.113.9]) by relay.partner.example id 4",
	"from [192.168.1.5] (helo=pc) by spam.example id 5",
	"from earlier.example (earlier.example [192.0.2.55]) by spam.example id 6",
	"from again.example (again.example [203.0.113.9]) by earlier.example id 7",
};

static char *ips_text(const GArray *ips)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < ips->len; i++) {
		g_autofree char *t = sm_ip_to_string(&g_array_index(ips, SmIp, i));
		g_string_append_printf(s, "%s%s", i ? " " : "", t);
	}
	return g_string_free(s, FALSE);
}

static void test_untrusted(void)
{
	g_autoptr(GArray) trusted = g_array_new(FALSE, FALSE, sizeof(SmNet));
	SmNet n;
	g_assert_true(sm_net_parse("198.51.100.0/24", &n));
	g_array_append_val(trusted, n);
	guint len = G_N_ELEMENTS(chain);

	g_autoptr(GArray) first = sm_received_untrusted(chain, len, trusted, FALSE);
	g_autofree char *t1 = ips_text(first);
	g_assert_cmpstr(t1, ==, "203.0.113.9");

	/* All untrusted relays: private ones skipped, each address once. */
	g_autoptr(GArray) all = sm_received_untrusted(chain, len, trusted, TRUE);
	g_autofree char *t2 = ips_text(all);
	g_assert_cmpstr(t2, ==, "203.0.113.9 192.0.2.55");

	/* Without the trusted network the partner is the first untrusted relay. */
	g_autoptr(GArray) untrusting = sm_received_untrusted(chain, len, NULL, FALSE);
	g_autofree char *t3 = ips_text(untrusting);
	g_assert_cmpstr(t3, ==, "198.51.100.7");

	/* Only local hops: nothing to look up. */
	g_autoptr(GArray) none = sm_received_untrusted(chain, 2, NULL, TRUE);
	g_assert_cmpuint(none->len, ==, 0);
	g_autoptr(GArray) empty = sm_received_untrusted(NULL, 0, NULL, TRUE);
	g_assert_cmpuint(empty->len, ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/received/ip-parse", test_ip_parse);
	g_test_add_func("/received/networks", test_networks);
	g_test_add_func("/received/private", test_private);
	g_test_add_func("/received/reverse-name", test_reverse_name);
	g_test_add_func("/received/forms", test_received_forms);
	g_test_add_func("/received/untrusted", test_untrusted);
	return g_test_run();
}
