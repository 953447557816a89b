#!/bin/sh
# deliver-big: a 1 MB header line and a 50 MB body (both generated here) are
# delivered intact; the 50 MB delivery stays under 100 MB peak RSS and, being
# above max-score-size (10M by default), is stored unscored (nothing prepended).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

# ---- a 1 MB header line ----------------------------------------------------
msg=$T/long-header.eml
{
	printf 'Return-Path: <big@example.net>\nDelivered-To: user@localhost\n'
	printf 'From: big@example.net\nTo: user@localhost\nSubject: one long header\n'
	printf 'Message-ID: <long-header-1@example.net>\nX-Long: '
	head -c 1048576 /dev/zero | tr '\0' 'x'
	printf '\nDate: Thu, 14 Mar 2024 10:00:00 +0100\n\nbody after a 1 MB header line\n'
} > "$msg"
new_home "$T/long"
write_config < /dev/null
deliver < "$msg"
expect_rc 0 "1 MB header line: exit 0"
if one_new_in inbox; then
	ok "1 MB header line: one new mail in the inbox"
	check "1 MB header line: stored bytes are the input's" same_as_input "$NEWFILE" "$msg"
else
	not_ok "1 MB header line: one new mail in the inbox"
	skip "1 MB header line: stored bytes are the input's" "not delivered"
fi

# ---- a 50 MB body -----------------------------------------------------------
msg=$T/big-body.eml
{
	printf 'Return-Path: <big@example.net>\nDelivered-To: user@localhost\n'
	printf 'From: big@example.net\nTo: user@localhost\nSubject: a 50 MB body\n'
	printf 'Message-ID: <big-body-1@example.net>\nDate: Thu, 14 Mar 2024 10:00:00 +0100\n'
	printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n'
	yes 'The quick brown fox jumps over the lazy dog; 0123456789 abcdefghijklmnopq.' \
		| head -c 52428800
	printf 'last line\n'
} > "$msg"

# peak RSS: GNU time if installed, else Python's getrusage, else no measure
rss_file=$T/rss
if [ -x /usr/bin/time ]; then
	wrap="/usr/bin/time -f %M -o $rss_file"
elif command -v python3 > /dev/null; then
	cat > "$T/rss.py" <<-'PY'
	import resource, subprocess, sys
	status = subprocess.call(sys.argv[2:])
	with open(sys.argv[1], "w") as f:
	    f.write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
	sys.exit(status if status >= 0 else 128 - status)
	PY
	wrap="python3 $T/rss.py $rss_file"
fi
new_home "$T/big"
write_config < /dev/null
deliver < "$msg"
wrap=
expect_rc 0 "50 MB body: exit 0"
if one_new_in inbox; then
	ok "50 MB body: one new mail in the inbox"
	check "50 MB body: stored bytes are the input's" same_as_input "$NEWFILE" "$msg"
	check "50 MB body: above max-score-size, so no X-Spam headers" no_prefix
else
	not_ok "50 MB body: one new mail in the inbox"
	skip "50 MB body: stored bytes are the input's" "not delivered"
	skip "50 MB body: above max-score-size, so no X-Spam headers" "not delivered"
fi
if sanitized; then
	skip "50 MB body: peak RSS under 100 MB" "AddressSanitizer build (RSS is not the program's)"
elif wrapped; then
	skip "50 MB body: peak RSS under 100 MB" "under valgrind (./dev.sh valgrind: the RSS is valgrind's)"
elif [ ! -s "$rss_file" ]; then
	skip "50 MB body: peak RSS under 100 MB" "no /usr/bin/time (Debian package 'time') nor python3 to measure it"
else
	kb=$(grep -E '^[0-9]+$' "$rss_file" | tail -n 1)
	if [ -n "$kb" ] && [ "$kb" -lt 102400 ]; then
		ok "50 MB body: peak RSS under 100 MB ($kb kB)"
	else
		not_ok "50 MB body: peak RSS under 100 MB (${kb:-unknown} kB)"
		diag_file "$rss_file"
	fi
fi
rm -f "$NEWFILE"

# the dry run of the same message: decided without scoring, nothing written
new_home "$T/big-dry"
write_config < /dev/null
before=$(tree_state "$HOME")
deliver -n < "$msg"
expect_rc 0 "50 MB body, dry run: exit 0"
if grep -q -E '^folder=inbox .*verdict=unscored .*via=none' "$T/out"; then
	ok "50 MB body, dry run: folder=inbox verdict=unscored via=none"
else
	not_ok "50 MB body, dry run: folder=inbox verdict=unscored via=none"
	diag_file "$T/out"
fi
check "50 MB body, dry run: writes nothing" test "$before" = "$(tree_state "$HOME")"

rm -f "$msg"
check "no output line starts like a status code" no_dsn_codes
done_testing
