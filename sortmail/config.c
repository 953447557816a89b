/* config.c: reading ~/.sortmail/config (the format is sortmail.conf(5)).
 *
 * Contract: a config either parses completely or not at all: any error fails
 * the load, reported as "FILE:LINE: message" (the first one), so that lda/
 * can keep the mail queued instead of sorting with half a configuration.
 * Every line is parsed all the same: a line with an error is skipped and the
 * parse goes on, so that `sortmail check` (sm_config_load_all) can report
 * every problem of a file at once. A missing file is not an error (documented
 * defaults); every other read failure is.
 * Paths are made absolute here ("~/x" and "x" both mean $HOME/x), so nothing
 * downstream depends on the working directory.
 */
#include "config.h"
#include "sortmail/config-priv.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

G_DEFINE_QUARK(sm-config-error-quark, sm_config_error)

#define DEADLINE_MAX 86400

gboolean sm_config_fail(const SmConfigParser *p, GError **error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, SM_CONFIG_ERROR, SM_CONFIG_ERROR_PARSE, "%s:%u: %s",
	            p->file, p->line, msg);
	return FALSE;
}

static const char *home_of(const SmEnvelope *env)
{
	return env && env->home && *env->home ? env->home : g_get_home_dir();
}

/* "~" and "~/x" start at the home directory; so do relative paths. */
static char *expand_path(const SmEnvelope *env, const char *path)
{
	if (!*path)
		return NULL;
	if (strcmp(path, "~") == 0)
		return g_strdup(home_of(env));
	if (g_str_has_prefix(path, "~/"))
		return g_build_filename(home_of(env), path + 2, NULL);
	if (g_path_is_absolute(path))
		return g_strdup(path);
	return g_build_filename(home_of(env), path, NULL);
}

char *sm_config_path(const SmConfigParser *p, const char *path)
{
	return expand_path(p->env, path);
}

static void unplus_free(SmUnplus *u)
{
	sm_regex_free(u->re);
	g_free(u->pattern);
	g_free(u->replacement);
	g_free(u);
}

static SmConfig *config_new(const SmEnvelope *env)
{
	SmConfig *c = g_new0(SmConfig, 1);
	c->format = SM_FORMAT_MAILDIR;
	c->mailbox_root = g_build_filename(home_of(env), "Maildir", NULL);
	c->personal = g_ptr_array_new_with_free_func(g_free);
	c->unplus = g_ptr_array_new_with_free_func((GDestroyNotify)unplus_free);
	c->ube_folder = g_strdup("ube");
	c->ubetrap_folder = g_strdup("ubetrap");
	c->required_score = 5.0;
	c->max_score_size = 10 * 1024 * 1024;
	c->rule_files = g_ptr_array_new_with_free_func(g_free);
	c->scorer_settings = g_ptr_array_new_with_free_func(g_free);
	c->rules = g_ptr_array_new_with_free_func((GDestroyNotify)sm_rule_free);
	c->syslog = TRUE;
	c->deadline = 900;
	c->cache_path = g_build_filename(home_of(env), ".sortmail", "verdicts.db", NULL);
	c->rule_cache = g_build_filename(home_of(env), ".sortmail", "rules.cache", NULL);
	c->cache_ttl = 86400;
	c->cache_ttl_degraded = 600;
	c->cache_wait = 30;
	c->duplicates = TRUE;
	c->sendmail = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(c->sendmail, g_strdup("/usr/sbin/sendmail"));
	c->sendmail_timeout = 60;
	c->pipe_timeout = 60;
	c->templates_dir = g_build_filename(home_of(env), ".sortmail", "templates", NULL);
	c->reply_memory = g_build_filename(home_of(env), ".sortmail", "replied.db", NULL);
	c->origins = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	c->lists = g_ptr_array_new_with_free_func((GDestroyNotify)sm_list_free);
	return c;
}

