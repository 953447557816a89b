/* rcencode.c: the rule cache's encoding of numbers and strings, and its
 * checksum (see rulecache.h). Values are stored in this machine's byte
 * order: the file never leaves the machine. */
#include "config.h"
#include "score/rulecache.h"

#include <string.h>

void sm_rc_put_u32(GByteArray *out, guint32 v)
{
	g_byte_array_append(out, (const guint8 *)&v, sizeof v);
}

void sm_rc_put_u64(GByteArray *out, guint64 v)
{
	g_byte_array_append(out, (const guint8 *)&v, sizeof v);
}

void sm_rc_put_f64(GByteArray *out, double v)
{
	g_byte_array_append(out, (const guint8 *)&v, sizeof v);
}

void sm_rc_put_str(GByteArray *out, const char *s)
{
	if (!s) {
		sm_rc_put_u32(out, SM_RC_NO_STRING);
		return;
	}
	gsize n = strlen(s);
	sm_rc_put_u32(out, (guint32)n);
	g_byte_array_append(out, (const guint8 *)s, (guint)n);
}

gsize sm_rc_left(const SmRcReader *in)
{
	return in->bad ? 0 : (gsize)(in->end - in->p);
}

static gboolean take(SmRcReader *in, void *dst, gsize n)
{
	if (sm_rc_left(in) < n) {
		in->bad = TRUE;
		memset(dst, 0, n);
		return FALSE;
	}
	memcpy(dst, in->p, n);
	in->p += n;
	return TRUE;
}

guint32 sm_rc_get_u32(SmRcReader *in)
{
	guint32 v;
	take(in, &v, sizeof v);
	return v;
}

guint64 sm_rc_get_u64(SmRcReader *in)
{
	guint64 v;
	take(in, &v, sizeof v);
	return v;
}

double sm_rc_get_f64(SmRcReader *in)
{
	double v;
	take(in, &v, sizeof v);
	return v;
}

char *sm_rc_get_str(SmRcReader *in)
{
	guint32 n = sm_rc_get_u32(in);
	if (in->bad || n == SM_RC_NO_STRING)
		return NULL;
	if (sm_rc_left(in) < n) {
		in->bad = TRUE;
		return NULL;
	}
	char *s = g_strndup((const char *)in->p, n);
	in->p += n;
	return s;
}

/* Eight bytes per step; the tail is padded with zeros. */
guint64 sm_rc_checksum(const guint8 *data, gsize len)
{
	guint64 h = 0x9e3779b97f4a7c15ull ^ len;
	gsize i = 0;
	for (; i + 8 <= len; i += 8) {
		guint64 w;
		memcpy(&w, data + i, 8);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	guint64 w = 0;
	memcpy(&w, data + i, len - i);
	h = (h ^ w) * 0x100000001b3ull;
	return h ^ (h >> 32);
}
