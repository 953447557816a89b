/* reply-module.c: the entry of the reply module (sortmail-reply.so, see
 * reply.h): the template's variables from the incoming message, the render,
 * then reply-build.c.
 *
 * The variables are those of sortmail-templates(5). Header variables are
 * decoded here, with GMime's RFC 2047 decoder, from the raw values of the
 * header index that common/ made (the message is not parsed as MIME: a reply
 * needs its headers only, and a 50 MB attachment costs nothing). They are
 * looked up lazily, so a template that uses three headers decodes three.
 */
#include "config.h"
#include "templates/reply-priv.h"

#include <gmime/gmime.h>
#include <string.h>

G_DEFINE_QUARK(sm-reply-error-quark, sm_reply_error)

static void init_gmime(void)
{
	static gsize done;
	if (g_once_init_enter(&done)) {
		g_mime_init();
		g_once_init_leave(&done, 1);
	}
}

char *sm_reply_decoded_header(const SmMessage *m, const char *name)
{
	g_autofree char *raw = sm_message_get(m, name);
	if (!raw)
		return NULL;
	g_autofree char *decoded = g_mime_utils_header_decode_text(NULL, raw);
	return g_utf8_make_valid(decoded ? decoded : raw, -1);
}

/* ---- variables ------------------------------------------------------------ */

typedef struct {
	const SmMessage *m;
	GHashTable *vars; /* the fixed ones; see sm_template_vars_new() */
} Vars;

#define MSG_HEADER "msg.header."

static char *lookup(const char *name, gpointer user)
{
	Vars *v = user;
	if (g_str_has_prefix(name, MSG_HEADER) && name[strlen(MSG_HEADER)])
		return sm_reply_decoded_header(v->m, name + strlen(MSG_HEADER));
	return sm_template_vars_lookup(name, v->vars);
}

static void set_var(GHashTable *vars, const char *name, const char *value)
{
	if (!value)
		return;
	g_autofree char *valid = g_utf8_make_valid(value, -1);
	sm_template_vars_set(vars, name, valid);
}

static void set_header_var(GHashTable *vars, const SmMessage *m, const char *var,
                           const char *header, gboolean decode)
{
	g_autofree char *value = decode ? sm_reply_decoded_header(m, header)
	                                : sm_message_get(m, header);
	set_var(vars, var, value);
}

static GHashTable *fixed_vars(const SmReplyRequest *req, const SmMessage *m)
{
	GHashTable *vars = sm_template_vars_new();
	set_var(vars, "to", req->recipient);
	set_var(vars, "sender", req->sender);
	set_var(vars, "verdict.score", req->score);
	set_header_var(vars, m, "from", "From", TRUE);
	set_header_var(vars, m, "subject", "Subject", TRUE);
	/* Identifiers and dates are shown as written. */
	set_header_var(vars, m, "message_id", "Message-ID", FALSE);
	set_header_var(vars, m, "date", "Date", FALSE);
	return vars;
}

static const char *stock_dir(const SmReplyRequest *req)
{
	if (req->stock_dir)
		return req->stock_dir;
	const char *env = g_getenv("SORTMAIL_STOCK_TEMPLATES");
	return env && *env ? env : NULL;
}

/* ---- the entry ------------------------------------------------------------ */

static gboolean build(const SmReplyRequest *req, SmReply *out, GError **error)
{
	init_gmime();
	SmMessage m;
	sm_message_index(&m, req->data ? req->data : "", req->data ? req->len : 0);
	Vars v = { .m = &m, .vars = fixed_vars(req, &m) };
	SmTemplateSource src = {
		.user_dir = req->user_dir,
		.stock_dir = stock_dir(req),
		.lookup = lookup,
		.lookup_data = &v,
	};
	GError *render_error = NULL;
	g_autoptr(SmTemplateResult) t = sm_template_render(&src, req->template_name,
	                                                   &render_error);
	gboolean ok = FALSE;
	if (!t) {
		g_set_error_literal(error, SM_REPLY_ERROR, SM_REPLY_ERROR_TEMPLATE,
		                    render_error->message);
		g_error_free(render_error);
	} else {
		ok = sm_reply_compose(req, &m, t, out, error);
	}
	g_hash_table_unref(v.vars);
	sm_message_clear(&m);
	return ok;
}

/* The one exported symbol. */
G_MODULE_EXPORT const SmReplyModule sm_reply_module_v1 = {
	.abi = SM_REPLY_MODULE_ABI,
	.build = build,
};
