/* regex.h: the one place that talks to PCRE2. Patterns are compiled with UTF
 * checks off (mail is not always valid UTF-8) and JIT-compiled on request.
 * An SmRegex keeps its own match data, so it is not for use by two threads. */
#ifndef SM_REGEX_H
#define SM_REGEX_H

#include <glib.h>

typedef struct SmRegex SmRegex;

enum {
	SM_REGEX_CASELESS  = 1 << 0,
	SM_REGEX_MULTILINE = 1 << 1,
	SM_REGEX_DOTALL    = 1 << 2,
	SM_REGEX_EXTENDED  = 1 << 3,
	/* JIT-compile: pays ~0.1 ms once to make every match faster. Worth it for
	 * rules run on every message scored; not for a config regex matched once
	 * per delivery. */
	SM_REGEX_JIT       = 1 << 4,
};

#define SM_REGEX_ERROR (sm_regex_error_quark())
GQuark sm_regex_error_quark(void);

/* Returns a new regex, or NULL with @error naming the offset of the problem. */
SmRegex *sm_regex_new(const char *pattern, guint flags, GError **error);
void sm_regex_free(SmRegex *re);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SmRegex, sm_regex_free)

/* TRUE when @re matches somewhere in @subject. A match error (e.g. a
 * backtracking limit) counts as no match. */
gboolean sm_regex_match(SmRegex *re, const char *subject, gsize len);

/* Finds the first match of @re in @subject[@start, @len): TRUE with its
 * bounds in *@match_start and *@match_end (either may be NULL). */
gboolean sm_regex_find(SmRegex *re, const char *subject, gsize len, gsize start,
                       gsize *match_start, gsize *match_end);

/* JIT-compiles @re now if it was made without SM_REGEX_JIT (a no-op when
 * done already or when the platform refuses). */
void sm_regex_jit(SmRegex *re);

/* The compiled form of @re as bytes (PCRE2's serialization: no JIT code),
 * newly allocated into *@out and *@len; FALSE when PCRE2 refuses. Valid only
 * for the same PCRE2 version on the same kind of machine. */
gboolean sm_regex_serialize(const SmRegex *re, guint8 **out, gsize *len);

/* A regex from sm_regex_serialize()'s bytes, without compiling; NULL with
 * @error when they are not a serialized pattern of this PCRE2. PCRE2 checks
 * the framing only: the bytes must come from sm_regex_serialize() (verify
 * them first when they were stored). */
SmRegex *sm_regex_deserialize(const guint8 *bytes, gsize len, GError **error);

/* Matches and expands @replacement, where $0..$9 and ${N} name captures and $$ is a
 * dollar sign. Returns NULL when there is no match. Newly allocated. */
char *sm_regex_expand(SmRegex *re, const char *subject, const char *replacement);

/* Capture @n of the last successful match, or NULL. Newly allocated. */
char *sm_regex_capture(SmRegex *re, const char *subject, guint n);

#endif
