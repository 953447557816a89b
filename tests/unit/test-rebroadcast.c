/* test-rebroadcast.c: the "list" keyword and the "rebroadcast" rule item
 * (sortmail/config-list.c, config-rule.c, decide.c), and the pure parts of
 * lda/rebroadcast.c: members files, the From address, the admission screen,
 * the sender check and the copy for the members (headers added, dropped,
 * the subject tag, no header injected). Sending and holding are tested
 * through the real binary (tests/integration/rebroadcast.sh, postfix-outbound.sh). */
#include "config.h"
#include "sortmail/sortmail.h"
#include "lda/rebroadcast.h"
#include "lda/outbound.h"

#include <string.h>

static const SmEnvelope env = {
	.sender = (char *)"someone@example.net",
	.recipient = (char *)"fred@example.org",
	.home = (char *)"/home/fred",
};

#define LIST_LINE "list announce members ~/announce.members bounce owner@example.org " \
                  "post announce@example.org\n"

static SmConfig *parse_ok(const char *text)
{
	g_autoptr(GError) error = NULL;
	SmConfig *c = sm_config_parse(text, "test.conf", &env, &error);
	g_assert_no_error(error);
	g_assert_nonnull(c);
	return c;
}

/* ---- configuration ------------------------------------------------------------ */

static void test_list_items(void)
{
	g_autoptr(SmConfig) c = parse_ok(
		LIST_LINE
		"list team members /etc/team moderators mods bounce b@x.org post team@x.org "
		"id team.lists.x.org tag \"[team news]\" hold review.team\n"
		"rule to ^announce@ rebroadcast announce\n"
		"rule to ^team@ rebroadcast team folder archive.team\n");
	g_assert_cmpuint(c->lists->len, ==, 2);
	const SmList *a = sm_config_find_list(c, "announce");
	g_assert_nonnull(a);
	g_assert_cmpstr(a->members, ==, "/home/fred/announce.members");
	g_assert_null(a->moderators);
	g_assert_cmpstr(a->bounce, ==, "owner@example.org");
	g_assert_cmpstr(a->post, ==, "announce@example.org");
	g_assert_cmpstr(a->id, ==, "announce.example.org");
	g_assert_null(a->tag);
	g_assert_cmpstr(a->hold, ==, "held");
	g_assert_cmpuint(a->line, ==, 1);

	const SmList *t = sm_config_find_list(c, "team");
	g_assert_cmpstr(t->moderators, ==, "/home/fred/mods");
	g_assert_cmpstr(t->id, ==, "team.lists.x.org");
	g_assert_cmpstr(t->tag, ==, "[team news]");
	g_assert_cmpstr(t->hold, ==, "review.team");
	g_assert_null(sm_config_find_list(c, "Team"));

	const SmRule *r = c->rules->pdata[0];
	g_assert_true(r->rebroadcast == a);
	g_assert_true(r->file_on_failure);
	g_assert_cmpstr(r->folder, ==, "inbox");
	r = c->rules->pdata[1];
	g_assert_true(r->rebroadcast == t);
	g_assert_false(r->file_on_failure);
	g_assert_cmpstr(r->folder, ==, "archive.team");
}

static void test_bad_lists(void)
{
	static const struct {
		const char *text;
		const char *what;
	} cases[] = {
		{ "list\n", "'list' needs at least 1 argument" },
		{ "list a/b members m bounce b@x.org post p@x.org\n", "bad list name" },
		{ "list a bounce b@x.org post p@x.org\n", "needs 'members'" },
		{ "list a members m post p@x.org\n", "needs 'bounce'" },
		{ "list a members m bounce b@x.org\n", "needs 'post'" },
		{ "list a members m bounce b@x.org post p@x.org tag\n", "'tag' needs an argument" },
		{ "list a members m bounce nobody post p@x.org\n", "bad bounce address" },
		{ "list a members m bounce b@x.org post \"p@x.org\rBcc: y@z\"\n",
		  "bad post address" },
		{ "list a members m bounce b@x.org post p@x.org id nodot\n", "bad list id" },
		{ "list a members m bounce b@x.org post p@x.org id \"a.b\rc\"\n", "bad list id" },
		{ "list a members m bounce b@x.org post a@b@x.org\n", "give one with 'id'" },
		{ "list a members m bounce b@x.org post p@x.org tag \"[a]\rBcc: x\"\n",
		  "bad subject tag" },
		{ "list a members m bounce b@x.org post p@x.org tag \"caf\xc3\xa9\"\n",
		  "bad subject tag" },
		{ "list a members m bounce b@x.org post p@x.org hold ../x\n", "bad folder name" },
		{ "list a members m bounce b@x.org post p@x.org members n\n", "'members' given twice" },
		{ "list a members m bounce b@x.org post p@x.org owner o@x.org\n",
		  "unknown list item 'owner'" },
		{ "rule to ^a@ rebroadcast nosuch\n", "unknown list 'nosuch'" },
		{ "rule to ^a@ rebroadcast\n", "'rebroadcast' needs a list name" },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(SmConfig) c = sm_config_parse(cases[i].text, "t.conf", &env, &error);
		if (c)
			g_error("case %zu: parsed", i);
		g_assert_error(error, SM_CONFIG_ERROR, SM_CONFIG_ERROR_PARSE);
		if (!strstr(error->message, cases[i].what))
			g_error("case %zu: '%s' does not contain '%s'", i, error->message,
			        cases[i].what);
	}
}