void sm_config_free(SmConfig *c)
{
	if (!c)
		return;
	g_free(c->path);
	g_free(c->mailbox_root);
	g_free(c->mbox_inbox);
	g_ptr_array_free(c->personal, TRUE);
	g_ptr_array_free(c->unplus, TRUE);
	g_free(c->ube_folder);
	g_free(c->ubetrap_folder);
	g_ptr_array_free(c->rule_files, TRUE);
	g_ptr_array_free(c->scorer_settings, TRUE);
	g_ptr_array_free(c->rules, TRUE);
	g_free(c->log_file);
	g_free(c->scorer_module);
	g_free(c->cache_path);
	g_free(c->rule_cache);
	g_ptr_array_free(c->sendmail, TRUE);
	g_free(c->templates_dir);
	g_free(c->reply_memory);
	if (c->origins)
		g_hash_table_destroy(c->origins);
	g_ptr_array_free(c->lists, TRUE);
	g_free(c);
}

/* "user+ext@dom" -> "user@dom". With Postfix's EXTENSION known, the extension
 * and the one delimiter before it go (whatever recipient_delimiter is); else
 * everything from the first '+' of the local part. NULL when there is none. */
static char *strip_extension(const char *addr, const char *ext)
{
	const char *at = strrchr(addr, '@');
	gsize local = at ? (gsize)(at - addr) : strlen(addr);
	gsize cut;
	if (ext && *ext) {
		gsize el = strlen(ext);
		if (local < el + 2 || g_ascii_strncasecmp(addr + local - el, ext, el) != 0)
			return NULL;
		cut = local - el - 1;
	} else {
		const char *plus = memchr(addr, '+', local);
		if (!plus || plus == addr)
			return NULL;
		cut = (gsize)(plus - addr);
	}
	g_autofree char *head = g_strndup(addr, cut);
	return g_strconcat(head, at ? at : "", NULL);
}

static void default_personal(SmConfig *c, const SmEnvelope *env)
{
	if (!env || !env->recipient || !*env->recipient)
		return;
	char *addr = g_ascii_strdown(env->recipient, -1);
	g_ptr_array_add(c->personal, addr);
	char *bare = strip_extension(addr, env->extension);
	if (bare)
		g_ptr_array_add(c->personal, bare);
}

/* ---- keywords ---------------------------------------------------------- */

typedef gboolean (*KeywordFunc)(SmConfigParser *p, char **args, guint n, GError **error);

static void replace(char **slot, char *value)
{
	g_free(*slot);
	*slot = value;
}

/* Stores @arg made absolute into *@slot; an empty path is an error. */
static gboolean set_path(SmConfigParser *p, char **slot, const char *arg, GError **error)
{
	char *path = expand_path(p->env, arg);
	if (!path)
		return sm_config_fail(p, error, "empty path");
	replace(slot, path);
	return TRUE;
}

static gboolean kw_maildir(SmConfigParser *p, char **args, guint n, GError **error)
{
	p->c->format = SM_FORMAT_MAILDIR;
	replace(&p->c->mbox_inbox, NULL);
	return set_path(p, &p->c->mailbox_root, args[0], error);
}

static gboolean kw_mbox(SmConfigParser *p, char **args, guint n, GError **error)
{
	p->c->format = SM_FORMAT_MBOX;
	replace(&p->c->mbox_inbox, NULL);
	if (!set_path(p, &p->c->mailbox_root, args[0], error))
		return FALSE;
	return n < 2 || set_path(p, &p->c->mbox_inbox, args[1], error);
}

static gboolean kw_personal(SmConfigParser *p, char **args, guint n, GError **error)
{
	p->personal_seen = TRUE;
	for (guint i = 0; i < n; i++) {
		if (!*args[i])
			return sm_config_fail(p, error, "bad personal address '%s'", args[i]);
		g_ptr_array_add(p->c->personal, g_ascii_strdown(args[i], -1));
	}
	return TRUE;
}

