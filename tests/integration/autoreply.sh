#!/bin/sh
# autoreply: the autoresponder through the real binary, with a fake sendmail
# that records its arguments, its input and how many messages were filed when
# it ran. A reply is sent after filing, with a null envelope sender; every
# never-answer condition suppresses it and the log says which; the reply
# memory stops a second reply, also within a burst of concurrent copies; a
# sendmail that fails or hangs, a broken template, a missing sendmail or an
# unusable reply memory cost the reply, never the delivery (exit 0, filed
# once, logged). Also --dry-run and `sortmail cache replies / forget-reply`.
. "$(dirname "$0")/lib.sh"

SENT=$T/sent
FAKE=$T/fake-sendmail
MODE=$T/sendmail-mode
mkdir -p "$SENT"
new_home "$T/home"
LOG=$HOME/sortmail.log
mkdir -p "$HOME/.sortmail/templates"
printf 'Hello\n[%% IF subject %%]\nno end\n' > "$HOME/.sortmail/templates/broken"

# What a Postfix sendmail would need to be judged by: its argv, its input,
# and the number of messages filed at the moment it ran. $MODE makes it fail
# (exit 1, with a message) or hang.
cat > "$FAKE" <<EOF
#!/bin/sh
n=\$\$
printf '%s\n' "\$@" > "$SENT/\$n.argv"
cat > "$SENT/\$n.msg"
find "$ROOT" -path '*/new/*' -type f | wc -l | tr -d ' ' > "$SENT/\$n.filed"
case "\$(cat "$MODE" 2>/dev/null)" in
fail) echo "sendmail: fatal: queue file write error" >&2; exit 1 ;;
hang) sleep 60 ;;
esac
exit 0
EOF
chmod 0755 "$FAKE"

config() {
	write_config <<CONF
personal fred@example.com
log-file $LOG
sendmail $FAKE
sendmail-timeout 2s
$1
rule to ^training@ autorespond information folder training noscore
rule to ^away@ autorespond vacation vacation every 1d noscore
rule to ^nobody autorespond unknown-address folder unknown noscore
rule to ^broken@ autorespond broken folder broken noscore
rule to ^scored@ autorespond information folder scored
CONF
}
config ""

N=0
# question TO [HEADER...]: a new message (fresh Message-ID) to TO in $T/q.eml.
question() {
	N=$((N + 1))
	_to=$1
	shift
	{
		echo "Delivered-To: $_to"
		echo "From: Asker <asker@example.net>"
		echo "To: $_to"
		echo "Subject: Question $N"
		echo "Message-ID: <q-$N@example.net>"
		for _h in "$@"; do echo "$_h"; done
		echo
		echo "Which courses do you have?"
	} > "$T/q.eml"
}

