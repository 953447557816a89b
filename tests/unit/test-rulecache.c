/* test-rulecache.c: the scorer's rule cache (score/rulecache.h), through the
 * scorer's face (SmScorerOptions.rule_cache): a second scorer uses the stored
 * rules (shown by a rule file edited behind the cache's back, which only a
 * scorer that did not read it keeps ignoring); an edited rule file or an
 * included one makes the cache stale; a damaged, truncated, foreign or
 * empty cache file, or a damaged stored regex, gives the verdict of the
 * rule files, and the cache is written again; a directory that cannot take
 * the cache changes nothing but speed; a killed writer's old temporary file
 * is cleaned up. The module comes from
 * $SORTMAIL_SCORER, the stock rules from $SORTMAIL_DATADIR and the fixtures
 * from $top_srcdir/tests/data/score. */
#include "config.h"
#include "score/score.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *tmpdir;

/* Both rules hit MSG: a verdict says which files a scorer read. */
#define RULES_A \
	"body  T_WORD    /cheap pills/i\n" \
	"score T_WORD    2.5\n" \
	"header T_SUBJ   Subject =~ /offer/\n" \
	"score T_SUBJ    1\n" \
	"meta  T_BOTH    T_WORD && T_SUBJ\n" \
	"score T_BOTH    3\n" \
	"include extra.cf\n"
/* The same size as RULES_A, T_WORD changed. */
#define RULES_B \
	"body  T_WORD    /cheap pilxs/i\n" \
	"score T_WORD    2.5\n" \
	"header T_SUBJ   Subject =~ /offer/\n" \
	"score T_SUBJ    1\n" \
	"meta  T_BOTH    T_WORD && T_SUBJ\n" \
	"score T_BOTH    3\n" \
	"include extra.cf\n"
#define EXTRA_A "uri T_LINK /example\\.net/\nscore T_LINK 0.5\n"
#define EXTRA_B "uri T_LINK /example\\.org/\nscore T_LINK 0.5\n"
#define MSG \
	"From: a@example.com\nTo: b@example.com\nSubject: an offer\n" \
	"Message-ID: <1@example.com>\n\nCheap pills at http://example.net/x\n"

static char *in_tmp(const char *name)
{
	return g_build_filename(tmpdir, name, NULL);
}

static void put(const char *name, const char *text)
{
	g_autofree char *path = in_tmp(name);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

/* Rewrites @name in place with @text (the same size) and gives it back its
 * size, inode and mtime: a change only a reader of the contents can see. */
static void put_behind_back(const char *name, const char *text)
{
	g_autofree char *path = in_tmp(name);
	struct stat st;
	g_assert_cmpint(stat(path, &st), ==, 0);
	g_assert_cmpint((gssize)strlen(text), ==, (gssize)st.st_size);
	int fd = open(path, O_WRONLY);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, text, strlen(text)), ==, (gssize)strlen(text));
	close(fd);
	struct timespec times[2] = { st.st_atim, st.st_mtim };
	g_assert_cmpint(utimensat(AT_FDCWD, path, times, 0), ==, 0);
}

/* The rules the scorer with rule cache @cache (NULL: none) finds in MSG
 * with rules.cf, as "A,B,C", and the score. */
static char *verdict(const char *cache, double *score)
{
	g_autofree char *rules = in_tmp("rules.cf");
	const char *files[] = { rules, NULL };
	SmScorerOptions o = { .rule_files = files, .required_score = 5.0, .rule_cache = cache };
	SmScorer *s = sm_scorer_new(&o);
	SmMessage m;
	SmVerdict v;
	g_autoptr(GError) err = NULL;
	sm_message_index(&m, MSG, strlen(MSG));
	sm_verdict_init(&v);
	g_assert_true(sm_scorer_score(s, &m, &v, &err));
	g_assert_no_error(err);
	g_ptr_array_add(v.rules, NULL);
	char *names = g_strjoinv(",", (char **)v.rules->pdata);
	if (score)
		*score = v.score;
	sm_verdict_clear(&v);
	sm_message_clear(&m);
	sm_scorer_free(s);
	return names;
}

