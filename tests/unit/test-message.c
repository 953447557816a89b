/* test-message.c: header indexing (common/message.c). */
#include "config.h"
#include "common/message.h"
#include <string.h>

static void index_str(SmMessage *m, const char *s)
{
	sm_message_index(m, s, strlen(s));
}

static void test_basic(void)
{
	const char *msg = "From: a@b\nSubject: hi\n there\nDelivered-To: x@y\n\nbody\n";
	SmMessage m;
	index_str(&m, msg);
	g_assert_cmpuint(m.headers->len, ==, 3);
	g_assert_cmpstr(m.data + m.body_off, ==, "body\n");
	g_autofree char *subj = sm_message_get(&m, "subject");
	g_assert_cmpstr(subj, ==, "hi there");
	g_autofree char *dt = sm_message_get(&m, "DELIVERED-TO");
	g_assert_cmpstr(dt, ==, "x@y");
	g_assert_null(sm_message_get(&m, "Message-ID"));
	sm_message_clear(&m);
}

static void test_crlf_and_order(void)
{
	const char *msg = "Delivered-To: first@x\r\nDelivered-To: second@x\r\n\r\nbody";
	SmMessage m;
	index_str(&m, msg);
	guint pos = 0;
	const SmHeader *h = sm_message_next(&m, "Delivered-To", &pos);
	g_autofree char *v1 = sm_header_value(&m, h);
	g_assert_cmpstr(v1, ==, "first@x");
	h = sm_message_next(&m, "Delivered-To", &pos);
	g_autofree char *v2 = sm_header_value(&m, h);
	g_assert_cmpstr(v2, ==, "second@x");
	g_assert_null(sm_message_next(&m, "Delivered-To", &pos));
	g_assert_cmpstr(m.data + m.body_off, ==, "body");
	sm_message_clear(&m);
}

static void test_no_headers_and_broken(void)
{
	SmMessage m;
	index_str(&m, "just text\nmore\n");
	g_assert_cmpuint(m.headers->len, ==, 0);
	g_assert_cmpuint(m.body_off, ==, 0);
	sm_message_clear(&m);

	index_str(&m, "Subject: x\nnot a header line\nTo: y\n");
	g_assert_cmpuint(m.headers->len, ==, 1);
	g_assert_cmpstr(m.data + m.body_off, ==, "not a header line\nTo: y\n");
	sm_message_clear(&m);

	index_str(&m, "Subject: only headers");
	g_assert_cmpuint(m.headers->len, ==, 1);
	g_assert_cmpuint(m.body_off, ==, m.len);
	sm_message_clear(&m);

	index_str(&m, "");
	g_assert_cmpuint(m.headers->len, ==, 0);
	sm_message_clear(&m);
}

static void test_nul_in_header(void)
{
	const char msg[] = "Subject: a\0b\n\nx";
	SmMessage m;
	sm_message_index(&m, msg, sizeof msg - 1);
	g_autofree char *s = sm_message_get(&m, "Subject");
	g_assert_cmpstr(s, ==, "a b");
	sm_message_clear(&m);
}

static void test_address_extract(void)
{
	g_autofree char *a = sm_address_extract("Fred Bloggs <Fred@Example.COM>");
	g_assert_cmpstr(a, ==, "Fred@Example.COM");
	g_autofree char *b = sm_address_extract("  plain@x.org (comment)");
	g_assert_cmpstr(b, ==, "plain@x.org");
	g_assert_null(sm_address_extract("   "));
	g_assert_null(sm_address_extract(NULL));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/message/basic", test_basic);
	g_test_add_func("/message/crlf-order", test_crlf_and_order);
	g_test_add_func("/message/no-headers-broken", test_no_headers_and_broken);
	g_test_add_func("/message/nul", test_nul_in_header);
	g_test_add_func("/message/address", test_address_extract);
	return g_test_run();
}
