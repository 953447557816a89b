/* replacetags.c: SpamAssassin's ReplaceTags plugin (see rules.h).
 *
 *   replace_tag   V     (?:[vu]|\\\/)
 *   replace_inter W2    [^a-z0-9]{0,2}
 *   replace_post  P2    {1,2}
 *   body FUZZY_X  /<post P2><inter W2><V><I><A>/i
 *   replace_rules FUZZY_X
 *
 * In the regexes of the rules replace_rules names, every <NAME> of a
 * replace_tag becomes its value: "<pre X>", "<inter X>" and "<post X>" (of
 * replace_pre, replace_inter and replace_post, removed from the regex) say
 * what goes before each tag, between two tags that follow each other, and
 * after each tag. Tag values may use other tags (nested up to MAX_NESTING
 * deep, without pre, inter or post). replace_start and replace_end change
 * the "<" and ">". Tags and rules may come in any order, as in SpamAssassin:
 * the rules are only marked once every file is read, and a rule's regex is
 * made when the rule is first used (match.c), since these regexes are long
 * (up to 200 KB) and some are never needed.
 */
#include "config.h"
#include "score/rules-priv.h"

#include <string.h>

#define MAX_NESTING 8
#define MAX_NAME 64

struct SmReplaceTags {
	GHashTable *values[4];  /* tag, pre, inter, post: name -> value, owned */
	GHashTable *expanded;   /* tag name -> value with its own tags replaced */
	GHashTable *rules;      /* the rule names of replace_rules, owned */
	char *start, *end;
};

enum { TAG, PRE, INTER, POST };

static SmReplaceTags *state(Parser *p)
{
	if (!p->replace) {
		SmReplaceTags *t = g_new0(SmReplaceTags, 1);
		for (int k = 0; k < 4; k++)
			t->values[k] = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
			                                     g_free);
		t->rules = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		t->expanded = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
		t->start = g_strdup("<");
		t->end = g_strdup(">");
		p->replace = t;
	}
	return p->replace;
}

void sm_replace_free(SmReplaceTags *t)
{
	if (!t)
		return;
	for (int k = 0; k < 4; k++)
		g_hash_table_destroy(t->values[k]);
	g_hash_table_destroy(t->rules);
	g_hash_table_destroy(t->expanded);
	g_free(t->start);
	g_free(t->end);
	g_free(t);
}

/* ---- directives ----------------------------------------------------------------- */

static void define_value(Parser *p, int kind, const char *directive, const char *args)
{
	char *name = sm_rules_next_word(&args);
	if (!name || !*args || strlen(name) > MAX_NAME) {
		sm_rules_problem(p, "%s: expected a name and a value", directive);
		g_free(name);
		return;
	}
	g_hash_table_replace(state(p)->values[kind], name, g_strdup(args));
}

static void dir_tag(Parser *p, const char *args)
{
	define_value(p, TAG, "replace_tag", args);
}

static void dir_pre(Parser *p, const char *args)
{
	define_value(p, PRE, "replace_pre", args);
}

static void dir_inter(Parser *p, const char *args)
{
	define_value(p, INTER, "replace_inter", args);
}

static void dir_post(Parser *p, const char *args)
{
	define_value(p, POST, "replace_post", args);
}

static void dir_rules(Parser *p, const char *args)
{
	for (char *w; (w = sm_rules_next_word(&args));)
		g_hash_table_add(state(p)->rules, w);
}

static void set_delimiter(Parser *p, const char *args, gboolean start)
{
	g_autofree char *w = sm_rules_next_word(&args);
	if (!w || *args) {
		sm_rules_problem(p, "%s: expected one string",
		                 start ? "replace_start" : "replace_end");
		return;
	}
	char **d = start ? &state(p)->start : &state(p)->end;
	g_free(*d);
	*d = g_steal_pointer(&w);
}

static void dir_start(Parser *p, const char *args)
{
	set_delimiter(p, args, TRUE);
}

static void dir_end(Parser *p, const char *args)
{
	set_delimiter(p, args, FALSE);
}

static const struct {
	const char *name;
	SmDirectiveFn fn;
} directives[] = {
	{ "replace_tag", dir_tag }, { "replace_pre", dir_pre }, { "replace_inter", dir_inter },
	{ "replace_post", dir_post }, { "replace_rules", dir_rules },
	{ "replace_start", dir_start }, { "replace_end", dir_end },
};

SmDirectiveFn sm_replace_directive(const char *directive)
{
	for (gsize i = 0; i < G_N_ELEMENTS(directives); i++)
		if (strcmp(directive, directives[i].name) == 0)
			return directives[i].fn;
	return NULL;
}

