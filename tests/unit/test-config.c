/* test-config.c: the configuration file (sortmail/config.c, config-rule.c). */
#include "config.h"
#include "sortmail/sortmail.h"

#include <glib/gstdio.h>
#include <string.h>

static const SmEnvelope env = {
	.sender = (char *)"sender@example.net",
	.recipient = (char *)"Fred+Lists@Example.COM",
	.user = (char *)"fred",
	.home = (char *)"/home/fred",
};

static char *fixture(const char *name)
{
	return g_build_filename(SM_TEST_DATA, "config", name, NULL);
}

static const char *str_at(GPtrArray *a, guint i)
{
	g_assert_cmpuint(i, <, a->len);
	return a->pdata[i];
}

static void test_defaults(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SmConfig) c = sm_config_load("/nonexistent/sortmail/config", &env, &error);
	g_assert_no_error(error);
	g_assert_nonnull(c);
	g_assert_null(c->path);
	g_assert_cmpint(c->format, ==, SM_FORMAT_MAILDIR);
	g_assert_cmpstr(c->mailbox_root, ==, "/home/fred/Maildir");
	g_assert_null(c->mbox_inbox);
	g_assert_cmpuint(c->personal->len, ==, 2);
	g_assert_cmpstr(str_at(c->personal, 0), ==, "fred+lists@example.com");
	g_assert_cmpstr(str_at(c->personal, 1), ==, "fred@example.com");
	g_assert_cmpuint(c->unplus->len, ==, 0);
	g_assert_cmpstr(c->ube_folder, ==, "ube");
	g_assert_cmpstr(c->ubetrap_folder, ==, "ubetrap");
	g_assert_cmpfloat(c->required_score, ==, 5.0);
	g_assert_cmpuint(c->max_score_size, ==, 10 * 1024 * 1024);
	g_assert_cmpuint(c->rule_files->len, ==, 0);
	g_assert_cmpuint(c->rules->len, ==, 0);
	g_assert_null(c->log_file);
	g_assert_true(c->syslog);
	g_assert_cmpuint(c->deadline, ==, 900);
	g_assert_null(c->scorer_module);
	g_assert_cmpstr(c->cache_path, ==, "/home/fred/.sortmail/verdicts.db");
	g_assert_cmpstr(c->rule_cache, ==, "/home/fred/.sortmail/rules.cache");
	g_assert_cmpuint(c->cache_ttl, ==, 86400);
	g_assert_cmpuint(c->cache_wait, ==, 30);
	g_assert_true(c->duplicates);

	g_autoptr(SmConfig) d = sm_config_load(NULL, &env, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(d->mailbox_root, ==, "/home/fred/Maildir");

	/* An empty file is the defaults too, but remembers where it came from. */
	g_autoptr(SmConfig) e = sm_config_parse("\n# nothing\n   \n", "empty", &env, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(e->path, ==, "empty");
	g_assert_cmpuint(e->personal->len, ==, 2);
}

static void test_default_personal_extension(void)
{
	SmEnvelope e = env;
	e.recipient = (char *)"fred-lists@example.com";
	e.extension = (char *)"lists";
	g_autoptr(SmConfig) c = sm_config_parse("", "x", &e, NULL);
	g_assert_cmpuint(c->personal->len, ==, 2);
	g_assert_cmpstr(str_at(c->personal, 1), ==, "fred@example.com");

	e.recipient = (char *)"fred@example.com";
	e.extension = NULL;
	g_autoptr(SmConfig) d = sm_config_parse("", "x", &e, NULL);
	g_assert_cmpuint(d->personal->len, ==, 1);

	e.recipient = NULL;
	g_autoptr(SmConfig) f = sm_config_parse("", "x", &e, NULL);
	g_assert_cmpuint(f->personal->len, ==, 0);
}

static void test_full(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *path = fixture("full.conf");
	g_autoptr(SmConfig) c = sm_config_load(path, &env, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(c->path, ==, path);
	g_assert_cmpint(c->format, ==, SM_FORMAT_MBOX);
	g_assert_cmpstr(c->mailbox_root, ==, "/home/fred/mail");
	g_assert_cmpstr(c->mbox_inbox, ==, "/var/mail/fred");
	g_assert_cmpuint(c->personal->len, ==, 3);
	g_assert_cmpstr(str_at(c->personal, 0), ==, "fred@example.com");
	g_assert_cmpstr(str_at(c->personal, 1), ==, "@stonehenge.com");
	g_assert_cmpstr(str_at(c->personal, 2), ==, "merlyn@example.org");
	g_assert_cmpuint(c->unplus->len, ==, 2);
	const SmUnplus *u = c->unplus->pdata[1];
	g_assert_cmpstr(u->pattern, ==, "^(\\w+)-lists@");
	g_assert_cmpstr(u->replacement, ==, "${1}@example.org");
	g_assert_cmpstr(c->ube_folder, ==, "spam.personal");
	g_assert_cmpstr(c->ubetrap_folder, ==, "Trap");
	g_assert_cmpfloat(c->required_score, ==, 6.5);
	g_assert_cmpuint(c->max_score_size, ==, 512 * 1024);
	g_assert_cmpuint(c->rule_files->len, ==, 3);
	g_assert_cmpstr(str_at(c->rule_files, 0), ==, "/home/fred/.sortmail/local.cf");
	g_assert_cmpstr(str_at(c->rule_files, 1), ==, "/etc/sortmail/rules");
	g_assert_cmpstr(str_at(c->rule_files, 2), ==, "/home/fred/extra.cf");
	g_assert_cmpstr(c->log_file, ==, "/home/fred/.sortmail/log");
	g_assert_false(c->syslog);
	g_assert_cmpuint(c->deadline, ==, 600);
	g_assert_cmpstr(c->scorer_module, ==, "/usr/lib/x/sortmail-score.so");

	g_assert_cmpuint(c->rules->len, ==, 6);
	const SmRule *r = c->rules->pdata[0];
	g_assert_cmpstr(r->file, ==, path);
	g_assert_cmpuint(r->line, ==, 19);
	g_assert_cmpuint(r->conds->len, ==, 1);
	const SmCondition *cond = r->conds->pdata[0];
	g_assert_cmpint(cond->kind, ==, SM_COND_FROM);
	g_assert_false(cond->negate);
	g_assert_cmpstr(cond->pattern, ==, "^boss@example\\.com$");
	g_assert_cmpint(r->action, ==, SM_ACTION_FOLDER);
	g_assert_cmpstr(r->folder, ==, "work");
	g_assert_true(r->noscore);
	g_assert_false(r->even_spam);

	r = c->rules->pdata[2];
	g_assert_cmpuint(r->conds->len, ==, 2);
	cond = r->conds->pdata[0];
	g_assert_cmpint(cond->kind, ==, SM_COND_HEADER);
	g_assert_cmpstr(cond->header, ==, "List-Id");
	g_assert_cmpstr(cond->pattern, ==, "<perl\\.example\\.org>");
	cond = r->conds->pdata[1];
	g_assert_cmpint(cond->kind, ==, SM_COND_FROM);
	g_assert_true(cond->negate);
	g_assert_cmpstr(cond->pattern, ==, "^\"quoted\" x");
	g_assert_cmpstr(r->folder, ==, "lists.perl");
	g_assert_true(r->even_spam);
	g_assert_false(r->noscore);

	r = c->rules->pdata[3];
	g_assert_cmpstr(r->folder, ==, "ex-$1");

	r = c->rules->pdata[4];
	g_assert_cmpint(r->action, ==, SM_ACTION_DISCARD);
	g_assert_null(r->folder);
	cond = r->conds->pdata[0];
	g_assert_true(cond->negate);
	g_assert_cmpstr(cond->header, ==, "X-Keep");
	cond = r->conds->pdata[1];
	g_assert_cmpstr(cond->header, ==, "Subject");
	g_assert_cmpstr(cond->pattern, ==, "#junk");

	r = c->rules->pdata[5];
	g_assert_cmpuint(r->conds->len, ==, 0);
	g_assert_cmpstr(r->folder, ==, "inbox");
	g_assert_cmpuint(r->line, ==, 24);
}

/* The example of sortmail.conf(5), kept in step with the man page. */
static void test_man_example(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *path = fixture("example.conf");
	g_autoptr(SmConfig) c = sm_config_load(path, &env, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(c->rules->len, ==, 7);
	g_assert_cmpuint(c->unplus->len, ==, 1);
	g_assert_cmpstr(str_at(c->personal, 1), ==, "@example.org");
}

static void test_last_wins(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SmConfig) c = sm_config_parse(
		"mbox /m in\nmaildir Mail\nube-folder a\nube-folder INBOX\n"
		"syslog no\nsyslog yes\nrequired-score 3\nrequired-score -1.25\n"
		"max-score-size 1G\nmax-score-size 100\n", "t", &env, &error);
	g_assert_no_error(error);
	g_assert_cmpint(c->format, ==, SM_FORMAT_MAILDIR);
	g_assert_cmpstr(c->mailbox_root, ==, "/home/fred/Mail");
	g_assert_null(c->mbox_inbox);
	g_assert_cmpstr(c->ube_folder, ==, "inbox");
	g_assert_true(c->syslog);
	g_assert_cmpfloat(c->required_score, ==, -1.25);
	g_assert_cmpuint(c->max_score_size, ==, 100);

	g_autoptr(SmConfig) d = sm_config_parse("maildir /x\nmbox ~\n", "t", &env, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(d->mailbox_root, ==, "/home/fred");
	g_assert_cmpstr(d->mbox_inbox, ==, "/home/fred/inbox");
}

static void test_cache_keys(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SmConfig) c = sm_config_parse("cache ~/v.db\ncache-ttl 90m\ncache-wait 5\n"
	                                        "duplicates no\n", "t", &env, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(c->cache_path, ==, "/home/fred/v.db");
	g_assert_cmpuint(c->cache_ttl, ==, 5400);
	g_assert_cmpuint(c->cache_wait, ==, 5);
	g_assert_false(c->duplicates);

	g_autoptr(SmConfig) d = sm_config_parse("cache none\ncache-ttl 7d\n", "t", &env, &error);
	g_assert_no_error(error);
	g_assert_null(d->cache_path);
	g_assert_cmpuint(d->cache_ttl, ==, 7 * 86400);

	g_autoptr(SmConfig) e = sm_config_parse("rule-cache ~/r.cache\n", "t", &env, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(e->rule_cache, ==, "/home/fred/r.cache");
	g_autoptr(SmConfig) f = sm_config_parse("rule-cache none\n", "t", &env, &error);
	g_assert_no_error(error);
	g_assert_null(f->rule_cache);
}

static void test_sizes(void)
{
	static const struct { const char *text; gsize size; } ok[] = {
		{ "0", 0 }, { "1k", 1024 }, { "2K", 2048 }, { "3M", 3 << 20 },
		{ "1G", (gsize)1 << 30 }, { "000012", 12 },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(ok); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *text = g_strdup_printf("max-score-size %s\n", ok[i].text);
		g_autoptr(SmConfig) c = sm_config_parse(text, "t", &env, &error);
		g_assert_no_error(error);
		g_assert_cmpuint(c->max_score_size, ==, ok[i].size);
	}
}

static void test_quoting(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SmConfig) c = sm_config_parse(
		"rule header \"X-Y\" \"a \\\"b\\\" \\\\ \\d # no comment\" folder \"my folder\"\n"
		"rule to \"\" folder x#y # comment\n"
		"unplus \"^x@\" \"\"\n", "t", &env, &error);
	g_assert_no_error(error);
	const SmRule *r = c->rules->pdata[0];
	const SmCondition *cond = r->conds->pdata[0];
	g_assert_cmpstr(cond->header, ==, "X-Y");
	g_assert_cmpstr(cond->pattern, ==, "a \"b\" \\ \\d # no comment");
	g_assert_cmpstr(r->folder, ==, "my folder");
	r = c->rules->pdata[1];
	cond = r->conds->pdata[0];
	g_assert_cmpstr(cond->pattern, ==, "");
	g_assert_cmpstr(r->folder, ==, "x#y");
	const SmUnplus *u = c->unplus->pdata[0];
	g_assert_cmpstr(u->replacement, ==, "");
}

/* Every error names the file and the line. */
static void test_error_fixtures(void)
{
	static const struct { const char *file; guint line; const char *what; } cases[] = {
		{ "unknown-keyword.conf", 3, "unknown keyword 'bogus'" },
		{ "bad-regex.conf", 3, "bad regex" },
		{ "bad-folder.conf", 5, "bad folder name '../../etc'" },
		{ "wrong-count.conf", 1, "'maildir' takes 1 argument" },
		{ "bad-size.conf", 2, "bad size '10X'" },
		{ "unterminated-quote.conf", 1, "missing closing quote" },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *path = fixture(cases[i].file);
		g_autoptr(SmConfig) c = sm_config_load(path, &env, &error);
		g_assert_null(c);
		g_assert_error(error, SM_CONFIG_ERROR, SM_CONFIG_ERROR_PARSE);
		g_autofree char *prefix = g_strdup_printf("%s:%u: ", path, cases[i].line);
		if (!g_str_has_prefix(error->message, prefix) ||
		    !strstr(error->message, cases[i].what))
			g_error("%s: got \"%s\"", cases[i].file, error->message);
	}
}

static void test_errors(void)
{
	static const struct { const char *text; guint line; const char *what; } cases[] = {
		{ "mbox\n", 1, "'mbox' takes 1 to 2 arguments" },
		{ "mbox a b c\n", 1, "'mbox' takes 1 to 2 arguments" },
		{ "\npersonal\n", 2, "'personal' needs at least 1 argument" },
		{ "personal \"\"\n", 1, "bad personal address" },
		{ "unplus x\n", 1, "'unplus' takes 2 arguments" },
		{ "unplus a) b\n", 1, "bad regex" },
		{ "ube-folder .hidden\n", 1, "bad folder name" },
		{ "ubetrap-folder a/b\n", 1, "bad folder name" },
		{ "ubetrap-folder a b\n", 1, "takes 1 argument" },
		{ "required-score five\n", 1, "bad number 'five'" },
		{ "required-score 5x\n", 1, "bad number" },
		{ "required-score nan\n", 1, "bad number" },
		{ "required-score \"\"\n", 1, "bad number" },
		{ "max-score-size -1\n", 1, "bad size" },
		{ "max-score-size 1T\n", 1, "bad size" },
		{ "max-score-size 1kk\n", 1, "bad size" },
		{ "max-score-size 99999999999999999999\n", 1, "bad size" },
		{ "max-score-size k\n", 1, "bad size" },
		{ "rules\n", 1, "needs at least 1 argument" },
		{ "cache-ttl 0\n", 1, "bad duration" },
		{ "cache-ttl 5w\n", 1, "bad duration" },
		{ "cache-ttl 3hh\n", 1, "bad duration" },
		{ "cache-wait 11m\n", 1, "bad duration" },
		{ "duplicates maybe\n", 1, "'duplicates' takes yes or no" },
		{ "cache\n", 1, "'cache' takes 1 argument" },
		{ "rules a \"\"\n", 1, "empty path" },
		{ "log-file\n", 1, "takes 1 argument" },
		{ "syslog maybe\n", 1, "'syslog' takes yes or no" },
		{ "deadline 0\n", 1, "bad number '0'" },
		{ "deadline 1.5\n", 1, "bad number" },
		{ "deadline 86401\n", 1, "bad number" },
		{ "deadline -3\n", 1, "bad number" },
		{ "scorer-module a b\n", 1, "takes 1 argument" },
		{ "MAILDIR x\n", 1, "unknown keyword 'MAILDIR'" },
		{ "a\n#\n\"rule\" \"x\n", 1, "unknown keyword 'a'" },
		{ "#\n\nrule \"x\n", 3, "missing closing quote" },
		{ "rule \"x\"y folder a\n", 1, "text right after a closing quote" },
		{ "rule\n", 1, "'rule' needs at least 1 argument" },
		{ "rule to ^x@\n", 1, "rule has no action" },
		{ "rule folder a discard\n", 1, "exactly one action" },
		{ "rule inbox inbox\n", 1, "exactly one action" },
		{ "rule folder\n", 1, "'folder' needs a folder name" },
		{ "rule to\n", 1, "'to' needs a regex" },
		{ "rule !from\n", 1, "'!from' needs a regex" },
		{ "rule header Subject\n", 1, "'header' needs a header name and a regex" },
		{ "rule header \"Bad Name\" x inbox\n", 1, "bad header name" },
		{ "rule header : x inbox\n", 1, "bad header name" },
		{ "rule to ( inbox\n", 1, "bad regex" },
		{ "rule from \"[\" inbox\n", 1, "bad regex" },
		{ "rule header X \"(?<\" inbox\n", 1, "bad regex" },
		{ "rule to x folder ../etc\n", 1, "bad folder name" },
		{ "rule to x folder \"a\nb\"\n", 1, "missing closing quote" },
		{ "rule to x folder x.lock\n", 1, "bad folder name" },
		{ "rule folder ex-$1\n", 1, "uses $N but the rule has no 'to'" },
		{ "rule !to (x) folder ex-$1\n", 1, "uses $N" },
		{ "rule to x bogus inbox\n", 1, "unknown rule item 'bogus'" },
		{ "rule to x !folder y\n", 1, "unknown rule item '!folder'" },
		{ "rule to x !noscore inbox\n", 1, "unknown rule item '!noscore'" },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(SmConfig) c = sm_config_parse(cases[i].text, "my.conf", &env, &error);
		g_assert_null(c);
		g_assert_error(error, SM_CONFIG_ERROR, SM_CONFIG_ERROR_PARSE);
		g_autofree char *prefix = g_strdup_printf("my.conf:%u: ", cases[i].line);
		if (!g_str_has_prefix(error->message, prefix) ||
		    !strstr(error->message, cases[i].what))
			g_error("case %zu (%s): got \"%s\"", i, cases[i].text, error->message);
	}
}

static void test_nul_in_file(void)
{
	g_autofree char *dir = g_dir_make_tmp("sortmail-config-XXXXXX", NULL);
	g_assert_nonnull(dir);
	g_autofree char *path = g_build_filename(dir, "config", NULL);
	g_assert_true(g_file_set_contents(path, "syslog no\nsyslog\0yes\n", 21, NULL));
	g_autoptr(GError) error = NULL;
	g_autoptr(SmConfig) c = sm_config_load(path, &env, &error);
	g_assert_null(c);
	g_assert_error(error, SM_CONFIG_ERROR, SM_CONFIG_ERROR_PARSE);
	g_autofree char *prefix = g_strdup_printf("%s:2: ", path);
	g_assert_true(g_str_has_prefix(error->message, prefix));
	g_assert_cmpint(g_unlink(path), ==, 0);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* A config that exists but cannot be read is an error, never the defaults. A
 * directory stands in for an unreadable file: chmod 000 does not stop root. */
static void test_unreadable(void)
{
	g_autofree char *dir = g_dir_make_tmp("sortmail-config-XXXXXX", NULL);
	g_assert_nonnull(dir);
	g_autoptr(GError) error = NULL;
	g_autoptr(SmConfig) c = sm_config_load(dir, &env, &error);
	g_assert_null(c);
	g_assert_error(error, SM_CONFIG_ERROR, SM_CONFIG_ERROR_READ);
	g_assert_true(g_str_has_prefix(error->message, dir));
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static void test_home_fallback(void)
{
	SmEnvelope e = { .recipient = (char *)"x@y" };
	g_autoptr(SmConfig) c = sm_config_parse("log-file ~/log\n", "t", &e, NULL);
	g_autofree char *want = g_build_filename(g_get_home_dir(), "log", NULL);
	g_assert_cmpstr(c->log_file, ==, want);
	g_autoptr(SmConfig) d = sm_config_parse("", "t", NULL, NULL);
	g_assert_nonnull(d);
	g_assert_cmpuint(d->personal->len, ==, 0);
}

/* `sortmail check` sees every error of a file; deliveries still fail on the
 * first, and only when there is one. */
static void test_all_errors(void)
{
	const char *text =
		"maildir ~/Mail\n"
		"required-score lots\n"          /* 2 */
		"rule to ^a@ folder a\n"
		"rule to ( folder b\n"           /* 4 */
		"frobnicate yes\n"               /* 5 */
		"cache-ttl 90m\n"
		"rule to ^c@ folder ../c\n"      /* 7 */
		"syslog \"no\n"                  /* 8 */
		"rule to ^d@ folder d\n"
		"cache-shared yes\n";
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(SmConfig) c = sm_config_parse_all(text, "my.conf", &env, problems);
	g_assert_nonnull(c);
	g_assert_cmpuint(problems->len, ==, 5);
	static const struct { const char *prefix, *what; } want[] = {
		{ "my.conf:2: ", "bad number 'lots'" },
		{ "my.conf:4: ", "bad regex" },
		{ "my.conf:5: ", "unknown keyword 'frobnicate'" },
		{ "my.conf:7: ", "bad folder name '../c'" },
		{ "my.conf:8: ", "missing closing quote" },
	};
	for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
		const char *got = str_at(problems, i);
		if (!g_str_has_prefix(got, want[i].prefix) || !strstr(got, want[i].what))
			g_error("problem %u: got \"%s\"", i, got);
	}
	/* The good lines around the bad ones took effect. */
	g_assert_cmpstr(c->mailbox_root, ==, "/home/fred/Mail");
	g_assert_cmpuint(c->rules->len, ==, 2);
	g_assert_cmpuint(c->cache_ttl, ==, 5400);
	g_assert_true(c->cache_shared);
	g_assert_cmpstr(sm_config_origin(c, "maildir"), ==, "my.conf:1");
	g_assert_cmpstr(sm_config_origin(c, "cache-ttl"), ==, "my.conf:6");
	g_assert_null(sm_config_origin(c, "required-score"));
	g_assert_null(sm_config_origin(c, "log-file"));

	/* A delivery: all or nothing, the first error. */
	g_autoptr(GError) error = NULL;
	g_autoptr(SmConfig) d = sm_config_parse(text, "my.conf", &env, &error);
	g_assert_null(d);
	g_assert_error(error, SM_CONFIG_ERROR, SM_CONFIG_ERROR_PARSE);
	g_assert_cmpstr(error->message, ==, str_at(problems, 0));

	/* A clean file: no problem, and the strict parse agrees. */
	g_autoptr(GPtrArray) none = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(SmConfig) e = sm_config_parse_all("maildir ~/M\nrule to x inbox\n", "ok.conf",
	                                            &env, none);
	g_assert_cmpuint(none->len, ==, 0);
	g_assert_cmpuint(e->rules->len, ==, 1);
	g_assert_false(e->cache_shared);
}

/* A file that cannot be read: one problem, no configuration; a missing one:
 * the defaults, no problem. */
static void test_all_errors_unreadable(void)
{
	g_autofree char *dir = g_dir_make_tmp("sortmail-config-XXXXXX", NULL);
	g_assert_nonnull(dir);
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	SmConfig *c = sm_config_load_all(dir, &env, problems);
	g_assert_null(c);
	g_assert_cmpuint(problems->len, ==, 1);
	g_assert_true(g_str_has_prefix(str_at(problems, 0), dir));
	g_autofree char *missing = g_build_filename(dir, "none", NULL);
	g_autoptr(SmConfig) d = sm_config_load_all(missing, &env, problems);
	g_assert_nonnull(d);
	g_assert_cmpuint(problems->len, ==, 1);
	g_assert_null(d->path);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/config/defaults", test_defaults);
	g_test_add_func("/config/default-personal-extension", test_default_personal_extension);
	g_test_add_func("/config/full", test_full);
	g_test_add_func("/config/man-example", test_man_example);
	g_test_add_func("/config/last-wins", test_last_wins);
	g_test_add_func("/config/sizes", test_sizes);
	g_test_add_func("/config/cache-keys", test_cache_keys);
	g_test_add_func("/config/quoting", test_quoting);
	g_test_add_func("/config/error-fixtures", test_error_fixtures);
	g_test_add_func("/config/errors", test_errors);
	g_test_add_func("/config/nul", test_nul_in_file);
	g_test_add_func("/config/unreadable", test_unreadable);
	g_test_add_func("/config/home-fallback", test_home_fallback);
	g_test_add_func("/config/all-errors", test_all_errors);
	g_test_add_func("/config/all-errors-unreadable", test_all_errors_unreadable);
	return g_test_run();
}
