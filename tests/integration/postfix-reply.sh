#!/bin/sh
# postfix-reply: an automatic reply really travels through Postfix (issue 5),
# with the private instance of postfix-lib.sh.
#
# sortmail files a question to training@example.com and answers it with the
# stock "information" template through Postfix's own sendmail(1), pointed at
# the instance with -C. Postfix takes the reply (null envelope sender) and
# delivers it to the asker, asker@example.com, which the instance maps to the
# test user: local(8) runs sortmail again, as that user, and the reply lands in
# the test user's Maildir, where we check its headers. The test user's own
# rule would answer asker@ mail too, and does not: a reply to a reply never
# happens. A second question from the same asker is filed and not answered.
#
# The answering sortmail runs as root, not under local(8): Postfix's postdrop
# accepts a private configuration directory only from root unless the
# system's own main.cf lists it (alternate_config_directories), and a test
# must not edit the system's configuration. Skips when postfix-lib.sh does.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/postfix-lib.sh"

SENDMAIL=$(postconf -d -h sendmail_path 2>/dev/null)
[ -x "$SENDMAIL" ] || skip_all "no Postfix sendmail at '$SENDMAIL'"

# header NAME FILE: the value of the first NAME: field of FILE's header block.
header() { sed -n '/^$/q; p' "$2" | grep -m 1 -i "^$1: " | sed "s/^[^:]*: //"; }

# ---- the asker's side: the test user, under local(8) --------------------------

_home=$HOME
new_home "$H"
write_config <<CONF
unplus ^sortmail-test\\+for-example\\+(.+)@ \$1@example.com
personal asker@example.com
log-file ~/sortmail.log
rule to ^asker@ autorespond vacation noscore
CONF
chown -R "$TEST_UID:$TEST_GID" "$H"
ASKER_LOG=$H/sortmail.log
ASKER_MAILDIR=$H/Maildir

# ---- the answering side: root, with sendmail -C the instance -------------------

new_home "$T/training"
write_config <<CONF
log-file ~/sortmail.log
personal fred@example.com
sendmail $SENDMAIL -C $ETC
sendmail-timeout 30s
rule to ^training@ autorespond information folder training noscore
CONF
SLOG=$HOME/sortmail.log

start_instance
diag "Postfix $(postconf -d -h mail_version), config $ETC, sendmail $SENDMAIL"

# ---- the reply ----------------------------------------------------------------

cat > "$T/ask.eml" <<EOF
Return-Path: <asker@example.com>
Delivered-To: training@example.com
From: =?utf-8?q?J=C3=BCrgen_Asker?= <asker@example.com>
To: training@example.com
Subject: =?utf-8?q?Kurse_f=C3=BCr_Anf=C3=A4nger?=
Message-ID: <ask-1@example.com>
Date: Mon, 1 Jan 2024 10:00:00 +0000

Which courses do you have for beginners?
EOF
env_sender=asker@example.com
env_recipient=fred@example.com
deliver < "$T/ask.eml"
expect_rc 0 "the question: exit 0"
check "the question is filed in .training" one_new_in training
if grep -q ' reply=sent reply_template=information' "$SLOG"; then
	ok "sortmail logged reply=sent"
else
	not_ok "sortmail logged reply=sent"
	diag_file "$SLOG"
fi
reply_filed() { [ "$(count_all_new "$ASKER_MAILDIR")" -ge 1 ]; }
if wait_for 60 reply_filed && wait_for 30 queue_empty; then
	ok "the reply went through Postfix into the asker's Maildir"
else
	not_ok "the reply went through Postfix into the asker's Maildir"
	grep -E 'from=|status=|warning|fatal' "$MAILLOG" | tail -n 10 | cut -c1-300 | sed 's/^/#   /'
fi
R=$(new_files "$ASKER_MAILDIR" | head -n 1)
[ -n "$R" ] || R=/dev/null
wait_for 10 log_has 1 "to=<$TEST_USER\\+for-example\\+asker@$FQDN>.*status=sent" || true
if grep -q "from=<>" "$MAILLOG" \
	&& grep -q "orig_to=<asker@example.com>.*status=sent (delivered to command" "$MAILLOG"; then
	ok "Postfix took it with from=<> and delivered it to the asker's command"
else
	not_ok "Postfix took it with from=<> and delivered it to the asker's command"
	grep -E 'from=|status=' "$MAILLOG" | tail -n 5 | cut -c1-300 | sed 's/^/#   /'
fi
check "the asker's sortmail saw the null sender (from=-)" \
	grep -q " delivered .* to=asker@example.com from=- .* folder=inbox " "$ASKER_LOG"
check "Delivered-To: the asker, by Postfix" \
	test "$(header Delivered-To "$R")" = "$TEST_USER+for-example+asker@$FQDN"
check "To: the asker" test "$(header To "$R")" = "asker@example.com"
check "From: the original recipient" test "$(header From "$R")" = "training@example.com"
check "Auto-Submitted: auto-replied" test "$(header Auto-Submitted "$R")" = "auto-replied"
check "In-Reply-To: the question's Message-ID" test "$(header In-Reply-To "$R")" = "<ask-1@example.com>"
check "References: the question's Message-ID" test "$(header References "$R")" = "<ask-1@example.com>"
check "Message-ID: a fresh one at example.com" \
	grep -i -q '^Message-Id: <[^@ ]*@example.com>$' "$R"
check "Date: present" test -n "$(header Date "$R")"
check "X-Auto-Response-Suppress from the stock normal_header" \
	test "$(header X-Auto-Response-Suppress "$R")" = "OOF, AutoReply"
check "MIME-Version: 1.0" test "$(header MIME-Version "$R")" = "1.0"
check "text/plain; charset=utf-8" test "$(header Content-Type "$R")" = "text/plain; charset=utf-8"
if command -v python3 > /dev/null; then
	subject=$(python3 -c '
import email, email.header, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
print(str(email.header.make_header(email.header.decode_header(m["Subject"]))))' "$R")
	check "the non-ASCII subject decodes back" \
		test "$subject" = "Course information (re: Kurse für Anfänger)"
else
	skip "the non-ASCII subject decodes back" "no python3"
fi
check "the body is the stock information reply" \
	grep -q '^Thank you for your interest in our courses' "$R"
check "the asker's own autoresponder did not answer the reply" \
	grep -q ' to=asker@example.com .* reply=suppressed:null-sender ' "$ASKER_LOG"

# ---- a second question: filed, not answered again -------------------------------

sed 's/ask-1@/ask-2@/' "$T/ask.eml" > "$T/ask2.eml"
deliver < "$T/ask2.eml"
expect_rc 0 "the second question: exit 0"
check "both questions are filed" test "$(count_new "$(folder_dir training)")" -eq 2
check "sortmail logged reply=suppressed:recent" grep -q ' reply=suppressed:recent ' "$SLOG"
# sortmail exits only after its sendmail has queued a message, so a second
# reply would be in the queue or delivered by the time the queue is empty.
wait_for 30 queue_empty || true
check "still exactly one reply in the asker's Maildir" \
	test "$(count_all_new "$ASKER_MAILDIR")" -eq 1
check "Postfix bounced nothing" test ! -s "$PMBOX"

stop_instance
check "the instance stopped by itself (nothing left to kill)" test -z "$KILLED"
done_testing
