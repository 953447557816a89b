/* rules.c: reading rule files (see rules.h for the language).
 *
 * Loading is two passes. Reading the files (this file: lines, comments,
 * if/else blocks, includes; ruledefs.c: one function per directive)
 * collects definitions, score lines, descriptions and tflags separately,
 * because SpamAssassin lets them come in any order, even from different
 * files. Finishing (rules-finish.c) then joins them and keeps only the rules
 * that will run, in the order they run.
 */
#include "config.h"
#include "score/rules-priv.h"
#include "score/score.h"

#include <string.h>
#include <sys/stat.h>

/* Includes nest at most this deep (a file including itself stops here). */
#define MAX_INCLUDE_DEPTH 8

static const char *const kind_names[SM_RULE_N_KINDS] = {
	"header", "body", "rawbody", "uri", "full", "meta", "mimeheader",
};

const char *sm_rule_kind_name(SmRuleKind kind)
{
	return kind < SM_RULE_N_KINDS ? kind_names[kind] : "?";
}

int sm_rules_kind_of(const char *directive)
{
	for (int k = 0; k < SM_RULE_N_KINDS; k++)
		if (strcmp(directive, kind_names[k]) == 0)
			return k;
	return -1;
}

guint sm_rules_score_set(gboolean network_tests)
{
	return network_tests ? 1 : 0;
}

char *sm_rules_where(const Parser *p)
{
	return g_strdup_printf("%s:%u", p->file, p->line);
}

void sm_rules_problem(Parser *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (p->at)
		g_ptr_array_add(p->set->problems, g_strdup_printf("%s: %s", p->at, msg));
	else
		g_ptr_array_add(p->set->problems,
		                g_strdup_printf("%s:%u: %s", p->file, p->line, msg));
}

const char *sm_rules_skip_space(const char *s)
{
	while (g_ascii_isspace(*s))
		s++;
	return s;
}

char *sm_rules_next_word(const char **s)
{
	const char *p = sm_rules_skip_space(*s);
	const char *e = p;
	while (*e && !g_ascii_isspace(*e))
		e++;
	*s = sm_rules_skip_space(e);
	return e > p ? g_strndup(p, e - p) : NULL;
}

/* ---- blocks ------------------------------------------------------------------ */

static gboolean reading(const Parser *p)
{
	if (p->blocks->len == 0)
		return TRUE;
	const Block *b = &g_array_index(p->blocks, Block, p->blocks->len - 1);
	return b->outer && (b->in_else ? !b->cond : b->cond);
}

/* if, ifplugin, else, endif: TRUE when @directive is one of them. Conditions
 * of blocks inside a skipped block are not even evaluated. */
static gboolean block_line(Parser *p, const char *directive, const char *args)
{
	gboolean is_if = strcmp(directive, "if") == 0;
	if (is_if || strcmp(directive, "ifplugin") == 0) {
		Block b = { .outer = reading(p), .line = p->line };
		b.cond = b.outer && sm_rules_condition(p, args, !is_if);
		g_array_append_val(p->blocks, b);
		return TRUE;
	}
	Block *top = p->blocks->len ? &g_array_index(p->blocks, Block, p->blocks->len - 1) : NULL;
	if (strcmp(directive, "else") == 0) {
		if (!top || top->in_else)
			sm_rules_problem(p, "else without if");
		else
			top->in_else = TRUE;
		return TRUE;
	}
	if (strcmp(directive, "endif") == 0) {
		if (!top)
			sm_rules_problem(p, "endif without if");
		else
			g_array_set_size(p->blocks, p->blocks->len - 1);
		return TRUE;
	}
	return FALSE;
}

/* ---- lines ------------------------------------------------------------------ */

/* Cuts a comment: '#' up to the end of the line, unless escaped as "\#", which
 * then stands for a plain '#'. Works in place. */
static void strip_comment(char *line)
{
	char *hash = strchr(line, '#');
	if (!hash)
		return;
	if (hash == line || hash[-1] != '\\') {
		*hash = '\0';
		return;
	}
	char *out = hash - 1;
	for (char *in = hash - 1; *in; in++) {
		if (*in == '#' && (in == line || in[-1] != '\\'))
			break;
		if (*in == '\\' && in[1] == '#')
			continue;
		*out++ = *in;
	}
	*out = '\0';
}

