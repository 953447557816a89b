/* test-recipient.c: original-recipient recovery, un-plus rules and personal
 * addresses (sortmail/recipient.c). */
#include "config.h"
#include "sortmail/sortmail.h"

#include <string.h>

static const char *const config_text =
	"unplus ^merlyn\\+for-stonehenge\\+(.+)@ $1@stonehenge.com\n"
	"unplus ^(\\w+)\\+[^@]*@(example\\.org)$ ${1}@$2\n"
	"unplus ^catchall@ $1\n"
	"personal fred@example.org @Stonehenge.com\n";

static SmConfig *test_config(void)
{
	g_autoptr(GError) error = NULL;
	SmConfig *c = sm_config_parse(config_text, "t", NULL, &error);
	g_assert_no_error(error);
	return c;
}

typedef struct {
	SmMessage m;
	char *text;
} Msg;

static void msg_init(Msg *msg, const char *text)
{
	msg->text = g_strdup(text);
	sm_message_index(&msg->m, msg->text, strlen(msg->text));
}

static void msg_clear(Msg *msg)
{
	sm_message_clear(&msg->m);
	g_free(msg->text);
}

static void test_unplus(void)
{
	g_autoptr(SmConfig) c = test_config();
	const SmUnplus *used = NULL;
	g_autofree char *a = sm_unplus(c, "merlyn+for-stonehenge+fred@host", &used);
	g_assert_cmpstr(a, ==, "fred@stonehenge.com");
	g_assert_true(used == c->unplus->pdata[0]);
	g_autofree char *b = sm_unplus(c, "MERLYN+For-Stonehenge+Barney@host.example", &used);
	g_assert_cmpstr(b, ==, "Barney@stonehenge.com");
	g_autofree char *d = sm_unplus(c, "fred+news@example.org", &used);
	g_assert_cmpstr(d, ==, "fred@example.org");
	g_assert_true(used == c->unplus->pdata[1]);
	/* No match: NULL, and the caller keeps the address as is. */
	g_assert_null(sm_unplus(c, "merlyn@host", &used));
	g_assert_null(used);
	/* A capture that does not exist expands to nothing. */
	g_autofree char *e = sm_unplus(c, "catchall@x", NULL);
	g_assert_cmpstr(e, ==, "");
	g_assert_null(sm_unplus(NULL, "x@y", NULL));
}

static void test_delivered_to_first(void)
{
	g_autoptr(SmConfig) c = test_config();
	SmEnvelope env = { .recipient = (char *)"merlyn@host",
	                   .original_recipient = (char *)"opt@x",
	                   .original_from_option = TRUE };
	Msg msg;
	msg_init(&msg, "Received: x\n"
	               "Delivered-To: merlyn+for-stonehenge+fred@host\n"
	               "X-Original-To: xot@x\n"
	               "Delivered-To: merlyn@host\n\nbody\n");
	SmRecipient r;
	sm_recipient_recover(c, &env, &msg.m, &r);
	g_assert_cmpstr(r.address, ==, "fred@stonehenge.com");
	g_assert_cmpint(r.source, ==, SM_RCPT_DELIVERED_TO);
	g_assert_true(r.unplus == c->unplus->pdata[0]);
	g_assert_cmpstr(sm_recipient_source_name(r.source), ==, "delivered-to");
	sm_recipient_clear(&r);
	msg_clear(&msg);

	/* Without a matching un-plus rule the address is taken as it is. */
	msg_init(&msg, "Delivered-To: Fred Bloggs <Fred@Example.NET>\n\n");
	sm_recipient_recover(c, &env, &msg.m, &r);
	g_assert_cmpstr(r.address, ==, "Fred@Example.NET");
	g_assert_null(r.unplus);
	sm_recipient_clear(&r);
	msg_clear(&msg);
}