static gboolean kw_unplus(SmConfigParser *p, char **args, guint n, GError **error)
{
	g_autoptr(GError) re_error = NULL;
	SmRegex *re = sm_regex_new(args[0], SM_REGEX_CASELESS, &re_error);
	if (!re)
		return sm_config_fail(p, error, "'%s': %s", args[0], re_error->message);
	SmUnplus *u = g_new0(SmUnplus, 1);
	u->re = re;
	u->pattern = g_strdup(args[0]);
	u->replacement = g_strdup(args[1]);
	g_ptr_array_add(p->c->unplus, u);
	return TRUE;
}

static gboolean set_folder(SmConfigParser *p, char **slot, const char *name, GError **error)
{
	if (!sm_folder_name_valid(name))
		return sm_config_fail(p, error, "bad folder name '%s'", name);
	replace(slot, g_strdup(sm_folder_is_inbox(name) ? "inbox" : name));
	return TRUE;
}

static gboolean kw_ube(SmConfigParser *p, char **args, guint n, GError **error)
{
	return set_folder(p, &p->c->ube_folder, args[0], error);
}

static gboolean kw_ubetrap(SmConfigParser *p, char **args, guint n, GError **error)
{
	return set_folder(p, &p->c->ubetrap_folder, args[0], error);
}

static gboolean kw_required(SmConfigParser *p, char **args, guint n, GError **error)
{
	char *end = NULL;
	double v = g_ascii_strtod(args[0], &end);
	if (!*args[0] || *end || !isfinite(v))
		return sm_config_fail(p, error, "bad number '%s'", args[0]);
	p->c->required_score = v;
	return TRUE;
}

/* Digits with an optional k/K, M or G (powers of 1024). */
static gboolean parse_size(const char *s, gsize *out)
{
	if (!g_ascii_isdigit(*s))
		return FALSE;
	char *end = NULL;
	errno = 0;
	guint64 v = g_ascii_strtoull(s, &end, 10);
	guint64 mult = 1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': mult = 1024; end++; break;
	case 'M': mult = 1024 * 1024; end++; break;
	case 'G': mult = 1024 * 1024 * 1024; end++; break;
	default: return FALSE;
	}
	if (errno || *end || v > G_MAXSIZE / mult)
		return FALSE;
	*out = (gsize)(v * mult);
	return TRUE;
}

static gboolean kw_max_size(SmConfigParser *p, char **args, guint n, GError **error)
{
	if (!parse_size(args[0], &p->c->max_score_size))
		return sm_config_fail(p, error, "bad size '%s' (digits, then k, M or G)",
		                      args[0]);
	return TRUE;
}

static gboolean kw_rules(SmConfigParser *p, char **args, guint n, GError **error)
{
	for (guint i = 0; i < n; i++) {
		char *path = NULL;
		if (!set_path(p, &path, args[i], error))
			return FALSE;
		g_ptr_array_add(p->c->rule_files, path);
	}
	return TRUE;
}

static gboolean kw_log_file(SmConfigParser *p, char **args, guint n, GError **error)
{
	return set_path(p, &p->c->log_file, args[0], error);
}

static gboolean kw_syslog(SmConfigParser *p, char **args, guint n, GError **error)
{
	if (strcmp(args[0], "yes") != 0 && strcmp(args[0], "no") != 0)
		return sm_config_fail(p, error, "'syslog' takes yes or no, not '%s'", args[0]);
	p->c->syslog = strcmp(args[0], "yes") == 0;
	return TRUE;
}

static gboolean kw_deadline(SmConfigParser *p, char **args, guint n, GError **error)
{
	guint64 v;
	if (!g_ascii_string_to_unsigned(args[0], 10, 1, DEADLINE_MAX, &v, NULL))
		return sm_config_fail(p, error, "bad number '%s' (seconds, 1 to %d)",
		                      args[0], DEADLINE_MAX);
	p->c->deadline = (guint)v;
	return TRUE;
}

