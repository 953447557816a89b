/* cache-lock.c: byte-range locks on the sidecar lock file (see cache-priv.h).
 *
 * fcntl locks are what make single flight safe against a scorer that dies:
 * the kernel drops them with the process, at once. Open file description
 * locks (Linux) are preferred because they belong to our descriptor, not to
 * the process, so no close() of another descriptor of the same file anywhere
 * in the program can silently drop them. We never block in the kernel:
 * waiting is a poll loop (below), because a blocking F_SETLKW can only be
 * bounded with a signal, and signals belong to lda/.
 * The second half wraps these for an SmCache: its lazily opened lock file and
 * the polling with jitter.
 */
#include "config.h"
#include "cache-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef F_OFD_SETLK
#define SM_SETLK F_OFD_SETLK
#else
#define SM_SETLK F_SETLK
#endif

/* A new lock file gets @mode_bits exactly (fchmod: a shared cache's group
 * bits must survive the umask, which lda/ sets to 077). */
int sm_lockfile_open(const char *path, guint mode_bits)
{
	/* Removed between the two opens (cache prune): start again. */
	for (int attempt = 0; attempt < 3; attempt++) {
		int fd;
		do
			fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode_bits);
		while (fd < 0 && errno == EINTR);
		if (fd >= 0) {
			if ((mode_bits & 077) != 0)
				(void)fchmod(fd, mode_bits);
			return fd;
		}
		if (errno != EEXIST)
			return -1;
		/* An existing one: never through a symlink (which O_CREAT would
		 * follow to create its target), and a regular file. */
		do
			fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		while (fd < 0 && errno == EINTR);
		if (fd < 0 && errno == ENOENT)
			continue;
		struct stat st;
		if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
			close(fd);
			errno = EINVAL;
			return -1;
		}
		return fd;
	}
	return -1;
}

static int set_lock(int fd, goffset offset, short type)
{
	struct flock fl = {
		.l_type = type,
		.l_whence = SEEK_SET,
		.l_start = offset,
		.l_len = 1,
	};
	int r;
	do
		r = fcntl(fd, SM_SETLK, &fl);
	while (r < 0 && errno == EINTR);
	return r;
}

int sm_lock_try(int fd, goffset offset, gboolean exclusive)
{
	if (set_lock(fd, offset, exclusive ? F_WRLCK : F_RDLCK) == 0)
		return 0;
	return (errno == EAGAIN || errno == EACCES) ? 1 : -1;
}

void sm_lock_release(int fd, goffset offset)
{
	set_lock(fd, offset, F_UNLCK);
}

/* FNV-1a: any stable hash will do, it only spreads keys over the slots. */
goffset sm_lock_slot(const char *key)
{
	guint32 h = 2166136261u;
	for (const guchar *p = (const guchar *)key; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return h % SM_LOCK_SLOTS;
}

/* ---- the lock file of an SmCache --------------------------------------- */

guint sm_cache_file_mode(const SmCache *c)
{
	struct stat st;
	if (stat(c->path, &st) == 0)
		return (st.st_mode & 0660) | 0600;
	return 0600;
}

int sm_cache_lock_fd(SmCache *c)
{
	if (c->lock_fd >= 0 || c->broken)
		return c->lock_fd;
	g_autofree char *dir = g_path_get_dirname(c->path);
	if (g_mkdir_with_parents(dir, 0700) != 0) {
		g_autofree char *why = g_strdup_printf("cannot create %s: %s", dir, g_strerror(errno));
		sm_cache_give_up(c, why);
		return -1;
	}
	c->lock_fd = sm_lockfile_open(c->lock_path, sm_cache_file_mode(c));
	if (c->lock_fd < 0) {
		g_autofree char *why = g_strdup_printf("cannot open %s: %s", c->lock_path,
		                                       g_strerror(errno));
		sm_cache_give_up(c, why);
	}
	return c->lock_fd;
}

void sm_cache_lock_failed(SmCache *c)
{
	g_autofree char *why = g_strdup_printf("cannot lock %s: %s", c->lock_path,
	                                       g_strerror(errno));
	sm_cache_give_up(c, why);
}

gulong sm_cache_jitter(SmCache *c, gulong us)
{
	if (!c->rand)
		c->rand = g_rand_new_with_seed((guint32)getpid() ^ (guint32)g_get_monotonic_time());
	return us / 2 + g_rand_int_range(c->rand, 0, (gint32)us);
}

int sm_cache_lock_within(SmCache *c, goffset slot, gboolean exclusive, guint wait_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)wait_ms * 1000;
	gulong interval = SM_CACHE_POLL_FIRST_US;
	for (;;) {
		int r = sm_lock_try(c->lock_fd, slot, exclusive);
		if (r != 1)
			return r;
		gint64 left = deadline - g_get_monotonic_time();
		if (left <= 0)
			return 1;
		g_usleep(MIN((gint64)sm_cache_jitter(c, interval), left));
		interval = MIN(interval * 2, SM_CACHE_POLL_MAX_US);
	}
}
