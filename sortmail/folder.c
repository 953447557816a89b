/* folder.c: which folder names may be used (see sortmail.h).
 *
 * Contract: a valid name, joined to the mailbox root by either backend
 * (Maildir++ "ROOT/.NAME", mbox "ROOT/NAME"), names something inside the root:
 * no '/', no "..", no leading dot (which would let ".." or a Maildir's own
 * "cur"/"new"/"tmp" siblings be reached), no control characters (which would
 * end up in log lines and IMAP listings). '.' inside a name is the Maildir++
 * hierarchy separator ("lists.perl" is the folder "perl" under "lists").
 * Names ending in ".lock" are refused too: for mbox they would be the dotlock
 * of another folder, which stale-lock handling may remove.
 */
#include "config.h"
#include "sortmail/sortmail.h"

#include <string.h>

#define FOLDER_NAME_MAX 200

gboolean sm_folder_name_valid(const char *name)
{
	if (!name || !*name)
		return FALSE;
	gsize len = strlen(name);
	if (len > FOLDER_NAME_MAX)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		guchar c = (guchar)name[i];
		if (c < 0x20 || c == 0x7f || c == '/')
			return FALSE;
	}
	if (name[0] == '.' || name[len - 1] == '.' || strstr(name, ".."))
		return FALSE;
	if (len >= 5 && g_ascii_strcasecmp(name + len - 5, ".lock") == 0)
		return FALSE;
	return TRUE;
}

gboolean sm_folder_is_inbox(const char *name)
{
	return name && g_ascii_strcasecmp(name, "inbox") == 0;
}

char *sm_folder_path(const SmConfig *c, const char *folder)
{
	if (c->format == SM_FORMAT_MBOX)
		return sm_folder_is_inbox(folder) ? g_strdup(c->mbox_inbox)
		                                  : g_build_filename(c->mailbox_root, folder, NULL);
	if (sm_folder_is_inbox(folder))
		return g_strdup(c->mailbox_root);
	g_autofree char *dotted = g_strconcat(".", folder, NULL);
	return g_build_filename(c->mailbox_root, dotted, NULL);
}
