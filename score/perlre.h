/* perlre.h: Perl regex literals as SpamAssassin rules write them, turned into
 * something common/regex.h compiles (inside the scorer module only).
 *
 * Accepted: /re/flags, and m with any delimiter that is neither a letter, a
 * digit nor white space: m{re} m(re) m[re] m<re> (bracket pairs nest, as in
 * Perl), m!re!, m|re|, m,re, ... Flags: i m s x; o (compile once) and the
 * character-set flags a, aa, u, l, d are accepted and mean nothing here,
 * since PCRE2 matches bytes with ASCII semantics already.
 *
 * The pattern is handed to PCRE2 nearly unchanged: an escaped delimiter (\/ or
 * \}) is already a literal in PCRE2 syntax, and \Q..\E, possessive
 * quantifiers, atomic groups, \z \Z \A, (?i) and (?i:...) mean the same in
 * both. What is rewritten:
 *   - Perl-only letters in inline flag groups go: (?aa) (?^aa:...) (?u) ...
 *     (PCRE2 10.42 rejects them; they only pick Unicode rules for \d \w).
 *   - \x{HHHH} above 0xFF outside a character class becomes the UTF-8 bytes
 *     of that character, as a group: the rendering is UTF-8 and PCRE2 runs
 *     without UTF mode, where such a code point cannot be written.
 *   - \N{U+HHHH} is read as \x{HHHH} (then as above).
 *   - With SM_PERLRE_LINES, \A becomes ^ and \z \Z become $: the subject
 *     holds many paragraphs or lines, one per line, that Perl would have
 *     matched one by one (and multiline matching is on).
 */
#ifndef SM_PERLRE_H
#define SM_PERLRE_H

#include <glib.h>
#include "common/regex.h"

/* An option of sm_perlre_parse() (beside SM_REGEX_* flags): see above. */
#define SM_PERLRE_LINES (1u << 16)

/* Parses the literal at the start of @text. On success returns the PCRE2
 * pattern (newly allocated), sets *@flags to the SM_REGEX_* flags of the
 * literal plus those in @options, and points *@end just after the flags. On
 * failure NULL and @error says why. Nothing is compiled. */
char *sm_perlre_parse(const char *text, guint options, guint *flags, const char **end,
                      GError **error);

/* sm_perlre_parse() then sm_regex_new(), JIT-compiled. */
SmRegex *sm_perlre_compile(const char *text, guint extra_flags, const char **end,
                           GError **error);

#endif
