/* score.h: the face of score/, the spam scorer.
 *
 * The scorer lives in a module loaded on demand (sortmail-score.so) because it
 * needs GMime, whose start-up cost a cache-hit delivery must not pay. This
 * header is what the rest of sortmail sees; score/loader.c (linked into the
 * program) implements it by loading the module the first time it is needed.
 */
#ifndef SM_SCORE_H
#define SM_SCORE_H

#include <glib.h>
#include "common/message.h"
#include "common/verdict.h"

#define SM_SCORE_ERROR (sm_score_error_quark())
GQuark sm_score_error_quark(void);

typedef enum {
	SM_SCORE_ERROR_MODULE,  /* the module cannot be loaded or is the wrong one */
	SM_SCORE_ERROR_RULES,   /* a rule file or directory cannot be read; no usable rule */
	SM_SCORE_ERROR_MESSAGE  /* this message cannot be scored */
} SmScoreErrorCode;

typedef struct SmScorer SmScorer;

typedef struct {
	const char *module_path;        /* NULL: $SORTMAIL_SCORER or the installed one */
	const char *const *rule_files;  /* NULL-terminated; files or directories */
	double required_score;
	/* Scorer settings from the config, NULL-terminated, each "FILE:LINE: keyword
	 * args..." exactly as written (DNS blocklists, spamd, ...): score/ owns their
	 * meaning and reports bad ones with FILE:LINE when it loads. May be NULL. */
	const char *const *settings;
	/* Where the parsed and compiled rules are kept between deliveries
	 * (score/rulecache.h), e.g. ~/.sortmail/rules.cache; NULL: not kept.
	 * Never a reason to fail: unusable, it is rebuilt or done without. */
	const char *rule_cache;
} SmScorerOptions;

/* Prepares a scorer. Cheap: nothing is loaded until the first sm_scorer_score(). */
SmScorer *sm_scorer_new(const SmScorerOptions *opts);
void sm_scorer_free(SmScorer *s);

/* A fingerprint of what decides a score: the module ABI, the threshold, and
 * every rule file that would be loaded (path, size, mtime, inode), so editing
 * or replacing a rule file changes it. Cheap: stat() only, the module is not
 * loaded. Newly allocated hex string. */
char *sm_scorer_fingerprint(SmScorer *s);

/* Scores @m (the whole message, headers and body) into @out (initialised by the
 * caller): score, threshold, is_spam, rule names, scored_at, source SCORED. */
gboolean sm_scorer_score(SmScorer *s, const SmMessage *m, SmVerdict *out, GError **error);

/* Rule kinds, as SmScorerReport counts them. */
typedef enum {
	SM_SCORE_KIND_HEADER,
	SM_SCORE_KIND_BODY,
	SM_SCORE_KIND_RAWBODY,
	SM_SCORE_KIND_URI,
	SM_SCORE_KIND_FULL,
	SM_SCORE_KIND_META,
	SM_SCORE_KIND_MIMEHEADER,
	SM_SCORE_KINDS
} SmScoreKind;

/* What loading the rules left behind, for `sortmail check --rules` and tests.
 * Everything is borrowed from the scorer and valid until sm_scorer_free().
 * Getting a report compiles every rule, so that problems lists the regexes
 * that do not compile. */
typedef struct {
	guint rules;               /* rules that will run (defined, compiled, score != 0) */
	const GPtrArray *problems; /* char *, "file:line: message": rules skipped, bad lines */
	const GPtrArray *unknown;  /* char *, "file:line: directive": not understood, ignored */
	guint kinds[SM_SCORE_KINDS]; /* rules defined, per kind (run or not) */
	const GPtrArray *unsupported; /* char *, "file:line: kind NAME eval:...": never run */
	guint skipped_lines;       /* lines in if/ifplugin blocks whose condition is false */
	guint skipped_kinds[SM_SCORE_KINDS]; /* rules defined in them, per kind */
	guint score_set;           /* SpamAssassin's score set in use (0..3) */
} SmScorerReport;

/* Loads the module and the rules now if not done yet (as the first
 * sm_scorer_score() would) and describes them in @out. */
gboolean sm_scorer_report(SmScorer *s, SmScorerReport *out, GError **error);

/* ---- explaining one score (`sortmail explain`) -------------------------- */

/* One rule of the local set that hit and counts. All owned. */
typedef struct {
	char *name;
	double score;
	char *kind;      /* "header", "body", "rawbody", "uri", "full", "meta", "mimeheader" */
	char *describe;  /* NULL when the rule has none */
	char *where;     /* "file:line" of its definition */
} SmScoreHit;

/* How a score was made, step by step. Cleared with sm_score_trace_clear(). */
typedef struct {
	GPtrArray *hits;  /* SmScoreHit *, in evaluation order; NULL when the local
	                   * rules did not run (spamd answered in replace mode) */
	GPtrArray *dns;   /* char *, one line per lookup: "NAME: answer[ -> RULE (score)]";
	                   * NULL when no blocklist is configured */
	char *spamd;      /* what spamd answered, or why it was not asked; NULL when
	                   * no spamd is configured */
} SmScoreTrace;

void sm_score_trace_clear(SmScoreTrace *t);

/* Scores @m as sm_scorer_score() does (the same verdict) and fills @trace
 * (zeroed by the caller). Slower: for `sortmail explain`, not deliveries. */
gboolean sm_scorer_explain(SmScorer *s, const SmMessage *m, SmVerdict *out,
                           SmScoreTrace *trace, GError **error);

/* ---- the module's side ------------------------------------------------- */

/* The module exports one symbol, SM_SCORE_MODULE_SYMBOL, of this type. */
#define SM_SCORE_MODULE_SYMBOL "sm_score_module_v1"
/* 4: explain(); 5: rule_cache and fingerprint in the load arguments. */
#define SM_SCORE_MODULE_ABI 5

/* What the module's load() gets; all borrowed for the duration of the call. */
typedef struct {
	const char *const *rule_files;  /* NULL-terminated, never NULL nor empty */
	double required_score;
	const char *const *settings;    /* NULL-terminated, never NULL (see SmScorerOptions) */
	const char *rule_cache;         /* NULL: none (see SmScorerOptions) */
	const char *fingerprint;        /* sm_scorer_fingerprint(): the rule cache's key */
} SmScoreModuleArgs;

typedef struct {
	int abi;               /* SM_SCORE_MODULE_ABI */
	void *(*load)(const SmScoreModuleArgs *args, GError **error);
	gboolean (*score)(void *engine, const char *data, gsize len, SmVerdict *out,
	                  GError **error);
	void (*free)(void *engine);
	void (*report)(void *engine, SmScorerReport *out);
	/* score() with the steps written down (see sm_scorer_explain()). */
	gboolean (*explain)(void *engine, const char *data, gsize len, SmVerdict *out,
	                    SmScoreTrace *trace, GError **error);
} SmScoreModule;

#endif