static void test_bad_rules(void)
{
	static const struct {
		const char *text;
		const char *what;
	} cases[] = {
		{ "rule to ^a@ rebroadcast announce noscore\n", "'noscore' cannot go with" },
		{ "rule to ^a@ rebroadcast announce even-spam\n", "'even-spam' cannot go with" },
		{ "rule to ^a@ rebroadcast announce discard\n", "'discard' cannot go with" },
		{ "rule to ^a@ rebroadcast announce rebroadcast announce\n", "one 'rebroadcast'" },
		{ "list announce members m bounce b@x.org post p@x.org\n", "defined twice" },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *text = g_strconcat(LIST_LINE, cases[i].text, NULL);
		g_autoptr(SmConfig) c = sm_config_parse(text, "t.conf", &env, &error);
		g_assert_null(c);
		if (!strstr(error->message, cases[i].what) ||
		    !g_str_has_prefix(error->message, "t.conf:2: "))
			g_error("case %zu: '%s' does not contain '%s'", i, error->message,
			        cases[i].what);
	}
	/* A list must come before the rule that names it. */
	g_autoptr(GError) error = NULL;
	g_autoptr(SmConfig) c = sm_config_parse("rule to ^a@ rebroadcast announce\n" LIST_LINE,
	                                        "t.conf", &env, &error);
	g_assert_null(c);
	g_assert_nonnull(strstr(error->message, "t.conf:1: unknown list 'announce'"));
}

static gboolean spam_score(const SmMessage *m, SmVerdict *out, gpointer user, GError **error)
{
	out->score = 12.0;
	out->threshold = 5.0;
	out->is_spam = GPOINTER_TO_INT(user);
	out->source = SM_VERDICT_SCORED;
	return TRUE;
}

static void test_decide(void)
{
	g_autoptr(SmConfig) c = parse_ok(LIST_LINE "personal fred@example.org\n"
	                                 "rule to ^announce@ rebroadcast announce\n");
	SmMessage m;
	const char *text = "Subject: hi\n\nbody\n";
	sm_message_index(&m, text, strlen(text));
	SmDecision d;
	sm_decide(c, &env, &m, "announce@example.org", spam_score, GINT_TO_POINTER(FALSE), &d);
	g_assert_true(d.outbound == c->rules->pdata[0]);
	g_assert_cmpstr(d.folder, ==, "inbox");
	sm_decision_clear(&d);
	/* Spam takes the spam policy's way; the rule, and its list, are out of it. */
	sm_decide(c, &env, &m, "announce@example.org", spam_score, GINT_TO_POINTER(TRUE), &d);
	g_assert_null(d.outbound);
	g_assert_cmpstr(d.folder, ==, "ubetrap");
	sm_decision_clear(&d);
	sm_message_clear(&m);
}

/* ---- members files ---------------------------------------------------------- */

