/* spamd.c: spamd beside the local rules (see spamd.h): the settings, read
 * once at load, and the merge of spamd's answer with the local verdict. The
 * exchange itself is spamd-net.c; reading the reply, spamd-reply.c.
 */
#include "config.h"
#include "score/spamd.h"

#include <string.h>
#include <sys/un.h>

#define DEFAULT_TIMEOUT 10.0
#define MAX_TIMEOUT 600.0
/* spamc's default: bigger messages are not worth SpamAssassin's time. */
#define MAX_MESSAGE (500 * 1024)

struct SmSpamd {
	char *where;        /* the address as configured, for messages */
	char *host, *port;  /* TCP; NULL for a Unix socket */
	char *path;         /* Unix socket; NULL for TCP */
	double timeout;     /* seconds, for the whole exchange */
	SmSpamdMode mode;
	char *user;         /* NULL: no User: line */
	double required;
	char *broken;       /* "FILE:LINE: message" of the first bad setting */
	char **trace;       /* see sm_spamd_trace(); NULL: not explaining */
};

void sm_spamd_trace(SmSpamd *sd, char **trace)
{
	sd->trace = trace;
}

/* What happened, for sm_spamd_trace(). */
static void trace_outcome(const SmSpamd *sd, gboolean tried, gboolean asked,
                          const SmSpamdReply *r, const char *why)
{
	if (!sd->trace)
		return;
	g_free(*sd->trace);
	if (sd->broken) {
		*sd->trace = g_strdup_printf("not used: %s", sd->broken);
	} else if (!tried) {
		*sd->trace = g_strdup_printf("%s not asked: message over %u KB (local score only)",
		                             sd->where, MAX_MESSAGE / 1024);
	} else if (!asked) {
		*sd->trace = g_strdup_printf("%s failed: %s (local score only)", sd->where,
		                             why ? why : "?");
	} else {
		g_autoptr(GString) rules = g_string_new(NULL);
		for (guint i = 0; r->rules && i < r->rules->len; i++)
			g_string_append_printf(rules, "%s%s", i ? "," : "", (char *)r->rules->pdata[i]);
		*sd->trace = g_strdup_printf("%s answered: score %.1f (its threshold %.1f), "
		                             "tests=%s; mode %s: %s", sd->where, r->score,
		                             r->threshold, rules->len ? rules->str : "none",
		                             sd->mode == SM_SPAMD_REPLACE ? "replace" : "add",
		                             sd->mode == SM_SPAMD_REPLACE
		                             ? "its score is the verdict's, local rules not run"
		                             : "added to the local score");
	}
}

SmSpamdMode sm_spamd_mode(const SmSpamd *sd)
{
	return sd->mode;
}

void sm_spamd_free(SmSpamd *sd)
{
	if (!sd)
		return;
	g_free(sd->where);
	g_free(sd->host);
	g_free(sd->port);
	g_free(sd->path);
	g_free(sd->user);
	g_free(sd->broken);
	g_free(sd);
}

/* ---- settings ---------------------------------------------------------- */

/* Printable ASCII without blanks: safe on a protocol line or in a header. */
static gboolean is_word(const char *s, gsize max)
{
	gsize n = 0;
	for (; s[n]; n++)
		if (s[n] <= ' ' || s[n] >= 127)
			return FALSE;
	return n > 0 && n <= max;
}

static gboolean parse_port(const char *s, char **out)
{
	char *end = NULL;
	if (!g_ascii_isdigit(*s))
		return FALSE;
	guint64 v = g_ascii_strtoull(s, &end, 10);
	if (*end || v == 0 || v > 65535)
		return FALSE;
	*out = g_strdup_printf("%u", (guint)v);
	return TRUE;
}

/* "/path", "host:port", "[v6]:port", or "host" (spamd's port, 783). */
static char *set_address(SmSpamd *sd, const char *arg)
{
	/* A later line replaces an earlier one. */
	g_clear_pointer(&sd->host, g_free);
	g_clear_pointer(&sd->port, g_free);
	g_clear_pointer(&sd->path, g_free);
	if (arg[0] == '/') {
		if (strlen(arg) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
			return g_strdup("socket path too long");
		sd->path = g_strdup(arg);
		return NULL;
	}
	g_autofree char *host = NULL;
	const char *port = NULL;
	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');
		if (!close || (close[1] && close[1] != ':'))
			return g_strdup_printf("bad address '%s' (expected [IPV6]:PORT)", arg);
		host = g_strndup(arg + 1, close - arg - 1);
		port = close[1] ? close + 2 : NULL;
	} else {
		const char *colon = strchr(arg, ':');
		if (colon && strchr(colon + 1, ':'))
			return g_strdup_printf("bad address '%s' (write an IPv6 address as [ADDR]:PORT)",
			                       arg);
		host = colon ? g_strndup(arg, colon - arg) : g_strdup(arg);
		port = colon ? colon + 1 : NULL;
	}
	if (!is_word(host, 255) || strchr(host, '/'))
		return g_strdup_printf("bad address '%s' (expected HOST:PORT or /path/to/socket)",
		                       arg);
	if (!parse_port(port ? port : "783", &sd->port))
		return g_strdup_printf("bad port in '%s' (1 to 65535)", arg);
	sd->host = g_steal_pointer(&host);
	return NULL;
}

