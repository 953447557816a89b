/* config-keywords.c: the keywords of ~/.sortmail/config, one function each
 * (sortmail.conf(5)), and the table that finds them. Scorer settings (dnsbl,
 * spamd, ...) are kept verbatim with their FILE:LINE for the scorer module to
 * check; "rule" and "list" lines go to config-rule.c and config-list.c.
 */
#include "config.h"
#include "sortmail/config-priv.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define DEADLINE_MAX 86400

typedef gboolean (*KeywordFunc)(SmConfigParser *p, char **args, guint n, GError **error);

static void replace(char **slot, char *value)
{
	g_free(*slot);
	*slot = value;
}

/* Stores @arg made absolute into *@slot; an empty path is an error. */
static gboolean set_path(SmConfigParser *p, char **slot, const char *arg, GError **error)
{
	char *path = sm_config_path(p, arg);
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

/* A duration of at most @max seconds (0: any) into *@slot; @hint ends the
 * message when it is not one. */
static gboolean set_duration(SmConfigParser *p, guint *slot, const char *arg, guint max,
                             const char *hint, GError **error)
{
	guint v;
	if (!sm_config_parse_duration(arg, &v) || (max && v > max))
		return sm_config_fail(p, error, "bad duration '%s' (%s)", arg, hint);
	*slot = v;
	return TRUE;
}

static gboolean kw_cache_ttl(SmConfigParser *p, char **args, guint n, GError **error)
{
	return set_duration(p, &p->c->cache_ttl, args[0], 0, "e.g. 3600, 90m, 24h, 7d", error);
}

static gboolean kw_cache_ttl_degraded(SmConfigParser *p, char **args, guint n, GError **error)
{
	return set_duration(p, &p->c->cache_ttl_degraded, args[0], 0, "e.g. 600, 10m, 1h", error);
}

static gboolean kw_cache_wait(SmConfigParser *p, char **args, guint n, GError **error)
{
	return set_duration(p, &p->c->cache_wait, args[0], 600, "1 s to 10 m", error);
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
	return set_duration(p, &p->c->sendmail_timeout, args[0], 600, "1 s to 10 m", error);
}

static gboolean kw_pipe_timeout(SmConfigParser *p, char **args, guint n, GError **error)
{
	return set_duration(p, &p->c->pipe_timeout, args[0], 3600, "1 s to 1 h", error);
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

gboolean sm_config_dispatch(SmConfigParser *p, char **tok, guint n, GError **error)
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
