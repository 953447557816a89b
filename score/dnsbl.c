/* dnsbl.c: blocklist settings, the queries of one message, and what their
 * answers mean (see dnsbl.h). The network itself is dns.c's; the host names
 * and registered domains looked up are dnsbl-hosts.c's.
 *
 * URIs: the caller passes the rendering's (render.h: text and HTML parts
 * decoded, schemeless "www." hosts, redirect targets); the first 512 KiB of
 * the raw body are also searched for http(s) URIs, which keeps this file
 * useful without a rendering: no GMime here, the unit tests link it with
 * dns.c and received.c alone.
 */
#include "config.h"
#include "score/dnsbl.h"
#include "score/dns.h"
#include "score/received.h"
#include "score/score.h"
#include "common/message.h"
#include "common/verdict.h"

#include <math.h>
#include <sys/socket.h>
#include <string.h>

#define DEFAULT_TIMEOUT_MS 3000
#define MAX_RELAYS 10           /* with dnsbl-all-relays */
#define MAX_URI_DOMAINS 20      /* as SpamAssassin's uridnsbl_max_domains */
#define RAW_URI_SCAN (512 * 1024)

typedef struct {
	guint32 code;  /* 127.0.0.x, host byte order */
	char *name;
	double score;
} Code;

typedef struct {
	char *zone;
	char *name;          /* for any listing code without its own rule */
	double score;
	gboolean uri;        /* uribl: looks up domains, not relay IPs */
	GArray *codes;       /* of Code */
	char *blocked_name;  /* "__NAME_BLOCKED" */
} Zone;

struct SmDnsbl {
	char *servers;       /* for dns.h; NULL: the system resolver */
	guint timeout_ms;
	gboolean all_relays;
	GArray *trusted;     /* of SmNet */
	GPtrArray *zones;    /* of Zone * */
	char *broken;        /* the first bad setting, for every verdict's note */
	double last_ms;      /* the last run's lookups */
};

static void zone_free(gpointer p)
{
	Zone *z = p;
	for (guint i = 0; i < z->codes->len; i++)
		g_free(g_array_index(z->codes, Code, i).name);
	g_array_free(z->codes, TRUE);
	g_free(z->zone);
	g_free(z->name);
	g_free(z->blocked_name);
	g_free(z);
}

void sm_dnsbl_free(SmDnsbl *d)
{
	if (!d)
		return;
	g_free(d->servers);
	g_array_free(d->trusted, TRUE);
	g_ptr_array_free(d->zones, TRUE);
	g_free(d->broken);
	g_free(d);
}

/* Answers that mean "this list refuses your resolver", never a listing. */
static gboolean code_is_refusal(guint32 a)
{
	return a == 0x7f000001                       /* URIBL: 127.0.0.1 */
	    || a == 0x7f0001ff                       /* Spamhaus DBL: 127.0.1.255 */
	    || (a >= 0x7ffffffc && a <= 0x7fffffff); /* Spamhaus: 127.255.255.252-255 */
}

/* ---- settings ------------------------------------------------------------- */

static gboolean parse_number(const char *s, double *out)
{
	char *end = NULL;
	if (!*s)
		return FALSE;
	double v = g_ascii_strtod(s, &end);
	if (*end || !isfinite(v))
		return FALSE;
	*out = v;
	return TRUE;
}

static gboolean valid_rule_name(const char *s)
{
	if (!*s || strlen(s) > 64)
		return FALSE;
	for (; *s; s++)
		if (!g_ascii_isalnum(*s) && *s != '_')
			return FALSE;
	return TRUE;
}

/* Labels of letters, digits, '-' and '_'; lowercased, trailing dot dropped. */
static char *parse_zone(const char *s)
{
	g_autofree char *z = g_ascii_strdown(s, -1);
	gsize n = strlen(z);
	if (n && z[n - 1] == '.')
		z[--n] = '\0';
	if (n == 0 || n > 200)
		return NULL;
	g_auto(GStrv) labels = g_strsplit(z, ".", -1);
	for (guint i = 0; labels[i]; i++) {
		gsize len = strlen(labels[i]);
		if (len == 0 || len > 63)
			return NULL;
		for (const char *c = labels[i]; *c; c++)
			if (!g_ascii_isalnum(*c) && *c != '-' && *c != '_')
				return NULL;
	}
	return g_steal_pointer(&z);
}

