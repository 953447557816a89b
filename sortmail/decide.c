/* decide.c: where one message goes (see sortmail.h).
 *
 * Contract: sm_decide() always produces a decision, whatever the rules, the
 * message or the scorer do; the worst case is "inbox" with a note saying why.
 * Order of precedence: a matching noscore rule is trusted outright; otherwise
 * the spam verdict comes first (ube for personal addresses, ubetrap for the
 * rest) unless the matching rule says even-spam; then the rule's action; then
 * the inbox. The scorer is called at most once, and only when needed.
 * A matching rule that says autorespond is passed on as the decision's reply;
 * whether a reply is actually sent is decided after filing (autorespond.c,
 * the reply memory).
 */
#include "config.h"
#include "sortmail/sortmail.h"

#include <string.h>

static gboolean re_match(SmRegex *re, const char *s)
{
	if (!s)
		s = "";
	return sm_regex_match(re, s, strlen(s));
}

/* A header condition holds when some header of that name matches; negated,
 * when none does (so a missing header satisfies "!header"). */
static gboolean any_header_matches(const SmMessage *m, const SmCondition *cond)
{
	guint pos = 0;
	const SmHeader *h;
	if (!m || !m->headers)
		return FALSE;
	while ((h = sm_message_next(m, cond->header, &pos))) {
		g_autofree char *value = sm_header_value(m, h);
		if (re_match(cond->re, value))
			return TRUE;
	}
	return FALSE;
}

static gboolean condition_holds(const SmCondition *cond, const SmEnvelope *env,
                                const SmMessage *m, const char *rcpt)
{
	gboolean hit = FALSE;
	switch (cond->kind) {
	case SM_COND_TO:     hit = re_match(cond->re, rcpt); break;
	case SM_COND_FROM:   hit = re_match(cond->re, env ? env->sender : NULL); break;
	case SM_COND_HEADER: hit = any_header_matches(m, cond); break;
	}
	return cond->negate ? !hit : hit;
}

const SmRule *sm_decide_first_rule(const SmConfig *c, const SmEnvelope *env,
                                   const SmMessage *m, const char *rcpt)
{
	for (guint i = 0; c->rules && i < c->rules->len; i++) {
		const SmRule *r = c->rules->pdata[i];
		gboolean all = TRUE;
		for (guint j = 0; all && j < r->conds->len; j++)
			all = condition_holds(r->conds->pdata[j], env, m, rcpt);
		if (all)
			return r;
	}
	return NULL;
}

/* The rule's folder with $N taken from its last "to" regex; NULL when the
 * result is not a valid folder name (the captures come from the message). */
static char *rule_folder(const SmRule *r, const char *rcpt, char **bad)
{
	if (!strchr(r->folder, '$'))
		return g_strdup(r->folder);
	const SmCondition *to = NULL;
	for (guint i = 0; i < r->conds->len; i++) {
		const SmCondition *cond = r->conds->pdata[i];
		if (cond->kind == SM_COND_TO && !cond->negate)
			to = cond;
	}
	char *name = to ? sm_regex_expand(to->re, rcpt ? rcpt : "", r->folder) : NULL;
	if (name && sm_folder_name_valid(name))
		return name;
	*bad = name ? name : g_strdup(r->folder);
	return NULL;
}

/* Applies @r's action to @out (or the inbox when @r is NULL). */
static void apply_rule(const SmRule *r, const char *rcpt, SmDecision *out, GString *note)
{
	if (!r) {
		out->folder = g_strdup("inbox");
		g_string_append(note, "no rule matched");
		return;
	}
	out->rule = r;
	if (r->action == SM_ACTION_DISCARD) {
		out->discard = TRUE;
		g_string_append_printf(note, "discarded by rule at %s:%u", r->file, r->line);
		return;
	}
	g_autofree char *bad = NULL;
	out->folder = rule_folder(r, rcpt, &bad);
	if (out->folder) {
		g_string_append_printf(note, "rule at %s:%u", r->file, r->line);
		if (sm_folder_is_inbox(out->folder)) {
			g_free(out->folder);
			out->folder = g_strdup("inbox");
		}
		return;
	}
	g_autofree char *shown = g_strescape(bad, NULL);
	out->folder = g_strdup("inbox");
	g_string_append_printf(note, "rule at %s:%u made the bad folder name \"%s\"; inbox",
	                       r->file, r->line, shown);
}

static void score_message(const SmMessage *m, SmScoreFunc score, gpointer user,
                          SmDecision *out, GString *note)
{
	g_autoptr(GError) error = NULL;
	if (!score) {
		g_string_append(note, "no scorer; ");
		return;
	}
	if (score(m, &out->verdict, user, &error)) {
		/* A verdict made without one of its parts (spamd down, ...). */
		if (out->verdict.note) {
			out->degraded = TRUE;
			g_string_append_printf(note, "%s; ", out->verdict.note);
		}
		return;
	}
	/* Whatever the scorer left behind is not a verdict. */
	sm_verdict_clear(&out->verdict);
	sm_verdict_init(&out->verdict);
	out->degraded = TRUE;
	g_string_append_printf(note, "scorer failed: %s; ",
	                       error ? error->message : "unknown error");
}

void sm_decide(const SmConfig *c, const SmEnvelope *env, const SmMessage *m,
               const char *original_recipient, SmScoreFunc score, gpointer user,
               SmDecision *out)
{
	*out = (SmDecision){ 0 };
	sm_verdict_init(&out->verdict);
	GString *note = g_string_new(NULL);
	const char *rcpt = original_recipient ? original_recipient : "";
	const SmRule *r = sm_decide_first_rule(c, env, m, rcpt);

	if (r && r->noscore) {
		g_string_append(note, "trusted, ");
	} else if (m && m->len > c->max_score_size) {
		g_string_append(note, "too big to score; ");
	} else {
		score_message(m, score, user, out, note);
	}

	if (out->verdict.is_spam && !(r && r->even_spam)) {
		gboolean personal = sm_is_personal(c, rcpt);
		out->folder = g_strdup(personal ? c->ube_folder : c->ubetrap_folder);
		g_string_append(note, personal ? "spam to personal address"
		                               : "spam to other address");
	} else {
		apply_rule(r, rcpt, out, note);
		if (r && (r->pipe || r->forward || r->rebroadcast))
			out->outbound = r;
	}
	/* Asked for even when spam overrode the action: the reply step then
	 * logs "suppressed: spam" rather than nothing at all. */
	if (r && r->autorespond)
		out->reply = r;
	out->note = g_string_free(note, FALSE);
}

void sm_decision_clear(SmDecision *d)
{
	g_free(d->folder);
	g_free(d->note);
	sm_verdict_clear(&d->verdict);
	*d = (SmDecision){ 0 };
}
