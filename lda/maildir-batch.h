/* maildir-batch.h: batched durability for `sortmail replay --sync=batch`.
 *
 * A delivery makes each message durable on its own (backend.h): an fsync of
 * the file and one of new/, several milliseconds each on a real disk, which
 * caps a replay near a hundred messages a second. Here sm_maildir_stage()
 * only writes a message into its folder's tmp/ (no fsync), and
 * sm_maildir_commit() makes a whole batch durable at once: the data of all
 * (one syncfs() per filesystem; an fsync of each file where that fails),
 * then each linked into new/, then every new/ directory touched fsynced once.
 *
 * Contract: a staged message is in tmp/ only, which Maildir readers ignore;
 * it is in new/ and durable (bytes and directory entry) once commit has
 * marked it done, and not before. A message whose commit failed is not left
 * in new/. A crash at any point leaves at most files in tmp/. */
#ifndef SM_MAILDIR_BATCH_H
#define SM_MAILDIR_BATCH_H

#include <glib.h>
#include "backend.h"

typedef struct {
	char *tmp_path;    /* the file in tmp/ */
	char *new_dir;     /* the folder's new/ */
	char *new_path;    /* where commit puts it */
	int fd;            /* open until commit (its data still to be synced); -1 after */
	gboolean done;     /* commit: durable in new/ */
	GError *error;     /* commit: why it is not (then nothing of it is in new/) */
} SmStaged;

/* Writes @d into @folder's tmp/ under @box (folders checked and created as
 * store() does). TRUE with *@out (owned by the caller), or FALSE with @error
 * and nothing left behind. */
gboolean sm_maildir_stage(const SmMailbox *box, const char *folder, const SmDelivery *d,
                          SmStaged **out, GError **error);

/* Makes the @n messages of @batch durable in new/, as far as it can: each
 * ends with done TRUE, or with error set. */
void sm_maildir_commit(SmStaged *const *batch, guint n);

/* Frees @s; a message not done is removed from tmp/. NULL is fine. */
void sm_staged_free(SmStaged *s);

#endif
