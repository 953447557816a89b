/* cmd-cache.c: the `cache` subcommand, a window on the verdict cache and the
 * autoresponder's reply memory.
 *
 *   sortmail cache [-c CONFIG] [--db PATH] stats | prune | dump [--json]
 *                  | show --message FILE | forget KEY
 *                  | replies | forget-reply SENDER [TEMPLATE] | prune-replies
 *
 * (--db names the reply memory for the last three).
 * It sees the cache exactly as a delivery under the same configuration does
 * (path, TTL, rules fingerprint come from sm_lda_cache_options()), so "stale"
 * here means "would be rescored". Exit status: 0 done, 1 failed or nothing
 * found (show, forget), 2 usage error. Nothing here is on the delivery path.
 */
#include "config.h"
#include "lda.h"
#include "log.h"
#include "cache/cache.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define EXIT_USAGE 2
/* Maintenance is interactive: it may wait longer than a delivery for GDBM. */
#define MAINT_DB_WAIT_MS 10000

static void usage(FILE *to)
{
	fputs("usage: sortmail cache [-c CONFIG] [--db PATH] COMMAND\n"
	      "  stats                 entries, size, oldest/newest, stale count\n"
	      "  prune                 drop stale entries and give the space back\n"
	      "  dump [--json]         one line per cached verdict\n"
	      "  show --message FILE   the key and cached verdict of a saved message\n"
	      "  forget KEY            drop the verdict (and duplicate records) of KEY\n"
	      "  replies               one line per remembered automatic reply\n"
	      "  forget-reply SENDER [TEMPLATE]\n"
	      "                        forget the replies to SENDER, so the next one is sent\n"
	      "  prune-replies         drop the replies whose period is over\n", to);
}

static int fail(const char *what, const GError *error)
{
	fprintf(stderr, "sortmail cache: %s%s%s\n", what, error ? ": " : "",
	        error ? error->message : "");
	return 1;
}

static char *format_time(gint64 t)
{
	if (t == 0)
		return g_strdup("-");
	g_autoptr(GDateTime) d = g_date_time_new_from_unix_local(t);
	return d ? g_date_time_format(d, "%Y-%m-%d %H:%M:%S %z") : g_strdup("?");
}

static char *join_rules(const SmVerdict *v)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; v->rules && i < v->rules->len; i++)
		g_string_append_printf(s, "%s%s", i ? "," : "", (char *)v->rules->pdata[i]);
	return g_string_free(s, FALSE);
}

/* ---- stats, prune, forget ---------------------------------------------- */

static int cmd_stats(SmCache *c, const char *path)
{
	g_autoptr(GError) error = NULL;
	SmCacheStats st;
	if (!sm_cache_stats(c, &st, &error))
		return fail("stats", error);
	g_autofree char *oldest = format_time(st.oldest), *newest = format_time(st.newest);
	printf("file      %s (%" G_GOFFSET_FORMAT " bytes)\n", path, st.size);
	printf("verdicts  %u (%u stale)\n", st.entries, st.stale);
	printf("filings   %u (%u stale)\n", st.filings, st.stale_filings);
	printf("oldest    %s\n", oldest);
	printf("newest    %s\n", newest);
	return 0;
}

static int cmd_prune(SmCache *c)
{
	g_autoptr(GError) error = NULL;
	guint removed;
	if (!sm_cache_prune(c, &removed, &error))
		return fail("prune", error);
	printf("removed %u stale record%s\n", removed, removed == 1 ? "" : "s");
	return 0;
}

static int cmd_forget(SmCache *c, const char *key)
{
	g_autoptr(GError) error = NULL;
	guint removed;
	if (!sm_cache_forget(c, key, &removed, &error))
		return fail("forget", error);
	if (removed == 0) {
		fprintf(stderr, "sortmail cache: nothing cached under %s\n", key);
		return 1;
	}
	printf("forgot %s (%u record%s)\n", key, removed, removed == 1 ? "" : "s");
	return 0;
}

/* ---- dump -------------------------------------------------------------- */

static const char *freshness(const SmCacheEntry *e)
{
	return !e->valid ? "invalid" : e->stale ? "stale" : "fresh";
}

static gboolean print_line(const SmCacheEntry *e, gpointer user)
{
	if (!e->valid) {
		printf("%s invalid\n", e->key);
		return TRUE;
	}
	g_autofree char *when = format_time(e->verdict.scored_at);
	g_autofree char *rules = join_rules(&e->verdict);
	printf("%s %s %s score=%.1f required=%.1f scored=\"%s\" tests=%s fingerprint=%s\n", e->key,
	       freshness(e), e->verdict.is_spam ? "spam" : "ham", e->verdict.score,
	       e->verdict.threshold, when, *rules ? rules : "none",
	       *e->fingerprint ? e->fingerprint : "-");
	return TRUE;
}

