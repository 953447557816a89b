#!/bin/sh
# rule-cache: the scorer's rule cache through real deliveries. The first
# delivery that scores writes ~/.sortmail/rules.cache (0600); the next one
# uses it (the file is not rewritten) and files the same message with the
# same verdict, score and rules; an edited rule file makes the next delivery
# read the files again (the new rule counts) and rewrite the cache; a cache
# file of garbage is replaced and changes nothing; "rule-cache none" writes
# none; and `sortmail check --rules` reports the same rule counts with and
# without it, and leaves it alone when given other rule files. Every delivery scores (cache none: no verdict cache).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

SPAM=$top_srcdir/tests/data/score/spam-lottery.eml
new_home "$T/home"
LOG=$HOME/sortmail.log
RULES=$T/extra.cf
echo 'body T_EXTRA /this never matches anything at all/' > "$RULES"
write_config <<EOF
log-file $LOG
cache none
rules $top_srcdir/score/rules $RULES
EOF
CACHE=$HOME/.sortmail/rules.cache

# verdict: the X-Spam-Status (verdict, score, rules) of the last message filed.
verdict() {
	_f=$(ls -t "$ROOT"/.*/new/* "$ROOT"/new/* 2>/dev/null | head -n 1)
	[ -n "$_f" ] && grep '^X-Spam-Status:' "$_f"
}
inode() { ls -i "$CACHE" | cut -d' ' -f1; }

deliver < "$SPAM"
expect_rc 0 "first delivery"
check "the first delivery wrote the rule cache" test -f "$CACHE"
check "mode 0600" test "$(mode_of "$CACHE")" = 600
first=$(verdict)
check "scored as spam ($first)" test -n "$first" -a "${first#X-Spam-Status: Yes}" != "$first"
ino=$(inode)

deliver < "$SPAM"
expect_rc 0 "second delivery"
check "same verdict from the cached rules" test "$(verdict)" = "$first"
check "the cache was used, not rewritten" test "$(inode)" = "$ino"

sleep 0.05
echo 'body T_EXTRA /lottery/i' > "$RULES"
echo 'score T_EXTRA 0.5' >> "$RULES"
deliver < "$SPAM"
expect_rc 0 "after a rule file edit"
check "the edited rule counts" test "$(verdict | grep -c T_EXTRA)" = 1
check "the cache was rewritten" test "$(inode)" != "$ino"
edited=$(verdict)

head -c 5000 /dev/urandom > "$CACHE.new" && chmod 600 "$CACHE.new" && mv "$CACHE.new" "$CACHE"
deliver < "$SPAM"
expect_rc 0 "with a garbage cache file"
check "same verdict as from the files" test "$(verdict)" = "$edited"
deliver < "$SPAM"
check "and again from the rewritten cache" test "$(verdict)" = "$edited"

# check --rules prints the same counts from the cache as from the files (its
# load time aside).
"$SORTMAIL" check --rules -c "$CONFIG" 2>&1 | grep -v '^load time' > "$T/cached.txt"
ino=$(inode)
"$SORTMAIL" check --rules -c "$CONFIG" "$RULES" > /dev/null 2>&1
check "check --rules FILE leaves the deliveries' cache alone" test "$(inode)" = "$ino"
echo "rule-cache none" >> "$CONFIG"
rm -f "$CACHE"
"$SORTMAIL" check --rules -c "$CONFIG" 2>&1 | grep -v '^load time' > "$T/files.txt"
check "check --rules: same report with and without the cache" cmp -s "$T/cached.txt" "$T/files.txt"
deliver < "$SPAM"
check "rule-cache none: no cache file" test ! -e "$CACHE"
check "rule-cache none: same verdict" test "$(verdict)" = "$edited"

done_testing