static gboolean kw_scorer(SmConfigParser *p, char **args, guint n, GError **error)
{
	return set_path(p, &p->c->scorer_module, args[0], error);
}

/* Settings whose meaning belongs to score/ (see SmScorerOptions.settings): kept
 * verbatim with their place, checked when the scorer loads. Tokens are joined
 * with single spaces; quoting is the config file's. */
static gboolean kw_scorer_setting(SmConfigParser *p, const char *kw, char **args, guint n)
{
	GString *line = g_string_new(NULL);
	g_string_printf(line, "%s:%u: %s", p->file, p->line, kw);
	for (guint i = 0; i < n; i++)
		g_string_append_printf(line, " %s", args[i]);
	g_ptr_array_add(p->c->scorer_settings, g_string_free(line, FALSE));
	return TRUE;
}

/* The scorer's keywords. A helper adds its keyword here and handles it in score/. */
static const char *const scorer_keywords[] = {
	"spamd", "spamd-timeout", "spamd-mode", "spamd-user",  /* score/spamd.c */
	"dns-server", "dns-timeout", "trusted-networks", "dnsbl", "uribl",
	"dnsbl-all-relays",                                     /* score/dnsbl.c */
	NULL
};

static gboolean parse_yes_no(SmConfigParser *p, const char *kw, const char *arg,
                             gboolean *out, GError **error)
{
	if (strcmp(arg, "yes") != 0 && strcmp(arg, "no") != 0)
		return sm_config_fail(p, error, "'%s' takes yes or no, not '%s'", kw, arg);
	*out = strcmp(arg, "yes") == 0;
	return TRUE;
}

/* Digits with an optional s, m, h or d; between 1 second and a year. */
gboolean sm_config_parse_duration(const char *s, guint *out)
{
	char *end = NULL;
	if (!g_ascii_isdigit(*s))
		return FALSE;
	guint64 v = g_ascii_strtoull(s, &end, 10), mult = 1;
	switch (*end) {
	case '\0': case 's': break;
	case 'm': mult = 60; break;
	case 'h': mult = 3600; break;
	case 'd': mult = 86400; break;
	default: return FALSE;
	}
	if (*end && end[1])
		return FALSE;
	if (v == 0 || v > 366 * 86400 / mult)
		return FALSE;
	*out = (guint)(v * mult);
	return TRUE;
}

static gboolean kw_cache(SmConfigParser *p, char **args, guint n, GError **error)
{
	if (strcmp(args[0], "none") == 0) {
		replace(&p->c->cache_path, NULL);
		return TRUE;
	}
	return set_path(p, &p->c->cache_path, args[0], error);
}

static gboolean kw_rule_cache(SmConfigParser *p, char **args, guint n, GError **error)
{
	if (strcmp(args[0], "none") == 0) {
		replace(&p->c->rule_cache, NULL);
		return TRUE;
	}
	return set_path(p, &p->c->rule_cache, args[0], error);
}

static gboolean kw_cache_ttl(SmConfigParser *p, char **args, guint n, GError **error)
{
	if (!sm_config_parse_duration(args[0], &p->c->cache_ttl))
		return sm_config_fail(p, error, "bad duration '%s' (e.g. 3600, 90m, 24h, 7d)",
		                      args[0]);
	return TRUE;
}

static gboolean kw_cache_ttl_degraded(SmConfigParser *p, char **args, guint n, GError **error)
{
	if (!sm_config_parse_duration(args[0], &p->c->cache_ttl_degraded))
		return sm_config_fail(p, error, "bad duration '%s' (e.g. 600, 10m, 1h)", args[0]);
	return TRUE;
}

static gboolean kw_cache_wait(SmConfigParser *p, char **args, guint n, GError **error)
{
	if (!sm_config_parse_duration(args[0], &p->c->cache_wait) || p->c->cache_wait > 600)
		return sm_config_fail(p, error, "bad duration '%s' (1 s to 10 m)", args[0]);
	return TRUE;
}

