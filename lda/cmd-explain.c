/* cmd-explain.c: the `explain` subcommand: one message through the steps of
 * a delivery, each one written down, nothing written or sent.
 *
 *   sortmail explain [-c CONFIG] [-f SENDER] [-r RECIPIENT] [-a ORIGINAL] < message
 *
 * The steps are those of deliver.c, in its order, with the same functions:
 * the envelope, the original recipient (which source, which un-plus rule,
 * before -> after), the verdict cache (key, and read-only lookups of the
 * verdict and the duplicates journal: no single-flight lock, no write), the scoring (every rule that
 * hit with its score, the DNS answers, spamd's answer; score/ writes them
 * down through sm_scorer_explain()), the decision (the config line that
 * chose it), then explain-actions.c. A fresh cached verdict is what a
 * delivery would use, so the decision uses it too; the message is scored
 * all the same to show the rules, and a difference is pointed out.
 *
 * Exit status: 0 explained, 1 the configuration or the message cannot be
 * read, 2 usage error.
 */
#include "config.h"
#include "lda.h"
#include "explain-priv.h"
#include "spool.h"
#include "verdicts.h"
#include "score/score.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define EXIT_USAGE 2

void sm_explain_section(const char *title)
{
	printf("\n%s\n", title);
}

void sm_explain_verdict(const char *key, const SmVerdict *v)
{
	GString *tests = g_string_new(NULL);
	for (guint i = 0; v->rules && i < v->rules->len; i++)
		g_string_append_printf(tests, "%s%s", i ? "," : "", (char *)v->rules->pdata[i]);
	sm_explain_item(key, "%s, score %.1f, required %.1f, tests=%s", v->is_spam ? "spam" : "ham",
	                v->score, v->threshold, tests->len ? tests->str : "none");
	g_string_free(tests, TRUE);
}

void sm_explain_item(const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *value = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	printf("  %-16s %s\n", key, value);
}

typedef struct {
	SmEnvelopeArgs env;
	const char *config_path;
	gboolean help;
} ExplainOptions;

static gboolean parse_options(int argc, char **argv, ExplainOptions *o)
{
	static const struct option longopts[] = {
		{ "sender", required_argument, NULL, 'f' },
		{ "recipient", required_argument, NULL, 'r' },
		{ "original-recipient", required_argument, NULL, 'a' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "f:r:a:c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': o->env.sender = optarg; break;
		case 'r': o->env.recipient = optarg; break;
		case 'a': o->env.original_recipient = optarg; break;
		case 'c': o->config_path = optarg; break;
		case 'h': o->help = TRUE; break;
		default: return FALSE;
		}
	}
	return optind == argc;
}

static void usage(FILE *to)
{
	fputs("usage: sortmail explain [-c CONFIG] [-f SENDER] [-r RECIPIENT]\n"
	      "                        [-a ORIGINAL_RECIPIENT] < message\n"
	      "Shows every step a delivery of the message would take; writes and sends nothing.\n",
	      to);
}

/* ---- the steps ------------------------------------------------------------- */

typedef struct {
	ExplainOptions opts;
	SmEnvelope env;
	SmConfig *config;
	SmSpool spool;
	SmMessage msg;
	SmRecipient rcpt;
	char key[SM_CACHE_KEY_LEN + 1];
	gboolean use_cache;
	SmCacheEntry cached;     /* valid when have_cached */
	gboolean have_cached;    /* a fresh verdict is in the cache */
	SmScorer *scorer;
	SmVerdict fresh;         /* the scoring done now */
	SmScoreTrace trace;
	gboolean scored;
	char *score_error;
	SmDecision decision;
} Explain;

static const char *or_none(const char *s)
{
	return s && *s ? s : "(none)";
}

static void explain_envelope(Explain *x)
{
	const char *from = x->opts.env.sender ? "-f" : g_getenv("SENDER") ? "SENDER"
	                 : x->spool.from_sender ? "the mbox From line" : "nothing: null sender";
	sm_explain_section("envelope");
	sm_explain_item("sender", "%s (from %s)", x->env.sender && *x->env.sender
	                ? x->env.sender : "<>", from);
	sm_explain_item("recipient", "%s (from %s)", or_none(x->env.recipient),
	                x->opts.env.recipient ? "-r" : "RECIPIENT, else USER");
	sm_explain_item("original hint", "%s%s", or_none(x->env.original_recipient),
	                !x->env.original_recipient ? ""
	                : x->env.original_from_option ? " (from -a)" : " (from ORIGINAL_RECIPIENT)");
	g_autofree char *msgid = sm_message_get(&x->msg, "Message-ID");
	sm_explain_item("message", "%zu bytes, %u header fields, Message-ID %s", x->msg.len,
	                x->msg.headers->len, or_none(msgid));
}

