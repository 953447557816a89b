/* templates.h: the face of templates/: a small engine for the Template Toolkit
 * syntax that autoresponse templates are written in (see sortmail-templates(5)).
 *
 * Contract: rendering is a pure function of the template files and the
 * variables the caller hands in; nothing here knows about messages, verdicts
 * or sending. A template is found by name, first in the user's directory, then
 * in the stock directory; names never reach outside those two directories.
 * Every render is bounded (output, include depth, statements executed, bytes
 * built), so a hostile template costs an error, not a wedged delivery.
 *
 * The result is the rendered body plus the reply headers the template set with
 * "head.NAME = ..." assignments. Header values are kept as written except that
 * trailing CR/LF are removed (the stock templates end Subject with "\n", as
 * Template Toolkit autoresponders traditionally do); any other CR/LF are left
 * for the reply builder, which must remove them. Which headers may actually be
 * used is the reply builder's decision, not the engine's.
 *
 * Errors are GErrors in SM_TEMPLATE_ERROR whose message begins "NAME:LINE: ",
 * NAME being the template that holds the fault. A failed render returns NULL:
 * there is no half-rendered reply.
 */
#ifndef SM_TEMPLATES_H
#define SM_TEMPLATES_H

#include <glib.h>

#define SM_TEMPLATE_ERROR (sm_template_error_quark())
GQuark sm_template_error_quark(void);

typedef enum {
	SM_TEMPLATE_ERROR_SYNTAX,    /* the template text is malformed */
	SM_TEMPLATE_ERROR_NOT_FOUND, /* no template of that name in either directory */
	SM_TEMPLATE_ERROR_NAME,      /* a template name that could leave the directories */
	SM_TEMPLATE_ERROR_LIMIT,     /* a bound was reached (size, depth, cycle, work) */
	SM_TEMPLATE_ERROR_IO,        /* a template file exists but cannot be read */
} SmTemplateError;

/* Bounds of one render. */
#define SM_TEMPLATE_MAX_FILE   (256 * 1024)       /* bytes of one template file */
#define SM_TEMPLATE_MAX_OUTPUT (1024 * 1024)      /* bytes of the rendered body */
#define SM_TEMPLATE_MAX_VALUE  (1024 * 1024)      /* bytes of any one string value */
#define SM_TEMPLATE_MAX_WORK   (8 * 1024 * 1024)  /* bytes built in all, output included */
#define SM_TEMPLATE_MAX_DEPTH  10                 /* nested INCLUDEs */
#define SM_TEMPLATE_MAX_STEPS  100000             /* statements and operators executed */
#define SM_TEMPLATE_MAX_NEST   64                 /* nested IFs, parentheses, nots in one file */
#define SM_TEMPLATE_MAX_OPS    256                /* "and"/"or" in one expression */

/* The caller's variables: returns the value of the dotted @name ("to",
 * "msg.header.Subject", "verdict.score") newly allocated, or NULL when it is
 * undefined (which renders as ""). Names under "msg.header." must be matched
 * case-insensitively on the header name. Never called for names the template
 * assigned itself. */
typedef char *(*SmTemplateLookup)(const char *name, gpointer user_data);

typedef struct {
	const char *user_dir;   /* ~/.sortmail/templates; NULL: none */
	const char *stock_dir;  /* NULL: the installed $(pkgdatadir)/templates */
	SmTemplateLookup lookup; /* NULL: every caller variable is undefined */
	gpointer lookup_data;
} SmTemplateSource;

typedef struct {
	char *name;  /* as spelled by the first assignment, without "head." */
	char *value; /* of the last assignment, trailing CR/LF removed */
} SmTemplateHeader;

typedef struct {
	char *body;          /* the rendered text; owned */
	gsize body_len;
	GPtrArray *headers;  /* of SmTemplateHeader *, in the order first set; owned */
} SmTemplateResult;

void sm_template_result_free(SmTemplateResult *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SmTemplateResult, sm_template_result_free)

/* The value of reply header @name (case-insensitive), or NULL. Borrowed. */
const char *sm_template_result_header(const SmTemplateResult *r, const char *name);

/* Renders the template called @name. Newly allocated result, or NULL + @error. */
SmTemplateResult *sm_template_render(const SmTemplateSource *src, const char *name,
				     GError **error);

/* Renders @text as if it were a template called @label (used in error
 * messages only; INCLUDEs still come from the directories of @src). */
SmTemplateResult *sm_template_render_string(const SmTemplateSource *src, const char *label,
					    const char *text, gsize len, GError **error);

/* TRUE when @name may be looked up: [A-Za-z0-9_.-]+, at most 255 bytes, no
 * leading dot and no "..". */
gboolean sm_template_name_valid(const char *name);

/* ---- a ready-made variable table ---------------------------------------- */

/* A GHashTable of dotted name -> value (both owned) that matches the header
 * part of "msg.header.NAME" and "head.NAME" case-insensitively; other names
 * are case-sensitive. Use it with sm_template_vars_lookup as the lookup and
 * the table as lookup_data. */
GHashTable *sm_template_vars_new(void);
void sm_template_vars_set(GHashTable *vars, const char *name, const char *value);
char *sm_template_vars_lookup(const char *name, gpointer vars);

#endif
