#!/bin/sh
# mbox: with "mbox DIR", 20 concurrent deliveries of distinct ~100 KB messages
# into one mbox give exactly 20 intact messages (locking works); body lines
# matching ^>*From are quoted mboxrd-style; the From_ separator comes from the
# envelope; no lock file is left behind.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

# the_mbox DIR: sets BOX to the one mail file in DIR (lock files aside).
the_mbox() {
	BOX=$(find "$1" -type f ! -name '*.lock' 2>/dev/null)
	if [ -n "$BOX" ] && [ "$(echo "$BOX" | wc -l)" -eq 1 ]; then
		return 0
	fi
	diag "expected one mbox file in $1, found: $(echo $BOX)"
	return 1
}

# split_mbox MBOX DIR: one file per message in DIR (From_ line and the blank
# separator line removed, mboxrd quoting undone); prints "COUNT BAD..." where
# BAD lists messages not followed by a blank line (0: text before a From_).
split_mbox() {
	mkdir -p "$2"
	awk -v dir="$2" '
	function done_one() {
		if (n && !(have && held == "")) bad = bad " " n
		if (n) close(f)
	}
	/^From / { done_one(); n++; f = sprintf("%s/%02d", dir, n); have = 0; next }
	{
		if (!n) { bad = bad " 0"; next }
		if (have) print held > f
		held = $0
		if (held ~ /^>+From /) held = substr(held, 2)
		have = 1
	}
	END { done_one(); print n + 0 bad }' "$1"
}

# ---- 20 concurrent deliveries --------------------------------------------------
new_home "$T/home"
mkdir -m 0700 "$T/mail"
printf 'mbox %s\nrequired-score 1000\n' "$T/mail" | write_config
i=1
while [ $i -le 20 ]; do
	{
		printf 'Return-Path: <sender%d@example.net>\nDelivered-To: user@localhost\n' $i
		printf 'From: sender%d@example.net\nTo: user@localhost\nSubject: concurrent %d\n' $i $i
		printf 'Message-ID: <concurrent-%d@example.net>\n\n' $i
		printf 'From me, a line to quote, in message %d\n>From an already quoted line\n' $i
		yes "message $i: some text to make the message long enough to need several writes" \
			| head -n 1300
		printf 'last line of message %d\n' $i
	} > "$T/msg$i.eml"
	i=$((i + 1))
done
pids=
i=1
while [ $i -le 20 ]; do
	(sortmail_exec) < "$T/msg$i.eml" > "$T/out$i" 2> "$T/err$i" &
	pids="$pids $!"
	i=$((i + 1))
done
failed=
i=0
for p in $pids; do
	i=$((i + 1))
	wait "$p" || failed="$failed $i"
done
cat "$T"/out* "$T"/err* >> "$T/all-output"
if [ -z "$failed" ]; then
	ok "20 concurrent deliveries: all exit 0"
else
	not_ok "20 concurrent deliveries: all exit 0 (failed:$failed)"
	for i in $failed; do diag_file "$T/err$i" 3; done
fi

