/* spamd.h: asking a running spamd (SpamAssassin's daemon) for a verdict, as a
 * peer of the local rules (scorer module only).
 *
 * Configuration (scorer settings, "FILE:LINE: keyword args" as sortmail's
 * config hands them over; other keywords are not ours and are ignored):
 *   spamd HOST:PORT | [IPV6]:PORT | /path/to/unix/socket
 *   spamd-timeout SECONDS     connect + the whole exchange; default 10
 *   spamd-mode replace | add  default replace (see sm_spamd_score)
 *   spamd-user NAME           the User: sent; default the process's user
 *
 * Protocol: SPAMC/1.5, command SYMBOLS, over TCP or a Unix socket, one
 * request per connection. The message bytes are sent from the caller's
 * buffer (no copy). Everything, name lookup included, happens before one
 * deadline; nothing here ever blocks past it. Messages over 500 KB are not
 * sent (spamc's limit too): they get the local score alone, without a note.
 *
 * Code: spamd.c (settings, verdicts), spamd-net.c (the exchange),
 * spamd-reply.c (the reply).
 *
 * spamd is advisory: when it cannot be asked (down, refusing, slow, silent,
 * garbage, a non-zero status, a bad setting), the local score stands, the
 * verdict carries the rule SM_SPAMD_FAILED_RULE (score 0) and a note saying
 * why, and scoring succeeds.
 */
#ifndef SM_SPAMD_H
#define SM_SPAMD_H

#include <glib.h>
#include "common/verdict.h"

/* Added to a verdict whose spamd part is missing; scores nothing. */
#define SM_SPAMD_FAILED_RULE SM_RULE_SPAMD_UNAVAILABLE

typedef enum {
	SM_SPAMD_REPLACE, /* spamd's score and rules are the verdict */
	SM_SPAMD_ADD      /* spamd's score is added to the local one, rules merged */
} SmSpamdMode;

typedef struct SmSpamd SmSpamd;

/* What spamd answered. */
typedef struct {
	double score;
	double threshold;   /* spamd's own; informational, sortmail's threshold rules */
	gboolean is_spam;   /* likewise */
	GPtrArray *rules;   /* char *, rule names as spamd listed them; owned */
} SmSpamdReply;

void sm_spamd_reply_clear(SmSpamdReply *r);

/* Reads the spamd keywords among @settings (NULL-terminated, never NULL).
 * Returns NULL when there is no "spamd" line: spamd is not used. A bad line
 * is appended to @problems as "FILE:LINE: message" and makes spamd unused,
 * loudly: every verdict then carries the note. @required is sortmail's
 * threshold, the one that decides is_spam in both modes. */
SmSpamd *sm_spamd_new(const char *const *settings, double required, GPtrArray *problems);
void sm_spamd_free(SmSpamd *sd);

SmSpamdMode sm_spamd_mode(const SmSpamd *sd);

/* The local scorer, as SmScoreModule.score. */
typedef gboolean (*SmLocalScoreFunc)(void *engine, const char *data, gsize len,
                                     SmVerdict *out, GError **error);

/* Scores @data (a whole message) into @out with spamd and @local:
 * replace: spamd's verdict when it answers (@local is not run), else @local's;
 * add: @local's score plus spamd's, rule names merged, else @local's alone.
 * Fails only when @local fails. */
gboolean sm_spamd_score(SmSpamd *sd, const char *data, gsize len, SmVerdict *out,
                        SmLocalScoreFunc local, void *engine, GError **error);

/* While @trace is set (not NULL), each sm_spamd_score() writes into *@trace
 * (newly allocated, replacing what was there) what spamd answered and how it
 * was used, or why spamd was not asked; for `sortmail explain`. */
void sm_spamd_trace(SmSpamd *sd, char **trace);

/* ---- the parts, for tests ---------------------------------------------- */

/* One exchange with spamd. FALSE with *@why (newly allocated) on any failure. */
gboolean sm_spamd_ask(SmSpamd *sd, const char *data, gsize len, SmSpamdReply *out,
                      char **why);

/* Where spamd is and how to talk to it; all borrowed. */
typedef struct {
	const char *path;         /* Unix socket, or NULL for TCP */
	const char *host, *port;  /* TCP */
	const char *user;         /* the User: line, or NULL for none */
	double timeout;           /* seconds for everything, lookup included */
} SmSpamdPeer;

/* The exchange behind sm_spamd_ask (spamd-net.c): resolve, connect, send
 * SYMBOLS with @data straight from the caller's buffer, read the reply. */
gboolean sm_spamd_exchange(const SmSpamdPeer *peer, const char *data, gsize len,
                           SmSpamdReply *out, char **why);

typedef enum {
	SM_SPAMD_PARSE_OK,
	SM_SPAMD_PARSE_MORE,  /* a valid start: read on */
	SM_SPAMD_PARSE_BAD    /* *why says what */
} SmSpamdParse;

/* Parses a reply to SYMBOLS held in @buf (not NUL-terminated). @closed: the
 * connection has ended, nothing more will come. @out is filled only on OK;
 * *@why (newly allocated) only on BAD. */
SmSpamdParse sm_spamd_parse_reply(const char *buf, gsize len, gboolean closed,
                                  SmSpamdReply *out, char **why);

#endif
