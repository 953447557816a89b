/* replay-report.c: per-message lines, JSON, progress bar and summary of
 * `sortmail replay` (see replay-report.h). */
#include "config.h"
#include "replay-report.h"
#include "fsutil.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- the tally ----------------------------------------------------------- */

void sm_replay_tally_init(SmReplayTally *t)
{
	t->counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

void sm_replay_tally_clear(SmReplayTally *t)
{
	g_clear_pointer(&t->counts, g_hash_table_unref);
}

void sm_replay_tally_add(SmReplayTally *t, const char *name, guint64 n)
{
	guint64 *v = g_hash_table_lookup(t->counts, name);
	if (!v) {
		v = g_new0(guint64, 1);
		g_hash_table_insert(t->counts, g_strdup(name), v);
	}
	*v += n;
}

guint64 sm_replay_tally_get(const SmReplayTally *t, const char *name)
{
	guint64 *v = g_hash_table_lookup(t->counts, name);
	return v ? *v : 0;
}

char *sm_replay_tally_dump(const SmReplayTally *t)
{
	GString *s = g_string_new(NULL);
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, t->counts);
	while (g_hash_table_iter_next(&it, &k, &v))
		g_string_append_printf(s, "%s\t%" G_GUINT64_FORMAT "\n", (char *)k, *(guint64 *)v);
	return g_string_free(s, FALSE);
}

void sm_replay_tally_load(SmReplayTally *t, const char *text)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		char *tab = strrchr(*l, '\t');
		if (!tab)
			continue;
		*tab = '\0';
		sm_replay_tally_add(t, *l, g_ascii_strtoull(tab + 1, NULL, 10));
	}
}

const char *sm_replay_result_word(const SmReplayResult *r)
{
	const SmOutcome *o = r->out;
	if (!r->ok || !o)
		return "failed";
	if (o->duplicate)
		return "duplicate";
	if (o->decision.discard)
		return "discarded";
	if (r->dry_run)
		return "decided";
	return o->stored ? "stored" : "passed-on";
}

void sm_replay_tally_result(SmReplayTally *t, const SmReplayResult *r)
{
	g_autofree char *result = g_strconcat("result:", sm_replay_result_word(r), NULL);
	sm_replay_tally_add(t, "messages", 1);
	sm_replay_tally_add(t, result, 1);
	if (r->item->truncated)
		sm_replay_tally_add(t, "truncated", 1);
	const SmOutcome *o = r->out;
	if (!r->ok || !o || !o->decided)
		return;
	g_autofree char *via = g_strconcat("via:", sm_pipeline_via(&o->decision.verdict), NULL);
	sm_replay_tally_add(t, via, 1);
	if (!o->decision.discard && (o->stored || r->dry_run)) {
		g_autofree char *folder = g_strconcat("folder:", o->decision.folder, NULL);
		sm_replay_tally_add(t, folder, 1);
	}
	if (o->reply.state) {
		g_autofree char *reply = g_strconcat("reply:", o->reply.state, NULL);
		sm_replay_tally_add(t, reply, 1);
	}
}

/* ---- per message ---------------------------------------------------------- */

char *sm_replay_position(const SmReplayItem *item)
{
	if (item->name)
		return g_build_filename(item->path, item->name, NULL);
	if (item->in_mbox)
		return g_strdup_printf("%s@%" G_GSIZE_FORMAT, item->path, item->offset);
	return g_strdup(item->path);
}

