#!/bin/sh
# spam-policy: a clear spam (tests/data/messages/spam.eml, hitting several
# stock rules) goes to ube when sent to a personal address and to ubetrap
# otherwise, with X-Spam-Flag / X-Spam-Status prepended exactly; ham gets only
# X-Spam-Status; noscore mail gets nothing and is never spam; rules do not
# file or discard spam unless they say even-spam; discard stores nothing.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

SPAM=$DATA/spam.eml
HAM=$DATA/ham.eml
status_re='^X-Spam-Status: (Yes|No), score=-?[0-9]+\.[0-9] required=[0-9]+\.[0-9] tests=[^ ]*$'

# to ADDRESS FILE: a copy of FILE with its Delivered-To set to ADDRESS
# (or removed when ADDRESS is empty); prints the copy's path.
to() {
	_out=$T/$(basename "$2" .eml)-to-${1:-none}.eml
	if [ -n "$1" ]; then
		sed "s/^Delivered-To: .*/Delivered-To: $1/" "$2" > "$_out"
	else
		sed '/^Delivered-To: /d' "$2" > "$_out"
	fi
	echo "$_out"
}

# spam_prefix REQUIRED: $T/prefix is exactly the two spam headers, with at
# least two rule names (a clear spam hits several).
spam_prefix() {
	if [ "$(wc -l < "$T/prefix")" -eq 2 ] \
		&& [ "$(head -n 1 "$T/prefix")" = "X-Spam-Flag: YES" ] \
		&& sed -n 2p "$T/prefix" | grep -q -E "$status_re" \
		&& sed -n 2p "$T/prefix" | grep -q -E "^X-Spam-Status: Yes, .* required=$1 tests=[A-Za-z0-9_]+(,[A-Za-z0-9_]+)+\$"; then
		return 0
	fi
	diag "prepended headers are not 'X-Spam-Flag: YES' + 'X-Spam-Status: Yes, ... required=$1 tests=A,B...':"
	diag_file "$T/prefix" 5
	return 1
}

# ham_prefix: $T/prefix is exactly one "X-Spam-Status: No, ..." line.
ham_prefix() {
	if [ "$(wc -l < "$T/prefix")" -eq 1 ] \
		&& grep -q -E "$status_re" "$T/prefix" \
		&& grep -q '^X-Spam-Status: No, ' "$T/prefix"; then
		return 0
	fi
	diag "prepended headers are not one 'X-Spam-Status: No, ...' line:"
	diag_file "$T/prefix" 5
	return 1
}

# delivered_to FOLDER WHAT MESSAGE: exit 0, the one new mail is in FOLDER and
# is the input plus a prefix (left in $T/prefix). Three tests. Then empties
# every new/, so each case starts from a clean slate.
delivered_to() {
	expect_rc 0 "$2: exit 0"
	if one_new_in "$1"; then
		ok "$2: filed into $1"
		check "$2: stored bytes are the input's" same_as_input "$NEWFILE" "$3"
		_r=0
	else
		not_ok "$2: filed into $1"
		skip "$2: stored bytes are the input's" "not delivered"
		: > "$T/prefix"
		_r=1
	fi
	(cd "$ROOT" && find . -path '*/new/*' -type f -exec rm -f {} +)
	return $_r
}

# dry_field NAME: the value of NAME= in the last dry-run line.
dry_field() {
	sed -n "s/.*\\(^\\| \\)$1=\\([^ ]*\\).*/\\2/p" "$T/out" | head -n 1
}

# ---- spam to a personal address, and to a trap address -------------------------------
new_home "$T/policy"
write_config <<CONF
personal fred@example.com
log-file $T/policy/sortmail.log
CONF
msg=$(to fred@example.com "$SPAM")
deliver -n < "$msg"
dry_score=$(dry_field score)
dry_tests=$(dry_field tests)
if [ "$(dry_field verdict)" = spam ] && [ "$(dry_field folder)" = ube ]; then
	ok "dry run: the spam fixture is spam, for ube (score $dry_score)"
else
	not_ok "dry run: the spam fixture is spam, for ube"
	diag_file "$T/out"
	diag_file "$T/err"
fi
deliver < "$msg"
if delivered_to ube "spam to a personal address" "$msg"; then
	check "spam to a personal address: X-Spam-Flag and X-Spam-Status prepended exactly" spam_prefix 5.0
	hdr=$(sed -n 2p "$T/prefix")
	check "X-Spam-Status agrees with the dry run's score and tests" \
		test "$hdr" = "X-Spam-Status: Yes, score=$dry_score required=5.0 tests=$dry_tests"
fi
if grep -q -E "^([0-9][0-9T:.+-]* )?sortmail\\[[0-9]+\\]: delivered id=.* to=fred@example\\.com .*verdict=spam .*folder=ube " \
	"$T/policy/sortmail.log" 2> /dev/null; then
	ok "log-file gets the line: delivered ... to=fred@example.com ... verdict=spam ... folder=ube"
else
	not_ok "log-file gets the line: delivered ... to=fred@example.com ... verdict=spam ... folder=ube"
	diag_file "$T/policy/sortmail.log"
fi

