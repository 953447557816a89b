/* check-priv.h: what the parts of `sortmail check` share (check-setup.c,
 * check-templates.c). Internal to lda/. */
#ifndef SM_CHECK_PRIV_H
#define SM_CHECK_PRIV_H

#include <glib.h>
#include "sortmail/sortmail.h"

/* What a check found, in the order found; each text at most once. */
typedef struct {
	GPtrArray *errors;   /* char *, "FILE:LINE: message"; owned */
	GPtrArray *warnings; /* char *, "FILE[:LINE]: warning: message"; owned */
	GHashTable *seen;    /* the texts of both, borrowed from them */
} SmFindings;

void sm_findings_init(SmFindings *f);
void sm_findings_clear(SmFindings *f);
/* "@where: message", or the message alone when @where is NULL (it then
 * names its place itself). */
void sm_findings_error(SmFindings *f, const char *where, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);
void sm_findings_warning(SmFindings *f, const char *where, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

/* Renders every template of the user's and the stock directory against a
 * sample message, and checks that every template a rule names exists.
 * Returns how many templates rendered. */
guint sm_check_templates(const SmConfig *c, SmFindings *f);

#endif
