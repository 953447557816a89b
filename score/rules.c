/* rules.c: the rule-file parser (see rules.h for the language it accepts).
 *
 * Loading is two passes. Reading the files collects definitions, score lines
 * and descriptions separately, because SpamAssassin lets a score come before
 * or after its rule, even from another file. Finishing then joins them and
 * keeps only the rules that will run. Each directive is one function found
 * through the table at the bottom, so the full language can grow here.
 */
#include "config.h"
#include "score/rules.h"
#include "score/perlre.h"
#include "score/score.h"

#include <string.h>

#define N_SCORE_SETS 4

typedef struct {
	char *name;
	double value[N_SCORE_SETS];
	char *where;
} ScoreLine;

typedef struct {
	SmRuleSet *set;
	GPtrArray *defined;     /* SmScoreRule *, owned, definition order */
	GHashTable *by_name;    /* name -> index + 1 in defined */
	GPtrArray *score_lines; /* ScoreLine *, owned, file order */
	GHashTable *scores;     /* name -> the last ScoreLine for it */
	GHashTable *describes;  /* name -> text, owned */
	GHashTable *slot_index; /* "form:field" (field lowercased) -> index + 1 */
	const char *file;
	guint line;
} Parser;

static void rule_free(gpointer p)
{
	SmScoreRule *r = p;
	if (!r)
		return;
	sm_regex_free(r->re);
	g_free(r->name);
	g_free(r->if_unset);
	g_free(r->describe);
	g_free(r->where);
	g_free(r);
}

static void score_line_free(gpointer p)
{
	ScoreLine *s = p;
	g_free(s->name);
	g_free(s->where);
	g_free(s);
}

static void slot_clear(gpointer p)
{
	g_free(((SmHeaderSlot *)p)->field);
}

static char *where(const Parser *p)
{
	return g_strdup_printf("%s:%u", p->file, p->line);
}

static void problem(Parser *p, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void problem(Parser *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_ptr_array_add(p->set->problems, g_strdup_printf("%s:%u: %s", p->file, p->line, msg));
}

/* ---- small lexing helpers ------------------------------------------------ */

static const char *skip_space(const char *s)
{
	while (g_ascii_isspace(*s))
		s++;
	return s;
}

/* The next white-space-separated word of *@s (newly allocated), or NULL. */
static char *next_word(const char **s)
{
	const char *p = skip_space(*s);
	const char *e = p;
	while (*e && !g_ascii_isspace(*e))
		e++;
	*s = skip_space(e);
	return e > p ? g_strndup(p, e - p) : NULL;
}

static gboolean valid_rule_name(const char *name)
{
	if (!name || !*name)
		return FALSE;
	for (const char *c = name; *c; c++)
		if (!g_ascii_isalnum(*c) && *c != '_')
			return FALSE;
	return TRUE;
}

/* A field name as RFC 5322 allows it (printable, no colon, no space). */
static gboolean valid_field(const char *s, gsize len)
{
	if (len == 0)
		return FALSE;
	for (gsize i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] >= 127 || s[i] == ':')
			return FALSE;
	return TRUE;
}

/* The rule name that starts @args, validated; problems are recorded. */
static char *rule_name(Parser *p, const char **args, const char *directive)
{
	char *name = next_word(args);
	if (!name) {
		problem(p, "%s: missing rule name", directive);
		return NULL;
	}
	if (!valid_rule_name(name)) {
		problem(p, "%s: bad rule name '%s' (letters, digits and _ only)", directive, name);
		g_free(name);
		return NULL;
	}
	return name;
}

/* ---- definitions ------------------------------------------------------- */

static guint slot_for(Parser *p, const char *field, gsize len, SmHeaderForm form)
{
	g_autofree char *lower = g_ascii_strdown(field, len);
	char *key = g_strdup_printf("%d:%s", (int)form, lower);
	gpointer found = g_hash_table_lookup(p->slot_index, key);
	if (found) {
		g_free(key);
		return GPOINTER_TO_UINT(found) - 1;
	}
	SmHeaderSlot slot = { .field = g_strndup(field, len), .form = form };
	g_array_append_val(p->set->slots, slot);
	g_hash_table_insert(p->slot_index, key, GUINT_TO_POINTER(p->set->slots->len));
	return p->set->slots->len - 1;
}