static void test_fallbacks(void)
{
	g_autoptr(SmConfig) c = test_config();
	SmEnvelope env = { .recipient = (char *)"fred+x@example.org",
	                   .original_recipient = (char *)"merlyn+for-stonehenge+opt@h" };
	Msg msg;
	SmRecipient r;

	msg_init(&msg, "X-Original-To: xot@x\nSubject: s\n\n");
	env.original_from_option = TRUE;
	sm_recipient_recover(c, &env, &msg.m, &r);
	g_assert_cmpstr(r.address, ==, "opt@stonehenge.com");
	g_assert_cmpint(r.source, ==, SM_RCPT_OPTION);
	sm_recipient_clear(&r);

	env.original_from_option = FALSE;
	sm_recipient_recover(c, &env, &msg.m, &r);
	g_assert_cmpint(r.source, ==, SM_RCPT_ORIGINAL_ENV);
	g_assert_cmpstr(sm_recipient_source_name(r.source), ==, "original-recipient");
	sm_recipient_clear(&r);

	env.original_recipient = (char *)"";
	sm_recipient_recover(c, &env, &msg.m, &r);
	g_assert_cmpstr(r.address, ==, "xot@x");
	g_assert_cmpint(r.source, ==, SM_RCPT_X_ORIGINAL_TO);
	sm_recipient_clear(&r);
	msg_clear(&msg);

	env.original_recipient = NULL;
	msg_init(&msg, "Subject: s\n\n");
	sm_recipient_recover(c, &env, &msg.m, &r);
	g_assert_cmpstr(r.address, ==, "fred@example.org");
	g_assert_cmpint(r.source, ==, SM_RCPT_ENVELOPE);
	sm_recipient_clear(&r);

	env.recipient = NULL;
	sm_recipient_recover(c, &env, &msg.m, &r);
	g_assert_cmpstr(r.address, ==, "");
	g_assert_cmpint(r.source, ==, SM_RCPT_NONE);
	g_assert_null(r.unplus);
	sm_recipient_clear(&r);

	sm_recipient_recover(c, NULL, &msg.m, &r);
	g_assert_cmpstr(r.address, ==, "");
	sm_recipient_clear(&r);
	msg_clear(&msg);

	/* An empty or address-less Delivered-To does not count. */
	env.recipient = (char *)"env@x";
	msg_init(&msg, "Delivered-To: \nDelivered-To: second@x\n\n");
	sm_recipient_recover(c, &env, &msg.m, &r);
	g_assert_cmpstr(r.address, ==, "env@x");
	sm_recipient_clear(&r);
	msg_clear(&msg);
	msg_init(&msg, "Delivered-To: <>\n\n");
	sm_recipient_recover(c, &env, &msg.m, &r);
	g_assert_cmpstr(r.address, ==, "env@x");
	sm_recipient_clear(&r);
	msg_clear(&msg);
}

static gboolean has_control(const char *s)
{
	for (; *s; s++)
		if ((guchar)*s < 0x20 || (guchar)*s == 0x7f)
			return TRUE;
	return FALSE;
}

/* Recovery does not judge addresses (folder validation does), but it never
 * lets control characters through, whatever the source. */
