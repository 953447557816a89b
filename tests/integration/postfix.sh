#!/bin/sh
# postfix: proof through a real, private Postfix instance (issue 3).
# One SMTP transaction carries a spam to 20 @example.com recipients; Postfix
# rewrites each to the test user's plus address (virtual_alias_maps regexp),
# local(8) runs the freshly built sortmail as mailbox_command once per
# recipient, and we check: 20 copies, each filed by its own recovered original
# recipient (fred, personal, in .ube; the 19 others in .ubetrap), exactly one
# delivery scored and 19 took the cached (or waited-for) verdict, nothing
# deferred or bounced. Then an unwritable Maildir: Postfix holds the message
# deferred (sortmail exit 75), nothing is lost, and after the permissions are
# restored and the queue flushed it is delivered exactly once.
# A control case shows that a bounce would be seen where we look for one.
#
# Needs root and Debian's postfix (skips otherwise); a system instance is
# neither needed nor touched. The instance (postfix-lib.sh) lives under $T,
# listens on a free port of 127.0.0.1 only, and is stopped with every process
# of it killed on the way out, whatever happens. Timings are reported as TAP
# comments, never tested.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/postfix-lib.sh"

SLOG=$H/sortmail.log

# body FILE: the message body (after the first empty line).
body() { sed '1,/^$/d' "$1"; }

# rcpt_of FILE: the example.com address a stored copy was for, from the
# Delivered-To local(8) put on top.
rcpt_of() {
	grep -m 1 '^Delivered-To: ' "$1" \
		| sed -n "s/^Delivered-To: $TEST_USER+for-example+\(.*\)@$FQDN\$/\1@example.com/p"
}

# ---- set-up ---------------------------------------------------------------

_home=$HOME
new_home "$H"
write_config <<CONF
unplus ^sortmail-test\\+for-example\\+(.+)@ \$1@example.com
personal fred@example.com
log-file ~/sortmail.log
CONF
chown -R "$TEST_UID:$TEST_GID" "$H"
HOME=$_home   # only sortmail runs with HOME=$H: that is how our_pids finds it

start_instance
diag "Postfix $(postconf -d -h mail_version) on 127.0.0.1:$PORT, config $ETC, client $CLIENT"
grep -q -E 'warning|error|fatal' "$MAILLOG" && {
	diag "Postfix said at start-up:"; grep -E 'warning|error|fatal' "$MAILLOG" | diag_file /dev/stdin; }

# ---- burst: one transaction, 20 recipients ----------------------------------

RCPTS=fred@example.com
i=1
while [ $i -le 19 ]; do
	RCPTS="$RCPTS $(printf 'trap%02d@example.com' $i)"
	i=$((i + 1))
done
t0=$(now_ms)
# shellcheck disable=SC2086 # RCPTS is a word list
if smtp_send "$DATA/spam.eml" sender@example.org $RCPTS; then
	ta=$(now_ms)
	ok "burst: one SMTP transaction to 20 recipients accepted"
else
	not_ok "burst: one SMTP transaction to 20 recipients accepted"
fi
if wait_for 120 queue_empty; then
	t1=$(now_ms)
	ok "burst: the queue empties"
	diag "burst: $((t1 - t0)) ms from starting $CLIENT to an empty queue, $((t1 - ${ta:-$t0})) ms of it after the end of the SMTP session"
else
	not_ok "burst: the queue empties"
	diag "still queued:"; queue_files | sed 's/^/#   /'
fi
# postlogd writes asynchronously: give it a moment to catch up (bounded)
wait_for 10 log_has 20 'status=sent' || true

all=$(count_all_new "$H/Maildir")
n_ube=$(count_new "$H/Maildir/.ube")
n_trap=$(count_new "$H/Maildir/.ubetrap")
if [ "$all" -eq 20 ] && [ "$n_ube" -eq 1 ] && [ "$n_trap" -eq 19 ]; then
	ok "burst: 20 copies, 1 in .ube and 19 in .ubetrap"
else
	not_ok "burst: 20 copies, 1 in .ube and 19 in .ubetrap"
	diag "found $all in all, $n_ube in .ube, $n_trap in .ubetrap"
fi