/* Adds @r, replacing an earlier rule of the same name in its place. */
static void define(Parser *p, SmScoreRule *r)
{
	r->where = where(p);
	gpointer idx = g_hash_table_lookup(p->by_name, r->name);
	if (idx) {
		/* The table's key is the old rule's name: swap it before freeing. */
		guint i = GPOINTER_TO_UINT(idx) - 1;
		g_hash_table_replace(p->by_name, r->name, idx);
		rule_free(p->defined->pdata[i]);
		p->defined->pdata[i] = r;
		return;
	}
	g_ptr_array_add(p->defined, r);
	g_hash_table_insert(p->by_name, r->name, GUINT_TO_POINTER(p->defined->len));
}

static gboolean parse_form(const char *mod, SmHeaderForm *form)
{
	static const struct { const char *name; SmHeaderForm form; } forms[] = {
		{ "raw", SM_HDR_RAW }, { "addr", SM_HDR_ADDR }, { "name", SM_HDR_NAME },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(forms); i++) {
		if (strcmp(mod, forms[i].name) == 0) {
			*form = forms[i].form;
			return TRUE;
		}
	}
	return FALSE;
}

/* "Field", "Field:mod", "ALL", "ALL:raw" up to white space or the operator. */
static gboolean parse_header_spec(Parser *p, const char **args, SmScoreRule *r)
{
	const char *s = *args;
	const char *e = s;
	while (*e && !g_ascii_isspace(*e) && !((*e == '=' || *e == '!') && e[1] == '~'))
		e++;
	const char *colon = memchr(s, ':', e - s);
	gsize flen = colon ? (gsize)(colon - s) : (gsize)(e - s);
	if (!valid_field(s, flen)) {
		problem(p, "header %s: expected a header name", r->name);
		return FALSE;
	}
	SmHeaderForm form = SM_HDR_DECODED;
	if (colon) {
		g_autofree char *mod = g_strndup(colon + 1, e - colon - 1);
		if (!parse_form(mod, &form)) {
			problem(p, "header %s: unknown modifier ':%s' (raw, addr, name)", r->name, mod);
			return FALSE;
		}
	}
	if (flen == 3 && g_ascii_strncasecmp(s, "ALL", 3) == 0 &&
	    form != SM_HDR_DECODED && form != SM_HDR_RAW) {
		problem(p, "header %s: ALL takes only :raw", r->name);
		return FALSE;
	}
	r->slot = slot_for(p, s, flen, form);
	*args = skip_space(e);
	return TRUE;
}

/* After the regex: nothing, or "[if-unset: TEXT]". */
static gboolean parse_header_tail(Parser *p, const char *s, SmScoreRule *r)
{
	s = skip_space(s);
	if (!*s)
		return TRUE;
	static const char tag[] = "[if-unset:";
	const char *close = strrchr(s, ']');
	if (g_ascii_strncasecmp(s, tag, sizeof tag - 1) != 0 || !close || *skip_space(close + 1)) {
		problem(p, "header %s: unexpected text after the regex: %s", r->name, s);
		return FALSE;
	}
	g_autofree char *v = g_strndup(s + sizeof tag - 1, close - s - (sizeof tag - 1));
	r->if_unset = g_strdup(g_strstrip(v));
	return TRUE;
}

static gboolean parse_exists(Parser *p, const char *s, SmScoreRule *r)
{
	g_autofree char *field = next_word(&s);
	if (!field || *s || !valid_field(field, strlen(field))) {
		problem(p, "header %s: exists: takes one header name", r->name);
		return FALSE;
	}
	r->exists = TRUE;
	r->slot = slot_for(p, field, strlen(field), SM_HDR_RAW);
	return TRUE;
}

static gboolean compile_into(Parser *p, const char *s, guint extra, SmScoreRule *r,
                             const char **end)
{
	g_autoptr(GError) err = NULL;
	r->re = sm_perlre_compile(s, extra, end, &err);
	if (!r->re) {
		problem(p, "%s: %s", r->name, err->message);
		return FALSE;
	}
	return TRUE;
}

static gboolean refuse_eval(Parser *p, const char *s, const char *name)
{
	if (strncmp(s, "eval:", 5) != 0)
		return FALSE;
	problem(p, "%s: eval: tests are not supported yet", name);
	return TRUE;
}

/* ---- directives: one function each ---------------------------------------- */

