/* test-score.c: the scorer (score/), through its face: the loader linked here
 * dlopen()s the module named by $SORTMAIL_SCORER; the stock rules come from
 * $SORTMAIL_DATADIR/rules and the fixtures from $top_srcdir/tests/data/score.
 * Each unit test writes its own small rule file. */
#include "config.h"
#include "score/score.h"
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

static char *tmpdir;

static char *write_file(const char *name, const char *text)
{
	char *path = g_build_filename(tmpdir, name, NULL);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	return path;
}

static SmScorer *scorer_for(const char *rules)
{
	static guint n;
	g_autofree char *name = g_strdup_printf("rules-%u.cf", n++);
	g_autofree char *path = write_file(name, rules);
	const char *files[] = { path, NULL };
	SmScorerOptions o = { .rule_files = files, .required_score = 5.0 };
	return sm_scorer_new(&o);
}

static void score_bytes(SmScorer *s, const char *data, gsize len, SmVerdict *v)
{
	SmMessage m;
	g_autoptr(GError) err = NULL;
	sm_message_index(&m, data, len);
	sm_verdict_init(v);
	gboolean ok = sm_scorer_score(s, &m, v, &err);
	g_assert_no_error(err);
	g_assert_true(ok);
	sm_message_clear(&m);
}

static void score_str(SmScorer *s, const char *msg, SmVerdict *v)
{
	score_bytes(s, msg, strlen(msg), v);
}

static gboolean hit(const SmVerdict *v, const char *rule)
{
	for (guint i = 0; i < v->rules->len; i++)
		if (strcmp(v->rules->pdata[i], rule) == 0)
			return TRUE;
	return FALSE;
}

/* Asserts that each of the comma-separated @rules hit (or did not, @hits FALSE),
 * naming the rule and the verdict when one does not. */
static void expect(const SmVerdict *v, const char *rules, gboolean hits)
{
	g_auto(GStrv) names = g_strsplit(rules, ",", -1);
	for (char **n = names; *n; n++) {
		if (hit(v, *n) == hits)
			continue;
		g_autofree char *line = sm_verdict_status_line(v);
		g_error("rule %s should %shit: %s", *n, hits ? "" : "not ", line);
	}
}

/* ---- headers ------------------------------------------------------------- */

static const char header_msg[] =
	"From: \"Fred Bloggs\" <fred@Example.org>\n"
	"To: a@x.org, Bee <b@y.org>\n"
	"Cc: grp: c@z.org;\n"
	"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= aus Wien\n"
	"X-Multi: one\n"
	"X-Multi: two\n"
	"X-Folded: part one\n"
	"   part two\n"
	"X-Custom: yes\n"
	"\n"
	"body\n";

static void test_header_forms(void)
{
	SmScorer *s = scorer_for(
		"header DECODED  Subject =~ /^Gr\\xc3\\xbc\\xc3\\x9fe aus Wien$/\n"
		"header RAW      Subject:raw =~ /^=\\?utf-8\\?q\\?Gr=C3/\n"
		"header NOT_RAW  Subject =~ /=\\?utf-8/\n"
		"header ADDR     From:addr =~ /^fred\\@example\\.org$/i\n"
		"header ADDR_NO  From:addr =~ /Bloggs/\n"
		"header NAME     From:name =~ /^Fred Bloggs$/\n"
		"header TO_ADDRS To:addr =~ /^a\\@x\\.org\\nb\\@y\\.org$/\n"
		"header TOCC     ToCc:addr =~ /^a\\@x\\.org\\nb\\@y\\.org\\nc\\@z\\.org$/\n"
		"header MULTI    X-Multi =~ /^one\\ntwo$/\n"
		"header FOLDED   X-Folded =~ /^part one part two$/\n"
		"header RAWFOLD  X-Folded:raw =~ /^part one\\n   part two$/\n"
		"header ALL_H    ALL =~ /^X-Custom: yes$/m\n"
		"header ALL_DEC  ALL =~ /^Subject: Gr\\xc3\\xbc/m\n"
		"header CASE     x-custom =~ /^yes$/\n");
	SmVerdict v;
	score_str(s, header_msg, &v);
	expect(&v, "DECODED,RAW,ADDR,NAME,TO_ADDRS,TOCC,MULTI,FOLDED,RAWFOLD,ALL_H,ALL_DEC", TRUE);
	expect(&v, "CASE", TRUE);
	expect(&v, "NOT_RAW,ADDR_NO", FALSE);
	sm_verdict_clear(&v);
	sm_scorer_free(s);
}

