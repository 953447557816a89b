#!/bin/sh
# deliver-basic: every fixture in tests/data/messages is delivered through the
# real binary: exit 0, exactly one new file in the expected folder, the stored
# bytes are the input's (apart from the prepended X-Spam headers and a leading
# From_ line), files 0600, folders created on demand 0700 with maildirfolder.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

# fixture  expected-folder
cases='
plain inbox
multipart-attachment lists
html-only inbox
no-message-id inbox
no-delivered-to inbox
broken-mime inbox
headers-8bit inbox
headers-latin1 inbox
nul-bytes inbox
from-line inbox
crlf inbox
no-final-newline inbox
'

names_ok=yes
echo "$cases" | while read -r fixture folder; do
	[ -n "$fixture" ] && echo "$fixture $folder"
done > "$T/cases"

while read -r fixture folder; do
	new_home "$T/$fixture"
	# a threshold no message reaches: these are all ham, whatever the rules say
	write_config <<-'CONF'
	required-score 1000
	rule header List-Id team\.lists\.example\.org folder lists
	CONF
	msg=$DATA/$fixture.eml
	deliver < "$msg"
	expect_rc 0 "$fixture: exit 0"
	if one_new_in "$folder"; then
		ok "$fixture: one new mail, in $folder"
		check "$fixture: stored bytes are the input's" same_as_input "$NEWFILE" "$msg"
		m=$(mode_of "$NEWFILE")
		if [ "$m" = 600 ]; then ok "$fixture: mode 0600"; else not_ok "$fixture: mode 0600 (is $m)"; fi
		base=$(basename "$NEWFILE")
		echo "$base" | grep -q -E '^[0-9]+\.[^/:]+\.[^/:]+$' \
			|| { names_ok=no; diag "$fixture: file name $base is not time.unique.host"; }
	else
		not_ok "$fixture: one new mail, in $folder"
		skip "$fixture: stored bytes are the input's" "not delivered"
		skip "$fixture: mode 0600" "not delivered"
	fi
done < "$T/cases"

if [ "$names_ok" = yes ]; then ok "new/ file names are time.unique.host"; else not_ok "new/ file names are time.unique.host"; fi

# the folder made on demand for the multipart fixture
ROOT=$T/multipart-attachment/Maildir
d=$ROOT/.lists
modes=$(for x in "$d" "$d/tmp" "$d/new" "$d/cur"; do mode_of "$x" 2>/dev/null || echo missing; done | tr '\n' ' ')
if [ "$modes" = "700 700 700 700 " ]; then
	ok "folder .lists and its tmp/new/cur created with mode 0700"
else
	not_ok "folder .lists and its tmp/new/cur created with mode 0700 (modes: $modes)"
fi
check "folder .lists has a maildirfolder file" test -f "$d/maildirfolder"
check "nothing left in tmp/ after delivery" test "$(count_all_tmp "$ROOT")" -eq 0

# the explicit subcommand is the same as none
new_home "$T/subcommand"
write_config < /dev/null
deliver deliver < "$DATA/plain.eml"
expect_rc 0 "'sortmail deliver' exits 0"
check "'sortmail deliver' stores one mail in the inbox" one_new_in inbox

# with no config at all, defaults: Maildir at ~/Maildir
new_home "$T/noconfig"
deliver < "$DATA/plain.eml"
expect_rc 0 "without a config file: exit 0"
check "without a config file: one mail in ~/Maildir" one_new_in inbox

# A first line starting with white space is no header field: a prepended
# X-Spam-Status must not take it as its continuation (a sender could extend
# our header that way). The header block then ends after our fields.
new_home "$T/folded"
write_config < /dev/null
printf ' tests=ALL_TRUSTED autolearn=ham\nSubject: hi\n\nbody\n' > "$T/folded.eml"
deliver < "$T/folded.eml"
expect_rc 0 "message starting with white space: exit 0"
if one_new_in inbox; then
	{ grep -a '^X-Spam-' "$NEWFILE"; echo; cat "$T/folded.eml"; } > "$T/folded.want"
	check "message starting with white space: our header block ends before it" \
		cmp -s "$NEWFILE" "$T/folded.want"
	check "message starting with white space: it was scored (X-Spam-Status first)" \
		sh -c "head -n 1 '$NEWFILE' | grep -q '^X-Spam-Status: '"
else
	not_ok "message starting with white space: our header block ends before it"
	skip "message starting with white space: it was scored (X-Spam-Status first)" "not delivered"
fi

check "no output line starts like a status code" no_dsn_codes
done_testing