# Each copy: its Delivered-To names one of the recipients, each recipient
# exactly once, filed in its folder, spam-flagged, body intact; and the log
# line of its delivery says to=that address and that folder.
body "$DATA/spam.eml" > "$T/spam.body"
bad=0
: > "$T/seen"
for f in $(new_files "$H/Maildir/.ube") $(new_files "$H/Maildir/.ubetrap"); do
	a=$(rcpt_of "$f")
	folder=ubetrap
	[ "$a" = fred@example.com ] && folder=ube
	echo "$a" >> "$T/seen"
	why=
	case " $RCPTS " in *" $a "*) ;; *) why="Delivered-To is not one of ours" ;; esac
	[ "$f" = "$H/Maildir/.$folder/new/$(basename "$f")" ] || why="$why; not in .$folder"
	[ "$(head -n 1 "$f")" = "X-Spam-Flag: YES" ] || why="$why; first line is not X-Spam-Flag: YES"
	body "$f" | cmp -s - "$T/spam.body" || why="$why; body differs from spam.eml's"
	[ "$(count_in "$SLOG" " delivered .* to=$a .* folder=$folder ")" = 1 ] \
		|| why="$why; not one log line 'delivered ... to=$a ... folder=$folder'"
	if [ -n "$why" ]; then
		bad=$((bad + 1))
		diag "$f (for '$a'):$why"
	fi
done
[ "$(sort -u "$T/seen" | wc -l)" -eq 20 ] || { bad=$((bad + 1)); diag "recipients seen: $(sort "$T/seen" | tr '\n' ' ')"; }
check "burst: each copy filed by its own recovered original recipient, flagged, body intact" test $bad -eq 0

n_scored=$(count_in "$SLOG" ' delivered .* via=scored ')
n_reused=$(count_in "$SLOG" ' delivered .* via=(cached|waited) ')
n_waited=$(count_in "$SLOG" ' delivered .* via=waited ')
if [ "$n_scored" = 1 ] && [ "$n_reused" = 19 ]; then
	ok "burst: exactly one delivery scored, 19 used its verdict"
	diag "burst: 1 scored, $((19 - n_waited)) cached, $n_waited waited"
else
	not_ok "burst: exactly one delivery scored, 19 used its verdict"
	diag "scored=$n_scored cached|waited=$n_reused; sortmail.log:"
	diag_file "$SLOG" 25
fi
check "burst: sortmail logged nothing deferred or duplicate" \
	test "$(count_in "$SLOG" 'sortmail\[[0-9]+\]: (deferred|duplicate) ')" = 0
sent=$(count_in "$MAILLOG" 'postfix/local\[[0-9]+\]: .* status=sent \(delivered to command')
if [ "$sent" = 20 ] && ! grep -q -E 'status=(deferred|bounced)|non-delivery notification' "$MAILLOG" \
	&& [ ! -s "$PMBOX" ]; then
	ok "burst: Postfix delivered 20 to the command, deferred and bounced nothing"
else
	not_ok "burst: Postfix delivered 20 to the command, deferred and bounced nothing"
	diag "status=sent lines: $sent; postmaster mailbox: $(wc -c < "$PMBOX") bytes; Postfix log:"
	grep -E 'status=|notification|warning|fatal|panic' "$MAILLOG" | tail -n 15 | cut -c1-300 | sed 's/^/#   /'
fi
delay=$(sed -n 's/.*postfix\/local\[.* delay=\([0-9.]*\),.*status=sent.*/\1/p' "$MAILLOG" | sort -n | tail -n 1)
diag "burst: Postfix's delay from arrival to the last of the 20 deliveries: $delay s"
ms=$(sed -n 's/.* delivered .* ms=\([0-9.]*\).*/\1/p' "$SLOG" | sort -n | tr '\n' ' ')
diag "burst: sortmail ms per delivery (sorted): $ms"
waited=$(sed -n 's/.* via=waited waited=\([0-9]*ms\) .*/\1/p' "$SLOG" | tr '\n' ' ')
[ -n "$waited" ] && diag "burst: waited for the scoring delivery: $waited"
diag "burst: $(grep -m 1 ' via=scored ' "$SLOG" | sed 's/^.*sortmail\[[0-9]*\]: //' | cut -c1-200)"

# ---- deferral: unwritable Maildir, then flush -------------------------------

chmod 0500 "$H/Maildir/new" "$H/Maildir/tmp"
check "deferral: SMTP transaction accepted" \
	smtp_send "$DATA/ham.eml" sender@example.org carol@example.com
if wait_for 60 queue_deferred && wait_for 10 log_has 1 'status=deferred'; then
	ok "deferral: Postfix holds the message in its deferred queue"
else
	not_ok "deferral: Postfix holds the message in its deferred queue"
	grep -E 'status=' "$MAILLOG" | tail -n 5 | cut -c1-300 | sed 's/^/#   /'