static void test_exists_and_negation(void)
{
	SmScorer *s = scorer_for(
		"header EXISTS      exists:X-Custom\n"
		"header EXISTS_NOT  exists:X-Nope\n"
		"header NEG_MISSING X-Nope !~ /./\n"
		"header NEG_PRESENT X-Custom !~ /yes/\n"
		"header NEG_HIT     X-Custom !~ /no/\n"
		"header POS_MISSING X-Nope =~ /./\n"
		"header UNSET       X-Nope =~ /^dflt$/ [if-unset: dflt]\n"
		"header UNSET_SET   X-Custom =~ /^dflt$/ [if-unset: dflt]\n");
	SmVerdict v;
	score_str(s, header_msg, &v);
	expect(&v, "EXISTS", TRUE);
	expect(&v, "EXISTS_NOT", FALSE);
	expect(&v, "NEG_MISSING", TRUE);
	expect(&v, "NEG_PRESENT", FALSE);
	expect(&v, "NEG_HIT", TRUE);
	expect(&v, "POS_MISSING", FALSE);
	expect(&v, "UNSET", TRUE);
	expect(&v, "UNSET_SET", FALSE);
	sm_verdict_clear(&v);
	sm_scorer_free(s);
}

/* An encoded word may decode to CR/LF: the decoded value stays one line, so
 * it forges neither a field in ALL nor a second value of its own name (found
 * by tests/fuzz/fuzz-message). */
static void test_decoded_crlf(void)
{
	SmScorer *s = scorer_for(
		"header FORGED_ALL  ALL =~ /^X-Forged: yes$/m\n"
		"header SECOND_SUBJ Subject =~ /^X-Forged: yes$/m\n"
		"header SUBJ_ONE    Subject =~ /^hi  X-Forged: yes$/\n"
		"header NAME_LINE   From:name =~ /^Eve  X-Forged yes$/\n"
		"header NAME_FORGED From:name =~ /^X-Forged/m\n");
	SmVerdict v;
	score_str(s, "From: =?utf-8?q?Eve=0D=0AX-Forged_yes?= <eve@example.org>\n"
	             "Subject: =?utf-8?q?hi=0D=0AX-Forged:_yes?=\n"
	             "\n"
	             "body\n", &v);
	expect(&v, "SUBJ_ONE,NAME_LINE", TRUE);
	expect(&v, "FORGED_ALL,SECOND_SUBJ,NAME_FORGED", FALSE);
	sm_verdict_clear(&v);
	sm_scorer_free(s);
}

/* ---- regex syntax -------------------------------------------------------- */

static const char text_msg[] =
	"Subject: the subject line\n"
	"X-Second: two\n"
	"\n"
	"hello world, see path/to/file and a#b\n"
	"abbc xxy start here\n"
	"\n"
	"second paragraph\n"
	"ends at the end\n";

static void test_delimiters(void)
{
	SmScorer *s = scorer_for(
		"body SLASH   /path\\/to\\/file/\n"
		"body BRACE   m{path/to/file}\n"
		"body NESTED  m{ab{2}c}\n"
		"body BANG    m!x{2}y!\n"
		"body PAREN   m(hello (world))\n"
		"body ANGLE   m<a\\#b>\n"
		"body COMMENT /nowhere/ # a trailing comment\n"
		"body SUBJECT /^the subject line$/\n");
	SmVerdict v;
	score_str(s, text_msg, &v);
	expect(&v, "SLASH,BRACE,NESTED,BANG,PAREN,ANGLE,SUBJECT", TRUE);
	expect(&v, "COMMENT", FALSE);
	sm_verdict_clear(&v);
	sm_scorer_free(s);
}

