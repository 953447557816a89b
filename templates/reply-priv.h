/* reply-priv.h: internal to the reply module (sortmail-reply.so): what
 * reply-module.c (variables, rendering) and reply-build.c (the message, with
 * GMime) share. Nothing outside the module includes it. */
#ifndef SM_REPLY_PRIV_H
#define SM_REPLY_PRIV_H

#include "common/message.h"
#include "templates/reply.h"
#include "templates/templates.h"

/* At most this many bytes of any one header value we write (longer ones are
 * cut at a character boundary; a header is not a place for a letter). */
#define SM_REPLY_MAX_HEADER 2000

/* @s made fit for a header value: valid UTF-8, every CR and LF removed, other
 * control characters (tab included) turned into spaces, "=?" made "= ?" (see
 * reply-build.c), leading and trailing space dropped, at most
 * SM_REPLY_MAX_HEADER bytes. Newly allocated. */
char *sm_reply_clean_value(const char *s);

/* The incoming header @name (first of that name), unfolded and decoded
 * (RFC 2047, 8-bit text in UTF-8 or a fallback charset) to valid UTF-8; NULL
 * when there is none. Control characters are kept: the template may put them
 * in the body; the header writer removes them. Newly allocated. */
char *sm_reply_decoded_header(const SmMessage *m, const char *name);

/* Builds the reply of @req to @in from the rendered template @t into @out
 * (LF line ends), adding a line to @notes for each template header not used.
 * The result is checked (see reply.h) before it is returned. */
gboolean sm_reply_compose(const SmReplyRequest *req, const SmMessage *in,
                          const SmTemplateResult *t, SmReply *out, GError **error);

#endif
