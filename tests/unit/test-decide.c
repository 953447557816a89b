/* test-decide.c: the decision (sortmail/decide.c), with a fake scorer. */
#include "config.h"
#include "sortmail/sortmail.h"

#include <string.h>

typedef struct {
	guint calls;
	gboolean spam;
	gboolean fail;
} FakeScorer;

static gboolean fake_score(const SmMessage *m, SmVerdict *out, gpointer user,
                           GError **error)
{
	FakeScorer *f = user;
	f->calls++;
	g_ptr_array_add(out->rules, g_strdup("FAKE_RULE"));
	if (f->fail) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "no module");
		return FALSE;
	}
	out->score = f->spam ? 9.5 : 0.5;
	out->threshold = 4.25;
	out->is_spam = f->spam;
	out->source = SM_VERDICT_SCORED;
	return TRUE;
}

static const char *const config_text =
	"personal fred@example.org\n"
	"ube-folder Spam\n"
	"rule from ^boss@ folder work noscore\n"
	"rule to ^list-perl@ header List-Id perl folder lists.perl\n"
	"rule to ^announce@ folder announce even-spam\n"
	"rule header Subject \"^\\[junk\\]\" discard\n"
	"rule to ^(.+)@example\\.com$ !header X-No-Ex . folder ex-$1\n"
	"rule to ^(?:.+)@(trusted)\\.net$ folder ${1} noscore\n"
	"rule from ^trash@ discard even-spam\n";

typedef struct {
	SmConfig *c;
	SmEnvelope env;
	SmMessage m;
	char *text;
	FakeScorer scorer;
	SmDecision d;
} Fixture;

static void setup(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	f->c = sm_config_parse(config_text, "rules.conf", NULL, &error);
	g_assert_no_error(error);
	f->env = (SmEnvelope){ .sender = (char *)"someone@example.net" };
}

static void teardown(Fixture *f, gconstpointer data)
{
	sm_decision_clear(&f->d);
	if (f->text)
		sm_message_clear(&f->m);
	g_free(f->text);
	sm_config_free(f->c);
}

static void set_message(Fixture *f, const char *text)
{
	if (f->text)
		sm_message_clear(&f->m);
	g_free(f->text);
	f->text = g_strdup(text);
	sm_message_index(&f->m, f->text, strlen(f->text));
}

static void decide(Fixture *f, const char *rcpt)
{
	sm_decision_clear(&f->d);
	if (!f->text)
		set_message(f, "Subject: hello\n\nbody\n");
	sm_decide(f->c, &f->env, &f->m, rcpt, fake_score, &f->scorer, &f->d);
	g_assert_nonnull(f->d.note);
	g_assert_nonnull(f->d.verdict.rules);
	g_assert_true(f->d.discard ? f->d.folder == NULL : sm_folder_name_valid(f->d.folder));
}

static const SmRule *rule(Fixture *f, guint i)
{
	return f->c->rules->pdata[i];
}

static void test_no_rule(Fixture *f, gconstpointer data)
{
	decide(f, "fred@example.org");
	g_assert_cmpstr(f->d.folder, ==, "inbox");
	g_assert_false(f->d.discard);
	g_assert_null(f->d.rule);
	g_assert_cmpuint(f->scorer.calls, ==, 1);
	g_assert_cmpint(f->d.verdict.source, ==, SM_VERDICT_SCORED);
	g_assert_cmpfloat(f->d.verdict.threshold, ==, 4.25);
	g_assert_cmpstr(f->d.verdict.rules->pdata[0], ==, "FAKE_RULE");
}

static void test_noscore_never_scores(Fixture *f, gconstpointer data)
{
	f->scorer.spam = TRUE;
	f->env.sender = (char *)"boss@example.net";
	decide(f, "fred@example.org");
	g_assert_cmpuint(f->scorer.calls, ==, 0);
	g_assert_cmpstr(f->d.folder, ==, "work");
	g_assert_true(f->d.rule == rule(f, 0));
	g_assert_cmpint(f->d.verdict.source, ==, SM_VERDICT_NONE);
	g_assert_false(f->d.verdict.is_spam);

	/* Expanded folder on a noscore rule. */
	f->env.sender = (char *)"x@y";
	decide(f, "anyone@Trusted.net");
	g_assert_cmpuint(f->scorer.calls, ==, 0);
	g_assert_cmpstr(f->d.folder, ==, "Trusted");
}

static void test_spam_policy(Fixture *f, gconstpointer data)
{
	f->scorer.spam = TRUE;
	decide(f, "Fred@Example.org");
	g_assert_cmpstr(f->d.folder, ==, "Spam");
	g_assert_null(f->d.rule);
	g_assert_true(f->d.verdict.is_spam);
	g_assert_nonnull(strstr(f->d.note, "spam to personal address"));

	decide(f, "trap@example.org");
	g_assert_cmpstr(f->d.folder, ==, "ubetrap");
	g_assert_nonnull(strstr(f->d.note, "spam to other address"));

	decide(f, "");
	g_assert_cmpstr(f->d.folder, ==, "ubetrap");

	/* A matching rule without even-spam does not rescue spam... */
	set_message(f, "List-Id: <perl.example.org>\n\n");
	decide(f, "list-perl@x");
	g_assert_cmpstr(f->d.folder, ==, "ubetrap");
	g_assert_null(f->d.rule);
	/* ...and a discard rule does not drop it either. */
	set_message(f, "Subject: [junk] buy\n\n");
	decide(f, "fred@example.org");
	g_assert_false(f->d.discard);
	g_assert_cmpstr(f->d.folder, ==, "Spam");
	g_assert_cmpuint(f->scorer.calls, ==, 5);
}

