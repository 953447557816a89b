#!/bin/sh
# replay: `sortmail replay` through the real binary. mboxrd and mboxo quoting
# (">From ", ">>From ", an unquoted "From " after an empty line, CRLF), a
# Maildir with flags in cur/, single files and stdin, a truncated mbox, a
# message without headers, --json parsed by python3 (escaping included), the
# envelope from each message's headers, the inputs left untouched, nothing
# written by --dry-run, replies and pipes off unless asked for, the
# duplicates journal, a failing message, SIGINT then --skip, --jobs 2.
. "$(dirname "$0")/lib.sh"

command -v python3 > /dev/null || skip_all "python3 is needed to parse --json"
RDATA=$top_srcdir/tests/data/replay

# replay ARGS...: sortmail replay in the Postfix-like environment of lib.sh
# (its SENDER/RECIPIENT must be ignored); sets rc, $T/out, $T/err.
replay() {
	deliver replay "$@"
}

# body_of FILE: the stored message without the prepended X-Spam headers.
body_of() {
	grep -v '^X-Spam-' "$1"
}

# json_check PYTHON-EXPRESSION: true when the expression holds for `rows`,
# the list of objects in $T/out (one per line; every line must parse).
json_check() {
	python3 - "$T/out" "$1" <<-'PY'
	import json, sys
	rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
	ok = eval("(" + sys.argv[2] + ")")
	if not ok:
	    print("# rows:", rows[:4], file=sys.stderr)
	sys.exit(0 if ok else 1)
	PY
}

sums() {
	find "$@" -type f -exec sha256sum {} + | sort
}

# ---- mboxrd (the default) and mboxo -------------------------------------------

cp "$RDATA/quoting.mbox" "$T/quoting.mbox"
chmod 0444 "$T/quoting.mbox"
sums "$T/quoting.mbox" > "$T/sums.before"

new_home "$T/rd"
write_config <<-'CONF'
required-score 1000
rule to ^quoting@ folder quoting
CONF
replay "$T/quoting.mbox"
expect_rc 0 "mboxrd: exit 0"
cat > "$T/expect-rd" <<'EOF'
Return-Path: <alice@example.org>
Delivered-To: quoting@example.com
From: Alice <alice@example.org>
To: quoting@example.com
Subject: quoting
Message-ID: <quoting-1@example.org>

A body with lines a writer had to quote:
From the start of a line (mboxo and mboxrd: was "From ")
>From one quote deeper (mboxrd: was ">From "; mboxo: as it is)
>>From two quotes deeper
> From a reply, never quoted
>Fromage, never quoted

From here on an unquoted line after an empty one: not a boundary.
The end.
EOF
sed -e 's/^>From one/>>From one/' -e 's/^>>From two/>>>From two/' "$T/expect-rd" > "$T/expect-o"
f=$(new_files "$ROOT/.quoting")
if [ "$(count_new "$ROOT/.quoting")" = 1 ] && body_of "$f" | cmp -s - "$T/expect-rd"; then
	ok "mboxrd: one message per From_ line, quoting undone by one level"
else
	not_ok "mboxrd: one message per From_ line, quoting undone by one level"
	[ -n "$f" ] && body_of "$f" | diff - "$T/expect-rd" | head -n 10 | sed 's/^/# /'
fi
check "mboxrd: the second message in the inbox, its separator line dropped" \
	sh -c "[ \$(find '$ROOT/new' -type f | wc -l) = 1 ] \
	&& grep -v '^X-Spam-' '$ROOT'/new/* | tail -n 1 | grep -qx 'Second message.'"

new_home "$T/o"
write_config <<-'CONF'
required-score 1000
rule to ^quoting@ folder quoting
CONF
replay --mbox-format=mboxo "$T/quoting.mbox"
expect_rc 0 "mboxo: exit 0"
f=$(new_files "$ROOT/.quoting")
if [ -n "$f" ] && body_of "$f" | cmp -s - "$T/expect-o"; then
	ok "mboxo: only '>From ' loses its quote"
else
	not_ok "mboxo: only '>From ' loses its quote"
	[ -n "$f" ] && body_of "$f" | diff - "$T/expect-o" | head -n 10 | sed 's/^/# /'
fi

