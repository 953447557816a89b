/* fuzz-template.c: bytes as an autoresponse template, rendered by the
 * engine (templates/templates.h) and made into a whole reply by the reply
 * builder (templates/reply.h, the module found through
 * $SORTMAIL_REPLY_MODULE).
 *
 * Input: the template; after a line "==message==" the incoming message
 * (else a fixed one whose headers try to inject fields). The template may
 * INCLUDE the stock templates and three small ones written at start.
 *
 * Invariants: a render gives a result or an error, never both; errors start
 * "NAME:" (the label or a template name), with a line of the input when
 * they name the label and a line; the body is within its bound, header
 * names are distinct and values end in neither CR nor LF. A reply either
 * fails on the template (never on its own header check: the values it
 * takes are cleaned first) or is 7-bit text without CR or NUL whose header
 * block holds only the fields reply.h lists, each once, the mandatory ones
 * present, To: the sender and Auto-Submitted: auto-replied.
 */
#include "config.h"
#include "tests/fuzz/fuzz.h"
#include "templates/reply.h"
#include "templates/templates.h"

#include <unistd.h>

#define LABEL "fuzz"
#define SENDER "asker@example.net"
#define SEPARATOR "\n==message==\n"

static const char fixed_message[] =
	"From: =?utf-8?q?J=C3=BCrgen_=0D=0ABcc:_evil@example.org?= <j@example.net>\n"
	"Subject: =?utf-8?q?line_one=0Aline_two?= and\n"
	" a fold\n"
	"Message-ID: <q-1@example.net>\n"
	"References: <a@example.net>\n <b@example.net>\n"
	"Date: Mon, 1 Jan 2024 10:00:00 +0100\n"
	"X-Mailer: P\xe4per\r\n"
	"\n"
	"body\n";

static char *user_dir;
static GHashTable *vars;

static void write_template(const char *name, const char *text)
{
	g_autofree char *path = g_build_filename(user_dir, name, NULL);
	FUZZ_CHECK(fuzz_write_file(path, text, strlen(text)));
}

