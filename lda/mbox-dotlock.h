/* mbox-dotlock.h: the dotlock half of mbox-lock.c, private to it (the
 * record a dotlock of ours holds and the crash recovery it allows are
 * described in mbox-lock.h). None of these waits, prints or exits. */
#ifndef SM_MBOX_DOTLOCK_H
#define SM_MBOX_DOTLOCK_H

#include "mbox-lock.h"

/* What the stale dotlock of a dead sortmail says about its unfinished append. */
typedef struct {
	gboolean set;
	off_t at;
	guint64 dev, ino;
} SmDotlockRecovery;

/* Creates @lockpath with our record and records it in @lk (dotlock,
 * dot_fd, dot_record, identity); a stale one is removed first, and *@rec
 * then names the dead writer's append, if any. 1: taken, 0: busy, -1:
 * errno (EACCES: the directory does not let us make dotlocks). */
int sm_dotlock_try(const char *lockpath, SmMboxLock *lk, SmDotlockRecovery *rec);

/* Removes our dotlock (only if it is still ours) and forgets it. */
void sm_dotlock_release(SmMboxLock *lk);

/* With both locks held on @fd (the mbox at @path): cuts off the append @rec
 * of a dead sortmail, if the file is still the one it names and a From_
 * line still starts where that append did. */
void sm_dotlock_undo_dead_append(int fd, const char *path, const SmDotlockRecovery *rec);

#endif