/* "127.0.0.N" or "N" for a listing code. */
static gboolean parse_code(const char *s, guint32 *out)
{
	SmIp ip;
	if (sm_ip_parse(s, &ip) && ip.family == AF_INET) {
		*out = (guint32)ip.addr[0] << 24 | (guint32)ip.addr[1] << 16
		     | (guint32)ip.addr[2] << 8 | ip.addr[3];
		return (*out >> 24) == 127;
	}
	char *end = NULL;
	if (!g_ascii_isdigit(*s))
		return FALSE;
	guint64 v = g_ascii_strtoull(s, &end, 10);
	if (*end || v > 255)
		return FALSE;
	*out = 0x7f000000 | (guint32)v;
	return TRUE;
}

/* CODE=NAME:SCORE */
static char *parse_code_rule(const char *arg, Code *out)
{
	const char *eq = strchr(arg, '=');
	const char *colon = eq ? strrchr(eq, ':') : NULL;
	if (!eq || !colon)
		return g_strdup_printf("'%s' is not CODE=NAME:SCORE", arg);
	g_autofree char *code = g_strndup(arg, (gsize)(eq - arg));
	g_autofree char *name = g_strndup(eq + 1, (gsize)(colon - eq - 1));
	if (!parse_code(code, &out->code))
		return g_strdup_printf("'%s' is not a code (127.0.0.N, or N)", code);
	if (code_is_refusal(out->code))
		return g_strdup_printf("'%s' means the list refuses the query, it is never a listing",
		                       code);
	if (!valid_rule_name(name))
		return g_strdup_printf("'%s' is not a rule name (letters, digits, _)", name);
	if (!parse_number(colon + 1, &out->score))
		return g_strdup_printf("'%s' is not a score", colon + 1);
	out->name = g_steal_pointer(&name);
	return NULL;
}

static char *zone_parse(Zone *z, char **args, guint n)
{
	if (!(z->zone = parse_zone(args[0])))
		return g_strdup_printf("'%s' is not a DNS zone", args[0]);
	if (!valid_rule_name(args[1]))
		return g_strdup_printf("'%s' is not a rule name (letters, digits, _)", args[1]);
	z->name = g_strdup(args[1]);
	z->blocked_name = g_strdup_printf("__%s_BLOCKED", z->name);
	if (!parse_number(args[2], &z->score))
		return g_strdup_printf("'%s' is not a score", args[2]);
	for (guint i = 3; i < n; i++) {
		Code c = { 0 };
		char *why = parse_code_rule(args[i], &c);
		if (why)
			return why;
		g_array_append_val(z->codes, c);
	}
	return NULL;
}

static char *kw_zone(SmDnsbl *d, char **args, guint n, gboolean uri)
{
	Zone *z = g_new0(Zone, 1);
	z->uri = uri;
	z->codes = g_array_new(FALSE, FALSE, sizeof(Code));
	char *why = zone_parse(z, args, n);
	if (why)
		zone_free(z);
	else
		g_ptr_array_add(d->zones, z);
	return why;
}

static char *kw_dnsbl(SmDnsbl *d, char **args, guint n)
{
	return kw_zone(d, args, n, FALSE);
}

static char *kw_uribl(SmDnsbl *d, char **args, guint n)
{
	return kw_zone(d, args, n, TRUE);
}

static char *kw_server(SmDnsbl *d, char **args, guint n)
{
	g_autoptr(GString) csv = g_string_new(NULL);
	for (guint i = 0; i < n; i++) {
		g_autoptr(GError) err = NULL;
		if (i)
			g_string_append_c(csv, ',');
		if (!sm_dns_server_check(args[i], csv, &err))
			return g_strdup(err->message);
	}
	g_free(d->servers);
	d->servers = g_strdup(csv->str);
	return NULL;
}

static char *kw_timeout(SmDnsbl *d, char **args, guint n)
{
	g_autofree char *s = g_strdup(args[0]);
	gsize len = strlen(s);
	if (len > 1 && s[len - 1] == 's')
		s[len - 1] = '\0';
	double v;
	if (!parse_number(s, &v) || v < 0.1 || v > 60)
		return g_strdup_printf("'%s' is not a number of seconds from 0.1 to 60", args[0]);
	d->timeout_ms = (guint)(v * 1000 + 0.5);
	return NULL;
}

static char *kw_trusted(SmDnsbl *d, char **args, guint n)
{
	for (guint i = 0; i < n; i++) {
		SmNet net;
		if (!sm_net_parse(args[i], &net))
			return g_strdup_printf("'%s' is not a network (ADDRESS or ADDRESS/BITS)",
			                       args[i]);
		g_array_append_val(d->trusted, net);
	}
	return NULL;
}

