/* config-list.c: one "list" line of the configuration, a lightweight list for
 * the rule action "rebroadcast NAME" (see sortmail.conf(5)).
 *
 *   list NAME members FILE bounce ADDRESS post ADDRESS
 *        [moderators FILE] [id LIST-ID] [tag TEXT] [hold FOLDER]
 *
 * Contract: a list that parses is complete and safe to use as it is: every
 * value that ends up in a header (id, post address, tag) or on sendmail's
 * command line (bounce address) is checked here, so the delivery never writes
 * a header line that the configuration could break. Names are unique. The
 * files are only named here; lda/rebroadcast.c reads them at delivery time,
 * so editing a members file needs no configuration change.
 */
#include "config.h"
#include "sortmail/config-priv.h"

#include <string.h>

#define LIST_NAME_MAX 64
#define LIST_TAG_MAX 64
#define LIST_ID_MAX 200

void sm_list_free(SmList *l)
{
	if (!l)
		return;
	g_free(l->name);
	g_free(l->file);
	g_free(l->members);
	g_free(l->moderators);
	g_free(l->bounce);
	g_free(l->post);
	g_free(l->id);
	g_free(l->tag);
	g_free(l->hold);
	g_free(l);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SmList, sm_list_free)

const SmList *sm_config_find_list(const SmConfig *c, const char *name)
{
	for (guint i = 0; c->lists && i < c->lists->len; i++) {
		const SmList *l = c->lists->pdata[i];
		if (strcmp(l->name, name) == 0)
			return l;
	}
	return NULL;
}

static gboolean name_valid(const char *s)
{
	gsize len = strlen(s);
	if (len == 0 || len > LIST_NAME_MAX)
		return FALSE;
	for (const char *q = s; *q; q++)
		if (!g_ascii_isalnum(*q) && !strchr("._-", *q))
			return FALSE;
	return TRUE;
}

/* RFC 2919: the id is a dot-atom with at least one dot (label.namespace). */
static gboolean id_valid(const char *s)
{
	gsize len = strlen(s);
	if (len == 0 || len > LIST_ID_MAX || s[0] == '.' || s[len - 1] == '.' ||
	    !strchr(s, '.') || strstr(s, ".."))
		return FALSE;
	for (const char *q = s; *q; q++)
		if (!g_ascii_isalnum(*q) && !strchr("!#$%&'*+/=?^_`{|}~.-", *q))
			return FALSE;
	return TRUE;
}

/* Printable ASCII, no leading or trailing space: it goes into Subject as is. */
static gboolean tag_valid(const char *s)
{
	gsize len = strlen(s);
	if (len == 0 || len > LIST_TAG_MAX || s[0] == ' ' || s[len - 1] == ' ')
		return FALSE;
	for (const char *q = s; *q; q++)
		if ((guchar)*q < 0x20 || (guchar)*q >= 0x7f)
			return FALSE;
	return TRUE;
}

/* "announce@example.org" -> "announce.example.org". */
static char *default_id(const char *post)
{
	char *id = g_strdup(post);
	*strrchr(id, '@') = '.';
	return id;
}

static gboolean set_once(SmConfigParser *p, char **slot, char *value, const char *item,
                         GError **error)
{
	if (*slot) {
		g_free(value);
		return sm_config_fail(p, error, "'%s' given twice", item);
	}
	*slot = value;
	return TRUE;
}

/* One "ITEM VALUE" pair into @l. */
static gboolean list_item(SmConfigParser *p, SmList *l, const char *item, const char *arg,
                          GError **error)
{
	if (strcmp(item, "members") == 0 || strcmp(item, "moderators") == 0) {
		char *path = sm_config_path(p, arg);
		if (!path)
			return sm_config_fail(p, error, "'%s' needs a file name", item);
		return set_once(p, item[1] == 'e' ? &l->members : &l->moderators, path, item,
		                error);
	}
	if (strcmp(item, "bounce") == 0 || strcmp(item, "post") == 0) {
		if (!sm_address_is_plain(arg))
			return sm_config_fail(p, error, "bad %s address '%s'", item, arg);
		return set_once(p, item[0] == 'b' ? &l->bounce : &l->post, g_strdup(arg), item,
		                error);
	}
	if (strcmp(item, "id") == 0) {
		if (!id_valid(arg))
			return sm_config_fail(p, error, "bad list id '%s' (like "
			                      "announce.example.org)", arg);
		return set_once(p, &l->id, g_strdup(arg), item, error);
	}
	if (strcmp(item, "tag") == 0) {
		if (!tag_valid(arg))
			return sm_config_fail(p, error, "bad subject tag '%s' (printable ASCII, "
			                      "at most %d characters)", arg, LIST_TAG_MAX);
		return set_once(p, &l->tag, g_strdup(arg), item, error);
	}
	if (strcmp(item, "hold") == 0) {
		if (!sm_folder_name_valid(arg))
			return sm_config_fail(p, error, "bad folder name '%s'", arg);
		return set_once(p, &l->hold, g_strdup(sm_folder_is_inbox(arg) ? "inbox" : arg),
		                item, error);
	}
	return sm_config_fail(p, error, "unknown list item '%s'", item);
}

gboolean sm_config_parse_list(SmConfigParser *p, char **args, guint n, GError **error)
{
	g_autoptr(SmList) l = g_new0(SmList, 1);
	if (!name_valid(args[0]))
		return sm_config_fail(p, error, "bad list name '%s' (letters, digits, '.', '_', "
		                      "'-')", args[0]);
	if (sm_config_find_list(p->c, args[0]))
		return sm_config_fail(p, error, "list '%s' defined twice", args[0]);
	l->name = g_strdup(args[0]);
	l->file = g_strdup(p->file);
	l->line = p->line;
	for (guint i = 1; i < n; i += 2) {
		if (i + 1 >= n)
			return sm_config_fail(p, error, "'%s' needs an argument", args[i]);
		if (!list_item(p, l, args[i], args[i + 1], error))
			return FALSE;
	}
	const char *missing = !l->members ? "members" : !l->bounce ? "bounce"
	                    : !l->post ? "post" : NULL;
	if (missing)
		return sm_config_fail(p, error, "list '%s' needs '%s'", l->name, missing);
	if (!l->id)
		l->id = default_id(l->post);
	if (!id_valid(l->id))
		return sm_config_fail(p, error, "list '%s': the post address makes the bad list "
		                      "id '%s'; give one with 'id'", l->name, l->id);
	if (!l->hold)
		l->hold = g_strdup("held");
	g_ptr_array_add(p->c->lists, g_steal_pointer(&l));
	return TRUE;
}
