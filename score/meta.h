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

/* Slots for names that are not rules that run (see sm_meta_eval()): a rule
 * whose value is not known, and one that is taken to be 0. */
#define SM_META_UNKNOWN G_MAXUINT
#define SM_META_ZERO (G_MAXUINT - 1)

typedef struct SmMeta SmMeta;

/* Parses @expr. NULL with @error (saying where) when it is not an expression. */
SmMeta *sm_meta_parse(const char *expr, GError **error);
void sm_meta_free(SmMeta *m);

/* The distinct rule names of @m, in order of first use (char *, owned by @m). */
const GPtrArray *sm_meta_names(const SmMeta *m);

/* Binds name i of sm_meta_names() to hits[@slots[i]], or to one of the
 * slots above. */
void sm_meta_bind(SmMeta *m, const guint *slots);

/* TRUE when a bound name is SM_META_UNKNOWN. */
gboolean sm_meta_has_unknown(const SmMeta *m);

/* The value of the rule in @slot (a hit count), asked for only when the
 * expression needs it. */
typedef double (*SmMetaValue)(gpointer user, guint slot);

/* The value of @m (bound first), each bound name's from @value, names bound
 * to SM_META_UNKNOWN counting as @unknown_value, those bound to SM_META_ZERO
 * as 0. The right operand of && and || is not evaluated when the left one
 * decides. */
double sm_meta_eval(const SmMeta *m, SmMetaValue value, gpointer user, double unknown_value);

/* For the rule cache (rulecache.h): @m, bound, appended to @out; and read
 * back from @in, its slots checked against @n_rules (NULL when malformed).
 * A meta read back is bound and has no names (sm_meta_names() is empty). */
struct SmRcReader;
void sm_meta_save(const SmMeta *m, GByteArray *out);
SmMeta *sm_meta_restore(struct SmRcReader *in, guint n_rules);

#endif
