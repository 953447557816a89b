/* spool.h: reads the whole message from a file descriptor into memory we own.
 *
 * Small messages (up to 1 MiB) stay in a heap buffer. Larger ones spill to an
 * unlinked temporary file in $TMPDIR (default /tmp) which is then mapped
 * read-only, so a 50 MB message costs page cache, not heap, and is never held
 * twice. A leading mbox "From " line is recognised and reported, not removed
 * from @data: callers use msg/msg_len. */
#ifndef SM_SPOOL_H
#define SM_SPOOL_H

#include <glib.h>

typedef struct {
	const char *msg;    /* the message without any leading From_ line */
	gsize msg_len;
	char *from_sender;  /* sender named on the From_ line, or NULL; owned */
	/* private */
	char *buf;
	gsize len;
	gboolean mapped;
} SmSpool;

/* Reads @fd to its end. FALSE with @error (G_FILE_ERROR or SM_LDA_ERROR_INPUT).
 * Either way @s may hold memory afterwards: call sm_spool_clear(). */
gboolean sm_spool_read(SmSpool *s, int fd, GError **error);
void sm_spool_clear(SmSpool *s);

#endif
