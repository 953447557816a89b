/* uri.h: URIs as uri rules see them (scorer module only).
 *
 * Found in text: scheme URIs (http, https, ftp, mailto, file), host names
 * starting "www." or "ftp." without a scheme, bare host names whose last
 * label is a common top-level domain ("example.com/path"), and mail
 * addresses (as "mailto:ADDRESS"). A URI ends at white space, a quote or an
 * angle bracket; trailing punctuation (".,;:!?" and an unbalanced ")") is
 * not part of it.
 *
 * Canonical forms, as SpamAssassin lists them for its uri rules; each URI
 * gives the first and those that differ from it:
 *   1. as written, trimmed, with white space inside removed, "http:\\" and
 *      "http:/" made "http://", and a scheme added to "www." ("http://")
 *      and "ftp." ("ftp://") hosts;
 *   2. with user information ("user:password@") dropped, %-escapes in the
 *      host decoded, the host lowercased and its final dot dropped;
 *   3. with every %-escape decoded;
 *   4. for a redirector, the URI it points to (an http(s):// inside the
 *      query or path, possibly %-encoded), canonicalised in turn.
 */
#ifndef SM_URI_H
#define SM_URI_H

#include <glib.h>

/* Appends to @out (char *, newly allocated) every URI written in @text. */
void sm_uri_find(const char *text, gsize len, GPtrArray *out);

/* The canonical forms of every URI of @uris, each distinct one once, in
 * order (char *). New array, owning its strings. */
GPtrArray *sm_uri_canonical_list(const GPtrArray *uris);

#endif
