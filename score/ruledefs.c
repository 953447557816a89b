/* ruledefs.c: the directives of rule files, one function each (see rules.h
 * for the language, rules.c for how lines reach these functions). */
#include "config.h"
#include "score/rules-priv.h"
#include "score/perlre.h"
#include "score/score.h"

#include <string.h>

void sm_rules_rule_free(gpointer rule)
{
	SmScoreRule *r = rule;
	if (!r)
		return;
	sm_regex_free(r->re.re);
	if (!r->re.pattern_borrowed)
		g_free(r->re.pattern);
	g_strfreev(r->re.literals);
	g_free(r->raw);
	sm_meta_free(r->meta);
	g_free(r->name);
	g_free(r->if_unset);
	g_free(r->describe);
	g_free(r->where);
	g_free(r);
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
	char *name = sm_rules_next_word(args);
	if (!name) {
		sm_rules_problem(p, "%s: missing rule name", directive);
		return NULL;
	}
	if (!valid_rule_name(name)) {
		sm_rules_problem(p, "%s: bad rule name '%s' (letters, digits and _ only)",
		                 directive, name);
		g_free(name);
		return NULL;
	}
	return name;
}

/* ---- definitions ------------------------------------------------------- */

static guint slot_for(Parser *p, const char *field, gsize len, SmHeaderForm form,
                      SmHeaderPick pick)
{
	g_autofree char *lower = g_ascii_strdown(field, len);
	char *key = g_strdup_printf("%d:%d:%s", (int)form, (int)pick, lower);
	gpointer found = g_hash_table_lookup(p->slot_index, key);
	if (found) {
		g_free(key);
		return GPOINTER_TO_UINT(found) - 1;
	}
	SmHeaderSlot slot = { .field = g_strndup(field, len), .form = form, .pick = pick };
	g_array_append_val(p->set->slots, slot);
	g_hash_table_insert(p->slot_index, key, GUINT_TO_POINTER(p->set->slots->len));
	return p->set->slots->len - 1;
}

/* Forgets the definition of @name, if any. */
static void undefine(Parser *p, const char *name)
{
	gpointer idx = g_hash_table_lookup(p->by_name, name);
	if (!idx)
		return;
	guint i = GPOINTER_TO_UINT(idx) - 1;
	/* The table's key is the old rule's name: drop it before the rule. */
	g_hash_table_remove(p->by_name, name);
	sm_rules_rule_free(p->defined->pdata[i]);
	p->defined->pdata[i] = NULL;
}

/* Adds @r, replacing an earlier rule of the same name. */
static void define(Parser *p, SmScoreRule *r)
{
	r->where = sm_rules_where(p);
	undefine(p, r->name);
	g_hash_table_remove(p->evals, r->name);
	g_ptr_array_add(p->defined, r);
	g_hash_table_insert(p->by_name, r->name, GUINT_TO_POINTER(p->defined->len));
}

/* "NAME eval:..." rules run Perl code sortmail does not have: listed, not run. */
static gboolean is_eval(Parser *p, const char *args, const char *kind, const char *name)
{
	if (strncmp(args, "eval:", 5) != 0)
		return FALSE;
	g_ptr_array_add(p->set->unsupported,
	                g_strdup_printf("%s:%u: %s %s %s", p->file, p->line, kind, name, args));
	undefine(p, name);
	g_hash_table_add(p->evals, g_strdup(name));
	return TRUE;
}

static gboolean parse_modifier(const char *mod, SmHeaderForm *form, SmHeaderPick *pick)
{
	static const struct { const char *name; SmHeaderForm form; } forms[] = {
		{ "raw", SM_HDR_RAW }, { "addr", SM_HDR_ADDR }, { "name", SM_HDR_NAME },
	};
	if (strcmp(mod, "first") == 0 || strcmp(mod, "last") == 0) {
		*pick = mod[0] == 'f' ? SM_HDR_FIRST : SM_HDR_LAST;
		return TRUE;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(forms); i++) {
		if (strcmp(mod, forms[i].name) != 0)
			continue;
		/* :raw with :addr or :name: the addresses are parsed either way. */
		if (*form == SM_HDR_DECODED || forms[i].form != SM_HDR_RAW)
			*form = forms[i].form;
		return TRUE;
	}
	return FALSE;
}

