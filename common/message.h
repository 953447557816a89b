/* message.h: a spooled message as borrowed bytes plus an index of its header block.
 *
 * Contract: indexing never copies the message; every SmHeader is a view into the
 * caller's bytes, which must outlive the SmMessage. The header block ends at the
 * first empty line (LF or CRLF), or at the first line that is neither a header
 * field nor a continuation (that line then starts the body, as in RFC 5322
 * parsers that recover from broken input). No GMime here: this is the fast path.
 */
#ifndef SM_MESSAGE_H
#define SM_MESSAGE_H

#include <glib.h>

/* Headers beyond this many are not indexed (they stay in the stored bytes). */
#define SM_MESSAGE_MAX_HEADERS 10000

typedef struct {
	gsize off;      /* first byte of the field name */
	gsize name_len; /* length of the field name, without the colon */
	gsize len;      /* whole field, folded lines and final newline included */
} SmHeader;

typedef struct {
	const char *data; /* borrowed: the message, without any mbox "From " line */
	gsize len;
	gsize body_off;   /* first byte of the body; == len when there is none */
	GArray *headers;  /* of SmHeader, in message order; owned */
} SmMessage;

void sm_message_index(SmMessage *m, const char *data, gsize len);
void sm_message_clear(SmMessage *m);

/* Finds the next header called @name (case-insensitive), starting at *@pos and
 * leaving *@pos just after it; start with *@pos = 0. NULL when there is none. */
const SmHeader *sm_message_next(const SmMessage *m, const char *name, guint *pos);

/* What goes between header @fields put in front of @m and @m itself: "\n",
 * ending the header block, when there are fields and @m's first line starts
 * with white space (it would continue the last of them); else "". Every
 * place that prepends fields to a message asks this, once, last. */
const char *sm_message_fields_end(const SmMessage *m, const char *fields);

/* The value of @h unfolded (CR/LF removed, folds turned into one space) and
 * trimmed; NUL bytes become spaces. Newly allocated. */
char *sm_header_value(const SmMessage *m, const SmHeader *h);

/* Convenience: value of the first header called @name, or NULL. Newly allocated. */
char *sm_message_get(const SmMessage *m, const char *name);

/* The bare address inside a header value ("Fred <fred@x>" -> "fred@x"), lowercased
 * domain untouched; the first address when several. Newly allocated, or NULL. */
char *sm_address_extract(const char *value);

#endif