msg=$(to trap@example.com "$SPAM")
deliver < "$msg"
delivered_to ubetrap "spam to a non-personal address" "$msg" \
	&& check "spam to a non-personal address: X-Spam headers prepended exactly" spam_prefix 5.0

msg=$(to FRED@Example.COM "$SPAM")
deliver < "$msg"
delivered_to ube "spam to a personal address in other case" "$msg"

msg=$(to fred@example.com "$HAM")
deliver < "$msg"
delivered_to inbox "ham to a personal address" "$msg" \
	&& check "ham: only 'X-Spam-Status: No, ...' prepended" ham_prefix

msg=$(to stranger@example.com "$HAM")
deliver < "$msg"
delivered_to inbox "ham to a non-personal address" "$msg"

# ---- defaults: the envelope recipient (and it without +extension) is personal ----------
new_home "$T/defaults"
deliver < "$(to user@localhost "$SPAM")"
delivered_to ube "no config, spam to the envelope recipient" "$(to user@localhost "$SPAM")"
deliver < "$(to other@example.com "$SPAM")"
delivered_to ubetrap "no config, spam to another address" "$(to other@example.com "$SPAM")"
# a fresh home: the same message to the same recipient again would be a duplicate
new_home "$T/defaults-ext"
env_recipient=user+lists@localhost
env_extension=lists
deliver < "$(to user@localhost "$SPAM")"
delivered_to ube "no config, envelope user+lists@localhost, spam to user@localhost" "$(to user@localhost "$SPAM")"
reset_env

# ---- folder names, threshold, size limit ------------------------------------------------
new_home "$T/names"
write_config <<'CONF'
personal fred@example.com
ube-folder Junk
ubetrap-folder Traps
CONF
deliver < "$(to fred@example.com "$SPAM")"
delivered_to Junk "ube-folder Junk" "$(to fred@example.com "$SPAM")"
deliver < "$(to trap@example.com "$SPAM")"
delivered_to Traps "ubetrap-folder Traps" "$(to trap@example.com "$SPAM")"

new_home "$T/threshold"
write_config <<'CONF'
personal fred@example.com
required-score 100
CONF
deliver < "$(to fred@example.com "$SPAM")"
delivered_to inbox "required-score 100: the spam fixture is ham" "$(to fred@example.com "$SPAM")" \
	&& check "required-score 100: 'X-Spam-Status: No, ... required=100.0'" \
		grep -q -E '^X-Spam-Status: No, score=[0-9.-]+ required=100\.0 tests=' "$T/prefix"

new_home "$T/maxsize"
write_config <<'CONF'
personal fred@example.com
max-score-size 1k
CONF
deliver < "$(to fred@example.com "$SPAM")"
delivered_to inbox "max-score-size 1k: the spam fixture is not scored" "$(to fred@example.com "$SPAM")" \
	&& check "max-score-size 1k: nothing prepended" no_prefix

# ---- noscore, even-spam, discard ------------------------------------------------------
new_home "$T/noscore"
write_config <<'CONF'
personal fred@example.com
rule from ^trusted@example\.org$ folder trusted noscore
CONF
env_sender=trusted@example.org
msg=$(to fred@example.com "$SPAM")
deliver -n < "$msg"
if grep -q -E '^folder=trusted .*verdict=unscored .*via=none' "$T/out"; then
	ok "noscore, dry run: folder=trusted verdict=unscored via=none"
else
	not_ok "noscore, dry run: folder=trusted verdict=unscored via=none"
	diag_file "$T/out"
fi
deliver < "$msg"
delivered_to trusted "noscore rule: spam from a trusted sender" "$msg" \
	&& check "noscore rule: no X-Spam headers at all" no_prefix
reset_env

new_home "$T/rules"
write_config <<'CONF'
personal fred@example.com
rule to ^fred@ folder fred
rule to ^abuse@ folder abuse even-spam
rule to ^junk@ discard
CONF
deliver < "$(to fred@example.com "$SPAM")"
delivered_to ube "a rule without even-spam does not file spam" "$(to fred@example.com "$SPAM")"
msg=$(to fred@example.com "$HAM")
deliver < "$msg"
delivered_to fred "the same rule files ham" "$msg"
msg=$(to abuse@example.com "$SPAM")
deliver < "$msg"
delivered_to abuse "even-spam rule files spam into its folder" "$msg" \
	&& check "even-spam rule: the spam headers are still prepended" spam_prefix 5.0
msg=$(to junk@example.com "$SPAM")
deliver < "$msg"
delivered_to ubetrap "a discard rule without even-spam does not discard spam" "$msg"

msg=$(to junk@example.com "$HAM")
deliver -n < "$msg"
check "discard, dry run: folder=(discard)" grep -q '^folder=(discard) ' "$T/out"
before=$(tree_state "$ROOT")
deliver -v < "$msg"
expect_rc 0 "discard: exit 0"
check "discard: nothing stored" test "$before" = "$(tree_state "$ROOT")"
check "discard: -v logs 'discarded'" grep -q -E '^sortmail\[[0-9]+\]: discarded ' "$T/err"

check "no output line starts like a status code" no_dsn_codes
done_testing