static gboolean kw_cache_shared(SmConfigParser *p, char **args, guint n, GError **error)
{
	return parse_yes_no(p, "cache-shared", args[0], &p->c->cache_shared, error);
}

static gboolean kw_duplicates(SmConfigParser *p, char **args, guint n, GError **error)
{
	return parse_yes_no(p, "duplicates", args[0], &p->c->duplicates, error);
}

/* The command is run without a shell, so its path must be absolute. */
static gboolean kw_sendmail(SmConfigParser *p, char **args, guint n, GError **error)
{
	if (!g_path_is_absolute(args[0]))
		return sm_config_fail(p, error, "'sendmail' needs an absolute path, not '%s'",
		                      args[0]);
	g_ptr_array_set_size(p->c->sendmail, 0);
	for (guint i = 0; i < n; i++)
		g_ptr_array_add(p->c->sendmail, g_strdup(args[i]));
	return TRUE;
}

static gboolean kw_sendmail_timeout(SmConfigParser *p, char **args, guint n, GError **error)
{
	if (!sm_config_parse_duration(args[0], &p->c->sendmail_timeout) ||
	    p->c->sendmail_timeout > 600)
		return sm_config_fail(p, error, "bad duration '%s' (1 s to 10 m)", args[0]);
	return TRUE;
}

static gboolean kw_pipe_timeout(SmConfigParser *p, char **args, guint n, GError **error)
{
	if (!sm_config_parse_duration(args[0], &p->c->pipe_timeout) || p->c->pipe_timeout > 3600)
		return sm_config_fail(p, error, "bad duration '%s' (1 s to 1 h)", args[0]);
	return TRUE;
}

static gboolean kw_templates_dir(SmConfigParser *p, char **args, guint n, GError **error)
{
	return set_path(p, &p->c->templates_dir, args[0], error);
}

static gboolean kw_reply_memory(SmConfigParser *p, char **args, guint n, GError **error)
{
	return set_path(p, &p->c->reply_memory, args[0], error);
}

static const struct {
	const char *name;
	guint min, max; /* argument counts */
	KeywordFunc fn;
} keywords[] = {
	{ "maildir",        1, 1,          kw_maildir },
	{ "mbox",           1, 2,          kw_mbox },
	{ "personal",       1, G_MAXUINT,  kw_personal },
	{ "unplus",         2, 2,          kw_unplus },
	{ "ube-folder",     1, 1,          kw_ube },
	{ "ubetrap-folder", 1, 1,          kw_ubetrap },
	{ "required-score", 1, 1,          kw_required },
	{ "max-score-size", 1, 1,          kw_max_size },
	{ "rules",          1, G_MAXUINT,  kw_rules },
	{ "log-file",       1, 1,          kw_log_file },
	{ "syslog",         1, 1,          kw_syslog },
	{ "deadline",       1, 1,          kw_deadline },
	{ "scorer-module",  1, 1,          kw_scorer },
	{ "cache",          1, 1,          kw_cache },
	{ "cache-ttl",      1, 1,          kw_cache_ttl },
	{ "cache-ttl-degraded", 1, 1,      kw_cache_ttl_degraded },
	{ "cache-wait",     1, 1,          kw_cache_wait },
	{ "cache-shared",   1, 1,          kw_cache_shared },
	{ "duplicates",     1, 1,          kw_duplicates },
	{ "sendmail",       1, G_MAXUINT,  kw_sendmail },
	{ "sendmail-timeout", 1, 1,        kw_sendmail_timeout },
	{ "pipe-timeout",   1, 1,          kw_pipe_timeout },
	{ "templates-dir",  1, 1,          kw_templates_dir },
	{ "reply-memory",   1, 1,          kw_reply_memory },
	{ "rule-cache",     1, 1,          kw_rule_cache },
	{ "rule",           1, G_MAXUINT,  sm_config_parse_rule },
	{ "list",           1, G_MAXUINT,  sm_config_parse_list },
};

