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
 * downstream depends on the working directory. What each keyword does is
 * config-keywords.c's; "rule" and "list" lines are config-rule.c's and
 * config-list.c's.
 */
#include "config.h"
#include "sortmail/config-priv.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

G_DEFINE_QUARK(sm-config-error-quark, sm_config_error)

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
	return sm_config_dispatch(p, (char **)tok->pdata, tok->len, error);
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