static void test_hostile(void)
{
	g_autoptr(SmConfig) c = test_config();
	SmEnvelope env = { .recipient = (char *)"env@x" };
	SmRecipient r;
	static const struct { const char *msg; const char *want; } cases[] = {
		{ "Delivered-To: ../../etc/passwd@x\n\n", "../../etc/passwd@x" },
		{ "Delivered-To: a/b@x\n\n", "a/b@x" },
		{ "Delivered-To: <a\rb@x>\n\n", "a b@x" },
		{ "Delivered-To: <fred@x\r\n\tInjected: yes>\n\n", "fred@x Injected: yes" },
		{ "Delivered-To: <\x01\x1b[31mred@x\x7f>\n\n", "[31mred@x" },
		{ "Delivered-To: \x01\x02\n\n", "env@x" },
		{ "Delivered-To: merlyn+for-stonehenge+\x01../x\x1f@h\n\n", "../x@stonehenge.com" },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		Msg msg;
		msg_init(&msg, cases[i].msg);
		sm_recipient_recover(c, &env, &msg.m, &r);
		g_assert_false(has_control(r.address));
		if (strcmp(r.address, cases[i].want) != 0)
			g_error("case %zu: got \"%s\"", i, r.address);
		sm_recipient_clear(&r);
		msg_clear(&msg);
	}

	/* The same from the environment and the option. */
	Msg msg;
	msg_init(&msg, "\n");
	env.original_recipient = (char *)" <\tfred\n@x\r> ";
	sm_recipient_recover(c, &env, &msg.m, &r);
	g_assert_cmpstr(r.address, ==, "fred@x");
	sm_recipient_clear(&r);
	env.original_recipient = (char *)"\n\r\t";
	env.recipient = (char *)"\n<a\x7f@b>";
	sm_recipient_recover(c, &env, &msg.m, &r);
	g_assert_cmpstr(r.address, ==, "a@b");
	g_assert_cmpint(r.source, ==, SM_RCPT_ENVELOPE);
	sm_recipient_clear(&r);
	msg_clear(&msg);
}

static void test_personal(void)
{
	g_autoptr(SmConfig) c = test_config();
	g_assert_true(sm_is_personal(c, "fred@example.org"));
	g_assert_true(sm_is_personal(c, "FRED@Example.ORG"));
	g_assert_true(sm_is_personal(c, "<fred@example.org>"));
	g_assert_true(sm_is_personal(c, "anyone@stonehenge.com"));
	g_assert_true(sm_is_personal(c, "x@STONEHENGE.com"));
	g_assert_false(sm_is_personal(c, "x@sub.stonehenge.com"));
	g_assert_false(sm_is_personal(c, "stonehenge.com"));
	g_assert_false(sm_is_personal(c, "fred@example.org.evil"));
	g_assert_false(sm_is_personal(c, "xfred@example.org"));
	g_assert_false(sm_is_personal(c, ""));
	g_assert_false(sm_is_personal(c, NULL));

	/* Defaults: the envelope recipient, with and without its extension. */
	SmEnvelope env = { .recipient = (char *)"Bob+Spam@Example.com" };
	g_autoptr(SmConfig) d = sm_config_parse("", "t", &env, NULL);
	g_assert_true(sm_is_personal(d, "bob+spam@example.com"));
	g_assert_true(sm_is_personal(d, "bob@example.com"));
	g_assert_false(sm_is_personal(d, "bob+other@example.com"));
	g_assert_false(sm_is_personal(d, "alice@example.com"));
}

static void test_envelope_clear(void)
{
	SmEnvelope e = {
		.sender = g_strdup("s"), .recipient = g_strdup("r"),
		.original_recipient = g_strdup("o"), .original_from_option = TRUE,
		.user = g_strdup("u"), .home = g_strdup("h"), .extension = g_strdup("e"),
	};
	sm_envelope_clear(&e);
	g_assert_null(e.sender);
	g_assert_null(e.original_recipient);
	g_assert_false(e.original_from_option);
	sm_envelope_clear(&e);
}

static void test_source_names(void)
{
	g_assert_cmpstr(sm_recipient_source_name(SM_RCPT_OPTION), ==, "option");
	g_assert_cmpstr(sm_recipient_source_name(SM_RCPT_X_ORIGINAL_TO), ==, "x-original-to");
	g_assert_cmpstr(sm_recipient_source_name(SM_RCPT_ENVELOPE), ==, "envelope");
	g_assert_cmpstr(sm_recipient_source_name(SM_RCPT_NONE), ==, "none");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/recipient/unplus", test_unplus);
	g_test_add_func("/recipient/delivered-to-first", test_delivered_to_first);
	g_test_add_func("/recipient/fallbacks", test_fallbacks);
	g_test_add_func("/recipient/hostile", test_hostile);
	g_test_add_func("/recipient/personal", test_personal);
	g_test_add_func("/recipient/envelope-clear", test_envelope_clear);
	g_test_add_func("/recipient/source-names", test_source_names);
	return g_test_run();
}
