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
 * The fcntl lock is an open-file-description lock (F_OFD_SETLK) where the
 * system has them: it conflicts with the classic POSIX locks other mail
 * programs take, and unlike those it survives closing a duplicate of the fd,
 * which sm_mbox_lock_close_checked() relies on.
 */
#include "config.h"
#include "mbox-lock.h"
#include "backend.h"
#include "watchdog.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef F_OFD_SETLK
#define SM_SETLK F_OFD_SETLK
#else
#define SM_SETLK F_SETLK  /* closing any fd of the file drops this one */
#endif

/* A real dotlock is empty or holds a pid; anything bigger is someone's data
 * (say a folder named "x.lock") and is never removed as stale, unless it is
 * our own record (see mbox-lock.h), which may be longer. */
#define DOTLOCK_MAX_SIZE 64
#define DOTLOCK_RECORD_MAX 256

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

/* What a stale dotlock of a dead sortmail says about its unfinished append. */
typedef struct {
	gboolean set;
	off_t at;
	guint64 dev, ino;
} Recovery;

static void host_name(char *buf, size_t size)
{
	if (gethostname(buf, size) < 0)
		g_strlcpy(buf, "localhost", size);
	buf[size - 1] = '\0';
}

typedef enum { NOT_OURS, OURS_ALIVE, OURS_DEAD } Writer;

/* Whether the open dotlock @fd is one of ours (see mbox-lock.h), and if so
 * whether its process is gone from this host; for a dead one *@rec gets its
 * append, if it names one. */
static Writer dotlock_writer(int fd, Recovery *rec)
{
	char buf[DOTLOCK_RECORD_MAX + 1], host[DOTLOCK_RECORD_MAX], me[DOTLOCK_RECORD_MAX];
	ssize_t n = pread(fd, buf, DOTLOCK_RECORD_MAX, 0);
	if (n <= 0)
		return NOT_OURS;
	buf[n] = '\0';
	long pid;
	long long at;
	unsigned long long dev, ino;
	int f = sscanf(buf, "sortmail %ld %255s %lld %llu %llu", &pid, host, &at, &dev, &ino);
	if (f != 2 && f != 5)
		return NOT_OURS;
	host_name(me, 64);
	if (strcmp(host, me) != 0 || pid <= 0 || pid == (long)getpid())
		return OURS_ALIVE;  /* as far as we can tell */
	if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
		return OURS_ALIVE;
	if (f == 5 && at >= 0)
		*rec = (Recovery){ .set = TRUE, .at = (off_t)at, .dev = dev, .ino = ino };
	return OURS_DEAD;
}

/* Removes @lockpath if it is a crash leftover: one of ours whose process is
 * gone, or any small one untouched for SM_MBOX_DOTLOCK_STALE_SECONDS. TRUE:
 * try to create it again; *@rec then says what append of a dead sortmail to
 * undo, if any. */
static gboolean remove_if_stale(const char *lockpath, Recovery *rec)
{
	struct stat st;
	if (lstat(lockpath, &st) < 0)
		return errno == ENOENT;
	if (!S_ISREG(st.st_mode) || st.st_size > DOTLOCK_RECORD_MAX)
		return FALSE;
	Recovery found = { 0 };
	Writer w = NOT_OURS;
	int fd = open(lockpath, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0) {
		struct stat fst;
		if (fstat(fd, &fst) == 0 && fst.st_dev == st.st_dev && fst.st_ino == st.st_ino)
			w = dotlock_writer(fd, &found);
		close(fd);
	}
	if (w == NOT_OURS && st.st_size > DOTLOCK_MAX_SIZE)
		return FALSE;
	if (w != OURS_DEAD && time(NULL) - st.st_mtime <= SM_MBOX_DOTLOCK_STALE_SECONDS)
		return FALSE;
	/* Out of the way under a name of our own: of several processes that judged
	 * it stale, only one gets this very file, and only that one may undo the
	 * append it names. Anything else found there was someone's fresh dotlock,
	 * and goes back (unless yet another one appeared meanwhile). */
	g_autofree char *mine = g_strdup_printf("%s.stale-%ld", lockpath, (long)getpid());
	if (rename(lockpath, mine) < 0)
		return errno == ENOENT;
	struct stat got;
	if (lstat(mine, &got) < 0 || got.st_dev != st.st_dev || got.st_ino != st.st_ino) {
		(void)!link(mine, lockpath);
		unlink(mine);
		return FALSE;
	}
	unlink(mine);
	if (found.set)
		*rec = found;
	return TRUE;
}

/* Creates @lockpath holding @line: an fd, or -1 with errno (EEXIST: taken).
 * Where the kernel lets us, the record is written to an unnamed file
 * (O_TMPFILE) that is then linked into place, so that a crash can never leave
 * an empty dotlock, which only the 300 s rule could clear. */
