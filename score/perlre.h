/* perlre.h: Perl regex literals as SpamAssassin rules write them, turned into
 * something common/regex.h compiles (inside the scorer module only).
 *
 * Accepted: /re/flags, and m with any delimiter that is neither a letter, a
 * digit nor white space: m{re} m(re) m[re] m<re> (bracket pairs nest, as in
 * Perl), m!re!, m|re|, m,re, ... Flags: i m s x (o is accepted and means
 * nothing here). The pattern text is handed to PCRE2 unchanged: an escaped
 * delimiter (\/ or \}) is already a literal in PCRE2 syntax.
 */
#ifndef SM_PERLRE_H
#define SM_PERLRE_H

#include <glib.h>
#include "common/regex.h"

/* Parses the literal at the start of @text. On success returns a compiled
 * regex (SM_REGEX_* flags from the literal, plus @extra_flags) and points *@end
 * just after the flags. On failure NULL and @error says why. */
SmRegex *sm_perlre_compile(const char *text, guint extra_flags, const char **end,
                           GError **error);

#endif