/* @v as a JSON string (invalid UTF-8 replaced), or null. */
static void json_string(GString *s, const char *v)
{
	if (!v) {
		g_string_append(s, "null");
		return;
	}
	g_autofree char *valid = g_utf8_make_valid(v, -1);
	g_string_append_c(s, '"');
	for (const unsigned char *p = (const unsigned char *)valid; *p; p++) {
		switch (*p) {
		case '"': g_string_append(s, "\\\""); break;
		case '\\': g_string_append(s, "\\\\"); break;
		case '\n': g_string_append(s, "\\n"); break;
		case '\r': g_string_append(s, "\\r"); break;
		case '\t': g_string_append(s, "\\t"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				g_string_append_printf(s, "\\u%04x", *p);
			else
				g_string_append_c(s, (char)*p);
		}
	}
	g_string_append_c(s, '"');
}

static void json_field(GString *s, const char *key, const char *v)
{
	g_string_append_printf(s, ",\"%s\":", key);
	json_string(s, v);
}

static void json_decision(GString *s, const SmOutcome *o)
{
	const SmDecision *d = &o->decision;
	const SmVerdict *v = &d->verdict;
	json_field(s, "verdict", o->decided ? sm_pipeline_verdict_word(v) : NULL);
	if (o->decided && v->source != SM_VERDICT_NONE)
		g_string_append_printf(s, ",\"score\":%.1f,\"required\":%.1f", v->score, v->threshold);
	else
		g_string_append(s, ",\"score\":null,\"required\":null");
	json_field(s, "via", o->decided ? sm_pipeline_via(v) : NULL);
	json_field(s, "folder", o->decided && !d->discard ? d->folder : NULL);
	g_autofree char *rule = o->decided && d->rule
	                        ? g_strdup_printf("%s:%u", d->rule->file ? d->rule->file : "-",
	                                          d->rule->line) : NULL;
	json_field(s, "rule", rule);
	json_field(s, "reply", o->reply.state);
	json_field(s, "pipe", o->outbound.pipe_state);
	json_field(s, "forward", o->outbound.forward_state);
	json_field(s, "cache_warning", o->cache_warning);
}

void sm_replay_json(GString *s, const SmReplayResult *r)
{
	const SmReplayItem *it = r->item;
	const SmOutcome *o = r->out;
	g_string_append_printf(s, "{\"n\":%" G_GUINT64_FORMAT ",\"file\":", r->n);
	json_string(s, it->path);
	if (it->in_mbox)
		g_string_append_printf(s, ",\"offset\":%" G_GSIZE_FORMAT, it->offset);
	if (it->name)
		json_field(s, "name", it->name);
	if (it->flags)
		json_field(s, "flags", it->flags);
	json_field(s, "result", sm_replay_result_word(r));
	json_field(s, "message_id", o ? o->msgid : NULL);
	json_field(s, "sender", r->env ? r->env->sender : NULL);
	json_field(s, "recipient", o ? o->rcpt.address : NULL);
	if (o)
		json_decision(s, o);
	g_string_append_printf(s, ",\"truncated\":%s", it->truncated ? "true" : "false");
	json_field(s, "error", r->ok ? NULL : r->error ? r->error->message : "failed");
	g_string_append(s, "}\n");
}

void sm_replay_text(GString *s, const SmReplayResult *r)
{
	g_autofree char *pos = sm_replay_position(r->item);
	const SmOutcome *o = r->out;
	g_string_append_printf(s, "#%" G_GUINT64_FORMAT " %s %s", r->n, pos,
	                       sm_replay_result_word(r));
	if (o && o->decided) {
		const SmVerdict *v = &o->decision.verdict;
		g_autofree char *to = sm_log_token(o->rcpt.address);
		g_string_append_printf(s, " folder=%s to=%s verdict=%s",
		                       o->decision.discard ? "(discard)" : o->decision.folder, to,
		                       sm_pipeline_verdict_word(v));
		if (v->source != SM_VERDICT_NONE)
			g_string_append_printf(s, " score=%.1f", v->score);
		g_string_append_printf(s, " via=%s", sm_pipeline_via(v));
	}
	if (o && o->reply.state)
		g_string_append_printf(s, " reply=%s", o->reply.state);
	if (o && o->outbound.pipe_state)
		g_string_append_printf(s, " pipe=%s", o->outbound.pipe_state);
	if (o && o->outbound.forward_state)
		g_string_append_printf(s, " forward=%s", o->outbound.forward_state);
	if (r->item->truncated)
		g_string_append(s, " truncated");
	g_string_append_c(s, '\n');
}

/* ---- summary and progress ------------------------------------------------ */

static gint by_name(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The counter names, sorted (borrowed from @t). */
static GPtrArray *sorted_keys(const SmReplayTally *t)
{
	GPtrArray *keys = g_ptr_array_new();
	GHashTableIter it;
	gpointer k;
	g_hash_table_iter_init(&it, t->counts);
	while (g_hash_table_iter_next(&it, &k, NULL))
		g_ptr_array_add(keys, k);
	g_ptr_array_sort(keys, by_name);
	return keys;
}

static void summary_line(GString *s, const SmReplayTally *t, const char *title,
                         const char *prefix)
{
	gsize plen = strlen(prefix);
	g_autoptr(GPtrArray) keys = sorted_keys(t);
	gboolean any = FALSE;
	g_string_append_printf(s, "  %-12s", title);
	for (guint i = 0; i < keys->len; i++) {
		const char *k = keys->pdata[i];
		if (strncmp(k, prefix, plen) != 0)
			continue;
		g_string_append_printf(s, "%s%s %" G_GUINT64_FORMAT, any ? ", " : "", k + plen,
		                       sm_replay_tally_get(t, k));
		any = TRUE;
	}
	g_string_append(s, any ? "\n" : "none\n");
}

void sm_replay_summary(GString *s, const SmReplayTally *t, double seconds)
{
	guint64 n = sm_replay_tally_get(t, "messages");
	g_string_append_printf(s, "replayed %" G_GUINT64_FORMAT " message%s in %.2f s (%.0f/s)\n",
	                       n, n == 1 ? "" : "s", seconds, seconds > 0 ? n / seconds : 0.0);
	summary_line(s, t, "results:", "result:");
	g_autoptr(GPtrArray) keys = sorted_keys(t);
	g_string_append(s, "  folder       messages\n");
	for (guint i = 0; i < keys->len; i++) {
		const char *k = keys->pdata[i];
		if (g_str_has_prefix(k, "folder:"))
			g_string_append_printf(s, "  %-12s %8" G_GUINT64_FORMAT "\n", k + 7,
			                       sm_replay_tally_get(t, k));
	}
	summary_line(s, t, "verdicts:", "via:");
	summary_line(s, t, "replies:", "reply:");
	guint64 failed = sm_replay_tally_get(t, "result:failed");
	guint64 inputs = sm_replay_tally_get(t, "input-errors");
	g_string_append_printf(s, "  errors:     %" G_GUINT64_FORMAT " (messages %" G_GUINT64_FORMAT
	                       ", inputs %" G_GUINT64_FORMAT ")\n", failed + inputs, failed, inputs);
	guint64 cut = sm_replay_tally_get(t, "truncated");
	if (cut)
		g_string_append_printf(s, "  warnings:   %" G_GUINT64_FORMAT " possibly truncated\n", cut);
}

void sm_replay_progress(guint64 done, gint64 total, double seconds)
{
	double rate = seconds > 0 ? done / seconds : 0;
	char line[160];
	if (total > 0) {
		double left = rate > 0 ? (total - (gint64)done) / rate : 0;
		int width = 30, fill = (int)(width * (double)done / (double)total);
		char bar[32];
		memset(bar, '#', MIN(fill, width));
		memset(bar + MIN(fill, width), '.', width - MIN(fill, width));
		bar[width] = '\0';
		g_snprintf(line, sizeof line,
		           "\r[%s] %" G_GUINT64_FORMAT "/%" G_GINT64_FORMAT " %.0f msg/s ETA %d:%02d \033[K",
		           bar, done, total, rate, (int)left / 60, (int)left % 60);
	} else {
		g_snprintf(line, sizeof line, "\r%" G_GUINT64_FORMAT " messages %.0f msg/s \033[K", done,
		           rate);
	}
	(void)sm_write_all(STDERR_FILENO, line, strlen(line));
}

void sm_replay_progress_clear(void)
{
	static const char erase[] = "\r\033[K";
	(void)sm_write_all(STDERR_FILENO, erase, sizeof erase - 1);
}
