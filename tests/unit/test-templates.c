/* test-templates.c: the template engine (templates/): every directive,
 * chomping, errors with their lines, includes (lookup order, depth, cycles,
 * names that try to leave the template directories), the bounds, and golden
 * renders of the stock templates (tests/data/templates/NAME.out).
 *
 * Set SM_REGENERATE_GOLDEN=1 to rewrite the golden files from the current
 * output (then read the diff before keeping it).
 */
#include "config.h"
#include "templates/templates.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SM_TEST_DATA
#error "SM_TEST_DATA must name tests/data"
#endif
#ifndef SM_TEST_STOCK
#error "SM_TEST_STOCK must name templates/stock"
#endif

/* ---- helpers ----------------------------------------------------------- */

static void rm_rf(const char *path)
{
	GDir *d = g_dir_open(path, 0, NULL);
	if (d) {
		const char *name;
		while ((name = g_dir_read_name(d))) {
			g_autofree char *child = g_build_filename(path, name, NULL);
			rm_rf(child);
		}
		g_dir_close(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

/* The variable set every test renders with. */
static GHashTable *test_vars(void)
{
	GHashTable *v = sm_template_vars_new();
	sm_template_vars_set(v, "to", "nobody@example.com");
	sm_template_vars_set(v, "from", "Fred Sender <fred@example.net>");
	sm_template_vars_set(v, "sender", "fred@example.net");
	sm_template_vars_set(v, "subject", "Meeting on Tuesday");
	sm_template_vars_set(v, "message_id", "<20261103.1234@example.net>");
	sm_template_vars_set(v, "date", "Tue, 03 Nov 2026 10:15:00 +0100");
	sm_template_vars_set(v, "msg.header.Subject", "Meeting on Tuesday");
	sm_template_vars_set(v, "msg.header.X-Mailer", "Pigeon 2.0");
	sm_template_vars_set(v, "verdict.score", "1.2");
	sm_template_vars_set(v, "zero", "0");
	sm_template_vars_set(v, "empty", "");
	return v;
}

typedef struct {
	GHashTable *vars;
	char *user_dir; /* a fresh temporary directory */
	SmTemplateSource src;
} Env;

static void env_init(Env *e)
{
	e->vars = test_vars();
	e->user_dir = g_dir_make_tmp("test-templates-XXXXXX", NULL);
	g_assert_nonnull(e->user_dir);
	e->src = (SmTemplateSource){
		.user_dir = e->user_dir,
		.stock_dir = SM_TEST_STOCK,
		.lookup = sm_template_vars_lookup,
		.lookup_data = e->vars,
	};
}

static void env_clear(Env *e)
{
	rm_rf(e->user_dir);
	g_free(e->user_dir);
	g_hash_table_unref(e->vars);
}

static void put(Env *e, const char *name, const char *text)
{
	g_autofree char *path = g_build_filename(e->user_dir, name, NULL);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

static SmTemplateResult *render(Env *e, const char *text, GError **error)
{
	return sm_template_render_string(&e->src, "t", text, strlen(text), error);
}

/* Renders @text and compares the body. */
static void check(const char *text, const char *want)
{
	Env e;
	env_init(&e);
	g_autoptr(GError) error = NULL;
	g_autoptr(SmTemplateResult) r = render(&e, text, &error);
	g_assert_no_error(error);
	g_assert_nonnull(r);
	g_assert_cmpstr(r->body, ==, want);
	g_assert_cmpuint(r->body_len, ==, strlen(want));
	env_clear(&e);
}

/* Renders @text and expects an error whose message is exactly @want. */
static void check_error(const char *text, SmTemplateError code, const char *want)
{
	Env e;
	env_init(&e);
	g_autoptr(GError) error = NULL;
	g_autoptr(SmTemplateResult) r = render(&e, text, &error);
	g_assert_null(r);
	g_assert_error(error, SM_TEMPLATE_ERROR, (gint)code);
	g_assert_cmpstr(error->message, ==, want);
	env_clear(&e);
}

/* ---- directives -------------------------------------------------------- */

static void test_variables(void)
{
	check("plain text\n", "plain text\n");
	check("", "");
	check("To: [% to %].", "To: nobody@example.com.");
	check("[%to%]|[%   verdict.score   %]", "nobody@example.com|1.2");
	check("[% msg.header.Subject %]", "Meeting on Tuesday");
	/* Header names are case-insensitive, other names are not. */
	check("[% msg.header.subject %]/[% msg.header.X-MAILER %]", "Meeting on Tuesday/Pigeon 2.0");
	check("[% TO %]|[% Msg.header.Subject %]", "|");
	check("<[% nothing %]><[% msg.header.Nope %]><[% a.b.c %]>", "<><><>");
	check("[% GET to %]", "nobody@example.com");
	check("[% 'lit' %][% \"q\" %][% 42 %]", "litq42");
	check("a [% %] b [%;;%] c", "a  b  c");
	/* Several statements in one tag, across lines. */
	check("[% to; ' '; sender\n;\n' ok' %]", "nobody@example.com fred@example.net ok");
	/* Text is copied byte for byte, UTF-8 and CRLF included. */
	check("Grüße\r\n[% 'été' %]\r\n", "Grüße\r\nété\r\n");
}

static void test_no_lookup(void)
{
	SmTemplateSource src = { .stock_dir = SM_TEST_STOCK };
	g_autoptr(GError) error = NULL;
	g_autoptr(SmTemplateResult) r = sm_template_render_string(&src, "t", "<[% to %]>", 10, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(r->body, ==, "<>");
}

static void test_strings(void)
{
	check("[% a = \"to $to, score ${verdict.score}, ${ msg.header.X-Mailer }\"; a %]",
	      "to nobody@example.com, score 1.2, Pigeon 2.0");
	/* A dot is part of the name only when a name character follows it. */
	check("[% \"$to.\" %]|[% \"$msg.header.Subject!\" %]", "nobody@example.com.|Meeting on Tuesday!");
	check("[% \"$to-x $nothing|$|$ |${to}x\" %]", "nobody@example.com-x |$|$ |nobody@example.comx");
	check("[% \"a\\nb\\tc\\\"d\\\\e\\$to\\qf\" %]", "a\nb\tc\"d\\e$to\\qf");
	check("[% '$to \\n \\' \\\\ \"' %]", "$to \\n ' \\ \"");
	check("[% \"multi\nline\" %]", "multi\nline");
	check("[% '' %][% \"\" %]|", "|");
}

static void test_assign(void)
{
	check("[% x = 'one'; x %] [% SET x = \"two $x\" %][% x %]", "one two one");
	check("[% x = to %][% x %]", "nobody@example.com");
	/* The template's own value wins over the caller's. */
	check("[% to = 'me' %][% to %]", "me");
	check("[% verdict.score = '9' %][% verdict.score %]", "9");

	Env e;
	env_init(&e);
	g_autoptr(GError) error = NULL;
	g_autoptr(SmTemplateResult) r = render(&e,
		"[% head.Subject = \"Re: $subject\\n\"; head.X-Loop = 'a';"
		" head.Reply-To = 'r@example.com'; head.subject = \"Again: $subject\\r\\n\\n\" %]"
		"[% head.SUBJECT %]|[% head.x-loop %]|[% head.Missing %]", &error);
	g_assert_no_error(error);
	/* In the template the value is as written; in the result its line end is gone. */
	g_assert_cmpstr(r->body, ==, "Again: Meeting on Tuesday\r\n\n|a|");
	g_assert_cmpuint(r->headers->len, ==, 3);
	const SmTemplateHeader *h0 = r->headers->pdata[0], *h1 = r->headers->pdata[1],
		*h2 = r->headers->pdata[2];
	g_assert_cmpstr(h0->name, ==, "Subject");
	g_assert_cmpstr(h0->value, ==, "Again: Meeting on Tuesday");
	g_assert_cmpstr(h1->name, ==, "X-Loop");
	g_assert_cmpstr(h2->name, ==, "Reply-To");
	g_assert_cmpstr(h2->value, ==, "r@example.com");
	g_assert_cmpstr(sm_template_result_header(r, "x-LOOP"), ==, "a");
	g_assert_null(sm_template_result_header(r, "To"));

	/* Only the trailing line ends go; inner ones are the reply builder's job. */
	g_autoptr(SmTemplateResult) r2 = render(&e, "[% head.Subject = \"a\\nb \\n\" %]", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(sm_template_result_header(r2, "Subject"), ==, "a\nb ");
	g_assert_cmpstr(r2->body, ==, "");
	env_clear(&e);
}

static void test_if(void)
{
	const char *t = "[% IF x == 'a' %]A[% ELSIF x == 'b' %]B[% ELSIF x %]other[% ELSE %]none[% END %]";
	static const char *const cases[][2] = {
		{ "[% x = 'a' %]", "A" }, { "[% x = 'b' %]", "B" },
		{ "[% x = 'c' %]", "other" }, { "", "none" },
		{ "[% x = '0' %]", "none" }, { "[% x = '00' %]", "other" },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *text = g_strconcat(cases[i][0], t, NULL);
		check(text, cases[i][1]);
	}
	check("[% IF to %]y[% END %][% IF nothing %]n[% END %][% IF empty %]e[% END %]"
	      "[% IF zero %]z[% END %]", "y");
	check("[% IF to != 'x' %]ne[% END %][% IF to == \"$to\" %]eq[% END %]", "neeq");
	check("[% IF to and sender %]1[% END %][% IF to and nothing %]2[% END %]"
	      "[% IF nothing or to %]3[% END %][% IF nothing or empty %]4[% END %]", "13");
	check("[% IF not nothing %]1[% END %][% IF ! to %]2[% END %][% IF NOT to == 'x' %]3[% END %]",
	      "13");
	check("[% IF to AND NOT (zero OR empty) %]1[% END %][% IF (to || x) && !zero %]2[% END %]", "12");
	/* "not" binds looser than "==", "and" tighter than "or". */
	check("[% IF not to == to %]1[% ELSE %]0[% END %]", "0");
	check("[% IF to or nothing and nothing %]1[% END %]", "1");
	check("[% IF (to or nothing) and nothing %]1[% ELSE %]0[% END %]", "0");
	/* The deciding operand is the value, as in Template Toolkit. */
	check("[% nothing or 'default' %]|[% subject or 'default' %]|[% to and sender %]|[% zero and to %]",
	      "default|Meeting on Tuesday|fred@example.net|0");
	check("[% to == to %]|[% to == 'x' %]|[% not zero %]|[% not to %]", "1||1|");
	/* One tag, nested, UNLESS. */
	check("[% IF to; 'a'; IF zero; 'b'; ELSE; 'c'; END; END %]", "ac");
	check("[% UNLESS nothing %]u[% ELSE %]x[% END %][% UNLESS to %]u[% ELSE %]x[% END %]", "ux");
	check("[% IF to %]\n  yes\n[% END %]\n", "\n  yes\n\n");
}

static void test_comments(void)
{
	check("a[%# a comment with \"quotes\" and don't [% to %]b", "ab");
	check("a[%#\n multi\n line\n%]b", "ab");
	check("[% to # to the end of the line; 'hidden'\n ; ' x' # another\n %]", "nobody@example.com x");
	check("[% # nothing but a comment %]|", "|");
}

static void test_chomp(void)
{
	check("a\n[% to %]\nb", "a\nnobody@example.com\nb");
	check("a\n  [%- to -%]  \nb", "anobody@example.comb");
	check("a\r\n\t[%- to -%] \r\nb", "anobody@example.comb");
	/* Only one line end goes, and only when nothing else stands on the line. */
	check("a\n\n[%- to -%]\n\nb", "a\nnobody@example.com\nb");
	check("a [%- to -%] b", "a nobody@example.com b");
	check("[%- to -%]", "nobody@example.com");
	check("x[% IF to -%]\n  yes\n[%- END %]\n", "x  yes\n");
	check("[% x = 1 -%]\n[% y = 2 -%]\nbody\n", "body\n");
	check("line\n[%# comment -%]\nnext", "line\nnext");
	check("line\n[%-# comment -%]\nnext", "linenext");
	/* A dash that is part of the directive does not chomp the other side. */
	check("a\n[%-%]\nb", "a\nb");
	check("a[% -%]\nb", "ab");
}

/* ---- errors ------------------------------------------------------------ */

static void test_errors(void)
{
	check_error("ok\n\nthen [% to\n", SM_TEMPLATE_ERROR_SYNTAX, "t:3: unterminated [% tag");
	check_error("[% 'x %]", SM_TEMPLATE_ERROR_SYNTAX, "t:1: unterminated string");
	check_error("\n[% a = \"x\n\ny %]", SM_TEMPLATE_ERROR_SYNTAX, "t:2: unterminated string");
	check_error("[% IF to %]\nyes\n", SM_TEMPLATE_ERROR_SYNTAX, "t:1: IF without END");
	check_error("a\n[% END %]", SM_TEMPLATE_ERROR_SYNTAX, "t:2: END without IF");
	check_error("[% ELSE %]", SM_TEMPLATE_ERROR_SYNTAX, "t:1: ELSE without IF");
	check_error("[% IF to %]a[% ELSE %]b[% ELSIF x %]c[% END %]", SM_TEMPLATE_ERROR_SYNTAX,
		    "t:1: unexpected 'ELSIF'");
	check_error("[% UNLESS to %]a[% ELSIF x %]c[% END %]", SM_TEMPLATE_ERROR_SYNTAX,
		    "t:1: unexpected 'ELSIF'");
	check_error("\n\n[% to from %]", SM_TEMPLATE_ERROR_SYNTAX, "t:3: unexpected 'from'");
	check_error("[%\n to\n +\n %]", SM_TEMPLATE_ERROR_SYNTAX, "t:3: unexpected character '+'");
	check_error("[% a & b %]", SM_TEMPLATE_ERROR_SYNTAX,
		    "t:1: unexpected character '&' (did you mean '&&'?)");
	check_error("[% \x01 %]", SM_TEMPLATE_ERROR_SYNTAX, "t:1: unexpected byte 0x01");
	check_error("[% a = %]", SM_TEMPLATE_ERROR_SYNTAX, "t:1: unexpected end of tag");
	check_error("[% IF %]", SM_TEMPLATE_ERROR_SYNTAX, "t:1: unexpected end of tag");
	check_error("[% IF (to %]", SM_TEMPLATE_ERROR_SYNTAX, "t:1: '(' without ')'");
	check_error("[% to == %]", SM_TEMPLATE_ERROR_SYNTAX, "t:1: unexpected end of tag");
	check_error("[% a == b == c %]", SM_TEMPLATE_ERROR_SYNTAX, "t:1: unexpected '=='");
	check_error("[% a. %]", SM_TEMPLATE_ERROR_SYNTAX, "t:1: bad variable name 'a.'");
	check_error("[% END = 1 %]", SM_TEMPLATE_ERROR_SYNTAX, "t:1: END without IF");
	check_error("[% 'x' = 1 %]", SM_TEMPLATE_ERROR_SYNTAX, "t:1: unexpected string");
	check_error("[% SET to %]", SM_TEMPLATE_ERROR_SYNTAX, "t:1: SET without an assignment");
	check_error("[% INCLUDE %]", SM_TEMPLATE_ERROR_SYNTAX, "t:1: INCLUDE without a template name");
	check_error("[% \"${to\" %]", SM_TEMPLATE_ERROR_SYNTAX, "t:1: unterminated ${ in string");
	check_error("[% \"${a..b}\" %]", SM_TEMPLATE_ERROR_SYNTAX,
		    "t:1: bad variable name '${a..b}' in string");
	check_error("[% head.A.B = 1 %]", SM_TEMPLATE_ERROR_SYNTAX, "t:1: A.B: not a header name");
	check_error("a\n\xff\n", SM_TEMPLATE_ERROR_SYNTAX, "t:2: not valid UTF-8");

	Env e;
	env_init(&e);
	g_autoptr(GError) error = NULL;
	g_assert_null(sm_template_render_string(&e.src, "t", "a\0b", 3, &error));
	g_assert_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_SYNTAX);
	g_assert_cmpstr(error->message, ==, "t:1: NUL byte in template");
	env_clear(&e);
}

static void test_nesting_bound(void)
{
	g_autoptr(GString) deep = g_string_new("[% ");
	for (int i = 0; i < 100; i++)
		g_string_append_c(deep, '(');
	g_string_append(deep, "to %]");
	check_error(deep->str, SM_TEMPLATE_ERROR_SYNTAX, "t:1: nested deeper than 64");

	g_autoptr(GString) ifs = g_string_new(NULL);
	for (int i = 0; i < 100; i++)
		g_string_append(ifs, "[% IF to %]");
	check_error(ifs->str, SM_TEMPLATE_ERROR_SYNTAX, "t:1: nested deeper than 64");

	g_autoptr(GString) nots = g_string_new("[% ");
	for (int i = 0; i < 100; i++)
		g_string_append(nots, "not ");
	g_string_append(nots, "to %]");
	check_error(nots->str, SM_TEMPLATE_ERROR_SYNTAX, "t:1: nested deeper than 64");

	/* A long chain of operators would be a deep tree: bounded too. */
	g_autoptr(GString) chain = g_string_new("[% IF to");
	for (int i = 0; i < 300; i++)
		g_string_append(chain, i % 2 ? " or x" : " and to");
	g_string_append(chain, " %]y[% END %]");
	check_error(chain->str, SM_TEMPLATE_ERROR_SYNTAX, "t:1: more than 256 and/or in one expression");
	g_string_truncate(chain, strlen("[% IF to"));
	for (int i = 0; i < 256; i++)
		g_string_append(chain, i % 2 ? " or x" : " and to");
	g_string_append(chain, " %]y[% END %][% IF (to or x) and (x or to) and x or to %]z[% END %]");
	check(chain->str, "yz");

	/* Within the bound all is well. */
	check("[% IF ((((to)))) %][% IF to %][% IF to %]3[% END %][% END %][% END %]", "3");
}

/* ---- includes ---------------------------------------------------------- */

static void test_include(void)
{
	Env e;
	env_init(&e);
	put(&e, "greet", "Hi [% to %]");
	put(&e, "with.dots-and_x", "dots");
	put(&e, "local", "[% plain = 'inner'; head.X-From-Include = 'yes' %]<[% plain %]>");

	g_autoptr(GError) error = NULL;
	g_autoptr(SmTemplateResult) r = render(&e,
		"[% INCLUDE greet %]|[% INCLUDE 'with.dots-and_x' %]|[% n = 'greet' %][% INCLUDE \"$n\" %]",
		&error);
	g_assert_no_error(error);
	g_assert_cmpstr(r->body, ==, "Hi nobody@example.com|dots|Hi nobody@example.com");

	/* Plain names stay inside the include; head.* (dotted) are shared. */
	g_autoptr(SmTemplateResult) r2 = render(&e,
		"[% plain = 'outer' %][% INCLUDE local %][% plain %]", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(r2->body, ==, "<inner>outer");
	g_assert_cmpstr(sm_template_result_header(r2, "X-From-Include"), ==, "yes");

	/* The include sees its includer's plain variables. */
	put(&e, "sees", "[% plain %]");
	g_autoptr(SmTemplateResult) r3 = render(&e, "[% plain = 'p' %][% INCLUDE sees %]", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(r3->body, ==, "p");
	env_clear(&e);
}

static void test_include_errors(void)
{
	Env e;
	env_init(&e);
	g_autoptr(GError) error = NULL;
	g_autofree char *missing = g_strdup_printf(
		"t:2: INCLUDE nope: no such template (looked in %s and %s)", e.user_dir, SM_TEST_STOCK);
	g_assert_null(render(&e, "\n[% INCLUDE nope %]", &error));
	g_assert_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_NOT_FOUND);
	g_assert_cmpstr(error->message, ==, missing);
	g_clear_error(&error);

	/* An error inside an include names the include and where it came from. */
	put(&e, "broken", "line 1\n[% IF to %]\n");
	put(&e, "middle", "\n\n[% INCLUDE broken %]");
	put(&e, "fails", "[% a == %]");
	g_assert_null(render(&e, "[% INCLUDE middle %]", &error));
	g_assert_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_SYNTAX);
	g_assert_cmpstr(error->message, ==,
			"broken:2: IF without END (included from middle:3) (included from t:1)");
	g_clear_error(&error);

	put(&e, "late", "ok\n[% head.A.B = 1 %]");
	g_assert_null(render(&e, "[% IF to %][% INCLUDE late %][% END %]", &error));
	g_assert_cmpstr(error->message, ==, "late:2: A.B: not a header name (included from t:1)");
	g_clear_error(&error);

	/* A FIFO named like a template is refused, not waited on. */
	g_autofree char *fifo = g_build_filename(e.user_dir, "fifo", NULL);
	g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
	g_assert_null(render(&e, "[% INCLUDE fifo %]", &error));
	g_assert_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_IO);
	g_assert_true(g_str_has_suffix(error->message, "/fifo is not a regular file"));
	g_clear_error(&error);

	/* A directory in the user's dir is not "missing": it is reported. */
	g_autofree char *dir = g_build_filename(e.user_dir, "signature", NULL);
	g_assert_cmpint(mkdir(dir, 0700), ==, 0);
	g_assert_null(render(&e, "[% INCLUDE signature %]", &error));
	g_assert_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_IO);
	g_clear_error(&error);

	/* Too big. */
	g_autofree char *big = g_strnfill(SM_TEMPLATE_MAX_FILE + 1, 'x');
	put(&e, "big", big);
	g_assert_null(render(&e, "[% INCLUDE big %]", &error));
	g_assert_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_LIMIT);
	g_clear_error(&error);
	g_assert_null(sm_template_render_string(&e.src, "t", big, strlen(big), &error));
	g_assert_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_LIMIT);
	env_clear(&e);
}

/* A symlink in the user's directory is refused (the directory may be shared,
 * and the reply goes to whoever sent the mail), dangling or not, included or
 * named by the rule; one in the stock directory is followed. */
static void test_include_symlink(void)
{
	Env e;
	env_init(&e);
	g_autofree char *elsewhere = g_dir_make_tmp("test-templates-outside-XXXXXX", NULL);
	g_autofree char *secret = g_build_filename(elsewhere, "secret", NULL);
	g_assert_true(g_file_set_contents(secret, "SECRET", -1, NULL));
	g_autofree char *linked = g_build_filename(e.user_dir, "linked", NULL);
	g_autofree char *gone = g_build_filename(e.user_dir, "signature", NULL);
	g_assert_cmpint(symlink(secret, linked), ==, 0);
	g_assert_cmpint(symlink("/nonexistent/x", gone), ==, 0);

	g_autoptr(GError) error = NULL;
	g_assert_null(render(&e, "[% INCLUDE linked %]", &error));
	g_assert_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_IO);
	g_assert_true(g_str_has_suffix(error->message, "/linked is a symbolic link; refusing to follow it"));
	g_clear_error(&error);
	g_assert_null(sm_template_render(&e.src, "linked", &error));
	g_assert_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_IO);
	g_clear_error(&error);
	/* Dangling, it does not fall through to the stock template either. */
	g_assert_null(render(&e, "[% INCLUDE signature %]", &error));
	g_assert_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_IO);
	g_clear_error(&error);

	g_autofree char *stock = g_build_filename(elsewhere, "stock", NULL);
	g_assert_cmpint(mkdir(stock, 0700), ==, 0);
	g_autofree char *st = g_build_filename(stock, "st", NULL);
	g_assert_cmpint(symlink(secret, st), ==, 0);
	e.src.stock_dir = stock;
	g_autoptr(SmTemplateResult) r = render(&e, "[% INCLUDE st %]", &error);
	g_assert_no_error(error);
	g_assert_nonnull(r);
	rm_rf(elsewhere);
	env_clear(&e);
}

