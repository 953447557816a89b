/* backend.h: one small interface for every delivery backend (Maildir, mbox).
 *
 * Contract: store() either returns TRUE with the message durably on disk exactly
 * once (fsynced, and for Maildir linked into new/ with the directory fsynced), or
 * returns FALSE with @error set and nothing visible left behind (no file in new/,
 * an mbox truncated back to its old size). Errors are in G_FILE_ERROR (from errno
 * via g_file_error_from_errno) or SM_DELIVER_ERROR; lda/status.c maps any of them
 * to exit 75. Backends never exit and never print.
 */
#ifndef SM_BACKEND_H
#define SM_BACKEND_H

#include <glib.h>
#include <sys/types.h>
#include <time.h>

#define SM_DELIVER_ERROR (sm_deliver_error_quark())
GQuark sm_deliver_error_quark(void);

typedef enum {
	SM_DELIVER_ERROR_UNSAFE,  /* symlink, wrong owner, hard links, not a regular file */
	SM_DELIVER_ERROR_LOCK,    /* could not lock in time */
	SM_DELIVER_ERROR_FAILED,  /* anything else */
} SmDeliverError;

/* What to store: @prefix (prepended headers, may be empty) then @data. */
typedef struct {
	const char *prefix;
	gsize prefix_len;
	const char *data;    /* the message as received, without any mbox "From " line */
	gsize len;
	const char *sender;  /* envelope sender for the mbox "From " line; "" = null sender */
	time_t arrival;
} SmDelivery;

typedef struct {
	const char *root;        /* Maildir root, or the directory of mbox folder files */
	const char *mbox_inbox;  /* mbox only: the inbox file */
	uid_t owner;             /* the uid that must own what we write into */
} SmMailbox;

typedef struct {
	const char *name;
	/* @folder is a validated folder name; "inbox" (any case) means the root. On
	 * success *@stored_path (may be NULL) receives the file it went into. */
	gboolean (*store)(const SmMailbox *box, const char *folder, const SmDelivery *d,
	                  char **stored_path, GError **error);
} SmBackend;

extern const SmBackend sm_backend_maildir;
extern const SmBackend sm_backend_mbox;

#endif
