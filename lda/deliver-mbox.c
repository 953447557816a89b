/* deliver-mbox.c: the mbox backend (see backend.h, and mbox-lock.h for how
 * the file is opened and locked).
 *
 * Folder "inbox" (any case) is box->mbox_inbox; any other folder NAME is the
 * plain file box->root/NAME (box->root is created on demand, also for an inbox
 * inside it; see check_inbox_dir() for an inbox elsewhere). One delivery
 * appends, under both locks:
 *
 *   From SENDER DATE\n      SENDER: the envelope sender, MAILER-DAEMON for the
 *                           null sender, bytes <= ' ' and DEL turned into '_';
 *                           DATE: asctime() layout, in UTC, so the line does
 *                           not depend on TZ (which an MTA often leaves unset)
 *   d->prefix, d->data      mboxrd quoting: a line matching ^>*From  gets one
 *                           more '>', so readers can undo it exactly
 *   \n                      only if the message does not end with one
 *   \n                      the empty line before the next From line
 *
 * The message is written straight from the caller's buffer (an mmap of 50 MB
 * is fine): we gather spans between the lines that need a '>' into writev()
 * batches and never copy the data. Then fsync, and close() is checked too;
 * on any failure the file is cut back to its old size while still locked.
 * The watchdog's signals are held from the moment we hold a lock (see
 * mbox-lock.h), so a time limit never cuts an append in half.
 * d->prefix should be whole lines: a line is not joined across prefix and data.
 */
#include "config.h"
#include "backend.h"
#include "fsutil.h"
#include "mbox-lock.h"
#include "watchdog.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static gboolean errno_error(GError **error, const char *what, const char *path)
{
	int saved = errno;
	g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "mbox %s: %s: %s",
	            path, what, g_strerror(saved));
	return FALSE;
}

/* ---- gathering output without copying ---- */

#define OUT_IOV 64

typedef struct {
	int fd;
	int n;
	struct iovec iov[OUT_IOV];
} Out;

