/* meta.h: SpamAssassin meta rule expressions (scorer module only).
 *
 *   meta NAME  (__A && !__B) || __C + __D > 1 || (__E * 14) / 10 >= __F
 *
 * Operands: rule names (their hit count: 0 or 1, or the number of matches
 * for tflags multiple) and decimal numbers. Operators, by Perl precedence,
 * tightest first: unary ! - +; * /; + -; < <= > >=; == !=; &&; ||;
 * parentheses group. && and || give an operand's value as Perl does (1 || 5
 * is 1, 0 || 5 is 5); ! gives 0 or 1; comparisons 0 or 1; x/0 gives 0. The
 * rule hits when the value is not 0.
 *
 * Names may be used before they are defined: a meta is parsed alone, its
 * names are bound to hit slots once every rule is known (sm_meta_bind()).
 */
#ifndef SM_META_H
#define SM_META_H

#include <glib.h>

/* A slot for a name that is not a rule that runs (see sm_meta_eval()). */
#define SM_META_UNKNOWN G_MAXUINT

typedef struct SmMeta SmMeta;

/* Parses @expr. NULL with @error (saying where) when it is not an expression. */
SmMeta *sm_meta_parse(const char *expr, GError **error);
void sm_meta_free(SmMeta *m);

/* The distinct rule names of @m, in order of first use (char *, owned by @m). */
const GPtrArray *sm_meta_names(const SmMeta *m);

/* Binds name i of sm_meta_names() to hits[@slots[i]]; SM_META_UNKNOWN for a
 * name that is not a rule that runs. */
void sm_meta_bind(SmMeta *m, const guint *slots);

/* TRUE when a bound name is SM_META_UNKNOWN. */
gboolean sm_meta_has_unknown(const SmMeta *m);

/* The value of @m over @hits (bound first), names bound to SM_META_UNKNOWN
 * counting as @unknown_value. */
double sm_meta_eval(const SmMeta *m, const guint *hits, double unknown_value);

#endif