# CRLF: the same mbox with CRLF line ends is split and un-quoted the same way
sed 's/$/\r/' "$RDATA/quoting.mbox" > "$T/crlf.mbox"
new_home "$T/crlf"
write_config <<-'CONF'
required-score 1000
rule to ^quoting@ folder quoting
CONF
replay "$T/crlf.mbox"
expect_rc 0 "CRLF mbox: exit 0"
f=$(new_files "$ROOT/.quoting")
cr=$(printf '\r')
if [ -n "$f" ] && [ "$(count_all_new)" = 2 ] \
	&& body_of "$f" | tr -d '\r' | cmp -s - "$T/expect-rd" \
	&& [ "$(body_of "$f" | grep -c "$cr\$")" = "$(body_of "$f" | wc -l | tr -d ' ')" ]; then
	ok "CRLF mbox: two messages, un-quoted, CRLF kept"
else
	not_ok "CRLF mbox: two messages, un-quoted, CRLF kept"
fi

# ---- --json, envelope from the headers, escaping --------------------------------

new_home "$T/json"
write_config <<-'CONF'
required-score 1000
rule from ^alice@example\.org$ folder from-alice
CONF
{
	cat "$RDATA/quoting.mbox"
	printf 'From x@example.org Wed Jan  3 12:00:00 2024\n'
	printf 'Return-Path: <>\nDelivered-To: bounce@example.com\n'
	printf 'Message-ID: <odd"id\\with-control\001and-\351-latin1@x>\nSubject: odd\n\nodd\n\n'
} > "$T/json.mbox"
replay --json "$T/json.mbox"
expect_rc 0 "--json: exit 0"
check "--json: one object per message, every line parses" json_check 'len(rows) == 3'
check "--json: position, message-id, recipient, verdict, cache use, folder, reply" json_check \
	'rows[0]["file"].endswith("json.mbox") and rows[0]["offset"] == 0 and rows[1]["offset"] > 0
	 and rows[0]["message_id"] == "<quoting-1@example.org>"
	 and rows[0]["recipient"] == "quoting@example.com" and rows[1]["recipient"] == "other@example.com"
	 and all(r["verdict"] == "ham" and r["via"] in ("scored", "cached") for r in rows)
	 and all(r["result"] == "stored" and r["reply"] is None for r in rows)
	 and all(r["n"] == i + 1 for i, r in enumerate(rows))'
check "--json: envelope sender from Return-Path (the rule on it fired; <> is the null sender)" \
	json_check 'rows[0]["sender"] == "alice@example.org" and rows[0]["folder"] == "from-alice"
	            and rows[1]["folder"] == "inbox" and rows[2]["sender"] == ""'
check "--json: quotes, backslashes, control characters and non-UTF-8 escaped" \
	json_check 'rows[2]["message_id"] == "<odd\"id\\with-control\x01and-\ufffd-latin1@x>"'
check "--json: the summary went to stderr, not into the JSON" grep -q '^replayed 3 messages' "$T/err"

# -f/-r/-a override the headers
new_home "$T/env"
write_config <<-'CONF'
required-score 1000
rule from ^forced@example\.net$ folder forced
CONF
replay --json -f forced@example.net -a given@example.com "$T/quoting.mbox"
check "-f and -a override Return-Path and Delivered-To" json_check \
	'all(r["sender"] == "forced@example.net" and r["folder"] == "forced" for r in rows)'

# ---- the input is never modified -------------------------------------------------

sums "$T/quoting.mbox" > "$T/sums.after"
check "mbox input unmodified (checksum, read-only file)" cmp -s "$T/sums.before" "$T/sums.after"

# ---- a Maildir with flags in cur/, single files, stdin ---------------------------

SRC=$T/src-maildir
mkdir -p "$SRC/new" "$SRC/cur" "$SRC/tmp"
i=0
for name in new/1700000001.A.host cur/1700000002.B.host:2,S cur/1700000003.C.host:2,FRS; do
	i=$((i + 1))
	printf 'Delivered-To: md%d@example.com\nMessage-ID: <md-%d@example.org>\nSubject: m%d\n\nbody %d\n' \
		"$i" "$i" "$i" "$i" > "$SRC/$name"
done
printf 'half written\n' > "$SRC/tmp/1700000004.D.host"
tree_state "$SRC" > "$T/md.before"
sums "$SRC" > "$T/mdsums.before"
new_home "$T/md"
write_config <<-'CONF'
required-score 1000
CONF
replay --json "$SRC"
expect_rc 0 "Maildir: exit 0"
check "Maildir: new/ and cur/ in name order, flags from cur/ names, tmp/ ignored" json_check \
	'[r["name"] for r in rows] == ["new/1700000001.A.host", "cur/1700000002.B.host:2,S",
	  "cur/1700000003.C.host:2,FRS"] and [r.get("flags") for r in rows] == [None, "S", "FRS"]
	 and [r["recipient"] for r in rows] == ["md1@example.com", "md2@example.com", "md3@example.com"]'