static void expect_rules(const char *cache, const char *want)
{
	g_autofree char *got = verdict(cache, NULL);
	g_assert_cmpstr(got, ==, want);
}

static ino_t inode_of(const char *path)
{
	struct stat st;
	g_assert_cmpint(stat(path, &st), ==, 0);
	return st.st_ino;
}

static void setup(void)
{
	put("rules.cf", RULES_A);
	put("extra.cf", EXTRA_A);
}

/* A temporary file a killed writer left is removed by the next writer once
 * it is old; a young one (maybe still being written) is not. */
static void test_stale_tmp(void)
{
	setup();
	g_autofree char *cache = in_tmp("tmp.cache");
	g_autofree char *old = in_tmp("tmp.cache.tmp.OLD123");
	g_autofree char *young = in_tmp("tmp.cache.tmp.NEW123");
	g_autofree char *other = in_tmp("other.tmp.OLD123");
	const char *all[] = { old, young, other };
	for (guint i = 0; i < G_N_ELEMENTS(all); i++)
		g_assert_true(g_file_set_contents(all[i], "partial", -1, NULL));
	struct timespec hour_ago[2] = { { time(NULL) - 3600, 0 }, { time(NULL) - 3600, 0 } };
	g_assert_cmpint(utimensat(AT_FDCWD, old, hour_ago, 0), ==, 0);
	g_assert_cmpint(utimensat(AT_FDCWD, other, hour_ago, 0), ==, 0);
	expect_rules(cache, "T_BOTH,T_LINK,T_SUBJ,T_WORD");
	g_assert_true(g_file_test(cache, G_FILE_TEST_IS_REGULAR));
	g_assert_false(g_file_test(old, G_FILE_TEST_EXISTS));
	g_assert_true(g_file_test(young, G_FILE_TEST_EXISTS));
	g_assert_true(g_file_test(other, G_FILE_TEST_EXISTS));
}

