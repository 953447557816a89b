/* explain-actions.c: the second half of `sortmail explain` (explain-priv.h):
 * what a delivery would do with its decision. The folder's full path
 * (sm_folder_path(), as the backends lay folders out); the pipe and the
 * forward (the same loop tests as outbound.c, through the same function; the
 * argv a delivery would run); the reply (the same never-answer conditions, a
 * read-only look at the reply memory, and the reply built by the same module
 * with the same request as autoreply.c, printed in full). Nothing is run,
 * locked, written or sent.
 */
#include "config.h"
#include "explain-priv.h"
#include "autoreply.h"
#include "outbound.h"
#include "cache/cache.h"
#include "templates/reply.h"

#include <stdio.h>
#include <string.h>

/* An argv as a shell would need it typed: words with blanks or quotes quoted. */
static char *argv_text(const char *const *argv)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; argv[i]; i++) {
		const char *a = argv[i];
		gboolean plain = *a && !strpbrk(a, " \t\n'\"\\$`;&|<>()*?[]#~");
		g_autofree char *quoted = plain ? NULL : g_shell_quote(a);
		g_string_append_printf(s, "%s%s", i ? " " : "", plain ? a : quoted);
	}
	return g_string_free(s, FALSE);
}

/* sendmail.h's command line: COMMAND... -i -f SENDER -- RECIPIENT... */
static char *submit_text(const SmConfig *c, const char *sender, const char *const *rcpts)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	for (guint i = 0; i < c->sendmail->len; i++)
		g_ptr_array_add(argv, c->sendmail->pdata[i]);
	g_ptr_array_add(argv, (gpointer)"-i");
	g_ptr_array_add(argv, (gpointer)"-f");
	g_ptr_array_add(argv, (gpointer)(sender && *sender ? sender : "<>"));
	g_ptr_array_add(argv, (gpointer)"--");
	for (guint i = 0; rcpts[i]; i++)
		g_ptr_array_add(argv, (gpointer)rcpts[i]);
	g_ptr_array_add(argv, NULL);
	return argv_text((const char *const *)argv->pdata);
}

static void explain_folder(const SmConfig *c, const SmDecision *d, const SmRule *out_rule)
{
	sm_explain_section("filing");
	if (d->discard) {
		sm_explain_item("action", "discard (deliberately dropped; logged, exit 0)");
		return;
	}
	g_autofree char *path = sm_folder_path(c, d->folder);
	sm_explain_item("folder", "%s (%s)", d->folder,
	                c->format == SM_FORMAT_MBOX ? "mbox" : "Maildir");
	sm_explain_item("path", "%s", path);
	if (out_rule && out_rule->file_on_failure)
		sm_explain_item("filed", "only if the rule's pipe or forward fails");
}

static void explain_pipe(const SmConfig *c, const SmEnvelope *env, const char *rcpt,
                         const SmDecision *d, const SmRule *r)
{
	const char *shell_argv[] = { "/bin/sh", "-c", r->pipe, NULL };
	g_autofree char *argv = argv_text(r->pipe_shell ? shell_argv
	                                               : (const char *const *)r->pipe_argv);
	const SmVerdict *v = &d->verdict;
	sm_explain_item("pipe", "would run: %s", argv);
	sm_explain_item("pipe input", "the message, with the X-Spam headers above");
	sm_explain_item("pipe env", "SENDER=%s RECIPIENT=%s ORIGINAL_RECIPIENT=%s",
	                env->sender ? env->sender : "", env->recipient ? env->recipient : "", rcpt);
	g_autofree char *score = v->source == SM_VERDICT_NONE ? g_strdup("")
	                                                      : g_strdup_printf("%.1f", v->score);
	sm_explain_item("pipe env", "SORTMAIL_VERDICT=%s SORTMAIL_SCORE=%s SORTMAIL_FOLDER=%s",
	                v->source == SM_VERDICT_NONE ? "unscored" : v->is_spam ? "spam" : "ham",
	                score, d->folder ? d->folder : "inbox");
	sm_explain_item("pipe timeout", "%u s; if it fails: %s", c->pipe_timeout, r->pipe_defer
	                ? "the delivery is deferred (75)" : "the message is filed");
}

static void explain_forward(const SmConfig *c, const SmEnvelope *env, const SmMessage *m,
                            const char *rcpt, const SmDecision *d, const SmRule *r)
{
	if (d->verdict.is_spam && !r->forward_spam) {
		sm_explain_item("forward", "suppressed:spam (no forward-spam); the message is filed");
		return;
	}
	if (rcpt && *rcpt && sm_outbound_has_address(m, SM_LOOP_HEADER, rcpt)) {
		sm_explain_item("forward", "suppressed:loop (%s: %s); the message is filed",
		                SM_LOOP_HEADER, rcpt);
		return;
	}
	g_autoptr(GPtrArray) to = g_ptr_array_new();
	for (guint i = 0; i < r->forward->len; i++) {
		const char *a = r->forward->pdata[i];
		if (sm_outbound_has_address(m, "Delivered-To", a))
			sm_explain_item("forward", "not to %s (loop: Delivered-To: %s)", a, a);
		else
			g_ptr_array_add(to, (gpointer)a);
	}
	if (to->len == 0) {
		sm_explain_item("forward", "suppressed:loop; the message is filed");
		return;
	}
	g_ptr_array_add(to, NULL);
	const char *sender = r->forward_sender ? r->forward_sender : env->sender;
	g_autofree char *argv = submit_text(c, sender, (const char *const *)to->pdata);
	sm_explain_item("forward", "would run: %s", argv);
	sm_explain_item("forward adds", "%s: %s", SM_LOOP_HEADER, rcpt && *rcpt ? rcpt : "unknown");
}