check "Maildir: three messages filed" test "$(count_all_new)" = 3
tree_state "$SRC" > "$T/md.after"
sums "$SRC" > "$T/mdsums.after"
check "Maildir input unmodified (names, sizes, modes, checksums)" \
	sh -c "cmp -s '$T/md.before' '$T/md.after' && cmp -s '$T/mdsums.before' '$T/mdsums.after'"

# a Maildir file that cannot be read: reported with its number and name, the rest replayed
cp -R "$SRC" "$T/src-broken"
ln -s /nonexistent "$T/src-broken/cur/1700000009.X.host:2,S"
new_home "$T/md-broken"
write_config <<-'CONF'
required-score 1000
CONF
replay --jobs 2 --json "$T/src-broken"
expect_rc 1 "Maildir with an unreadable file: exit 1"
check "Maildir with an unreadable file: reported once, the other three filed" \
	sh -c "[ \$(grep -c 'message 4 (.*src-broken/cur/1700000009.X.host:2,S) failed' '$T/err') = 1 ] \
	&& [ \$(find '$ROOT' -path '*/new/*' -type f | wc -l) = 3 ]"

# a message without headers, as a single file; and an mbox on stdin
new_home "$T/single"
write_config <<-'CONF'
required-score 1000
CONF
printf 'no header here, just words\nand more words\n' > "$T/noheader.txt"
replay --json "$T/noheader.txt"
expect_rc 0 "message without headers: exit 0"
if one_new_in inbox && body_of "$NEWFILE" | cmp -s - "$T/noheader.txt"; then
	ok "message without headers: filed into the inbox as it is"
else
	not_ok "message without headers: filed into the inbox as it is"
fi
new_home "$T/stdin"
write_config <<-'CONF'
required-score 1000
CONF
(sortmail_exec replay --json - < "$RDATA/quoting.mbox") > "$T/out" 2> "$T/err"
rc=$?
expect_rc 0 "stdin: exit 0"
check "stdin: both messages of the mbox replayed" json_check \
	'len(rows) == 2 and rows[0]["file"] == "-" and all(r["result"] == "stored" for r in rows)'

# ---- a truncated mbox ------------------------------------------------------------

new_home "$T/trunc"
write_config <<-'CONF'
required-score 1000
CONF
{ cat "$RDATA/quoting.mbox"; printf 'From c@example.org Thu Jan  4 13:00:00 2024\nSubject: cut\nMessage-ID: <cut@x>\n\nthe disk filled up in the mid'; } > "$T/trunc.mbox"
replay --json "$T/trunc.mbox"
expect_rc 0 "truncated mbox: exit 0 (every message stored)"
check "truncated mbox: all three replayed, the last one flagged" json_check \
	'len(rows) == 3 and [r["truncated"] for r in rows] == [False, False, True]
	 and all(r["result"] == "stored" for r in rows)'
check "truncated mbox: reported on stderr with its position" \
	grep -q 'message 3 (.*trunc.mbox@[0-9]*).*truncated' "$T/err"
check "truncated mbox: the cut message filed as it was" \
	sh -c "grep -l 'in the mid\$' '$ROOT'/new/* > /dev/null"

# ---- dry run, replies and outbound actions off by default --------------------------

SENT=$T/sent
mkdir -p "$SENT"
cat > "$T/fake-sendmail" <<EOF
#!/bin/sh
cat > "$SENT/\$\$.msg"
EOF
cat > "$T/fake-pipe" <<EOF
#!/bin/sh
cat > "$SENT/pipe.\$\$"
EOF
chmod 0755 "$T/fake-sendmail" "$T/fake-pipe"
new_home "$T/safe"
write_config <<CONF
sendmail $T/fake-sendmail
rule to ^quoting@ autorespond information folder training noscore
rule to ^other@ pipe $T/fake-pipe noscore
CONF
tree_state "$HOME" > "$T/home.before"
replay --dry-run --json "$T/quoting.mbox"
expect_rc 0 "dry run: exit 0"
tree_state "$HOME" > "$T/home.after"
check "dry run: nothing written (no mail, no cache, no log)" cmp -s "$T/home.before" "$T/home.after"
check "dry run: decisions printed (replies and pipes shown as off)" json_check \
	'[r["result"] for r in rows] == ["decided", "decided"] and rows[0]["folder"] == "training"
	 and rows[0]["reply"] == "off" and rows[1]["pipe"] == "off"'