static void test_flags(void)
{
	SmScorer *s = scorer_for(
		"body I       /HELLO WORLD/i\n"
		"body NO_I    /HELLO WORLD/\n"
		"body S       /see.+start/s\n"
		"body CROSS   /start.+second/s\n"  /* SpamAssassin matches paragraph by paragraph */
		"body NO_S    /start.+second/\n"
		"body X       / h e l l o \\s w o r l d /x\n"
		"body PARA    /^second paragraph ends at the end$/\n"
		"body JOINED  /path\\/to\\/file and a\\#b abbc/\n"
		"body O       /hello/o\n"
		"header M     ALL =~ /^X-Second: two$/m\n"
		"header NO_M  ALL =~ /^X-Second/\n"
		"header MS    ALL =~ /^subject:.the.subject.line$/ims\n");
	SmVerdict v;
	score_str(s, text_msg, &v);
	expect(&v, "I,S,X,PARA,JOINED,O,M,MS", TRUE);
	expect(&v, "NO_I,NO_S,NO_M,CROSS", FALSE);
	sm_verdict_clear(&v);
	sm_scorer_free(s);
}

static void test_bad_rules_are_recorded(void)
{
	SmScorer *s = scorer_for(
		"# comment line\n"
		"\n"
		"body GOOD      /hello/\n"
		"body BAD_RE    /(unclosed/\n"
		"header BAD_MOD Subject:bogus =~ /x/\n"
		"body BAD_FLAG  /x/g\n"
		"body NO_CLOSE  /abc\n"
		"header NO_OP   Subject /x/\n"
		"body EVAL      eval:check_stuff()\n"
		"score GOOD     1 2\n"
		"score GHOST    3\n"
		"body bad-name  /x/\n"
		"uri FOO        /x/\n"
		"TFLAGS FOO     net\n"
		"required_score 4\n"
		"frobnicate     x\n"
		"lang de describe GOOD Hallo\n");
	SmScorerReport r;
	g_autoptr(GError) err = NULL;
	g_assert_true(sm_scorer_report(s, &r, &err));
	g_assert_no_error(err);
	g_assert_cmpuint(r.rules, ==, 2); /* GOOD and FOO; BAD_RE does not compile */
	g_autofree char *file = g_build_filename(tmpdir, "rules-", NULL);
	const char *lines[] = { ":5: header BAD_MOD: unknown modifier",
	                        ":6: BAD_FLAG: unsupported regex flag 'g'",
	                        ":7: NO_CLOSE: regex has no closing", ":8: header NO_OP: expected",
	                        ":10: score GOOD: expected 1 or 4",
	                        ":12: body: bad rule name",
	                        /* found when the files are joined, after the lines */
	                        ":11: score for undefined rule GHOST",
	                        /* found when the report compiles every regex */
	                        ":4: BAD_RE: bad regex" };
	g_assert_cmpuint(r.problems->len, ==, G_N_ELEMENTS(lines));
	for (gsize i = 0; i < G_N_ELEMENTS(lines); i++) {
		const char *p = r.problems->pdata[i];
		g_assert_true(g_str_has_prefix(p, file));
		g_assert_nonnull(strstr(p, lines[i]));
	}
	g_assert_cmpuint(r.unsupported->len, ==, 1);
	g_assert_true(g_str_has_suffix(r.unsupported->pdata[0], ":9: body EVAL eval:check_stuff()"));
	g_assert_cmpuint(r.unknown->len, ==, 1);
	g_assert_true(g_str_has_suffix(r.unknown->pdata[0], ":16: frobnicate"));
	g_assert_cmpuint(r.kinds[SM_SCORE_KIND_BODY], ==, 2);
	g_assert_cmpuint(r.kinds[SM_SCORE_KIND_URI], ==, 1);
	g_assert_cmpuint(r.kinds[SM_SCORE_KIND_HEADER], ==, 0);

	SmVerdict v;
	score_str(s, text_msg, &v);
	g_assert_cmpuint(v.rules->len, ==, 1);
	g_assert_cmpstr(v.rules->pdata[0], ==, "GOOD");
	g_assert_cmpfloat(v.score, ==, 1.0);
	sm_verdict_clear(&v);
	sm_scorer_free(s);
}

/* ---- scoring --------------------------------------------------------------- */