static void test_members(void)
{
	const char *text = "# the team\n"
	                   "  alice@example.org  \n"
	                   "\n"
	                   "Bob@Example.COM # bob, from the old list\n"
	                   "\t# nobody\n"
	                   "ALICE@example.org\n"
	                   "carol@example.net";
	g_autoptr(GPtrArray) a = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	g_assert_true(sm_list_parse_addresses(text, strlen(text), "m", a, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(a->len, ==, 3);
	g_assert_cmpstr(a->pdata[0], ==, "alice@example.org");
	g_assert_cmpstr(a->pdata[1], ==, "Bob@Example.COM");
	g_assert_cmpstr(a->pdata[2], ==, "carol@example.net");

	static const struct {
		const char *text;
		const char *what;
	} bad[] = {
		{ "a@x.org\nFred <fred@x.org>\n", "m:2: bad address 'Fred <fred@x.org>'" },
		{ "nobody\n", "m:1: bad address 'nobody'" },
		{ "-oQ/tmp@x.org\n", "m:1: bad address" },
		{ "a@x.org, b@x.org\n", "m:1: bad address" },
		{ "a@x.org\rBcc: e@vil\n", "m:1: bad address 'a@x.org\\rBcc: e@vil'" },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GPtrArray) b = g_ptr_array_new_with_free_func(g_free);
		g_autoptr(GError) e = NULL;
		g_assert_false(sm_list_parse_addresses(bad[i].text, strlen(bad[i].text), "m", b, &e));
		if (!e || !strstr(e->message, bad[i].what))
			g_error("case %zu: '%s' does not contain '%s'", i, e ? e->message : "-",
			        bad[i].what);
	}
	g_autoptr(GPtrArray) n = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) e = NULL;
	g_assert_false(sm_list_parse_addresses("a@x.org\n\0b@x.org\n", 17, "m", n, &e));
	g_assert_nonnull(strstr(e->message, "m:2: NUL byte"));

	g_autoptr(GPtrArray) r = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) re = NULL;
	g_assert_false(sm_list_read_addresses("/nonexistent/members", r, &re));
	g_assert_error(re, G_FILE_ERROR, G_FILE_ERROR_NOENT);
}

static void test_from_address(void)
{
	static const struct {
		const char *value, *addr;
	} cases[] = {
		{ "alice@example.org", "alice@example.org" },
		{ "Alice <alice@example.org>", "alice@example.org" },
		{ "\"Alice, the <boss@example.org>\" <alice@example.org>", "alice@example.org" },
		{ "alice@example.org (Alice <boss@example.org>)", "alice@example.org" },
		{ "(nested (comment <x@y>)) <alice@example.org>", "alice@example.org" },
		{ "alice@example.org, bob@example.org", "alice@example.org" },
		{ "=?utf-8?q?J=C3=BCrgen?= < juergen@example.org >", "juergen@example.org" },
		{ "undisclosed recipients", NULL },
		{ "<>", NULL },
		{ "", NULL },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *a = sm_list_from_address(cases[i].value);
		if (g_strcmp0(a, cases[i].addr) != 0)
			g_error("case %zu: '%s' gave '%s', not '%s'", i, cases[i].value,
			        a ? a : "(null)", cases[i].addr ? cases[i].addr : "(null)");
	}
}

/* ---- admission ---------------------------------------------------------------- */

static SmList list = {
	.name = (char *)"announce",
	.members = (char *)"/m",
	.bounce = (char *)"owner@example.org",
	.post = (char *)"announce@example.org",
	.id = (char *)"announce.example.org",
	.tag = (char *)"[Announce]",
	.hold = (char *)"held",
};

/* The screen's state for @headers (then a From and a body), with @sender as
 * envelope sender and the verdict "ham" unless @source says otherwise. */
static const char *screen(const char *headers, const char *sender, SmVerdictSource source,
                          gboolean spam, char **detail)
{
	g_autofree char *text = g_strconcat(headers, "From: a@example.org\n\nbody\n", NULL);
	SmMessage m;
	sm_message_index(&m, text, strlen(text));
	SmEnvelope e = env;
	e.sender = (char *)sender;
	SmVerdict v = { .source = source, .is_spam = spam };
	const char *state = sm_list_screen(&list, &e, &m, &v, detail);
	sm_message_clear(&m);
	return state;
}

