/* mbox-dotlock.c: the dotlock of an mbox append: creating it with our record,
 * judging another one stale, and undoing the append of a dead sortmail (see
 * mbox-lock.h for the record and the recovery, mbox-dotlock.h for the calls).
 * Private to mbox-lock.c, which orders the dotlock before the fcntl lock. */
#include "config.h"
#include "mbox-dotlock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A real dotlock is empty or holds a pid; anything bigger is someone's data
 * (say a folder named "x.lock") and is never removed as stale, unless it is
 * our own record (see mbox-lock.h), which may be longer. */
#define DOTLOCK_MAX_SIZE 64
#define DOTLOCK_RECORD_MAX 256

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
static Writer dotlock_writer(int fd, SmDotlockRecovery *rec)
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
		*rec = (SmDotlockRecovery){ .set = TRUE, .at = (off_t)at, .dev = dev, .ino = ino };
	return OURS_DEAD;
}

/* Removes @lockpath if it is a crash leftover: one of ours whose process is
 * gone, or any small one untouched for SM_MBOX_DOTLOCK_STALE_SECONDS. TRUE:
 * try to create it again; *@rec then says what append of a dead sortmail to
 * undo, if any. */
static gboolean remove_if_stale(const char *lockpath, SmDotlockRecovery *rec)
{
	struct stat st;
	if (lstat(lockpath, &st) < 0)
		return errno == ENOENT;
	if (!S_ISREG(st.st_mode) || st.st_size > DOTLOCK_RECORD_MAX)
		return FALSE;
	SmDotlockRecovery found = { 0 };
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

int sm_dotlock_try(const char *lockpath, SmMboxLock *lk, SmDotlockRecovery *rec)
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

void sm_dotlock_undo_dead_append(int fd, const char *path, const SmDotlockRecovery *rec)
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

void sm_dotlock_release(SmMboxLock *lk)
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