static void test_scoring(void)
{
	SmScorer *s = scorer_for(
		"score ZETA 1.5\n"                /* before its rule: allowed */
		"body  ZETA /hello/\n"
		"body  ALPHA /world/\n"           /* no score line: 1.0 */
		"body  MIDDLE /second/\n"
		"score MIDDLE 2.1 9 9 9\n"        /* score set 0: the first value */
		"body  OFF /hello/\n"
		"score OFF 0\n"                   /* 0: not run, not listed */
		"body  NEG /end/\n"
		"score NEG -0.3\n"
		"body  TINY /abbc/\n"
		"score TINY 0.1\n"
		"body  TINY2 /xxy/\n"
		"score TINY2 0.2\n"
		"body  REDEF /nowhere/\n"
		"body  REDEF /start/\n"           /* the later definition wins */
		"score REDEF (0.1)\n"
		"body  __SUB /hello/\n"           /* sub-rule no meta uses: never run */
		"body  MISS /absent/\n"
		"describe ALPHA the word world\n");
	SmVerdict v;
	gint64 before = g_get_real_time() / G_USEC_PER_SEC;
	score_str(s, text_msg, &v);
	const char *want[] = { "ALPHA", "MIDDLE", "NEG", "REDEF", "TINY", "TINY2", "ZETA" };
	g_assert_cmpuint(v.rules->len, ==, G_N_ELEMENTS(want));
	for (gsize i = 0; i < G_N_ELEMENTS(want); i++)
		g_assert_cmpstr(v.rules->pdata[i], ==, want[i]); /* sorted */
	/* 1.5 + 1 + 2.1 - 0.3 + 0.1 + 0.2 + 0.1, kept to three decimals */
	g_assert_cmpfloat(v.score, ==, 4.7);
	g_assert_cmpfloat(v.threshold, ==, 5.0);
	g_assert_false(v.is_spam);
	g_assert_cmpint(v.source, ==, SM_VERDICT_SCORED);
	g_assert_cmpint(v.scored_at, >=, before);
	g_assert_cmpint(v.scored_at, <=, g_get_real_time() / G_USEC_PER_SEC);
	sm_verdict_clear(&v);

	SmScorerReport r;
	g_assert_true(sm_scorer_report(s, &r, NULL));
	g_assert_cmpuint(r.rules, ==, 8);
	g_assert_cmpuint(r.problems->len, ==, 0);
	sm_scorer_free(s);
}

static void test_threshold_is_inclusive(void)
{
	g_autofree char *path = write_file("five.cf", "body FIVE /hello/\nscore FIVE 5\n"
	                                              "required_score 100\n");
	const char *files[] = { path, NULL };
	SmScorerOptions o = { .rule_files = files, .required_score = 5.0 };
	SmScorer *s = sm_scorer_new(&o);
	SmVerdict v;
	score_str(s, text_msg, &v);
	g_assert_cmpfloat(v.score, ==, 5.0);
	g_assert_cmpfloat(v.threshold, ==, 5.0); /* sortmail's, not the file's */
	g_assert_true(v.is_spam);
	g_autofree char *line = sm_verdict_status_line(&v);
	g_assert_cmpstr(line, ==, "Yes, score=5.0 required=5.0 tests=FIVE");
	sm_verdict_clear(&v);
	sm_scorer_free(s);
}

static void test_rule_directory(void)
{
	g_autofree char *dir = g_build_filename(tmpdir, "ruledir", NULL);
	g_assert_cmpint(g_mkdir(dir, 0700), ==, 0);
	g_autofree char *a = write_file("ruledir/20-scores.cf", "score ONE 3\n");
	g_autofree char *b = write_file("ruledir/10-rules.cf", "body ONE /hello/\nscore ONE 2\n");
	g_autofree char *c = write_file("ruledir/notes.txt", "this is not a rule file\n");
	const char *files[] = { dir, NULL };
	SmScorerOptions o = { .rule_files = files, .required_score = 5.0 };
	SmScorer *s = sm_scorer_new(&o);
	SmVerdict v;
	score_str(s, text_msg, &v);
	g_assert_cmpfloat(v.score, ==, 3.0); /* 20-scores.cf is read after 10-rules.cf */
	sm_verdict_clear(&v);
	SmScorerReport r;
	g_assert_true(sm_scorer_report(s, &r, NULL));
	g_assert_cmpuint(r.unknown->len, ==, 0);
	sm_scorer_free(s);
}

/* ---- rendering --------------------------------------------------------------- */