replay --json "$T/quoting.mbox"
expect_rc 0 "replies and pipes off: exit 0"
check "replies and pipes off by default: nothing sent or run, both messages filed" \
	sh -c "[ -z \"\$(ls '$SENT')\" ] && [ \$(find '$ROOT' -path '*/new/*' -type f | wc -l) = 2 ]"
check "the message a pipe would have taken is kept in the inbox" \
	sh -c "[ \$(find '$ROOT/new' -type f | wc -l) = 1 ]"
new_home "$T/unsafe"
write_config <<CONF
sendmail $T/fake-sendmail
rule to ^quoting@ autorespond information folder training noscore
rule to ^other@ pipe $T/fake-pipe noscore
CONF
replay --json --autorespond --outbound "$T/quoting.mbox"
check "--autorespond --outbound: the reply sent and the pipe run" json_check \
	'rows[0]["reply"] == "sent" and rows[1]["pipe"] == "ok" and rows[1]["result"] == "passed-on"'
check "--autorespond --outbound: sendmail and the pipe really ran" \
	sh -c "[ \$(ls '$SENT' | wc -l) = 2 ]"

# ---- the duplicates journal, a failing message ---------------------------------------

new_home "$T/dup"
write_config <<-'CONF'
required-score 1000
rule to ^other@ folder broken
CONF
replay "$T/quoting.mbox"
replay --json "$T/quoting.mbox"
check "replayed twice: the second run files nothing (duplicates journal)" \
	sh -c "[ \$(find '$ROOT' -path '*/new/*' -type f | wc -l) = 2 ]"
check "replayed twice: both reported as duplicates" json_check \
	'[r["result"] for r in rows] == ["duplicate", "duplicate"]'
replay --no-duplicates-check "$T/quoting.mbox"
check "--no-duplicates-check files them again" test "$(count_all_new)" = 4

new_home "$T/fail"
write_config <<-'CONF'
required-score 1000
rule to ^quoting@ folder broken
CONF
: > "$ROOT/.broken"   # a file where the folder should be: filing there fails
replay --json "$T/quoting.mbox" "$T/does-not-exist"
expect_rc 1 "a failing message and a missing input: exit 1"
check "the failing message is reported with its position, the next one replayed" \
	sh -c "grep -q 'message 1 (.*quoting.mbox@0) failed' '$T/err' \
	&& grep -q 'does-not-exist' '$T/err'"
check "--json: failed, then stored" json_check \
	'[r["result"] for r in rows] == ["failed", "stored"] and rows[0]["error"]'

# ---- SIGINT, then --skip ----------------------------------------------------------------

# Message 3 of 6 is piped to a command that sends SIGINT to sortmail: the
# replay must finish message 3, stop, and say how to resume (--skip 3).
awk 'BEGIN { for (i = 1; i <= 6; i++) printf "From s@example.org Mon Jan  1 10:00:00 2024\nDelivered-To: u%d@example.com\nMessage-ID: <six-%d@x>\nSubject: %d\n\nbody %d\n\n", i, i, i, i }' > "$T/six.mbox"
new_home "$T/int"
write_config <<-'CONF'
required-score 1000
rule to ^u3@ shell pipe "cat > /dev/null; kill -INT $PPID" folder three
CONF
replay --outbound "$T/six.mbox"
expect_rc 130 "SIGINT: exit 130"
check "SIGINT: the current message finished, no later one started" \
	sh -c "[ \$(find '$ROOT' -path '*/new/*' -type f | wc -l) = 3 ] && [ \$(ls '$ROOT/.three/new' | wc -l) = 1 ]"
resume=$(sed -n 's/^  \(sortmail replay --skip [0-9]*\) .*/\1/p' "$T/err")
check "SIGINT: how to resume is printed (--skip 3)" test "$resume" = "sortmail replay --skip 3"
replay --skip 3 --json "$T/six.mbox"
expect_rc 0 "resumed with --skip 3: exit 0"
check "resumed: messages 4 to 6 replayed, each message filed once in all" \
	sh -c "[ \$(find '$ROOT' -path '*/new/*' -type f | wc -l) = 6 ] \
	&& [ \$(find '$ROOT' -path '*/new/*' -type f -exec cat {} + | grep '^Message-ID: <six-' | sort -u | wc -l) = 6 ]"