static char *set_timeout(SmSpamd *sd, const char *arg)
{
	char *end = NULL;
	double v = g_ascii_strtod(arg, &end);
	if (!g_ascii_isdigit(*arg) || *end || !(v > 0.0) || v > MAX_TIMEOUT)
		return g_strdup_printf("bad timeout '%s' (seconds, more than 0, at most %.0f)", arg,
		                       MAX_TIMEOUT);
	sd->timeout = v;
	return NULL;
}

static char *set_mode(SmSpamd *sd, const char *arg)
{
	if (strcmp(arg, "replace") == 0)
		sd->mode = SM_SPAMD_REPLACE;
	else if (strcmp(arg, "add") == 0)
		sd->mode = SM_SPAMD_ADD;
	else
		return g_strdup_printf("'spamd-mode' takes replace or add, not '%s'", arg);
	return NULL;
}

static char *set_user(SmSpamd *sd, const char *arg)
{
	if (!is_word(arg, 255))
		return g_strdup_printf("bad user name '%s'", arg);
	g_free(sd->user);
	sd->user = g_strdup(arg);
	return NULL;
}

static const struct {
	const char *name;
	char *(*set)(SmSpamd *sd, const char *arg); /* NULL or a message */
} keywords[] = {
	{ "spamd", set_address },
	{ "spamd-timeout", set_timeout },
	{ "spamd-mode", set_mode },
	{ "spamd-user", set_user },
};

/* One setting "FILE:LINE: keyword args": NULL when it is not ours, else the
 * problem it has (newly allocated "FILE:LINE: message") or "" when fine. */
static char *apply_setting(SmSpamd *sd, const char *setting, gboolean *has_address)
{
	const char *sep = strstr(setting, ": ");
	g_autofree char *where = sep ? g_strndup(setting, sep - setting) : g_strdup("(config)");
	const char *text = sep ? sep + 2 : setting;
	gsize kwlen = strcspn(text, " ");
	for (gsize k = 0; k < G_N_ELEMENTS(keywords); k++) {
		const char *kw = keywords[k].name;
		if (strlen(kw) != kwlen || strncmp(text, kw, kwlen) != 0)
			continue;
		g_autofree char *arg = g_strstrip(g_strdup(text + kwlen));
		/* A socket path may hold blanks; everything else is one word. */
		gboolean path = k == 0 && arg[0] == '/';
		g_autofree char *why = !*arg || (!path && strchr(arg, ' '))
		                           ? g_strdup_printf("'%s' takes 1 argument", kw)
		                           : keywords[k].set(sd, arg);
		if (why)
			return g_strdup_printf("%s: %s", where, why);
		if (k == 0) {
			*has_address = TRUE;
			g_free(sd->where);
			sd->where = g_strdup(arg);
		}
		return g_strdup("");
	}
	return NULL;
}

SmSpamd *sm_spamd_new(const char *const *settings, double required, GPtrArray *problems)
{
	SmSpamd *sd = g_new0(SmSpamd, 1);
	sd->timeout = DEFAULT_TIMEOUT;
	sd->mode = SM_SPAMD_REPLACE;
	sd->required = required;

	gboolean has_address = FALSE;
	const char *first = NULL; /* our first setting */
	for (guint i = 0; settings && settings[i]; i++) {
		g_autofree char *problem = apply_setting(sd, settings[i], &has_address);
		if (!problem)
			continue;
		first = first ? first : settings[i];
		if (!*problem)
			continue;
		if (!sd->broken)
			sd->broken = g_strdup(problem);
		if (problems)
			g_ptr_array_add(problems, g_steal_pointer(&problem));
	}
	if (first && !has_address && !sd->broken && problems) {
		const char *sep = strstr(first, ": ");
		g_ptr_array_add(problems, g_strdup_printf("%.*s: ignored: no 'spamd' line says "
		                                          "where spamd is",
		                                          sep ? (int)(sep - first) : 8,
		                                          sep ? first : "(config)"));
	}
	if (!has_address && !sd->broken) {
		sm_spamd_free(sd);
		return NULL;
	}
	if (!sd->where)
		sd->where = g_strdup("(unset)");
	/* As spamc: the user we run as, for spamd's per-user settings. */
	const char *me = sd->user ? NULL : g_get_user_name();
	if (me && is_word(me, 255))
		sd->user = g_strdup(me);
	return sd;
}

