/* reply.h: the face of the reply builder: from an incoming message and a
 * template, the complete automatic reply (headers and body), ready for
 * sendmail.
 *
 * The builder lives in a module loaded on demand (sortmail-reply.so) because
 * it needs GMime, whose start-up a delivery that sends no reply must not pay.
 * templates/reply-loader.c (linked into the program) implements
 * sm_reply_build() by loading the module on first use; the module renders the
 * template (this folder's engine) with the variables of sortmail-templates(5),
 * decoding the incoming headers (RFC 2047, 8-bit) with GMime, and builds the
 * reply with GMime.
 *
 * Contract of the reply:
 * - To: @sender; From: @from_address, with the display name the template set
 *   in head.From (ignored when it holds '@' or '<'); Subject: head.Subject,
 *   else "Auto: " and the incoming subject; Date; a fresh Message-ID;
 *   In-Reply-To and References from the incoming Message-ID (and References);
 *   Auto-Submitted: auto-replied; MIME-Version, text/plain; charset=utf-8,
 *   7bit or quoted-printable. Non-ASCII header text is RFC 2047 encoded (UTF-8).
 * - Of the headers the template sets, only Subject, From (display name),
 *   Reply-To, Organization, Content-Language and X-* are used; the others are
 *   named in @notes.
 * - Every value that comes from the incoming message or the template has its
 *   CR, LF and other control characters removed, and the finished header
 *   block is checked to consist of exactly the fields written here: no value
 *   can add a header field, ever.
 * A template error fails the build (SM_REPLY_ERROR_TEMPLATE, the message is
 * the engine's "NAME:LINE: ..."): there is no half-built reply.
 */
#ifndef SM_REPLY_H
#define SM_REPLY_H

#include <glib.h>

#define SM_REPLY_ERROR (sm_reply_error_quark())
GQuark sm_reply_error_quark(void);

typedef enum {
	SM_REPLY_ERROR_MODULE,   /* the module cannot be loaded or is the wrong one */
	SM_REPLY_ERROR_TEMPLATE, /* the template is missing or broken */
	SM_REPLY_ERROR_BUILD,    /* the reply cannot be built (bad address, ...) */
} SmReplyErrorCode;

/* All borrowed for the duration of the call. */
typedef struct {
	const char *module_path;   /* NULL: $SORTMAIL_REPLY_MODULE or the installed one */
	const char *data;          /* the incoming message, headers and body */
	gsize len;
	const char *template_name; /* valid as sm_template_name_valid() says */
	const char *user_dir;      /* ~/.sortmail/templates; NULL: none */
	const char *stock_dir;     /* NULL: $SORTMAIL_STOCK_TEMPLATES or the installed ones */
	const char *recipient;     /* the original recipient: the variable "to" */
	const char *sender;        /* the envelope sender: "sender", and the reply's To: */
	const char *from_address;  /* the reply's From: address */
	const char *score;         /* "verdict.score" ("2.5"); NULL when not scored */
	/* Fixed for tests; NULL/0: a fresh Message-ID, the current time. */
	const char *message_id;    /* without angle brackets */
	gint64 date;               /* unix seconds, shown in the local time zone */
} SmReplyRequest;

typedef struct {
	char *data;        /* the reply, LF line ends; owned */
	gsize len;
	GPtrArray *notes;  /* char *, one line each: template headers not used; owned */
} SmReply;

/* Builds the reply into @out (cleared with sm_reply_clear()). */
gboolean sm_reply_build(const SmReplyRequest *req, SmReply *out, GError **error);
void sm_reply_clear(SmReply *r);

/* ---- the module's side ------------------------------------------------- */

#define SM_REPLY_MODULE_SYMBOL "sm_reply_module_v1"
#define SM_REPLY_MODULE_ABI 1

typedef struct {
	int abi; /* SM_REPLY_MODULE_ABI */
	/* @out is zeroed by the caller; on failure the module leaves it empty. */
	gboolean (*build)(const SmReplyRequest *req, SmReply *out, GError **error);
} SmReplyModule;

#endif
