/* fuzz-recipient.c: original-recipient recovery and the folder it leads to
 * (sortmail/sortmail.h), with un-plus rules and rules whose folder comes
 * from captures of the recipient, for a Maildir and an mbox configuration.
 *
 * Input: line 1 the -a value (none when empty; "-" first means it came
 * from ORIGINAL_RECIPIENT instead), line 2 the envelope recipient, the rest
 * the message (Delivered-To, X-Original-To, To/Cc for "vacation").
 *
 * Invariants: the recovered address has no control character and no space
 * or angle bracket at either end; it is "" exactly when the source is none;
 * the un-plus rule named is one of the configuration's. The decision is the
 * first matching rule's, or the inbox; its folder is "inbox" or a valid
 * name (no '/', no leading dot, no control character), and the path it
 * makes is inside the mailbox root.
 */
#include "config.h"
#include "tests/fuzz/fuzz.h"
#include "sortmail/sortmail.h"

static const char rules_text[] =
	"unplus ^merlyn\\+for-stonehenge\\+(.+)@ $1@stonehenge.com\n"
	"unplus ^(\\w+)\\+[^@]*@(example\\.org)$ ${1}@$2\n"
	"unplus ^catchall@ $1\n"
	"unplus ^(.*)-lists@(.*)$ $1@$2\n"
	"personal fred@example.org @Stonehenge.com\n"
	"rule to ^list-(.*)@ folder lists.$1\n"
	"rule to ^([^@]+)@lists\\. folder $1\n"
	"rule to ^[^+]+\\+([^@]*)@ !from ^$ folder $1\n"
	"rule to ^(.)(.)(.)@ folder $3$2$1.$9\n"
	"rule header X-Folder ^(.+)$ to ^(.*)$ folder x.$1\n"
	"rule header Subject ^vacation to @ autorespond vacation vacation\n";

static SmConfig *maildir, *mbox;

static SmConfig *config(const char *first_line)
{
	g_autofree char *text = g_strconcat(first_line, rules_text, NULL);
	SmEnvelope env = { .home = (char *)"/home/fuzz", .recipient = (char *)"fred@example.org" };
	g_autoptr(GError) error = NULL;
	SmConfig *c = sm_config_parse(text, "fuzz-recipient", &env, &error);
	if (!c) {
		fprintf(stderr, "fuzz-recipient: %s\n", error->message);
		abort();
	}
	return c;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	maildir = config("maildir /home/fuzz/Maildir\n");
	mbox = config("mbox /home/fuzz/Mail\n");
	return 0;
}

static void check_address(const SmConfig *c, const SmRecipient *r)
{
	const char *a = r->address;
	FUZZ_CHECK(a != NULL);
	FUZZ_CHECK(!fuzz_has_control(a));
	gsize n = strlen(a);
	FUZZ_CHECK(n == 0 || (!strchr(" <>", a[0]) && !strchr(" <>", a[n - 1])));
	FUZZ_CHECK((n == 0) == (r->source == SM_RCPT_NONE));
	FUZZ_CHECK(strcmp(sm_recipient_source_name(r->source), "none") != 0 ||
	           r->source == SM_RCPT_NONE);
	gboolean known = r->unplus == NULL;
	for (guint i = 0; !known && i < c->unplus->len; i++)
		known = r->unplus == c->unplus->pdata[i];
	FUZZ_CHECK(known);
}

/* The folder is the inbox or a valid name whose path stays in the root. */
static void check_folder(const SmConfig *c, const char *folder)
{
	FUZZ_CHECK(folder != NULL);
	if (strcmp(folder, "inbox") == 0) {
		g_autofree char *path = sm_folder_path(c, folder);
		FUZZ_CHECK(strcmp(path, c->format == SM_FORMAT_MBOX ? c->mbox_inbox
		                                                    : c->mailbox_root) == 0);
		return;
	}
	FUZZ_CHECK(sm_folder_name_valid(folder) && !sm_folder_is_inbox(folder));
	FUZZ_CHECK(!strchr(folder, '/') && folder[0] != '.' && !fuzz_has_control(folder));
	g_autofree char *path = sm_folder_path(c, folder);
	g_autofree char *dir = g_path_get_dirname(path);
	FUZZ_CHECK(strcmp(dir, c->mailbox_root) == 0);
	g_autofree char *base = g_path_get_basename(path);
	FUZZ_CHECK(strcmp(base, ".") != 0 && strcmp(base, "..") != 0);
}

static void decide(const SmConfig *c, const SmEnvelope *env, const SmMessage *m)
{
	SmRecipient r;
	sm_recipient_recover(c, env, m, &r);
	check_address(c, &r);
	(void)sm_is_personal(c, r.address);
	(void)sm_autorespond_addressed_to_me(c, m);

	SmDecision d;
	sm_decide(c, env, m, r.address, NULL, NULL, &d);
	FUZZ_CHECK(!d.discard && d.verdict.source == SM_VERDICT_NONE && d.note);
	FUZZ_CHECK(d.rule == sm_decide_first_rule(c, env, m, r.address));
	check_folder(c, d.folder);
	if (d.reply) {
		FUZZ_CHECK(d.reply == d.rule && d.reply->autorespond);
		g_autofree char *detail = NULL;
		(void)sm_autorespond_veto(c, d.reply, env, m, NULL, &detail);
	}
	sm_decision_clear(&d);
	sm_recipient_clear(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *option = fuzz_take_line(&data, &size);
	g_autofree char *recipient = fuzz_take_line(&data, &size);
	SmEnvelope env = {
		.sender = (char *)"sender@example.net",
		.recipient = recipient,
		.original_recipient = option && *option ? option + (option[0] == '-') : NULL,
		.original_from_option = option && *option && option[0] != '-',
		.user = (char *)"fuzz",
		.home = (char *)"/home/fuzz",
	};
	SmMessage m;
	sm_message_index(&m, (const char *)data, size);
	decide(maildir, &env, &m);
	decide(mbox, &env, &m);
	sm_message_clear(&m);
	return 0;
}