static gboolean wrong_count(SmConfigParser *p, const char *kw, guint min, guint max,
                            GError **error)
{
	if (max == G_MAXUINT)
		return sm_config_fail(p, error, "'%s' needs at least %u argument%s", kw, min,
		                      min == 1 ? "" : "s");
	if (min == max)
		return sm_config_fail(p, error, "'%s' takes %u argument%s", kw, min,
		                      min == 1 ? "" : "s");
	return sm_config_fail(p, error, "'%s' takes %u to %u arguments", kw, min, max);
}

static gboolean dispatch(SmConfigParser *p, char **tok, guint n, GError **error)
{
	for (gsize k = 0; k < G_N_ELEMENTS(keywords); k++) {
		if (strcmp(tok[0], keywords[k].name) != 0)
			continue;
		guint nargs = n - 1;
		if (nargs < keywords[k].min || nargs > keywords[k].max)
			return wrong_count(p, tok[0], keywords[k].min, keywords[k].max, error);
		if (!keywords[k].fn(p, tok + 1, nargs, error))
			return FALSE;
		g_hash_table_replace(p->c->origins, g_strdup(tok[0]),
		                     g_strdup_printf("%s:%u", p->file, p->line));
		return TRUE;
	}
	for (gsize k = 0; scorer_keywords[k]; k++)
		if (strcmp(tok[0], scorer_keywords[k]) == 0)
			return kw_scorer_setting(p, tok[0], tok + 1, n - 1);
	return sm_config_fail(p, error, "unknown keyword '%s'", tok[0]);
}

/* ---- lines and tokens -------------------------------------------------- */

/* One double-quoted token starting after the opening quote at *@s; only \" and
 * \\ are escapes, so a quoted regex keeps its other backslashes. */
static gboolean quoted_token(SmConfigParser *p, const char **s, GPtrArray *tok,
                             GError **error)
{
	GString *t = g_string_new(NULL);
	const char *q = *s;
	for (; *q && *q != '"'; q++) {
		if (q[0] == '\\' && (q[1] == '"' || q[1] == '\\'))
			q++;
		g_string_append_c(t, *q);
	}
	if (*q != '"') {
		g_string_free(t, TRUE);
		return sm_config_fail(p, error, "missing closing quote");
	}
	q++;
	if (*q && !g_ascii_isspace(*q)) {
		g_string_free(t, TRUE);
		return sm_config_fail(p, error, "text right after a closing quote");
	}
	g_ptr_array_add(tok, g_string_free(t, FALSE));
	*s = q;
	return TRUE;
}

gboolean sm_config_tokenize(SmConfigParser *p, const char *line, GPtrArray *tok, GError **error)
{
	const char *s = line;
	for (;;) {
		while (g_ascii_isspace(*s))
			s++;
		if (!*s || *s == '#')
			return TRUE;
		if (*s == '"') {
			s++;
			if (!quoted_token(p, &s, tok, error))
				return FALSE;
			continue;
		}
		const char *start = s;
		while (*s && !g_ascii_isspace(*s))
			s++;
		g_ptr_array_add(tok, g_strndup(start, s - start));
	}
}

static gboolean parse_line(SmConfigParser *p, const char *line, GError **error)
{
	g_autoptr(GPtrArray) tok = g_ptr_array_new_with_free_func(g_free);
	if (!sm_config_tokenize(p, line, tok, error))
		return FALSE;
	if (tok->len == 0)
		return TRUE;
	return dispatch(p, (char **)tok->pdata, tok->len, error);
}

/* Parses every line; a line with an error is skipped and its message
 * ("FILE:LINE: ...") appended to @problems. Never fails. */
