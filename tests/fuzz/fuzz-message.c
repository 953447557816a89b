/* fuzz-message.c: bytes as a message: the header index (common/message.h),
 * then the scorer (score/score.h) with the stock rules plus
 * tests/fuzz/invariants.cf, whose rules state what the rendering promises
 * the rules and must never hit.
 *
 * Invariants: the index covers the header block exactly (fields contiguous,
 * each a name, a colon and lines up to a newline, the body right after);
 * unfolded values have no CR, LF, tab, leading, trailing or doubled space;
 * an extracted address is a trimmed part of its value. Scoring never fails;
 * the verdict is finite, sorted, spam exactly when score >= threshold, and
 * the same from a second scorer that loaded the rules from the rule cache
 * (score/rulecache.h) and explained the message instead of scoring it (for
 * one input in four); the explanation's hits are the verdict's rules. No
 * FUZZ_INV_ rule hits.
 *
 * The rules are loaded once (LLVMFuzzerInitialize); one input costs one
 * rendering and one rule run per scorer.
 */
#include "config.h"
#include "tests/fuzz/fuzz.h"
#include "score/score.h"

#include <math.h>
#include <unistd.h>

#define THRESHOLD 5.0

static SmScorer *from_files;  /* rules parsed from the rule files */
static SmScorer *from_cache;  /* the same rules, read back from the rule cache */

/* A scorer with its rules loaded now: with @report every rule compiled and
 * counted; without, by scoring a small message, so that regexes are still
 * compiled on first use as in a delivery. */
static SmScorer *scorer(const char *cache, gboolean report)
{
	g_autofree char *stock = g_build_filename(g_getenv("SORTMAIL_DATADIR"), "rules", NULL);
	const char *files[] = { stock, SM_FUZZ_SRCDIR "/tests/fuzz/invariants.cf", NULL };
	SmScorerOptions o = { .rule_files = files, .required_score = THRESHOLD,
	                      .rule_cache = cache };
	SmScorer *s = sm_scorer_new(&o);
	g_autoptr(GError) error = NULL;
	gboolean ok;
	if (report) {
		SmScorerReport r;
		ok = sm_scorer_report(s, &r, &error);
		FUZZ_CHECK(!ok || r.rules > 100);
	} else {
		static const char small[] = "Subject: x\n\nx\n";
		SmMessage m;
		SmVerdict v;
		sm_message_index(&m, small, sizeof small - 1);
		sm_verdict_init(&v);
		ok = sm_scorer_score(s, &m, &v, &error);
		sm_verdict_clear(&v);
		sm_message_clear(&m);
	}
	if (!ok) {
		fprintf(stderr, "fuzz-message: %s\n", error->message);
		abort();
	}
	return s;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_default_env();
	g_autofree char *dir = g_dir_make_tmp("fuzz-message-XXXXXX", NULL);
	FUZZ_CHECK(dir != NULL);
	g_autofree char *cache = g_build_filename(dir, "rules.cache", NULL);
	from_files = scorer(cache, TRUE);   /* parses the files, writes the cache */
	from_cache = scorer(cache, FALSE);  /* reads the cache back */
	FUZZ_CHECK(g_file_test(cache, G_FILE_TEST_IS_REGULAR));
	unlink(cache);
	rmdir(dir);
	return 0;
}

static gboolean is_name_char(guchar c)
{
	return c > ' ' && c < 127 && c != ':';
}

static void check_value(const char *v)
{
	gsize n = strlen(v);
	FUZZ_CHECK(!strpbrk(v, "\r\n\t"));
	FUZZ_CHECK(n == 0 || (v[0] != ' ' && v[n - 1] != ' '));
	FUZZ_CHECK(!strstr(v, "  "));
	g_autofree char *addr = sm_address_extract(v);
	if (addr) {
		gsize a = strlen(addr);
		FUZZ_CHECK(a > 0 && strstr(v, addr) != NULL);
		FUZZ_CHECK(addr[a - 1] != ' ' && addr[a - 1] != '\t');
	}
}

