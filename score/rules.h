/* rules.h: SpamAssassin-syntax rule files -> a rule set (scorer module only).
 *
 * Directives understood (case-insensitive; '#' starts a comment unless
 * written "\#"):
 *
 *   header NAME Field[:mods] =~ /re/flags [if-unset: TEXT]     (or !~)
 *   header NAME exists:Field
 *   body NAME /re/flags          rendered text, Subject first (render.h)
 *   rawbody NAME /re/flags       text parts, transfer-decoded, HTML kept
 *   uri NAME /re/flags           every URI found, canonicalised (render.h)
 *   full NAME /re/flags          the whole raw message
 *   meta NAME EXPRESSION         over other rules (meta.h)
 *   mimeheader NAME Field[:raw] =~ /re/flags   each MIME part's field
 *   replace_tag/pre/inter/post NAME RE, replace_rules NAMES...
 *                                ReplaceTags: <NAME> in those rules' regexes
 *                                stands for RE (replacetags.c)
 *   score NAME n | n0 n1 n2 n3   describe NAME text      tflags NAME flags...
 *   include FILE                 relative to the including file
 *   if EXPR / ifplugin NAME / else / endif
 *   required_score, lang, and the rest of SpamAssassin's vocabulary: below
 *
 * Field modifiers: :raw (undecoded, folding kept), :addr (addresses),
 * :name (display names), :first / :last (one header of several; combine
 * with the others). Pseudo-fields (case-sensitive): ALL, ToCc, MESSAGEID,
 * EnvelopeFrom, X-Spam-Relays-{Trusted,Untrusted,Internal,External}
 * (render.h).
 * "NAME eval:..." rules are SpamAssassin Perl code: recorded in
 * SmRuleSet.unsupported and never run.
 *
 * Conditions: "ifplugin P" and "if plugin(P)" are true for the plugins
 * SpamAssassin loads by default that add no rule syntax, and for those
 * sortmail implements (ReplaceTags, MIMEHeader); "if can(X)" is true for the
 * SpamAssassin 4 features sortmail has; rules-if.c says which and why.
 * "version" is SM_RULES_SA_VERSION; ! && || ( ) and comparisons combine
 * them. Lines inside a false block are skipped, counted in
 * SmRuleSet.skipped_lines, the rules they define in SmRuleSet.skipped (and
 * their eval: rules in unsupported too). "lang xx ..." lines are skipped
 * (translations). required_score is checked and ignored: sortmail's
 * threshold decides. Other directives (report, add_header, loadplugin,
 * priority, util_rb_*, freemail_domains, whitelist_*, ...) are recorded in
 * unknown.
 *
 * Never fatal, per line: a rule that does not parse or compile is skipped
 * and recorded in problems as "file:line: message". Fatal: a file or
 * directory named in @paths that cannot be read.
 *
 * Scores: with four values, @score_set picks one (SpamAssassin's index:
 * 0 no Bayes/no network, 1 network, 2 Bayes, 3 both; see
 * sm_rules_score_set()). A rule with no score line scores 1.0 ("T_" names:
 * 0.01; negated when tflags say "nice"). A rule scoring 0 is disabled, as
 * in SpamAssassin. Names starting "__" are sub-rules: never scored nor
 * listed, run only when a meta rule needs them. A later definition of a
 * name replaces the earlier one; the last score line wins.
 *
 * Regexes are compiled when first used (match.c), not when loaded (or
 * decoded from the rule cache, rulecache.h), and JIT-compiled when used
 * again or on a long text (see SM_RULES_JIT_AFTER); a regex
 * whose literals (prefilter.h) are absent from the text is not run, nor
 * compiled.
 * sm_rules_compile_all() compiles everything now, to report what does not
 * compile (`sortmail check --rules`).
 */
#ifndef SM_RULES_H
#define SM_RULES_H

#include <glib.h>
#include "common/regex.h"
#include "score/render.h"
#include "score/meta.h"

typedef enum {
	SM_RULE_HEADER,
	SM_RULE_BODY,
	SM_RULE_RAWBODY,
	SM_RULE_URI,
	SM_RULE_FULL,
	SM_RULE_META,
	SM_RULE_MIMEHEADER,
	SM_RULE_N_KINDS
} SmRuleKind;

/* "header", "body", ... */
const char *sm_rule_kind_name(SmRuleKind kind);

/* The SpamAssassin version "if (version ...)" compares with: the release
 * whose rule language this follows (Debian 12 ships 4.0.1). */
#define SM_RULES_SA_VERSION 4.000001

/* When a regex is JIT-compiled. A delivery scores one message in a fresh
 * process, so each regex it runs, it runs once; there JIT-compiling costs
 * more than it saves (Debian's set, one 5 KB spam, in instructions: 213M to
 * JIT-compile the 320 regexes the prefilter lets through, 20M to run them
 * then, against 95M to interpret them). So a regex is interpreted on its
 * first use and JIT-compiled on its second (a process scoring many
 * messages), and at once when the text it runs over is SM_RULES_JIT_TEXT
 * bytes or longer, where interpreting costs more than compiling. */
#define SM_RULES_JIT_AFTER 2
#define SM_RULES_JIT_TEXT 65536

/* tflags that change what a rule does here; the others are recorded only. */
enum {
	SM_TFLAG_NICE      = 1 << 0, /* default score negative */
	SM_TFLAG_MULTIPLE  = 1 << 1, /* count every match (for meta arithmetic) */
	SM_TFLAG_NOSUBJECT = 1 << 2, /* body: the Subject line is not part of the text */
	SM_TFLAG_NET       = 1 << 3, /* network test (recorded) */
};