/* "Field", "Field:mod:mod", "ALL", "ALL:raw" up to white space or the operator. */
static gboolean parse_header_spec(Parser *p, const char **args, SmScoreRule *r)
{
	const char *s = *args;
	const char *e = s;
	while (*e && !g_ascii_isspace(*e) && !((*e == '=' || *e == '!') && e[1] == '~'))
		e++;
	const char *colon = memchr(s, ':', e - s);
	gsize flen = colon ? (gsize)(colon - s) : (gsize)(e - s);
	if (!valid_field(s, flen)) {
		sm_rules_problem(p, "header %s: expected a header name", r->name);
		return FALSE;
	}
	SmHeaderForm form = SM_HDR_DECODED;
	SmHeaderPick pick = SM_HDR_EVERY;
	if (colon) {
		g_autofree char *spec = g_strndup(colon + 1, e - colon - 1);
		g_auto(GStrv) mods = g_strsplit(spec, ":", -1);
		for (char **m = mods; *m; m++) {
			if (!parse_modifier(*m, &form, &pick)) {
				sm_rules_problem(p, "header %s: unknown modifier ':%s' "
				                 "(raw, addr, name, first, last)", r->name, *m);
				return FALSE;
			}
		}
	}
	if (flen == 3 && strncmp(s, "ALL", 3) == 0 &&
	    form != SM_HDR_DECODED && form != SM_HDR_RAW) {
		sm_rules_problem(p, "header %s: ALL takes only :raw", r->name);
		return FALSE;
	}
	r->slot = slot_for(p, s, flen, form, pick);
	*args = sm_rules_skip_space(e);
	return TRUE;
}

/* After the regex: nothing, or "[if-unset: TEXT]". */
static gboolean parse_header_tail(Parser *p, const char *s, SmScoreRule *r)
{
	s = sm_rules_skip_space(s);
	if (!*s)
		return TRUE;
	static const char tag[] = "[if-unset:";
	const char *close = strrchr(s, ']');
	if (g_ascii_strncasecmp(s, tag, sizeof tag - 1) != 0 || !close ||
	    *sm_rules_skip_space(close + 1)) {
		sm_rules_problem(p, "header %s: unexpected text after the regex: %s", r->name, s);
		return FALSE;
	}
	g_autofree char *v = g_strndup(s + sizeof tag - 1, close - s - (sizeof tag - 1));
	r->if_unset = g_strdup(g_strstrip(v));
	return TRUE;
}

static gboolean parse_exists(Parser *p, const char *s, SmScoreRule *r)
{
	g_autofree char *field = sm_rules_next_word(&s);
	if (!field || *s || !valid_field(field, strlen(field))) {
		sm_rules_problem(p, "header %s: exists: takes one header name", r->name);
		return FALSE;
	}
	r->exists = TRUE;
	r->slot = slot_for(p, field, strlen(field), SM_HDR_RAW, SM_HDR_EVERY);
	return TRUE;
}

/* How each kind's regexes are read: sm_perlre_parse() options, and
 * SM_REGEX_* flags that mean nothing for the kind. Body text is one
 * paragraph per line (render.h), which SpamAssassin matches one by one:
 * anchors work per line, and since a paragraph holds no newline, /s changes
 * nothing there (here it would let '.' cross paragraphs). */
static const struct {
	guint options;
	guint ignored;
} kind_regex[SM_RULE_N_KINDS] = {
	[SM_RULE_BODY] = { SM_PERLRE_LINES, SM_REGEX_DOTALL },
	[SM_RULE_RAWBODY] = { SM_PERLRE_LINES, 0 },
};

/* Reads the regex literal at @s into @r's pattern (compiled later, on
 * first use); *@end points after it. */
static gboolean read_regex(SmScoreRule *r, const char *s, const char **end, GError **error)
{
	guint flags;
	char *pattern = sm_perlre_parse(s, kind_regex[r->kind].options, &flags, end, error);
	if (!pattern)
		return FALSE;
	if (!r->re.pattern_borrowed)
		g_free(r->re.pattern);
	r->re.pattern_borrowed = FALSE;
	r->re.pattern = pattern;
	r->re.flags = flags & ~kind_regex[r->kind].ignored;
	return TRUE;
}

/* read_regex() at parse time: problems recorded; the literal is kept as
 * written in r->raw until the rules are finished (ReplaceTags uses it). */
static gboolean regex_into(Parser *p, const char *s, SmScoreRule *r, const char **end)
{
	g_autoptr(GError) err = NULL;
	if (!read_regex(r, s, end, &err)) {
		sm_rules_problem(p, "%s: %s", r->name, err->message);
		return FALSE;
	}
	g_free(r->raw);
	r->raw = g_strndup(s, *end - s);
	return TRUE;
}

