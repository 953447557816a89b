/* test-mbox-read.c: the mbox reader of `sortmail replay` (lda/mbox-read.c):
 * which lines start a message, how mboxo and mboxrd quoting is undone, the
 * separator lines, CRLF files, a truncated last message. */
#include "config.h"
#include "lda/mbox-read.h"

#include <string.h>

#define FROM1 "From alice@example.org Mon Jan  1 10:00:00 2024\n"
#define FROM2 "From bob@example.org Tue Jan  2 11:00:00 2024\n"

/* All messages of @mbox under @f, as strings. */
static GPtrArray *split(const char *mbox, SmMboxFormat f, GArray *offsets, guint *truncated)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	SmMboxReader r;
	SmMboxMessage m;
	sm_mbox_reader_init(&r, mbox, strlen(mbox), f);
	if (truncated)
		*truncated = 0;
	while (sm_mbox_next(&r, &m)) {
		g_ptr_array_add(out, g_strndup(m.data, m.len));
		if (offsets)
			g_array_append_val(offsets, m.offset);
		if (truncated && m.truncated)
			(*truncated)++;
		sm_mbox_message_clear(&m);
	}
	return out;
}

static void test_from_lines(void)
{
	static const char *const yes[] = {
		"From alice@example.org Mon Jan  1 10:00:00 2024\n",
		"From alice@example.org Mon Jan 1 10:00 2024",
		"From MAILER-DAEMON Fri Mar  8 23:59:59 2024\r\n",
		"From - Sat Feb  3 04:05:06 2024\n",                 /* Thunderbird */
		"From bob@example.org  Wed Dec 31 23:59:59 1969 +0000\n",
		"From \"john doe\"@example.org Sun Jun 30 12:00:00 2024\n",
		"From bob Thu Jul  4 09:00:00 EDT 2024\n",
	};
	static const char *const no[] = {
		"From here on, we meet at 10:30 in 2024\n",
		"From: alice@example.org\n",
		"From alice@example.org\n",
		"From alice@example.org Mon, 1 Jan 2024 10:00:00 +0000\n",
		"From alice@example.org Mon Jan  1 2024\n",
		">From alice@example.org Mon Jan  1 10:00:00 2024\n",
		"from alice@example.org Mon Jan  1 10:00:00 2024\n",
		"From the desk of Mon Jan 1\n",
		"From ",
	};
	for (guint i = 0; i < G_N_ELEMENTS(yes); i++)
		g_assert_true(sm_mbox_is_from_line(yes[i], strlen(yes[i])));
	for (guint i = 0; i < G_N_ELEMENTS(no); i++) {
		if (sm_mbox_is_from_line(no[i], strlen(no[i])))
			g_error("taken for a From_ line: %s", no[i]);
	}
}

static const char quoted_mbox[] =
	FROM1
	"Subject: one\n"
	"\n"
	">From the first quoted line\n"
	">>From a line that had one quote\n"
	">>>From two quotes\n"
	"> From not quoting (a space)\n"
	">Fromage is not a From line\n"
	"\n"
	FROM2
	"Subject: two\n"
	"\n"
	"body two\n"
	"\n";

static void test_mboxrd(void)
{
	g_autoptr(GArray) offsets = g_array_new(FALSE, FALSE, sizeof(gsize));
	guint truncated;
	g_autoptr(GPtrArray) m = split(quoted_mbox, SM_MBOX_MBOXRD, offsets, &truncated);
	g_assert_cmpuint(m->len, ==, 2);
	g_assert_cmpstr(m->pdata[0], ==,
	                "Subject: one\n\n"
	                "From the first quoted line\n"
	                ">From a line that had one quote\n"
	                ">>From two quotes\n"
	                "> From not quoting (a space)\n"
	                ">Fromage is not a From line\n");
	g_assert_cmpstr(m->pdata[1], ==, "Subject: two\n\nbody two\n");
	g_assert_cmpuint(g_array_index(offsets, gsize, 0), ==, 0);
	g_assert_cmpuint(g_array_index(offsets, gsize, 1), ==, strstr(quoted_mbox, FROM2) - quoted_mbox);
	g_assert_cmpuint(truncated, ==, 0);
}

static void test_mboxo(void)
{
	g_autoptr(GPtrArray) m = split(quoted_mbox, SM_MBOX_MBOXO, NULL, NULL);
	g_assert_cmpuint(m->len, ==, 2);
	g_assert_cmpstr(m->pdata[0], ==,
	                "Subject: one\n\n"
	                "From the first quoted line\n"
	                ">>From a line that had one quote\n"
	                ">>>From two quotes\n"
	                "> From not quoting (a space)\n"
	                ">Fromage is not a From line\n");
}

/* A writer that did not quote: "From " in a body after an empty line, with
 * no date after it, stays in the body. */
static void test_unquoted_body_from(void)
{
	const char *mbox = FROM1 "Subject: a\n\nfirst paragraph\n\nFrom here on, all is body.\n"
	                   "From time to time too\n\n" FROM2 "Subject: b\n\nb\n\n";
	g_autoptr(GPtrArray) m = split(mbox, SM_MBOX_MBOXRD, NULL, NULL);
	g_assert_cmpuint(m->len, ==, 2);
	g_assert_cmpstr(m->pdata[0], ==, "Subject: a\n\nfirst paragraph\n\nFrom here on, all is "
	                "body.\nFrom time to time too\n");
}

