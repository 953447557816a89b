/* cmd-check.c: the `check` subcommand. Without --rules it checks the whole
 * set-up (check-setup.h). With --rules: what the scorer makes of the rule
 * files, as a delivery under the same configuration would load them.
 *
 *   sortmail check [-c CONFIG]
 *   sortmail check --rules [-c CONFIG] [-v] [FILE|DIR...]
 *
 * Rule files come from the configuration's "rules" lines, or from the
 * arguments when there are any (then instead). Printed: the rules loaded
 * per kind and how many will run, the score set, the eval: rules that are
 * not supported, the lines skipped in if/ifplugin blocks, every problem
 * (a rule skipped, with file:line and why), and the directives not
 * understood (counted per directive; listed with -v, as are the eval: rules).
 *
 * Exit status of --rules: 0 the rules load (problems or not), 1 they cannot
 * be loaded or none would run, 2 usage error; of the whole check, see
 * check-setup.h. Nothing here is on the delivery path.
 */
#include "config.h"
#include "lda.h"
#include "verdicts.h"
#include "check-setup.h"
#include "score/score.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define EXIT_USAGE 2

/* In SmScoreKind order. */
static const char *const kind_names[SM_SCORE_KINDS] = {
	"header", "body", "rawbody", "uri", "full", "meta", "mimeheader",
};

typedef struct {
	const char *config_path;
	gboolean rules;
	gboolean verbose;
	gboolean help;
} CheckOptions;

static void usage(FILE *to)
{
	fputs("usage: sortmail check [-c CONFIG]\n"
	      "       sortmail check --rules [-c CONFIG] [-v] [FILE|DIR...]\n"
	      "  (no --rules)   check the configuration, the rule files, every template and\n"
	      "                 the files and programs deliveries need; print every problem\n"
	      "  --rules        load the scorer's rules and report what loaded and what not\n"
	      "  -c CONFIG      the configuration (default ~/.sortmail/config)\n"
	      "  -v, --verbose  also list every eval: rule and every directive not understood\n"
	      "  FILE|DIR...    these rule files instead of the configuration's\n", to);
}

static gboolean parse_options(int *argc, char ***argv, CheckOptions *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "rules", no_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(*argc, *argv, "c:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->config_path = optarg; break;
		case 'r': o->rules = TRUE; break;
		case 'v': o->verbose = TRUE; break;
		case 'h': o->help = TRUE; break;
		default: return FALSE;
		}
	}
	*argc -= optind;
	*argv += optind;
	return TRUE;
}

/* "file:line: WORD" -> WORD */
static const char *last_word(const char *line)
{
	const char *sp = strrchr(line, ' ');
	return sp ? sp + 1 : line;
}

static gint by_count(gconstpointer a, gconstpointer b, gpointer counts)
{
	guint ca = GPOINTER_TO_UINT(g_hash_table_lookup(counts, *(char *const *)a));
	guint cb = GPOINTER_TO_UINT(g_hash_table_lookup(counts, *(char *const *)b));
	return ca != cb ? (ca < cb ? 1 : -1) : strcmp(*(char *const *)a, *(char *const *)b);
}

/* Kinds of a count shown without -v. */
#define SHOWN 8

/* One line: "TITLE N (WORD COUNT, WORD COUNT, ...)", most frequent first; all
 * of them with @all, else the first SHOWN. */
static void print_counted(const char *title, const GPtrArray *lines,
                          const char *(*key)(const char *), gboolean all)
{
	g_autoptr(GHashTable) counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (guint i = 0; i < lines->len; i++) {
		char *word = g_strdup(key(lines->pdata[i]));
		guint n = GPOINTER_TO_UINT(g_hash_table_lookup(counts, word));
		g_hash_table_replace(counts, word, GUINT_TO_POINTER(n + 1));
	}
	g_autoptr(GPtrArray) keys = g_ptr_array_new();
	GHashTableIter it;
	gpointer k;
	g_hash_table_iter_init(&it, counts);
	while (g_hash_table_iter_next(&it, &k, NULL))
		g_ptr_array_add(keys, k);
	g_ptr_array_sort_with_data(keys, by_count, counts);
	printf("%s %u", title, lines->len);
	guint shown = all ? keys->len : MIN(keys->len, SHOWN);
	for (guint i = 0; i < shown; i++)
		printf("%s%s %u", i ? ", " : " (", (char *)keys->pdata[i],
		       GPOINTER_TO_UINT(g_hash_table_lookup(counts, keys->pdata[i])));
	if (shown < keys->len)
		printf(", and %u more kinds; -v lists them", keys->len - shown);
	printf("%s\n", keys->len ? ")" : "");
}