static void test_screen(void)
{
	static const struct {
		const char *headers, *sender;
		SmVerdictSource source;
		gboolean spam;
		const char *state, *detail;
	} cases[] = {
		{ "", "a@example.org", SM_VERDICT_SCORED, FALSE, NULL, NULL },
		{ "List-Id: Announcements <Announce.Example.ORG>\n", "a@example.org",
		  SM_VERDICT_CACHED, FALSE, "suppressed:loop", "List-Id: <announce.example.org>" },
		{ "List-Id: <other.example.org>\n", "a@example.org", SM_VERDICT_SCORED, FALSE,
		  NULL, NULL },
		{ "List-Id: announce.example.org\n", "a@example.org", SM_VERDICT_SCORED, FALSE,
		  "suppressed:loop", NULL },
		{ "", "a@example.org", SM_VERDICT_NONE, FALSE, "held:unscored", NULL },
		{ "", "a@example.org", SM_VERDICT_SCORED, TRUE, "held:spam", NULL },
		{ "", "", SM_VERDICT_SCORED, FALSE, "held:automatic", "null envelope sender" },
		{ "Auto-Submitted: auto-replied (vacation)\n", "a@example.org", SM_VERDICT_SCORED,
		  FALSE, "held:automatic", "Auto-Submitted: auto-replied (vacation)" },
		{ "Auto-Submitted: No\n", "a@example.org", SM_VERDICT_SCORED, FALSE, NULL, NULL },
		{ "Precedence: BULK\n", "a@example.org", SM_VERDICT_SCORED, FALSE,
		  "held:automatic", "Precedence: BULK" },
		{ "Precedence: first-class\n", "a@example.org", SM_VERDICT_SCORED, FALSE, NULL,
		  NULL },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *detail = NULL;
		const char *state = screen(cases[i].headers, cases[i].sender, cases[i].source,
		                           cases[i].spam, &detail);
		if (g_strcmp0(state, cases[i].state) != 0 ||
		    (cases[i].detail && g_strcmp0(detail, cases[i].detail) != 0))
			g_error("case %zu: state '%s' detail '%s'", i, state ? state : "(null)",
			        detail ? detail : "(null)");
	}
}

static void test_sender_allowed(void)
{
	g_autoptr(GPtrArray) allowed = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(allowed, g_strdup("Alice@Example.org"));
	g_ptr_array_add(allowed, g_strdup("bounces@lists.example.net"));
	static const struct {
		const char *from, *sender;
		gboolean ok;
	} cases[] = {
		{ "Alice <alice@EXAMPLE.ORG>", "other@example.com", TRUE },
		{ "\"alice@example.org\" <mallory@example.com>", "mallory@example.com", FALSE },
		{ "Bob <bob@example.org>", "BOUNCES@lists.example.net", TRUE },
		{ "Bob <bob@example.org>", "", FALSE },
		{ NULL, "alice@example.org", TRUE },
		{ "alice@example.org.evil.com", "x@y.org", FALSE },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *text = cases[i].from
			? g_strdup_printf("From: %s\nSubject: x\n\nbody\n", cases[i].from)
			: g_strdup("Subject: x\n\nbody\n");
		SmMessage m;
		sm_message_index(&m, text, strlen(text));
		SmEnvelope e = env;
		e.sender = (char *)cases[i].sender;
		g_autofree char *who = NULL;
		if (sm_list_sender_allowed(allowed, &e, &m, &who) != cases[i].ok)
			g_error("case %zu: expected %d (%s)", i, cases[i].ok, who);
		g_assert_nonnull(who);
		sm_message_clear(&m);
	}
}

/* ---- the copy ----------------------------------------------------------------- */

static char *copy_of(const SmList *l, const char *text, const char *prefix)
{
	SmMessage m;
	sm_message_index(&m, text, strlen(text));
	gsize len;
	char *copy = sm_list_build_copy(l, &m, prefix, "announce@example.org", &len);
	g_assert_cmpuint(len, ==, strlen(copy));
	sm_message_clear(&m);
	return copy;
}

static void test_copy(void)
{
	const char *text = "Return-Path: <alice@example.org>\n"
	                   "Delivered-To: announce@example.org\n"
	                   "From: Alice <alice@example.org>\n"
	                   "List-Id: Other list <other.example.net>\n"
	                   "list-unsubscribe: <mailto:leave@example.net>\n"
	                   "Precedence: bulk\n"
	                   "Subject: Meeting\n"
	                   " on Friday\n"
	                   "\n"
	                   "List-Id: in the body stays\n";
	g_autofree char *copy = copy_of(&list, text, "X-Spam-Status: No, score=0.1\n");
	g_assert_cmpstr(copy, ==,
	                "X-Sortmail-Loop: announce@example.org\n"
	                "X-Spam-Status: No, score=0.1\n"
	                "List-Id: <announce.example.org>\n"
	                "List-Post: <mailto:announce@example.org>\n"
	                "Precedence: list\n"
	                "Delivered-To: announce@example.org\n"
	                "From: Alice <alice@example.org>\n"
	                "Subject: [Announce] Meeting\n"
	                " on Friday\n"
	                "\n"
	                "List-Id: in the body stays\n");
}

