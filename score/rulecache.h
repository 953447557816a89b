/* rulecache.h: the rule set kept on disk between deliveries (scorer module
 * only).
 *
 * Reading Debian's SpamAssassin rules takes a delivery tens of
 * milliseconds: the files are parsed, ReplaceTags expanded, the regexes
 * analysed for the prefilter and compiled. The rule cache keeps the result
 * of all that: the finished rule set (rules.h) and every regex in PCRE2's
 * serialized form, so a delivery maps one file, rebuilds the rule table and
 * decodes only the regexes its message needs (match.c). JIT code cannot be
 * stored; it is made on use as without a cache.
 *
 * The cache is an optimisation and never a reason to fail or to score
 * differently. It is used only when all of this holds, else the rules are
 * read from their files as without it:
 *   - the key matches: sm_scorer_fingerprint() (module, threshold,
 *     settings, the rule files and directories named), this module build
 *     and the PCRE2 version;
 *   - every file read when it was built, includes too, still has the size,
 *     mtime and inode it had;
 *   - the file is a regular file owned by this user, writable by nobody
 *     else, in a directory owned by this user;
 *   - its table passes a checksum (each stored regex has its own, checked
 *     when it is decoded) and every index in it is in range.
 * It is written after the rules were read from their files (every regex is
 * then compiled, to be stored), 0600, through a temporary file renamed over
 * the old one, so a reader sees a whole file or none (temporary files
 * that a killed writer left are removed by the next writer after ten
 * minutes). Failing to write it (no directory, not ours, disk full) is
 * silent: the next delivery reads the files again.
 */
#ifndef SM_RULECACHE_H
#define SM_RULECACHE_H

#include <glib.h>
#include "score/rules.h"

/* A rule set from the cache at @path for @key, or NULL (missing, stale,
 * not ours, corrupt: see above). */
SmRuleSet *sm_rule_cache_load(const char *path, const char *key, guint score_set);

/* Stores @set (as sm_rules_load() left it: compiles and analyses every
 * regex now) at @path for @key. Best effort: FALSE when not written. */
gboolean sm_rule_cache_save(SmRuleSet *set, const char *path, const char *key);

/* ---- the encoding (rcencode.c), shared with meta.c ---------------------------- */

/* The length that stands for a NULL string. */
#define SM_RC_NO_STRING G_MAXUINT32

/* Reading: every get past the end or of a bad value sets bad and returns 0. */
typedef struct SmRcReader {
	const guint8 *p, *end;
	gboolean bad;
} SmRcReader;

void sm_rc_put_u32(GByteArray *out, guint32 v);
void sm_rc_put_u64(GByteArray *out, guint64 v);
void sm_rc_put_f64(GByteArray *out, double v);
void sm_rc_put_str(GByteArray *out, const char *s); /* NULL allowed */

guint32 sm_rc_get_u32(SmRcReader *in);
guint64 sm_rc_get_u64(SmRcReader *in);
double sm_rc_get_f64(SmRcReader *in);
char *sm_rc_get_str(SmRcReader *in); /* newly allocated, or NULL as stored */
gsize sm_rc_left(const SmRcReader *in);

/* A fast 64-bit checksum (not cryptographic: against damage, not malice;
 * the file's ownership checks are against malice). */
guint64 sm_rc_checksum(const guint8 *data, gsize len);

#endif
