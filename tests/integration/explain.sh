#!/bin/sh
# explain: `sortmail explain` on known messages, compared with expected files
# (tests/data/explain/*.expected) after normalizing what varies (the scratch
# and source paths, the reply's Date and Message-Id). Also: a cache hit after
# a real delivery is reported and used; a spam verdict overriding a rule is
# named; nothing is written (the home's tree is the same before and after;
# the fake sendmail never runs); a broken config is exit 1.
. "$(dirname "$0")/lib.sh"

EDATA=$top_srcdir/tests/data/explain
new_home "$T/home"
SENT=$T/sent
FAKE=$T/fake-sendmail
cat > "$FAKE" <<EOF
#!/bin/sh
echo ran >> "$SENT"
cat > /dev/null
EOF
chmod 0755 "$FAKE"

write_config <<CONF
personal me@example.com
unplus ^me\+for-example\+(.+)@ \$1@example.com
rules $EDATA/local.cf
sendmail $FAKE
templates-dir $EDATA/templates
rule to ^training@example\.com\$ autorespond course folder training
rule to ^sales@example\.com\$ forward boss@example.net folder sales
CONF

# normalize < OUT > NORMALIZED
normalize() {
	sed -e "s|$T|TMP|g" -e "s|$top_srcdir|SRC|g" \
		-e 's/^Date: .*/Date: (date)/' -e 's/^Message-Id: .*/Message-Id: (id)/'
}

# compare NAME: $T/out, normalized, against $EDATA/NAME.expected.
compare() {
	normalize < "$T/out" > "$T/$1.got"
	if diff -u "$EDATA/$1.expected" "$T/$1.got" > "$T/$1.diff"; then
		return 0
	fi
	diag "explain output differs from $1.expected:"
	diag_file "$T/$1.diff" 40
	return 1
}

tree_state "$HOME" > "$T/before"
deliver explain -c "$CONFIG" -f carol@example.org -r me@example.com \
	< "$EDATA/training.eml"
expect_rc 0 "explain a message that gets a reply: exit 0"
check "its output is the expected one (recipient, unplus, rules, folder, reply)" \
	compare training
deliver explain -c "$CONFIG" -f dave@example.org < "$EDATA/sales.eml"
expect_rc 0 "explain a message that is forwarded: exit 0"
check "its output is the expected one (forward argv)" compare sales
# The sender from an mbox From_ line (no -f, no SENDER): one with a NUL byte
# is no sender at all (not the part before the NUL), as in the mbox reader.
unset env_sender
printf 'From carol@example.org Mon Jan  1 10:00:00 2024\nSubject: x\n\nbody\n' > "$T/from-line.eml"
deliver explain -c "$CONFIG" < "$T/from-line.eml"
check "explain: the sender comes from the mbox From line" \
	grep -q 'sender.*carol@example\.org (from the mbox From line)' "$T/out"
printf 'From ab\000cd@example.org Mon Jan  1 10:00:00 2024\nSubject: x\n\nbody\n' > "$T/from-nul.eml"
deliver explain -c "$CONFIG" < "$T/from-nul.eml"
check "explain: a From line sender with a NUL byte is no sender" \
	grep -q 'sender.*<> (from nothing: null sender)' "$T/out"
reset_env
tree_state "$HOME" > "$T/after"
check "explain wrote nothing into the home (no cache, no Maildir folder)" \
	cmp -s "$T/before" "$T/after"
check "explain ran no sendmail" test ! -e "$SENT"

# A spam verdict overrides the matching rule: explain names the rule.
sed 's/^Delivered-To: .*/Delivered-To: me+for-example+sales@example.com/' \
	"$DATA/spam.eml" > "$T/spam-sales.eml"
write_config <<CONF
personal me@example.com
unplus ^me\+for-example\+(.+)@ \$1@example.com
sendmail $FAKE
rule to ^sales@example\.com\$ forward boss@example.net folder sales
CONF
deliver explain -c "$CONFIG" -f spammer@example.biz < "$T/spam-sales.eml"
check "spam: the stock rules that hit are listed with scores" \
	grep -q '^  rule  *SM_[A-Z_0-9]* +[0-9.]* (body, .*stock.cf:[0-9]*): ' "$T/out"
check "spam: the rule that matched is shown as overridden" \
	grep -q "^  matching rule  *$CONFIG:5: rule to ^sales@" "$T/out"
check "spam: filed into ubetrap, full path shown" \
	grep -q "^  path  *$ROOT/.ubetrap\$" "$T/out"
check "spam: the X-Spam-Flag header that would be prepended" \
	grep -q '^  prepended  *X-Spam-Flag: YES$' "$T/out"

# After a real delivery the verdict is cached and the filing journaled:
# explain reports both (read only).
deliver -f spammer@example.biz < "$T/spam-sales.eml"
expect_rc 0 "a real delivery of it (fills the cache)"
deliver explain -c "$CONFIG" -f spammer@example.biz < "$T/spam-sales.eml"
check "explain after the delivery: cache hit" grep -q '^  lookup  *hit: a fresh verdict' "$T/out"
check "the cached verdict is shown" grep -q '^  cached verdict  *spam, score ' "$T/out"
check "the duplicates journal says it was filed for this recipient" \
	grep -q '^  duplicates  *already filed for sales@example.com at ' "$T/out"
tree_state "$HOME" > "$T/before2"
deliver explain -c "$CONFIG" -f spammer@example.biz < "$T/spam-sales.eml"
tree_state "$HOME" > "$T/after2"
check "explain with a cache file present changes nothing" cmp -s "$T/before2" "$T/after2"

# A config with an error: exit 1, and a pointer to sortmail check.
echo "frobnicate yes" >> "$CONFIG"
deliver explain -c "$CONFIG" < "$EDATA/training.eml"
expect_rc 1 "a broken config: exit 1"
check "the error names file:line and suggests sortmail check" \
	grep -q "$CONFIG:6: unknown keyword 'frobnicate' (sortmail check lists" "$T/err"
deliver explain --bogus < /dev/null
expect_rc 2 "an unknown option: exit 2"

done_testing
