/* autoreply.c: the automatic reply of one delivery (see autoreply.h).
 *
 * Order, cheapest and safest first: the never-answer conditions (pure, no
 * I/O); the claim in the reply memory, which also serialises the copies of a
 * burst (one sends, the others then find it recorded); the reply, built by
 * the on-demand module (GMime is loaded only now); sendmail; the record; the
 * release. Every step that fails ends the reply, never the delivery.
 */
#include "config.h"
#include "autoreply.h"
#include "sendmail.h"
#include "fsutil.h"
#include "cache/cache.h"
#include "templates/reply.h"

#include <sys/stat.h>
#include <unistd.h>

/* Waiting for another delivery's reply: its sendmail's time and some. */
#define MEMORY_WAIT_EXTRA_MS 15000
/* Less time than this before the deadline: do not start (or send) a reply. */
#define MIN_BUDGET_MS 1000

typedef struct {
	const SmConfig *c;
	const SmEnvelope *env;
	const SmMessage *m;
	const char *rcpt;
	const SmDecision *d;
	gint64 deadline; /* monotonic; G_MAXINT64: none */
} Reply;

/* Milliseconds left before the deadline, at most @cap. */
static guint budget_ms(const Reply *r, guint cap)
{
	gint64 left = (r->deadline - g_get_monotonic_time()) / 1000;
	return left <= 0 ? 0 : (guint)MIN(left, (gint64)cap);
}

static void set_outcome(SmAutoreplyOutcome *o, const char *state, const char *code,
                        char *detail, gboolean warn)
{
	o->state = code ? g_strconcat(state, ":", code, NULL) : g_strdup(state);
	o->detail = detail;
	o->warn = warn;
}


static char *join_notes(const GPtrArray *notes)
{
	if (!notes || notes->len == 0)
		return NULL;
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < notes->len; i++)
		g_string_append_printf(s, "%s%s", i ? "; " : "", (char *)notes->pdata[i]);
	return g_string_free(s, FALSE);
}

static const char *build_code(const GError *error)
{
	if (g_error_matches(error, SM_REPLY_ERROR, SM_REPLY_ERROR_TEMPLATE))
		return "template";
	if (g_error_matches(error, SM_REPLY_ERROR, SM_REPLY_ERROR_MODULE))
		return "module";
	return "build";
}

gboolean sm_autoreply_build(const SmConfig *c, const SmEnvelope *env, const SmMessage *m,
                            const char *rcpt, const SmDecision *d, SmReply *reply,
                            GError **error)
{
	const SmRule *r = d->reply;
	g_autofree char *score = d->verdict.source == SM_VERDICT_NONE
	                         ? NULL : g_strdup_printf("%.1f", d->verdict.score);
	SmReplyRequest req = {
		.data = m->data, .len = m->len,
		.template_name = r->autorespond,
		.user_dir = c->templates_dir,
		.recipient = rcpt,
		.sender = env->sender,
		.from_address = r->reply_from ? r->reply_from : rcpt,
		.score = score,
	};
	return sm_reply_build(&req, reply, error);
}

/* Builds and submits; TRUE when the reply must be recorded as sent. */
static gboolean build_and_send(const Reply *rp, SmAutoreplyOutcome *out)
{
	const SmConfig *c = rp->c;
	const SmEnvelope *env = rp->env;
	const SmMessage *m = rp->m;
	const SmDecision *d = rp->d;
	const char *rcpt = rp->rcpt;
	SmReply reply;
	g_autoptr(GError) error = NULL;
	if (!sm_autoreply_build(c, env, m, rcpt, d, &reply, &error)) {
		set_outcome(out, "failed", build_code(error), g_strdup(error->message), TRUE);
		return FALSE;
	}
	guint timeout_ms = budget_ms(rp, c->sendmail_timeout * 1000);
	if (timeout_ms < MIN_BUDGET_MS) {
		set_outcome(out, "failed", "deadline", g_strdup("no time left to send it"), TRUE);
		sm_reply_clear(&reply);
		return FALSE;
	}
	const char *const rcpts[] = { env->sender, NULL };
	g_autofree const char **command = g_new0(const char *, c->sendmail->len + 1);
	for (guint i = 0; i < c->sendmail->len; i++)
		command[i] = c->sendmail->pdata[i];
	char *why = NULL;
	SmSubmitResult sr = sm_submit(command, timeout_ms, reply.data, reply.len, "", rcpts, &why);
	switch (sr) {
	case SM_SUBMIT_OK:
		set_outcome(out, "sent", NULL, join_notes(reply.notes), FALSE);
		break;
	case SM_SUBMIT_TIMEOUT:
		set_outcome(out, "failed", "timeout", why, TRUE);
		break;
	case SM_SUBMIT_REFUSED:
	case SM_SUBMIT_FAILED:
		set_outcome(out, "failed", "sendmail", why, TRUE);
		break;
	}
	sm_reply_clear(&reply);
	return sr == SM_SUBMIT_OK || sr == SM_SUBMIT_TIMEOUT;
}