static void test_subject_tag(void)
{
	static const struct {
		const char *subject, *expect;
	} cases[] = {
		{ "Subject: Hello\n", "Subject: [Announce] Hello\n" },
		{ "Subject:Hello\n", "Subject: [Announce] Hello\n" },
		{ "Subject:\n", "Subject: [Announce]\n" },
		{ "SUBJECT:\r\n\tfolded\r\n", "SUBJECT: [Announce]\r\n\tfolded\r\n" },
		{ "Subject: Re: [announce] Hello\n", "Subject: Re: [announce] Hello\n" },
		{ "", "Subject: [Announce]\n" },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *text = g_strconcat("From: a@example.org\n", cases[i].subject,
		                                    "\nbody\n", NULL);
		g_autofree char *copy = copy_of(&list, text, "");
		if (!strstr(copy, cases[i].expect))
			g_error("case %zu: no '%s' in:\n%s", i, cases[i].expect, copy);
		g_assert_nonnull(strstr(copy, "\nbody\n"));
	}
	/* No tag configured: the subject is left alone, none is added. */
	SmList plain = list;
	plain.tag = NULL;
	g_autofree char *copy = copy_of(&plain, "From: a@x.org\n\nbody\n", "");
	g_assert_null(strstr(copy, "Subject"));
}

/* The field names of @text's header block, one per line. */
static char *field_names(const char *text)
{
	SmMessage m;
	sm_message_index(&m, text, strlen(text));
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < m.headers->len; i++) {
		const SmHeader *h = &g_array_index(m.headers, SmHeader, i);
		g_string_append_len(s, text + h->off, h->name_len);
		g_string_append_c(s, '\n');
	}
	sm_message_clear(&m);
	return g_string_free(s, FALSE);
}

/* Whatever CR, LF or folding the message's own fields hold, the copy has the
 * fields we add and the message's own (less those left out), no others. */
static void test_no_injection(void)
{
	static const char *const texts[] = {
		"From: a@example.org\nSubject: hi\rBcc: victim@example.com\n\nbody\n",
		"From: a@example.org\nSubject: hi\r\n\r\nBcc: victim@example.com\n",
		"From: a@example.org\nSubject: =?utf-8?q?hi=0D=0ABcc=3A_x=40y?=\n\nbody\n",
		"From: a@example.org\nSubject: one\n two\n\tBcc: x@y\n\nbody\n",
		"Subject: no final newline",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(texts); i++) {
		g_autofree char *copy = copy_of(&list, texts[i], "");
		g_autofree char *got = field_names(copy);
		g_autofree char *own = field_names(texts[i]);
		g_autofree char *want = g_strconcat("X-Sortmail-Loop\nList-Id\nList-Post\n"
		                                    "Precedence\n", own, NULL);
		if (strcmp(got, want) != 0)
			g_error("case %zu: fields\n%s\nnot\n%s", i, got, want);
	}
	/* No header block, and a first line that would continue our last field. */
	g_autofree char *copy = copy_of(&list, " Bcc: victim@example.com\nbody\n", "");
	SmMessage m;
	sm_message_index(&m, copy, strlen(copy));
	g_autofree char *subject = sm_message_get(&m, "Subject");
	g_assert_cmpstr(subject, ==, "[Announce]");
	g_assert_cmpstr(copy + m.body_off, ==, " Bcc: victim@example.com\nbody\n");
	sm_message_clear(&m);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/rebroadcast/config/list", test_list_items);
	g_test_add_func("/rebroadcast/config/bad-list", test_bad_lists);
	g_test_add_func("/rebroadcast/config/bad-rule", test_bad_rules);
	g_test_add_func("/rebroadcast/decide", test_decide);
	g_test_add_func("/rebroadcast/members", test_members);
	g_test_add_func("/rebroadcast/from-address", test_from_address);
	g_test_add_func("/rebroadcast/screen", test_screen);
	g_test_add_func("/rebroadcast/sender-allowed", test_sender_allowed);
	g_test_add_func("/rebroadcast/copy", test_copy);
	g_test_add_func("/rebroadcast/subject-tag", test_subject_tag);
	g_test_add_func("/rebroadcast/no-injection", test_no_injection);
	return g_test_run();
}
