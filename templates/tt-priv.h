/* tt-priv.h: what the pieces of templates/ share: tokens (tt-lex.c), the
 * syntax tree (tt-parse.c), loading files (tt-load.c), and the variable
 * table's hashing (tt-vars.c). Not a face: nothing outside templates/ includes it.
 *
 * The pipeline for one file: text -> tokens -> tree, once per render; the tree
 * is then walked by tt-render.c as often as it is included.
 */
#ifndef SM_TT_PRIV_H
#define SM_TT_PRIV_H

#include "templates/templates.h"

/* ---- tokens ------------------------------------------------------------- */

typedef enum {
	TK_TEXT,     /* literal text between tags, chomping already applied */
	TK_TAG_END,  /* "%]": separates statements like ";" */
	TK_SEMI,
	TK_IDENT,    /* dotted name, keyword or word operator */
	TK_NAME,     /* the bare word after INCLUDE, unchecked */
	TK_DSTRING,  /* double-quoted; raw text between the quotes */
	TK_SSTRING,  /* single-quoted; escapes already resolved */
	TK_NUMBER,
	TK_ASSIGN, TK_EQ, TK_NE, TK_NOT, TK_AND, TK_OR, TK_LPAREN, TK_RPAREN,
	TK_EOF,
} TtTokKind;

typedef struct {
	TtTokKind kind;
	guint line;
	char *s;     /* TEXT, IDENT, NAME, strings, NUMBER; owned */
	gsize len;   /* of s */
} TtToken;

/* Splits @src into tokens (a GArray of TtToken, ending with TK_EOF), or NULL
 * and a SYNTAX error naming @name and the line. */
GArray *tt_lex(const char *name, const char *src, gsize len, GError **error);
void tt_tokens_free(GArray *tokens);

/* ---- syntax tree -------------------------------------------------------- */

typedef enum {
	EX_LIT,    /* s */
	EX_VAR,    /* s: dotted name */
	EX_CONCAT, /* parts: an interpolated string */
	EX_NOT,    /* a */
	EX_AND, EX_OR, EX_EQ, EX_NE, /* a, b */
} TtExKind;

typedef struct TtEx {
	TtExKind kind;
	char *s;
	gsize len;
	struct TtEx *a, *b;
	GPtrArray *parts; /* of TtEx * */
} TtEx;

typedef enum {
	ND_TEXT,    /* s, len */
	ND_OUTPUT,  /* ex */
	ND_ASSIGN,  /* s = ex */
	ND_INCLUDE, /* ex: the template name */
	ND_IF,      /* branches */
} TtNdKind;

typedef struct {
	TtEx *cond;       /* NULL for ELSE */
	GPtrArray *body;  /* of TtNode * */
} TtBranch;

typedef struct {
	TtNdKind kind;
	guint line;
	char *s;
	gsize len;
	TtEx *ex;
	GPtrArray *branches; /* of TtBranch * */
} TtNode;

typedef struct {
	char *name;
	GPtrArray *body; /* of TtNode * */
} TtTemplate;

/* Parses @src into a tree, or NULL + error ("NAME:LINE: ..."). */
TtTemplate *tt_parse(const char *name, const char *src, gsize len, GError **error);
void tt_template_free(TtTemplate *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TtTemplate, tt_template_free)

/* ---- files -------------------------------------------------------------- */

/* Reads template @name from the user's, then the stock directory of @src.
 * Newly allocated NUL-terminated text, or NULL + error (without a location:
 * the caller knows which directive asked). */
char *tt_load(const SmTemplateSource *src, const char *name, gsize *len, GError **error);

/* ---- variable names ----------------------------------------------------- */

guint tt_var_hash(gconstpointer key);
gboolean tt_var_equal(gconstpointer a, gconstpointer b);

/* "head.NAME" -> NAME when NAME is a header name; NULL otherwise. */
const char *tt_head_name(const char *var);

#endif