/* A header as rules ask for it. Rules asking the same thing share one slot, so
 * a message computes each at most once. */
typedef struct {
	char *field;          /* field name or pseudo-field (see above) */
	SmHeaderForm form;
	SmHeaderPick pick;
} SmHeaderSlot;

/* A regex compiled on first use. */
typedef struct {
	char *pattern;        /* PCRE2 syntax; NULL for rules without one; owned
	                       * unless pattern_borrowed */
	gboolean pattern_borrowed; /* points into SmRuleSet.cache */
	guint flags;          /* SM_REGEX_*, without JIT */
	SmRegex *re;          /* NULL until compiled */
	guint uses;
	guint jit_after;      /* uses before JIT-compiling */
	gboolean broken;      /* did not compile: never matches */
	gboolean analysed;    /* literals computed (on first use) */
	char **literals;      /* prefilter.h: one is in every match; NULL: unknown */
	/* From the rule cache (rulecache.h): the compiled form, decoded instead
	 * of compiling @pattern; borrowed from SmRuleSet.cache. NULL: none. */
	const guint8 *stored;
	gsize stored_len;
	guint64 stored_sum;   /* its checksum, verified before decoding */
} SmLazyRegex;

typedef struct {
	char *name;
	SmRuleKind kind;
	guint slot;           /* header rules: index into SmRuleSet.slots */
	gboolean exists;      /* "exists:Field": hits when the field is present */
	gboolean negate;      /* "!~" */
	char *if_unset;       /* matched when the field is missing; NULL means "" */
	SmLazyRegex re;
	SmMeta *meta;         /* meta rules */
	char *raw;            /* the regex as written; kept only while loading,
	                       * and for tagged rules until first used */
	gboolean tagged;      /* ReplaceTags: the regex is made from raw on first use */
	double score;
	gboolean scored;      /* counts: score != 0 and not a "__" sub-rule */
	guint tflags;         /* SM_TFLAG_* */
	guint maxhits;        /* with multiple: count at most this many; 0: no limit */
	char *describe;       /* NULL when none */
	char *where;          /* "file:line" of the definition */
} SmScoreRule;

typedef struct SmReplaceTags SmReplaceTags; /* replacetags.c */

typedef struct {
	/* SmScoreRule *, the rules that run, in evaluation order: every
	 * non-meta rule (definition order), then the meta rules, each after
	 * the metas it depends on. */
	GPtrArray *rules;
	GArray *slots;        /* SmHeaderSlot */
	GPtrArray *problems;  /* char *, "file:line: message" */
	GPtrArray *unknown;   /* char *, "file:line: directive" */
	GPtrArray *unsupported; /* char *, "file:line: NAME eval:..." */
	guint defined[SM_RULE_N_KINDS]; /* rules defined (usable), run or not */
	guint skipped_lines;  /* lines in false if/ifplugin blocks */
	guint skipped[SM_RULE_N_KINDS]; /* rules defined there (eval: ones aside) */
	guint score_set;
	SmReplaceTags *replace; /* the tags, for tagged rules; NULL when none */
	GPtrArray *files;     /* SmRuleFile *: every file read, includes too */
	GMappedFile *cache;   /* the rule cache it came from (rulecache.h); NULL */
} SmRuleSet;

/* A rule file as it was when read, so that a cache knows it is stale. */
typedef struct {
	char *path;
	gint64 size, mtime_sec, mtime_nsec;
	guint64 ino;
} SmRuleFile;

/* SpamAssassin's score set for sortmail: (network tests ? 1 : 0); there is
 * no Bayes. Network tests are the DNS blocklists when configured. */
guint sm_rules_score_set(gboolean network_tests);

/* Loads @paths in order: files, or directories whose *.cf files are read in
 * name order. Returns NULL with @error when one cannot be read. */
SmRuleSet *sm_rules_load(const char *const *paths, guint score_set, GError **error);
void sm_rules_free(SmRuleSet *set);

/* An empty set (for the rule cache to fill), and an SmRuleFile's free. */
SmRuleSet *sm_rules_new_set(guint score_set);
void sm_rule_file_free(gpointer file);

/* Compiles every regex now; what does not compile is added to problems
 * (and never matches). Returns how many rules run, those aside. */
guint sm_rules_compile_all(SmRuleSet *set);

/* Computes every regex's prefilter literals now (match.c does it on first
 * use), for the rule cache. */
void sm_rules_analyse_all(SmRuleSet *set);

/* Sets @r's regex (pattern and flags) from the literal @raw, read as @r's
 * kind reads regexes; FALSE with @error when it is none or has more after
 * it. (ruledefs.c) */
gboolean sm_rules_set_regex(SmScoreRule *r, const char *raw, GError **error);

/* ReplaceTags (replacetags.c): @r's raw regex with the tags replaced, NULL
 * when it uses none; undefined <pre/inter/post X> go to @problems. */
char *sm_replace_expand(SmReplaceTags *t, const SmScoreRule *r, GPtrArray *problems);
void sm_replace_free(SmReplaceTags *t);

/* ---- running (match.c) ------------------------------------------------- */

/* Runs the rules of @set over @r: every one that counts, and the sub-rules
 * metas need (match.c). Returns the hit counts, one per rule of set->rules
 * (0: no hit, or not needed); newly allocated, g_free() it. */
guint *sm_rules_run(SmRuleSet *set, SmRender *r);

/* The regex of @rule, compiled (and JIT-compiled) as needed, to be run over
 * @text_len bytes; NULL when it does not compile, which is recorded once in
 * @set's problems. */
SmRegex *sm_rules_regex(SmRuleSet *set, SmScoreRule *rule, gsize text_len);

#endif
