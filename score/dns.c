/* dns.c: the c-ares channel behind dns.h.
 *
 * One channel per batch: creating it reads /etc/resolv.conf (microseconds),
 * and a fresh one cannot carry sockets or half-done queries over from an
 * earlier message. The event loop is poll() over the sockets c-ares reports,
 * bounded by the batch's deadline; destroying the channel at the end ends
 * every query still open, so a late answer has nowhere to go.
 */
#include "config.h"
#include "score/dns.h"

/* c-ares 1.28 and later deprecate the 1.x calls used here (still there, and
 * the only ones Debian 12's 1.18 has): keep -Werror builds quiet. */
#define CARES_NO_DEPRECATED 1
#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

G_DEFINE_QUARK(sm-dns-error-quark, sm_dns_error)

typedef struct {
	SmDnsBatch *batch;
	guint index;
} Pending;

struct SmDnsBatch {
	ares_channel channel;  /* NULL once finished */
	GArray *queries;       /* of SmDnsQuery; never resized once queries are out */
	Pending *pending;      /* the callbacks' arguments, one per query */
	guint open;            /* queries not answered yet */
	gboolean refused;      /* a query found every server refusing */
	gint64 start_us, deadline_us, end_us;
};

/* ---- servers ------------------------------------------------------------ */

static gboolean parse_port(const char *s, guint *port)
{
	char *end = NULL;
	if (!g_ascii_isdigit(*s))
		return FALSE;
	guint64 v = g_ascii_strtoull(s, &end, 10);
	if (*end || v == 0 || v > 65535)
		return FALSE;
	*port = (guint)v;
	return TRUE;
}

gboolean sm_dns_server_check(const char *server, GString *out, GError **error)
{
	unsigned char buf[16];
	g_autofree char *host = NULL;
	guint port = 0;
	gboolean v6;
	const char *colon = strchr(server, ':');

	if (server[0] == '[') {
		const char *close = strchr(server, ']');
		if (close && (close[1] == '\0' || (close[1] == ':' && parse_port(close + 2, &port))))
			host = g_strndup(server + 1, (gsize)(close - server - 1));
		v6 = TRUE;
	} else if (colon && !strchr(colon + 1, ':')) {
		if (parse_port(colon + 1, &port))
			host = g_strndup(server, (gsize)(colon - server));
		v6 = FALSE;
	} else {
		host = g_strdup(server);
		v6 = colon != NULL;
	}
	if (!host || inet_pton(v6 ? AF_INET6 : AF_INET, host, buf) != 1) {
		g_set_error(error, SM_DNS_ERROR, SM_DNS_ERROR_SERVER,
		            "'%s' is not a server address (IPv4[:PORT], IPv6 or [IPv6]:PORT)",
		            server);
		return FALSE;
	}
	if (port == 0)
		g_string_append(out, host);
	else if (v6)
		g_string_append_printf(out, "[%s]:%u", host, port);
	else
		g_string_append_printf(out, "%s:%u", host, port);
	return TRUE;
}

/* ---- answers ------------------------------------------------------------ */

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	Pending *p = arg;
	SmDnsBatch *b = p->batch;
	SmDnsQuery *q = &g_array_index(b->queries, SmDnsQuery, p->index);
	b->open--;
	if (status == ARES_EDESTRUCTION) {
		q->status = SM_DNS_TIMEOUT; /* given up at the deadline */
		return;
	}
	q->ms = (double)(g_get_monotonic_time() - b->start_us) / 1000.0;
	if (status == ARES_ECONNREFUSED)
		b->refused = TRUE;
	switch (status) {
	case ARES_SUCCESS: {
		struct ares_addrttl a[SM_DNS_MAX_ADDRS];
		int n = SM_DNS_MAX_ADDRS;
		if (ares_parse_a_reply(abuf, alen, NULL, a, &n) != ARES_SUCCESS || n <= 0) {
			q->status = SM_DNS_NO_RECORD;
			return;
		}
		for (int i = 0; i < n; i++)
			q->addrs[i] = ntohl(a[i].ipaddr.s_addr);
		q->n_addrs = (guint)n;
		q->status = SM_DNS_ANSWER;
		return;
	}
	case ARES_ENOTFOUND:
	case ARES_ENODATA:
		q->status = SM_DNS_NO_RECORD;
		return;
	case ARES_ETIMEOUT:
		q->status = SM_DNS_TIMEOUT;
		return;
	default:
		q->status = SM_DNS_FAILED;
		return;
	}
}

/* ---- the batch ---------------------------------------------------------- */

static void library_init(void)
{
	static gsize done;
	if (g_once_init_enter(&done)) {
		ares_library_init(ARES_LIB_INIT_ALL);
		g_once_init_leave(&done, 1);
	}
}

