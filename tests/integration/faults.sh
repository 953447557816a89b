#!/bin/sh
# faults: every failure exits 75 (EX_TEMPFAIL, Postfix keeps the mail queued)
# with one line "sortmail: REASON" on stderr and no mail in any new/:
# unwritable Maildir, broken config (file:line), bad command line, full disk
# (tmpfs, root only), give-up at the configured deadline; and a SIGKILL in
# the middle of a 50 MB delivery leaves nothing in new/.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

# expect_tempfail WHAT: the last deliver failed the way the MTA needs.
expect_tempfail() {
	expect_rc 75 "$1: exit 75"
	check "$1: one line 'sortmail: REASON' on stderr" one_error_line
	check "$1: no mail in new/" test "$(count_all_new)" -eq 0
}

# ---- unwritable Maildir -----------------------------------------------------
user_reason=
if [ "$(id -u)" -eq 0 ]; then
	ensure_test_user || user_reason="running as root and cannot run as user $TEST_USER (useradd/setpriv)"
fi
if [ -n "$user_reason" ]; then
	for what in "unwritable Maildir" "folder that cannot be created" "unreadable config"; do
		skip "$what: exit 75" "$user_reason"
	done
else
	# chown_home: when root, hand the home over to the unprivileged account
	chown_home() {
		if [ "$(id -u)" -eq 0 ]; then
			chown -R "$TEST_UID:$TEST_GID" "$HOME"
			as_user=$AS_TEST_USER
			env_user=$TEST_USER
		fi
	}
	new_home "$T/unwritable"
	write_config < /dev/null
	chown_home
	chmod 0500 "$ROOT/new" "$ROOT/tmp"
	deliver < "$DATA/plain.eml"
	expect_tempfail "unwritable Maildir (new/ and tmp/ mode 0500)"
	reset_env

	new_home "$T/nofolder"
	write_config <<-'CONF'
	required-score 1000
	rule from ^sender@example\.org$ folder lists
	CONF
	chown_home
	chmod 0500 "$ROOT"
	deliver < "$DATA/plain.eml"
	expect_tempfail "folder that cannot be created (root mode 0500)"
	reset_env

	new_home "$T/unreadable"
	write_config < /dev/null
	chown_home
	chmod 0000 "$CONFIG"
	deliver < "$DATA/plain.eml"
	expect_tempfail "unreadable config"
	reset_env
fi

# ---- broken config: 75, and the message names file:line ----------------
n=0
for bad in 'frobnicate yes' 'rule to ^(unclosed folder x' 'required-score lots' \
	'rule to ^x@ folder ../escape' 'maildir'; do
	n=$((n + 1))
	new_home "$T/badconf$n"
	# line 1 is "syslog no", line 2 a good line, line 3 the bad one
	printf 'required-score 5\n%s\npersonal me@example.com\n' "$bad" | write_config
	deliver < "$DATA/plain.eml"
	expect_tempfail "config line '$bad'"
	if grep -q -F "$CONFIG:3" "$T/err"; then
		ok "config line '$bad': stderr names $CONFIG:3"
	else
		not_ok "config line '$bad': stderr names FILE:3"
		diag_file "$T/err"
	fi
done

# ---- a bad command line must not bounce mail ----------------------------------
new_home "$T/usage"
write_config < /dev/null
for args in '--frobnicate' '-x' '-f' '-c' 'bogus-subcommand' '-r'; do
	# shellcheck disable=SC2086 # one word each
	deliver $args < "$DATA/plain.eml"
	expect_tempfail "command line '$args'"
done
deliver --version < /dev/null
if [ "$rc" = 0 ] && [ -s "$T/out" ]; then ok "--version: exit 0, prints something"; else not_ok "--version: exit 0, prints something (exit $rc)"; fi
deliver --help < /dev/null
if [ "$rc" = 0 ] && [ -s "$T/out" ]; then ok "--help: exit 0, prints something"; else not_ok "--help: exit 0, prints something (exit $rc)"; fi

# ---- full disk ---------------------------------------------------------------
disk=$T/disk
big=$T/200k.eml
{
	printf 'From: filler@example.net\nTo: user@localhost\nSubject: 200 KB\n'
	printf 'Message-ID: <filler-1@example.net>\n\n'
	yes 'filler filler filler filler filler filler filler filler filler fill' | head -c 204800
} > "$big"
mounted=
if [ "$(id -u)" -ne 0 ]; then
	disk_reason="not root (a tmpfs must be mounted)"