static void test_include_traversal(void)
{
	static const char *const names[] = {
		"../../etc/passwd", "/etc/passwd", "..", ".", "a/b", ".hidden", "a..b",
		"x\\y", "sp ace", "caf\xc3\xa9",
	};
	Env e;
	env_init(&e);
	/* Something that would be found if the name were followed. */
	g_autofree char *sub = g_build_filename(e.user_dir, "a", NULL);
	g_assert_cmpint(mkdir(sub, 0700), ==, 0);
	put(&e, "a/b", "reached");
	put(&e, ".hidden", "reached");
	for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
		g_assert_false(sm_template_name_valid(names[i]));
		g_autofree char *bare = g_strconcat("[% INCLUDE ", names[i], " %]", NULL);
		g_autofree char *quoted = g_strconcat("[% INCLUDE '", names[i], "' %]", NULL);
		g_autofree char *interp = g_strconcat("[% n = '", names[i], "' %][% INCLUDE \"$n\" %]", NULL);
		const char *texts[] = { bare, quoted, interp };
		for (gsize j = 0; j < G_N_ELEMENTS(texts); j++) {
			g_autoptr(GError) error = NULL;
			if (j == 0 && strchr(names[i], ' '))
				continue; /* a bare word ends at the space */
			g_assert_null(render(&e, texts[j], &error));
			g_assert_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_NAME);
			g_assert_true(g_str_has_prefix(error->message, "t:1: INCLUDE "));
			g_assert_nonnull(strstr(error->message, "not a template name"));
		}
	}
	g_autoptr(GError) error = NULL;
	g_assert_null(render(&e, "[% INCLUDE ../../etc/passwd %]", &error));
	g_assert_cmpstr(error->message, ==,
			"t:1: INCLUDE ../../etc/passwd: not a template name (only letters, "
			"digits, '_', '-' and '.' inside; no '..')");
	g_clear_error(&error);
	/* Control characters are shown escaped. */
	g_assert_null(render(&e, "[% INCLUDE \"a\\nb\" %]", &error));
	g_assert_true(g_str_has_prefix(error->message, "t:1: INCLUDE a\\nb: "));
	g_clear_error(&error);

	/* The top-level name is checked the same way. */
	g_assert_null(sm_template_render(&e.src, "../unknown-address", &error));
	g_assert_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_NAME);
	g_clear_error(&error);
	g_assert_null(sm_template_render(&e.src, NULL, &error));
	g_assert_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_NAME);
	g_clear_error(&error);

	g_autofree char *longest = g_strnfill(255, 'a'), *too_long = g_strnfill(256, 'a');
	g_assert_true(sm_template_name_valid(longest));
	g_assert_false(sm_template_name_valid(too_long));
	g_assert_true(sm_template_name_valid("unknown-address"));
	g_assert_true(sm_template_name_valid("v2.en_GB"));
	g_assert_false(sm_template_name_valid(""));
	env_clear(&e);
}

