/* mbox-lock.h: opening an mbox file safely and locking it for an append.
 *
 * Contract: sm_mbox_lock() either returns TRUE with @lk holding an fd opened
 * O_WRONLY|O_APPEND on a regular file at @path that is not a symlink, has one
 * link and is owned by @owner (created 0600 if absent), write-locked with fcntl
 * over the whole file, plus PATH.lock created by us when the directory lets us
 * create it; or returns FALSE with @error set (SM_DELIVER_ERROR_UNSAFE,
 * SM_DELIVER_ERROR_LOCK after sm_mbox_lock_timeout_ms, or G_FILE_ERROR) and
 * nothing held. On success the watchdog's signals are held (watchdog.h), so
 * that neither our dotlock nor a half-written append can be left behind by a
 * time limit; the caller calls sm_watchdog_release() if the delivery then
 * fails, and leaves them held on success (the caller of the backend disarms).
 * sm_mbox_unlock() releases whatever @lk holds and never fails. Neither
 * prints nor exits.
 */
#ifndef SM_MBOX_LOCK_H
#define SM_MBOX_LOCK_H

#include <glib.h>
#include <sys/types.h>

typedef struct {
	int fd;          /* -1 when nothing is held */
	char *dotlock;   /* owned: the PATH.lock we created; NULL when none */
	dev_t dot_dev;   /* identity of our dotlock, so we never remove another's */
	ino_t dot_ino;
} SmMboxLock;

/* Total time sm_mbox_lock() waits for busy locks: 30 s. Tests lower it. */
extern guint sm_mbox_lock_timeout_ms;

/* A dotlock whose mtime is older than this is taken to be left by a crash. */
#define SM_MBOX_DOTLOCK_STALE_SECONDS 300

gboolean sm_mbox_lock(const char *path, uid_t owner, SmMboxLock *lk, GError **error);

/* Closes @lk->fd and returns 0, or -1 + errno when close() fails (a write
 * error reported late, e.g. by NFS or a quota). Either way the fcntl lock is
 * still held on return through a duplicate left in @lk->fd, so the caller can
 * still truncate and the next writer cannot slip in first. */
int sm_mbox_lock_close_checked(SmMboxLock *lk);

void sm_mbox_unlock(SmMboxLock *lk);

#endif
