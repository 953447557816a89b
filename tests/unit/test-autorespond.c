/* test-autorespond.c: the autoresponder's configuration (rule items and
 * keywords, sortmail/config*.c), the decision's reply (decide.c) and the whole
 * never-answer matrix (sortmail/autorespond.c). */
#include "config.h"
#include "sortmail/sortmail.h"

#include <string.h>

static const SmEnvelope env = {
	.sender = (char *)"asker@example.net",
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

/* ---- configuration ----------------------------------------------------- */

static void test_config_defaults(void)
{
	g_autoptr(SmConfig) c = parse_ok("");
	g_assert_cmpuint(c->sendmail->len, ==, 1);
	g_assert_cmpstr(c->sendmail->pdata[0], ==, "/usr/sbin/sendmail");
	g_assert_cmpuint(c->sendmail_timeout, ==, 60);
	g_assert_cmpstr(c->templates_dir, ==, "/home/fred/.sortmail/templates");
	g_assert_cmpstr(c->reply_memory, ==, "/home/fred/.sortmail/replied.db");
}

static void test_config_keywords(void)
{
	g_autoptr(SmConfig) c = parse_ok(
		"sendmail /usr/lib/sendmail -C /etc/postfix-out -oi\n"
		"sendmail-timeout 2m\n"
		"templates-dir ~/replies\n"
		"reply-memory /var/lib/sortmail/replied.db\n");
	g_assert_cmpuint(c->sendmail->len, ==, 4);
	g_assert_cmpstr(c->sendmail->pdata[0], ==, "/usr/lib/sendmail");
	g_assert_cmpstr(c->sendmail->pdata[3], ==, "-oi");
	g_assert_cmpuint(c->sendmail_timeout, ==, 120);
	g_assert_cmpstr(c->templates_dir, ==, "/home/fred/replies");
	g_assert_cmpstr(c->reply_memory, ==, "/var/lib/sortmail/replied.db");

	/* A later sendmail line replaces the whole command. */
	g_autoptr(SmConfig) d = parse_ok("sendmail /a -x\nsendmail /b\n");
	g_assert_cmpuint(d->sendmail->len, ==, 1);
	g_assert_cmpstr(d->sendmail->pdata[0], ==, "/b");
}

static void test_config_rule_items(void)
{
	g_autoptr(SmConfig) c = parse_ok(
		"rule to ^training@ autorespond information folder training\n"
		"rule to ^fred@ autorespond vacation vacation every 12h reply-from fred@example.org\n"
		"rule to ^nobody@ autorespond unknown-address discard every 30d\n"
		"rule to ^info@ autorespond information\n"
		"rule to ^x@ folder x\n");
	const SmRule *r = rule_at(c, 0);
	g_assert_cmpstr(r->autorespond, ==, "information");
	g_assert_cmpstr(r->folder, ==, "training");
	g_assert_cmpuint(r->reply_every, ==, 7 * 86400);
	g_assert_false(r->vacation);
	g_assert_null(r->reply_from);

	r = rule_at(c, 1);
	g_assert_cmpstr(r->autorespond, ==, "vacation");
	g_assert_true(r->vacation);
	g_assert_cmpuint(r->reply_every, ==, 12 * 3600);
	g_assert_cmpstr(r->reply_from, ==, "fred@example.org");
	g_assert_cmpint(r->action, ==, SM_ACTION_FOLDER);
	g_assert_cmpstr(r->folder, ==, "inbox");

	r = rule_at(c, 2);
	g_assert_cmpint(r->action, ==, SM_ACTION_DISCARD);
	g_assert_cmpuint(r->reply_every, ==, 30 * 86400);

	/* A reply without an action files into the inbox. */
	r = rule_at(c, 3);
	g_assert_cmpint(r->action, ==, SM_ACTION_FOLDER);
	g_assert_cmpstr(r->folder, ==, "inbox");

	r = rule_at(c, 4);
	g_assert_null(r->autorespond);
	g_assert_cmpuint(r->reply_every, ==, 0);
}

static void test_config_errors(void)
{
	static const struct { const char *text; const char *what; } cases[] = {
		{ "rule autorespond ../etc/passwd\n", "bad template name '../etc/passwd'" },
		{ "rule autorespond .hidden\n", "bad template name" },
		{ "rule autorespond a/b\n", "bad template name" },
		{ "rule autorespond\n", "'autorespond' needs an argument" },
		{ "rule autorespond a autorespond b\n", "one 'autorespond'" },
		{ "rule to x every 7d folder x\n", "'every' needs 'autorespond'" },
		{ "rule to x vacation folder x\n", "'vacation' needs 'autorespond'" },
		{ "rule reply-from a@b inbox\n", "'reply-from' needs 'autorespond'" },
		{ "rule autorespond a every 0\n", "bad duration '0'" },
		{ "rule autorespond a every 400d\n", "bad duration" },
		{ "rule autorespond a every\n", "'every' needs an argument" },
		{ "rule autorespond a reply-from fred\n", "bad reply-from address 'fred'" },
		{ "rule autorespond a reply-from \"Fred <f@x>\"\n", "bad reply-from address" },
		{ "rule autorespond a reply-from -oQ@x\n", "bad reply-from address" },
		{ "rule autorespond a reply-from \"a@b\nc\"\n", "missing closing quote" },
		{ "sendmail sendmail\n", "'sendmail' needs an absolute path" },
		{ "sendmail\n", "'sendmail' needs at least 1 argument" },
		{ "sendmail-timeout 11m\n", "bad duration" },
		{ "sendmail-timeout 0\n", "bad duration" },
		{ "templates-dir \"\"\n", "empty path" },
		{ "reply-memory\n", "'reply-memory' takes 1 argument" },
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

/* ---- the decision -------------------------------------------------------- */

static gboolean spam_score(const SmMessage *m, SmVerdict *out, gpointer user, GError **error)
{
	out->score = 12.0;
	out->threshold = 5.0;
	out->is_spam = TRUE;
	out->source = SM_VERDICT_SCORED;
	return TRUE;
}

static void test_decide_reply(void)
{
	g_autoptr(SmConfig) c = parse_ok(
		"personal fred@example.org\n"
		"rule to ^training@ autorespond information folder training\n"
		"rule to ^nobody@ autorespond unknown-address discard\n"
		"rule to ^plain@ folder plain\n");
	SmMessage m;
	const char *text = "Subject: hi\n\nbody\n";
	sm_message_index(&m, text, strlen(text));
	SmDecision d;

	sm_decide(c, &env, &m, "training@example.org", NULL, NULL, &d);
	g_assert_cmpstr(d.folder, ==, "training");
	g_assert_true(d.reply == rule_at(c, 0));
	sm_decision_clear(&d);

	sm_decide(c, &env, &m, "nobody@example.org", NULL, NULL, &d);
	g_assert_true(d.discard);
	g_assert_true(d.reply == rule_at(c, 1));
	sm_decision_clear(&d);

	sm_decide(c, &env, &m, "plain@example.org", NULL, NULL, &d);
	g_assert_null(d.reply);
	sm_decision_clear(&d);

	/* Spam overrides the action but the reply stays asked for, so that the
	 * reply step can say why it does not answer. */
	sm_decide(c, &env, &m, "training@example.org", spam_score, NULL, &d);
	g_assert_cmpstr(d.folder, ==, "ubetrap");
	g_assert_null(d.rule);
	g_assert_true(d.reply == rule_at(c, 0));
	g_autofree char *detail = NULL;
	g_assert_cmpstr(sm_autorespond_veto(c, d.reply, &env, &m, &d.verdict, &detail), ==,
	                "spam");
	g_assert_cmpstr(detail, ==, "score 12.0");
	sm_decision_clear(&d);
	sm_message_clear(&m);
}

/* ---- the never-answer matrix ------------------------------------------- */

typedef struct {
	const char *name;
	const char *sender;   /* NULL: env's */
	const char *headers;  /* the header block, without the empty line */
	gboolean spam;
	gboolean vacation;
	const char *veto;     /* NULL: may answer */
	const char *detail;   /* NULL: not checked */
} VetoCase;

static const VetoCase veto_cases[] = {
	{ "plain question", NULL, "From: a@example.net\nTo: info@example.org\nSubject: q",
	  FALSE, FALSE, NULL, NULL },
	{ "spam", NULL, "Subject: win", TRUE, FALSE, "spam", "score 9.0" },
	{ "null sender", "", "Subject: bounce", FALSE, FALSE, "null-sender", NULL },
	{ "MAILER-DAEMON", "MAILER-DAEMON@mx.example.net", "Subject: x", FALSE, FALSE,
	  "mailer-daemon", NULL },
	{ "mailer-daemon, any case", "Mailer-Daemon@x", "Subject: x", FALSE, FALSE,
	  "mailer-daemon", NULL },
	{ "bare MAILER-DAEMON", "MAILER-DAEMON", "Subject: x", FALSE, FALSE, "mailer-daemon", NULL },
	{ "owner-*", "owner-perl5-porters@perl.org", "Subject: x", FALSE, FALSE, "owner-sender",
	  NULL },
	{ "*-request", "perl5-porters-request@perl.org", "Subject: x", FALSE, FALSE,
	  "request-sender", NULL },
	{ "-request in the domain only", "bob@x-request.example", "Subject: x", FALSE, FALSE,
	  NULL, NULL },
	{ "own address", "Fred@Example.ORG", "Subject: x", FALSE, FALSE, "own-address", NULL },
	{ "own domain", "anyone@corp.example", "Subject: x", FALSE, FALSE, "own-address", NULL },
	{ "sender with a space", "a b@x", "Subject: x", FALSE, FALSE, "bad-sender", NULL },
	{ "sender like an option", "-oQ/tmp@x", "Subject: x", FALSE, FALSE, "bad-sender", NULL },
	{ "sender with a newline", "a@x\nBcc: b@y", "Subject: x", FALSE, FALSE, "bad-sender",
	  NULL },
	{ "Auto-Submitted: auto-replied", NULL, "Subject: x\nAuto-Submitted: auto-replied",
	  FALSE, FALSE, "auto-submitted", "Auto-Submitted: auto-replied" },
	{ "Auto-Submitted: auto-generated", NULL, "auto-submitted: Auto-Generated (cron)", FALSE,
	  FALSE, "auto-submitted", NULL },
	{ "Auto-Submitted: no", NULL, "Auto-Submitted: no", FALSE, FALSE, NULL, NULL },
	{ "Auto-Submitted: No (comment)", NULL, "Auto-Submitted: No (a person wrote this)", FALSE,
	  FALSE, NULL, NULL },
	{ "Auto-Submitted: no, then another", NULL,
	  "Auto-Submitted: no\nAuto-Submitted: auto-notified", FALSE, FALSE, "auto-submitted",
	  NULL },
	{ "Auto-Submitted: empty", NULL, "Auto-Submitted:", FALSE, FALSE, "auto-submitted", NULL },
	{ "Precedence: bulk", NULL, "Precedence: bulk", FALSE, FALSE, "precedence",
	  "Precedence: bulk" },
	{ "Precedence: junk", NULL, "Precedence: JUNK", FALSE, FALSE, "precedence", NULL },
	{ "Precedence: list", NULL, "Precedence:  list ", FALSE, FALSE, "precedence", NULL },
	{ "Precedence: first-class", NULL, "Precedence: first-class", FALSE, FALSE, NULL, NULL },
	{ "List-Id", NULL, "Subject: x\nList-Id: Perl <perl.example.org>", FALSE, FALSE,
	  "list-header", "List-Id present" },
	{ "List-Unsubscribe", NULL, "list-unsubscribe: <mailto:x@y>", FALSE, FALSE, "list-header",
	  "list-unsubscribe present" },
	{ "List-Post", NULL, "List-Post: NO", FALSE, FALSE, "list-header", NULL },
	{ "Listing (not List-*)", NULL, "Listing: x\nList: y", FALSE, FALSE, NULL, NULL },
	{ "X-Auto-Response-Suppress", NULL, "X-Auto-Response-Suppress: All", FALSE, FALSE,
	  "auto-response-suppress", NULL },
	{ "X-Auto-Response-Suppress empty", NULL, "X-Auto-Response-Suppress:", FALSE, FALSE,
	  "auto-response-suppress", NULL },
	{ "vacation, To me", NULL, "To: Fred <fred@example.org>", FALSE, TRUE, NULL, NULL },
	{ "vacation, Cc me", NULL, "To: list@x\nCc: a@b, \"Bloggs, Fred\" <FRED@example.org>",
	  FALSE, TRUE, NULL, NULL },
	{ "vacation, To my domain", NULL, "To: someone@corp.example", FALSE, TRUE, NULL, NULL },
	{ "vacation, bare address", NULL, "To: fred@example.org (Fred)", FALSE, TRUE, NULL, NULL },
	{ "vacation, in a group", NULL, "To: friends: a@b, fred@example.org;", FALSE, TRUE, NULL,
	  NULL },
	{ "vacation, not me", NULL, "To: list@example.net\nCc: other@example.org", FALSE, TRUE,
	  "not-addressed-to-me", NULL },
	{ "vacation, me only in a display name", NULL, "To: \"fred@example.org\" <list@x>",
	  FALSE, TRUE, "not-addressed-to-me", NULL },
	{ "vacation, me only in a comment", NULL, "To: list@x (for fred@example.org)", FALSE,
	  TRUE, "not-addressed-to-me", NULL },
	{ "vacation, me in Bcc only", NULL, "To: list@x\nBcc: fred@example.org", FALSE, TRUE,
	  "not-addressed-to-me", NULL },
	{ "vacation, no To at all", NULL, "Subject: x", FALSE, TRUE, "not-addressed-to-me", NULL },
	/* The order of the checks decides which one is reported. */
	{ "spam from MAILER-DAEMON", "MAILER-DAEMON@x", "Precedence: bulk", TRUE, FALSE, "spam",
	  NULL },
	{ "null sender and a list", "", "List-Id: <x>", FALSE, FALSE, "null-sender", NULL },
	{ "auto-submitted list", NULL, "List-Id: <x>\nAuto-Submitted: auto-generated", FALSE,
	  FALSE, "auto-submitted", NULL },
};

static void test_veto_matrix(void)
{
	g_autoptr(SmConfig) c = parse_ok("personal fred@example.org @corp.example\n"
	                                 "rule to ^info@ autorespond information\n"
	                                 "rule to ^fred@ autorespond vacation vacation\n");
	for (gsize i = 0; i < G_N_ELEMENTS(veto_cases); i++) {
		const VetoCase *k = &veto_cases[i];
		g_autofree char *text = g_strconcat(k->headers, "\n\nbody\n", NULL);
		SmMessage m;
		sm_message_index(&m, text, strlen(text));
		SmEnvelope e = env;
		if (k->sender)
			e.sender = (char *)k->sender;
		SmVerdict v;
		sm_verdict_init(&v);
		if (k->spam) {
			v.source = SM_VERDICT_CACHED;
			v.is_spam = TRUE;
			v.score = 9.0;
		}
		g_autofree char *detail = NULL;
		const char *veto = sm_autorespond_veto(c, rule_at(c, k->vacation ? 1 : 0), &e, &m, &v,
		                                       &detail);
		if (g_strcmp0(veto, k->veto) != 0)
			g_error("%s: veto %s, expected %s", k->name, veto ? veto : "(none)",
			        k->veto ? k->veto : "(none)");
		if (k->detail)
			g_assert_cmpstr(detail, ==, k->detail);
		if (!veto)
			g_assert_null(detail);
		/* NULL is allowed for the detail, and for an unscored verdict. */
		g_assert_cmpstr(sm_autorespond_veto(c, rule_at(c, k->vacation ? 1 : 0), &e, &m,
		                                    k->spam ? &v : NULL, NULL),
		                ==, k->veto);
		sm_verdict_clear(&v);
		sm_message_clear(&m);
	}
}

/* A ham verdict, an unscored one and none at all are all "not spam". */
static void test_veto_not_spam(void)
{
	g_autoptr(SmConfig) c = parse_ok("rule autorespond information\n");
	const char *text = "Subject: x\n\n";
	SmMessage m;
	sm_message_index(&m, text, strlen(text));
	SmVerdict v;
	sm_verdict_init(&v);
	g_assert_null(sm_autorespond_veto(c, rule_at(c, 0), &env, &m, &v, NULL));
	v.source = SM_VERDICT_SCORED;
	v.score = 4.9;
	g_assert_null(sm_autorespond_veto(c, rule_at(c, 0), &env, &m, &v, NULL));
	/* A flag left on an unscored verdict does not count. */
	v.source = SM_VERDICT_NONE;
	v.is_spam = TRUE;
	g_assert_null(sm_autorespond_veto(c, rule_at(c, 0), &env, &m, &v, NULL));
	sm_verdict_clear(&v);
	sm_message_clear(&m);
}

/* The evidence goes into a log line: shortened and valid UTF-8. */
static void test_veto_detail_bounded(void)
{
	g_autoptr(SmConfig) c = parse_ok("rule autorespond information\n");
	GString *h = g_string_new("Auto-Submitted: ");
	for (int i = 0; i < 500; i++)
		g_string_append(h, "\xc3\xa9\xff");
	g_string_append(h, "\n\n");
	SmMessage m;
	sm_message_index(&m, h->str, h->len);
	g_autofree char *detail = NULL;
	g_assert_cmpstr(sm_autorespond_veto(c, rule_at(c, 0), &env, &m, NULL, &detail), ==,
	                "auto-submitted");
	g_assert_true(g_utf8_validate(detail, -1, NULL));
	g_assert_cmpuint(strlen(detail), <, 200);
	sm_message_clear(&m);
	g_string_free(h, TRUE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/autorespond/config/defaults", test_config_defaults);
	g_test_add_func("/autorespond/config/keywords", test_config_keywords);
	g_test_add_func("/autorespond/config/rule-items", test_config_rule_items);
	g_test_add_func("/autorespond/config/errors", test_config_errors);
	g_test_add_func("/autorespond/decide", test_decide_reply);
	g_test_add_func("/autorespond/veto/matrix", test_veto_matrix);
	g_test_add_func("/autorespond/veto/not-spam", test_veto_not_spam);
	g_test_add_func("/autorespond/veto/detail-bounded", test_veto_detail_bounded);
	return g_test_run();
}