static void test_even_spam(Fixture *f, gconstpointer data)
{
	f->scorer.spam = TRUE;
	decide(f, "announce@example.org");
	g_assert_cmpstr(f->d.folder, ==, "announce");
	g_assert_true(f->d.rule == rule(f, 2));
	g_assert_true(f->d.verdict.is_spam);
	g_assert_cmpuint(f->scorer.calls, ==, 1);

	f->env.sender = (char *)"trash@x";
	decide(f, "fred@example.org");
	g_assert_true(f->d.discard);
	g_assert_null(f->d.folder);
}

static void test_rules(Fixture *f, gconstpointer data)
{
	set_message(f, "List-Id: Perl <perl.example.org>\n\n");
	decide(f, "LIST-PERL@x");
	g_assert_cmpstr(f->d.folder, ==, "lists.perl");
	g_assert_true(f->d.rule == rule(f, 1));
	g_assert_nonnull(strstr(f->d.note, "rules.conf:4"));

	/* All conditions must hold. */
	set_message(f, "List-Id: <python.example.org>\n\n");
	decide(f, "list-perl@x");
	g_assert_cmpstr(f->d.folder, ==, "inbox");

	/* Any header of the name may match. */
	set_message(f, "Subject: hi\nSubject: [JUNK] again\n\n");
	decide(f, "fred@example.org");
	g_assert_true(f->d.discard);
	g_assert_true(f->d.rule == rule(f, 3));
	g_assert_nonnull(strstr(f->d.note, "discard"));
}

static void test_folder_expansion(Fixture *f, gconstpointer data)
{
	decide(f, "Fred@example.com");
	g_assert_cmpstr(f->d.folder, ==, "ex-Fred");
	g_assert_true(f->d.rule == rule(f, 4));

	/* A negated header condition fails when the header is there. */
	set_message(f, "X-No-Ex: 1\n\n");
	decide(f, "fred@example.com");
	g_assert_cmpstr(f->d.folder, ==, "inbox");
	g_assert_null(f->d.rule);
	set_message(f, "Subject: s\n\n");

	static const char *const hostile[] = {
		"../../etc/passwd@example.com", "a/b@example.com", "x.@example.com",
		"a..b@example.com", "\x01@example.com",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(hostile); i++) {
		decide(f, hostile[i]);
		g_assert_cmpstr(f->d.folder, ==, "inbox");
		g_assert_false(f->d.discard);
		g_assert_true(f->d.rule == rule(f, 4));
		g_assert_nonnull(strstr(f->d.note, "rules.conf:7"));
		/* The note goes to logs: no control characters from the message. */
		for (const char *p = f->d.note; *p; p++)
			g_assert_cmpint((guchar)*p, >=, 0x20);
	}
}

static void test_too_big(Fixture *f, gconstpointer data)
{
	f->c->max_score_size = 10;
	f->scorer.spam = TRUE;
	set_message(f, "Subject: this is longer than ten bytes\n\n");
	decide(f, "fred@example.org");
	g_assert_cmpuint(f->scorer.calls, ==, 0);
	g_assert_cmpstr(f->d.folder, ==, "inbox");
	g_assert_cmpint(f->d.verdict.source, ==, SM_VERDICT_NONE);
	g_assert_nonnull(strstr(f->d.note, "too big to score"));

	decide(f, "announce@x");
	g_assert_cmpstr(f->d.folder, ==, "announce");

	f->c->max_score_size = f->m.len;
	decide(f, "fred@example.org");
	g_assert_cmpuint(f->scorer.calls, ==, 1);
	g_assert_cmpstr(f->d.folder, ==, "Spam");
}

static void test_scorer_fails(Fixture *f, gconstpointer data)
{
	f->scorer.fail = TRUE;
	f->scorer.spam = TRUE;
	decide(f, "fred@example.org");
	g_assert_cmpuint(f->scorer.calls, ==, 1);
	g_assert_cmpstr(f->d.folder, ==, "inbox");
	g_assert_cmpint(f->d.verdict.source, ==, SM_VERDICT_NONE);
	g_assert_false(f->d.verdict.is_spam);
	g_assert_cmpuint(f->d.verdict.rules->len, ==, 0);
	g_assert_true(g_str_has_prefix(f->d.note, "scorer failed: no module"));

	decide(f, "announce@x");
	g_assert_cmpstr(f->d.folder, ==, "announce");
}

static void test_no_scorer_and_inbox_case(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SmConfig) c = sm_config_parse("rule to ^(inbox)@ folder $1\n"
	                                        "ube-folder INBOX\n", "x", NULL, &error);
	g_assert_no_error(error);
	set_message(f, "\n");
	SmDecision d;
	sm_decide(c, &f->env, &f->m, "InBox@x", NULL, NULL, &d);
	g_assert_cmpstr(d.folder, ==, "inbox");
	sm_decision_clear(&d);
	sm_decide(c, &f->env, &f->m, NULL, NULL, NULL, &d);
	g_assert_cmpstr(d.folder, ==, "inbox");
	g_assert_cmpint(d.verdict.source, ==, SM_VERDICT_NONE);
	sm_decision_clear(&d);
	sm_decision_clear(&d);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, setup, fn, teardown)
	ADD("/decide/no-rule", test_no_rule);
	ADD("/decide/noscore-never-scores", test_noscore_never_scores);
	ADD("/decide/spam-policy", test_spam_policy);
	ADD("/decide/even-spam", test_even_spam);
	ADD("/decide/rules", test_rules);
	ADD("/decide/folder-expansion", test_folder_expansion);
	ADD("/decide/too-big", test_too_big);
	ADD("/decide/scorer-fails", test_scorer_fails);
	ADD("/decide/no-scorer-inbox-case", test_no_scorer_and_inbox_case);
	return g_test_run();
}
