/* mbox-read.h: splits an mbox file (in memory, borrowed) into messages and
 * un-quotes their "From " lines, for `sortmail replay`.
 *
 * A message starts at a From_ line: "From " at the start of the file or of a
 * line, then the envelope sender, then a ctime()-style date ("Www Mmm dd
 * hh:mm[:ss] ... yyyy"). A body line that starts with "From " but has no
 * such date (an unquoted "From here on..." after an empty line) is not a
 * boundary. The empty line before a From_ line, and the one at the end of
 * the file, belong to the mbox, not to the message.
 *
 * Quoting, as the writer did it and the reader undoes it:
 *   mboxo   the writer put '>' before "From " at the start of a line; the
 *           reader removes one '>' from ">From " (exactly one '>').
 *   mboxrd  the writer put '>' before any line matching ^>*From ; the reader
 *           removes one '>' from every line matching ^>+From .
 * The two differ only on lines that start with two or more '>' and "From ".
 * No reader can tell from such a line which writer made it, so there is no
 * "auto": the caller chooses (sortmail(1), replay, says which default and why).
 *
 * Lines may end in LF or CRLF; the bytes are handed on as they are. */
#ifndef SM_MBOX_READ_H
#define SM_MBOX_READ_H

#include <glib.h>

typedef enum { SM_MBOX_MBOXRD, SM_MBOX_MBOXO } SmMboxFormat;

typedef struct {
	const char *data;  /* the whole file; borrowed */
	gsize len;
	gsize pos;         /* start of the next From_ line (or of the data) */
	SmMboxFormat format;
} SmMboxReader;

typedef struct {
	gsize offset;         /* of the From_ line in the file (of the data when none) */
	char *from_sender;    /* the sender on the From_ line, or NULL (none, or one
	                       * with a NUL byte); owned */
	const char *data;     /* the message, un-quoted, without From_ line and separator */
	gsize len;
	gboolean truncated;   /* the last message of the file ends without its empty line
	                       * (or without a newline): the file was probably cut */
	guint unquoted;       /* lines un-quoted */
	/* private */
	char *owned;          /* data when un-quoting had to copy */
} SmMboxMessage;

void sm_mbox_reader_init(SmMboxReader *r, const char *data, gsize len, SmMboxFormat format);

/* The sender named on the From_ line @line (@n bytes, "From " included; a
 * quoted local part may hold blanks), or NULL when it names none or the name
 * holds a NUL byte. Newly allocated. Also what spool.c uses for stdin. */
char *sm_mbox_from_sender(const char *line, gsize n);

/* The next message into @m (cleared first); FALSE at the end of the data. */
gboolean sm_mbox_next(SmMboxReader *r, SmMboxMessage *m);
void sm_mbox_message_clear(SmMboxMessage *m);

/* TRUE when the line at @line (@len bytes, newline excluded or not) is a
 * From_ line as described above. */
gboolean sm_mbox_is_from_line(const char *line, gsize len);

#endif