/* A line in a skipped block: the rules it defines are counted (eval: ones
 * listed as unsupported), and their names remembered so that score lines
 * and metas using them are not reported as naming nothing. */
static void skipped_line(Parser *p, const char *directive, const char *args)
{
	p->set->skipped_lines++;
	if (!sm_rules_defines(directive))
		return;
	char *name = sm_rules_next_word(&args);
	if (!name)
		return;
	int kind = sm_rules_kind_of(directive);
	if (strncmp(args, "eval:", 5) == 0)
		g_ptr_array_add(p->set->unsupported,
		                g_strdup_printf("%s:%u: %s %s %s", p->file, p->line, directive,
		                                name, args));
	else if (kind >= 0)
		p->set->skipped[kind]++;
	g_hash_table_add(p->elsewhere, name);
}

static void parse_line(Parser *p, char *line)
{
	strip_comment(line);
	const char *args = sm_rules_skip_space(line);
	if (!*args)
		return;
	g_autofree char *word = sm_rules_next_word(&args);
	g_autofree char *directive = g_ascii_strdown(word, -1);
	g_strchomp((char *)args);
	if (block_line(p, directive, args))
		return;
	if (!reading(p)) {
		skipped_line(p, directive, args);
		return;
	}
	SmDirectiveFn fn = sm_rules_directive(directive);
	if (!fn)
		fn = sm_replace_directive(directive);
	if (fn)
		fn(p, args);
	else
		g_ptr_array_add(p->set->unknown,
		                g_strdup_printf("%s:%u: %s", p->file, p->line, word));
}

/* ---- files --------------------------------------------------------------------- */

/* Taken before reading: a file changed after this is seen as stale. */
static void record_file(SmRuleSet *set, const char *path)
{
	struct stat st;
	SmRuleFile *f = g_new0(SmRuleFile, 1);
	f->path = g_strdup(path);
	if (stat(path, &st) == 0) {
		f->size = st.st_size;
		f->mtime_sec = st.st_mtim.tv_sec;
		f->mtime_nsec = st.st_mtim.tv_nsec;
		f->ino = st.st_ino;
	} else {
		f->size = -1;
	}
	g_ptr_array_add(set->files, f);
}

void sm_rule_file_free(gpointer file)
{
	SmRuleFile *f = file;
	g_free(f->path);
	g_free(f);
}

static gboolean parse_file(Parser *p, const char *path, GError **error)
{
	g_autofree char *text = NULL;
	gsize len;
	g_autoptr(GError) err = NULL;
	record_file(p->set, path);
	if (!g_file_get_contents(path, &text, &len, &err)) {
		g_set_error(error, SM_SCORE_ERROR, SM_SCORE_ERROR_RULES, "cannot read rules: %s",
		            err->message);
		return FALSE;
	}
	/* Blocks do not cross files: each file starts at the top level. */
	const char *outer_file = p->file;
	guint outer_line = p->line;
	GArray *outer_blocks = p->blocks;
	p->blocks = g_array_new(FALSE, FALSE, sizeof(Block));
	p->file = path;
	p->line = 0;
	char *line = text;
	while (line < text + len) {
		char *nl = memchr(line, '\n', text + len - line);
		char *next = nl ? nl + 1 : text + len;
		if (nl)
			*nl = '\0';
		p->line++;
		parse_line(p, line);
		line = next;
	}
	for (guint i = 0; i < p->blocks->len; i++) {
		p->line = g_array_index(p->blocks, Block, i).line;
		sm_rules_problem(p, "if block not closed by endif at the end of the file");
	}
	g_array_free(p->blocks, TRUE);
	p->blocks = outer_blocks;
	p->file = outer_file;
	p->line = outer_line;
	return TRUE;
}

void sm_rules_include(Parser *p, const char *path)
{
	if (p->depth >= MAX_INCLUDE_DEPTH) {
		sm_rules_problem(p, "include %s: nested more than %d deep; skipped", path,
		                 MAX_INCLUDE_DEPTH);
		return;
	}
	g_autofree char *dir = g_path_get_dirname(p->file);
	g_autofree char *full = g_path_is_absolute(path) ? g_strdup(path)
	                                                 : g_build_filename(dir, path, NULL);
	g_autoptr(GError) err = NULL;
	p->depth++;
	if (!parse_file(p, full, &err))
		sm_rules_problem(p, "include: %s", err->message);
	p->depth--;
}

