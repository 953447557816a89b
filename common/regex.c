/* regex.c: PCRE2 behind a tiny API (see regex.h).
 * Under valgrind the JIT is not used: memcheck cannot follow JIT code (it
 * reads ahead of the subject by design, which memcheck reports as use of
 * uninitialised memory), so `./dev.sh valgrind` checks the interpreter. */
#include "config.h"
#include "regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* JIT is an optimisation: when the platform refuses it, interpretation works. */
static void jit_compile(pcre2_code *code)
{
	if (!RUNNING_ON_VALGRIND)
		(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
}

struct SmRegex {
	pcre2_code *code;
	pcre2_match_data *md;
	gboolean matched;
	gboolean jit;
};

G_DEFINE_QUARK(sm-regex-error-quark, sm_regex_error)

SmRegex *sm_regex_new(const char *pattern, guint flags, GError **error)
{
	uint32_t opts = 0;
	int err;
	PCRE2_SIZE erroff;

	if (flags & SM_REGEX_CASELESS)  opts |= PCRE2_CASELESS;
	if (flags & SM_REGEX_MULTILINE) opts |= PCRE2_MULTILINE;
	if (flags & SM_REGEX_DOTALL)    opts |= PCRE2_DOTALL;
	if (flags & SM_REGEX_EXTENDED)  opts |= PCRE2_EXTENDED;

	pcre2_code *code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
	                                 opts, &err, &erroff, NULL);
	if (!code) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(err, msg, sizeof msg);
		g_set_error(error, SM_REGEX_ERROR, 0, "bad regex at offset %zu: %s",
		            (size_t)erroff, (char *)msg);
		return NULL;
	}
	if (flags & SM_REGEX_JIT)
		jit_compile(code);

	SmRegex *re = g_new0(SmRegex, 1);
	re->code = code;
	re->jit = (flags & SM_REGEX_JIT) != 0;
	re->md = pcre2_match_data_create_from_pattern(code, NULL);
	return re;
}

void sm_regex_free(SmRegex *re)
{
	if (!re)
		return;
	pcre2_match_data_free(re->md);
	pcre2_code_free(re->code);
	g_free(re);
}

gboolean sm_regex_match(SmRegex *re, const char *subject, gsize len)
{
	int rc = pcre2_match(re->code, (PCRE2_SPTR)subject, len, 0, 0, re->md, NULL);
	re->matched = rc > 0;
	return re->matched;
}

gboolean sm_regex_find(SmRegex *re, const char *subject, gsize len, gsize start,
                       gsize *match_start, gsize *match_end)
{
	if (start > len)
		return re->matched = FALSE;
	int rc = pcre2_match(re->code, (PCRE2_SPTR)subject, len, start, 0, re->md, NULL);
	re->matched = rc > 0;
	if (re->matched) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);
		if (match_start)
			*match_start = ov[0];
		if (match_end)
			*match_end = ov[1];
	}
	return re->matched;
}

void sm_regex_jit(SmRegex *re)
{
	if (re->jit)
		return;
	re->jit = TRUE;
	jit_compile(re->code);
}

gboolean sm_regex_serialize(const SmRegex *re, guint8 **out, gsize *len)
{
	const pcre2_code *codes[1] = { re->code };
	uint8_t *bytes;
	PCRE2_SIZE size;
	if (pcre2_serialize_encode(codes, 1, &bytes, &size, NULL) != 1)
		return FALSE;
	*out = g_memdup2(bytes, size);
	*len = size;
	pcre2_serialize_free(bytes);
	return TRUE;
}

SmRegex *sm_regex_deserialize(const guint8 *bytes, gsize len, GError **error)
{
	pcre2_code *code = NULL;
	/* The framing says how long it is; a short buffer must not be read past. */
	int32_t n = len >= 16 ? pcre2_serialize_get_number_of_codes(bytes) : PCRE2_ERROR_BADDATA;
	if (n == 1)
		n = pcre2_serialize_decode(&code, 1, bytes, NULL);
	if (n != 1) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(n, msg, sizeof msg);
		g_set_error(error, SM_REGEX_ERROR, 0, "stored regex unusable: %s", (char *)msg);
		return NULL;
	}
	SmRegex *re = g_new0(SmRegex, 1);
	re->code = code;
	re->md = pcre2_match_data_create_from_pattern(code, NULL);
	return re;
}

char *sm_regex_capture(SmRegex *re, const char *subject, guint n)
{
	if (!re->matched || n >= pcre2_get_ovector_count(re->md))
		return NULL;
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);
	if (ov[2 * n] == PCRE2_UNSET)
		return g_strdup("");
	return g_strndup(subject + ov[2 * n], ov[2 * n + 1] - ov[2 * n]);
}

char *sm_regex_expand(SmRegex *re, const char *subject, const char *replacement)
{
	if (!sm_regex_match(re, subject, strlen(subject)))
		return NULL;
	GString *out = g_string_new(NULL);
	for (const char *p = replacement; *p; p++) {
		if (*p != '$' || !p[1]) {
			g_string_append_c(out, *p);
			continue;
		}
		guint n;
		if (p[1] == '$') {
			g_string_append_c(out, '$');
			p++;
			continue;
		} else if (g_ascii_isdigit(p[1])) {
			n = p[1] - '0';
			p++;
		} else if (p[1] == '{' && g_ascii_isdigit(p[2]) && strchr(p, '}')) {
			n = (guint)g_ascii_strtoull(p + 2, NULL, 10);
			p = strchr(p, '}');
		} else {
			g_string_append_c(out, *p);
			continue;
		}
		g_autofree char *cap = sm_regex_capture(re, subject, n);
		if (cap)
			g_string_append(out, cap);
	}
	return g_string_free(out, FALSE);
}
