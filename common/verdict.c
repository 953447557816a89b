/* verdict.c: lifetime and presentation of SmVerdict. */
#include "config.h"
#include "verdict.h"

#include <string.h>

void sm_verdict_init(SmVerdict *v)
{
	*v = (SmVerdict){ .rules = g_ptr_array_new_with_free_func(g_free) };
}

void sm_verdict_clear(SmVerdict *v)
{
	if (v->rules)
		g_ptr_array_free(v->rules, TRUE);
	v->rules = NULL;
	g_clear_pointer(&v->note, g_free);
}

gboolean sm_verdict_degraded(const SmVerdict *v)
{
	for (guint i = 0; v->rules && i < v->rules->len; i++) {
		const char *r = v->rules->pdata[i];
		if (strcmp(r, SM_RULE_DNS_UNAVAILABLE) == 0 || strcmp(r, SM_RULE_SPAMD_UNAVAILABLE) == 0)
			return TRUE;
	}
	return FALSE;
}

const char *sm_verdict_source_name(SmVerdictSource s)
{
	switch (s) {
	case SM_VERDICT_SCORED: return "scored";
	case SM_VERDICT_CACHED: return "cached";
	case SM_VERDICT_WAITED: return "waited";
	case SM_VERDICT_NONE: break;
	}
	return "unscored";
}

char *sm_verdict_status_line(const SmVerdict *v)
{
	GString *s = g_string_new(v->is_spam ? "Yes" : "No");
	g_string_append_printf(s, ", score=%.1f required=%.1f tests=", v->score, v->threshold);
	if (!v->rules || v->rules->len == 0)
		g_string_append(s, "none");
	for (guint i = 0; v->rules && i < v->rules->len; i++)
		g_string_append_printf(s, "%s%s", i ? "," : "", (char *)v->rules->pdata[i]);
	return g_string_free(s, FALSE);
}
