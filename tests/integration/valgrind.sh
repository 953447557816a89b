#!/bin/sh
# valgrind: the delivery paths under valgrind memcheck (tests/valgrind/
# memcheck.sh): scored, cached, duplicate, reply (a recording sendmail),
# pipe, forward, discard, mbox, a dry run, a deferral (75) and `cache stats`.
# Each must exit as without valgrind and leave an empty memcheck log: no
# memory error, no definite leak. The whole suite under valgrind is
# `./dev.sh valgrind` (README, Tests). Skips without valgrind and in the
# ASan build (the two cannot be combined).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

command -v valgrind > /dev/null || skip_all "valgrind is not installed (Debian package valgrind)"
sanitized && skip_all "AddressSanitizer build: valgrind cannot run it (the plain build runs this test)"

LOGS=$T/logs
mkdir -p "$LOGS"
chmod 1777 "$LOGS"
# the binary itself, also when $SORTMAIL is already a wrapper (./dev.sh valgrind)
REAL=$top_builddir/lda/sortmail
SORTMAIL=$T/sortmail-vg
printf '#!/bin/sh\nexec %s %s %s "$@"\n' "$top_srcdir/tests/valgrind/memcheck.sh" "$LOGS" "$REAL" \
	> "$SORTMAIL"
chmod 0755 "$SORTMAIL"

# clean DESCRIPTION: the memcheck logs of the runs so far are empty.
clean() {
	# "==PID==" lines are memcheck's findings ("--PID--" ones valgrind's notes)
	_dirty=$(grep -l '^==[0-9]*== ' "$LOGS"/* 2> /dev/null | head -n 3)
	if [ -z "$_dirty" ]; then
		ok "$1: memcheck clean"
	else
		not_ok "$1: memcheck clean"
		for _f in $_dirty; do diag_file "$_f" 30; done
	fi
	find "$LOGS" -type f -exec rm -f {} +
}

# run DESCRIPTION RC ARGS... < MESSAGE
run() {
	_d=$1 _want=$2
	shift 2
	deliver "$@"
	expect_rc "$_want" "$_d: exit $_want"
	clean "$_d"
}

SENT=$T/sent
mkdir -p "$SENT"
cat > "$T/fake-sendmail" <<EOF
#!/bin/sh
cat > "$SENT/\$\$.msg"
EOF
chmod 0755 "$T/fake-sendmail"

new_home "$T/home"
write_config <<CONF
personal user@localhost
sendmail $T/fake-sendmail
rule to ^training@ autorespond information folder training
rule to ^piped@ pipe "/bin/sh -c \"cat > $T/piped.out\"" folder piped noscore
rule to ^fwd@ forward boss@example.net folder fwd noscore
rule from ^discard@ discard noscore
CONF

run "scored (spam)" 0 -v < "$DATA/spam.eml"
check "scored: filed, via=scored" grep -q ' via=scored ' "$T/err"
{ echo 'Delivered-To: other@localhost'; cat "$DATA/spam.eml"; } > "$T/copy.eml"
run "cached (another copy)" 0 -v < "$T/copy.eml"
check "cached: via=cached" grep -q ' via=cached ' "$T/err"
run "duplicate" 0 -v < "$T/copy.eml"
check "duplicate: logged as duplicate, two filed in all" \
	sh -c 'grep -q "duplicate" "$1" && [ "$2" -eq 2 ]' sh "$T/err" "$(count_all_new)"
printf 'Delivered-To: training@example.com\nFrom: asker@example.net\nSubject: q\nMessage-ID: <vg-1@x>\n\nq\n' \
	> "$T/q.eml"
env_sender=asker@example.net
run "reply" 0 < "$T/q.eml"
check "reply: sent" test "$(find "$SENT" -type f | wc -l)" -eq 1
printf 'Delivered-To: piped@example.com\nFrom: a@example.net\nSubject: p\nMessage-ID: <vg-2@x>\n\np\n' \
	> "$T/p.eml"
run "pipe" 0 < "$T/p.eml"
check "pipe: the program got the message" grep -q '^Subject: p$' "$T/piped.out"
printf 'Delivered-To: fwd@example.com\nFrom: a@example.net\nSubject: f\nMessage-ID: <vg-3@x>\n\nf\n' \
	> "$T/f.eml"
run "forward" 0 < "$T/f.eml"
env_sender=discard@example.net
run "discard" 0 < "$DATA/plain.eml"
reset_env
run "dry run" 0 -n < "$DATA/ham.eml"
chmod 0500 "$ROOT/new"
if [ "$(id -u)" -ne 0 ]; then
	run "unwritable Maildir" 75 < "$DATA/ham.eml"
fi
chmod 0700 "$ROOT/new"
run "bad option" 75 --frobnicate < "$DATA/ham.eml"
deliver cache stats
expect_rc 0 "cache stats: exit 0"
clean "cache stats"

new_home "$T/mbox"
mkdir -m 0700 "$HOME/mail"
printf 'mbox %s\n' "$HOME/mail" | write_config
run "mbox, scored" 0 < "$DATA/ham.eml"
check "mbox: one message" test "$(grep -c '^From ' "$HOME/mail/inbox")" -eq 1

done_testing
