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
	int dot_fd;       /* our dotlock, open for sm_mbox_lock_note_append(); -1: none */
	char *dot_record; /* owned: what our dotlock says ("sortmail PID HOST") */
} SmMboxLock;

/* Total time sm_mbox_lock() waits for busy locks: 30 s. Tests lower it. */
extern guint sm_mbox_lock_timeout_ms;

/* A dotlock whose mtime is older than this is taken to be left by a crash. */
#define SM_MBOX_DOTLOCK_STALE_SECONDS 300

/* Crash recovery (a sortmail killed with SIGKILL, by the OOM killer or by the
 * MTA's time limit, leaves its dotlock and maybe half a message):
 * our dotlock holds "sortmail PID HOST", and "sortmail PID HOST AT DEV INO"
 * while we append to the file (DEV, INO) from offset AT. A dotlock of ours
 * whose PID is gone on this HOST is stale at once (no 300 s wait); if it names
 * an append, the mbox is still that file, longer than AT, and a From_ line
 * starts at AT, that message is cut off (ftruncate to AT) once we hold both
 * locks, before our own append: half-written, or whole but never acknowledged
 * (the writer died before it could exit 0, so the MTA delivers it again). Only a dead writer's append is cut
 * (a live one still holds the fcntl lock), and only by the one process that
 * took the stale dotlock away. Without a dotlock (a directory we may not
 * write) there is no record and a cut-short message stays. */

gboolean sm_mbox_lock(const char *path, uid_t owner, SmMboxLock *lk, GError **error);

/* Closes @lk->fd and returns 0, or -1 + errno when close() fails (a write
 * error reported late, e.g. by NFS or a quota). Either way the fcntl lock is
 * still held on return through a duplicate left in @lk->fd, so the caller can
 * still truncate and the next writer cannot slip in first. */
int sm_mbox_lock_close_checked(SmMboxLock *lk);

/* Records in our dotlock that we now append to @lk->fd from offset @at (see
 * above); does nothing without a dotlock. Not synced: it is for a crashed
 * process, not for a crashed machine. */
void sm_mbox_lock_note_append(SmMboxLock *lk, off_t at);

void sm_mbox_unlock(SmMboxLock *lk);

#endif
