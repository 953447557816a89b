/* reply-loader.c: the program's side of the reply builder (see reply.h).
 *
 * Linked into sortmail, so it must stay cheap: no GMime here. The first
 * sm_reply_build() dlopen()s the module and keeps it for the life of the
 * process (one delivery sends at most one reply; replay may send several).
 * As with the scorer (score/loader.c), the module is never dlclose()d: it
 * registers GMime's GObject types, which cannot be unregistered. A failure to
 * load is remembered per module path and returned again without retrying.
 */
#include "config.h"
#include "templates/reply.h"

#include "common/module.h"

G_DEFINE_QUARK(sm-reply-error-quark, sm_reply_error)

/* The loaded module; the one deliberate global of the loader (dlopen()'s
 * handles are process-wide anyway). */
static struct {
	char *path;
	const SmReplyModule *module;
	GError *error;
} loaded;

static const char *module_path(const SmReplyRequest *req)
{
	return sm_module_path(req->module_path, "SORTMAIL_REPLY_MODULE",
	                      SM_PKGLIBDIR "/sortmail-reply.so");
}

static const SmReplyModule *open_module(const char *path, GError **error)
{
	g_autofree char *why = NULL;
	const SmReplyModule *mod = sm_module_symbol(path, SM_REPLY_MODULE_SYMBOL, "reply", &why);
	if (!mod) {
		g_set_error_literal(error, SM_REPLY_ERROR, SM_REPLY_ERROR_MODULE, why);
		return NULL;
	}
	if (mod->abi != SM_REPLY_MODULE_ABI || !mod->build) {
		g_set_error(error, SM_REPLY_ERROR, SM_REPLY_ERROR_MODULE,
		            "reply module %s has ABI %d, this sortmail needs %d", path, mod->abi,
		            SM_REPLY_MODULE_ABI);
		return NULL;
	}
	return mod;
}

static const SmReplyModule *ensure_loaded(const char *path, GError **error)
{
	if (!loaded.path || g_strcmp0(loaded.path, path) != 0) {
		if (loaded.module && !loaded.error) {
			/* One module per process: the first one loaded stays. */
			return loaded.module;
		}
		g_clear_error(&loaded.error);
		g_free(loaded.path);
		loaded.path = g_strdup(path);
		loaded.module = open_module(path, &loaded.error);
	}
	if (loaded.module)
		return loaded.module;
	g_propagate_error(error, g_error_copy(loaded.error));
	return NULL;
}

gboolean sm_reply_build(const SmReplyRequest *req, SmReply *out, GError **error)
{
	*out = (SmReply){ 0 };
	const SmReplyModule *mod = ensure_loaded(module_path(req), error);
	if (!mod)
		return FALSE;
	if (!mod->build(req, out, error)) {
		sm_reply_clear(out);
		return FALSE;
	}
	if (!out->notes)
		out->notes = g_ptr_array_new_with_free_func(g_free);
	return TRUE;
}

void sm_reply_clear(SmReply *r)
{
	g_free(r->data);
	if (r->notes)
		g_ptr_array_free(r->notes, TRUE);
	*r = (SmReply){ 0 };
}