static void dir_header(Parser *p, const char *args)
{
	SmScoreRule *r = g_new0(SmScoreRule, 1);
	r->kind = SM_RULE_HEADER;
	r->name = rule_name(p, &args, "header");
	gboolean ok = r->name && !refuse_eval(p, args, r->name);
	if (ok && strncmp(args, "exists:", 7) == 0) {
		ok = parse_exists(p, args + 7, r);
	} else if (ok && parse_header_spec(p, &args, r)) {
		const char *end = NULL;
		if ((args[0] != '=' && args[0] != '!') || args[1] != '~') {
			problem(p, "header %s: expected =~ or !~", r->name);
			ok = FALSE;
		} else {
			r->negate = args[0] == '!';
			ok = compile_into(p, skip_space(args + 2), 0, r, &end) &&
			     parse_header_tail(p, end, r);
		}
	} else {
		ok = FALSE;
	}
	if (ok)
		define(p, r);
	else
		rule_free(r);
}

/* Body text comes one paragraph per line (render.h), and SpamAssassin matches
 * each paragraph on its own, so ^ and $ must work per line: multiline always. */
static void dir_body(Parser *p, const char *args)
{
	SmScoreRule *r = g_new0(SmScoreRule, 1);
	r->kind = SM_RULE_BODY;
	r->name = rule_name(p, &args, "body");
	const char *end = NULL;
	gboolean ok = r->name && !refuse_eval(p, args, r->name) &&
	              compile_into(p, args, SM_REGEX_MULTILINE, r, &end);
	if (ok && *skip_space(end)) {
		problem(p, "body %s: unexpected text after the regex: %s", r->name, skip_space(end));
		ok = FALSE;
	}
	if (ok)
		define(p, r);
	else
		rule_free(r);
}

/* A number, optionally in parentheses (SpamAssassin's "do not re-tune" mark). */
static gboolean parse_number(const char *word, double *out)
{
	g_autofree char *w = g_strdup(word);
	char *s = w;
	gsize n = strlen(s);
	if (n >= 2 && s[0] == '(' && s[n - 1] == ')') {
		s[n - 1] = '\0';
		s++;
	}
	char *end = NULL;
	*out = g_ascii_strtod(s, &end);
	return end != s && *end == '\0';
}

static void dir_score(Parser *p, const char *args)
{
	g_autofree char *name = rule_name(p, &args, "score");
	if (!name)
		return;
	double v[N_SCORE_SETS];
	guint n = 0;
	for (char *w; (w = next_word(&args)); g_free(w)) {
		if (n == N_SCORE_SETS || !parse_number(w, &v[n])) {
			problem(p, "score %s: expected 1 or 4 numbers", name);
			g_free(w);
			return;
		}
		n++;
	}
	if (n != 1 && n != N_SCORE_SETS) {
		problem(p, "score %s: expected 1 or 4 numbers", name);
		return;
	}
	ScoreLine *s = g_new0(ScoreLine, 1);
	s->name = g_strdup(name);
	for (guint i = 0; i < N_SCORE_SETS; i++)
		s->value[i] = n == 1 ? v[0] : v[i];
	s->where = where(p);
	g_ptr_array_add(p->score_lines, s);
	g_hash_table_insert(p->scores, s->name, s);
}

static void dir_describe(Parser *p, const char *args)
{
	char *name = rule_name(p, &args, "describe");
	if (name)
		g_hash_table_insert(p->describes, name, g_strdup(args));
}

/* Checked but ignored: sortmail's configured threshold is the one that counts,
 * so a rule file cannot silently change what lands in the inbox. */
static void dir_required_score(Parser *p, const char *args)
{
	g_autofree char *w = next_word(&args);
	double v;
	if (!w || *args || !parse_number(w, &v))
		problem(p, "required_score: expected one number");
}

typedef void (*DirectiveFn)(Parser *p, const char *args);

static const struct {
	const char *name;
	DirectiveFn fn;
} directives[] = {
	{ "header", dir_header },
	{ "body", dir_body },
	{ "score", dir_score },
	{ "describe", dir_describe },
	{ "required_score", dir_required_score },
};

/* ---- files --------------------------------------------------------------- */

/* Cuts a comment: '#' up to the end of the line, unless escaped as "\#", which
 * then stands for a plain '#'. Works in place. */
