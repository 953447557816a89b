/* cache-record.c: the bytes of a record (format in cache/README).
 *
 * Text, so that `sortmail cache dump` and a human with gdbm_dump can read it,
 * and versioned by its first field: a record of a version this code does not
 * know reads as "no record", is recomputed and overwritten.
 */
#include "config.h"
#include "cache-priv.h"

#include <string.h>

#define RECORD_VERSION "1"
#define RECORD_FIELDS 7

char *sm_record_clean(const char *s)
{
	char *out = g_strdup(s ? s : "");
	for (char *p = out; *p; p++)
		if ((guchar)*p < 0x20 || *p == 0x7f || *p == ',')
			*p = '_';
	return out;
}

static void append_double(GString *s, double d)
{
	char buf[G_ASCII_DTOSTR_BUF_SIZE];
	g_string_append(s, g_ascii_dtostr(buf, sizeof buf, d));
}

char *sm_record_encode(const SmVerdict *v, const char *fingerprint)
{
	GString *s = g_string_new(RECORD_VERSION "\t");
	g_string_append_printf(s, "%" G_GINT64_FORMAT "\t", v->scored_at);
	append_double(s, v->score);
	g_string_append_c(s, '\t');
	append_double(s, v->threshold);
	g_string_append_printf(s, "\t%d\t", v->is_spam ? 1 : 0);
	g_autofree char *fp = sm_record_clean(fingerprint);
	g_string_append(s, fp);
	g_string_append_c(s, '\t');
	for (guint i = 0, n = 0; v->rules && i < v->rules->len; i++) {
		g_autofree char *rule = sm_record_clean(v->rules->pdata[i]);
		if (!*rule)
			continue;
		g_string_append_printf(s, "%s%s", n++ ? "," : "", rule);
	}
	return g_string_free(s, FALSE);
}

static gboolean parse_double(const char *s, double *out)
{
	char *end = NULL;
	if (!*s)
		return FALSE;
	*out = g_ascii_strtod(s, &end);
	return end && *end == '\0';
}

static gboolean parse_time(const char *s, gint64 *out)
{
	return g_ascii_string_to_signed(s, 10, 0, G_MAXINT64, out, NULL);
}

gboolean sm_record_decode(const char *text, SmVerdict *v, char **fingerprint)
{
	g_auto(GStrv) f = g_strsplit(text, "\t", RECORD_FIELDS + 1);
	double score, threshold;
	gint64 scored_at;

	if (g_strv_length(f) != RECORD_FIELDS || strcmp(f[0], RECORD_VERSION) != 0)
		return FALSE;
	if (!parse_time(f[1], &scored_at) || !parse_double(f[2], &score) ||
	    !parse_double(f[3], &threshold) || (strcmp(f[4], "0") && strcmp(f[4], "1")))
		return FALSE;
	v->scored_at = scored_at;
	v->score = score;
	v->threshold = threshold;
	v->is_spam = f[4][0] == '1';
	if (!v->rules)
		v->rules = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_set_size(v->rules, 0);
	g_auto(GStrv) rules = g_strsplit(f[6], ",", -1);
	for (guint i = 0; rules[i]; i++)
		if (*rules[i])
			g_ptr_array_add(v->rules, g_strdup(rules[i]));
	*fingerprint = g_strdup(f[5]);
	return TRUE;
}