static SmConfig *parse_text(const char *text, gsize len, const char *name,
                            const SmEnvelope *env, GPtrArray *problems)
{
	SmConfig *c = config_new(env);
	SmConfigParser p = { .file = name, .env = env, .c = c };
	c->path = g_strdup(name);

	const char *end = text + len;
	for (const char *s = text; s < end;) {
		const char *nl = memchr(s, '\n', end - s);
		const char *eol = nl ? nl : end;
		g_autoptr(GError) error = NULL;
		p.line++;
		if (memchr(s, '\0', eol - s)) {
			sm_config_fail(&p, &error, "NUL byte in line");
		} else {
			g_autofree char *line = g_strndup(s, eol - s);
			parse_line(&p, line, &error);
		}
		if (error)
			g_ptr_array_add(problems, g_strdup(error->message));
		s = nl ? nl + 1 : end;
	}
	if (!p.personal_seen)
		default_personal(c, env);
	if (c->format == SM_FORMAT_MBOX && !c->mbox_inbox)
		c->mbox_inbox = g_build_filename(c->mailbox_root, "inbox", NULL);
	return c;
}

/* All or nothing, for deliveries: the first problem is the error. */
static SmConfig *parse_strict(const char *text, gsize len, const char *name,
                              const SmEnvelope *env, GError **error)
{
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	SmConfig *c = parse_text(text, len, name, env, problems);
	if (problems->len == 0)
		return c;
	sm_config_free(c);
	g_set_error_literal(error, SM_CONFIG_ERROR, SM_CONFIG_ERROR_PARSE, problems->pdata[0]);
	return NULL;
}

SmConfig *sm_config_parse(const char *text, const char *name, const SmEnvelope *env,
                          GError **error)
{
	return parse_strict(text, strlen(text), name ? name : "(config)", env, error);
}

SmConfig *sm_config_parse_all(const char *text, const char *name, const SmEnvelope *env,
                              GPtrArray *problems)
{
	return parse_text(text, strlen(text), name ? name : "(config)", env, problems);
}

/* The defaults, as for a missing file. */
static SmConfig *defaults(const SmEnvelope *env)
{
	g_autoptr(GPtrArray) none = g_ptr_array_new_with_free_func(g_free);
	SmConfig *c = parse_text("", 0, "(defaults)", env, none);
	g_clear_pointer(&c->path, g_free);
	return c;
}

/* Reads @path into *@text; FALSE with @error when it exists and cannot be read.
 * A NULL @path or a missing file gives TRUE with *@text NULL. */
static gboolean read_config(const char *path, char **text, gsize *len, GError **error)
{
	g_autoptr(GError) read_error = NULL;
	*text = NULL;
	if (!path || g_file_get_contents(path, text, len, &read_error))
		return TRUE;
	if (g_error_matches(read_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
		return TRUE;
	g_set_error(error, SM_CONFIG_ERROR, SM_CONFIG_ERROR_READ, "%s: %s", path,
	            read_error->message);
	return FALSE;
}

SmConfig *sm_config_load(const char *path, const SmEnvelope *env, GError **error)
{
	g_autofree char *text = NULL;
	gsize len = 0;
	if (!read_config(path, &text, &len, error))
		return NULL;
	if (!text)
		return defaults(env);
	return parse_strict(text, len, path, env, error);
}

SmConfig *sm_config_load_all(const char *path, const SmEnvelope *env, GPtrArray *problems)
{
	g_autofree char *text = NULL;
	gsize len = 0;
	g_autoptr(GError) error = NULL;
	if (!read_config(path, &text, &len, &error)) {
		g_ptr_array_add(problems, g_strdup(error->message));
		return NULL;
	}
	if (!text)
		return defaults(env);
	return parse_text(text, len, path, env, problems);
}

const char *sm_config_origin(const SmConfig *c, const char *keyword)
{
	return c->origins ? g_hash_table_lookup(c->origins, keyword) : NULL;
}