static void test_include_cycle(void)
{
	Env e;
	env_init(&e);
	put(&e, "self", "[% INCLUDE self %]");
	put(&e, "ping", "\n[% INCLUDE pong %]");
	put(&e, "pong", "[% IF to %][% INCLUDE ping %][% END %]");
	g_autoptr(GError) error = NULL;
	g_assert_null(sm_template_render(&e.src, "self", &error));
	g_assert_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_LIMIT);
	g_assert_cmpstr(error->message, ==, "self:1: INCLUDE self: include cycle (self -> self)");
	g_clear_error(&error);

	g_assert_null(render(&e, "[% INCLUDE ping %]", &error));
	g_assert_cmpstr(error->message, ==,
			"pong:1: INCLUDE ping: include cycle (ping -> pong -> ping) "
			"(included from ping:2) (included from t:1)");
	g_clear_error(&error);

	/* The same template twice in a row is no cycle; a string's label is no file. */
	g_autoptr(SmTemplateResult) r = sm_template_render_string(&e.src, "pong",
		"[% INCLUDE signature %][% INCLUDE signature %]", 46, &error);
	g_assert_no_error(error);
	g_assert_nonnull(r);
	env_clear(&e);
}

static void test_include_depth(void)
{
	Env e;
	env_init(&e);
	/* d0 -> d1 -> ... -> d10: ten nested includes are allowed, eleven are not. */
	for (int i = 0; i <= 11; i++) {
		g_autofree char *name = g_strdup_printf("d%d", i);
		g_autofree char *text = g_strdup_printf("%d[%% INCLUDE d%d %%]", i, i + 1);
		put(&e, name, i == 10 ? "10" : text);
	}
	g_autoptr(GError) error = NULL;
	g_autoptr(SmTemplateResult) r = sm_template_render(&e.src, "d0", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(r->body, ==, "012345678910");

	put(&e, "d10", "10[% INCLUDE d11 %]");
	g_assert_null(sm_template_render(&e.src, "d0", &error));
	g_assert_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_LIMIT);
	g_assert_true(g_str_has_prefix(error->message,
				       "d10:1: INCLUDE d11: includes nested deeper than 10 "
				       "(included from d9:1)"));
	env_clear(&e);
}

