/* spamd-net.c: one SPAMC exchange with spamd, against one deadline (see
 * spamd.h, sm_spamd_exchange).
 *
 * Sockets are non-blocking and every wait is a poll() bounded by what is left
 * of the deadline, so a spamd that accepts and never answers costs at most
 * the timeout. Host names (not literals) are resolved in a helper thread
 * that is abandoned if it outlives the deadline: getaddrinfo() itself has no
 * timeout. EINTR anywhere just means: try again, with what time is left.
 */
#include "config.h"
#include "score/spamd.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_REPLY (64 * 1024)

/* ---- waiting, against one deadline ------------------------------------- */

/* Waits until @fd is ready for @events or @deadline (monotonic µs) passes.
 * 0, or -1 with errno (ETIMEDOUT when the deadline passed). */
static int wait_fd(int fd, short events, gint64 deadline)
{
	for (;;) {
		gint64 left = deadline - g_get_monotonic_time();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		struct pollfd p = { .fd = fd, .events = events };
		int n = poll(&p, 1, (int)MIN((left + 999) / 1000, G_MAXINT));
		if (n > 0)
			return 0; /* ready, or an error the next call will report */
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* ---- resolving, never past the deadline -------------------------------- */

typedef struct {
	gint refs;          /* the waiter and the thread */
	GMutex lock;
	GCond cond;
	gboolean done;
	char *host, *port;
	struct addrinfo *res;
	int rc;
} Lookup;

static void lookup_unref(Lookup *l)
{
	if (!g_atomic_int_dec_and_test(&l->refs))
		return;
	if (l->res)
		freeaddrinfo(l->res);
	g_mutex_clear(&l->lock);
	g_cond_clear(&l->cond);
	g_free(l->host);
	g_free(l->port);
	g_free(l);
}

static const struct addrinfo stream_hints = {
	.ai_socktype = SOCK_STREAM,
	.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG,
};

static gpointer lookup_thread(gpointer data)
{
	Lookup *l = data;
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(l->host, l->port, &stream_hints, &res);
	g_mutex_lock(&l->lock);
	l->res = res;
	l->rc = rc;
	l->done = TRUE;
	g_cond_signal(&l->cond);
	g_mutex_unlock(&l->lock);
	lookup_unref(l);
	return NULL;
}

/* The addresses of @host (freeaddrinfo() them), or NULL with *@why. */
static struct addrinfo *resolve(const char *host, const char *port, gint64 deadline,
                                char **why)
{
	struct addrinfo hints = stream_hints, *res = NULL;
	hints.ai_flags |= AI_NUMERICHOST;
	if (getaddrinfo(host, port, &hints, &res) == 0)
		return res;

	Lookup *l = g_new0(Lookup, 1);
	l->refs = 2;
	g_mutex_init(&l->lock);
	g_cond_init(&l->cond);
	l->host = g_strdup(host);
	l->port = g_strdup(port);
	GThread *t = g_thread_try_new("spamd-resolve", lookup_thread, l, NULL);
	if (!t) {
		l->refs = 1;
		lookup_unref(l);
		*why = g_strdup_printf("cannot resolve %s: no thread", host);
		return NULL;
	}
	g_thread_unref(t);
	g_mutex_lock(&l->lock);
	while (!l->done && g_cond_wait_until(&l->cond, &l->lock, deadline))
		;
	if (l->done && l->rc == 0)
		res = g_steal_pointer(&l->res);
	else if (l->done)
		*why = g_strdup_printf("cannot resolve %s: %s", host, gai_strerror(l->rc));
	else
		*why = g_strdup_printf("timed out resolving %s", host);
	g_mutex_unlock(&l->lock);
	lookup_unref(l);
	return res;
}

/* ---- connecting -------------------------------------------------------- */

/* A connected non-blocking socket, or -1 with errno. */
static int connect_to(const struct sockaddr *sa, socklen_t salen, gint64 deadline)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, sa, salen) == 0)
		return fd;
	/* EINTR: the connection goes on in the background, like EINPROGRESS. */
	if (errno == EINPROGRESS || errno == EINTR) {
		int err = 0;
		socklen_t n = sizeof err;
		if (wait_fd(fd, POLLOUT, deadline) == 0
		    && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &n) == 0) {
			if (err == 0)
				return fd;
			errno = err;
		}
	}
	int saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