gboolean sm_rules_set_regex(SmScoreRule *r, const char *raw, GError **error)
{
	const char *end = NULL;
	if (!read_regex(r, raw, &end, error))
		return FALSE;
	if (*end) {
		g_set_error(error, SM_SCORE_ERROR, SM_SCORE_ERROR_RULES,
		            "unexpected text after the regex: %s", end);
		return FALSE;
	}
	return TRUE;
}

static SmScoreRule *new_rule(Parser *p, const char **args, SmRuleKind kind)
{
	const char *kname = sm_rule_kind_name(kind);
	char *name = rule_name(p, args, kname);
	if (!name)
		return NULL;
	if (is_eval(p, *args, kname, name)) {
		g_free(name);
		return NULL;
	}
	SmScoreRule *r = g_new0(SmScoreRule, 1);
	r->kind = kind;
	r->name = name;
	return r;
}

static void finish_rule(Parser *p, SmScoreRule *r, gboolean ok)
{
	if (ok)
		define(p, r);
	else
		sm_rules_rule_free(r);
}

static void dir_header(Parser *p, const char *args)
{
	SmScoreRule *r = new_rule(p, &args, SM_RULE_HEADER);
	if (!r)
		return;
	gboolean ok;
	if (strncmp(args, "exists:", 7) == 0) {
		ok = parse_exists(p, args + 7, r);
	} else if (!parse_header_spec(p, &args, r)) {
		ok = FALSE;
	} else if ((args[0] != '=' && args[0] != '!') || args[1] != '~') {
		sm_rules_problem(p, "header %s: expected =~ or !~", r->name);
		ok = FALSE;
	} else {
		const char *end = NULL;
		r->negate = args[0] == '!';
		ok = regex_into(p, sm_rules_skip_space(args + 2), r, &end) &&
		     parse_header_tail(p, end, r);
	}
	finish_rule(p, r, ok);
}

/* body, rawbody, uri, full: "NAME /re/flags" and nothing after. */
static void regex_rule(Parser *p, const char *args, SmRuleKind kind)
{
	SmScoreRule *r = new_rule(p, &args, kind);
	if (!r)
		return;
	const char *end = NULL;
	gboolean ok = regex_into(p, args, r, &end);
	if (ok && *sm_rules_skip_space(end)) {
		sm_rules_problem(p, "%s %s: unexpected text after the regex: %s",
		                 sm_rule_kind_name(kind), r->name, sm_rules_skip_space(end));
		ok = FALSE;
	}
	finish_rule(p, r, ok);
}

static void dir_body(Parser *p, const char *args)
{
	regex_rule(p, args, SM_RULE_BODY);
}

static void dir_rawbody(Parser *p, const char *args)
{
	regex_rule(p, args, SM_RULE_RAWBODY);
}

static void dir_uri(Parser *p, const char *args)
{
	regex_rule(p, args, SM_RULE_URI);
}

static void dir_full(Parser *p, const char *args)
{
	regex_rule(p, args, SM_RULE_FULL);
}

/* MIMEHeader: "mimeheader NAME Field[:raw] =~ /re/", tried on the field of
 * every MIME part that has one. */
static void dir_mimeheader(Parser *p, const char *args)
{
	SmScoreRule *r = new_rule(p, &args, SM_RULE_MIMEHEADER);
	if (!r)
		return;
	g_autofree char *spec = sm_rules_next_word(&args);
	char *colon = spec ? strchr(spec, ':') : NULL;
	gboolean raw = colon && strcmp(colon, ":raw") == 0;
	if (colon && (raw || !colon[1]))
		*colon = '\0';
	gboolean ok = FALSE;
	const char *end = NULL;
	if (!spec || !valid_field(spec, strlen(spec)))
		sm_rules_problem(p, "mimeheader %s: expected a header name (:raw allowed)",
		                 r->name);
	else if (strncmp(args, "=~", 2) != 0)
		sm_rules_problem(p, "mimeheader %s: expected =~", r->name);
	else
		ok = regex_into(p, sm_rules_skip_space(args + 2), r, &end);
	if (ok && *sm_rules_skip_space(end)) {
		sm_rules_problem(p, "mimeheader %s: unexpected text after the regex", r->name);
		ok = FALSE;
	}
	if (ok)
		r->slot = slot_for(p, spec, strlen(spec), raw ? SM_HDR_RAW : SM_HDR_DECODED,
		                   SM_HDR_PARTS);
	finish_rule(p, r, ok);
}

static void dir_meta(Parser *p, const char *args)
{
	SmScoreRule *r = new_rule(p, &args, SM_RULE_META);
	if (!r)
		return;
	g_autoptr(GError) err = NULL;
	r->meta = sm_meta_parse(args, &err);
	if (!r->meta)
		sm_rules_problem(p, "%s: %s", r->name, err->message);
	finish_rule(p, r, r->meta != NULL);
}