/* ---- asking ------------------------------------------------------------ */

gboolean sm_spamd_ask(SmSpamd *sd, const char *data, gsize len, SmSpamdReply *out,
                      char **why)
{
	SmSpamdPeer peer = { .path = sd->path, .host = sd->host, .port = sd->port,
	                     .user = sd->user, .timeout = sd->timeout };
	return sm_spamd_exchange(&peer, data, len, out, why);
}

/* ---- the verdict ------------------------------------------------------- */

/* SpamAssassin keeps three decimals. */
static double round3(double x)
{
	return (double)(gint64)(x * 1000.0 + (x < 0 ? -0.5 : 0.5)) / 1000.0;
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static gboolean has_rule(const GPtrArray *rules, const char *name)
{
	for (guint i = 0; i < rules->len; i++)
		if (strcmp(rules->pdata[i], name) == 0)
			return TRUE;
	return FALSE;
}

/* Adds @names (or one @name) not yet in @out's rules, and sorts them. */
static void merge_rules(SmVerdict *out, const GPtrArray *names, const char *name)
{
	if (!out->rules)
		out->rules = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; names && i < names->len; i++)
		if (!has_rule(out->rules, names->pdata[i]))
			g_ptr_array_add(out->rules, g_strdup(names->pdata[i]));
	if (name && !has_rule(out->rules, name))
		g_ptr_array_add(out->rules, g_strdup(name));
	g_ptr_array_sort(out->rules, compare_names);
}

/* spamd's verdict becomes the verdict; sortmail's threshold decides. */
static void take_reply(const SmSpamd *sd, const SmSpamdReply *r, SmVerdict *out)
{
	if (out->rules)
		g_ptr_array_set_size(out->rules, 0);
	merge_rules(out, r->rules, NULL);
	out->score = round3(r->score);
	out->threshold = sd->required;
	out->is_spam = out->score >= out->threshold;
	out->source = SM_VERDICT_SCORED;
	out->scored_at = g_get_real_time() / G_USEC_PER_SEC;
	out->waited_ms = 0.0;
}

static void add_reply(const SmSpamdReply *r, SmVerdict *out)
{
	merge_rules(out, r->rules, NULL);
	out->score = round3(out->score + r->score);
	out->is_spam = out->score >= out->threshold;
}

/* The local verdict stands; say why spamd's part is missing. */
static void degrade(const SmSpamd *sd, const char *why, SmVerdict *out)
{
	merge_rules(out, NULL, SM_SPAMD_FAILED_RULE);
	g_autofree char *note = sd->broken
	                            ? g_strdup_printf("spamd not used: %s; local score only", why)
	                            : g_strdup_printf("spamd %s: %s; local score only", sd->where,
	                                              why);
	char *joined = out->note ? g_strdup_printf("%s; %s", out->note, note)
	                         : g_steal_pointer(&note);
	g_free(out->note);
	out->note = joined;
}

gboolean sm_spamd_score(SmSpamd *sd, const char *data, gsize len, SmVerdict *out,
                        SmLocalScoreFunc local, void *engine, GError **error)
{
	/* An mbox "From " line is no part of the message (see module.c). */
	const char *msg = data;
	gsize mlen = len;
	if (mlen >= 5 && memcmp(msg, "From ", 5) == 0) {
		const char *nl = memchr(msg, '\n', mlen);
		gsize skip = nl ? (gsize)(nl - msg) + 1 : mlen;
		msg += skip;
		mlen -= skip;
	}
	SmSpamdReply reply = { 0 };
	g_autofree char *why = NULL;
	gboolean asked = FALSE, tried = !sd->broken && mlen <= MAX_MESSAGE;
	if (tried)
		asked = sm_spamd_ask(sd, msg, mlen, &reply, &why);
	trace_outcome(sd, tried, asked, &reply, why);
	if (asked && sd->mode == SM_SPAMD_REPLACE) {
		take_reply(sd, &reply, out);
		sm_spamd_reply_clear(&reply);
		return TRUE;
	}
	if (!local(engine, data, len, out, error)) {
		sm_spamd_reply_clear(&reply);
		return FALSE;
	}
	if (asked)
		add_reply(&reply, out);
	else if (sd->broken)
		degrade(sd, sd->broken, out);
	else if (tried)
		degrade(sd, why, out);
	sm_spamd_reply_clear(&reply);
	return TRUE;
}