/* Where the recovered address came from, as it was written there. */
static char *source_value(const Explain *x, const char **what)
{
	switch (x->rcpt.source) {
	case SM_RCPT_DELIVERED_TO:
		*what = "the first Delivered-To header";
		return sm_message_get(&x->msg, "Delivered-To");
	case SM_RCPT_X_ORIGINAL_TO:
		*what = "the X-Original-To header";
		return sm_message_get(&x->msg, "X-Original-To");
	case SM_RCPT_OPTION:
		*what = "option -a";
		return g_strdup(x->env.original_recipient);
	case SM_RCPT_ORIGINAL_ENV:
		*what = "ORIGINAL_RECIPIENT";
		return g_strdup(x->env.original_recipient);
	case SM_RCPT_ENVELOPE:
		*what = "the envelope recipient";
		return g_strdup(x->env.recipient);
	default:
		*what = "nothing (no source gave an address)";
		return NULL;
	}
}

static void explain_recipient(Explain *x)
{
	const char *what;
	g_autofree char *raw = source_value(x, &what);
	sm_explain_section("original recipient");
	sm_explain_item("taken from", "%s%s%s", what, raw ? ": " : "", raw ? raw : "");
	const SmUnplus *u = x->rcpt.unplus;
	if (u) {
		g_autofree char *addr = raw ? sm_address_extract(raw) : NULL;
		sm_explain_item("unplus rule", "unplus %s %s", u->pattern, u->replacement);
		sm_explain_item("rewritten", "%s -> %s", addr ? addr : or_none(raw), x->rcpt.address);
	} else {
		sm_explain_item("unplus rule", "%s", x->config->unplus->len ? "none matched"
		                                                            : "none configured");
	}
	sm_explain_item("result", "%s (%s)%s", or_none(x->rcpt.address),
	                sm_recipient_source_name(x->rcpt.source),
	                sm_is_personal(x->config, x->rcpt.address) ? ", a personal address"
	                                                           : ", not a personal address");
}


static void copy_verdict(const SmVerdict *from, SmVerdict *to)
{
	to->score = from->score;
	to->threshold = from->threshold;
	to->is_spam = from->is_spam;
	to->source = from->source;
	to->scored_at = from->scored_at;
	if (!to->rules)
		to->rules = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; from->rules && i < from->rules->len; i++)
		g_ptr_array_add(to->rules, g_strdup(from->rules->pdata[i]));
	g_free(to->note);
	to->note = g_strdup(from->note);
}

/* The SmScoreFunc of the decision: scores with a trace, and hands over the
 * cached verdict instead when there is a fresh one, as a delivery would. */
static gboolean score(const SmMessage *m, SmVerdict *out, gpointer user, GError **error)
{
	Explain *x = user;
	g_autoptr(GError) err = NULL;
	x->scored = TRUE;
	x->scorer = sm_lda_scorer_new(x->config);
	gboolean ok = sm_scorer_explain(x->scorer, m, &x->fresh, &x->trace, &err);
	if (!ok)
		x->score_error = g_strdup(err->message);
	if (x->have_cached) {
		copy_verdict(&x->cached.verdict, out);
		return TRUE;
	}
	if (!ok) {
		g_propagate_error(error, g_steal_pointer(&err));
		return FALSE;
	}
	copy_verdict(&x->fresh, out);
	return TRUE;
}

static void explain_scoring(Explain *x)
{
	const SmDecision *d = &x->decision;
	sm_explain_section("scoring");
	if (!x->scored) {
		sm_explain_item("scored", "no: %s", d->note);
		return;
	}
	if (x->score_error) {
		sm_explain_item("scored", "failed: %s", x->score_error);
	} else if (x->trace.hits) {
		sm_explain_item("local rules", "%u rule%s hit", x->trace.hits->len,
		                x->trace.hits->len == 1 ? "" : "s");
		for (guint i = 0; i < x->trace.hits->len; i++) {
			const SmScoreHit *h = x->trace.hits->pdata[i];
			sm_explain_item("rule", "%s %+.1f (%s, %s)%s%s", h->name, h->score, h->kind,
			                h->where, h->describe ? ": " : "", h->describe ? h->describe : "");
		}
	} else {
		sm_explain_item("local rules", "not run");
	}
	for (guint i = 0; x->trace.dns && i < x->trace.dns->len; i++)
		sm_explain_item("dns", "%s", (char *)x->trace.dns->pdata[i]);
	if (x->trace.spamd)
		sm_explain_item("spamd", "%s", x->trace.spamd);
	if (!x->score_error)
		sm_explain_verdict(x->have_cached ? "scored now" : "verdict", &x->fresh);
	if (x->fresh.note)
		sm_explain_item("note", "%s", x->fresh.note);
	if (x->have_cached) {
		sm_explain_verdict("verdict", &d->verdict);
		if (d->verdict.is_spam != x->fresh.is_spam)
			sm_explain_item("beware", "the cached verdict and the one scored now disagree; "
			                "a delivery uses the cached one until it expires");
	}
	if (d->verdict.source != SM_VERDICT_NONE) {
		g_autofree char *status = sm_verdict_status_line(&d->verdict);
		if (d->verdict.is_spam)
			sm_explain_item("prepended", "X-Spam-Flag: YES");
		sm_explain_item("prepended", "X-Spam-Status: %s", status);
	}
}