/* ---- bounds ------------------------------------------------------------ */

static void test_limits(void)
{
	Env e;
	env_init(&e);
	g_autoptr(GError) error = NULL;

	/* Doubling a string: each value is bounded. */
	g_autoptr(GString) grow = g_string_new("[% a = 'xxxxxxxxxxxxxxxx' %]\n");
	for (int i = 0; i < 30; i++)
		g_string_append(grow, "[% a = \"$a$a\" %]\n");
	g_assert_null(render(&e, grow->str, &error));
	g_assert_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_LIMIT);
	g_assert_cmpstr(error->message, ==, "t:18: string longer than 1048576 bytes");
	g_clear_error(&error);

	/* Output: 512 KiB twice is the bound; one byte more is too much. */
	g_autoptr(GString) half = g_string_new("[% a = 'xxxxxxxxxxxxxxxx' %]");
	for (int i = 0; i < 15; i++)
		g_string_append(half, "[% a = \"$a$a\" %]");
	g_autofree char *over = g_strconcat(half->str, "[% a %]\n[% a %]", NULL);
	g_assert_null(render(&e, over, &error));
	g_assert_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_LIMIT);
	g_assert_cmpstr(error->message, ==, "t:2: output larger than 1048576 bytes");
	g_clear_error(&error);
	g_autofree char *at = g_strconcat(half->str, "[% a %][% a %]", NULL);
	g_autoptr(SmTemplateResult) r = render(&e, at, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(r->body_len, ==, SM_TEMPLATE_MAX_OUTPUT);

	/* Work: building big values that are never output still counts. */
	g_autoptr(GString) work = g_string_new(half->str);
	for (int i = 0; i < 20; i++)
		g_string_append(work, "[% b = \"$a\" %]");
	g_assert_null(render(&e, work->str, &error));
	g_assert_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_LIMIT);
	g_assert_nonnull(strstr(error->message, "bytes of work"));
	g_clear_error(&error);

	/* Steps: 100 x 100 x 100 includes of a template that prints nothing. */
	g_autoptr(GString) hundred = g_string_new(NULL);
	for (int i = 0; i < 100; i++)
		g_string_append(hundred, "[% INCLUDE s2 %]");
	put(&e, "s1", hundred->str);
	g_autofree char *h2 = g_strdup(hundred->str);
	for (char *p = h2; (p = strstr(p, "s2")); p++)
		p[1] = '3';
	put(&e, "s2", h2);
	for (char *p = h2; (p = strstr(p, "s3")); p++)
		p[1] = '4';
	put(&e, "s3", h2);
	put(&e, "s4", "[% x = 1; y = 2 %]");
	g_assert_null(render(&e, "[% INCLUDE s1 %]", &error));
	g_assert_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_LIMIT);
	g_assert_nonnull(strstr(error->message, "more than 100000 steps"));
	g_clear_error(&error);

	env_clear(&e);
}