static ares_channel open_channel(const char *servers, guint deadline_ms, GError **error)
{
	/* c-ares doubles the wait at each try: with a quarter of the deadline
	 * per try, the second and third tries go out at 1/4 and 3/4. */
	struct ares_options o = { .timeout = (int)MAX(deadline_ms / 4, 50u), .tries = 3 };
	ares_channel ch = NULL;
	int rc = ares_init_options(&ch, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (rc != ARES_SUCCESS) {
		g_set_error(error, SM_DNS_ERROR, SM_DNS_ERROR_RESOLVER, "DNS resolver: %s",
		            ares_strerror(rc));
		return NULL;
	}
	if (servers && (rc = ares_set_servers_ports_csv(ch, servers)) != ARES_SUCCESS) {
		g_set_error(error, SM_DNS_ERROR, SM_DNS_ERROR_RESOLVER, "DNS servers '%s': %s",
		            servers, ares_strerror(rc));
		ares_destroy(ch);
		return NULL;
	}
	return ch;
}

SmDnsBatch *sm_dns_start(const char *const *names, const char *servers, guint deadline_ms,
                         GError **error)
{
	library_init();
	gint64 start = g_get_monotonic_time();
	ares_channel ch = open_channel(servers, deadline_ms, error);
	if (!ch)
		return NULL;
	guint n = names ? g_strv_length((char **)names) : 0;
	SmDnsBatch *b = g_new0(SmDnsBatch, 1);
	b->channel = ch;
	b->start_us = start;
	b->deadline_us = start + (gint64)deadline_ms * 1000;
	b->queries = g_array_sized_new(FALSE, TRUE, sizeof(SmDnsQuery), n);
	g_array_set_size(b->queries, n);
	b->pending = g_new0(Pending, n ? n : 1);
	for (guint i = 0; i < n; i++) {
		g_array_index(b->queries, SmDnsQuery, i).name = g_strdup(names[i]);
		b->pending[i] = (Pending){ b, i };
	}
	/* All names are set before the first send: a query may be answered
	 * (with an error) inside ares_query() itself. */
	b->open = n;
	for (guint i = 0; i < n; i++)
		ares_query(ch, names[i], ns_c_in, ns_t_a, on_answer, &b->pending[i]);
	return b;
}

/* One round: wait for a socket or c-ares' next retry, at most until the deadline. */
static void wait_round(SmDnsBatch *b, gint64 now)
{
	ares_socket_t socks[ARES_GETSOCK_MAXNUM];
	struct pollfd pfd[ARES_GETSOCK_MAXNUM];
	/* ares.h's ARES_GETSOCK_WRITABLE shifts a signed 1 into the sign bit
	 * for the last socket: test the bits unsigned. */
	unsigned bits = (unsigned)ares_getsock(b->channel, socks, ARES_GETSOCK_MAXNUM);
	nfds_t nfds = 0;
	for (unsigned i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
		short ev = (bits & (1u << i) ? POLLIN : 0)
		         | (bits & (1u << (i + ARES_GETSOCK_MAXNUM)) ? POLLOUT : 0);
		if (ev)
			pfd[nfds++] = (struct pollfd){ .fd = socks[i], .events = ev };
	}
	gint64 left_us = b->deadline_us - now;
	struct timeval max = { .tv_sec = (time_t)(left_us / G_USEC_PER_SEC),
	                       .tv_usec = (suseconds_t)(left_us % G_USEC_PER_SEC) };
	struct timeval tv, *t = ares_timeout(b->channel, &max, &tv);
	int ms = (int)(t->tv_sec * 1000 + (t->tv_usec + 999) / 1000);
	int ready = poll(pfd, nfds, ms);
	if (ready <= 0) {
		/* Timeout (c-ares retries or gives up) or EINTR: let it look. */
		ares_process_fd(b->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
		return;
	}
	for (nfds_t i = 0; i < nfds; i++) {
		short re = pfd[i].revents;
		if (!re)
			continue;
		ares_process_fd(b->channel, re & (POLLIN | POLLERR | POLLHUP) ? pfd[i].fd : ARES_SOCKET_BAD,
		                re & POLLOUT ? pfd[i].fd : ARES_SOCKET_BAD);
	}
}

const GArray *sm_dns_finish(SmDnsBatch *b)
{
	if (!b->channel)
		return b->queries;
	for (;;) {
		gint64 now = g_get_monotonic_time();
		if (b->open == 0 || now >= b->deadline_us)
			break;
		/* c-ares reports a refusal only once every server refused that
		 * query; the others would wait out their retries for the same. */
		if (b->refused) {
			ares_cancel(b->channel); /* they end as SM_DNS_FAILED */
			continue;
		}
		wait_round(b, now);
	}
	ares_destroy(b->channel); /* what is still open ends as SM_DNS_TIMEOUT */
	b->channel = NULL;
	b->end_us = g_get_monotonic_time();
	return b->queries;
}

double sm_dns_elapsed_ms(const SmDnsBatch *b)
{
	gint64 end = b->end_us ? b->end_us : g_get_monotonic_time();
	return (double)(end - b->start_us) / 1000.0;
}

void sm_dns_free(SmDnsBatch *b)
{
	if (!b)
		return;
	if (b->channel)
		ares_destroy(b->channel);
	for (guint i = 0; i < b->queries->len; i++)
		g_free(g_array_index(b->queries, SmDnsQuery, i).name);
	g_array_free(b->queries, TRUE);
	g_free(b->pending);
	g_free(b);
}
