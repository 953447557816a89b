/* rules-priv.h: the rule-file parser's state, shared by rules.c (files,
 * lines, conditions, finishing), ruledefs.c (the directives) and rules-if.c
 * (conditions). See rules.h for the language. */
#ifndef SM_RULES_PRIV_H
#define SM_RULES_PRIV_H

#include "score/rules.h"

#define N_SCORE_SETS 4

typedef struct {
	char *name;
	double value[N_SCORE_SETS];
	char *where;
} ScoreLine;

typedef struct {
	guint flags;          /* SM_TFLAG_* */
	guint maxhits;
} Tflags;

/* One open if/ifplugin block. */
typedef struct {
	gboolean outer;       /* the enclosing block is read */
	gboolean cond;        /* the condition held */
	gboolean in_else;
	guint line;
} Block;

typedef struct {
	SmRuleSet *set;
	GPtrArray *defined;     /* SmScoreRule *, owned, definition order; NULL holes
	                         * where a name was redefined as eval: */
	GHashTable *by_name;    /* name -> index + 1 in defined */
	GPtrArray *score_lines; /* ScoreLine *, owned, file order */
	GHashTable *scores;     /* name -> the last ScoreLine for it */
	GHashTable *describes;  /* name -> text, owned */
	GHashTable *tflags;     /* name (owned) -> Tflags * (owned) */
	GHashTable *evals;      /* names (owned) last defined as eval: rules */
	GHashTable *elsewhere;  /* names (owned) defined in skipped blocks */
	GHashTable *slot_index; /* "form:pick:field" (field lowercased) -> index + 1 */
	const char *file;
	guint line;
	GArray *blocks;         /* Block, of the file being read */
	guint depth;            /* include nesting */
	SmReplaceTags *replace; /* NULL until a replace_* directive */
	const char *at;         /* "file:line" for problems when not file/line */
} Parser;

/* ---- rules.c ----------------------------------------------------------------- */

void sm_rules_problem(Parser *p, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
char *sm_rules_where(const Parser *p);
/* The SmRuleKind of a directive ("body"...), or -1. */
int sm_rules_kind_of(const char *directive);
const char *sm_rules_skip_space(const char *s);
/* The next white-space-separated word of *@s (newly allocated), or NULL. */
char *sm_rules_next_word(const char **s);
/* Reads @path (relative to the including file) as part of the rules. */
void sm_rules_include(Parser *p, const char *path);

/* ---- ruledefs.c -------------------------------------------------------------- */

typedef void (*SmDirectiveFn)(Parser *p, const char *args);

/* The function for @directive (lowercase), or NULL. */
SmDirectiveFn sm_rules_directive(const char *directive);

/* TRUE when @directive defines a rule (its first argument is the name). */
gboolean sm_rules_defines(const char *directive);

void sm_rules_rule_free(gpointer rule);



/* ---- rules-finish.c ---------------------------------------------------------- */

/* Joins what was read into p->set (see rules.h): scores, tflags and
 * descriptions given to the rules, meta rules bound and ordered, the rules
 * that will not run dropped. Empties p->defined. */
void sm_rules_finish(Parser *p);

/* ---- replacetags.c ------------------------------------------------------------ */

/* The function of a replace_* directive, or NULL. */
SmDirectiveFn sm_replace_directive(const char *directive);

/* Marks the rules replace_rules named (SmScoreRule.tagged) and hands the
 * tags over to p->set (before finishing). */
void sm_replace_mark(Parser *p);

/* ---- rules-if.c -------------------------------------------------------------- */

/* The value of the condition of "if @expr" (or "ifplugin @expr" with
 * @plugin); a condition it cannot read is recorded as a problem and false. */
gboolean sm_rules_condition(Parser *p, const char *expr, gboolean plugin);

#endif