static int create_dotlock(const char *lockpath, const char *line)
{
	size_t len = strlen(line);
#ifdef O_TMPFILE
	g_autofree char *dir = g_path_get_dirname(lockpath);
	int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd >= 0) {
		char proc[64];
		g_snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		if (write(fd, line, len) == (ssize_t)len &&
		    linkat(AT_FDCWD, proc, AT_FDCWD, lockpath, AT_SYMLINK_FOLLOW) == 0)
			return fd;
		int saved = errno;
		close(fd);
		if (saved == EEXIST || saved == EACCES) {
			errno = saved;
			return -1;
		}
		/* no /proc, a full disk...: the plain way below */
	}
#endif
	fd = open(lockpath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	/* Unwritten (a full disk) it is just an anonymous dotlock. */
	if (fd >= 0)
		(void)!write(fd, line, len);
	return fd;
}

/* 1: taken (recorded in @lk), 0: busy, -1: errno (EACCES: the directory
 * does not let us make dotlocks). */
static int dotlock_try(const char *lockpath, SmMboxLock *lk, Recovery *rec)
{
	char host[DOTLOCK_MAX_SIZE];
	host_name(host, 64);
	g_autofree char *record = g_strdup_printf("sortmail %ld %s", (long)getpid(), host);
	g_autofree char *line = g_strconcat(record, "\n", NULL);
	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = create_dotlock(lockpath, line);
		if (fd >= 0) {
			struct stat st;
			if (fstat(fd, &st) < 0) {
				int saved = errno;
				close(fd);
				unlink(lockpath);
				errno = saved;
				return -1;
			}
			lk->dot_record = g_steal_pointer(&record);
			lk->dot_fd = fd;
			lk->dotlock = g_strdup(lockpath);
			lk->dot_dev = st.st_dev;
			lk->dot_ino = st.st_ino;
			return 1;
		}
		if (errno != EEXIST)
			return -1;
		if (!remove_if_stale(lockpath, rec))
			return 0;
	}
	return 0;
}

void sm_mbox_lock_note_append(SmMboxLock *lk, off_t at)
{
	struct stat st;
	if (lk->dot_fd < 0 || !lk->dot_record || fstat(lk->fd, &st) < 0)
		return;
	/* Longer than the first record, so it covers it whole. */
	g_autofree char *line = g_strdup_printf("%s %lld %llu %llu\n", lk->dot_record,
	                                        (long long)at, (unsigned long long)st.st_dev,
	                                        (unsigned long long)st.st_ino);
	(void)!pwrite(lk->dot_fd, line, strlen(line), 0);
}

/* With both locks held on @fd (the mbox at @path): cuts off the append @rec of
 * a dead sortmail, if the file is still the one it names and a From_ line
 * still starts where that append did. */
static void undo_dead_append(int fd, const char *path, const Recovery *rec)
{
	struct stat st, rst;
	if (!rec->set || fstat(fd, &st) < 0 || (guint64)st.st_dev != rec->dev ||
	    (guint64)st.st_ino != rec->ino || st.st_size <= rec->at)
		return;
	/* Our fd is write-only: look through a second one. */
	int rfd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (rfd < 0)
		return;
	char head[6];
	gboolean from = fstat(rfd, &rst) == 0 && rst.st_dev == st.st_dev &&
	                rst.st_ino == st.st_ino;
	if (from && rec->at > 0)
		from = pread(rfd, head, 6, rec->at - 1) == 6 && memcmp(head, "\nFrom ", 6) == 0;
	else if (from)
		from = pread(rfd, head, 5, 0) == 5 && memcmp(head, "From ", 5) == 0;
	close(rfd);
	if (from && ftruncate(fd, rec->at) == 0)
		(void)fsync(fd);
}

static void dotlock_release(SmMboxLock *lk)
{
	struct stat st;
	if (lk->dot_fd >= 0)
		close(lk->dot_fd);
	lk->dot_fd = -1;
	g_clear_pointer(&lk->dot_record, g_free);
	if (!lk->dotlock)
		return;
	/* Only ours: after a very long stall another process may have judged it
	 * stale and made its own. */
	if (lstat(lk->dotlock, &st) == 0 && st.st_dev == lk->dot_dev && st.st_ino == lk->dot_ino)
		unlink(lk->dotlock);
	g_clear_pointer(&lk->dotlock, g_free);
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
	Recovery rec = { 0 };
	if (*use_dotlock) {
		int r = dotlock_try(lockpath, lk, &rec);
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
		dotlock_release(lk);
		return -1;
	}
	if (fcntl_trylock(fd) < 0) {
		int saved = errno;
		close(fd);
		dotlock_release(lk);
		if (saved == EAGAIN || saved == EACCES)
			return 0;
		errno = saved;
		errno_error(error, "fcntl lock", path);
		return -1;
	}
	if (!still_valid(fd, path)) {
		close(fd);
		dotlock_release(lk);
		return 0;
	}
	undo_dead_append(fd, path, &rec);
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
	dotlock_release(lk);
}
