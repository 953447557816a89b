/* render-priv.h: what render.c, render-hdr.c and relays.c share about one
 * rendering (see render.h for the views themselves). */
#ifndef SM_RENDER_PRIV_H
#define SM_RENDER_PRIV_H

#include <gmime/gmime.h>
#include "common/message.h"
#include "score/render.h"

/* The four X-Spam-Relays-* pseudo-headers. */
typedef enum {
	SM_RELAYS_TRUSTED,
	SM_RELAYS_UNTRUSTED,
	SM_RELAYS_INTERNAL,
	SM_RELAYS_EXTERNAL,
	SM_RELAYS_N
} SmRelaysKind;

struct SmRender {
	SmMessage msg;         /* header index over the borrowed bytes */
	GByteArray borrowed;   /* the borrowed bytes seen as an array, never resized */
	GMimeStream *stream;   /* reads @borrowed; GMime parts keep views into it */
	GMimeMessage *mime;    /* NULL when GMime could not parse the message */
	GPtrArray *parts;      /* GMimePart *, the text parts in MIME order (borrowed
	                        * from @mime); NULL until needed */
	GString *body;         /* NULL until sm_render_body() */
	gsize subject_len;     /* of @body */
	GPtrArray *html_uris;  /* char *, from HTML attributes, filled with @body */
	GString *rawbody;      /* NULL until sm_render_rawbody() */
	GPtrArray *uris;       /* NULL until sm_render_uris() */
	char *relays[SM_RELAYS_N]; /* NULL until asked (relays.c) */
	gboolean relays_done;
};

/* The RFC 2047-decoded, unfolded value of @h, appended to @out. */
void sm_render_append_decoded(GString *out, const SmMessage *m, const SmHeader *h);

/* Turns every CR and LF of @s (decoded text: an encoded word may hold
 * "=0D=0A") into a space, in place: one field's value, or one name, stays on
 * its line, so no header can forge a field in ALL or a second value. */
void sm_render_one_line(char *s);

/* relays.c: the X-Spam-Relays-* pseudo-header @kind of @r; "" when there is no
 * relay of that kind. Owned by @r. */
const char *sm_relays_header(SmRender *r, SmRelaysKind kind);

#endif