static void test_hit(void)
{
	setup();
	g_autofree char *cache = in_tmp("hit.cache");
	expect_rules(cache, "T_BOTH,T_LINK,T_SUBJ,T_WORD");
	struct stat st;
	g_assert_cmpint(stat(cache, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	g_assert_cmpuint(st.st_uid, ==, geteuid());
	/* A second scorer takes the stored rules: it does not see the edit. */
	put_behind_back("rules.cf", RULES_B);
	ino_t before = inode_of(cache);
	expect_rules(cache, "T_BOTH,T_LINK,T_SUBJ,T_WORD");
	g_assert_cmpuint(inode_of(cache), ==, before); /* not rewritten */
	/* Without the cache, the edit shows. */
	expect_rules(NULL, "T_LINK,T_SUBJ");
}

static void test_stale(void)
{
	setup();
	g_autofree char *cache = in_tmp("stale.cache");
	expect_rules(cache, "T_BOTH,T_LINK,T_SUBJ,T_WORD");
	ino_t before = inode_of(cache);
	/* An edit as editors make them (new mtime) makes it stale. */
	g_usleep(20000);
	put("rules.cf", RULES_B);
	expect_rules(cache, "T_LINK,T_SUBJ");
	g_assert_cmpuint(inode_of(cache), !=, before); /* rewritten */
	expect_rules(cache, "T_LINK,T_SUBJ");
	/* So does one of an included file, which the fingerprint alone misses. */
	g_usleep(20000);
	put("extra.cf", EXTRA_B);
	expect_rules(cache, "T_SUBJ");
}

/* Damages the cache file the way @how says, then checks that the verdict is
 * that of the rule files (RULES_B: the cache was made from RULES_A and the
 * files edited behind its back, so a damaged cache that was used would show
 * T_WORD) and that the cache was written again. */
static void damaged(const char *how)
{
	setup();
	g_autofree char *cache = in_tmp("damaged.cache");
	g_unlink(cache);
	expect_rules(cache, "T_BOTH,T_LINK,T_SUBJ,T_WORD");
	put_behind_back("rules.cf", RULES_B);
	g_autofree char *data = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(cache, &data, &len, NULL));
	g_assert_cmpuint(len, >, 64);
	if (strcmp(how, "byte") == 0) {
		guint64 table_len; /* after the 8-byte magic; the table follows at 24 */
		memcpy(&table_len, data + 8, 8);
		g_assert_cmpuint(24 + table_len, <, len);
		data[24 + table_len / 2] ^= 0x20;
	} else if (strcmp(how, "truncated") == 0) {
		len = len / 2;
	} else if (strcmp(how, "empty") == 0) {
		len = 0;
	} else if (strcmp(how, "garbage") == 0) {
		memset(data, 'x', len);
	} else if (strcmp(how, "header") == 0) {
		data[9] ^= 0x01; /* the table's length */
	}
	/* g_file_set_contents() replaces it: a new file, still ours, 0600. */
	g_assert_true(g_file_set_contents_full(cache, data, len, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
	                                       NULL));
	expect_rules(cache, "T_LINK,T_SUBJ");
	/* Written again from the files: a third scorer takes it. */
	put_behind_back("rules.cf", RULES_A);
	expect_rules(cache, "T_LINK,T_SUBJ");
}

static void test_corrupt(void)
{
	damaged("byte");
	damaged("truncated");
	damaged("empty");
	damaged("garbage");
	damaged("header");
}

/* A stored regex that fails its own checksum is compiled from its pattern:
 * the right verdict, whatever else the file holds. */
static void test_corrupt_regex(void)
{
	setup();
	g_autofree char *cache = in_tmp("regex.cache");
	expect_rules(cache, "T_BOTH,T_LINK,T_SUBJ,T_WORD");
	g_autofree char *data = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(cache, &data, &len, NULL));
	/* The serialized regexes are last; PCRE2 tags each with its magic number
	 * (0x50435245, "PCRE", in this machine's byte order). */
	const guint32 magic = 0x50435245;
	char *last = NULL;
	for (char *p = data; (p = memmem(p, len - (gsize)(p - data), &magic, 4)); p++)
		last = p;
	g_assert_nonnull(last);
	g_assert_cmpuint((gsize)(last - data), <, len - 32);
	for (gsize i = (gsize)(last - data) + 24; i < len; i++)
		data[i] = (char)0xff;
	g_assert_true(g_file_set_contents_full(cache, data, len, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
	                                       NULL));
	expect_rules(cache, "T_BOTH,T_LINK,T_SUBJ,T_WORD");
}

/* Someone else's file, or one others may write, is not trusted. */
static void test_foreign(void)
{
	setup();
	g_autofree char *cache = in_tmp("foreign.cache");
	expect_rules(cache, "T_BOTH,T_LINK,T_SUBJ,T_WORD");
	put_behind_back("rules.cf", RULES_B);
	g_assert_cmpint(chmod(cache, 0666), ==, 0);
	expect_rules(cache, "T_LINK,T_SUBJ");
	/* That wrote a good one (from RULES_B); behind a symbolic link, it is
	 * not followed. */
	put_behind_back("rules.cf", RULES_A);
	g_autofree char *link = in_tmp("link.cache");
	g_assert_cmpint(symlink(cache, link), ==, 0);
	expect_rules(link, "T_BOTH,T_LINK,T_SUBJ,T_WORD");
	expect_rules(cache, "T_LINK,T_SUBJ");
}