/* ---- attributes of rules ------------------------------------------------- */

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
	for (char *w; (w = sm_rules_next_word(&args)); g_free(w)) {
		if (n == N_SCORE_SETS || !parse_number(w, &v[n])) {
			sm_rules_problem(p, "score %s: expected 1 or 4 numbers", name);
			g_free(w);
			return;
		}
		n++;
	}
	if (n != 1 && n != N_SCORE_SETS) {
		sm_rules_problem(p, "score %s: expected 1 or 4 numbers", name);
		return;
	}
	ScoreLine *s = g_new0(ScoreLine, 1);
	s->name = g_strdup(name);
	for (guint i = 0; i < N_SCORE_SETS; i++)
		s->value[i] = n == 1 ? v[0] : v[i];
	s->where = sm_rules_where(p);
	g_ptr_array_add(p->score_lines, s);
	g_hash_table_insert(p->scores, s->name, s);
}

static void dir_describe(Parser *p, const char *args)
{
	char *name = rule_name(p, &args, "describe");
	if (name)
		g_hash_table_insert(p->describes, name, g_strdup(args));
}

/* Flags that change nothing here (publish, userconf, learn, ...) are accepted
 * silently: they matter to SpamAssassin's tools, not to scoring. */
static void dir_tflags(Parser *p, const char *args)
{
	char *name = rule_name(p, &args, "tflags");
	if (!name)
		return;
	Tflags *t = g_new0(Tflags, 1);
	for (char *w; (w = sm_rules_next_word(&args)); g_free(w)) {
		guint64 n;
		if (strcmp(w, "nice") == 0)
			t->flags |= SM_TFLAG_NICE;
		else if (strcmp(w, "multiple") == 0)
			t->flags |= SM_TFLAG_MULTIPLE;
		else if (strcmp(w, "nosubject") == 0)
			t->flags |= SM_TFLAG_NOSUBJECT;
		else if (strcmp(w, "net") == 0)
			t->flags |= SM_TFLAG_NET;
		else if (g_str_has_prefix(w, "maxhits=") &&
		         g_ascii_string_to_unsigned(w + 8, 10, 1, G_MAXUINT, &n, NULL))
			t->maxhits = (guint)n;
	}
	g_hash_table_insert(p->tflags, name, t);
}

/* Checked but ignored: sortmail's configured threshold is the one that counts,
 * so a rule file cannot silently change what lands in the inbox. */
static void dir_required_score(Parser *p, const char *args)
{
	g_autofree char *w = sm_rules_next_word(&args);
	double v;
	if (!w || *args || !parse_number(w, &v))
		sm_rules_problem(p, "required_score: expected one number");
}

static void dir_include(Parser *p, const char *args)
{
	if (!*args)
		sm_rules_problem(p, "include: missing file name");
	else
		sm_rules_include(p, args);
}

/* Translations of descriptions and reports. */
static void dir_lang(Parser *p, const char *args)
{
}

static const struct {
	const char *name;
	SmDirectiveFn fn;
	gboolean defines;
} directives[] = {
	{ "header", dir_header, TRUE },
	{ "body", dir_body, TRUE },
	{ "rawbody", dir_rawbody, TRUE },
	{ "uri", dir_uri, TRUE },
	{ "full", dir_full, TRUE },
	{ "mimeheader", dir_mimeheader, TRUE },
	{ "meta", dir_meta, TRUE },
	{ "score", dir_score, FALSE },
	{ "describe", dir_describe, FALSE },
	{ "tflags", dir_tflags, FALSE },
	{ "required_score", dir_required_score, FALSE },
	{ "include", dir_include, FALSE },
	{ "lang", dir_lang, FALSE },
};

SmDirectiveFn sm_rules_directive(const char *directive)
{
	for (gsize i = 0; i < G_N_ELEMENTS(directives); i++)
		if (strcmp(directive, directives[i].name) == 0)
			return directives[i].fn;
	return NULL;
}

gboolean sm_rules_defines(const char *directive)
{
	for (gsize i = 0; i < G_N_ELEMENTS(directives); i++)
		if (strcmp(directive, directives[i].name) == 0)
			return directives[i].defines;
	/* Rule types of plugins sortmail lacks define names metas may use. */
	return strcmp(directive, "askdns") == 0 ||
	       strcmp(directive, "urirhssub") == 0 || strcmp(directive, "uridnsbl") == 0 ||
	       strcmp(directive, "urirhsbl") == 0 || strcmp(directive, "uridnssub") == 0;
}