static char *kw_all_relays(SmDnsbl *d, char **args, guint n)
{
	if (strcmp(args[0], "yes") != 0 && strcmp(args[0], "no") != 0)
		return g_strdup_printf("takes yes or no, not '%s'", args[0]);
	d->all_relays = strcmp(args[0], "yes") == 0;
	return NULL;
}

static const struct {
	const char *keyword;
	guint min, max;      /* arguments */
	const char *usage;
	char *(*parse)(SmDnsbl *d, char **args, guint n); /* NULL or why not */
} keywords[] = {
	{ "dns-server", 1, 8, "IP[:PORT]...", kw_server },
	{ "dns-timeout", 1, 1, "SECONDS", kw_timeout },
	{ "trusted-networks", 1, 1000, "NETWORK...", kw_trusted },
	{ "dnsbl", 3, 100, "ZONE NAME SCORE [CODE=NAME:SCORE...]", kw_dnsbl },
	{ "uribl", 3, 100, "ZONE NAME SCORE [CODE=NAME:SCORE...]", kw_uribl },
	{ "dnsbl-all-relays", 1, 1, "yes|no", kw_all_relays },
};

/* Splits "FILE:LINE: keyword args" after its place (FILE may hold ": "). */
static const char *setting_text(const char *s, char **where)
{
	for (const char *p = strstr(s, ": "); p; p = strstr(p + 1, ": ")) {
		const char *q = p;
		while (q > s && g_ascii_isdigit(q[-1]))
			q--;
		if (q < p && q > s && q[-1] == ':') {
			*where = g_strndup(s, (gsize)(p - s));
			return p + 2;
		}
	}
	*where = g_strdup("(settings)");
	return s;
}

/* NULL when @setting is fine or not ours; else why not. */
static char *apply_setting(SmDnsbl *d, const char *text)
{
	g_auto(GStrv) tok = g_strsplit(text, " ", -1);
	guint n = g_strv_length(tok);
	for (gsize k = 0; n && k < G_N_ELEMENTS(keywords); k++) {
		if (strcmp(tok[0], keywords[k].keyword) != 0)
			continue;
		guint args = n - 1;
		if (args < keywords[k].min || args > keywords[k].max)
			return g_strdup_printf("usage: %s %s", keywords[k].keyword, keywords[k].usage);
		for (guint i = 1; i < n; i++)
			if (!*tok[i])
				return g_strdup_printf("'%s' takes no empty argument", tok[0]);
		return keywords[k].parse(d, tok + 1, args);
	}
	return NULL;
}

SmDnsbl *sm_dnsbl_new(const char *const *settings, GPtrArray *problems)
{
	SmDnsbl *d = g_new0(SmDnsbl, 1);
	d->timeout_ms = DEFAULT_TIMEOUT_MS;
	d->trusted = g_array_new(FALSE, FALSE, sizeof(SmNet));
	d->zones = g_ptr_array_new_with_free_func(zone_free);
	for (guint i = 0; settings && settings[i]; i++) {
		g_autofree char *where = NULL;
		const char *text = setting_text(settings[i], &where);
		g_autofree char *why = apply_setting(d, text);
		if (!why)
			continue;
		char *problem = g_strdup_printf("%s: %s", where, why);
		if (!d->broken)
			d->broken = g_strdup(problem);
		if (problems)
			g_ptr_array_add(problems, problem);
		else
			g_free(problem);
	}
	if (d->zones->len == 0) {
		sm_dnsbl_free(d);
		return NULL;
	}
	return d;
}

gboolean sm_dnsbl_wanted(const char *const *settings)
{
	for (guint i = 0; settings && settings[i]; i++) {
		g_autofree char *where = NULL;
		const char *text = setting_text(settings[i], &where);
		if (g_str_has_prefix(text, "dnsbl ") || g_str_has_prefix(text, "uribl "))
			return TRUE;
	}
	return FALSE;
}

double sm_dnsbl_last_ms(const SmDnsbl *d)
{
	return d->last_ms;
}

/* ---- one message ---------------------------------------------------------------- */

struct SmDnsblRun {
	SmDnsbl *d;
	SmDnsBatch *batch;    /* NULL: nothing to ask, or no resolver */
	GPtrArray *zone_of;   /* Zone * of each query, borrowed */
	char *start_error;    /* why there is no resolver; owned */
	GPtrArray *trace;     /* see sm_dnsbl_trace(); NULL: not explaining */
};