static int connect_peer(const SmSpamdPeer *peer, gint64 deadline, char **why)
{
	if (peer->path) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		g_strlcpy(sun.sun_path, peer->path, sizeof sun.sun_path);
		int fd = connect_to((struct sockaddr *)&sun, sizeof sun, deadline);
		if (fd < 0)
			*why = g_strdup_printf("connect: %s", g_strerror(errno));
		return fd;
	}
	struct addrinfo *res = resolve(peer->host, peer->port, deadline, why);
	if (!res)
		return -1;
	int fd = -1, err = EADDRNOTAVAIL;
	for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
		fd = connect_to(a->ai_addr, a->ai_addrlen, deadline);
		if (fd < 0)
			err = errno;
		if (err == ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0)
		*why = g_strdup_printf("connect: %s", g_strerror(err));
	return fd;
}

/* ---- the exchange ------------------------------------------------------ */

/* Sends @iov (modified: it tracks progress) in full. 0, or -1 with errno. */
static int send_all(int fd, struct iovec *iov, int n, gint64 deadline)
{
	while (n > 0) {
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = n };
		ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(fd, POLLOUT, deadline) < 0)
				return -1;
			continue;
		}
		if (w < 0)
			return -1;
		size_t done = (size_t)w;
		for (; n > 0 && done >= iov->iov_len; n--, iov++)
			done -= iov->iov_len;
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + done;
			iov->iov_len -= done;
		}
	}
	return 0;
}

/* Some bytes (0 at end of stream), or -1 with errno. */
static ssize_t recv_some(int fd, char *buf, gsize size, gint64 deadline)
{
	for (;;) {
		ssize_t r = recv(fd, buf, size, 0);
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if ((errno != EAGAIN && errno != EWOULDBLOCK) || wait_fd(fd, POLLIN, deadline) < 0)
			return -1;
	}
}

static gboolean read_reply(int fd, gint64 deadline, SmSpamdReply *out, char **why)
{
	g_autoptr(GString) buf = g_string_new(NULL);
	char chunk[4096];
	for (;;) {
		ssize_t r = recv_some(fd, chunk, sizeof chunk, deadline);
		if (r < 0) {
			*why = errno == ETIMEDOUT
			           ? g_strdup_printf("no reply in time (%" G_GSIZE_FORMAT " bytes read)",
			                             buf->len)
			           : g_strdup_printf("reading the reply: %s", g_strerror(errno));
			return FALSE;
		}
		if (r == 0 && buf->len == 0) {
			*why = g_strdup("closed the connection without a reply");
			return FALSE;
		}
		g_string_append_len(buf, chunk, r);
		switch (sm_spamd_parse_reply(buf->str, buf->len, r == 0, out, why)) {
		case SM_SPAMD_PARSE_OK: return TRUE;
		case SM_SPAMD_PARSE_BAD: return FALSE;
		case SM_SPAMD_PARSE_MORE: break;
		}
		if (r == 0) {
			*why = g_strdup("reply cut short");
			return FALSE;
		}
		if (buf->len > MAX_REPLY) {
			*why = g_strdup("reply too long");
			return FALSE;
		}
	}
}

gboolean sm_spamd_exchange(const SmSpamdPeer *peer, const char *data, gsize len,
                           SmSpamdReply *out, char **why)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)(peer->timeout * G_USEC_PER_SEC);
	int fd = connect_peer(peer, deadline, why);
	if (fd < 0)
		return FALSE;
	g_autofree char *head = g_strdup_printf(
		"SYMBOLS SPAMC/1.5\r\nContent-length: %" G_GSIZE_FORMAT "\r\n%s%s%s\r\n", len,
		peer->user ? "User: " : "", peer->user ? peer->user : "",
		peer->user ? "\r\n" : "");
	struct iovec iov[2] = { { head, strlen(head) }, { (void *)data, len } };
	gboolean ok = FALSE;
	if (send_all(fd, iov, len ? 2 : 1, deadline) < 0) {
		*why = errno == ETIMEDOUT ? g_strdup("timed out sending the message")
		                          : g_strdup_printf("sending: %s", g_strerror(errno));
	} else {
		/* Content-length says where the message ends; this is for the server
		 * that reads to the end anyway. */
		shutdown(fd, SHUT_WR);
		ok = read_reply(fd, deadline, out, why);
	}
	close(fd);
	return ok;
}