/* "file:line: kind NAME eval:check_foo(...)" -> "check_foo" */
static const char *eval_function(const char *line)
{
	static char buf[64];
	const char *e = strstr(line, "eval:");
	if (!e)
		return "?";
	e += 5;
	gsize n = strcspn(e, "( ");
	g_strlcpy(buf, e, MIN(n + 1, sizeof buf));
	return buf;
}

static void print_list(const GPtrArray *lines)
{
	for (guint i = 0; i < lines->len; i++)
		printf("  %s\n", (char *)lines->pdata[i]);
}

static void print_report(const SmConfig *c, const SmScorerReport *r, double ms,
                         gboolean verbose)
{
	GString *files = g_string_new(NULL);
	for (guint i = 0; i < c->rule_files->len; i++)
		g_string_append_printf(files, "%s%s", i ? " " : "",
		                       (char *)c->rule_files->pdata[i]);
	printf("rules        %s\n", files->len ? files->str : "(the stock set)");
	g_string_free(files, TRUE);
	guint total = 0;
	for (int k = 0; k < SM_SCORE_KINDS; k++)
		total += r->kinds[k];
	printf("loaded       %u rules:", total);
	for (int k = 0; k < SM_SCORE_KINDS; k++)
		printf(" %s %u%s", kind_names[k], r->kinds[k], k + 1 < SM_SCORE_KINDS ? "," : "\n");
	printf("will run     %u (the others score 0, do not compile, or are sub-rules no "
	       "scoring rule uses)\n", r->rules);
	printf("score set    %u\n", r->score_set);
	printf("load time    %.1f ms (reading, and compiling every regex)\n", ms);
	print_counted("unsupported  eval: rules", r->unsupported, eval_function, verbose);
	if (verbose)
		print_list(r->unsupported);
	guint skipped = 0;
	for (int k = 0; k < SM_SCORE_KINDS; k++)
		skipped += r->skipped_kinds[k];
	printf("skipped      %u lines in if/ifplugin blocks for plugins or features sortmail "
	       "lacks,\n             defining %u rules:", r->skipped_lines, skipped);
	for (int k = 0; k < SM_SCORE_KINDS; k++)
		printf(" %s %u%s", kind_names[k], r->skipped_kinds[k],
		       k + 1 < SM_SCORE_KINDS ? "," : ", besides eval: rules\n");
	print_counted("ignored      directives", r->unknown, last_word, verbose);
	if (verbose)
		print_list(r->unknown);
	printf("problems     %u%s\n", r->problems->len, r->problems->len ? ":" : "");
	print_list(r->problems);
}

static int check_rules(SmConfig *c, int argc, char **argv, gboolean verbose)
{
	if (argc > 0) {
		g_ptr_array_set_size(c->rule_files, 0);
		for (int i = 0; i < argc; i++)
			g_ptr_array_add(c->rule_files, g_strdup(argv[i]));
		/* Not the deliveries' rules: leave their rule cache alone. */
		g_clear_pointer(&c->rule_cache, g_free);
	}
	SmScorer *scorer = sm_lda_scorer_new(c);
	SmScorerReport r;
	memset(&r, 0, sizeof r);
	g_autoptr(GError) error = NULL;
	gint64 start = g_get_monotonic_time();
	gboolean ok = sm_scorer_report(scorer, &r, &error);
	double ms = (g_get_monotonic_time() - start) / 1000.0;
	if (ok)
		print_report(c, &r, ms, verbose);
	else
		fprintf(stderr, "sortmail check: %s\n", error->message);
	sm_scorer_free(scorer);
	return ok ? 0 : 1;
}

int sm_cmd_check(int argc, char **argv)
{
	CheckOptions o = { 0 };
	if (!parse_options(&argc, &argv, &o) || (!o.rules && (argc > 0 || o.verbose))) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (o.help) {
		usage(stdout);
		return 0;
	}
	if (!o.rules)
		return sm_check_setup(o.config_path);
	SmEnvelope env;
	SmEnvelopeArgs args = { 0 };
	g_autoptr(GError) error = NULL;
	sm_envelope_fill(&env, &args);
	g_autoptr(SmConfig) config = sm_lda_config_load(o.config_path, &env, &error);
	sm_envelope_clear(&env);
	if (!config) {
		fprintf(stderr, "sortmail check: configuration: %s\n", error->message);
		return 1;
	}
	return check_rules(config, argc, argv, o.verbose);
}