static void test_html_rendering(void)
{
	SmScorer *s = scorer_for(
		"body SPLIT    /\\bViagra\\b/\n"
		"body ENTITY   /Caf\\xc3\\xa9 & more <ok>/\n"
		"body ZW       /\\bLevitra\\b/\n"
		"body SCRIPT   /secretscript/\n"
		"body STYLE    /secretstyle/\n"
		"body COMMENT  /secretcomment/\n"
		"body BLOCK    /^Second block$/\n"
		"body ATTR     /secretattr/\n"
		"body NBSP     /one two/\n");
	const char *msg =
		"Subject: html\n"
		"Content-Type: text/html; charset=iso-8859-1\n"
		"Content-Transfer-Encoding: quoted-printable\n"
		"\n"
		"<html><head><style>p { x: secretstyle }</style></head><body>\n"
		"<SCRIPT type=3D\"a\">var secretscript;</SCRIPT>\n"
		"<!-- secretcomment -->\n"
		"<p title=3D\"a > secretattr\">Buy Vi<b></b>agra. Caf=E9 &amp; more &lt;ok&gt;</p>\n"
		"<div>Second block</div>Le&#8203;vitra one&nbsp;two\n"
		"</body></html>\n";
	SmVerdict v;
	score_str(s, msg, &v);
	expect(&v, "SPLIT,ENTITY,ZW,BLOCK,NBSP", TRUE);
	expect(&v, "SCRIPT,STYLE,COMMENT,ATTR", FALSE);
	sm_verdict_clear(&v);
	sm_scorer_free(s);
}

static void test_parts_and_charsets(void)
{
	SmScorer *s = scorer_for(
		"body INLINE   /visible text/\n"
		"body ATTACHED /attached secret/\n"
		"body B64      /base64 body/\n"
		"body LATIN1   /f\\xc3\\xbcr/\n"
		"body INNER    /inner message text/\n"
		"body HTMLPART /from the html part/\n"
		"body ORDER    /visible text(?s:.*)base64 body(?s:.*)from the html part/\n");
	const char *msg =
		"Subject: parts\n"
		"MIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=XX\n"
		"\n"
		"--XX\n"
		"Content-Type: multipart/alternative; boundary=YY\n"
		"\n"
		"--YY\n"
		"Content-Type: text/html\n"
		"\n"
		"<p>from the html part</p>\n"
		"--YY\n"
		"Content-Type: text/plain\n"
		"\n"
		"visible text\n"
		"--YY--\n"
		"--XX\n"
		"Content-Type: text/plain; charset=utf-8\n"
		"Content-Transfer-Encoding: base64\n"
		"\n"
		"YmFzZTY0IGJvZHk=\n"
		"--XX\n"
		"Content-Type: text/plain; charset=iso-8859-1\n"
		"Content-Transfer-Encoding: 8bit\n"
		"\n"
		"f\xfcr\n"
		"--XX\n"
		"Content-Type: text/plain\n"
		"Content-Disposition: attachment; filename=a.txt\n"
		"\n"
		"attached secret\n"
		"--XX\n"
		"Content-Type: message/rfc822\n"
		"\n"
		"Subject: inner\n"
		"\n"
		"inner message text\n"
		"--XX--\n";
	SmVerdict v;
	score_str(s, msg, &v);
	expect(&v, "INLINE,B64,LATIN1,INNER,HTMLPART,ORDER", TRUE);
	expect(&v, "ATTACHED", FALSE);
	sm_verdict_clear(&v);
	sm_scorer_free(s);
}

/* Each part gives at most its first 50 000 bytes of text to body rules. */
static void test_part_scan_size(void)
{
	SmScorer *s = scorer_for("body EARLY /earlyword/\nbody LATE /lateword/\n"
	                         "header SUBJ Subject =~ /^long$/\n");
	GString *msg = g_string_new("Subject: long\n\nearlyword\n");
	while (msg->len < 60000)
		g_string_append(msg, "filler text, ");
	g_string_append(msg, "lateword\n");
	SmVerdict v;
	score_bytes(s, msg->str, msg->len, &v);
	expect(&v, "EARLY,SUBJ", TRUE);
	expect(&v, "LATE", FALSE);
	sm_verdict_clear(&v);
	g_string_free(msg, TRUE);
	sm_scorer_free(s);
}

