/* deliver-maildir-priv.h: the pieces of the Maildir backend (deliver-maildir.c)
 * that the batched replay path (maildir-batch.c) shares with it, so both name
 * files, check folders and link into new/ the same way. */
#ifndef SM_DELIVER_MAILDIR_PRIV_H
#define SM_DELIVER_MAILDIR_PRIV_H

#include <glib.h>
#include "backend.h"

/* The Maildir directory of @folder ("inbox": the root) under @box, created
 * and checked as store() does. Newly allocated; NULL with @error. */
char *sm_maildir_folder_dir(const SmMailbox *box, const char *folder, GError **error);

/* A new file in @dir/tmp under a unique name (O_EXCL), both returned
 * (newly allocated); the fd, or -1 with @error ("cannot create a file in"). */
int sm_maildir_open_tmp(const char *dir, gsize size, char **tmp_path, char **name,
                        GError **error);

/* Puts @from at @to without overwriting (link, or rename where links are not
 * supported) and removes @from. 0, or -1 + errno. */
int sm_maildir_link(const char *from, const char *to);

/* Sets @error from errno as "WHAT PATH: reason"; returns FALSE. */
gboolean sm_maildir_errno_error(GError **error, const char *what, const char *path);

#endif