void sm_dnsbl_trace(SmDnsblRun *run, GPtrArray *lines)
{
	run->trace = lines;
}

static GArray *relays_of(const SmDnsbl *d, const char *data, gsize len)
{
	SmMessage m;
	sm_message_index(&m, data, len);
	g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func(g_free);
	guint pos = 0;
	const SmHeader *h;
	while ((h = sm_message_next(&m, "Received", &pos)))
		g_ptr_array_add(values, sm_header_value(&m, h));
	sm_message_clear(&m);
	GArray *ips = sm_received_untrusted((const char *const *)values->pdata, values->len,
	                                    d->trusted, d->all_relays);
	if (ips->len > MAX_RELAYS)
		g_array_set_size(ips, MAX_RELAYS);
	return ips;
}

static GPtrArray *uri_domains(const char *data, gsize len, const GPtrArray *uris,
                              const GString *text)
{
	g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; uris && i < uris->len; i++) {
		const char *u = uris->pdata[i];
		sm_uri_hosts(u, strlen(u), hosts);
	}
	if (text)
		sm_uri_hosts(text->str, text->len, hosts);
	SmMessage m;
	sm_message_index(&m, data, len);
	gsize off = m.body_off;
	sm_message_clear(&m);
	sm_uri_hosts(data + off, MIN(len - off, (gsize)RAW_URI_SCAN), hosts);

	GPtrArray *domains = g_ptr_array_new_with_free_func(g_free);
	sm_registered_domains(hosts, domains, MAX_URI_DOMAINS);
	return domains;
}

static void add_query(SmDnsblRun *run, GPtrArray *names, char *name, const Zone *z)
{
	if (strlen(name) > 253) {
		g_free(name);
		return;
	}
	g_ptr_array_add(names, name);
	g_ptr_array_add(run->zone_of, (gpointer)z);
}

SmDnsblRun *sm_dnsbl_start(SmDnsbl *d, const char *data, gsize len, const GPtrArray *uris,
                           const GString *text)
{
	SmDnsblRun *run = g_new0(SmDnsblRun, 1);
	run->d = d;
	run->zone_of = g_ptr_array_new();
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GArray) relays = relays_of(d, data, len);
	g_autoptr(GPtrArray) domains = NULL;
	for (guint i = 0; i < d->zones->len; i++) {
		const Zone *z = d->zones->pdata[i];
		if (!z->uri) {
			for (guint r = 0; r < relays->len; r++)
				add_query(run, names,
				          sm_ip_reverse_name(&g_array_index(relays, SmIp, r), z->zone), z);
			continue;
		}
		if (!domains)
			domains = uri_domains(data, len, uris, text);
		for (guint k = 0; k < domains->len; k++)
			add_query(run, names,
			          g_strdup_printf("%s.%s", (char *)domains->pdata[k], z->zone), z);
	}
	if (names->len == 0)
		return run;
	g_ptr_array_add(names, NULL);
	g_autoptr(GError) err = NULL;
	run->batch = sm_dns_start((const char *const *)names->pdata, d->servers, d->timeout_ms,
	                          &err);
	if (!run->batch)
		run->start_error = g_strdup(err->message);
	return run;
}

typedef struct {
	GPtrArray *rules;
	GHashTable *seen;  /* names added by this run */
	double sum;
	GString *note;
	GString *line;     /* the lookup being explained, or NULL */
} Hits;

static void hit(Hits *h, const char *name, double score)
{
	if (h->line)
		g_string_append_printf(h->line, " -> %s (%.1f)", name, score);
	if (!g_hash_table_add(h->seen, (gpointer)name))
		return;
	g_ptr_array_add(h->rules, g_strdup(name));
	h->sum += score;
}

static void add_note(Hits *h, const char *text)
{
	if (h->note->len)
		g_string_append(h->note, "; ");
	g_string_append(h->note, text);
}

