/* deliver-maildir.c: the Maildir / Maildir++ backend (see backend.h).
 *
 * A message is written to tmp/ under a unique name, fsynced, hard-linked into
 * new/ and the directory fsynced; only then is it delivered. Folders are
 * Maildir++ subdirectories ROOT/.NAME with a "maildirfolder" marker, created on
 * demand, mode 0700. Everything we create or enter must be a real directory
 * owned by box->owner: that is what stops root (replaying mail by hand) from
 * leaving files a user cannot read, and a planted symlink from steering us.
 * maildir-batch.c (replay --sync=batch) shares the folder checks, the naming
 * and the link through deliver-maildir-priv.h; store() here is unchanged by it. */
#include "config.h"
#include "backend.h"
#include "deliver-maildir-priv.h"
#include "fsutil.h"
#include "watchdog.h"
#include "sortmail/sortmail.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

G_DEFINE_QUARK(sm-deliver-error-quark, sm_deliver_error)

gboolean sm_maildir_errno_error(GError **error, const char *what, const char *path)
{
	int saved = errno;
	g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "%s %s: %s",
	            what, path, g_strerror(saved));
	return FALSE;
}

static gboolean ensure_dir(const char *path, uid_t owner, GError **error)
{
	if (sm_ensure_dir(path, owner) == 0)
		return TRUE;
	if (errno == EPERM)
		g_set_error(error, SM_DELIVER_ERROR, SM_DELIVER_ERROR_UNSAFE,
		            "%s is owned by another user; refusing to write into it", path);
	else if (errno == ENOTDIR)
		g_set_error(error, SM_DELIVER_ERROR, SM_DELIVER_ERROR_UNSAFE,
		            "%s is not a directory (or is a symlink)", path);
	else
		return sm_maildir_errno_error(error, "cannot create", path);
	return FALSE;
}

/* The root may sit a few levels below an existing directory (~/Mail/Maildir). */
static gboolean ensure_root(const char *root, uid_t owner, GError **error)
{
	if (sm_ensure_dir(root, owner) == 0)
		return TRUE;
	if (errno == ENOENT)
		g_mkdir_with_parents(root, 0700);
	return ensure_dir(root, owner, error);
}

static gboolean ensure_maildir(const char *dir, uid_t owner, gboolean is_folder,
                               GError **error)
{
	static const char *const subdirs[] = { "tmp", "new", "cur" };
	if (!ensure_dir(dir, owner, error))
		return FALSE;
	for (guint i = 0; i < G_N_ELEMENTS(subdirs); i++) {
		g_autofree char *sub = g_build_filename(dir, subdirs[i], NULL);
		if (!ensure_dir(sub, owner, error))
			return FALSE;
	}
	if (is_folder) {
		g_autofree char *marker = g_build_filename(dir, "maildirfolder", NULL);
		struct stat st;
		if (lstat(marker, &st) == 0 && S_ISREG(st.st_mode))
			return TRUE;
		int fd = open(marker, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return sm_maildir_errno_error(error, "cannot create", marker);
		close(fd);
	}
	return TRUE;
}

/* "/" and ":" may not appear in a Maildir name: the spec's octal escapes. */
static char *host_part(void)
{
	char host[256] = "localhost";
	if (gethostname(host, sizeof host - 1) < 0)
		strcpy(host, "localhost");
	host[sizeof host - 1] = '\0';
	GString *s = g_string_new(NULL);
	for (const char *p = host; *p; p++) {
		if (*p == '/')
			g_string_append(s, "\\057");
		else if (*p == ':')
			g_string_append(s, "\\072");
		else
			g_string_append_c(s, *p);
	}
	return g_string_free(s, FALSE);
}

/* TIME.MusecPpidQn.HOST,S=SIZE: unique per host, as the Maildir spec asks. */
static char *unique_name(guint attempt, gsize size)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	g_autofree char *host = host_part();
	return g_strdup_printf("%ld.M%06ldP%ldQ%u.%s,S=%" G_GSIZE_FORMAT, (long)tv.tv_sec,
	                       (long)tv.tv_usec, (long)getpid(), attempt, host, size);
}

