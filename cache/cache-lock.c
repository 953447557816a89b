/* cache-lock.c: byte-range locks on the sidecar lock file (see cache-priv.h).
 *
 * fcntl locks are what make single flight safe against a scorer that dies:
 * the kernel drops them with the process, at once. Open file description
 * locks (Linux) are preferred because they belong to our descriptor, not to
 * the process, so no close() of another descriptor of the same file anywhere
 * in the program can silently drop them. We never block in the kernel:
 * waiting is a poll loop in cache.c, because a blocking F_SETLKW can only be
 * bounded with a signal, and signals belong to lda/.
 */
#include "config.h"
#include "cache-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#ifdef F_OFD_SETLK
#define SM_SETLK F_OFD_SETLK
#else
#define SM_SETLK F_SETLK
#endif

int sm_lockfile_open(const char *path, guint mode_bits)
{
	int fd;
	do
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, mode_bits);
	while (fd < 0 && errno == EINTR);
	return fd;
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