static void test_crlf(void)
{
	const char *mbox = "From alice@example.org Mon Jan  1 10:00:00 2024\r\n"
	                   "Subject: a\r\n\r\n>From quoted\r\n>>From twice\r\nend\r\n\r\n"
	                   "From bob@example.org Tue Jan  2 11:00:00 2024\r\n"
	                   "Subject: b\r\n\r\nb\r\n\r\n";
	guint truncated;
	g_autoptr(GPtrArray) m = split(mbox, SM_MBOX_MBOXRD, NULL, &truncated);
	g_assert_cmpuint(m->len, ==, 2);
	g_assert_cmpstr(m->pdata[0], ==, "Subject: a\r\n\r\nFrom quoted\r\n>From twice\r\nend\r\n");
	g_assert_cmpstr(m->pdata[1], ==, "Subject: b\r\n\r\nb\r\n");
	g_assert_cmpuint(truncated, ==, 0);
}

static void test_truncated(void)
{
	guint truncated;
	/* cut inside a line */
	g_autoptr(GPtrArray) a = split(FROM1 "Subject: a\n\na\n\n" FROM2 "Subject: b\n\nhalf a li",
	                               SM_MBOX_MBOXRD, NULL, &truncated);
	g_assert_cmpuint(a->len, ==, 2);
	g_assert_cmpstr(a->pdata[0], ==, "Subject: a\n\na\n");
	g_assert_cmpstr(a->pdata[1], ==, "Subject: b\n\nhalf a li");
	g_assert_cmpuint(truncated, ==, 1);
	/* cut at a line's end, inside the header */
	g_autoptr(GPtrArray) b = split(FROM1 "Subject: a\n\na\n\n" FROM2 "Subject: b\n",
	                               SM_MBOX_MBOXRD, NULL, &truncated);
	g_assert_cmpuint(b->len, ==, 2);
	g_assert_cmpstr(b->pdata[1], ==, "Subject: b\n");
	g_assert_cmpuint(truncated, ==, 1);
}

static void test_odd_shapes(void)
{
	/* a message without headers; no empty line before the next From_ line */
	g_autoptr(GPtrArray) a = split(FROM1 "just text, no header\n" FROM2 "Subject: b\n\nb\n\n",
	                               SM_MBOX_MBOXRD, NULL, NULL);
	g_assert_cmpuint(a->len, ==, 2);
	g_assert_cmpstr(a->pdata[0], ==, "just text, no header\n");
	/* nothing at all; a From_ line and nothing else */
	g_autoptr(GPtrArray) b = split("", SM_MBOX_MBOXRD, NULL, NULL);
	g_assert_cmpuint(b->len, ==, 0);
	g_autoptr(GPtrArray) c = split(FROM1, SM_MBOX_MBOXRD, NULL, NULL);
	g_assert_cmpuint(c->len, ==, 1);
	g_assert_cmpstr(c->pdata[0], ==, "");
	/* two From_ lines in a row: an empty message, then the next */
	g_autoptr(GPtrArray) d = split(FROM1 FROM2 "Subject: b\n\nb\n\n", SM_MBOX_MBOXRD, NULL,
	                               NULL);
	g_assert_cmpuint(d->len, ==, 2);
	g_assert_cmpstr(d->pdata[0], ==, "");
	g_assert_cmpstr(d->pdata[1], ==, "Subject: b\n\nb\n");
	/* no From_ line at the start: all one message up to the first one */
	g_autoptr(GPtrArray) e = split("Subject: x\n\nx\n\n" FROM2 "Subject: b\n\nb\n\n",
	                               SM_MBOX_MBOXRD, NULL, NULL);
	g_assert_cmpuint(e->len, ==, 2);
	g_assert_cmpstr(e->pdata[0], ==, "Subject: x\n\nx\n");
}

static void test_sender(void)
{
	SmMboxReader r;
	SmMboxMessage m;
	const char *mbox = FROM1 "Subject: a\n\na\n\n"
	                   "From \"john doe\"@example.org Sun Jun 30 12:00:00 2024\nS: b\n\nb\n\n";
	sm_mbox_reader_init(&r, mbox, strlen(mbox), SM_MBOX_MBOXRD);
	g_assert_true(sm_mbox_next(&r, &m));
	g_assert_cmpstr(m.from_sender, ==, "alice@example.org");
	sm_mbox_message_clear(&m);
	g_assert_true(sm_mbox_next(&r, &m));
	g_assert_cmpstr(m.from_sender, ==, "\"john doe\"@example.org");
	sm_mbox_message_clear(&m);
	g_assert_false(sm_mbox_next(&r, &m));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/mbox-read/from-lines", test_from_lines);
	g_test_add_func("/mbox-read/mboxrd", test_mboxrd);
	g_test_add_func("/mbox-read/mboxo", test_mboxo);
	g_test_add_func("/mbox-read/unquoted-body-from", test_unquoted_body_from);
	g_test_add_func("/mbox-read/crlf", test_crlf);
	g_test_add_func("/mbox-read/truncated", test_truncated);
	g_test_add_func("/mbox-read/odd-shapes", test_odd_shapes);
	g_test_add_func("/mbox-read/sender", test_sender);
	return g_test_run();
}