/* Hostile input: must score (never crash, never fail) and see what it can. */
static void test_broken_input(void)
{
	SmScorer *s = scorer_for(
		"body   TEXT    /findme/\n"
		"header SUBJ    Subject =~ /caf\\xc3\\xa9/\n"
		"header NOSUBJ  Subject !~ /./\n");
	static const char nul_msg[] = "Subject: a\0b\nX: \0\n\nfind\0me findme \0\n";
	static const char *cases[] = {
		"",
		"\n",
		"no headers at all, findme\n",
		"Subject: caf\xe9 \xff\xfe\n\nfindme\n",
		"Subject: =?bogus-charset?q?caf=E9?=\n\nfindme\n",
		"Subject: =?utf-8?b?!!!not base64?=\n\nfindme\n",
		"Content-Type: multipart/mixed; boundary=\"QQ\"\n\n--QQ\nContent-Type: text/plain\n\nfindme",
		"Content-Type: multipart/mixed\n\nno boundary findme\n",
		"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n!!!!\n",
		"Content-Type: text/html\n\n<p unterminated <!-- never closed &#xFFFFFFFF; &#0; &#; &bogus; findme",
		"Content-Type: text/html\n\n<script>findme",
		"Subject: x\n\xff\xfe\xfd: y\n\nfindme\n",
		"From foo@bar Thu Jan  1 00:00:00 1970\nSubject: caf\xc3\xa9\n\nfindme\n",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		SmVerdict v;
		score_str(s, cases[i], &v);
		sm_verdict_clear(&v);
	}
	SmVerdict v;
	score_bytes(s, nul_msg, sizeof nul_msg - 1, &v);
	expect(&v, "TEXT", TRUE);
	sm_verdict_clear(&v);
	score_str(s, "Subject: caf\xe9\n\nx\n", &v); /* undeclared 8-bit: Latin-1 guess */
	expect(&v, "SUBJ", TRUE);
	sm_verdict_clear(&v);
	score_str(s, "", &v);
	expect(&v, "NOSUBJ", TRUE);
	sm_verdict_clear(&v);
	score_str(s, "From foo@bar Thu Jan  1 00:00:00 1970\nSubject: caf\xc3\xa9\n\nfindme\n", &v);
	expect(&v, "SUBJ,TEXT", TRUE);
	sm_verdict_clear(&v);

	/* A deeply nested message stays bounded. */
	GString *deep = g_string_new("Subject: deep\n");
	for (int i = 0; i < 200; i++)
		g_string_append_printf(deep, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
	g_string_append(deep, "Content-Type: text/plain\n\nfindme\n");
	score_bytes(s, deep->str, deep->len, &v);
	sm_verdict_clear(&v);
	g_string_free(deep, TRUE);
	sm_scorer_free(s);
}

/* ---- loading errors -------------------------------------------------------- */

static void test_bad_module(void)
{
	g_autofree char *path = g_build_filename(tmpdir, "no-such-module.so", NULL);
	SmScorerOptions o = { .module_path = path, .required_score = 5.0 };
	SmScorer *s = sm_scorer_new(&o);
	SmMessage m;
	sm_message_index(&m, "Subject: x\n\ny\n", 14);
	for (int round = 0; round < 2; round++) { /* the failure is remembered */
		SmVerdict v;
		g_autoptr(GError) err = NULL;
		sm_verdict_init(&v);
		g_assert_false(sm_scorer_score(s, &m, &v, &err));
		g_assert_error(err, SM_SCORE_ERROR, SM_SCORE_ERROR_MODULE);
		g_assert_nonnull(strstr(err->message, "no-such-module.so"));
		g_assert_null(strchr(err->message, '\n'));
		sm_verdict_clear(&v);
	}
	sm_message_clear(&m);
	sm_scorer_free(s);

	/* A library that is not a scorer module. */
	g_autofree char *libc = g_strdup("libc.so.6");
	o.module_path = libc;
	s = sm_scorer_new(&o);
	SmScorerReport r;
	g_autoptr(GError) err = NULL;
	g_assert_false(sm_scorer_report(s, &r, &err));
	g_assert_error(err, SM_SCORE_ERROR, SM_SCORE_ERROR_MODULE);
	g_assert_nonnull(strstr(err->message, SM_SCORE_MODULE_SYMBOL));
	sm_scorer_free(s);
}

static void test_bad_rule_files(void)
{
	g_autofree char *missing = g_build_filename(tmpdir, "missing.cf", NULL);
	g_autofree char *empty = write_file("empty.cf", "# nothing\nbody BROKEN /(\n");
	const char *cases[][2] = { { missing, "missing.cf" }, { empty, "no usable rule" } };
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		const char *files[] = { cases[i][0], NULL };
		SmScorerOptions o = { .rule_files = files, .required_score = 5.0 };
		SmScorer *s = sm_scorer_new(&o);
		SmScorerReport r;
		g_autoptr(GError) err = NULL;
		g_assert_false(sm_scorer_report(s, &r, &err));
		g_assert_error(err, SM_SCORE_ERROR, SM_SCORE_ERROR_RULES);
		g_assert_nonnull(strstr(err->message, cases[i][1]));
		sm_scorer_free(s);
	}
}