static void json_string(GString *s, const char *text)
{
	g_autofree char *valid = g_utf8_make_valid(text, -1);
	g_string_append_c(s, '"');
	for (const char *p = valid; *p; p++) {
		guchar ch = *p;
		if (ch == '"' || ch == '\\')
			g_string_append_printf(s, "\\%c", ch);
		else if (ch < 0x20)
			g_string_append_printf(s, "\\u%04x", ch);
		else
			g_string_append_c(s, ch);
	}
	g_string_append_c(s, '"');
}

static void json_number(GString *s, double d)
{
	char buf[G_ASCII_DTOSTR_BUF_SIZE];
	/* Scores are sums of short decimals: six significant digits keep them exact
	 * without printing 24.899999999999999. */
	if (isfinite(d))
		g_string_append(s, g_ascii_formatd(buf, sizeof buf, "%.6g", d));
	else
		g_string_append(s, "null");
}

/* One JSON object per line inside one array, so that the output is both a
 * JSON document and greppable line by line. */
static gboolean print_json(const SmCacheEntry *e, gpointer user)
{
	gboolean *first = user;
	GString *s = g_string_new(*first ? "" : ",\n");
	*first = FALSE;
	g_string_append(s, "{\"key\":");
	json_string(s, e->key);
	g_string_append_printf(s, ",\"valid\":%s,\"stale\":%s", e->valid ? "true" : "false",
	                       e->stale ? "true" : "false");
	if (e->valid) {
		g_string_append_printf(s, ",\"spam\":%s,\"score\":",
		                       e->verdict.is_spam ? "true" : "false");
		json_number(s, e->verdict.score);
		g_string_append(s, ",\"required\":");
		json_number(s, e->verdict.threshold);
		g_string_append_printf(s, ",\"scored_at\":%" G_GINT64_FORMAT ",\"fingerprint\":",
		                       e->verdict.scored_at);
		json_string(s, e->fingerprint);
		g_string_append(s, ",\"tests\":[");
		for (guint i = 0; i < e->verdict.rules->len; i++) {
			if (i)
				g_string_append_c(s, ',');
			json_string(s, e->verdict.rules->pdata[i]);
		}
		g_string_append_c(s, ']');
	}
	g_string_append_c(s, '}');
	fputs(s->str, stdout);
	g_string_free(s, TRUE);
	return TRUE;
}

static int cmd_dump(SmCache *c, gboolean json)
{
	g_autoptr(GError) error = NULL;
	gboolean first = TRUE;
	if (json)
		fputs("[\n", stdout);
	if (!sm_cache_foreach(c, json ? print_json : print_line, &first, &error))
		return fail("dump", error);
	if (json)
		fputs(first ? "]\n" : "\n]\n", stdout);
	return 0;
}

/* ---- show -------------------------------------------------------------- */

/* A saved message may start with an mbox "From " line; a delivery never sees it. */
static gsize skip_from_line(const char *data, gsize len)
{
	if (len < 5 || strncmp(data, "From ", 5) != 0)
		return 0;
	const char *nl = memchr(data, '\n', len);
	return nl ? (gsize)(nl - data) + 1 : len;
}

static int cmd_show(SmCache *c, const char *file)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GMappedFile) mapped = g_mapped_file_new(file, FALSE, &error);
	if (!mapped)
		return fail("show", error);
	const char *data = g_mapped_file_get_contents(mapped);
	gsize len = g_mapped_file_get_length(mapped);
	gsize skip = data ? skip_from_line(data, len) : 0;

	SmMessage m;
	char key[SM_CACHE_KEY_LEN + 1];
	sm_message_index(&m, data ? data + skip : "", len - skip);
	sm_cache_key(&m, key);
	sm_message_clear(&m);
	printf("key          %s\n", key);

	SmCacheEntry e;
	gboolean found;
	if (!sm_cache_lookup(c, key, &e, &found, &error))
		return fail("show", error);
	if (!found) {
		printf("verdict      none cached\n");
		return 1;
	}
	if (e.valid) {
		g_autofree char *status = sm_verdict_status_line(&e.verdict);
		g_autofree char *when = format_time(e.verdict.scored_at);
		printf("verdict      %s\n", status);
		printf("scored       %s (%s)\n", when, freshness(&e));
		printf("fingerprint  %s\n", *e.fingerprint ? e.fingerprint : "-");
	} else {
		printf("verdict      unreadable record (will be rescored)\n");
	}
	sm_cache_entry_clear(&e);
	return 0;
}

/* ---- the reply memory -------------------------------------------------- */

static gboolean print_reply(const SmRepliedEntry *e, gpointer user)
{
	g_autofree char *sender = sm_log_token(e->sender);
	if (!e->valid) {
		printf("%s %s invalid\n", sender, e->template_name);
		return TRUE;
	}
	g_autofree char *when = format_time(e->replied_at);
	printf("%s %s %s replied=\"%s\" every=%us\n", sender, e->template_name,
	       e->stale ? "stale" : "fresh", when, e->every);
	return TRUE;
}