if the_mbox "$T/mail"; then
	ok "one mbox file"
	froms=$(grep -c '^From ' "$BOX")
	check "20 From_ lines in the mbox (found $froms)" test "$froms" -eq 20
	set -- $(split_mbox "$BOX" "$T/parts")
	count=$1
	shift
	if [ -z "$*" ]; then
		ok "every message is followed by a blank line"
	else
		not_ok "every message is followed by a blank line (not: $*)"
	fi
	intact=0
	seen=
	for part in "$T"/parts/*; do
		[ -f "$part" ] || continue
		i=$(sed -n 's/^Message-ID: <concurrent-\([0-9]*\)@example\.net>$/\1/p' "$part" | head -n 1)
		[ -n "$i" ] || { diag "$(basename "$part"): no Message-ID"; continue; }
		case " $seen " in *" $i "*) diag "message $i stored twice"; continue ;; esac
		seen="$seen $i"
		if same_as_input "$part" "$T/msg$i.eml"; then
			intact=$((intact + 1))
		else
			diag "message $i is damaged"
		fi
	done
	check "20 distinct messages, each byte-identical to its input ($intact of $count)" \
		test "$intact" -eq 20
	m=$(mode_of "$BOX")
	check "the mbox has mode 0600 (is $m)" test "$m" = 600
else
	not_ok "one mbox file"
fi
check "no lock file left" test -z "$(find "$T/mail" -name '*.lock')"

# ---- mboxrd quoting and the From_ line ---------------------------------------------
new_home "$T/quote"
mkdir -m 0700 "$T/qmail"
printf 'mbox %s\nrequired-score 1000\n' "$T/qmail" | write_config
cat > "$T/quote.eml" <<'MSG'
From: quoter@example.net
To: user@localhost
Subject: quoting
Message-ID: <quote-1@example.net>

From me
>From me
>>From me too
Fromage is cheese
 From with a space
From
MSG
env_sender=envelope@example.org
deliver < "$T/quote.eml"
expect_rc 0 "quoting: exit 0"
if the_mbox "$T/qmail"; then
	check "the From_ line carries the envelope sender" \
		grep -q -E '^From envelope@example\.org ' "$BOX"
	check "From_ line is the first line" sh -c 'head -n 1 "$1" | grep -q "^From "' sh "$BOX"
	check "only the separator starts with 'From '" test "$(grep -c '^From ' "$BOX")" -eq 1
	check "'From me' is stored as '>From me'" grep -q -x -F '>From me' "$BOX"
	check "'>From me' is stored as '>>From me'" grep -q -x -F '>>From me' "$BOX"
	check "'>>From me too' is stored as '>>>From me too'" grep -q -x -F '>>>From me too' "$BOX"
	check "'Fromage is cheese' is left alone" grep -q -x -F 'Fromage is cheese' "$BOX"
	check "' From with a space' is left alone" grep -q -x -F ' From with a space' "$BOX"
	check "a bare 'From' line is left alone" grep -q -x -F 'From' "$BOX"
	set -- $(split_mbox "$BOX" "$T/qparts")
	check "unquoted, the stored message is the input" same_as_input "$T/qparts/01" "$T/quote.eml"
else
	not_ok "quoting: one mbox file"
fi

# a leading From_ line in the input is replaced, not kept
new_home "$T/fromline"
mkdir -m 0700 "$T/fmail"
printf 'mbox %s\nrequired-score 1000\n' "$T/fmail" | write_config
deliver < "$DATA/from-line.eml"
expect_rc 0 "input with a From_ line: exit 0"
if the_mbox "$T/fmail"; then
	check "input with a From_ line: one From_ line in the mbox" test "$(grep -c '^From ' "$BOX")" -eq 1
	check "input with a From_ line: body '>From here' stored as '>>From here'" \
		grep -q '^>>From here on the body' "$BOX"
	set -- $(split_mbox "$BOX" "$T/fparts")
	check "input with a From_ line: unquoted, the stored message is the input" \
		same_as_input "$T/fparts/01" "$DATA/from-line.eml"
else
	not_ok "input with a From_ line: one mbox file"
fi

# ---- file names: DIR/inbox, DIR/FOLDER, spam in DIR/ube ---------------------------
new_home "$T/names"
mkdir -m 0700 "$T/nmail"
# ham.eml goes twice to one recipient here: keep the duplicates journal out of it
printf 'mbox %s\nduplicates no\npersonal fred@example.com\nrule from ^lists@example\\.org$ folder lists\n' \
	"$T/nmail" | write_config
deliver < "$DATA/ham.eml"
expect_rc 0 "ham to the inbox: exit 0"
env_sender=lists@example.org
deliver < "$DATA/ham.eml"
expect_rc 0 "ham by a rule to folder lists: exit 0"
reset_env
deliver < "$DATA/spam.eml"
expect_rc 0 "spam to a personal address: exit 0"
for f in inbox lists ube; do
	n=$(grep -c '^From ' "$T/nmail/$f" 2> /dev/null)
	check "one message in DIR/$f" test "${n:-0}" -eq 1
done
check "the spam in DIR/ube carries X-Spam-Flag: YES" \
	sh -c 'sed -n 2p "$1" | grep -q -x "X-Spam-Flag: YES"' sh "$T/nmail/ube"

check "no output line starts like a status code" no_dsn_codes
done_testing
