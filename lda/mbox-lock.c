/* mbox-lock.c: safe open + fcntl lock + dotlock of an mbox (see mbox-lock.h).
 *
 * Lock order: dotlock first, then the fcntl lock, and we never wait while
 * holding either: when the fcntl lock is busy we close the file, remove our
 * dotlock, sleep and start again. Dotlock-first is the order procmail and
 * Postfix's local(8) use, and it keeps us from even creating the mbox while a
 * dotlock-only MUA is rewriting it. Holding nothing while we wait is what makes
 * the order safe against any other program, whatever order it uses: a cycle of
 * waiters cannot form when one side never waits with a lock held. Two sortmails
 * use the same order, so they simply queue on the dotlock. The price is
 * fairness (a waiter can be overtaken), bounded by sm_mbox_lock_timeout_ms.
 *
 * The dotlock itself (its record, staleness, crash recovery) is in
 * mbox-dotlock.c. The fcntl lock is an open-file-description lock (F_OFD_SETLK) where the
 * system has them: it conflicts with the classic POSIX locks other mail
 * programs take, and unlike those it survives closing a duplicate of the fd,
 * which sm_mbox_lock_close_checked() relies on.
 */
#include "config.h"
#include "mbox-lock.h"
#include "mbox-dotlock.h"
#include "backend.h"
#include "watchdog.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef F_OFD_SETLK
#define SM_SETLK F_OFD_SETLK
#else
#define SM_SETLK F_SETLK  /* closing any fd of the file drops this one */
#endif

guint sm_mbox_lock_timeout_ms = 30000;

static gboolean errno_error(GError **error, const char *what, const char *path)
{
	int saved = errno;
	g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "mbox %s: %s: %s",
	            path, what, g_strerror(saved));
	return FALSE;
}

static gboolean unsafe_error(GError **error, const char *path, const char *why)
{
	g_set_error(error, SM_DELIVER_ERROR, SM_DELIVER_ERROR_UNSAFE,
	            "mbox %s %s; refusing to deliver into it", path, why);
	return FALSE;
}

/* The checks an existing mbox must pass, on what fstat() says about our fd. */
static gboolean check_existing(const struct stat *st, uid_t owner, const char *path,
                               GError **error)
{
	if (!S_ISREG(st->st_mode))
		return unsafe_error(error, path, "is not a regular file");
	if (st->st_nlink != 1)
		return unsafe_error(error, path, "has more than one hard link");
	if (st->st_uid != owner)
		return unsafe_error(error, path, "is owned by another user");
	return TRUE;
}

/* Creates @path 0600, owned by @owner. Returns the fd, -2 when it appeared
 * meanwhile (start again), or -1 with @error set. */
static int create_new(const char *path, uid_t owner, GError **error)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC,
	              0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return -2;
		errno_error(error, "create", path);
		return -1;
	}
	struct stat st;
	/* Root delivering for a user must not leave a file the user cannot own. */
	if (fstat(fd, &st) < 0 || (st.st_uid != owner && fchown(fd, owner, (gid_t)-1) < 0)) {
		errno_error(error, "create", path);
		unlink(path);
		close(fd);
		return -1;
	}
	return fd;
}

/* lstat, open without following, fstat: the file we opened must be the one
 * we looked at. Returns the fd, -2 when the path changed under us (start
 * again), or -1 with @error set. */