int sm_maildir_open_tmp(const char *dir, gsize size, char **tmp_path, char **name,
                        GError **error)
{
	for (guint attempt = 1; attempt <= 5; attempt++) {
		g_autofree char *n = unique_name(attempt, size);
		g_autofree char *p = g_build_filename(dir, "tmp", n, NULL);
		int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			*tmp_path = g_steal_pointer(&p);
			*name = g_steal_pointer(&n);
			return fd;
		}
		if (errno != EEXIST)
			break;
	}
	g_autofree char *tmpdir = g_build_filename(dir, "tmp", NULL);
	sm_maildir_errno_error(error, "cannot create a file in", tmpdir);
	return -1;
}

static gboolean write_file(int fd, const SmDelivery *d)
{
	return sm_write_all(fd, d->prefix, d->prefix_len) == 0
	    && sm_write_all(fd, d->data, d->len) == 0
	    && fsync(fd) == 0;
}

/* link() is the spec's way (it never overwrites); some filesystems lack it. */
int sm_maildir_link(const char *from, const char *to)
{
	if (link(from, to) == 0) {
		unlink(from); /* a leftover in tmp/ is harmless: the message is in new/ */
		return 0;
	}
	if (errno == EPERM || errno == ENOSYS || errno == EOPNOTSUPP) {
		struct stat st;
		if (lstat(to, &st) == 0) {
			errno = EEXIST;
			return -1;
		}
		return rename(from, to);
	}
	return -1;
}

char *sm_maildir_folder_dir(const SmMailbox *box, const char *folder, GError **error)
{
	gboolean inbox = sm_folder_is_inbox(folder);
	if (!inbox && !sm_folder_name_valid(folder)) {
		g_set_error(error, SM_DELIVER_ERROR, SM_DELIVER_ERROR_UNSAFE,
		            "invalid folder name");
		return NULL;
	}
	if (!ensure_root(box->root, box->owner, error))
		return NULL;
	g_autofree char *dot = inbox ? NULL : g_strconcat(".", folder, NULL);
	g_autofree char *dir = inbox ? g_strdup(box->root) : g_build_filename(box->root, dot, NULL);
	if (!ensure_maildir(dir, box->owner, !inbox, error))
		return NULL;
	return g_steal_pointer(&dir);
}

static gboolean store(const SmMailbox *box, const char *folder, const SmDelivery *d,
                      char **stored_path, GError **error)
{
	g_autofree char *dir = sm_maildir_folder_dir(box, folder, error);
	if (!dir)
		return FALSE;

	g_autofree char *tmp_path = NULL, *name = NULL;
	int fd = sm_maildir_open_tmp(dir, d->prefix_len + d->len, &tmp_path, &name, error);
	if (fd < 0)
		return FALSE;
	sm_watchdog_set_cleanup(tmp_path);
	gboolean written = write_file(fd, d);
	int saved = errno;
	if (close(fd) < 0 && written) {
		written = FALSE;
		saved = errno;
	}
	if (!written) {
		unlink(tmp_path);
		sm_watchdog_set_cleanup(NULL);
		errno = saved;
		return sm_maildir_errno_error(error, "cannot write", tmp_path);
	}

	g_autofree char *new_dir = g_build_filename(dir, "new", NULL);
	g_autofree char *new_path = g_build_filename(new_dir, name, NULL);
	sm_watchdog_hold();
	if (sm_maildir_link(tmp_path, new_path) < 0) {
		saved = errno;
		unlink(tmp_path);
		sm_watchdog_set_cleanup(NULL);
		sm_watchdog_release();
		errno = saved;
		return sm_maildir_errno_error(error, "cannot move message into", new_dir);
	}
	sm_watchdog_set_cleanup(NULL);
	if (sm_fsync_dir(new_dir) < 0) {
		/* Not durable: take it back so the MTA's retry does not make a copy. */
		saved = errno;
		unlink(new_path);
		sm_watchdog_release();
		errno = saved;
		return sm_maildir_errno_error(error, "cannot sync", new_dir);
	}
	if (stored_path)
		*stored_path = g_steal_pointer(&new_path);
	/* Still held: the caller disarms the watchdog once it has decided to exit 0. */
	return TRUE;
}

const SmBackend sm_backend_maildir = { "maildir", store };
