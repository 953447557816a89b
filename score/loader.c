/* loader.c: the program's side of score/ (see score.h).
 *
 * Linked into sortmail, so it must stay cheap: it links no GMime and does
 * nothing until a message actually needs a score. Then it dlopen()s the scorer
 * module, checks its ABI, has it load the rules, and keeps that engine for every
 * later call (replay scores many messages per process).
 *
 * A failure to load is remembered: the same error is returned on every later
 * call instead of retrying dlopen() and re-reading rules once per message.
 *
 * The module is never dlclose()d, not even a rejected one: it brings GMime and
 * GObject types, which cannot be unregistered, so unloading it could leave GLib
 * pointing into unmapped code. At most one handle per scorer is leaked.
 */
#include "config.h"
#include "score/score.h"

#include "common/module.h"

#include <string.h>
#include <sys/stat.h>

struct SmScorer {
	char *module_path;        /* NULL: $SORTMAIL_SCORER or the installed one */
	char **rule_files;        /* NULL: the stock set */
	double required_score;
	char **settings;          /* never NULL */
	char *rule_cache;         /* NULL: none */
	const SmScoreModule *module;
	void *engine;             /* the module's, once loaded */
	GError *load_error;       /* the first failure to load, returned ever after */
};

G_DEFINE_QUARK(sm-score-error-quark, sm_score_error)

SmScorer *sm_scorer_new(const SmScorerOptions *opts)
{
	SmScorer *s = g_new0(SmScorer, 1);
	s->module_path = g_strdup(opts->module_path);
	if (opts->rule_files && opts->rule_files[0])
		s->rule_files = g_strdupv((char **)opts->rule_files);
	s->required_score = opts->required_score;
	s->settings = opts->settings ? g_strdupv((char **)opts->settings) : g_new0(char *, 1);
	s->rule_cache = g_strdup(opts->rule_cache);
	return s;
}

void sm_scorer_free(SmScorer *s)
{
	if (!s)
		return;
	if (s->engine)
		s->module->free(s->engine);
	g_clear_error(&s->load_error);
	g_strfreev(s->rule_files);
	g_strfreev(s->settings);
	g_free(s->rule_cache);
	g_free(s->module_path);
	g_free(s);
}

static const char *module_path(const SmScorer *s)
{
	return sm_module_path(s->module_path, "SORTMAIL_SCORER", SM_PKGLIBDIR "/sortmail-score.so");
}

static const SmScoreModule *open_module(const char *path, GError **error)
{
	g_autofree char *why = NULL;
	const SmScoreModule *mod = sm_module_symbol(path, SM_SCORE_MODULE_SYMBOL, "scorer", &why);
	if (!mod) {
		g_set_error_literal(error, SM_SCORE_ERROR, SM_SCORE_ERROR_MODULE, why);
		return NULL;
	}
	if (mod->abi != SM_SCORE_MODULE_ABI) {
		g_set_error(error, SM_SCORE_ERROR, SM_SCORE_ERROR_MODULE,
		            "scorer module %s has ABI %d, this sortmail needs %d", path,
		            mod->abi, SM_SCORE_MODULE_ABI);
		return NULL;
	}
	if (!mod->load || !mod->score || !mod->free || !mod->report || !mod->explain) {
		g_set_error(error, SM_SCORE_ERROR, SM_SCORE_ERROR_MODULE,
		            "scorer module %s is incomplete (a function is missing)", path);
		return NULL;
	}
	return mod;
}

/* The stock set is a directory: the module loads its *.cf files in name order. */
static char **stock_rule_files(void)
{
	const char *datadir = g_getenv("SORTMAIL_DATADIR");
	if (!datadir || !*datadir)
		datadir = SM_PKGDATADIR;
	char **files = g_new0(char *, 2);
	files[0] = g_build_filename(datadir, "rules", NULL);
	return files;
}

