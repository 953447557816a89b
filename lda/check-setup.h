/* check-setup.h: `sortmail check` without --rules: the whole set-up of one
 * user checked before an MTA runs it (lda/check-setup.c). Internal to lda/. */
#ifndef SM_CHECK_SETUP_H
#define SM_CHECK_SETUP_H

#include <glib.h>

/* Exit statuses of `sortmail check`. */
#define SM_CHECK_OK       0 /* nothing found */
#define SM_CHECK_ERRORS   1 /* at least one error (warnings or not) */
#define SM_CHECK_WARNINGS 3 /* warnings only */

/* Checks the configuration at @config_path (NULL: ~/.sortmail/config), the
 * rule files and every template it uses, and the files and programs a
 * delivery under it needs; prints every finding to stdout as
 * "FILE:LINE: message" (errors) or "FILE[:LINE]: warning: message", then a
 * summary line. Writes nothing and sends nothing. Returns the exit status. */
int sm_check_setup(const char *config_path);

#endif
