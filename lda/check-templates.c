/* check-templates.c: the templates part of `sortmail check` (check-priv.h).
 *
 * Each template is rendered the way a reply would render it: by the reply
 * module, user directory first, with the variables of a built-in sample
 * message, so that a template error shows up now and not in the log of the
 * first delivery that needs it. The engine names a fault "NAME:LINE: ";
 * that is turned into the file's path, which is what an editor wants.
 */
#include "config.h"
#include "check-priv.h"
#include "templates/reply.h"
#include "templates/templates.h"

#include <string.h>
#include <sys/stat.h>

static const char sample_message[] =
	"Return-Path: <sender@example.org>\n"
	"From: \"Sample Sender\" <sender@example.org>\n"
	"To: \"You\" <you@example.com>\n"
	"Subject: A sample message to check templates\n"
	"Date: Mon, 02 Mar 2026 10:00:00 +0000\n"
	"Message-ID: <sample.check@example.org>\n"
	"MIME-Version: 1.0\n"
	"Content-Type: text/plain; charset=utf-8\n"
	"\n"
	"Hello,\n"
	"this message only exists to render templates against.\n";

static const char *stock_dir(void)
{
	const char *env = g_getenv("SORTMAIL_STOCK_TEMPLATES");
	return env && *env ? env : SM_PKGDATADIR "/templates";
}

static gboolean is_file(const char *dir, const char *name)
{
	if (!dir)
		return FALSE;
	g_autofree char *path = g_build_filename(dir, name, NULL);
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The path a template @name is read from, or NULL when there is none. */
static char *template_path(const SmConfig *c, const char *name)
{
	if (is_file(c->templates_dir, name))
		return g_build_filename(c->templates_dir, name, NULL);
	if (is_file(stock_dir(), name))
		return g_build_filename(stock_dir(), name, NULL);
	return NULL;
}

/* Adds the template names of @dir (files with valid names) to @names. */
static void list_dir(const char *dir, GHashTable *names)
{
	g_autoptr(GDir) d = dir ? g_dir_open(dir, 0, NULL) : NULL;
	const char *name;
	while (d && (name = g_dir_read_name(d)))
		if (sm_template_name_valid(name) && !g_str_has_suffix(name, "~") && is_file(dir, name))
			g_hash_table_add(names, g_strdup(name));
}

/* "NAME:LINE: message" -> "PATH:LINE: message" when NAME is a template. */
static void add_render_error(const SmConfig *c, const char *name, const char *message,
                             SmFindings *f)
{
	const char *colon = strchr(message, ':');
	g_autofree char *faulty = colon ? g_strndup(message, colon - message) : NULL;
	g_autofree char *path = faulty && sm_template_name_valid(faulty)
	                        ? template_path(c, faulty) : NULL;
	if (path) {
		sm_findings_error(f, NULL, "%s%s", path, colon);
		return;
	}
	g_autofree char *own = template_path(c, name);
	sm_findings_error(f, own ? own : name, "%s", message);
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every name a rule asks for must exist somewhere. */
static void check_rule_templates(const SmConfig *c, SmFindings *f)
{
	for (guint i = 0; i < c->rules->len; i++) {
		const SmRule *r = c->rules->pdata[i];
		g_autofree char *path = r->autorespond ? template_path(c, r->autorespond) : NULL;
		if (r->autorespond && !path)
			sm_findings_error(f, NULL, "%s:%u: template '%s' not found in %s nor %s", r->file,
			                  r->line, r->autorespond, c->templates_dir, stock_dir());
	}
}

static const char *sample_recipient(const SmConfig *c)
{
	for (guint i = 0; i < c->personal->len; i++) {
		const char *a = c->personal->pdata[i];
		if (a[0] != '@' && strchr(a, '@'))
			return a;
	}
	return "you@example.com";
}

guint sm_check_templates(const SmConfig *c, SmFindings *f)
{
	check_rule_templates(c, f);
	g_autoptr(GHashTable) set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	list_dir(c->templates_dir, set);
	list_dir(stock_dir(), set);
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	GHashTableIter it;
	gpointer key;
	g_hash_table_iter_init(&it, set);
	while (g_hash_table_iter_next(&it, &key, NULL))
		g_ptr_array_add(names, key);
	g_ptr_array_sort(names, compare_names);
	guint rendered = 0;
	for (guint i = 0; i < names->len; i++) {
		const char *name = names->pdata[i];
		SmReplyRequest req = {
			.data = sample_message, .len = sizeof sample_message - 1,
			.template_name = name,
			.user_dir = c->templates_dir,
			.recipient = sample_recipient(c),
			.sender = "sender@example.org",
			.from_address = sample_recipient(c),
			.score = "1.0",
			.message_id = "check.sortmail@example.com",
			.date = 1772445600,
		};
		SmReply reply;
		g_autoptr(GError) error = NULL;
		if (!sm_reply_build(&req, &reply, &error)) {
			if (g_error_matches(error, SM_REPLY_ERROR, SM_REPLY_ERROR_MODULE)) {
				sm_findings_error(f, "(reply module)", "%s; templates not checked",
				                  error->message);
				return rendered;
			}
			add_render_error(c, name, error->message, f);
			continue;
		}
		rendered++;
		g_autofree char *path = template_path(c, name);
		for (guint k = 0; k < reply.notes->len; k++)
			sm_findings_warning(f, path ? path : name, "%s", (char *)reply.notes->pdata[k]);
		sm_reply_clear(&reply);
	}
	return rendered;
}