check "resumed: numbering continues at 4" json_check '[r["n"] for r in rows] == [4, 5, 6]'

# ---- --jobs 2 ---------------------------------------------------------------------------

awk 'BEGIN { for (i = 1; i <= 40; i++) printf "From s@example.org Mon Jan  1 10:00:00 2024\nDelivered-To: u%d@example.com\nMessage-ID: <burst-%d@x>\nSubject: %d\n\nsame body\n\n", i % 7, i % 10, i }' > "$T/forty.mbox"
new_home "$T/jobs"
write_config <<-'CONF'
required-score 1000
CONF
replay --jobs 2 --json "$T/forty.mbox"
expect_rc 0 "--jobs 2: exit 0"
check "--jobs 2: every message exactly once in the output and in the Maildir" \
	sh -c "[ \$(find '$ROOT' -path '*/new/*' -type f | wc -l) = 40 ] && python3 -c '
import json, sys
n = sorted(json.loads(l)[\"n\"] for l in open(sys.argv[1]))
sys.exit(0 if n == list(range(1, 41)) else 1)' '$T/out'"
check "--jobs 2: the summary adds up both workers" grep -q '^replayed 40 messages' "$T/err"

# Copies of one message for the same recipient side by side (a mailbox saved
# twice, concatenated): with round robin, the two copies of a pair went to
# different workers, which could each miss the other in the duplicates
# journal and both file. All copies of a message now go to one worker.
awk 'BEGIN { for (i = 1; i <= 30; i++) for (c = 0; c < 2; c++) printf "From s@example.org Mon Jan  1 10:00:00 2024\nDelivered-To: u@example.com\nMessage-ID: <pair-%d@x>\nSubject: %d\n\nbody %d\n\n", i, i, i }' > "$T/pairs.mbox"
for jobs in 2 3; do
	new_home "$T/pairs$jobs"
	write_config <<-'CONF'
	required-score 1000
	CONF
	replay --jobs $jobs --json "$T/pairs.mbox"
	expect_rc 0 "pairs of copies, --jobs $jobs: exit 0"
	check "pairs of copies, --jobs $jobs: each message filed once, its copy a duplicate" \
		sh -c "[ \$(find '$ROOT' -path '*/new/*' -type f | wc -l) = 30 ] \
		&& [ \$(find '$ROOT' -path '*/new/*' -type f -exec cat {} + | grep -c '^Message-ID: <pair-') = 30 ]"
	check "pairs of copies, --jobs $jobs: 30 reported filed, 30 duplicates" json_check \
		'sorted(r["result"] for r in rows).count("duplicate") == 30 and len(rows) == 60'
done
# the same from a Maildir (each worker reads every file to choose)
new_home "$T/pairsmd"
write_config <<-'CONF'
required-score 1000
CONF
mkdir -p "$T/pairs-src/new" "$T/pairs-src/cur" "$T/pairs-src/tmp"
for i in $(seq 1 20); do
	for c in a b; do
		printf 'Delivered-To: u@example.com\nMessage-ID: <mdpair-%d@x>\n\nbody %d\n' "$i" "$i" \
			> "$T/pairs-src/new/17000000$(printf %02d "$i")$c.P1.host"
	done
done
replay --jobs 2 --json "$T/pairs-src"
check "pairs of copies in a Maildir, --jobs 2: each filed once" \
	test "$(find "$ROOT" -path '*/new/*' -type f | wc -l)" = 20

# replaying a Maildir into itself: only what was there at the start
new_home "$T/self"
write_config <<-'CONF'
required-score 1000
CONF
for i in 1 2 3 4 5 6 7 8; do
	printf 'Message-ID: <self-%d@x>\nSubject: %d\n\nbody\n' "$i" "$i" > "$ROOT/cur/170000000$i.S$i.host:2,S"
done
replay --jobs 2 --no-duplicates-check --json "$ROOT"
check "a Maildir replayed into itself (--jobs 2): its 8 messages once each, no more" \
	sh -c "[ \$(find '$ROOT/new' -type f | wc -l) = 8 ] && [ \$(wc -l < '$T/out') = 8 ]"

check "no output line starts like a status code" no_dsn_codes
done_testing
