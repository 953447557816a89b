#!/bin/sh
# outbound: a rule's pipe and forward actions through the real binary, with a
# fake command and a fake sendmail that record their arguments, input and
# environment. A pipe that works takes the message (not filed unless the rule
# files too); one that exits 1, is killed by a signal or runs past the
# timeout leaves it in the default folder and the log says why; pipe-defer
# turns a failure into exit 75 with nothing filed and nothing in the
# duplicates journal, so the retry files exactly once. A forward resends the
# message (X-Spam headers included) with the original envelope sender or
# forward-sender and a loop marker; the marker or a Delivered-To for the
# target stops it; spam is not forwarded; a failing sendmail files instead.
. "$(dirname "$0")/lib.sh"

SENT=$T/sent
PIPED=$T/piped
FAKE=$T/fake-sendmail
PIPE=$T/fake-pipe
MODE=$T/mode
mkdir -p "$SENT" "$PIPED"
new_home "$T/home"
LOG=$HOME/sortmail.log

cat > "$FAKE" <<EOF
#!/bin/sh
n=\$\$
printf '%s\n' "\$@" > "$SENT/\$n.argv"
cat > "$SENT/\$n.msg"
case "\$(cat "$MODE" 2>/dev/null)" in
smfail) echo "sendmail: fatal: queue file write error" >&2; exit 1 ;;
esac
exit 0
EOF
# The pipe: records argv, input and the documented environment; $MODE makes
# it fail (exit 1 with a message), hang past the timeout, or die by SIGKILL.
cat > "$PIPE" <<EOF
#!/bin/sh
n=\$\$
printf '%s\n' "\$@" > "$PIPED/\$n.argv"
cat > "$PIPED/\$n.msg"
for v in SENDER RECIPIENT ORIGINAL_RECIPIENT SORTMAIL_VERDICT SORTMAIL_SCORE SORTMAIL_FOLDER; do
	eval "printf '%s=%s\n' \$v \"\\\$\$v\""
done > "$PIPED/\$n.env"
echo "pipe says hello"
case "\$(cat "$MODE" 2>/dev/null)" in
fail) echo "no such list" >&2; exit 1 ;;
hang) exec sleep 30 ;;
kill) kill -9 \$\$ ;;
esac
exit 0
EOF
chmod 0755 "$FAKE" "$PIPE"

write_config <<CONF
personal fred@example.com
log-file $LOG
sendmail $FAKE
sendmail-timeout 10s
pipe-timeout 1s
rule to ^pipe@ pipe "$PIPE arg1 \"two words\"" noscore
rule to ^pipefile@ pipe $PIPE folder piped
rule to ^defer@ pipe-defer pipe $PIPE folder deferred noscore
rule to ^nopipe@ pipe /nonexistent/command noscore
rule to ^shell@ shell pipe "echo ran >> $T/shell.out; cat > /dev/null" noscore
rule to ^fwd@ forward alice@example.net bob@example.net noscore
rule to ^fwdcopy@ folder fwdcopy forward alice@example.net forward-sender bounce@example.com
rule to ^fwdspam@ forward alice@example.net even-spam folder spamfwd
CONF