replies() { find "$SENT" -name '*.msg' | wc -l | tr -d ' '; }
last_reply() { ls -t "$SENT"/*.msg 2>/dev/null | head -n 1; }
log_last() { tail -n 1 "$LOG"; }

# expect_logged PATTERN DESCRIPTION: the last log line matches.
expect_logged() {
	if log_last | grep -q -- "$1"; then
		ok "$2"
	else
		not_ok "$2"
		diag "last log line: $(log_last)"
	fi
}

# ---- a reply, after filing ------------------------------------------------------

env_sender=asker@example.net
question training@example.com
deliver < "$T/q.eml"
expect_rc 0 "question: exit 0"
check "question: filed in .training" one_new_in training
check "question: one reply" test "$(replies)" -eq 1
R=$(last_reply)
A=${R%.msg}.argv
check "reply: sendmail -i -f <> -- the envelope sender" \
	test "$(cat "$A" | tr '\n' ' ')" = "-i -f <> -- asker@example.net "
check "reply: sendmail ran after the message was filed" test "$(cat "${R%.msg}.filed")" -eq 1
check "reply: To: the envelope sender" grep -q '^To: asker@example.net$' "$R"
check "reply: From: the original recipient" grep -q '^From: training@example.com$' "$R"
check "reply: Auto-Submitted: auto-replied" grep -q '^Auto-Submitted: auto-replied$' "$R"
check "reply: In-Reply-To the question" grep -q '^In-Reply-To: <q-1@example.net>$' "$R"
check "reply: Subject from the template" \
	grep -q '^Subject: Course information (re: Question 1)$' "$R"
check "reply: the stock information body" grep -q '^Thank you for your interest' "$R"
expect_logged ' delivered .* folder=training .* reply=sent reply_template=information$' \
	"question: logged reply=sent"

# ---- the reply memory -----------------------------------------------------------

question training@example.com
deliver < "$T/q.eml"
expect_rc 0 "second question: exit 0"
check "second question: filed" test "$(count_new "$(folder_dir training)")" -eq 2
check "second question: no second reply" test "$(replies)" -eq 1
expect_logged ' reply=suppressed:recent reply_template=information reply_note="replied to this sender at ' \
	"second question: logged reply=suppressed:recent"

# A sender in another case is the same sender.
env_sender=ASKER@Example.NET
question training@example.com
deliver < "$T/q.eml"
check "the same sender in capitals: no reply" test "$(replies)" -eq 1
env_sender=asker@example.net

# ---- every never-answer condition -------------------------------------------------

# never SENDER CODE TO [HEADER...]: filed, exit 0, no reply, logged.
never() {
	_s=$1 _code=$2
	shift 2
	env_sender=$_s
	question "$@"
	_before=$(count_all_new)
	_r=$(replies)
	deliver < "$T/q.eml"
	if [ "$rc" = 0 ] && [ "$(count_all_new)" -eq $((_before + 1)) ] \
		&& [ "$(replies)" -eq "$_r" ] \
		&& log_last | grep -q " reply=suppressed:$_code reply_template="; then
		ok "never answer: $_code ($_s $*)"
	else
		not_ok "never answer: $_code ($_s $*)"
		diag "rc=$rc replies $_r -> $(replies); last log line: $(log_last)"
	fi
}
never "" null-sender training@example.com
never MAILER-DAEMON@mx.example.net mailer-daemon training@example.com
never owner-perl@lists.example.net owner-sender training@example.com
never perl-request@lists.example.net request-sender training@example.com
never fred@example.com own-address training@example.com
never a1@example.net auto-submitted training@example.com "Auto-Submitted: auto-replied"
never a2@example.net auto-submitted training@example.com "Auto-Submitted: auto-generated"
never a3@example.net precedence training@example.com "Precedence: bulk"
never a4@example.net precedence training@example.com "Precedence: junk"
never a5@example.net precedence training@example.com "Precedence: list"
never a6@example.net list-header training@example.com "List-Id: Perl <perl.example.org>"
never a7@example.net list-header training@example.com "List-Unsubscribe: <mailto:u@x>"
never a8@example.net auto-response-suppress training@example.com "X-Auto-Response-Suppress: OOF"
# vacation: only mail written to me personally (To/Cc), not a list copy
env_sender=a9@example.net
question away@example.com "Cc: Fred <fred@example.com>"
deliver < "$T/q.eml"
check "vacation: answered when fred is in Cc" test "$(replies)" -eq 2
expect_logged ' reply=sent reply_template=vacation' "vacation: logged reply=sent"
check "vacation: the Subject is Auto: and the original" \
	grep -q '^Subject: Auto: Question [0-9]*$' "$(last_reply)"
never a10@example.net not-addressed-to-me away@example.com
# spam, scored by the stock rules: filed as spam, not answered
env_sender=winner@prize.example.biz
{ echo "Delivered-To: scored@example.com"; cat "$DATA/spam.eml"; } > "$T/spam.eml"
deliver < "$T/spam.eml"
expect_rc 0 "spam: exit 0"
check "spam: filed in .ubetrap, no reply" \
	test "$(count_new "$(folder_dir ubetrap)")" -eq 1 -a "$(replies)" -eq 2
expect_logged ' verdict=spam .* reply=suppressed:spam ' "spam: logged reply=suppressed:spam"
# ...while a ham to the same rule, scored, is answered
env_sender=ham@example.net
question scored@example.com
deliver < "$T/q.eml"
check "ham to a scored rule: answered" test "$(replies)" -eq 3

# ---- failures of the reply: the delivery does not care -----------------------------

echo fail > "$MODE"
env_sender=b1@example.net
question training@example.com
before=$(count_all_new)
deliver < "$T/q.eml"
expect_rc 0 "sendmail exits 1: exit 0"
check "sendmail exits 1: filed once" test "$(count_all_new)" -eq $((before + 1))
expect_logged ' reply=failed:sendmail reply_template=information reply_note=".*fake-sendmail exit status 1: sendmail: fatal: queue file write error"' \
	"sendmail exits 1: logged reply=failed:sendmail with its message"
check "sendmail exits 1: no output, nothing on stderr" test ! -s "$T/out" -a ! -s "$T/err"
: > "$MODE"
question training@example.com
deliver < "$T/q.eml"
expect_logged ' reply=sent ' "after a failed send the next message is answered (nothing was recorded)"

echo hang > "$MODE"
env_sender=b2@example.net
question training@example.com
before=$(count_all_new)
deliver < "$T/q.eml"
expect_rc 0 "sendmail hangs: exit 0"
check "sendmail hangs: filed once" test "$(count_all_new)" -eq $((before + 1))
expect_logged ' reply=failed:timeout reply_template=information reply_note=".*timed out after 2 s"' \
	"sendmail hangs: killed at sendmail-timeout, logged reply=failed:timeout"
: > "$MODE"
question training@example.com
deliver < "$T/q.eml"
expect_logged ' reply=suppressed:recent ' \
	"after a timed-out send the sender counts as answered (it may have been queued)"

env_sender=b3@example.net
question broken@example.com
deliver < "$T/q.eml"
expect_rc 0 "broken template: exit 0"
check "broken template: filed" test "$(count_new "$(folder_dir broken)")" -eq 1
expect_logged ' reply=failed:template reply_template=broken reply_note="broken:2: ' \
	"broken template: logged with the template's name and line"

config "sendmail /nonexistent/sendmail"
env_sender=b4@example.net
question training@example.com
deliver < "$T/q.eml"
expect_rc 0 "no sendmail: exit 0"
expect_logged ' reply=failed:sendmail .*reply_note="cannot run /nonexistent/sendmail: No such file or directory"' \
	"no sendmail: logged reply=failed:sendmail"

: > "$T/not-a-dir"
config "reply-memory $T/not-a-dir/replied.db"
env_sender=b5@example.net
question training@example.com
before=$(count_all_new)
_r=$(replies)
deliver < "$T/q.eml"
expect_rc 0 "unusable reply memory: exit 0"
check "unusable reply memory: filed, no reply" \
	test "$(count_all_new)" -eq $((before + 1)) -a "$(replies)" -eq "$_r"
expect_logged ' reply=failed:memory .*reply memory .*unusable' \
	"unusable reply memory: logged reply=failed:memory"

# With a 2 s deadline less than 2 s are left after filing, whatever the
# machine's speed: too little to wait for others and send (the reply keeps
# within the deadline on its own: the watchdog is off once the mail is filed).
config "deadline 2"
env_sender=b6@example.net
question training@example.com
_r=$(replies)
deliver < "$T/q.eml"
expect_rc 0 "no time left: exit 0"
check "no time left: no reply" test "$(replies)" -eq "$_r"
expect_logged ' reply=failed:deadline ' "no time left: logged reply=failed:deadline"
config ""

# ---- a burst: one message to 5 unknown addresses at once ---------------------------

env_sender=burst@example.net
_r=$(replies)
i=0
pids=
while [ $i -lt 5 ]; do
	i=$((i + 1))
	{
		echo "Delivered-To: nobody$i@example.com"
		echo "From: burst@example.net"
		echo "To: nobody1@example.com, nobody2@example.com, nobody3@example.com,"
		echo " nobody4@example.com, nobody5@example.com"
		echo "Subject: hello all"
		echo "Message-ID: <burst-1@example.net>"
		echo
		echo "Is anybody there?"
	} > "$T/burst-$i.eml"
	( (sortmail_exec < "$T/burst-$i.eml") > "$T/burst-$i.out" 2>&1; echo $? > "$T/burst-$i.rc") &
	pids="$pids $!"
done
# shellcheck disable=SC2086
wait $pids
bad=0
for i in 1 2 3 4 5; do [ "$(cat "$T/burst-$i.rc")" = 0 ] || bad=1; done
check "burst: all five exit 0" test $bad -eq 0
check "burst: five copies filed" test "$(count_new "$(folder_dir unknown)")" -eq 5
check "burst: exactly one reply" test "$(replies)" -eq $((_r + 1))
n_sent=$(grep -c 'to=nobody[1-5]@example.com .* reply=sent ' "$LOG")
n_quiet=$(grep -c -E 'to=nobody[1-5]@example.com .* reply=suppressed:(recent|busy) ' "$LOG")
if [ "$n_sent" = 1 ] && [ "$n_quiet" = 4 ]; then
	ok "burst: logged 1 sent and 4 suppressed"
else
	not_ok "burst: logged 1 sent and 4 suppressed"
	diag "sent=$n_sent suppressed=$n_quiet"
	grep 'to=nobody' "$LOG" | sed 's/^/#   /'
fi
check "burst: the reply is the unknown-address note" \
	grep -q '^Subject: Your recent message to nobody[1-5]@example.com$' "$(last_reply)"

# ---- dry run ------------------------------------------------------------------------

env_sender=dry@example.net
question training@example.com
before=$(count_all_new)
_r=$(replies)
deliver -n < "$T/q.eml"
check "dry run: says it would send" \
	grep -q ' reply=would-send reply_template=information$' "$T/out"
question training@example.com "Precedence: bulk"
deliver -n < "$T/q.eml"
check "dry run: says why not" grep -q ' reply=suppressed:precedence reply_template=information$' "$T/out"
check "dry run: nothing filed, nothing sent" \
	test "$(count_all_new)" -eq "$before" -a "$(replies)" -eq "$_r"

# ---- sortmail cache replies / forget-reply ------------------------------------------

(sortmail_exec cache replies) > "$T/replies.out" 2>&1
check "cache replies: lists the asker's information reply" \
	grep -q '^asker@example.net information fresh replied="' "$T/replies.out"
check "cache replies: lists the burst's one reply" \
	test "$(grep -c '^burst@example.net unknown-address fresh' "$T/replies.out")" -eq 1
(sortmail_exec cache forget-reply Asker@Example.net information) > "$T/forget.out" 2>&1
check "cache forget-reply: forgets" grep -q '^forgot 1 reply to Asker@Example.net$' "$T/forget.out"
env_sender=asker@example.net
question training@example.com
deliver < "$T/q.eml"
expect_logged ' reply=sent ' "after forget-reply the asker is answered again"
(sortmail_exec cache forget-reply nobody@example.net) > "$T/forget.out" 2>&1
check "cache forget-reply: nothing to forget is exit 1" test $? -eq 1

check "no output line looks like a DSN status code" no_dsn_codes
done_testing
