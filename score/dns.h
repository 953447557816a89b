/* dns.h: concurrent A-record lookups with one deadline (scorer module only).
 *
 * The only face of c-ares: nothing else includes ares.h. A batch of queries
 * goes out at once on one channel (sm_dns_start), the caller does other work
 * while the answers arrive in the socket buffers, and sm_dns_finish() collects
 * them until every query is answered or the deadline (counted from the
 * start) has passed. Queries still open then are given up: answers that
 * arrive late are never seen. Within the deadline c-ares retries a query
 * whose answer is lost (at about a quarter and three quarters of it).
 *
 * No network, or servers that refuse (nothing listening), end the queries
 * at once with SM_DNS_FAILED: once one query has found every server
 * refusing, the others are given up too. Nothing waits for the deadline
 * unless a server is silent. Nothing here logs.
 */
#ifndef SM_DNS_H
#define SM_DNS_H

#include <glib.h>

#define SM_DNS_ERROR (sm_dns_error_quark())
GQuark sm_dns_error_quark(void);

typedef enum {
	SM_DNS_ERROR_SERVER,   /* a dns-server value is not an address[:port] */
	SM_DNS_ERROR_RESOLVER  /* c-ares cannot set up a channel */
} SmDnsErrorCode;

typedef enum {
	SM_DNS_PENDING = 0,  /* not answered (yet) */
	SM_DNS_ANSWER,       /* one or more A records, in addrs */
	SM_DNS_NO_RECORD,    /* NXDOMAIN, or the name exists without an A record */
	SM_DNS_FAILED,       /* the server failed, refused, or could not be reached */
	SM_DNS_TIMEOUT       /* no answer before the deadline */
} SmDnsStatus;

#define SM_DNS_MAX_ADDRS 8

typedef struct {
	char *name;                      /* the name to look up; owned */
	SmDnsStatus status;
	guint32 addrs[SM_DNS_MAX_ADDRS]; /* IPv4, host byte order (127.0.0.2 = 0x7f000002) */
	guint n_addrs;
	double ms;                       /* from the start to the answer (0 when none) */
} SmDnsQuery;

/* Checks one server given as "IPv4", "IPv4:PORT", "IPv6", or "[IPv6]:PORT",
 * and writes it as c-ares takes it into @out (appended, no separator). */
gboolean sm_dns_server_check(const char *server, GString *out, GError **error);

typedef struct SmDnsBatch SmDnsBatch;

/* Sends a query for every @names (NULL-terminated) to @servers (as built
 * by sm_dns_server_check, comma-separated; NULL for the system resolver of
 * /etc/resolv.conf). NULL with @error when no channel can be set up. */
SmDnsBatch *sm_dns_start(const char *const *names, const char *servers, guint deadline_ms,
                         GError **error);

/* Waits for the answers (see the header comment) and returns the queries,
 * in the order of the names given to sm_dns_start; owned by the batch. Call
 * once. */
const GArray *sm_dns_finish(SmDnsBatch *b);

/* How long the whole batch took, from sm_dns_start to the end of sm_dns_finish. */
double sm_dns_elapsed_ms(const SmDnsBatch *b);

void sm_dns_free(SmDnsBatch *b);

#endif