else
	mkdir -p "$disk"
	if mount -t tmpfs -o size=64k,mode=0755 sortmail-test "$disk" 2> "$T/mount.err"; then
		mounted=yes
		trap 'umount "$disk" 2>/dev/null' EXIT
		trap 'umount "$disk" 2>/dev/null; exit 1' HUP INT TERM
	else
		disk_reason="cannot mount a tmpfs: $(head -n 1 "$T/mount.err")"
	fi
fi
if [ -z "$mounted" ]; then
	for what in "full disk, Maildir" "full disk, mbox"; do
		skip "$what: exit 75" "$disk_reason"
	done
else
	new_home "$T/full"
	ROOT=$disk/Maildir
	mkdir -m 0700 "$ROOT" "$ROOT/tmp" "$ROOT/new" "$ROOT/cur"
	printf 'maildir %s\n' "$ROOT" | write_config
	deliver < "$big"
	expect_tempfail "full disk, Maildir (200 KB into 64 KB)"
	check "full disk, Maildir: no partial file left in tmp/" test "$(count_all_tmp)" -eq 0

	rm -rf "$ROOT"
	mkdir -m 0700 "$disk/mbox"
	printf 'mbox %s\n' "$disk/mbox" | write_config
	deliver < "$DATA/plain.eml"
	expect_rc 0 "full disk, mbox: a small message fits"
	box=$(find "$disk/mbox" -type f ! -name '*.lock')
	if [ -n "$box" ] && [ "$(echo "$box" | wc -l)" -eq 1 ]; then
		sum=$(cksum < "$box")
		deliver < "$big"
		expect_rc 75 "full disk, mbox (200 KB into 64 KB): exit 75"
		check "full disk, mbox: one line 'sortmail: REASON' on stderr" one_error_line
		check "full disk, mbox: the mbox is back to what it was" test "$sum" = "$(cksum < "$box")"
		check "full disk, mbox: no lock file left" test -z "$(find "$disk/mbox" -name '*.lock')"
	else
		not_ok "full disk, mbox: the small message made one mbox file"
		diag "found: $box"
	fi
	umount "$disk" && mounted=
fi

# ---- the deadline --------------------------------------------------------------
# stdin never ends: the watchdog must give up (75) at "deadline 1"; the
# timeout is only a guard against hanging the suite
new_home "$T/deadline"
printf 'deadline 1\n' | write_config
mkfifo "$T/slow" "$T/gate"
{ printf 'From: slow@example.net\nSubject: never ends\n\nbody\n'; read -r _ < "$T/gate"; } > "$T/slow" &
producer=$!
wrap="timeout -s KILL 120"
deliver < "$T/slow"
wrap=
echo go > "$T/gate"
wait "$producer"
expect_tempfail "stdin that never ends, deadline 1"

# ---- SIGKILL in the middle of a 50 MB delivery --------------------------------------
# The producer writes 5 MB (far more than a pipe holds), says so, and waits
# for the gate before the other 45 MB: sortmail is then blocked reading, and
# cannot have finished, when it gets SIGKILL.
new_home "$T/killed"
write_config < /dev/null
rm -f "$T/slow" "$T/gate"
mkfifo "$T/slow" "$T/gate"
(sortmail_exec) < "$T/slow" > "$T/out" 2> "$T/err" &
victim=$!
{
	printf 'From: big@example.net\nTo: user@localhost\nSubject: killed\n'
	printf 'Message-ID: <killed-1@example.net>\n\n'
	yes 'The quick brown fox jumps over the lazy dog; 0123456789 abcdefghijklmnopq.' | head -c 5242880
	: > "$T/part1-done"
	read -r _ < "$T/gate"
	yes 'The quick brown fox jumps over the lazy dog; 0123456789 abcdefghijklmnopq.' | head -c 47185920
} > "$T/slow" 2> /dev/null &
producer=$!
i=0
while [ ! -e "$T/part1-done" ] && [ $i -lt 1200 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -9 "$victim" 2> /dev/null
wait "$victim"
st=$?
echo go > "$T/gate"
wait "$producer"
if [ "$st" -eq 137 ]; then
	ok "SIGKILL: sortmail was still reading 5 MB into the message"
else
	not_ok "SIGKILL: sortmail was still reading 5 MB into the message (it exited $st)"
	diag_file "$T/err"
fi
check "SIGKILL: nothing in new/" test "$(count_all_new)" -eq 0
deliver < "$DATA/plain.eml"
expect_rc 0 "after the SIGKILL, the next delivery works"
check "after the SIGKILL, exactly the next mail is in new/" one_new_in inbox

check "no output line starts like a status code" no_dsn_codes
done_testing
