/* test-outbound.c: the pipe and forward items of a rule and the pipe-timeout
 * keyword (sortmail/config*.c), and the decision's outbound rule (decide.c).
 * Running them is tested through the real binary (tests/integration/outbound.sh). */
#include "config.h"
#include "sortmail/sortmail.h"

#include <string.h>

static const SmEnvelope env = {
	.sender = (char *)"someone@example.net",
	.recipient = (char *)"fred@example.org",
	.home = (char *)"/home/fred",
};

static SmConfig *parse_ok(const char *text)
{
	g_autoptr(GError) error = NULL;
	SmConfig *c = sm_config_parse(text, "test.conf", &env, &error);
	g_assert_no_error(error);
	g_assert_nonnull(c);
	return c;
}

static const SmRule *rule_at(const SmConfig *c, guint i)
{
	g_assert_cmpuint(i, <, c->rules->len);
	return c->rules->pdata[i];
}

static void test_pipe_timeout(void)
{
	g_autoptr(SmConfig) c = parse_ok("");
	g_assert_cmpuint(c->pipe_timeout, ==, 60);
	g_autoptr(SmConfig) d = parse_ok("pipe-timeout 2m\n");
	g_assert_cmpuint(d->pipe_timeout, ==, 120);
}

static void test_pipe_items(void)
{
	g_autoptr(SmConfig) c = parse_ok(
		"rule to ^a@ pipe \"/usr/bin/list -x \\\"two words\\\" last\" noscore\n"
		"rule to ^b@ folder lists pipe-defer pipe /usr/bin/archive\n"
		"rule shell pipe \"cat >> ~/x | wc\" to ^c@\n");
	const SmRule *r = rule_at(c, 0);
	g_assert_cmpstr(r->pipe, ==, "/usr/bin/list -x \"two words\" last");
	g_assert_cmpuint(g_strv_length(r->pipe_argv), ==, 4);
	g_assert_cmpstr(r->pipe_argv[0], ==, "/usr/bin/list");
	g_assert_cmpstr(r->pipe_argv[2], ==, "two words");
	g_assert_cmpstr(r->pipe_argv[3], ==, "last");
	g_assert_false(r->pipe_shell);
	g_assert_false(r->pipe_defer);
	g_assert_true(r->file_on_failure);
	g_assert_cmpint(r->action, ==, SM_ACTION_FOLDER);
	g_assert_cmpstr(r->folder, ==, "inbox");

	r = rule_at(c, 1);
	g_assert_true(r->pipe_defer);
	g_assert_false(r->file_on_failure);
	g_assert_cmpstr(r->folder, ==, "lists");
	g_assert_cmpstr(r->pipe_argv[0], ==, "/usr/bin/archive");
	g_assert_null(r->pipe_argv[1]);

	r = rule_at(c, 2);
	g_assert_true(r->pipe_shell);
	g_assert_null(r->pipe_argv);
	g_assert_cmpstr(r->pipe, ==, "cat >> ~/x | wc");
}

static void test_forward_items(void)
{
	g_autoptr(SmConfig) c = parse_ok(
		"rule to ^a@ forward alice@example.net bob@example.com noscore\n"
		"rule to ^b@ forward-sender bounce@example.org forward x@y.z forward-spam "
		"folder keep even-spam\n");
	const SmRule *r = rule_at(c, 0);
	g_assert_cmpuint(r->forward->len, ==, 2);
	g_assert_cmpstr(r->forward->pdata[1], ==, "bob@example.com");
	g_assert_true(r->noscore);
	g_assert_true(r->file_on_failure);
	g_assert_null(r->forward_sender);
	g_assert_false(r->forward_spam);

	r = rule_at(c, 1);
	g_assert_cmpuint(r->forward->len, ==, 1);
	g_assert_cmpstr(r->forward_sender, ==, "bounce@example.org");
	g_assert_true(r->forward_spam);
	g_assert_false(r->file_on_failure);
	g_assert_cmpstr(r->folder, ==, "keep");
}

