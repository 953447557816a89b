/* rules-if.c: the conditions of "if" and "ifplugin" lines (see rules.h).
 *
 *   if (version >= 3.004000)
 *   if !plugin(Mail::SpamAssassin::Plugin::MIMEHeader)
 *   if can(Mail::SpamAssassin::Conf::feature_bug6558_free) && (version > 4)
 *
 * Values are numbers: version is SM_RULES_SA_VERSION, plugin() is 1 for the
 * plugins below, can() is 1 for the capabilities below, comparisons and !
 * give 0 or 1, && and || combine truth. Anything else (perl_version, an unknown function) is not
 * understood: the caller records a problem and takes the block as false.
 *
 * Which plugins count as loaded: those SpamAssassin loads by default on
 * Debian (the loadplugin lines of /etc/spamassassin) that add no rule syntax, only eval:
 * functions and settings. Their blocks hold plain rules and score lines as
 * well as eval: rules (RCVD_ILLEGAL_IP is a plain header rule whose score
 * is in an "ifplugin RelayEval" block), so reading them gives the plain
 * rules SpamAssassin's scores; their eval: rules are listed as unsupported
 * like any other, and metas see them as not run (match.c). Of the plugins
 * that add rule syntax, ReplaceTags and MIMEHeader are implemented
 * (replacetags.c, mimeheader rules); the others (AskDNS, URIDNSBL,
 * URIDetail, HashBL) are not loaded: reading their blocks would give rules
 * that mean something else. Nor are those Debian does not load.
 *
 * can(Mail::SpamAssassin::Conf::X) asks whether SpamAssassin has feature X.
 * It is true for the features of SpamAssassin 4's rule language that
 * sortmail has too: rule sets use it to choose between a rule and its
 * stand-in for older versions (93 of Debian's blocks choose
 * feature_bug6558_free, "metas may count multiple hits", between
 * "body __PILL_PRICE_01 ..." and "meta __PILL_PRICE_01 0"). Any other
 * capability (capture rules, rules_matching(), :host modifiers, a plugin's
 * functions) is false.
 */
#include "config.h"
#include "score/rules-priv.h"

#include <string.h>

#define MAX_NESTING 32

#define PLUGIN "Mail::SpamAssassin::Plugin::"

#define CONF "Mail::SpamAssassin::Conf::"

/* See the top. */
static const char *const capabilities[] = {
	CONF "feature_bug6558_free", CONF "feature_welcomelist_blocklist",
	CONF "feature_blocklist_welcomelist", CONF "perl_min_version_5010000",
	CONF "feature_header_first_last", CONF "feature_header_match_many",
	CONF "has_tflags_nosubject",
	NULL
};

/* See the top. */
static const char *const implemented_plugins[] = {
	PLUGIN "AutoLearnThreshold", PLUGIN "Bayes", PLUGIN "BodyEval", PLUGIN "Check",
	PLUGIN "DKIM", PLUGIN "DMARC", PLUGIN "DNSEval", PLUGIN "FreeMail", PLUGIN "HTMLEval",
	PLUGIN "HTTPSMismatch", PLUGIN "HeaderEval", PLUGIN "ImageInfo", PLUGIN "MIMEEval",
	PLUGIN "Pyzor", PLUGIN "Razor2", PLUGIN "RelayEval", PLUGIN "SPF", PLUGIN "SpamCop",
	PLUGIN "URIEval", PLUGIN "VBounce", PLUGIN "WLBLEval", PLUGIN "WelcomeListSubject",
	/* and those whose rules sortmail runs itself */
	PLUGIN "ReplaceTags", PLUGIN "MIMEHeader",
	NULL
};

typedef struct {
	const char *s;
	guint depth;
	gboolean bad;
} Cond;

static void skip(Cond *c)
{
	while (g_ascii_isspace(*c->s))
		c->s++;
}

static gboolean accept(Cond *c, const char *tok)
{
	skip(c);
	gsize n = strlen(tok);
	if (strncmp(c->s, tok, n) != 0)
		return FALSE;
	c->s += n;
	return TRUE;
}

static gboolean listed(const char *const *list, const char *name, gsize len)
{
	for (const char *const *p = list; *p; p++)
		if (strlen(*p) == len && strncmp(*p, name, len) == 0)
			return TRUE;
	return FALSE;
}

/* "plugin(NAME)" or "can(NAME)" after the word: the argument's extent. */
static double call(Cond *c, gboolean plugin)
{
	if (!accept(c, "(")) {
		c->bad = TRUE;
		return 0;
	}
	skip(c);
	const char *name = c->s;
	while (*c->s && *c->s != ')' && !g_ascii_isspace(*c->s))
		c->s++;
	gsize len = c->s - name;
	if (!accept(c, ")"))
		c->bad = TRUE;
	return listed(plugin ? implemented_plugins : capabilities, name, len);
}

static double or_expr(Cond *c);

static double primary(Cond *c)
{
	skip(c);
	if (accept(c, "(")) {
		if (++c->depth > MAX_NESTING) {
			c->bad = TRUE;
			return 0;
		}
		double v = or_expr(c);
		c->depth--;
		if (!accept(c, ")"))
			c->bad = TRUE;
		return v;
	}
	if (g_ascii_isdigit(*c->s)) {
		char *end = NULL;
		double v = g_ascii_strtod(c->s, &end);
		c->s = end;
		return v;
	}
	if (accept(c, "version"))
		return SM_RULES_SA_VERSION;
	if (accept(c, "plugin"))
		return call(c, TRUE);
	if (accept(c, "can"))
		return call(c, FALSE);
	c->bad = TRUE;
	return 0;
}

static double comparison(Cond *c)
{
	double a = primary(c);
	if (accept(c, ">="))
		return a >= primary(c);
	if (accept(c, "<="))
		return a <= primary(c);
	if (accept(c, "=="))
		return a == primary(c);
	if (accept(c, "!="))
		return a != primary(c);
	if (accept(c, ">"))
		return a > primary(c);
	if (accept(c, "<"))
		return a < primary(c);
	return a;
}

static double unary(Cond *c)
{
	if (accept(c, "!")) {
		if (++c->depth > MAX_NESTING) {
			c->bad = TRUE;
			return 0;
		}
		double v = unary(c);
		c->depth--;
		return v == 0;
	}
	return comparison(c);
}

static double and_expr(Cond *c)
{
	double v = unary(c);
	while (!c->bad && accept(c, "&&")) {
		double w = unary(c);
		v = v != 0 && w != 0;
	}
	return v;
}

static double or_expr(Cond *c)
{
	double v = and_expr(c);
	while (!c->bad && accept(c, "||")) {
		double w = and_expr(c);
		v = v != 0 || w != 0;
	}
	return v;
}

gboolean sm_rules_condition(Parser *p, const char *expr, gboolean plugin)
{
	if (plugin) {
		g_autofree char *name = sm_rules_next_word(&expr);
		if (!name || *expr) {
			sm_rules_problem(p, "ifplugin: expected one plugin name");
			return FALSE;
		}
		return listed(implemented_plugins, name, strlen(name));
	}
	Cond c = { .s = expr };
	double v = or_expr(&c);
	skip(&c);
	if (c.bad || *c.s) {
		sm_rules_problem(p, "if: cannot read the condition '%s'; block skipped", expr);
		return FALSE;
	}
	return v != 0;
}