/* ---- stock templates ---------------------------------------------------- */

/* Headers as "Name: value" lines, an empty line, then the body. */
static char *golden_text(const SmTemplateResult *r)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < r->headers->len; i++) {
		const SmTemplateHeader *h = r->headers->pdata[i];
		g_string_append_printf(s, "%s: %s\n", h->name, h->value);
	}
	g_string_append_c(s, '\n');
	g_string_append_len(s, r->body, (gssize)r->body_len);
	return g_string_free(s, FALSE);
}

static void check_golden(const SmTemplateResult *r, const char *file)
{
	g_autofree char *got = golden_text(r);
	g_autofree char *path = g_build_filename(SM_TEST_DATA, "templates", file, NULL);
	if (g_getenv("SM_REGENERATE_GOLDEN"))
		g_assert_true(g_file_set_contents(path, got, -1, NULL));
	g_autofree char *want = NULL;
	g_autoptr(GError) error = NULL;
	g_assert_true(g_file_get_contents(path, &want, NULL, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(got, ==, want);
}

static void test_stock(void)
{
	static const char *const stock[] = {
		"unknown-address", "information", "vacation", "normal_header", "signature",
	};
	Env e;
	env_init(&e);
	for (gsize i = 0; i < G_N_ELEMENTS(stock); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(SmTemplateResult) r = sm_template_render(&e.src, stock[i], &error);
		g_assert_no_error(error);
		g_autofree char *file = g_strconcat(stock[i], ".out", NULL);
		check_golden(r, file);
		g_assert_true(g_utf8_validate(r->body, (gssize)r->body_len, NULL));
	}
	env_clear(&e);
}

static void test_stock_no_subject(void)
{
	static const char *const stock[] = { "unknown-address", "information", "vacation" };
	Env e;
	env_init(&e);
	g_hash_table_remove(e.vars, "subject");
	for (gsize i = 0; i < G_N_ELEMENTS(stock); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(SmTemplateResult) r = sm_template_render(&e.src, stock[i], &error);
		g_assert_no_error(error);
		g_autofree char *file = g_strconcat(stock[i], "-no-subject.out", NULL);
		check_golden(r, file);
	}
	env_clear(&e);
}

static void test_user_overrides_stock(void)
{
	Env e;
	env_init(&e);
	put(&e, "signature", "-- \nFred, in person[%-# -%]\n");
	g_autoptr(GError) error = NULL;
	g_autoptr(SmTemplateResult) r = sm_template_render(&e.src, "unknown-address", &error);
	g_assert_no_error(error);
	g_assert_true(g_str_has_prefix(r->body, "Hello,\n\nWhy did you send a message to "
					       "nobody@example.com?\n"));
	g_assert_true(g_str_has_suffix(r->body, "person.\n-- \nFred, in person\n"));

	put(&e, "unknown-address", "[% head.Subject = 'mine' %]mine");
	g_autoptr(SmTemplateResult) r2 = sm_template_render(&e.src, "unknown-address", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(r2->body, ==, "mine");
	g_assert_cmpstr(sm_template_result_header(r2, "Subject"), ==, "mine");

	/* No user directory, or a missing one: stock only. */
	e.src.user_dir = NULL;
	g_autoptr(SmTemplateResult) r3 = sm_template_render(&e.src, "unknown-address", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(sm_template_result_header(r3, "Subject"), ==,
			"Your recent message to nobody@example.com");
	e.src.user_dir = "/nonexistent/.sortmail/templates";
	g_autoptr(SmTemplateResult) r4 = sm_template_render(&e.src, "unknown-address", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(r4->body, ==, r3->body);
	env_clear(&e);
}

/* The examples of sortmail-templates(5) do what the page says. */
static void test_doc_examples(void)
{
	check("[% IF subject -%]\nAbout: [% subject %]\n[% END -%]\n", "About: Meeting on Tuesday\n");
	check("[% IF nothing -%]\nAbout: [% nothing %]\n[% END -%]\n", "");
	check("[% subject or '(no subject)' %]|[% nothing or '(no subject)' %]",
	      "Meeting on Tuesday|(no subject)");
	check("[% IF to; 'x'; ELSE; 'y'; END %]", "x");

	Env e;
	env_init(&e);
	put(&e, "vacation",
	    "[% head.Subject = \"Away until 12 May (was: ${subject})\" -%]\n"
	    "[% head.From = 'Fred Bloggs' -%]\n"
	    "Hello,\n"
	    "\n"
	    "[% IF to == 'fred@work.example' -%]\n"
	    "For anything urgent, please call Jane on 555 0100.\n"
	    "[% ELSE -%]\n"
	    "I am away until 12 May and will answer your message then.\n"
	    "[% END -%]\n"
	    "[% INCLUDE signature %]\n");
	g_autoptr(GError) error = NULL;
	g_autoptr(SmTemplateResult) r = sm_template_render(&e.src, "vacation", &error);
	g_assert_no_error(error);
	g_assert_true(g_str_has_prefix(r->body, "Hello,\n\nI am away until 12 May and will answer "
					       "your message then.\n\n-- \nThis reply"));
	g_assert_cmpstr(sm_template_result_header(r, "Subject"), ==,
			"Away until 12 May (was: Meeting on Tuesday)");
	g_assert_cmpstr(sm_template_result_header(r, "From"), ==, "Fred Bloggs");
	env_clear(&e);
}

static void test_vars_table(void)
{
	g_autoptr(GHashTable) v = sm_template_vars_new();
	sm_template_vars_set(v, "msg.header.Content-Type", "text/plain");
	sm_template_vars_set(v, "Subject", "case matters here");
	sm_template_vars_set(v, "nul", NULL);
	g_autofree char *a = sm_template_vars_lookup("msg.header.content-TYPE", v);
	g_autofree char *b = sm_template_vars_lookup("subject", v);
	g_autofree char *c = sm_template_vars_lookup("Msg.header.Content-Type", v);
	g_autofree char *d = sm_template_vars_lookup("nul", v);
	g_assert_cmpstr(a, ==, "text/plain");
	g_assert_null(b);
	g_assert_null(c);
	g_assert_cmpstr(d, ==, "");
	sm_template_vars_set(v, "msg.header.CONTENT-TYPE", "text/html");
	g_assert_cmpuint(g_hash_table_size(v), ==, 3);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/templates/variables", test_variables);
	g_test_add_func("/templates/no-lookup", test_no_lookup);
	g_test_add_func("/templates/strings", test_strings);
	g_test_add_func("/templates/assign", test_assign);
	g_test_add_func("/templates/if", test_if);
	g_test_add_func("/templates/comments", test_comments);
	g_test_add_func("/templates/chomp", test_chomp);
	g_test_add_func("/templates/errors", test_errors);
	g_test_add_func("/templates/nesting-bound", test_nesting_bound);
	g_test_add_func("/templates/include", test_include);
	g_test_add_func("/templates/include-errors", test_include_errors);
	g_test_add_func("/templates/include-traversal", test_include_traversal);
	g_test_add_func("/templates/include-symlink", test_include_symlink);
	g_test_add_func("/templates/include-cycle", test_include_cycle);
	g_test_add_func("/templates/include-depth", test_include_depth);
	g_test_add_func("/templates/limits", test_limits);
	g_test_add_func("/templates/stock", test_stock);
	g_test_add_func("/templates/stock-no-subject", test_stock_no_subject);
	g_test_add_func("/templates/user-overrides-stock", test_user_overrides_stock);
	g_test_add_func("/templates/doc-examples", test_doc_examples);
	g_test_add_func("/templates/vars-table", test_vars_table);
	return g_test_run();
}
