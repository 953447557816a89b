/* render.h: one message as the rules see it (scorer module only).
 *
 * Rendered once per message, each view on first use, as SpamAssassin does:
 *
 * Headers come from the message's own header block (common/message.h), in
 * order, so MIME headers such as Content-Type are there too; GMime decodes
 * them.
 *
 * Body (body rules): the decoded Subject, then every text/plain part, then
 * every text/html part made into plain text (html.c: tags, <script>, <style>,
 * comments and display:none elements dropped, entities decoded); transfer
 * encodings and charsets undone (UTF-8 out; bytes still not UTF-8 after that
 * are taken as Latin-1); parts marked as attachments skipped; message/rfc822
 * parts descended into. Each part gives at most its first 50 000 bytes of
 * text (as SpamAssassin's body_part_scan_size), so scoring time does not grow
 * with message size. Text is laid out one paragraph per line: lines of a
 * paragraph are joined with a space, runs of white space become one space,
 * NUL bytes become spaces. SpamAssassin matches body rules per paragraph;
 * one multiline match over this layout gives the same ^ and $ at a fraction
 * of the calls.
 *
 * Raw body (rawbody rules): the same text parts in MIME order, transfer
 * encoding undone but nothing else (charset as sent, HTML tags kept, lines as
 * they are), at most 50 000 bytes each, NUL bytes made spaces.
 *
 * URIs (uri rules): every URI in the body text (scheme://..., www.* and
 * ftp.* hosts, mail addresses as mailto:) and in HTML attributes (href, src,
 * action, background), canonicalised by uri.h; each distinct one once.
 *
 * Full (full rules): the message as received.
 *
 * Broken input never fails: a message GMime cannot parse at all (no header
 * block) is rendered as its raw bytes.
 */
#ifndef SM_RENDER_H
#define SM_RENDER_H

#include <glib.h>

typedef enum {
	SM_HDR_DECODED, /* RFC 2047-decoded and unfolded; a CR or LF that decoding
	                 * brings is a space, so one field stays one line */
	SM_HDR_RAW,     /* as written: not decoded, folding kept */
	SM_HDR_ADDR,    /* the addresses (addr-spec), one per line */
	SM_HDR_NAME,    /* the display names, one per line (CR, LF made spaces) */
} SmHeaderForm;

/* Which of several fields of one name a rule sees. */
typedef enum {
	SM_HDR_EVERY,   /* all of them, joined with "\n" */
	SM_HDR_FIRST,
	SM_HDR_LAST,
	SM_HDR_PARTS,   /* of every MIME part, each apart (sm_render_part_headers) */
} SmHeaderPick;

typedef struct SmRender SmRender;

/* Borrows @data, which must outlive the SmRender. */
SmRender *sm_render_new(const char *data, gsize len);
void sm_render_free(SmRender *r);

/* Every field called @field (case-insensitive) in @form, several joined with
 * "\n" (or the one @pick says); NULL when there is none. Pseudo-fields,
 * whose names are case-sensitive as in SpamAssassin (a header called
 * "MessageID" is a real, if malformed, one):
 * "ALL" (every header as "Name: value" lines; DECODED or RAW), "ToCc" (To
 * and Cc), "MESSAGEID" (Message-Id, Resent-Message-Id, X-Message-Id),
 * "EnvelopeFrom" (the envelope sender as the headers record it), and
 * "X-Spam-Relays-Trusted/Untrusted/Internal/External" (relays.c).
 * Newly allocated. */
char *sm_render_header(SmRender *r, const char *field, SmHeaderForm form, SmHeaderPick pick);

/* The field @field of every MIME part that has one (the top-level part
 * included, inner messages descended into), in @form (DECODED or RAW), in
 * MIME order. New array of char *. */
GPtrArray *sm_render_part_headers(SmRender *r, const char *field, SmHeaderForm form);

/* The body text described above, computed on the first call; owned by @r. */
const GString *sm_render_body(SmRender *r);

/* How many bytes at the start of the body text are the Subject line
 * (its newline included); 0 when there is no Subject. */
gsize sm_render_body_subject_len(SmRender *r);

/* The raw body described above; owned by @r. */
const GString *sm_render_rawbody(SmRender *r);

/* The URIs described above (char *, canonical forms); owned by @r. */
const GPtrArray *sm_render_uris(SmRender *r);

/* The whole message as received; owned by the caller of sm_render_new(). */
const char *sm_render_full(SmRender *r, gsize *len);

/* ---- html.c ------------------------------------------------------------------ */

/* Appends @html (UTF-8) to @out as text, with "\n\n" where a block element
 * (paragraph, line break, list item, table row...) ends a paragraph; when
 * @uris is not NULL, appends to it (char *, newly allocated, entities
 * decoded, as written otherwise) every URI of an href, src, action or
 * background attribute, hidden elements included. */
void sm_html_render(const char *html, gsize len, GString *out, GPtrArray *uris);

/* sm_html_render() without the URIs. */
void sm_html_to_text(const char *html, gsize len, GString *out);

#endif
