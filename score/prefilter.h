/* prefilter.h: skipping regexes that cannot match, without running them
 * (scorer module only).
 *
 * Most spam rules look for words: /\bnext[-\s]of[-\s]kin\b/ cannot match a
 * text that does not contain "next" and "kin". At load time each pattern is
 * read (not compiled) for a set of literal strings such that every match
 * contains at least one of them; at scoring time a rule whose strings are
 * all absent from the text is not run, nor even compiled. Absence is judged
 * from the text's trigrams (a string is possibly present when all its
 * three-byte windows occur in the text), so the test can only err towards
 * running a rule, never skip one that would match.
 *
 * Comparisons ignore ASCII case whatever the pattern's flags (PCRE2 without
 * UTF folds nothing else). A pattern the analysis does not follow (x flag,
 * backreferences, a construct it does not know, more than 8 KB) gets no
 * strings and always runs, as does one whose best strings are shorter than
 * three bytes.
 */
#ifndef SM_PREFILTER_H
#define SM_PREFILTER_H

#include <glib.h>

/* For PCRE2 @pattern compiled with SM_REGEX_* @flags: the literals (strings,
 * ASCII-lowercased, at least 3 bytes each), one of which every match
 * contains, NULL-terminated; NULL when there is no such set worth testing.
 * Free with g_strfreev(). */
char **sm_prefilter_literals(const char *pattern, guint flags);

/* The trigrams of one text. */
typedef struct SmTrigrams SmTrigrams;

SmTrigrams *sm_trigrams_new(const char *text, gsize len);
void sm_trigrams_free(SmTrigrams *t);

/* FALSE when no string of @literals can occur in the text of @t. */
gboolean sm_trigrams_may_contain(const SmTrigrams *t, char *const *literals);

/* The same test straight on a (short) text: a case-insensitive search. */
gboolean sm_text_may_contain(const char *text, gsize len, char *const *literals);

/* The same on a text already ASCII-lowercased (sm_prefilter_lower()): a
 * plain substring search, several times faster, for a text tested against
 * many rules (a header). */
gboolean sm_lowered_may_contain(const char *lowered, gsize len, char *const *literals);

/* @text with ASCII A-Z lowercased, the prefilter's case folding; newly
 * allocated, NUL-terminated (NULs inside are kept: @len counts). */
char *sm_prefilter_lower(const char *text, gsize len);

#endif
