/* rebroadcast.h: the parts of a rule's "rebroadcast LIST" action
 * (sortmail.conf(5) "list") that outbound.c puts together: reading the
 * members and moderators files, deciding whether a post may go out, and
 * building the copy that goes to the members.
 *
 * Contract: nothing here sends or files; everything but
 * sm_list_read_addresses() is a pure function of its arguments. The copy
 * built for the members never carries a header line whose text came from
 * the message unless it was already a header line of the message: the added
 * headers take their values from the configuration only (checked when it was
 * parsed), and the subject tag goes into the message's own Subject field.
 */
#ifndef SM_REBROADCAST_H
#define SM_REBROADCAST_H

#include <glib.h>
#include "sortmail/sortmail.h"

/* Appends the addresses of a members or moderators file's text to @out
 * (char *, as written; one that is already there, in any case, is skipped):
 * one address per line, blank lines ignored, '#' starts a comment, spaces
 * around an address ignored. Each must be plain (sm_address_is_plain()).
 * FALSE with "NAME:LINE: ..." in @error (SM_CONFIG_ERROR) on a bad line or a
 * NUL byte; @out may then hold the lines before it. */
gboolean sm_list_parse_addresses(const char *text, gsize len, const char *name,
                                 GPtrArray *out, GError **error);
/* The same from the file at @path (its read errors as "PATH: ..."). */
gboolean sm_list_read_addresses(const char *path, GPtrArray *out, GError **error);

/* The address a From: field's value names: the first angle-addr outside
 * quoted strings and comments, else the first bare addr-spec, comments
 * removed. NULL when there is none. Newly allocated. */
char *sm_list_from_address(const char *value);

/* Why @m, which rule @r's list @l would rebroadcast, must not go out, judged
 * on the message alone (no files): a static state for the log, or NULL when
 * it may (then only the sender remains to be checked):
 *   "suppressed:loop"  it carries @l's List-Id: it came through this list
 *   "held:unscored"    no verdict, so spam cannot be ruled out
 *   "held:spam"        (the configuration routes spam away before this)
 *   "held:automatic"   the null sender, Auto-Submitted other than "no", or
 *                      Precedence bulk, junk or list
 * *@detail gets the evidence (newly allocated) or NULL. */
const char *sm_list_screen(const SmList *l, const SmEnvelope *env, const SmMessage *m,
                           const SmVerdict *v, char **detail);

/* TRUE when the address of @m's From: or the envelope sender is in @allowed
 * (char *; compared without regard to case). *@who (newly allocated) names
 * the From address and the envelope sender, for the log. */
gboolean sm_list_sender_allowed(const GPtrArray *allowed, const SmEnvelope *env,
                                const SmMessage *m, char **who);

/* The copy for the members, newly allocated (*@len bytes, NUL-terminated):
 * "X-Sortmail-Loop: @loop_value", @prefix (the X-Spam headers), List-Id,
 * List-Post, Precedence: list, then the message with its own List-* fields,
 * Precedence and Return-Path left out and, with a tag, the tag put in front
 * of the first Subject unless the subject already holds it (any case); a
 * message without Subject gets "Subject: TAG". */
char *sm_list_build_copy(const SmList *l, const SmMessage *m, const char *prefix,
                         const char *loop_value, gsize *len);

#endif
