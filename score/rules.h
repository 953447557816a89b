/* rules.h: SpamAssassin-syntax rule files -> compiled rules (scorer module only).
 *
 * The subset understood so far (a later issue grows it to the full language;
 * rules.c has one function per directive so that growth is additive):
 *
 *   header NAME Field =~ /re/flags [if-unset: TEXT]
 *   header NAME Field !~ /re/flags [if-unset: TEXT]
 *   header NAME exists:Field
 *   body NAME /re/flags
 *   score NAME n            score NAME n0 n1 n2 n3
 *   describe NAME text
 *   required_score n        (parsed and ignored: sortmail's own threshold rules)
 *
 * Field may carry :raw, :addr or :name, and may be a pseudo-header: ALL (every
 * header, "Name: value" lines) or ToCc (To and Cc). '#' starts a comment
 * unless written "\#". Directives are case-insensitive.
 *
 * Never fatal, per line: a rule that does not parse or compile is skipped and
 * recorded in problems as "file:line: message"; an unknown directive is
 * recorded in unknown. Fatal: a file or directory that cannot be read.
 *
 * Scores: with four values, score set @score_set picks one (SpamAssassin's
 * index: 0 no Bayes/no network, 1 network, 2 Bayes, 3 both). A rule with no
 * score line scores 1.0 (names starting "T_": 0.01; "__": 0, since there are
 * no meta rules yet to use them). A rule scoring 0 is not run, as in
 * SpamAssassin. A later definition of a rule name replaces the earlier one.
 */
#ifndef SM_RULES_H
#define SM_RULES_H

#include <glib.h>
#include "common/regex.h"
#include "score/render.h"

typedef enum { SM_RULE_HEADER, SM_RULE_BODY } SmRuleKind;

/* A header as rules ask for it. Rules asking the same thing share one slot, so
 * a message computes each at most once. */
typedef struct {
	char *field;          /* field name, or the pseudo-header ALL / ToCc */
	SmHeaderForm form;
} SmHeaderSlot;

typedef struct {
	char *name;
	SmRuleKind kind;
	guint slot;           /* header rules: index into SmRuleSet.slots */
	gboolean exists;      /* "exists:Field": hits when the field is present */
	gboolean negate;      /* "!~" */
	char *if_unset;       /* matched when the field is missing; NULL means "" */
	SmRegex *re;          /* NULL for exists: */
	double score;
	char *describe;       /* NULL when none */
	char *where;          /* "file:line" of the definition */
} SmScoreRule;

typedef struct {
	GPtrArray *rules;     /* SmScoreRule *, the rules that run, in definition order */
	GArray *slots;        /* SmHeaderSlot */
	GPtrArray *problems;  /* char *, "file:line: message" */
	GPtrArray *unknown;   /* char *, "file:line: directive" */
} SmRuleSet;

/* Loads @paths in order: files, or directories whose *.cf files are read in
 * name order. Returns NULL with @error when one cannot be read. */
SmRuleSet *sm_rules_load(const char *const *paths, guint score_set, GError **error);
void sm_rules_free(SmRuleSet *set);

#endif