/* ---- replacing --------------------------------------------------------------------- */

/* The name of a "<NAME>" at @s (start delimiter included) into @name, its
 * length in *@len; FALSE when @s is not one. Called at every character of
 * large regexes: no allocation, and the end is looked for nearby only. */
static gboolean tag_at(const SmReplaceTags *t, const char *s, char name[MAX_NAME + 8],
                       gsize *len)
{
	gsize ls = strlen(t->start), le = strlen(t->end);
	if (s[0] != t->start[0] || strncmp(s, t->start, ls) != 0)
		return FALSE;
	const char *n = s + ls;
	gsize k = 0;
	while (n[k] && k <= MAX_NAME + 6 && strncmp(n + k, t->end, le) != 0) {
		if (strncmp(n + k, t->start, ls) == 0)
			return FALSE;
		k++;
	}
	if (k == 0 || k > MAX_NAME + 6 || !n[k])
		return FALSE;
	memcpy(name, n, k);
	name[k] = '\0';
	*len = ls + k + le;
	return TRUE;
}

static void expand_into(SmReplaceTags *t, const char *value, int depth, GString *out);

/* The value of tag @name with the tags it uses replaced (no pre, inter,
 * post), computed once; NULL when there is no such tag. */
static const char *tag_value(SmReplaceTags *t, const char *name, int depth)
{
	const char *done = g_hash_table_lookup(t->expanded, name);
	if (done)
		return done;
	const char *v = g_hash_table_lookup(t->values[TAG], name);
	if (!v)
		return NULL;
	GString *out = g_string_new(NULL);
	expand_into(t, v, depth + 1, out);
	char *e = g_string_free(out, FALSE);
	g_hash_table_insert(t->expanded, g_strdup(name), e);
	return e;
}

static void expand_into(SmReplaceTags *t, const char *value, int depth, GString *out)
{
	for (const char *s = value; *s;) {
		char name[MAX_NAME + 8];
		gsize len;
		const char *v = depth < MAX_NESTING && tag_at(t, s, name, &len)
		                ? tag_value(t, name, depth) : NULL;
		if (v) {
			g_string_append(out, v);
			s += len;
		} else {
			g_string_append_c(out, *s++);
		}
	}
}

/* "pre X", "inter X" or "post X": which, and the value of X (or "" and a
 * problem when there is none). -1 when @name is none of them. */
static int marker(const SmReplaceTags *t, const SmScoreRule *r, const char *name,
                  const char **value, GPtrArray *problems)
{
	static const char *const words[] = { NULL, "pre ", "inter ", "post " };
	for (int k = PRE; k <= POST; k++) {
		if (!g_str_has_prefix(name, words[k]))
			continue;
		*value = g_hash_table_lookup(t->values[k], name + strlen(words[k]));
		if (!*value) {
			g_ptr_array_add(problems, g_strdup_printf("%s: %s: %s is not defined",
			                                          r->where, r->name, name));
			*value = "";
		}
		return k;
	}
	return -1;
}

char *sm_replace_expand(SmReplaceTags *t, const SmScoreRule *r, GPtrArray *problems)
{
	const char *around[4] = { NULL, "", "", "" };
	GString *out = g_string_new(NULL);
	gboolean any = FALSE;
	const char *last_tag_end = NULL;
	for (const char *s = r->raw; *s;) {
		char name[MAX_NAME + 8];
		gsize len;
		gboolean tag = tag_at(t, s, name, &len);
		const char *v = NULL;
		int k = tag ? marker(t, r, name, &v, problems) : -1;
		if (k >= 0) {
			around[k] = v;
		} else if (tag && (v = tag_value(t, name, 0))) {
			if (last_tag_end == s)
				g_string_append(out, around[INTER]);
			g_string_append(out, around[PRE]);
			g_string_append(out, v);
			g_string_append(out, around[POST]);
			last_tag_end = s + len;
		} else {
			g_string_append_c(out, *s++);
			continue;
		}
		any = TRUE;
		s += len;
		if (k >= 0 && last_tag_end == s - len)
			last_tag_end = s; /* a marker between two tags keeps them adjacent */
	}
	if (!any) {
		g_string_free(out, TRUE);
		return NULL;
	}
	return g_string_free(out, FALSE);
}

void sm_replace_mark(Parser *p)
{
	if (!p->replace)
		return;
	for (guint i = 0; i < p->defined->len; i++) {
		SmScoreRule *r = p->defined->pdata[i];
		if (r && r->raw && g_hash_table_contains(p->replace->rules, r->name))
			r->tagged = TRUE;
	}
	p->set->replace = g_steal_pointer(&p->replace);
}