static void strip_comment(char *line)
{
	char *out = line;
	for (char *in = line; *in; in++) {
		if (*in == '#' && (in == line || in[-1] != '\\'))
			break;
		if (*in == '\\' && in[1] == '#')
			continue;
		*out++ = *in;
	}
	*out = '\0';
}

static void parse_line(Parser *p, char *line)
{
	strip_comment(line);
	const char *args = skip_space(line);
	if (!*args)
		return;
	g_autofree char *word = next_word(&args);
	g_autofree char *directive = g_ascii_strdown(word, -1);
	g_strchomp((char *)args);
	for (gsize i = 0; i < G_N_ELEMENTS(directives); i++) {
		if (strcmp(directive, directives[i].name) == 0) {
			directives[i].fn(p, args);
			return;
		}
	}
	g_ptr_array_add(p->set->unknown, g_strdup_printf("%s:%u: %s", p->file, p->line, word));
}

static gboolean parse_file(Parser *p, const char *path, GError **error)
{
	g_autofree char *text = NULL;
	gsize len;
	g_autoptr(GError) err = NULL;
	if (!g_file_get_contents(path, &text, &len, &err)) {
		g_set_error(error, SM_SCORE_ERROR, SM_SCORE_ERROR_RULES, "cannot read rules: %s",
		            err->message);
		return FALSE;
	}
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
	p->file = NULL;
	return TRUE;
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

/* ---- finishing ------------------------------------------------------------- */

static double default_score(const char *name)
{
	if (g_str_has_prefix(name, "__"))
		return 0.0;
	if (g_str_has_prefix(name, "T_"))
		return 0.01;
	return 1.0;
}

static void finish(Parser *p, guint score_set)
{
	for (guint i = 0; i < p->score_lines->len; i++) {
		ScoreLine *s = p->score_lines->pdata[i];
		if (g_hash_table_lookup(p->scores, s->name) == s &&
		    !g_hash_table_contains(p->by_name, s->name))
			g_ptr_array_add(p->set->problems,
			                g_strdup_printf("%s: score for undefined rule %s", s->where,
			                                s->name));
	}
	for (guint i = 0; i < p->defined->len; i++) {
		SmScoreRule *r = p->defined->pdata[i];
		p->defined->pdata[i] = NULL;
		ScoreLine *s = g_hash_table_lookup(p->scores, r->name);
		r->score = s ? s->value[score_set] : default_score(r->name);
		r->describe = g_strdup(g_hash_table_lookup(p->describes, r->name));
		if (r->score == 0.0)
			rule_free(r);
		else
			g_ptr_array_add(p->set->rules, r);
	}
}

void sm_rules_free(SmRuleSet *set)
{
	if (!set)
		return;
	g_ptr_array_free(set->rules, TRUE);
	g_array_free(set->slots, TRUE);
	g_ptr_array_free(set->problems, TRUE);
	g_ptr_array_free(set->unknown, TRUE);
	g_free(set);
}

SmRuleSet *sm_rules_load(const char *const *paths, guint score_set, GError **error)
{
	g_return_val_if_fail(score_set < N_SCORE_SETS, NULL);
	SmRuleSet *set = g_new0(SmRuleSet, 1);
	set->rules = g_ptr_array_new_with_free_func(rule_free);
	set->slots = g_array_new(FALSE, FALSE, sizeof(SmHeaderSlot));
	g_array_set_clear_func(set->slots, slot_clear);
	set->problems = g_ptr_array_new_with_free_func(g_free);
	set->unknown = g_ptr_array_new_with_free_func(g_free);

	Parser p = {
		.set = set,
		.defined = g_ptr_array_new_with_free_func(rule_free),
		.by_name = g_hash_table_new(g_str_hash, g_str_equal),
		.score_lines = g_ptr_array_new_with_free_func(score_line_free),
		.scores = g_hash_table_new(g_str_hash, g_str_equal),
		.describes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free),
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
		finish(&p, score_set);
	/* by_name keys are the rules' names: drop the table before the rules. */
	g_hash_table_destroy(p.by_name);
	g_ptr_array_free(p.defined, TRUE);
	g_hash_table_destroy(p.scores);
	g_ptr_array_free(p.score_lines, TRUE);
	g_hash_table_destroy(p.describes);
	g_hash_table_destroy(p.slot_index);
	if (!ok) {
		sm_rules_free(set);
		return NULL;
	}
	return set;
}