static void interpret(const Zone *z, const SmDnsQuery *q, Hits *h)
{
	for (guint i = 0; i < q->n_addrs; i++) {
		guint32 a = q->addrs[i];
		if (!code_is_refusal(a))
			continue;
		if (!g_hash_table_contains(h->seen, z->blocked_name)) {
			g_autofree char *why = g_strdup_printf(
				"DNS: %s refuses our resolver (answer 127.%u.%u.%u), lookups there "
				"count as not listed", z->zone, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
			add_note(h, why);
		}
		hit(h, z->blocked_name, 0.0);
		return;
	}
	for (guint i = 0; i < q->n_addrs; i++) {
		if (q->addrs[i] >> 24 != 127)
			continue; /* a wildcard or a hijacked NXDOMAIN, not a listing */
		const Code *c = NULL;
		for (guint k = 0; k < z->codes->len && !c; k++)
			if (g_array_index(z->codes, Code, k).code == q->addrs[i])
				c = &g_array_index(z->codes, Code, k);
		if (c)
			hit(h, c->name, c->score);
		else
			hit(h, z->name, z->score);
	}
}

/* "no DNS" for the note: how many lookups went unanswered, and why. */
static void note_unavailable(Hits *h, const char *start_error, guint timeouts,
                             guint failures, guint total, double ms)
{
	g_autofree char *why = NULL;
	if (start_error)
		why = g_strdup_printf("no DNS: %s; blocklists not used", start_error);
	else
		why = g_strdup_printf("no DNS: %u of %u lookups unanswered (%u timed out, "
		                      "%u failed) after %.0f ms; blocklists partly or not used",
		                      timeouts + failures, total, timeouts, failures, ms);
	add_note(h, why);
	hit(h, SM_RULE_DNS_UNAVAILABLE, 0.0);
}

/* "NAME: ANSWER" of one lookup, for sm_dnsbl_trace(). */
static GString *trace_start(const SmDnsQuery *q)
{
	GString *s = g_string_new(q->name);
	g_string_append(s, ": ");
	switch (q->status) {
	case SM_DNS_ANSWER:
		for (guint i = 0; i < q->n_addrs; i++)
			g_string_append_printf(s, "%s%u.%u.%u.%u", i ? "," : "", q->addrs[i] >> 24,
			                       (q->addrs[i] >> 16) & 0xff, (q->addrs[i] >> 8) & 0xff,
			                       q->addrs[i] & 0xff);
		break;
	case SM_DNS_NO_RECORD: g_string_append(s, "not listed (NXDOMAIN)"); break;
	case SM_DNS_TIMEOUT:   g_string_append(s, "no answer before the deadline"); break;
	default:               g_string_append(s, "lookup failed"); break;
	}
	return s;
}

double sm_dnsbl_finish(SmDnsblRun *run, GPtrArray *rules, char **note)
{
	SmDnsbl *d = run->d;
	Hits h = { rules, g_hash_table_new(g_str_hash, g_str_equal), 0.0, g_string_new(NULL),
	           NULL };
	guint timeouts = 0, failures = 0, total = 0;
	d->last_ms = 0.0;
	if (run->trace && !run->batch)
		g_ptr_array_add(run->trace, g_strdup(run->start_error
		                ? run->start_error : "nothing to look up (no untrusted relay, no URI)"));
	if (run->batch) {
		const GArray *qs = sm_dns_finish(run->batch);
		d->last_ms = sm_dns_elapsed_ms(run->batch);
		total = qs->len;
		for (guint i = 0; i < qs->len; i++) {
			const SmDnsQuery *q = &g_array_index(qs, SmDnsQuery, i);
			h.line = run->trace ? trace_start(q) : NULL;
			if (q->status == SM_DNS_ANSWER)
				interpret(run->zone_of->pdata[i], q, &h);
			else if (q->status == SM_DNS_TIMEOUT)
				timeouts++;
			else if (q->status != SM_DNS_NO_RECORD)
				failures++;
			if (h.line)
				g_ptr_array_add(run->trace, g_string_free(h.line, FALSE));
			h.line = NULL;
		}
	}
	if (run->start_error || timeouts + failures > 0)
		note_unavailable(&h, run->start_error, timeouts, failures, total, d->last_ms);
	if (d->broken) {
		g_autofree char *why = g_strdup_printf("DNS setting skipped: %s", d->broken);
		add_note(&h, why);
	}
	if (h.note->len) {
		char *joined = *note ? g_strdup_printf("%s; %s", *note, h.note->str)
		                     : g_strdup(h.note->str);
		g_free(*note);
		*note = joined;
	}
	g_string_free(h.note, TRUE);
	g_hash_table_destroy(h.seen);
	sm_dns_free(run->batch);
	g_ptr_array_free(run->zone_of, TRUE);
	g_free(run->start_error);
	g_free(run);
	return h.sum;
}
