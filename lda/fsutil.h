/* fsutil.h: small POSIX helpers for durable file work. 0/-1 + errno, never exit. */
#ifndef SM_FSUTIL_H
#define SM_FSUTIL_H

#include <sys/types.h>
#include <stddef.h>

/* Writes all @len bytes, retrying on EINTR and short writes. */
int sm_write_all(int fd, const void *buf, size_t len);

/* fsync()s the directory @path so that a new entry in it is durable. */
int sm_fsync_dir(const char *path);

/* Makes directory @path with mode 0700 if it does not exist. An existing entry
 * must be a real directory (not a symlink) owned by @owner, else -1/ENOTDIR or
 * -1/EPERM. */
int sm_ensure_dir(const char *path, uid_t owner);

/* 1 when the directory @path is in (or, before it exists, the one it would
 * be made in) belongs to the effective user, else 0: root replaying mail into
 * a user's home must not leave root-owned state files there, nor trust ones
 * someone else owns. */
int sm_parent_dir_is_ours(const char *path);

#endif