static int open_existing(const char *path, const struct stat *lst, uid_t owner,
                         GError **error)
{
	if (S_ISLNK(lst->st_mode)) {
		unsafe_error(error, path, "is a symbolic link");
		return -1;
	}
	/* Checked before open() too: opening a FIFO for writing could block. */
	if (!check_existing(lst, owner, path, error))
		return -1;
	int fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return -2;
		if (errno == ELOOP)
			unsafe_error(error, path, "is a symbolic link");
		else
			errno_error(error, "open", path);
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		errno_error(error, "fstat", path);
		close(fd);
		return -1;
	}
	if (st.st_dev != lst->st_dev || st.st_ino != lst->st_ino) {
		close(fd);
		return -2;
	}
	if (!check_existing(&st, owner, path, error)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int safe_open(const char *path, uid_t owner, GError **error)
{
	for (int tries = 0; tries < 5; tries++) {
		struct stat lst;
		int fd;
		if (lstat(path, &lst) == 0)
			fd = open_existing(path, &lst, owner, error);
		else if (errno == ENOENT)
			fd = create_new(path, owner, error);
		else {
			errno_error(error, "lstat", path);
			return -1;
		}
		if (fd != -2)
			return fd;
	}
	g_set_error(error, SM_DELIVER_ERROR, SM_DELIVER_ERROR_FAILED,
	            "mbox %s keeps changing under us", path);
	return -1;
}

static int fcntl_trylock(int fd)
{
	struct flock fl;
	memset(&fl, 0, sizeof fl);  /* l_start = l_len = 0: the whole file, even as it grows */
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	return fcntl(fd, SM_SETLK, &fl);
}

/* Between our open() and our lock, the previous holder may have replaced or
 * linked the file: what we locked must still be what the path names. */
static gboolean still_valid(int fd, const char *path)
{
	struct stat a, b;
	return fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino && a.st_nlink == 1;
}

/* One attempt at everything. 1: locked, 0: busy (nothing held), -1: error. */
static int lock_once(const char *path, const char *lockpath, uid_t owner,
                     gboolean *use_dotlock, SmMboxLock *lk, GError **error)
{
	SmDotlockRecovery rec = { 0 };
	if (*use_dotlock) {
		int r = sm_dotlock_try(lockpath, lk, &rec);
		if (r == 0)
			return 0;
		if (r < 0 && errno != EACCES) {
			errno_error(error, "create dotlock", lockpath);
			return -1;
		}
		if (r < 0)
			*use_dotlock = FALSE;  /* e.g. /var/mail without group mail: fcntl only */
	}
	int fd = safe_open(path, owner, error);
	if (fd < 0) {
		sm_dotlock_release(lk);
		return -1;
	}
	if (fcntl_trylock(fd) < 0) {
		int saved = errno;
		close(fd);
		sm_dotlock_release(lk);
		if (saved == EAGAIN || saved == EACCES)
			return 0;
		errno = saved;
		errno_error(error, "fcntl lock", path);
		return -1;
	}
	if (!still_valid(fd, path)) {
		close(fd);
		sm_dotlock_release(lk);
		return 0;
	}
	sm_dotlock_undo_dead_append(fd, path, &rec);
	lk->fd = fd;
	return 1;
}

gboolean sm_mbox_lock(const char *path, uid_t owner, SmMboxLock *lk, GError **error)
{
	g_autofree char *lockpath = g_strconcat(path, ".lock", NULL);
	gboolean use_dotlock = TRUE;
	gint64 deadline = g_get_monotonic_time() + (gint64)sm_mbox_lock_timeout_ms * 1000;
	guint pause_ms = 5;

	memset(lk, 0, sizeof *lk);
	lk->fd = -1;
	lk->dot_fd = -1;
	for (;;) {
		/* Each attempt runs with the watchdog's signals held, so giving up
		 * can never strand our dotlock; only the pauses, when we hold
		 * nothing, are open to them. */
		sm_watchdog_hold();
		int r = lock_once(path, lockpath, owner, &use_dotlock, lk, error);
		if (r > 0)
			return TRUE;
		sm_watchdog_release();
		if (r < 0)
			return FALSE;
		gint64 left_us = deadline - g_get_monotonic_time();
		if (left_us <= 0)
			break;
		/* Jitter keeps a crowd of waiters from retrying in step. */
		guint jitter = (guint)(g_get_monotonic_time() ^ getpid()) % (pause_ms / 2 + 1);
		g_usleep(MIN((gint64)(pause_ms + jitter) * 1000, left_us));
		pause_ms = MIN(pause_ms * 2, 200);
	}
	g_set_error(error, SM_DELIVER_ERROR, SM_DELIVER_ERROR_LOCK,
	            "mbox %s is still locked by another process after %u ms", path,
	            sm_mbox_lock_timeout_ms);
	return FALSE;
}

int sm_mbox_lock_close_checked(SmMboxLock *lk)
{
	int keep = fcntl(lk->fd, F_DUPFD_CLOEXEC, 0);
	if (keep < 0)
		return -1;
	int rc = close(lk->fd);
	int saved = errno;
	lk->fd = keep;
	errno = saved;
	return rc;
}

void sm_mbox_unlock(SmMboxLock *lk)
{
	/* The fcntl lock goes with the last fd of its open file description. */
	if (lk->fd >= 0)
		close(lk->fd);
	lk->fd = -1;
	sm_dotlock_release(lk);
}
