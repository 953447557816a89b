/* replay-input.h: the messages of `sortmail replay`'s inputs, one after the
 * other: mbox files (mbox-read.h), Maildir directories (new/ and cur/
 * together, in file-name order, which is arrival order for Maildir names),
 * single message files, and "-" (an mbox, or one message, on stdin).
 *
 * Inputs are only ever opened read-only. A file whose first line is a From_
 * line is an mbox; any other file is one message. mbox files are mapped and
 * the pages already replayed are dropped, so a large mbox costs little
 * memory. A problem with one input (unreadable, not a Maildir) is reported
 * as such and the next input follows. */
#ifndef SM_REPLAY_INPUT_H
#define SM_REPLAY_INPUT_H

#include <glib.h>
#include "mbox-read.h"

typedef struct {
	const char *path;     /* the input as given ("-": stdin); borrowed */
	gboolean in_mbox;     /* from an mbox: offset is meaningful */
	gsize offset;         /* mbox: the byte offset of its From_ line */
	const char *name;     /* Maildir: "new/NAME" or "cur/NAME"; else NULL */
	const char *flags;    /* Maildir cur/: the flags after ":2,"; else NULL */
	const char *data;     /* the message (no From_ line, un-quoted) */
	gsize len;
	const char *from_sender; /* the From_ line's sender, or NULL */
	gboolean truncated;   /* mbox: the file seems cut inside this message */
	guint unquoted;       /* mbox: lines un-quoted */
	gboolean unread;      /* Maildir: data not read yet (sm_replay_input_load()) */
} SmReplayItem;

typedef enum {
	SM_REPLAY_ITEM,   /* *@item holds the next message (valid until the next call) */
	SM_REPLAY_ERROR,  /* an input could not be read: @error says which; go on */
	SM_REPLAY_END,
} SmReplayNext;

typedef struct SmReplayInput SmReplayInput;

/* @paths (borrowed, NULL-terminated) are read in order. Maildirs are listed
 * and file sizes taken now: what is added to them later is not replayed
 * (one may be the very mailbox the replay files into). */
SmReplayInput *sm_replay_input_new(char **paths, SmMboxFormat format);
void sm_replay_input_free(SmReplayInput *in);
SmReplayNext sm_replay_input_next(SmReplayInput *in, SmReplayItem *item, GError **error);

/* Reads the bytes of an item that is still unread (a Maildir file: read only
 * by the worker that replays it). FALSE with @error when it cannot. */
gboolean sm_replay_input_load(SmReplayInput *in, SmReplayItem *item, GError **error);

/* How many messages @paths hold (for the progress bar's ETA), or -1 when
 * that cannot be known without consuming the input (stdin). */
gint64 sm_replay_input_count(char **paths, SmMboxFormat format);

#endif