static int out_flush(Out *o)
{
	struct iovec *v = o->iov;
	int n = o->n;
	o->n = 0;
	while (n > 0) {
		ssize_t w = writev(o->fd, v, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		for (; n > 0 && (size_t)w >= v->iov_len; v++, n--)
			w -= (ssize_t)v->iov_len;
		if (n > 0) {
			v->iov_base = (char *)v->iov_base + w;
			v->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* @p must stay valid until the next out_flush(). */
static int out_add(Out *o, const void *p, size_t len)
{
	if (len == 0)
		return 0;
	if (o->n == OUT_IOV && out_flush(o) < 0)
		return -1;
	o->iov[o->n].iov_base = (void *)p;
	o->iov[o->n].iov_len = len;
	o->n++;
	return 0;
}

/* Adds @buf with mboxrd quoting. *@bol: @buf starts a line; on return, the
 * next byte would. Each "From " found is walked back over its '>'s to see
 * whether the run starts a line; each byte is walked back over at most once. */
static int add_quoted(Out *o, const char *buf, size_t len, gboolean *bol)
{
	if (len == 0)
		return 0;
	const char *end = buf + len, *span = buf, *p = buf, *f;
	while ((f = memmem(p, (size_t)(end - p), "From ", 5)) != NULL) {
		const char *s = f;
		while (s > buf && s[-1] == '>')
			s--;
		if (s == buf ? *bol : s[-1] == '\n') {
			if (out_add(o, span, (size_t)(s - span)) < 0 || out_add(o, ">", 1) < 0)
				return -1;
			span = s;
		}
		p = f + 5;
	}
	*bol = end[-1] == '\n';
	return out_add(o, span, (size_t)(end - span));
}

/* ---- the message ---- */

/* Returns the "From " line, newline included. */
static char *from_line(const char *sender, time_t arrival)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	if (!gmtime_r(&arrival, &tm)) {
		time_t epoch = 0;
		gmtime_r(&epoch, &tm);
	}
	GString *s = g_string_new("From ");
	if (!sender || !*sender)
		sender = "MAILER-DAEMON";
	/* A space would end the address for readers; a newline would end the line. */
	for (const char *c = sender; *c; c++)
		g_string_append_c(s, ((guchar)*c <= ' ' || *c == 0x7f) ? '_' : *c);
	g_string_append_printf(s, " %s %s %2d %02d:%02d:%02d %ld\n", days[tm.tm_wday],
	                       months[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	                       (long)tm.tm_year + 1900);
	return g_string_free(s, FALSE);
}

static int write_message(int fd, const SmDelivery *d)
{
	g_autofree char *from = from_line(d->sender, d->arrival);
	Out o = { .fd = fd };
	gboolean bol = TRUE;
	if (out_add(&o, from, strlen(from)) < 0 || add_quoted(&o, d->prefix, d->prefix_len, &bol) < 0 ||
	    add_quoted(&o, d->data, d->len, &bol) < 0)
		return -1;
	if (out_add(&o, "\n\n", bol ? 1 : 2) < 0)
		return -1;
	return out_flush(&o);
}

/* A first message may sit in a new file (ours, or left empty by a failed
 * delivery) and, with @new_root, in a new directory: make their entries
 * durable too. */
static int fsync_new_entries(const char *path, const char *new_root)
{
	g_autofree char *dir = g_path_get_dirname(path);
	if (sm_fsync_dir(dir) < 0)
		return -1;
	if (!new_root)
		return 0;
	g_autofree char *parent = g_path_get_dirname(new_root);
	return sm_fsync_dir(parent);
}

static gboolean append_locked(SmMboxLock *lk, const char *path, const char *new_root,
                              const SmDelivery *d, GError **error)
{
	struct stat st;
	if (fstat(lk->fd, &st) < 0)
		return errno_error(error, "fstat", path);
	const off_t start = st.st_size;
	sm_mbox_lock_note_append(lk, start);
	const char *what = "write";
	int rc = write_message(lk->fd, d);
	if (rc == 0) {
		what = "fsync";
		rc = fsync(lk->fd);
	}
	if (rc == 0 && start == 0) {
		what = "fsync directory";
		rc = fsync_new_entries(path, new_root);
	}
	if (rc == 0) {
		what = "close";
		rc = sm_mbox_lock_close_checked(lk);
	}
	if (rc == 0)
		return TRUE;

	int saved = errno;
	/* Still locked, so nobody has appended after us. */
	if (ftruncate(lk->fd, start) < 0 || fsync(lk->fd) < 0) {
		int trunc_errno = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
		            "mbox %s: %s: %s; cutting it back to %lld bytes also failed: %s", path,
		            what, g_strerror(saved), (long long)start, g_strerror(trunc_errno));
		return FALSE;
	}
	errno = saved;
	return errno_error(error, what, path);
}

/* Creates box->root if missing; it must be a directory owned by the owner.
 * *@root_created tells whether it was made now. */
static gboolean ensure_root(const SmMailbox *box, gboolean *root_created, GError **error)
{
	if (!box->root || !*box->root) {
		g_set_error(error, SM_DELIVER_ERROR, SM_DELIVER_ERROR_FAILED,
		            "no mbox folder directory configured");
		return FALSE;
	}
	struct stat st;
	*root_created = lstat(box->root, &st) < 0 && errno == ENOENT;
	if (sm_ensure_dir(box->root, box->owner) == 0)
		return TRUE;
	if (errno == EPERM || errno == ENOTDIR)
		g_set_error(error, SM_DELIVER_ERROR, SM_DELIVER_ERROR_UNSAFE,
		            "%s is not a directory owned by uid %lu; refusing to write into it",
		            box->root, (unsigned long)box->owner);
	else
		errno_error(error, "create folder directory", box->root);
	return FALSE;
}

/* The inbox's directory: when it is box->root, as for any folder; else (a
 * system spool such as /var/mail) it must exist and belong to the owner or to
 * root. A directory of another user is refused: root replaying mail must not
 * leave root-owned files in a user's tree, and nobody should create files in
 * a directory a third party controls. */
static gboolean check_inbox_dir(const SmMailbox *box, const char *inbox, gboolean *root_created,
                                GError **error)
{
	g_autofree char *dir = g_path_get_dirname(inbox);
	g_autofree char *canon_dir = g_canonicalize_filename(dir, "/");
	g_autofree char *canon_root = box->root ? g_canonicalize_filename(box->root, "/") : NULL;
	if (canon_root && strcmp(canon_dir, canon_root) == 0)
		return ensure_root(box, root_created, error);
	struct stat st;
	if (stat(dir, &st) < 0)
		return errno_error(error, "inbox directory", dir);
	if (!S_ISDIR(st.st_mode) || (st.st_uid != box->owner && st.st_uid != 0)) {
		g_set_error(error, SM_DELIVER_ERROR, SM_DELIVER_ERROR_UNSAFE,
		            "%s is not a directory owned by uid %lu or root; refusing to write into it",
		            dir, (unsigned long)box->owner);
		return FALSE;
	}
	return TRUE;
}

/* The file for @folder; *@root_created tells whether box->root was made now. */
static char *mbox_path(const SmMailbox *box, const char *folder, gboolean *root_created,
                       GError **error)
{
	if (g_ascii_strcasecmp(folder, "inbox") == 0) {
		if (!box->mbox_inbox || !*box->mbox_inbox) {
			g_set_error(error, SM_DELIVER_ERROR, SM_DELIVER_ERROR_FAILED,
			            "no mbox inbox file configured");
			return NULL;
		}
		if (!check_inbox_dir(box, box->mbox_inbox, root_created, error))
			return NULL;
		return g_strdup(box->mbox_inbox);
	}
	/* Folder names are validated upstream; this only keeps a slip there from
	 * leaving the root or naming another folder's dotlock (which we could
	 * later remove as stale). */
	if (!*folder || strchr(folder, '/') || strcmp(folder, ".") == 0 ||
	    strcmp(folder, "..") == 0 || g_str_has_suffix(folder, ".lock")) {
		g_set_error(error, SM_DELIVER_ERROR, SM_DELIVER_ERROR_UNSAFE,
		            "\"%s\" cannot be an mbox folder name", folder);
		return NULL;
	}
	if (!ensure_root(box, root_created, error))
		return NULL;
	return g_build_filename(box->root, folder, NULL);
}

static gboolean store(const SmMailbox *box, const char *folder, const SmDelivery *d,
                      char **stored_path, GError **error)
{
	gboolean root_created = FALSE;
	g_autofree char *path = mbox_path(box, folder, &root_created, error);
	if (!path)
		return FALSE;
	SmMboxLock lk;
	if (!sm_mbox_lock(path, box->owner, &lk, error))
		return FALSE;
	gboolean ok = append_locked(&lk, path, root_created ? box->root : NULL, d, error);
	sm_mbox_unlock(&lk);
	if (!ok) {
		sm_watchdog_release();
		return FALSE;
	}
	if (stored_path)
		*stored_path = g_steal_pointer(&path);
	/* Still held: the caller disarms the watchdog once it has decided to exit 0. */
	return TRUE;
}

const SmBackend sm_backend_mbox = { "mbox", store };