static void explain_outbound(const SmConfig *c, const SmEnvelope *env, const SmMessage *m,
                             const char *rcpt, const SmDecision *d)
{
	const SmRule *r = d->outbound;
	sm_explain_section("pipe and forward");
	if (!r) {
		sm_explain_item("none", "%s", "the decision runs no pipe and no forward");
		return;
	}
	if (r->pipe)
		explain_pipe(c, env, rcpt, d, r);
	if (r->forward)
		explain_forward(c, env, m, rcpt, d, r);
}

typedef struct {
	const char *sender;   /* lowercased */
	const char *name;
	gint64 replied_at;    /* 0: none found */
} MemoryLookup;

static gboolean find_record(const SmRepliedEntry *e, gpointer user)
{
	MemoryLookup *l = user;
	if (e->valid && !e->stale && strcmp(e->sender, l->sender) == 0 &&
	    strcmp(e->template_name, l->name) == 0) {
		l->replied_at = e->replied_at;
		return FALSE;
	}
	return TRUE;
}

/* TRUE when the reply memory says a reply went out within the period. */
static gboolean recently_replied(const SmConfig *c, const SmEnvelope *env, const SmRule *r)
{
	SmRepliedOptions o = { .path = c->reply_memory, .db_wait_ms = SM_CACHE_DEFAULT_DB_WAIT_MS };
	g_autoptr(SmReplied) mem = sm_replied_new(&o);
	g_autofree char *sender = g_ascii_strdown(env->sender ? env->sender : "", -1);
	MemoryLookup l = { .sender = sender, .name = r->autorespond };
	g_autoptr(GError) error = NULL;
	if (!sm_replied_foreach(mem, find_record, &l, &error)) {
		sm_explain_item("reply memory", "cannot be read: %s (a delivery would not reply)",
		                error->message);
		return TRUE;
	}
	if (!l.replied_at) {
		sm_explain_item("reply memory", "no reply to this sender with this template within "
		                "%u s", r->reply_every);
		return FALSE;
	}
	g_autoptr(GDateTime) t = g_date_time_new_from_unix_local(l.replied_at);
	g_autofree char *when = g_date_time_format(t, "%Y-%m-%d %H:%M:%S %z");
	sm_explain_item("reply memory", "replied at %s: suppressed:recent", when);
	return TRUE;
}

static void print_reply(const SmConfig *c, const SmEnvelope *env, const SmMessage *m,
                        const char *rcpt, const SmDecision *d)
{
	SmReply reply;
	g_autoptr(GError) error = NULL;
	if (!sm_autoreply_build(c, env, m, rcpt, d, &reply, &error)) {
		sm_explain_item("reply", "cannot be built: %s (a delivery logs reply=failed)",
		                error->message);
		return;
	}
	const char *const rcpts[] = { env->sender, NULL };
	g_autofree char *argv = submit_text(c, "", rcpts);
	sm_explain_item("sendmail", "would run: %s", argv);
	for (guint i = 0; i < reply.notes->len; i++)
		sm_explain_item("note", "%s", (char *)reply.notes->pdata[i]);
	printf("----- the reply, as it would be sent -----\n");
	fwrite(reply.data, 1, reply.len, stdout);
	if (reply.len && reply.data[reply.len - 1] != '\n')
		putchar('\n');
	printf("----- end of the reply -----\n");
	sm_reply_clear(&reply);
}

static void explain_reply(const SmConfig *c, const SmEnvelope *env, const SmMessage *m,
                          const char *rcpt, const SmDecision *d)
{
	const SmRule *r = d->reply;
	sm_explain_section("automatic reply");
	if (!r) {
		sm_explain_item("none", "%s", "the matching rule asks for no reply");
		return;
	}
	sm_explain_item("template", "%s (rule at %s:%u, every %u s%s)", r->autorespond, r->file,
	                r->line, r->reply_every, r->vacation ? ", vacation" : "");
	g_autofree char *detail = NULL;
	const char *veto = sm_autorespond_veto(c, r, env, m, &d->verdict, &detail);
	if (veto) {
		sm_explain_item("reply", "suppressed:%s%s%s", veto, detail ? " " : "",
		                detail ? detail : "");
		return;
	}
	if (recently_replied(c, env, r))
		return;
	print_reply(c, env, m, rcpt, d);
}

void sm_explain_actions(const SmConfig *c, const SmEnvelope *env, const SmMessage *m,
                        const char *rcpt, const SmDecision *d)
{
	explain_folder(c, d, d->outbound);
	explain_outbound(c, env, m, rcpt, d);
	explain_reply(c, env, m, rcpt, d);
}
