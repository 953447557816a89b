/* fuzz-mbox.c: the mbox reader of `sortmail replay` (lda/mbox-read.h).
 *
 * The input is read as an mbox under both quoting conventions, then taken
 * as one message, written twice into an mbox with mboxrd quoting as
 * mbox-read.h describes the writer, and read back.
 *
 * Invariants of a read: it ends; messages start in order, the first at 0 or
 * at a From_ line, every later one at a From_ line at the start of a line;
 * a message that needed no un-quoting is a slice of the input after its
 * start; un-quoting only removes bytes; only the last message may be
 * truncated; the From_ sender has no line end. Round trip: exactly
 * the two messages come back, each the input (with a final newline added
 * when it had none), neither truncated, with the sender written.
 */
#include "config.h"
#include "tests/fuzz/fuzz.h"
#include "lda/mbox-read.h"

#define SENDER "fuzz@example.org"
#define FROM_LINE "From " SENDER " Mon Jan  1 10:00:00 2024\n"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

static void check_read(const char *data, size_t size, SmMboxFormat format)
{
	SmMboxReader r;
	SmMboxMessage m;
	guint lines = 1, count = 0;
	gboolean last_truncated = FALSE;
	gsize last_offset = 0;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	sm_mbox_reader_init(&r, data, size, format);
	while (sm_mbox_next(&r, &m)) {
		FUZZ_CHECK(!last_truncated);  /* only the last one */
		FUZZ_CHECK(++count <= lines);
		FUZZ_CHECK(m.offset < size && (count == 1 || m.offset > last_offset));
		const char *start = data + m.offset;
		const char *nl = memchr(start, '\n', size - m.offset);
		gboolean from = sm_mbox_is_from_line(start, nl ? (gsize)(nl - start) + 1
		                                               : size - m.offset);
		FUZZ_CHECK(count == 1 ? m.offset == 0 : from && data[m.offset - 1] == '\n');
		FUZZ_CHECK((m.from_sender != NULL) <= from);
		FUZZ_CHECK(!m.from_sender || (*m.from_sender && !strpbrk(m.from_sender, "\r\n")));
		FUZZ_CHECK(m.len <= size - m.offset);
		if (m.unquoted) {
			FUZZ_CHECK(m.unquoted <= lines && m.data == m.owned);
		} else {
			FUZZ_CHECK(m.data >= start && m.data + m.len <= data + size);
		}
		last_truncated = m.truncated;
		last_offset = m.offset;
		sm_mbox_message_clear(&m);
	}
	FUZZ_CHECK(r.pos == size);
}

/* mboxrd, as mbox-read.h says the writer does it: '>' before every line
 * matching ^>*From , a newline added if the message lacks its last one, then
 * the empty separator line. */
static void append_mboxrd(GString *out, const char *msg, gsize len)
{
	g_string_append(out, FROM_LINE);
	for (gsize i = 0; i < len;) {
		const char *nl = memchr(msg + i, '\n', len - i);
		gsize n = nl ? (gsize)(nl - msg - i) + 1 : len - i;
		gsize q = 0;
		while (q < n && msg[i + q] == '>')
			q++;
		if (n - q >= 5 && memcmp(msg + i + q, "From ", 5) == 0)
			g_string_append_c(out, '>');
		g_string_append_len(out, msg + i, n);
		i += n;
	}
	if (len == 0 || msg[len - 1] != '\n')
		g_string_append_c(out, '\n');
	g_string_append_c(out, '\n');
}

static void check_round_trip(const char *msg, size_t size)
{
	g_autoptr(GString) mbox = g_string_new(NULL);
	append_mboxrd(mbox, msg, size);
	append_mboxrd(mbox, msg, size);
	g_autoptr(GString) expected = g_string_new_len(msg, size);
	if (size == 0 || msg[size - 1] != '\n')
		g_string_append_c(expected, '\n');

	SmMboxReader r;
	SmMboxMessage m;
	sm_mbox_reader_init(&r, mbox->str, mbox->len, SM_MBOX_MBOXRD);
	for (int i = 0; i < 2; i++) {
		FUZZ_CHECK(sm_mbox_next(&r, &m));
		FUZZ_CHECK(!m.truncated && m.from_sender && strcmp(m.from_sender, SENDER) == 0);
		FUZZ_CHECK(m.len == expected->len && memcmp(m.data, expected->str, m.len) == 0);
		sm_mbox_message_clear(&m);
	}
	FUZZ_CHECK(!sm_mbox_next(&r, &m));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_read((const char *)data, size, SM_MBOX_MBOXRD);
	check_read((const char *)data, size, SM_MBOX_MBOXO);
	check_round_trip((const char *)data, size);
	return 0;
}