static int cmd_replies(SmReplied *r, int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	guint removed = 0;
	const char *cmd = argv[0];
	if (strcmp(cmd, "replies") == 0) {
		if (!sm_replied_foreach(r, print_reply, NULL, &error))
			return fail("replies", error);
		return 0;
	}
	if (strcmp(cmd, "prune-replies") == 0) {
		if (!sm_replied_prune(r, &removed, &error))
			return fail("prune-replies", error);
		printf("removed %u stale repl%s\n", removed, removed == 1 ? "y" : "ies");
		return 0;
	}
	if (!sm_replied_forget(r, argv[1], argc > 2 ? argv[2] : NULL, &removed, &error))
		return fail("forget-reply", error);
	if (removed == 0) {
		fprintf(stderr, "sortmail cache: no reply to %s remembered\n", argv[1]);
		return 1;
	}
	printf("forgot %u repl%s to %s\n", removed, removed == 1 ? "y" : "ies", argv[1]);
	return 0;
}

/* TRUE when argv is a reply-memory command with the right arguments. */
static gboolean is_reply_command(int argc, char **argv)
{
	const char *cmd = argv[0];
	return ((strcmp(cmd, "replies") == 0 || strcmp(cmd, "prune-replies") == 0) && argc == 1) ||
	       (strcmp(cmd, "forget-reply") == 0 && (argc == 2 || argc == 3));
}

static int run_replies(const SmConfig *config, const char *db_path, int argc, char **argv)
{
	SmRepliedOptions o = {
		.path = db_path ? db_path : config->reply_memory,
		.max_wait_ms = MAINT_DB_WAIT_MS,
		.db_wait_ms = MAINT_DB_WAIT_MS,
	};
	g_autoptr(SmReplied) r = sm_replied_new(&o);
	return cmd_replies(r, argc, argv);
}

/* ---- the subcommand ---------------------------------------------------- */

typedef struct {
	const char *config_path;
	const char *db_path;
	gboolean help;
} CacheOptions;

static gboolean parse_global(int *argc, char ***argv, CacheOptions *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(*argc, *argv, "+c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->config_path = optarg; break;
		case 'd': o->db_path = optarg; break;
		case 'h': o->help = TRUE; break;
		default: return FALSE;
		}
	}
	*argc -= optind;
	*argv += optind;
	return TRUE;
}

/* Runs COMMAND ARGS... (argv[0] is the command). */
static int dispatch(SmCache *c, const char *path, int argc, char **argv)
{
	const char *cmd = argv[0];
	if (strcmp(cmd, "stats") == 0 && argc == 1)
		return cmd_stats(c, path);
	if (strcmp(cmd, "prune") == 0 && argc == 1)
		return cmd_prune(c);
	if (strcmp(cmd, "dump") == 0 && argc == 1)
		return cmd_dump(c, FALSE);
	if (strcmp(cmd, "dump") == 0 && argc == 2 && strcmp(argv[1], "--json") == 0)
		return cmd_dump(c, TRUE);
	if (strcmp(cmd, "show") == 0 && argc == 3 && strcmp(argv[1], "--message") == 0)
		return cmd_show(c, argv[2]);
	if (strcmp(cmd, "forget") == 0 && argc == 2)
		return cmd_forget(c, argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}

int sm_cmd_cache(int argc, char **argv)
{
	CacheOptions o = { 0 };
	if (!parse_global(&argc, &argv, &o) || (!o.help && argc == 0)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (o.help) {
		usage(stdout);
		return 0;
	}

	SmEnvelope env;
	SmEnvelopeArgs args = { 0 };
	g_autoptr(GError) error = NULL;
	sm_envelope_fill(&env, &args);
	g_autoptr(SmConfig) config = sm_lda_config_load(o.config_path, &env, &error);
	if (!config) {
		sm_envelope_clear(&env);
		return fail("configuration", error);
	}

	if (is_reply_command(argc, argv)) {
		int status = run_replies(config, o.db_path, argc, argv);
		sm_envelope_clear(&env);
		return status;
	}
	SmCacheOptions copts;
	g_autofree char *fingerprint = NULL;
	sm_lda_cache_options(config, &env, &copts, &fingerprint);
	if (o.db_path)
		copts.path = o.db_path;
	copts.db_wait_ms = MAX(copts.db_wait_ms, MAINT_DB_WAIT_MS);
	int status;
	if (!copts.path) {
		status = fail("no verdict cache path (HOME unset?)", NULL);
	} else {
		g_autoptr(SmCache) c = sm_cache_new(&copts);
		status = dispatch(c, copts.path, argc, argv);
	}
	sm_envelope_clear(&env);
	return status;
}