/* The memory's own trouble is worth a warning even when the reply went out. */
static void add_memory_warning(SmAutoreplyOutcome *out, SmReplied *mem)
{
	const char *w = sm_replied_warning(mem);
	if (!w)
		return;
	char *detail = out->detail ? g_strconcat(out->detail, "; ", w, NULL) : g_strdup(w);
	g_free(out->detail);
	out->detail = detail;
	out->warn = TRUE;
}

static void reply_once(const Reply *rp, SmAutoreplyOutcome *out)
{
	const SmConfig *c = rp->c;
	const SmRule *rule = rp->d->reply;
	guint left_ms = budget_ms(rp, G_MAXUINT);
	if (left_ms < 2 * MIN_BUDGET_MS) {
		set_outcome(out, "failed", "deadline", g_strdup("no time left before the "
		                                                "delivery's deadline"), TRUE);
		return;
	}
	if (!sm_parent_dir_is_ours(c->reply_memory)) {
		set_outcome(out, "failed", "memory", g_strdup("reply memory directory missing or "
		                                              "owned by another user"), TRUE);
		return;
	}
	SmRepliedOptions o = {
		.path = c->reply_memory,
		/* Half the time left at most for waiting, the rest for sending. */
		.max_wait_ms = MIN(c->sendmail_timeout * 1000 + MEMORY_WAIT_EXTRA_MS, left_ms / 2),
		.db_wait_ms = SM_CACHE_DEFAULT_DB_WAIT_MS,
	};
	g_autoptr(SmReplied) mem = sm_replied_new(&o);
	gint64 last = 0;
	switch (sm_replied_claim(mem, rp->env->sender, rule->autorespond, rule->reply_every,
	                         &last)) {
	case SM_REPLIED_RECENT: {
		g_autoptr(GDateTime) t = g_date_time_new_from_unix_local(last);
		g_autofree char *when = t ? g_date_time_format(t, "%Y-%m-%d %H:%M:%S %z") : NULL;
		set_outcome(out, "suppressed", "recent",
		            g_strdup_printf("replied to this sender at %s", when ? when : "?"), FALSE);
		break;
	}
	case SM_REPLIED_BUSY:
		set_outcome(out, "suppressed", "busy",
		            g_strdup("another delivery is replying to this sender"), FALSE);
		break;
	case SM_REPLIED_UNKNOWN:
		set_outcome(out, "failed", "memory", NULL, TRUE);
		break;
	case SM_REPLIED_GO:
		sm_replied_finish(mem, build_and_send(rp, out));
		break;
	}
	add_memory_warning(out, mem);
}

void sm_autoreply(const SmConfig *c, const SmEnvelope *env, const SmMessage *m,
                  const char *rcpt, const SmDecision *d, gint64 deadline, gboolean dry_run,
                  SmAutoreplyOutcome *out)
{
	*out = (SmAutoreplyOutcome){ 0 };
	if (!d->reply)
		return;
	char *detail = NULL;
	const char *veto = sm_autorespond_veto(c, d->reply, env, m, &d->verdict, &detail);
	if (veto) {
		set_outcome(out, "suppressed", veto, detail, FALSE);
		return;
	}
	if (dry_run) {
		set_outcome(out, "would-send", NULL, NULL, FALSE);
		return;
	}
	Reply rp = { .c = c, .env = env, .m = m, .rcpt = rcpt, .d = d,
	             .deadline = deadline ? deadline : G_MAXINT64 };
	reply_once(&rp, out);
}

void sm_autoreply_outcome_clear(SmAutoreplyOutcome *o)
{
	g_free(o->state);
	g_free(o->detail);
	*o = (SmAutoreplyOutcome){ 0 };
}