N=0
# message TO [HEADER...]: a new message (fresh Message-ID) to TO in $T/m.eml.
message() {
	N=$((N + 1))
	_to=$1
	shift
	{
		echo "Delivered-To: $_to"
		for _h in "$@"; do echo "$_h"; done
		echo "From: Someone <someone@example.org>"
		echo "To: $_to"
		echo "Subject: Message $N"
		echo "Message-ID: <m-$N@example.org>"
		echo
		echo "Body $N."
	} > "$T/m.eml"
}
last_in() { ls -t "$1"/*.msg 2>/dev/null | head -n 1; }
count_in() { find "$1" -name '*.msg' | wc -l | tr -d ' '; }
log_last() { tail -n 1 "$LOG"; }
expect_logged() {
	if log_last | grep -q -- "$1"; then
		ok "$2"
	else
		not_ok "$2"
		diag "last log line: $(log_last)"
	fi
}
mode() { echo "$1" > "$MODE"; }

# ---- pipe -------------------------------------------------------------------

mode ok
message pipe@example.com
deliver < "$T/m.eml"
expect_rc 0 "pipe ok: exit 0"
check "pipe ok: nothing filed" test "$(count_all_new)" -eq 0
P=$(last_in "$PIPED")
check "pipe ok: the message on stdin" cmp -s "$P" "$T/m.eml"
check "pipe ok: argv split by the config's quoting" \
	test "$(tr '\n' '|' < "${P%.msg}.argv")" = "arg1|two words|"
check "pipe ok: the documented environment" test "$(tr '\n' ' ' < "${P%.msg}.env")" = \
	"SENDER=sender@example.org RECIPIENT=user@localhost ORIGINAL_RECIPIENT=pipe@example.com SORTMAIL_VERDICT=unscored SORTMAIL_SCORE= SORTMAIL_FOLDER=inbox "
expect_logged ' delivered .* pipe=ok pipe_note="output: pipe says hello" filed=no$' \
	"pipe ok: logged pipe=ok, its output and filed=no"

message pipefile@example.com
deliver < "$T/m.eml"
expect_rc 0 "pipe with folder: exit 0"
check "pipe with folder: filed in .piped too" one_new_in piped
P=$(last_in "$PIPED")
check "pipe with folder: X-Spam headers on stdin" grep -q '^X-Spam-Status: No' "$P"
check "pipe with folder: verdict in the environment" \
	grep -q '^SORTMAIL_VERDICT=ham$' "${P%.msg}.env"
check "pipe with folder: folder in the environment" \
	grep -q '^SORTMAIL_FOLDER=piped$' "${P%.msg}.env"
expect_logged ' folder=piped .* pipe=ok ' "pipe with folder: logged"
rm -f "$ROOT"/.piped/new/*

# pipe_fails MODE STATE NOTE: the pipe fails; the message lands in the inbox.
pipe_fails() {
	mode "$1"
	message pipe@example.com
	deliver < "$T/m.eml"
	expect_rc 0 "pipe $1: exit 0"
	check "pipe $1: filed in the inbox instead" one_new_in inbox
	expect_logged " folder=inbox .* pipe=failed:$2 pipe_note=\"$3" "pipe $1: logged why"
	rm -f "$ROOT"/new/*
}
pipe_fails fail exit 'exit status 1; output: pipe says hello no such list"'
pipe_fails hang timeout 'timed out after'
pipe_fails kill signal 'killed by signal 9'

message nopipe@example.com
deliver < "$T/m.eml"
expect_rc 0 "pipe cannot start: exit 0"
check "pipe cannot start: filed in the inbox" one_new_in inbox
expect_logged ' pipe=failed:start pipe_note="cannot run /nonexistent/command: ' \
	"pipe cannot start: logged"
rm -f "$ROOT"/new/*

mode ok
message shell@example.com
deliver < "$T/m.eml"
expect_rc 0 "shell pipe: exit 0"
check "shell pipe: ran through the shell, nothing filed" \
	sh -c "test \"\$(cat '$T/shell.out')\" = ran && test $(count_all_new) -eq 0"

# ---- pipe-defer and the duplicates journal --------------------------------------

mode fail
message defer@example.com
deliver < "$T/m.eml"
expect_rc 75 "pipe-defer: a failed pipe defers (75)"
check "pipe-defer: nothing filed" test "$(count_all_new)" -eq 0
check "pipe-defer: one line on stderr" one_error_line
expect_logged '^.*deferred .*pipe failed:exit (pipe-defer): exit status 1' \
	"pipe-defer: logged as deferred, with why"
mode ok
deliver < "$T/m.eml"
expect_rc 0 "pipe-defer: the retry works"
check "pipe-defer: the retry files once" one_new_in deferred
deliver < "$T/m.eml"
expect_rc 0 "pipe-defer: a second retry: exit 0"
check "pipe-defer: a second retry files nothing more" one_new_in deferred
expect_logged ' duplicate ' "pipe-defer: the second retry is a duplicate"
rm -f "$ROOT"/.deferred/new/*

# ---- forward --------------------------------------------------------------------

mode ok
message fwd@example.com
deliver < "$T/m.eml"
expect_rc 0 "forward: exit 0"
check "forward: nothing filed" test "$(count_all_new)" -eq 0
S=$(last_in "$SENT")
check "forward: sendmail -i -f the original sender -- the targets" \
	test "$(tr '\n' ' ' < "${S%.msg}.argv")" = \
	"-i -f sender@example.org -- alice@example.net bob@example.net "
{ echo "X-Sortmail-Loop: fwd@example.com"; cat "$T/m.eml"; } > "$T/expected"
check "forward: the message unchanged, loop marker prepended" cmp -s "$S" "$T/expected"
expect_logged ' forward=sent filed=no$' "forward: logged forward=sent"

message fwdcopy@example.com
deliver < "$T/m.eml"
expect_rc 0 "forward and file: exit 0"
check "forward and file: filed in .fwdcopy" one_new_in fwdcopy
S=$(last_in "$SENT")
check "forward and file: forward-sender is the envelope sender" \
	test "$(tr '\n' ' ' < "${S%.msg}.argv")" = "-i -f bounce@example.com -- alice@example.net "
check "forward and file: X-Spam headers go along" \
	sh -c "head -n 2 '$S' | grep -q '^X-Spam-Status: No'"
rm -f "$ROOT"/.fwdcopy/new/*

# The loop marker: this message came back through our own forward.
message fwd@example.com "X-Sortmail-Loop: fwd@example.com"
before=$(count_in "$SENT")
deliver < "$T/m.eml"
expect_rc 0 "loop marker: exit 0"
check "loop marker: not forwarded" test "$(count_in "$SENT")" -eq "$before"
check "loop marker: filed in the inbox instead" one_new_in inbox
expect_logged ' forward=suppressed:loop forward_note="X-Sortmail-Loop: fwd@example.com"$' \
	"loop marker: logged"
rm -f "$ROOT"/new/*

# Already delivered to one target: only the other gets it.
message fwd@example.com "Delivered-To: alice@example.net"
deliver < "$T/m.eml"
S=$(last_in "$SENT")
check "Delivered-To a target: forwarded to the other only" \
	test "$(tr '\n' ' ' < "${S%.msg}.argv")" = "-i -f sender@example.org -- bob@example.net "
expect_logged ' forward=sent forward_note="not to Delivered-To: alice@example.net" filed=no$' \
	"Delivered-To a target: logged"

# Spam is not forwarded (the rule applies to spam, forward-spam is not set).
{ echo "Delivered-To: fwdspam@example.com"; cat "$DATA/spam.eml"; } > "$T/spam.eml"
before=$(count_in "$SENT")
deliver < "$T/spam.eml"
expect_rc 0 "spam: exit 0"
check "spam: not forwarded" test "$(count_in "$SENT")" -eq "$before"
check "spam: filed in the rule's folder" one_new_in spamfwd
expect_logged ' verdict=spam .* forward=suppressed:spam$' "spam: logged"
rm -f "$ROOT"/.spamfwd/new/*

# A failing sendmail: the message is filed into the inbox instead.
mode smfail
message fwd@example.com
deliver < "$T/m.eml"
expect_rc 0 "sendmail fails: exit 0"
check "sendmail fails: filed in the inbox" one_new_in inbox
expect_logged ' forward=failed:sendmail forward_note=".*queue file write error' \
	"sendmail fails: logged"
rm -f "$ROOT"/new/*

# --dry-run says what would happen and does nothing.
mode ok
message fwd@example.com
before=$(count_in "$SENT")
deliver --dry-run < "$T/m.eml"
check "dry run: forward=would-send, nothing sent" \
	sh -c "grep -q ' forward=would-send' '$T/out' && test $(count_in "$SENT") -eq $before"

check "no output line looks like a DSN code" no_dsn_codes
done_testing