/* The text of @file's line @line, trimmed; NULL when it cannot be read. */
static char *config_line(const char *file, guint line)
{
	g_autofree char *text = NULL;
	if (!file || !g_file_get_contents(file, &text, NULL, NULL))
		return NULL;
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	if (line == 0 || line > g_strv_length(lines))
		return NULL;
	return g_strstrip(g_strdup(lines[line - 1]));
}

static void explain_decision(Explain *x)
{
	const SmDecision *d = &x->decision;
	const SmRule *r = sm_decide_first_rule(x->config, &x->env, &x->msg, x->rcpt.address);
	sm_explain_section("decision");
	if (r) {
		g_autofree char *text = config_line(r->file, r->line);
		sm_explain_item(d->rule ? "config rule" : "matching rule", "%s:%u: %s", r->file,
		                r->line, text ? text : "(line not readable)");
		if (!d->rule)
			sm_explain_item("overridden", "by the spam policy: its action applies to spam "
			                "only with even-spam");
	} else {
		sm_explain_item("config rule", "none matched");
	}
	sm_explain_item("why", "%s", d->note);
}

static gboolean run(Explain *x, GError **error)
{
	sm_envelope_fill(&x->env, &x->opts.env);
	x->config = sm_lda_config_load(x->opts.config_path, &x->env, error);
	if (!x->config || !sm_spool_read(&x->spool, STDIN_FILENO, error))
		return FALSE;
	/* Explaining writes nothing: not even the scorer's rule cache. */
	g_clear_pointer(&x->config->rule_cache, g_free);
	if (!x->env.sender)
		x->env.sender = g_strdup(x->spool.from_sender ? x->spool.from_sender : "");
	sm_message_index(&x->msg, x->spool.msg, x->spool.msg_len);
	sm_recipient_recover(x->config, &x->env, &x->msg, &x->rcpt);
	x->use_cache = x->config->cache_path && x->msg.len <= x->config->max_score_size;
	if (x->use_cache)
		sm_cache_key(&x->msg, x->key);

	printf("configuration      %s\n", x->config->path ? x->config->path
	                                                   : "(none: the defaults)");
	explain_envelope(x);
	explain_recipient(x);
	x->have_cached = sm_explain_cache(x->config, &x->env, x->use_cache ? x->key : NULL,
	                                  x->rcpt.address, &x->cached);
	sm_verdict_init(&x->fresh);
	sm_decide(x->config, &x->env, &x->msg, x->rcpt.address, score, x, &x->decision);
	explain_scoring(x);
	explain_decision(x);
	sm_explain_actions(x->config, &x->env, &x->msg, x->rcpt.address, &x->decision);
	printf("\nnothing was written or sent\n");
	return TRUE;
}

int sm_cmd_explain(int argc, char **argv)
{
	Explain x = { 0 };
	if (!parse_options(argc, argv, &x.opts)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (x.opts.help) {
		usage(stdout);
		return 0;
	}
	g_autoptr(GError) error = NULL;
	gboolean ok = run(&x, &error);
	if (!ok)
		fprintf(stderr, "sortmail explain: %s%s\n", error->message,
		        x.config ? "" : " (sortmail check lists every problem)");
	sm_decision_clear(&x.decision);
	sm_score_trace_clear(&x.trace);
	sm_verdict_clear(&x.fresh);
	if (x.have_cached || x.cached.key)
		sm_cache_entry_clear(&x.cached);
	sm_scorer_free(x.scorer);
	g_free(x.score_error);
	sm_recipient_clear(&x.rcpt);
	sm_message_clear(&x.msg);
	sm_spool_clear(&x.spool);
	if (x.config)
		sm_config_free(x.config);
	sm_envelope_clear(&x.env);
	return ok ? 0 : 1;
}
