/* config-rule.c: one "rule" line of the configuration (see sortmail.conf(5)).
 *
 * Contract: a rule that parses is complete: every regex compiled (caseless,
 * like procmail), exactly one action, and a folder name that is either valid
 * now or contains '$' and will be expanded and validated by sm_decide(), in
 * which case the rule has a "to" condition to take the captures from.
 * A rule that asks for a reply names a valid template name, and the reply
 * options (every, vacation, reply-from) appear only in such a rule; a reply
 * rule without an action files into the inbox.
 * A rule that pipes or forwards (sortmail.conf(5)) needs no folder action:
 * without one it files into the inbox only when the outbound action fails;
 * it cannot discard. A pipe command run without a shell has an absolute
 * program path; forward targets and forward-sender are plain addresses.
 * A rule that rebroadcasts (sortmail.conf(5) "list") names a list defined on
 * an earlier line, behaves like one that forwards, and is never noscore or
 * even-spam, so that spam always takes the spam policy's way.
 */
#include "config.h"
#include "sortmail/config-priv.h"
#include "templates/templates.h"

#include <string.h>

static void condition_free(SmCondition *cond)
{
	g_free(cond->header);
	g_free(cond->pattern);
	sm_regex_free(cond->re);
	g_free(cond);
}

void sm_rule_free(SmRule *r)
{
	if (!r)
		return;
	g_free(r->file);
	if (r->conds)
		g_ptr_array_free(r->conds, TRUE);
	g_free(r->folder);
	g_free(r->autorespond);
	g_free(r->reply_from);
	g_free(r->pipe);
	g_strfreev(r->pipe_argv);
	if (r->forward)
		g_ptr_array_free(r->forward, TRUE);
	g_free(r->forward_sender);
	g_free(r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SmRule, sm_rule_free)

/* A header field name as RFC 5322 allows it: printable ASCII but ':' and space.
 * One trailing colon is forgiven ("header Subject: ^hi"). */
static char *header_name(const char *s)
{
	gsize len = strlen(s);
	if (len > 0 && s[len - 1] == ':')
		len--;
	if (len == 0)
		return NULL;
	for (gsize i = 0; i < len; i++)
		if ((guchar)s[i] <= ' ' || (guchar)s[i] >= 0x7f || s[i] == ':')
			return NULL;
	return g_strndup(s, len);
}

/* Parses the condition named @item (with its arguments at @args[*i]...). */
static gboolean parse_condition(SmConfigParser *p, SmRule *r, const char *item,
                                char **args, guint n, guint *i, GError **error)
{
	gboolean negate = item[0] == '!';
	const char *kw = item + negate;
	SmCondition *cond = g_new0(SmCondition, 1);
	g_ptr_array_add(r->conds, cond);
	cond->negate = negate;

	if (strcmp(kw, "header") == 0) {
		cond->kind = SM_COND_HEADER;
		if (*i + 2 > n)
			return sm_config_fail(p, error, "'%s' needs a header name and a regex", item);
		cond->header = header_name(args[(*i)++]);
		if (!cond->header)
			return sm_config_fail(p, error, "bad header name '%s'", args[*i - 1]);
	} else {
		cond->kind = strcmp(kw, "to") == 0 ? SM_COND_TO : SM_COND_FROM;
		if (*i + 1 > n)
			return sm_config_fail(p, error, "'%s' needs a regex", item);
	}
	cond->pattern = g_strdup(args[(*i)++]);
	g_autoptr(GError) re_error = NULL;
	cond->re = sm_regex_new(cond->pattern, SM_REGEX_CASELESS, &re_error);
	if (!cond->re)
		return sm_config_fail(p, error, "'%s': %s", cond->pattern, re_error->message);
	return TRUE;
}

static gboolean set_action(SmConfigParser *p, SmRule *r, gboolean *have_action,
                           SmActionKind kind, const char *folder, GError **error)
{
	if (*have_action)
		return sm_config_fail(p, error, "a rule takes exactly one action "
		                      "(folder, inbox or discard)");
	*have_action = TRUE;
	r->action = kind;
	r->folder = g_strdup(folder);
	return TRUE;
}

/* The folder is checked now unless it has captures to expand at decision time. */
static gboolean check_folder(SmConfigParser *p, SmRule *r, GError **error)
{
	if (r->action != SM_ACTION_FOLDER)
		return TRUE;
	if (!strchr(r->folder, '$')) {
		if (!sm_folder_name_valid(r->folder))
			return sm_config_fail(p, error, "bad folder name '%s'", r->folder);
		if (sm_folder_is_inbox(r->folder)) {
			g_free(r->folder);
			r->folder = g_strdup("inbox");
		}
		return TRUE;
	}
	for (guint i = r->conds->len; i-- > 0;) {
		const SmCondition *cond = r->conds->pdata[i];
		if (cond->kind == SM_COND_TO && !cond->negate)
			return TRUE;
	}
	return sm_config_fail(p, error, "folder '%s' uses $N but the rule has no 'to' "
	                      "condition to take it from", r->folder);
}

/* Reply-from, forward targets and list addresses go into headers and onto
 * sendmail's command line (see sortmail.h). */
gboolean sm_address_is_plain(const char *a)
{
	const char *at = strrchr(a, '@');
	if (!at || at == a || !at[1] || a[0] == '-')
		return FALSE;
	for (const char *q = a; *q; q++)
		if ((guchar)*q <= ' ' || (guchar)*q >= 0x7f || strchr("<>()[],;:\\\"", *q))
			return FALSE;
	return TRUE;
}

#define REPLY_EVERY_DEFAULT (7 * 86400)

/* The reply items; *@i is past the keyword. FALSE with @error, or when @item
 * is not one (then @error stays unset). */
static gboolean parse_reply_item(SmConfigParser *p, SmRule *r, const char *item,
                                 char **args, guint n, guint *i, gboolean *known,
                                 GError **error)
{
	*known = TRUE;
	if (strcmp(item, "vacation") == 0) {
		r->vacation = TRUE;
		return TRUE;
	}
	if (strcmp(item, "autorespond") != 0 && strcmp(item, "every") != 0 &&
	    strcmp(item, "reply-from") != 0) {
		*known = FALSE;
		return TRUE;
	}
	if (*i >= n)
		return sm_config_fail(p, error, "'%s' needs an argument", item);
	const char *arg = args[(*i)++];
	if (strcmp(item, "autorespond") == 0) {
		if (r->autorespond)
			return sm_config_fail(p, error, "a rule takes one 'autorespond'");
		if (!sm_template_name_valid(arg))
			return sm_config_fail(p, error, "bad template name '%s' (letters, digits, "
			                      "'_', '-', '.'; no leading dot, no '..')", arg);
		r->autorespond = g_strdup(arg);
	} else if (strcmp(item, "every") == 0) {
		if (!sm_config_parse_duration(arg, &r->reply_every))
			return sm_config_fail(p, error, "bad duration '%s' (e.g. 12h, 7d)", arg);
	} else {
		if (!sm_address_is_plain(arg))
			return sm_config_fail(p, error, "bad reply-from address '%s'", arg);
		g_free(r->reply_from);
		r->reply_from = g_strdup(arg);
	}
	return TRUE;
}

/* "forward" takes every following argument that looks like an address (has
 * an '@'); rule keywords never do. */
static gboolean parse_forward(SmConfigParser *p, SmRule *r, char **args, guint n, guint *i,
                              GError **error)
{
	if (!r->forward)
		r->forward = g_ptr_array_new_with_free_func(g_free);
	guint first = *i;
	for (; *i < n && strchr(args[*i], '@'); (*i)++) {
		if (!sm_address_is_plain(args[*i]))
			return sm_config_fail(p, error, "bad forward address '%s'", args[*i]);
		g_ptr_array_add(r->forward, g_strdup(args[*i]));
	}
	if (*i == first)
		return sm_config_fail(p, error, "'forward' needs at least one address");
	return TRUE;
}

/* "rebroadcast NAME": the list must be defined on an earlier line. */
static gboolean parse_rebroadcast(SmConfigParser *p, SmRule *r, char **args, guint n,
                                  guint *i, GError **error)
{
	if (*i >= n)
		return sm_config_fail(p, error, "'rebroadcast' needs a list name");
	if (r->rebroadcast)
		return sm_config_fail(p, error, "a rule takes one 'rebroadcast'");
	const char *name = args[(*i)++];
	r->rebroadcast = sm_config_find_list(p->c, name);
	if (!r->rebroadcast)
		return sm_config_fail(p, error, "unknown list '%s' (define it with 'list' on an "
		                      "earlier line)", name);
	return TRUE;
}

/* The pipe, forward and rebroadcast items; as parse_reply_item(). */
static gboolean parse_outbound_item(SmConfigParser *p, SmRule *r, const char *item,
                                    char **args, guint n, guint *i, gboolean *known,
                                    GError **error)
{
	*known = TRUE;
	if (strcmp(item, "shell") == 0)
		r->pipe_shell = TRUE;
	else if (strcmp(item, "pipe-defer") == 0)
		r->pipe_defer = TRUE;
	else if (strcmp(item, "forward-spam") == 0)
		r->forward_spam = TRUE;
	else if (strcmp(item, "forward") == 0)
		return parse_forward(p, r, args, n, i, error);
	else if (strcmp(item, "rebroadcast") == 0)
		return parse_rebroadcast(p, r, args, n, i, error);
	else if (strcmp(item, "pipe") == 0 || strcmp(item, "forward-sender") == 0) {
		if (*i >= n)
			return sm_config_fail(p, error, "'%s' needs an argument", item);
		const char *arg = args[(*i)++];
		if (item[0] == 'p') {
			if (r->pipe)
				return sm_config_fail(p, error, "a rule takes one 'pipe'");
			r->pipe = g_strdup(arg);
		} else {
			if (!sm_address_is_plain(arg))
				return sm_config_fail(p, error, "bad forward-sender address '%s'", arg);
			g_free(r->forward_sender);
			r->forward_sender = g_strdup(arg);
		}
	} else
		*known = FALSE;
	return TRUE;
}

/* Splits the command unless a shell runs it; flags without their action are
 * mistakes worth reporting. */
static gboolean check_outbound(SmConfigParser *p, SmRule *r, GError **error)
{
	if (!r->pipe && (r->pipe_shell || r->pipe_defer))
		return sm_config_fail(p, error, "'%s' needs 'pipe' in the same rule",
		                      r->pipe_shell ? "shell" : "pipe-defer");
	if (!r->forward && (r->forward_spam || r->forward_sender))
		return sm_config_fail(p, error, "'%s' needs 'forward' in the same rule",
		                      r->forward_spam ? "forward-spam" : "forward-sender");
	/* Spam is never rebroadcast: the verdict must exist and must route spam
	 * by the spam policy before the rule's action. */
	if (r->rebroadcast && (r->noscore || r->even_spam))
		return sm_config_fail(p, error, "'%s' cannot go with 'rebroadcast' (spam is "
		                      "never rebroadcast)", r->noscore ? "noscore" : "even-spam");
	if (!r->pipe || r->pipe_shell)
		return TRUE;
	g_autoptr(GPtrArray) tok = g_ptr_array_new_with_free_func(g_free);
	if (!sm_config_tokenize(p, r->pipe, tok, error))
		return FALSE;
	if (tok->len == 0 || !g_path_is_absolute(tok->pdata[0]))
		return sm_config_fail(p, error, "'pipe' needs an absolute program path (or "
		                      "'shell'), not '%s'", r->pipe);
	g_ptr_array_add(tok, NULL);
	r->pipe_argv = (char **)g_ptr_array_free(g_steal_pointer(&tok), FALSE);
	return TRUE;
}

/* Reply options without a reply are a mistake worth reporting. */
static gboolean check_reply(SmConfigParser *p, SmRule *r, GError **error)
{
	if (r->autorespond) {
		if (!r->reply_every)
			r->reply_every = REPLY_EVERY_DEFAULT;
		return TRUE;
	}
	if (r->reply_every || r->vacation || r->reply_from)
		return sm_config_fail(p, error, "'%s' needs 'autorespond' in the same rule",
		                      r->reply_every ? "every" : r->vacation ? "vacation"
		                                                             : "reply-from");
	return TRUE;
}

gboolean sm_config_parse_rule(SmConfigParser *p, char **args, guint n, GError **error)
{
	g_autoptr(SmRule) r = g_new0(SmRule, 1);
	r->file = g_strdup(p->file);
	r->line = p->line;
	r->conds = g_ptr_array_new_with_free_func((GDestroyNotify)condition_free);
	gboolean have_action = FALSE;

	for (guint i = 0; i < n;) {
		const char *item = args[i++];
		const char *kw = item + (item[0] == '!');
		if (strcmp(kw, "to") == 0 || strcmp(kw, "from") == 0 ||
		    strcmp(kw, "header") == 0) {
			if (!parse_condition(p, r, item, args, n, &i, error))
				return FALSE;
		} else if (strcmp(item, "folder") == 0) {
			if (i >= n)
				return sm_config_fail(p, error, "'folder' needs a folder name");
			if (!set_action(p, r, &have_action, SM_ACTION_FOLDER, args[i++], error))
				return FALSE;
		} else if (strcmp(item, "inbox") == 0) {
			if (!set_action(p, r, &have_action, SM_ACTION_FOLDER, "inbox", error))
				return FALSE;
		} else if (strcmp(item, "discard") == 0) {
			if (!set_action(p, r, &have_action, SM_ACTION_DISCARD, NULL, error))
				return FALSE;
		} else if (strcmp(item, "noscore") == 0) {
			r->noscore = TRUE;
		} else if (strcmp(item, "even-spam") == 0) {
			r->even_spam = TRUE;
		} else {
			gboolean known;
			if (!parse_reply_item(p, r, item, args, n, &i, &known, error))
				return FALSE;
			if (!known && !parse_outbound_item(p, r, item, args, n, &i, &known, error))
				return FALSE;
			if (!known)
				return sm_config_fail(p, error, "unknown rule item '%s'", item);
		}
	}
	if (!check_reply(p, r, error) || !check_outbound(p, r, error))
		return FALSE;
	gboolean outbound = r->pipe || r->forward || r->rebroadcast;
	if (have_action && outbound && r->action == SM_ACTION_DISCARD)
		return sm_config_fail(p, error, "'discard' cannot go with 'pipe', 'forward' or "
		                      "'rebroadcast' (without a folder they file only when they "
		                      "fail)");
	if (!have_action && outbound)
		r->file_on_failure = TRUE;
	if (!have_action && (r->autorespond || outbound))
		set_action(p, r, &have_action, SM_ACTION_FOLDER, "inbox", error);
	if (!have_action)
		return sm_config_fail(p, error, "rule has no action (folder, inbox, discard, pipe, "
		                      "forward or rebroadcast)");
	if (!check_folder(p, r, error))
		return FALSE;
	g_ptr_array_add(p->c->rules, g_steal_pointer(&r));
	return TRUE;
}
