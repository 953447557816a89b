/* replay-report.h: what `sortmail replay` tells its user: one line (or one
 * JSON object) per message, a progress bar on a terminal, and the summary.
 *
 * The tally is a bag of named counters ("result:stored", "folder:inbox",
 * "via:cached", "reply:sent", ...) so that the workers of --jobs can hand
 * theirs to the parent as text and the parent can add them up. */
#ifndef SM_REPLAY_REPORT_H
#define SM_REPLAY_REPORT_H

#include <glib.h>
#include "pipeline.h"
#include "replay-input.h"

typedef struct {
	GHashTable *counts;  /* char * -> guint64 (as pointer-sized storage); owned */
} SmReplayTally;

void sm_replay_tally_init(SmReplayTally *t);
void sm_replay_tally_clear(SmReplayTally *t);
void sm_replay_tally_add(SmReplayTally *t, const char *name, guint64 n);
guint64 sm_replay_tally_get(const SmReplayTally *t, const char *name);
/* "name\tcount\n" lines, and back (adding). */
char *sm_replay_tally_dump(const SmReplayTally *t);
void sm_replay_tally_load(SmReplayTally *t, const char *text);

/* What became of message number @n (1-based) of the run. */
typedef struct {
	guint64 n;
	const SmReplayItem *item;
	const SmEnvelope *env;
	const SmOutcome *out;   /* NULL when the message failed before the pipeline */
	gboolean ok;            /* FALSE: @error says why it was not stored */
	const GError *error;
	gboolean dry_run;
} SmReplayResult;

/* "stored", "discarded", "duplicate", "decided" (dry run), "passed-on" (a
 * pipe or forward took it, nothing filed) or "failed". */
const char *sm_replay_result_word(const SmReplayResult *r);

/* Counts @r into @t. */
void sm_replay_tally_result(SmReplayTally *t, const SmReplayResult *r);

/* "FILE", "FILE@OFFSET" (mbox) or "DIR/cur/NAME" (Maildir). Newly allocated. */
char *sm_replay_position(const SmReplayItem *item);

/* One JSON object and a newline, or one text line, appended to @s. */
void sm_replay_json(GString *s, const SmReplayResult *r);
void sm_replay_text(GString *s, const SmReplayResult *r);

/* The summary table, for a run of @seconds. */
void sm_replay_summary(GString *s, const SmReplayTally *t, double seconds);

/* The progress bar: @done of @total (-1: unknown) after @seconds, drawn over
 * itself on stderr; sm_replay_progress_clear() erases it. */
void sm_replay_progress(guint64 done, gint64 total, double seconds);
void sm_replay_progress_clear(void);

#endif
