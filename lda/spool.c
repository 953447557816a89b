/* spool.c: stdin -> owned bytes (see spool.h). */
#include "config.h"
#include "spool.h"
#include "status.h"
#include "fsutil.h"
#include "mbox-read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_MEMORY_LIMIT (1024 * 1024)
#define SPOOL_CHUNK (64 * 1024)

static gboolean set_errno_error(GError **error, const char *what)
{
	int saved = errno;
	g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "%s: %s",
	            what, g_strerror(saved));
	return FALSE;
}

static ssize_t read_some(int fd, char *buf, size_t len)
{
	ssize_t n;
	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

/* An unlinked file nobody else can open: O_TMPFILE where the kernel has it. */
static int open_spool_file(void)
{
	const char *dir = g_getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
#ifdef O_TMPFILE
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
#endif
	g_autofree char *tmpl = g_build_filename(dir, "sortmail-spool-XXXXXX", NULL);
	fd = g_mkstemp_full(tmpl, O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		unlink(tmpl);
	return fd;
}

/* The rest of a large message goes to a spool file, then everything is mapped. */
static gboolean spill_to_file(SmSpool *s, int in, GError **error)
{
	int fd = open_spool_file();
	if (fd < 0)
		return set_errno_error(error, "cannot create spool file");
	if (sm_write_all(fd, s->buf, s->len) < 0)
		goto fail_write;
	char *chunk = g_malloc(SPOOL_CHUNK);
	for (;;) {
		ssize_t n = read_some(in, chunk, SPOOL_CHUNK);
		if (n < 0) {
			g_free(chunk);
			set_errno_error(error, "cannot read message");
			close(fd);
			return FALSE;
		}
		if (n == 0)
			break;
		if (sm_write_all(fd, chunk, (size_t)n) < 0) {
			g_free(chunk);
			goto fail_write;
		}
		s->len += (gsize)n;
	}
	g_free(chunk);
	void *map = mmap(NULL, s->len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		set_errno_error(error, "cannot map spool file");
		close(fd);
		return FALSE;
	}
	close(fd); /* the mapping keeps the unlinked file alive */
	g_free(s->buf);
	s->buf = map;
	s->mapped = TRUE;
	return TRUE;

fail_write:
	set_errno_error(error, "cannot write spool file");
	close(fd);
	return FALSE;
}

/* "From sender date..." as the first line: remember the sender, skip the line. */
static void strip_from_line(SmSpool *s)
{
	s->msg = s->buf;
	s->msg_len = s->len;
	if (s->len < 5 || memcmp(s->buf, "From ", 5) != 0)
		return;
	const char *nl = memchr(s->buf, '\n', s->len);
	gsize line_len = nl ? (gsize)(nl - s->buf) + 1 : s->len;
	s->from_sender = sm_mbox_from_sender(s->buf, line_len);
	s->msg = s->buf + line_len;
	s->msg_len = s->len - line_len;
}

gboolean sm_spool_read(SmSpool *s, int fd, GError **error)
{
	gsize cap = 16 * 1024;
	*s = (SmSpool){ .buf = g_malloc(cap) };

	for (;;) {
		if (s->len == cap) {
			if (cap >= SPOOL_MEMORY_LIMIT) {
				if (!spill_to_file(s, fd, error))
					return FALSE;
				break;
			}
			cap *= 2;
			s->buf = g_realloc(s->buf, cap);
		}
		ssize_t n = read_some(fd, s->buf + s->len, cap - s->len);
		if (n < 0)
			return set_errno_error(error, "cannot read message");
		if (n == 0)
			break;
		s->len += (gsize)n;
	}
	if (s->len == 0) {
		g_set_error(error, SM_LDA_ERROR, SM_LDA_ERROR_INPUT, "empty message on standard input");
		return FALSE;
	}
	strip_from_line(s);
	return TRUE;
}

void sm_spool_clear(SmSpool *s)
{
	if (s->mapped)
		munmap(s->buf, s->len);
	else
		g_free(s->buf);
	g_free(s->from_sender);
	*s = (SmSpool){ 0 };
}