static void test_bad_items(void)
{
	static const struct {
		const char *text;
		const char *what;
	} cases[] = {
		{ "rule to ^a@ pipe\n", "'pipe' needs an argument" },
		{ "rule to ^a@ pipe bin/x\n", "absolute program path" },
		{ "rule to ^a@ pipe \"\"\n", "absolute program path" },
		{ "rule to ^a@ pipe \"/bin/x \\\"open\"\n", "missing closing quote" },
		{ "rule to ^a@ pipe /bin/x pipe /bin/y\n", "one 'pipe'" },
		{ "rule to ^a@ shell folder x\n", "'shell' needs 'pipe'" },
		{ "rule to ^a@ pipe-defer folder x\n", "'pipe-defer' needs 'pipe'" },
		{ "rule to ^a@ forward folder x\n", "at least one address" },
		{ "rule to ^a@ forward a@b \"<x@y>\"\n", "bad forward address" },
		{ "rule to ^a@ forward -x@y\n", "bad forward address" },
		{ "rule to ^a@ forward-spam folder x\n", "'forward-spam' needs 'forward'" },
		{ "rule to ^a@ forward-sender a@b folder x\n", "'forward-sender' needs 'forward'" },
		{ "rule to ^a@ forward a@b forward-sender nobody\n", "bad forward-sender" },
		{ "rule to ^a@ forward a@b discard\n", "'discard' cannot go with" },
		{ "pipe-timeout 0\n", "bad duration" },
		{ "pipe-timeout 2h\n", "bad duration" },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(SmConfig) c = sm_config_parse(cases[i].text, "t.conf", &env, &error);
		g_assert_null(c);
		g_assert_error(error, SM_CONFIG_ERROR, SM_CONFIG_ERROR_PARSE);
		if (!strstr(error->message, cases[i].what))
			g_error("case %zu: '%s' does not contain '%s'", i, error->message,
			        cases[i].what);
		g_assert_true(g_str_has_prefix(error->message, "t.conf:1: "));
	}
}

static gboolean spam_score(const SmMessage *m, SmVerdict *out, gpointer user, GError **error)
{
	out->score = 12.0;
	out->threshold = 5.0;
	out->is_spam = TRUE;
	out->source = SM_VERDICT_SCORED;
	return TRUE;
}

static void test_decide_outbound(void)
{
	g_autoptr(SmConfig) c = parse_ok(
		"personal fred@example.org\n"
		"rule to ^list@ pipe /usr/bin/list\n"
		"rule to ^fwd@ forward a@example.net even-spam\n"
		"rule to ^plain@ folder plain\n");
	SmMessage m;
	const char *text = "Subject: hi\n\nbody\n";
	sm_message_index(&m, text, strlen(text));
	SmDecision d;

	sm_decide(c, &env, &m, "list@example.org", NULL, NULL, &d);
	g_assert_true(d.outbound == rule_at(c, 0));
	g_assert_cmpstr(d.folder, ==, "inbox");
	sm_decision_clear(&d);

	/* Spam overrides a pipe rule's action, and with it the pipe. */
	sm_decide(c, &env, &m, "list@example.org", spam_score, NULL, &d);
	g_assert_null(d.outbound);
	g_assert_cmpstr(d.folder, ==, "ubetrap");
	sm_decision_clear(&d);

	/* even-spam keeps the rule; the forward itself then says no (lda/). */
	sm_decide(c, &env, &m, "fwd@example.org", spam_score, NULL, &d);
	g_assert_true(d.outbound == rule_at(c, 1));
	sm_decision_clear(&d);

	sm_decide(c, &env, &m, "plain@example.org", NULL, NULL, &d);
	g_assert_null(d.outbound);
	sm_decision_clear(&d);
	sm_message_clear(&m);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/outbound/config/pipe-timeout", test_pipe_timeout);
	g_test_add_func("/outbound/config/pipe", test_pipe_items);
	g_test_add_func("/outbound/config/forward", test_forward_items);
	g_test_add_func("/outbound/config/bad", test_bad_items);
	g_test_add_func("/outbound/decide", test_decide_outbound);
	return g_test_run();
}
