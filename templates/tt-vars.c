/* tt-vars.c: variable names and the ready-made variable table.
 *
 * Contract: names are case-sensitive, as in Template Toolkit, except the
 * header part of "head.NAME" and "msg.header.NAME", because header field
 * names are case-insensitive in mail (RFC 5322): "msg.header.subject" and
 * "msg.header.Subject" are one variable.
 */
#include "config.h"
#include "templates/tt-priv.h"

#include <string.h>

/* Where case stops mattering in @k: after a header prefix, else never. */
static gsize fold_from(const char *k)
{
	if (g_str_has_prefix(k, "head."))
		return 5;
	if (g_str_has_prefix(k, "msg.header."))
		return 11;
	return strlen(k);
}

guint tt_var_hash(gconstpointer key)
{
	const char *k = key;
	gsize f = fold_from(k);
	guint h = 5381;
	for (gsize i = 0; k[i]; i++)
		h = h * 33 + (guchar)(i >= f ? g_ascii_tolower(k[i]) : k[i]);
	return h;
}

gboolean tt_var_equal(gconstpointer a, gconstpointer b)
{
	const char *x = a, *y = b;
	gsize fx = fold_from(x), fy = fold_from(y);
	return fx == fy && strncmp(x, y, fx) == 0 && g_ascii_strcasecmp(x + fx, y + fy) == 0;
}

const char *tt_head_name(const char *var)
{
	if (!g_str_has_prefix(var, "head."))
		return NULL;
	const char *h = var + 5;
	if (!*h)
		return NULL;
	for (const char *c = h; *c; c++) {
		if (!(g_ascii_isalnum(*c) || *c == '-' || *c == '_'))
			return NULL;
	}
	return h;
}

GHashTable *sm_template_vars_new(void)
{
	return g_hash_table_new_full(tt_var_hash, tt_var_equal, g_free, g_free);
}

void sm_template_vars_set(GHashTable *vars, const char *name, const char *value)
{
	g_hash_table_replace(vars, g_strdup(name), g_strdup(value ? value : ""));
}

char *sm_template_vars_lookup(const char *name, gpointer vars)
{
	return g_strdup(g_hash_table_lookup(vars, name));
}