static gboolean ensure_loaded(SmScorer *s, GError **error)
{
	if (s->engine)
		return TRUE;
	if (!s->load_error) {
		GError *err = NULL;
		const SmScoreModule *mod = open_module(module_path(s), &err);
		if (mod) {
			g_auto(GStrv) stock = s->rule_files ? NULL : stock_rule_files();
			const char *const *files =
				(const char *const *)(s->rule_files ? s->rule_files : stock);
			g_autofree char *fingerprint = sm_scorer_fingerprint(s);
			SmScoreModuleArgs args = { .rule_files = files,
			                           .required_score = s->required_score,
			                           .settings = (const char *const *)s->settings,
			                           .rule_cache = s->rule_cache,
			                           .fingerprint = fingerprint };
			s->engine = mod->load(&args, &err);
			if (s->engine) {
				s->module = mod;
				return TRUE;
			}
			if (!err) /* a module bug, but the caller is owed a reason */
				g_set_error(&err, SM_SCORE_ERROR, SM_SCORE_ERROR_RULES,
				            "scorer module failed to load the rules");
		}
		s->load_error = err;
	}
	g_propagate_error(error, g_error_copy(s->load_error));
	return FALSE;
}

gboolean sm_scorer_score(SmScorer *s, const SmMessage *m, SmVerdict *out, GError **error)
{
	if (!ensure_loaded(s, error))
		return FALSE;
	return s->module->score(s->engine, m->data, m->len, out, error);
}

gboolean sm_scorer_explain(SmScorer *s, const SmMessage *m, SmVerdict *out,
                           SmScoreTrace *trace, GError **error)
{
	if (!ensure_loaded(s, error))
		return FALSE;
	return s->module->explain(s->engine, m->data, m->len, out, trace, error);
}

void sm_score_trace_clear(SmScoreTrace *t)
{
	if (t->hits)
		g_ptr_array_free(t->hits, TRUE);
	if (t->dns)
		g_ptr_array_free(t->dns, TRUE);
	g_free(t->spamd);
	*t = (SmScoreTrace){ 0 };
}

gboolean sm_scorer_report(SmScorer *s, SmScorerReport *out, GError **error)
{
	if (!ensure_loaded(s, error))
		return FALSE;
	s->module->report(s->engine, out);
	return TRUE;
}

static void fingerprint_file(GChecksum *sum, const char *path)
{
	struct stat st;
	g_autofree char *line = NULL;
	if (stat(path, &st) < 0)
		line = g_strdup_printf("%s missing\n", path);
	else
		line = g_strdup_printf("%s %lld %lld.%09ld %llu\n", path, (long long)st.st_size,
		                       (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		                       (unsigned long long)st.st_ino);
	g_checksum_update(sum, (const guchar *)line, strlen(line));
}

static int compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory stands for its *.cf files, as the module reads them. */
static void fingerprint_path(GChecksum *sum, const char *path)
{
	fingerprint_file(sum, path);
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	if (!dir)
		return;
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const char *name;
	while ((name = g_dir_read_name(dir)))
		if (g_str_has_suffix(name, ".cf"))
			g_ptr_array_add(names, g_build_filename(path, name, NULL));
	g_ptr_array_sort(names, compare_names);
	for (guint i = 0; i < names->len; i++)
		fingerprint_file(sum, names->pdata[i]);
}

char *sm_scorer_fingerprint(SmScorer *s)
{
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_autofree char *head = g_strdup_printf("abi=%d required=%.3f module=%s\n",
	                                        SM_SCORE_MODULE_ABI, s->required_score,
	                                        module_path(s));
	g_checksum_update(sum, (const guchar *)head, strlen(head));
	for (guint i = 0; s->settings[i]; i++) {
		/* The setting itself, not where it was written. */
		const char *text = strstr(s->settings[i], ": ");
		text = text ? text + 2 : s->settings[i];
		g_checksum_update(sum, (const guchar *)text, strlen(text));
		g_checksum_update(sum, (const guchar *)"\n", 1);
	}
	g_auto(GStrv) stock = s->rule_files ? NULL : stock_rule_files();
	char **files = s->rule_files ? s->rule_files : stock;
	for (guint i = 0; files[i]; i++)
		fingerprint_path(sum, files[i]);
	return g_strndup(g_checksum_get_string(sum), 16);
}