/* ---- the stock rules on the fixtures --------------------------------------- */

static void test_stock_fixtures(void)
{
	const char *top = g_getenv("top_srcdir");
	g_autofree char *dir = g_build_filename(top ? top : "..", "tests", "data", "score", NULL);
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	g_assert_nonnull(d);
	SmScorerOptions o = { .required_score = 5.0 }; /* stock set, $SORTMAIL_DATADIR */
	SmScorer *s = sm_scorer_new(&o);
	guint spam = 0, ham = 0;
	for (const char *name; (name = g_dir_read_name(d));) {
		if (!g_str_has_suffix(name, ".eml"))
			continue;
		g_autofree char *path = g_build_filename(dir, name, NULL);
		g_autofree char *data = NULL;
		gsize len;
		g_assert_true(g_file_get_contents(path, &data, &len, NULL));
		SmVerdict v;
		score_bytes(s, data, len, &v);
		g_autofree char *line = sm_verdict_status_line(&v);
		g_test_message("%s: %s", name, line);
		if (g_str_has_prefix(name, "spam-")) {
			g_assert_true(v.is_spam);
			spam++;
		} else {
			g_assert_true(g_str_has_prefix(name, "ham-"));
			g_assert_false(v.is_spam);
			g_assert_cmpfloat(v.score, <, 2.5); /* well below, not just below */
			ham++;
		}
		sm_verdict_clear(&v);
	}
	g_assert_cmpuint(spam, >=, 5);
	g_assert_cmpuint(ham, >=, 4);

	SmScorerReport r;
	g_assert_true(sm_scorer_report(s, &r, NULL));
	g_assert_cmpuint(r.rules, >=, 30);
	g_assert_cmpuint(r.problems->len, ==, 0);
	g_assert_cmpuint(r.unknown->len, ==, 0);
	sm_scorer_free(s);
}

static void remove_tree(const char *path)
{
	if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
		g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
		for (const char *n; d && (n = g_dir_read_name(d));) {
			g_autofree char *child = g_build_filename(path, n, NULL);
			remove_tree(child);
		}
		g_rmdir(path);
	} else {
		g_unlink(path);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	if (!g_getenv("SORTMAIL_SCORER")) {
		printf("1..0 # SKIP SORTMAIL_SCORER is not set (run through make check)\n");
		return 0;
	}
	tmpdir = g_dir_make_tmp("test-score-XXXXXX", NULL);
	g_assert_nonnull(tmpdir);

	g_test_add_func("/score/header-forms", test_header_forms);
	g_test_add_func("/score/exists-and-negation", test_exists_and_negation);
	g_test_add_func("/score/decoded-crlf", test_decoded_crlf);
	g_test_add_func("/score/delimiters", test_delimiters);
	g_test_add_func("/score/flags", test_flags);
	g_test_add_func("/score/bad-rules-are-recorded", test_bad_rules_are_recorded);
	g_test_add_func("/score/scoring", test_scoring);
	g_test_add_func("/score/threshold-is-inclusive", test_threshold_is_inclusive);
	g_test_add_func("/score/rule-directory", test_rule_directory);
	g_test_add_func("/score/html-rendering", test_html_rendering);
	g_test_add_func("/score/parts-and-charsets", test_parts_and_charsets);
	g_test_add_func("/score/part-scan-size", test_part_scan_size);
	g_test_add_func("/score/broken-input", test_broken_input);
	g_test_add_func("/score/bad-module", test_bad_module);
	g_test_add_func("/score/bad-rule-files", test_bad_rule_files);
	g_test_add_func("/score/stock-fixtures", test_stock_fixtures);
	int rc = g_test_run();
	remove_tree(tmpdir);
	g_free(tmpdir);
	return rc;
}