static gint compare_strings(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static gboolean parse_dir(Parser *p, const char *dir, GError **error)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GDir) d = g_dir_open(dir, 0, &err);
	if (!d) {
		g_set_error(error, SM_SCORE_ERROR, SM_SCORE_ERROR_RULES, "cannot read rules: %s",
		            err->message);
		return FALSE;
	}
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	for (const char *n; (n = g_dir_read_name(d));)
		if (g_str_has_suffix(n, ".cf") && n[0] != '.')
			g_ptr_array_add(names, g_build_filename(dir, n, NULL));
	g_ptr_array_sort(names, compare_strings);
	for (guint i = 0; i < names->len; i++) {
		const char *path = names->pdata[i];
		if (g_file_test(path, G_FILE_TEST_IS_REGULAR) && !parse_file(p, path, error))
			return FALSE;
	}
	return TRUE;
}

/* ---- the rule set ---------------------------------------------------------------- */

static void slot_clear(gpointer s)
{
	g_free(((SmHeaderSlot *)s)->field);
}

static void score_line_free(gpointer p)
{
	ScoreLine *s = p;
	g_free(s->name);
	g_free(s->where);
	g_free(s);
}

void sm_rules_free(SmRuleSet *set)
{
	if (!set)
		return;
	g_ptr_array_free(set->rules, TRUE);
	g_array_free(set->slots, TRUE);
	g_ptr_array_free(set->problems, TRUE);
	g_ptr_array_free(set->unknown, TRUE);
	g_ptr_array_free(set->unsupported, TRUE);
	sm_replace_free(set->replace);
	g_ptr_array_free(set->files, TRUE);
	/* Last: the rules' stored regexes pointed into it. */
	if (set->cache)
		g_mapped_file_unref(set->cache);
	g_free(set);
}

SmRuleSet *sm_rules_new_set(guint score_set)
{
	SmRuleSet *set = g_new0(SmRuleSet, 1);
	set->rules = g_ptr_array_new_with_free_func(sm_rules_rule_free);
	set->slots = g_array_new(FALSE, FALSE, sizeof(SmHeaderSlot));
	g_array_set_clear_func(set->slots, slot_clear);
	set->problems = g_ptr_array_new_with_free_func(g_free);
	set->unknown = g_ptr_array_new_with_free_func(g_free);
	set->unsupported = g_ptr_array_new_with_free_func(g_free);
	set->files = g_ptr_array_new_with_free_func(sm_rule_file_free);
	set->score_set = score_set;
	return set;
}

SmRuleSet *sm_rules_load(const char *const *paths, guint score_set, GError **error)
{
	g_return_val_if_fail(score_set < N_SCORE_SETS, NULL);
	SmRuleSet *set = sm_rules_new_set(score_set);
	Parser p = {
		.set = set,
		.defined = g_ptr_array_new_with_free_func(sm_rules_rule_free),
		.by_name = g_hash_table_new(g_str_hash, g_str_equal),
		.score_lines = g_ptr_array_new_with_free_func(score_line_free),
		.scores = g_hash_table_new(g_str_hash, g_str_equal),
		.describes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free),
		.tflags = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free),
		.evals = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
		.elsewhere = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
		.slot_index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
	};
	gboolean ok = TRUE;
	for (guint i = 0; ok && paths && paths[i]; i++) {
		if (g_file_test(paths[i], G_FILE_TEST_IS_DIR))
			ok = parse_dir(&p, paths[i], error);
		else
			ok = parse_file(&p, paths[i], error);
	}
	if (ok)
		sm_rules_finish(&p);
	/* by_name keys are the rules' names: drop the table before the rules. */
	g_hash_table_destroy(p.by_name);
	g_ptr_array_free(p.defined, TRUE);
	g_hash_table_destroy(p.scores);
	g_ptr_array_free(p.score_lines, TRUE);
	g_hash_table_destroy(p.describes);
	g_hash_table_destroy(p.tflags);
	g_hash_table_destroy(p.evals);
	g_hash_table_destroy(p.elsewhere);
	g_hash_table_destroy(p.slot_index);
	sm_replace_free(p.replace);
	if (!ok) {
		sm_rules_free(set);
		return NULL;
	}
	return set;
}
