/* score-bench.c: times the scorer in one process (tests/bench/bench-score.sh).
 *
 * usage: score-bench [-r RULES]... [-n RUNS] MESSAGE
 * Prints one line, "score=X rules=N first_ms=F first_cpu_ms=C steady_ms=S
 * steady_cpu_ms=SC": the first message's score and rules hit, F and C the
 * wall and CPU time of its scoring including what the first score pays
 * (loading the module and the rules), S and SC the median wall and CPU time
 * of RUNS (default 50, may be 0) more scorings of the same message. The
 * rule cache is used as a delivery uses it when $SORTMAIL_RULE_CACHE names
 * a file. Not a test: no pass/fail.
 */
#include "config.h"
#include "score/score.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	g_autoptr(GPtrArray) rules = g_ptr_array_new();
	int runs = 50;
	int i;
	for (i = 1; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (strcmp(argv[i], "-r") == 0)
			g_ptr_array_add(rules, argv[i + 1]);
		else if (strcmp(argv[i], "-n") == 0)
			runs = atoi(argv[i + 1]);
	}
	if (i != argc - 1 || runs < 0) {
		fprintf(stderr, "usage: score-bench [-r RULES]... [-n RUNS] MESSAGE\n");
		return 2;
	}
	g_autofree char *data = NULL;
	gsize len;
	g_autoptr(GError) err = NULL;
	if (!g_file_get_contents(argv[i], &data, &len, &err)) {
		fprintf(stderr, "score-bench: %s\n", err->message);
		return 2;
	}
	g_ptr_array_add(rules, NULL);
	SmScorerOptions o = {
		.rule_files = rules->len > 1 ? (const char *const *)rules->pdata : NULL,
		.required_score = 5.0,
		.rule_cache = g_getenv("SORTMAIL_RULE_CACHE"),
	};
	SmMessage m;
	sm_message_index(&m, data, len);
	SmScorer *s = sm_scorer_new(&o);
	double t0 = now_ms(CLOCK_MONOTONIC), c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
	double t1 = 0, c1 = 0;
	double *times = g_new(double, runs + 1), *cpu = g_new(double, runs + 1);
	for (int r = 0; r <= runs; r++) {
		SmVerdict v;
		memset(&v, 0, sizeof v);
		double a = now_ms(CLOCK_MONOTONIC), ca = now_ms(CLOCK_PROCESS_CPUTIME_ID);
		if (!sm_scorer_score(s, &m, &v, &err)) {
			fprintf(stderr, "score-bench: %s\n", err->message);
			return 1;
		}
		double b = now_ms(CLOCK_MONOTONIC), cb = now_ms(CLOCK_PROCESS_CPUTIME_ID);
		if (r == 0) {
			t1 = b;
			c1 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
			printf("score=%.3f rules=%u ", v.score, v.rules ? v.rules->len : 0);
		}
		times[r] = b - a;
		cpu[r] = cb - ca;
		if (v.rules)
			g_ptr_array_free(v.rules, TRUE);
		g_free(v.note);
	}
	qsort(times + 1, runs, sizeof *times, compare_doubles);
	qsort(cpu + 1, runs, sizeof *cpu, compare_doubles);
	printf("first_ms=%.2f first_cpu_ms=%.2f steady_ms=%.3f steady_cpu_ms=%.3f\n", t1 - t0,
	       c1 - c0, runs ? times[1 + runs / 2] : 0.0, runs ? cpu[1 + runs / 2] : 0.0);
	g_free(times);
	g_free(cpu);
	sm_scorer_free(s);
	sm_message_clear(&m);
	return 0;
}