static void remove_user_dir(void)
{
	static const char *const names[] = { "inc", "loop", "bad", LABEL, NULL };
	for (const char *const *n = names; *n; n++) {
		g_autofree char *path = g_build_filename(user_dir, *n, NULL);
		unlink(path);
	}
	rmdir(user_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_default_env();
	user_dir = g_dir_make_tmp("fuzz-template-XXXXXX", NULL);
	FUZZ_CHECK(user_dir != NULL);
	atexit(remove_user_dir);
	write_template("inc", "[% head.X-Inc = \"one\\ntwo\\r\\n\" %]included [% to %]\n");
	write_template("loop", "[% INCLUDE loop %]");
	write_template("bad", "[% IF %]");
	vars = sm_template_vars_new();
	sm_template_vars_set(vars, "to", "nobody@example.com");
	sm_template_vars_set(vars, "from", "Fred <fred@example.net>\r\nBcc: x@example.org");
	sm_template_vars_set(vars, "sender", SENDER);
	sm_template_vars_set(vars, "subject", "Meeting\non Tuesday\r\n");
	sm_template_vars_set(vars, "msg.header.Subject", "Meeting\non Tuesday\r\n");
	sm_template_vars_set(vars, "verdict.score", "1.2");
	sm_template_vars_set(vars, "zero", "0");
	sm_template_vars_set(vars, "empty", "");
	/* The reply module is loaded now, before libFuzzer starts counting. */
	SmReplyRequest req = { .data = fixed_message, .len = sizeof fixed_message - 1,
	                       .template_name = "inc", .user_dir = user_dir,
	                       .sender = SENDER, .from_address = SENDER };
	SmReply r = { 0 };
	g_autoptr(GError) error = NULL;
	if (!sm_reply_build(&req, &r, &error)) {
		fprintf(stderr, "fuzz-template: %s\n", error->message);
		abort();
	}
	sm_reply_clear(&r);
	return 0;
}

/* "NAME:" first, NAME the label or a template name; "LABEL:LINE: " names a
 * line of the input. */
static void check_error(const char *msg, guint lines)
{
	const char *colon = strchr(msg, ':');
	FUZZ_CHECK(colon != NULL);
	g_autofree char *name = g_strndup(msg, colon - msg);
	FUZZ_CHECK(strcmp(name, LABEL) == 0 || sm_template_name_valid(name));
	if (strcmp(name, LABEL) != 0 || !g_ascii_isdigit(colon[1]))
		return;
	char *end = NULL;
	guint64 line = g_ascii_strtoull(colon + 1, &end, 10);
	FUZZ_CHECK(line >= 1 && line <= lines && end[0] == ':' && end[1] == ' ');
}

static void check_render(const char *text, gsize len, guint lines)
{
	SmTemplateSource src = {
		.user_dir = user_dir,
		.stock_dir = g_getenv("SORTMAIL_STOCK_TEMPLATES"),
		.lookup = sm_template_vars_lookup,
		.lookup_data = vars,
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(SmTemplateResult) r = sm_template_render_string(&src, LABEL, text, len, &error);
	FUZZ_CHECK((r == NULL) == (error != NULL));
	if (!r) {
		FUZZ_CHECK(error->domain == SM_TEMPLATE_ERROR);
		check_error(error->message, lines);
		return;
	}
	FUZZ_CHECK(r->body && r->body_len <= SM_TEMPLATE_MAX_OUTPUT && r->body[r->body_len] == '\0');
	for (guint i = 0; i < r->headers->len; i++) {
		const SmTemplateHeader *h = r->headers->pdata[i];
		FUZZ_CHECK(h->name && *h->name && h->value);
		gsize n = strlen(h->value);
		FUZZ_CHECK(n == 0 || (h->value[n - 1] != '\r' && h->value[n - 1] != '\n'));
		FUZZ_CHECK(sm_template_result_header(r, h->name) == h->value);
		for (guint j = 0; j < i; j++) {
			const SmTemplateHeader *o = r->headers->pdata[j];
			FUZZ_CHECK(g_ascii_strcasecmp(o->name, h->name) != 0);
		}
	}
}

static gboolean x_field(const char *name)
{
	return g_ascii_strncasecmp(name, "X-", 2) == 0 && name[2];
}

/* The header block of a reply: known fields, each once, the mandatory ones. */
static void check_reply_headers(const char *data, gsize len)
{
	static const char *const mandatory[] = {
		"From", "To", "Subject", "Date", "Message-Id", "Auto-Submitted",
		"MIME-Version", "Content-Type", "Content-Transfer-Encoding", NULL
	};
	static const char *const optional[] = {
		"In-Reply-To", "References", "Reply-To", "Organization", "Content-Language", NULL
	};
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	const char *p = data, *end = data + len;
	for (;;) {
		const char *nl = memchr(p, '\n', end - p);
		FUZZ_CHECK(nl != NULL);  /* the header block ends with an empty line */
		if (nl == p)
			break;
		FUZZ_CHECK(nl - p <= 998);
		if (*p == ' ' || *p == '\t') {
			FUZZ_CHECK(p != data);
			p = nl + 1;
			continue;
		}
		const char *colon = memchr(p, ':', nl - p);
		FUZZ_CHECK(colon && colon > p && colon[1] == ' ');
		g_autofree char *name = g_ascii_strdown(p, colon - p);
		gboolean known = x_field(name);
		for (const char *const *k = mandatory; *k && !known; k++)
			known = g_ascii_strcasecmp(*k, name) == 0;
		for (const char *const *k = optional; *k && !known; k++)
			known = g_ascii_strcasecmp(*k, name) == 0;
		FUZZ_CHECK(known);
		FUZZ_CHECK(!g_hash_table_contains(seen, name));
		if (strcmp(name, "to") == 0)
			FUZZ_CHECK((gsize)(nl - colon - 2) == strlen(SENDER) &&
			           strncmp(colon + 2, SENDER, strlen(SENDER)) == 0);
		if (strcmp(name, "auto-submitted") == 0)
			FUZZ_CHECK(nl - colon - 2 == 12 && strncmp(colon + 2, "auto-replied", 12) == 0);
		g_hash_table_add(seen, g_steal_pointer(&name));
		p = nl + 1;
	}
	for (const char *const *k = mandatory; *k; k++) {
		g_autofree char *lower = g_ascii_strdown(*k, -1);
		FUZZ_CHECK(g_hash_table_contains(seen, lower));
	}
}

static void check_reply(const char *text, gsize len, const char *msg, gsize msg_len,
                        guint lines)
{
	g_autofree char *path = g_build_filename(user_dir, LABEL, NULL);
	FUZZ_CHECK(fuzz_write_file(path, text, len));
	SmReplyRequest req = {
		.data = msg, .len = msg_len,
		.template_name = LABEL,
		.user_dir = user_dir,
		.recipient = "training@example.com",
		.sender = SENDER,
		.from_address = "training@example.com",
		.score = "1.3",
		.message_id = "reply-1@example.com",
		.date = 1704103200,
	};
	SmReply r = { 0 };
	g_autoptr(GError) error = NULL;
	if (!sm_reply_build(&req, &r, &error)) {
		FUZZ_CHECK(error && error->domain == SM_REPLY_ERROR);
		if (error->code != SM_REPLY_ERROR_TEMPLATE)
			fprintf(stderr, "fuzz-template: %s\n", error->message);
		FUZZ_CHECK(error->code == SM_REPLY_ERROR_TEMPLATE);
		FUZZ_CHECK(!r.data && !r.notes);
		check_error(error->message, lines);
		return;
	}
	FUZZ_CHECK(!error && r.data && r.notes && strlen(r.data) == r.len);
	for (gsize i = 0; i < r.len; i++)
		FUZZ_CHECK((guchar)r.data[i] < 0x80 && r.data[i] != '\r');
	check_reply_headers(r.data, r.len);
	for (guint i = 0; i < r.notes->len; i++)
		FUZZ_CHECK(!strchr(r.notes->pdata[i], '\n'));
	sm_reply_clear(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	gsize len = size;
	const char *msg = fixed_message;
	gsize msg_len = sizeof fixed_message - 1;
	const char *sep = memmem(text, len, SEPARATOR, strlen(SEPARATOR));
	if (sep) {
		len = (gsize)(sep - text);
		msg = sep + strlen(SEPARATOR);
		msg_len = size - len - strlen(SEPARATOR);
	}
	guint lines = 1;
	for (gsize i = 0; i < len; i++)
		lines += text[i] == '\n';
	check_render(text, len, lines);
	check_reply(text, len, msg, msg_len, lines);
	return 0;
}
