/* config-priv.h: what config.c (file, lines), config-keywords.c (keywords),
 * config-rule.c ("rule") and config-list.c ("list") share. Internal to
 * sortmail/. */
#ifndef SM_CONFIG_PRIV_H
#define SM_CONFIG_PRIV_H

#include "sortmail/sortmail.h"

/* The state of one parse: where we are, for "file:line: " in messages. */
typedef struct {
	const char *file;
	guint line;
	const SmEnvelope *env;
	SmConfig *c;
	gboolean personal_seen;
} SmConfigParser;

/* Sets @error to "FILE:LINE: message" and returns FALSE. */
gboolean sm_config_fail(const SmConfigParser *p, GError **error, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

/* Parses the items of one "rule" line (@args excludes the keyword) and appends
 * the rule to the configuration. */
gboolean sm_config_parse_rule(SmConfigParser *p, char **args, guint n, GError **error);

void sm_rule_free(SmRule *r);

/* Parses one "list" line (config-list.c; @args excludes the keyword) and
 * appends the list to the configuration. */
gboolean sm_config_parse_list(SmConfigParser *p, char **args, guint n, GError **error);
void sm_list_free(SmList *l);

/* @path made absolute ("~/x" and "x" are under the home); NULL when empty. */
char *sm_config_path(const SmConfigParser *p, const char *path);

/* Splits @line into @tok (of char *) by the config's rules: whitespace
 * separates, "double quotes" group with \" and \\ as the only escapes, '#'
 * outside quotes starts a comment. FALSE with @error on a bad quote. */
gboolean sm_config_tokenize(SmConfigParser *p, const char *line, GPtrArray *tok,
                            GError **error);

/* Runs the keyword of one tokenized line (@tok[0]; config-keywords.c) and
 * records where it was set. FALSE with @error for an unknown keyword, a wrong
 * number of arguments or a bad value. */
gboolean sm_config_dispatch(SmConfigParser *p, char **tok, guint n, GError **error);

/* Digits with an optional s, m, h or d, from 1 second to 366 days, into
 * seconds; FALSE when @s is not one. */
gboolean sm_config_parse_duration(const char *s, guint *out);

#endif