static void check_index(const SmMessage *m, const char *data, size_t size)
{
	FUZZ_CHECK(m->data == data && m->len == size && m->body_off <= size);
	FUZZ_CHECK(m->headers->len <= SM_MESSAGE_MAX_HEADERS);
	gsize next = 0;
	for (guint i = 0; i < m->headers->len; i++) {
		const SmHeader *h = &g_array_index(m->headers, SmHeader, i);
		if (m->headers->len < SM_MESSAGE_MAX_HEADERS)
			FUZZ_CHECK(h->off == next);
		FUZZ_CHECK(h->name_len > 0 && h->name_len < h->len);
		FUZZ_CHECK(h->off + h->len <= m->body_off);
		FUZZ_CHECK(data[h->off + h->name_len] == ':');
		for (gsize j = 0; j < h->name_len; j++)
			FUZZ_CHECK(is_name_char((guchar)data[h->off + j]));
		next = h->off + h->len;
		FUZZ_CHECK(next == size || data[next - 1] == '\n');
		g_autofree char *v = sm_header_value(m, h);
		check_value(v);
	}
	if (m->headers->len < SM_MESSAGE_MAX_HEADERS) {
		/* The body starts where the fields end, or after the empty line. */
		gsize b = m->body_off;
		FUZZ_CHECK(b == next || (b == next + 1 && data[next] == '\n') ||
		           (b == next + 2 && data[next] == '\r' && data[next + 1] == '\n'));
	}
	if (m->headers->len > 0) {
		/* sm_message_next() finds every field of the first one's name. */
		const SmHeader *h0 = &g_array_index(m->headers, SmHeader, 0);
		g_autofree char *name = g_strndup(data + h0->off, h0->name_len);
		guint pos = 0, found = 0, expected = 0;
		while (sm_message_next(m, name, &pos))
			found++;
		for (guint i = 0; i < m->headers->len; i++) {
			const SmHeader *h = &g_array_index(m->headers, SmHeader, i);
			expected += h->name_len == h0->name_len &&
			            g_ascii_strncasecmp(data + h->off, name, h->name_len) == 0;
		}
		FUZZ_CHECK(found == expected);
	}
}

static void check_verdict(const SmVerdict *v)
{
	FUZZ_CHECK(v->source == SM_VERDICT_SCORED);
	FUZZ_CHECK(isfinite(v->score));
	FUZZ_CHECK(v->threshold == THRESHOLD);
	FUZZ_CHECK(v->is_spam == (v->score >= v->threshold));
	for (guint i = 0; i < v->rules->len; i++) {
		const char *r = v->rules->pdata[i];
		FUZZ_CHECK(*r);
		FUZZ_CHECK(i == 0 || strcmp(v->rules->pdata[i - 1], r) <= 0);
		if (g_str_has_prefix(r, "FUZZ_INV_")) {
			fprintf(stderr, "fuzz-message: the rendering broke %s "
			        "(tests/fuzz/invariants.cf)\n", r);
			abort();
		}
	}
}

static void check_same(const SmVerdict *a, const SmVerdict *b)
{
	FUZZ_CHECK(a->score == b->score && a->is_spam == b->is_spam);
	FUZZ_CHECK(a->rules->len == b->rules->len);
	for (guint i = 0; i < a->rules->len; i++)
		FUZZ_CHECK(strcmp(a->rules->pdata[i], b->rules->pdata[i]) == 0);
}

/* The explanation's hits are the verdict's rules (DNS and spamd are off). */
static void check_trace(const SmScoreTrace *t, const SmVerdict *v)
{
	FUZZ_CHECK(t->hits != NULL && t->dns == NULL && t->spamd == NULL);
	FUZZ_CHECK(t->hits->len == v->rules->len);
	g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; i < v->rules->len; i++)
		g_hash_table_add(names, v->rules->pdata[i]);
	for (guint i = 0; i < t->hits->len; i++) {
		const SmScoreHit *h = t->hits->pdata[i];
		FUZZ_CHECK(g_hash_table_contains(names, h->name));
		FUZZ_CHECK(h->kind && h->where);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
	const char *data = (const char *)bytes;
	SmMessage m;
	sm_message_index(&m, data, size);
	check_index(&m, data, size);

	SmVerdict scored;
	g_autoptr(GError) error = NULL;
	sm_verdict_init(&scored);
	FUZZ_CHECK(sm_scorer_score(from_files, &m, &scored, &error));
	check_verdict(&scored);
	/* The second scorer doubles the cost: one input in four (chosen by its
	 * size, so that a finding replays the same way). */
	if (size % 4 == 0) {
		SmVerdict explained;
		SmScoreTrace trace = { 0 };
		sm_verdict_init(&explained);
		FUZZ_CHECK(sm_scorer_explain(from_cache, &m, &explained, &trace, &error));
		check_verdict(&explained);
		check_same(&scored, &explained);
		check_trace(&trace, &explained);
		sm_score_trace_clear(&trace);
		sm_verdict_clear(&explained);
	}
	sm_verdict_clear(&scored);
	sm_message_clear(&m);
	return 0;
}
