/* render.h: one message as the rules see it (scorer module only).
 *
 * Headers come from the message's own header block (common/message.h), in
 * order, so MIME headers such as Content-Type are there too; GMime decodes
 * them. The body text is rendered once, on first use:
 *
 *   the decoded Subject, then every text/plain part, then every text/html
 *   part made into plain text (tags dropped, <script>/<style> dropped, common
 *   entities decoded); transfer encodings and charsets undone (UTF-8 out;
 *   bytes still not UTF-8 after that are taken as Latin-1); parts marked as
 *   attachments skipped; message/rfc822 parts descended into. Each part
 *   gives at most its first 50 000 bytes of text (as SpamAssassin's
 *   body_part_scan_size), so scoring time does not grow with message size.
 *
 * Text is laid out one paragraph per line: lines of a paragraph are joined
 * with a space, runs of white space become one space, NUL bytes become
 * spaces. SpamAssassin matches body rules per paragraph; one multiline match
 * over this layout gives the same ^ and $ at a fraction of the calls.
 *
 * Broken input never fails: a message GMime cannot parse at all (no header
 * block) is rendered as its raw bytes.
 */
#ifndef SM_RENDER_H
#define SM_RENDER_H

#include <glib.h>

typedef enum {
	SM_HDR_DECODED, /* RFC 2047-decoded and unfolded */
	SM_HDR_RAW,     /* as written: not decoded, folding kept */
	SM_HDR_ADDR,    /* the addresses (addr-spec), one per line */
	SM_HDR_NAME,    /* the display names, one per line */
} SmHeaderForm;

typedef struct SmRender SmRender;

/* Borrows @data, which must outlive the SmRender. */
SmRender *sm_render_new(const char *data, gsize len);
void sm_render_free(SmRender *r);

/* Every field called @field (case-insensitive) in @form, several joined with
 * "\n"; NULL when there is none. Pseudo-fields: "ALL" (every header as
 * "Name: value" lines; DECODED or RAW) and "ToCc" (To and Cc).
 * Newly allocated. */
char *sm_render_header(SmRender *r, const char *field, SmHeaderForm form);

/* The body text described above, computed on the first call; owned by @r. */
const GString *sm_render_body(SmRender *r);

/* html.c: appends @html (UTF-8) to @out as text, with "\n\n" where a block
 * element (paragraph, line break, list item, table row...) ends a paragraph. */
void sm_html_to_text(const char *html, gsize len, GString *out);

#endif
