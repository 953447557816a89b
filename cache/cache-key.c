/* cache-key.c: the cache key of a message (definition in cache.h and README).
 *
 * The body is hashed in place, in the runs between CRs, so a 50 MB message is
 * never copied. Only the Message-ID is read from the header block: the
 * headers a delivery adds per recipient (Delivered-To, X-Original-To,
 * Return-Path) must not split one message into twenty keys.
 */
#include "config.h"
#include "cache.h"

#include <string.h>

static char *normalized_message_id(const SmMessage *m)
{
	g_autofree char *value = sm_message_get(m, "Message-ID");
	if (!value)
		return g_strdup("");
	const char *lt = strchr(value, '<');
	if (!lt)
		return g_steal_pointer(&value);
	const char *gt = strchr(lt + 1, '>');
	return gt ? g_strndup(lt + 1, gt - lt - 1) : g_strdup(lt + 1);
}

/* Feeds @p[0..len) with every CRLF as LF. A CR at the very end of the body
 * stays: there is no LF after it. */
static void update_without_crlf(GChecksum *sum, const guchar *p, gsize len)
{
	while (len > 0) {
		const guchar *cr = memchr(p, '\r', len);
		if (!cr) {
			g_checksum_update(sum, p, len);
			return;
		}
		gsize run = cr - p;
		gboolean crlf = run + 1 < len && cr[1] == '\n';
		g_checksum_update(sum, p, crlf ? run : run + 1);
		p += run + 1;
		len -= run + 1;
	}
}

void sm_cache_key(const SmMessage *m, char out_hex[SM_CACHE_KEY_LEN + 1])
{
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_autofree char *id = normalized_message_id(m);
	static const guchar nul = 0;

	g_checksum_update(sum, (const guchar *)id, strlen(id));
	g_checksum_update(sum, &nul, 1);
	if (m->body_off < m->len)
		update_without_crlf(sum, (const guchar *)m->data + m->body_off,
		                    m->len - m->body_off);
	g_strlcpy(out_hex, g_checksum_get_string(sum), SM_CACHE_KEY_LEN + 1);
}