fi
postqueue -c "$ETC" -p > "$T/postqueue.out" 2>&1
if grep -q "$TEST_USER+for-example+carol@$FQDN" "$T/postqueue.out" \
	&& grep -q 'temporary failure.*sortmail: ' "$T/postqueue.out"; then
	ok "deferral: postqueue -p lists it with sortmail's reason"
else
	not_ok "deferral: postqueue -p lists it with sortmail's reason"
	diag_file "$T/postqueue.out" 10
fi
line=$(grep 'postfix/local\[[0-9]*\]: .*status=deferred' "$MAILLOG" | head -n 1)
case "$line" in
*"orig_to=<carol@example.com>"*"status=deferred (temporary failure. Command output: sortmail: "*)
	ok "deferral: Postfix logged status=deferred with sortmail's one-line reason" ;;
*)
	not_ok "deferral: Postfix logged status=deferred with sortmail's one-line reason"
	diag "$line" ;;
esac
diag "deferral: ${line#*status=}"
check "deferral: nothing delivered, nothing left in tmp/" \
	test "$(count_all_new "$H/Maildir")" -eq 20 -a "$(count_all_tmp "$H/Maildir")" -eq 0
check "deferral: sortmail logged one deferred line for carol" \
	test "$(count_in "$SLOG" 'sortmail\[[0-9]+\]: deferred .*to=carol@example.com ')" = 1

chmod 0700 "$H/Maildir/new" "$H/Maildir/tmp"
if postqueue -c "$ETC" -f > "$T/flush.out" 2>&1; then
	ok "deferral: postqueue -f"
else
	not_ok "deferral: postqueue -f"
	diag_file "$T/flush.out"
fi
if wait_for 60 queue_empty; then
	ok "deferral: after postqueue -f the queue empties"
else
	not_ok "deferral: after postqueue -f the queue empties"
fi
wait_for 10 log_has 21 'status=sent' || true
body "$DATA/ham.eml" > "$T/ham.body"
n_inbox=$(count_new "$H/Maildir")
f=$(new_files "$H/Maildir")
if [ "$n_inbox" -eq 1 ] && [ "$(count_all_new "$H/Maildir")" -eq 21 ] \
	&& [ "$(rcpt_of "$f")" = carol@example.com ] && body "$f" | cmp -s - "$T/ham.body"; then
	ok "deferral: delivered exactly once, to the inbox, body intact"
else
	not_ok "deferral: delivered exactly once, to the inbox, body intact"
	diag "inbox: $n_inbox new, whole tree: $(count_all_new "$H/Maildir")"
fi
check "deferral: sortmail logged one delivered line for carol" \
	test "$(count_in "$SLOG" 'sortmail\[[0-9]+\]: delivered .*to=carol@example.com .*folder=inbox ')" = 1
if [ "$(count_in "$MAILLOG" 'status=sent')" = 21 ] && [ "$(count_in "$MAILLOG" 'status=deferred')" = 1 ] \
	&& ! grep -q -E 'status=bounced|non-delivery notification' "$MAILLOG" && [ ! -s "$PMBOX" ]; then
	ok "Postfix: 21 sent, 1 deferral, nothing bounced, postmaster's mailbox empty"
else
	not_ok "Postfix: 21 sent, 1 deferral, nothing bounced, postmaster's mailbox empty"
	grep -E 'status=|notification' "$MAILLOG" | tail -n 5 | cut -c1-300 | sed 's/^/#   /'
fi

# ---- control: a bounce is seen where the checks above look for one ---------

# sender postmaster (the aliases send it to $PMBOX), recipient an unknown
# local user (through the virtual table), so local(8) bounces it.
check "control: SMTP transaction accepted" \
	smtp_send "$DATA/ham.eml" "postmaster@$FQDN" bounce-check@example.com
if wait_for 60 queue_empty && wait_for 10 pmbox_full && wait_for 10 log_has 1 'status=bounced' \
	&& wait_for 10 log_has 1 'non-delivery notification'; then
	ok "control: a bounce shows in Postfix's log and in the postmaster's mailbox"
else
	not_ok "control: a bounce shows in Postfix's log and in the postmaster's mailbox"
	grep -E 'status=|notification' "$MAILLOG" | tail -n 5 | cut -c1-300 | sed 's/^/#   /'
fi
check "control: nothing more in the Maildir" test "$(count_all_new "$H/Maildir")" -eq 21

# ---- clean up ---------------------------------------------------------------

stop_instance
check "the instance stopped by itself (nothing left to kill)" test -z "$KILLED"
check "the instance and all its processes are gone" test -z "$(our_pids)"
done_testing