/* Nowhere to write it: scoring is the same, nothing is left behind. */
static void test_unwritable(void)
{
	setup();
	const char *nowhere[] = { "/nonexistent-sortmail-dir/rules.cache",
	                          "/dev/null/rules.cache", NULL };
	for (guint i = 0; nowhere[i]; i++)
		expect_rules(nowhere[i], "T_BOTH,T_LINK,T_SUBJ,T_WORD");
	/* A directory that is not ours (root) or not writable (anyone else). */
	g_autofree char *dir = in_tmp("closed");
	g_assert_cmpint(g_mkdir(dir, 0700), ==, 0);
	if (geteuid() == 0)
		g_assert_cmpint(chown(dir, 65534, 65534), ==, 0);
	else
		g_assert_cmpint(chmod(dir, 0500), ==, 0);
	g_autofree char *cache = g_build_filename(dir, "rules.cache", NULL);
	expect_rules(cache, "T_BOTH,T_LINK,T_SUBJ,T_WORD");
	expect_rules(cache, "T_BOTH,T_LINK,T_SUBJ,T_WORD");
	g_assert_false(g_file_test(cache, G_FILE_TEST_EXISTS));
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	if (d)
		g_assert_null(g_dir_read_name(d)); /* no temporary file either */
	chmod(dir, 0700);
}

/* The stock rules on every fixture: the same rules and score from the files,
 * when the cache is written, and when it is read. */
static void test_same_verdicts(void)
{
	const char *srcdir = g_getenv("top_srcdir");
	g_autofree char *fixtures = g_build_filename(srcdir ? srcdir : ".", "tests", "data",
	                                             "score", NULL);
	g_autofree char *cache = in_tmp("stock.cache");
	g_autoptr(GDir) d = g_dir_open(fixtures, 0, NULL);
	g_assert_nonnull(d);
	guint n = 0;
	for (const char *name; (name = g_dir_read_name(d));) {
		g_autofree char *path = g_build_filename(fixtures, name, NULL);
		g_autofree char *data = NULL;
		gsize len;
		g_assert_true(g_file_get_contents(path, &data, &len, NULL));
		char *got[3] = { NULL, NULL, NULL };
		for (int round = 0; round < 3; round++) {
			/* round 0: no cache; 1: writes it (first file) or reads it; 2: reads */
			SmScorerOptions o = { .required_score = 5.0,
			                      .rule_cache = round ? cache : NULL };
			SmScorer *s = sm_scorer_new(&o);
			SmMessage m;
			SmVerdict v;
			sm_message_index(&m, data, len);
			sm_verdict_init(&v);
			g_assert_true(sm_scorer_score(s, &m, &v, NULL));
			g_ptr_array_add(v.rules, NULL);
			g_autofree char *names = g_strjoinv(",", (char **)v.rules->pdata);
			got[round] = g_strdup_printf("%.3f %s", v.score, names);
			sm_verdict_clear(&v);
			sm_message_clear(&m);
			sm_scorer_free(s);
		}
		g_test_message("%s: %s", name, got[0]);
		g_assert_cmpstr(got[1], ==, got[0]);
		g_assert_cmpstr(got[2], ==, got[0]);
		for (int i = 0; i < 3; i++)
			g_free(got[i]);
		n++;
	}
	g_assert_cmpuint(n, >=, 10);
	g_assert_true(g_file_test(cache, G_FILE_TEST_IS_REGULAR));
}

static void remove_tree(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	for (const char *name; d && (name = g_dir_read_name(d));) {
		g_autofree char *path = g_build_filename(dir, name, NULL);
		if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK))
			remove_tree(path);
		else
			g_unlink(path);
	}
	g_rmdir(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	if (!g_getenv("SORTMAIL_SCORER")) {
		printf("1..0 # SKIP SORTMAIL_SCORER is not set (run through make check)\n");
		return 0;
	}
	tmpdir = g_dir_make_tmp("test-rulecache-XXXXXX", NULL);
	g_assert_nonnull(tmpdir);
	g_test_add_func("/rulecache/hit", test_hit);
	g_test_add_func("/rulecache/stale", test_stale);
	g_test_add_func("/rulecache/corrupt", test_corrupt);
	g_test_add_func("/rulecache/corrupt-regex", test_corrupt_regex);
	g_test_add_func("/rulecache/foreign", test_foreign);
	g_test_add_func("/rulecache/unwritable", test_unwritable);
	g_test_add_func("/rulecache/same-verdicts", test_same_verdicts);
	g_test_add_func("/rulecache/stale-tmp", test_stale_tmp);
	int rc = g_test_run();
	remove_tree(tmpdir);
	g_free(tmpdir);
	return rc;
}
