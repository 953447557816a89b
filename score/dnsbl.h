/* dnsbl.h: DNS blocklists for the scorer (scorer module only).
 *
 * Owns the scorer settings dns-server, dns-timeout, trusted-networks,
 * dnsbl, uribl and dnsbl-all-relays (sortmail.conf(5) says what they mean;
 * every other setting is left to its owner). For one message it looks up
 * the untrusted relays of its Received headers (received.h) in every dnsbl
 * zone and the registered domains of its URIs in every uribl zone, all at
 * once with one deadline (dns.h), and turns the answers into rule hits:
 *
 *   a 127.0.0.x answer        the rule configured for that code, else the
 *                             zone's own rule; each rule counts once
 *   NXDOMAIN, no A record,    not listed
 *   or an answer outside 127/8
 *   127.0.0.1, 127.0.1.255,   the list refuses our resolver (Spamhaus, DBL,
 *   127.255.255.252-255       URIBL): not listed; the unscored rule
 *                             __NAME_BLOCKED says so
 *   timeout, failure,         not listed; the unscored rule
 *   no network                __DNS_UNAVAILABLE says so
 *
 * Both kinds of failure also go into the verdict's note (for the log line),
 * once per message and zone: the delivery goes on with the other rules.
 *
 * The lookups start before the rules run and are collected after them, so
 * the network's latency overlaps the regex work.
 */
#ifndef SM_DNSBL_H
#define SM_DNSBL_H

#include <glib.h>

typedef struct SmDnsbl SmDnsbl;

/* Reads the DNS settings among @settings ("FILE:LINE: keyword args...", see
 * score.h; NULL-terminated, never NULL). A bad line is appended to
 * @problems as "FILE:LINE: message" and skipped; the first one is also
 * repeated in the note of every verdict, so it does not go unnoticed.
 * NULL when no dnsbl or uribl zone is configured: nothing to look up. */
SmDnsbl *sm_dnsbl_new(const char *const *settings, GPtrArray *problems);

/* TRUE when @settings have a dnsbl or uribl line (good or bad): network
 * tests are configured, so SpamAssassin's score set 1 applies. Cheap. */
gboolean sm_dnsbl_wanted(const char *const *settings);
void sm_dnsbl_free(SmDnsbl *d);

typedef struct SmDnsblRun SmDnsblRun;

/* Sends the lookups for the message @data (@len bytes, no "From " line).
 * The hosts of its URIs come from @uris (char *, URIs as the rendering
 * found them; may be NULL), from any http(s) URI in @text (the rendered
 * body; may be NULL) and in the first 512 KiB of the raw body. Never fails:
 * a resolver that cannot start gives a run that reports __DNS_UNAVAILABLE. */
SmDnsblRun *sm_dnsbl_start(SmDnsbl *d, const char *data, gsize len, const GPtrArray *uris,
                           const GString *text);

/* Makes sm_dnsbl_finish() append one line per lookup to @lines (char *,
 * newly allocated): "NAME: ANSWER" and, for a listing, " -> RULE (SCORE)";
 * for `sortmail explain`. */
void sm_dnsbl_trace(SmDnsblRun *run, GPtrArray *lines);

/* Waits for the answers (until the deadline at most), appends the names of
 * the rules that hit to @rules (char *, newly allocated) and returns the sum
 * of their scores. What went wrong (no DNS, a list refusing our resolver, a
 * bad setting) is appended to *@note (newly allocated, "; "-separated; the
 * verdict's note). Frees @run. */
double sm_dnsbl_finish(SmDnsblRun *run, GPtrArray *rules, char **note);

/* How long the lookups of the last finished run took, in milliseconds (the
 * start of the first query to the last answer or the deadline); 0 when
 * there was nothing to look up. For tests and benchmarks. */
double sm_dnsbl_last_ms(const SmDnsbl *d);

/* ---- pieces, exposed for the tests ---------------------------------------- */

/* The domain a registrar sold: the last two labels of @host, or the last
 * three when the last two are a common two-level public suffix (co.uk,
 * com.au, co.jp, ...). Lowercased; NULL for an IP literal or a single label.
 * Newly allocated. */
char *sm_registered_domain(const char *host);

/* Appends to @hosts (char *, newly allocated, lowercased, no duplicates) the
 * host of every http:// or https:// URI in @text. */
void sm_uri_hosts(const char *text, gsize len, GPtrArray *hosts);

/* Appends to @domains (char *, newly allocated, no duplicates) the registered
 * domain of each of @hosts that has one, until @domains holds @max. */
void sm_registered_domains(const GPtrArray *hosts, GPtrArray *domains, guint max);

#endif
