/* fsutil.c: durable-write helpers (see fsutil.h). */
#include "config.h"
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int sm_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int sm_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int sm_parent_dir_is_ours(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return 0;
	struct stat st;
	char *dir = dirname(copy);
	int ok = stat(dir, &st) == 0 || stat(dirname(dir), &st) == 0;
	free(copy);
	return ok && st.st_uid == geteuid();
}

int sm_ensure_dir(const char *path, uid_t owner)
{
	/* lstat() first: on every delivery the directories exist already, and
	 * one call then does (mkdir() first would take two). */
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno != ENOENT)
			return -1;
		if (mkdir(path, 0700) == 0)
			return 0;
		/* made by a concurrent delivery in between: check what it is */
		if (errno != EEXIST || lstat(path, &st) < 0)
			return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	if (st.st_uid != owner) {
		errno = EPERM;
		return -1;
	}
	return 0;
}
