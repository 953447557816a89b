#!/bin/sh
# recipient: the original recipient comes from the first Delivered-To
# (un-plussed by config rules), then -a, ORIGINAL_RECIPIENT, X-Original-To and
# the envelope recipient, in that order; the dry-run line and the -v log line
# have the documented shape; recipients made to escape the Maildir root
# through a rule's $1 land in the inbox and create nothing outside the root.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

# mail FILE [HEADER-LINE...]: a small ham message with the given extra headers.
mail() {
	_f=$1
	shift
	{
		for _h in "$@"; do printf '%s\n' "$_h"; done
		printf 'From: friend@example.net\nTo: someone@example.com\n'
		printf 'Subject: hello\nMessage-ID: <%s@example.net>\n' "$(basename "$_f" .eml)"
		printf 'Date: Fri, 15 Mar 2024 10:00:00 +0100\n\nJust saying hello.\n'
	} > "$_f"
}

# to_is DESCRIPTION ADDRESS [SORTMAIL ARGS...] < MESSAGE: dry run, checks to=.
to_is() {
	_d=$1
	_want=$2
	shift 2
	deliver -n "$@"
	_got=$(sed -n 's/.* to=\([^ ]*\).*/\1/p' "$T/out" | head -n 1)
	if [ "$rc" = 0 ] && [ "$_got" = "$_want" ]; then
		ok "$_d"
	else
		not_ok "$_d"
		diag "exit $rc, to='$_got', expected '$_want'; stdout and stderr:"
		diag_file "$T/out"
		diag_file "$T/err"
	fi
}

new_home "$T/home"
write_config <<'CONF'
unplus ^demo\+for-([^+]+)\+(.+)@ $2@$1.com
required-score 1000
CONF

# ---- Delivered-To and un-plus -------------------------------------------------
mail "$T/unplus.eml" 'Delivered-To: demo+for-example+fred@localhost'
to_is "Delivered-To un-plussed by the config rule" fred@example.com < "$T/unplus.eml"

mail "$T/plain-dt.eml" 'Delivered-To: carol@example.org'
to_is "Delivered-To that no unplus rule matches is kept" carol@example.org < "$T/plain-dt.eml"

mail "$T/two-dt.eml" 'Delivered-To: first@example.com' 'Received: from a by b; Fri, 15 Mar 2024 09:59:00 +0100' \
	'Delivered-To: second@example.com'
to_is "the first Delivered-To wins over a later one" first@example.com < "$T/two-dt.eml"

mail "$T/dt-and-all.eml" 'Delivered-To: winner@example.com' 'X-Original-To: xot@example.com'
env_orig=orig@example.com
to_is "Delivered-To wins over -a, ORIGINAL_RECIPIENT and X-Original-To" winner@example.com \
	-a opt@example.com < "$T/dt-and-all.eml"

# ---- the fallbacks, in order ------------------------------------------------------
mail "$T/xot.eml" 'X-Original-To: xot@example.com'
env_orig=orig@example.com
to_is "no Delivered-To: -a comes first" opt@example.com -a opt@example.com < "$T/xot.eml"
to_is "then ORIGINAL_RECIPIENT" orig@example.com < "$T/xot.eml"
unset env_orig
to_is "then X-Original-To" xot@example.com < "$T/xot.eml"
mail "$T/bare.eml"
to_is "then the envelope recipient (RECIPIENT)" user@localhost < "$T/bare.eml"
to_is "-r overrides RECIPIENT" other@localhost -r other@localhost < "$T/bare.eml"
to_is "-a is un-plussed too" joe@shop.com -a demo+for-shop+joe@localhost < "$T/bare.eml"
env_orig='demo+for-shop+ann@localhost'
to_is "ORIGINAL_RECIPIENT is un-plussed too" ann@shop.com < "$T/bare.eml"
unset env_orig
mail "$T/brackets.eml" 'Delivered-To: <bracket@example.com>'
to_is "angle brackets around Delivered-To are removed" bracket@example.com < "$T/brackets.eml"
reset_env

# ---- the dry-run line and the -v log line -----------------------------------------
before=$(tree_state "$HOME")
deliver -n < "$T/unplus.eml"
expect_rc 0 "dry run: exit 0"
line='^folder=[^ ]+ to=fred@example\.com verdict=(spam|ham|unscored) score=[^ ]* required=[^ ]* via=(scored|cached|waited|none) tests=[^ ]*$'
if [ "$(wc -l < "$T/out")" -eq 1 ] && grep -q -E "$line" "$T/out"; then
	ok "dry run prints one line: folder= to= verdict= score= required= via= tests="
else
	not_ok "dry run prints one line: folder= to= verdict= score= required= via= tests="
	diag_file "$T/out"
fi
check "dry run writes nothing under HOME" test "$before" = "$(tree_state "$HOME")"

unset env_sender
deliver -v < "$DATA/from-line.eml"
expect_rc 0 "-v delivery: exit 0"
log='^sortmail\[[0-9]+\]: delivered id=<?from-line-1@example\.net>? to=user@localhost from=fromline@example\.net verdict=(spam|ham|unscored) score=[^ ]* required=[^ ]* via=(scored|cached|waited|none) folder=inbox ms=[0-9]+(\.[0-9]+)?( [a-z_-]+=.*)?$'
if grep -q -E "$log" "$T/err"; then
	ok "-v writes the log line to stderr (sender taken from the From_ line)"
else
	not_ok "-v writes the log line to stderr (sender taken from the From_ line)"
	diag "expected a line matching $log"
	diag_file "$T/err"
fi
env_sender=envelope@example.org
deliver -v < "$DATA/from-line.eml"
check "SENDER wins over the From_ line" grep -q ' from=envelope@example\.org ' "$T/err"
deliver -v -f opt@example.org < "$DATA/from-line.eml"
check "-f wins over SENDER" grep -q ' from=opt@example\.org ' "$T/err"
deliver -v < "$DATA/no-message-id.eml"
check "log line says id=- without a Message-ID" grep -q -E '^sortmail\[[0-9]+\]: delivered id=- ' "$T/err"
reset_env

# ---- hostile recipients through a rule's $1 ------------------------------------
# control: the rule itself works for a harmless name
new_home "$T/rule-ok"
write_config <<'CONF'
required-score 1000
rule to ^(.+)@example\.com$ folder ex-$1
CONF
mail "$T/fred.eml" 'Delivered-To: fred@example.com'
deliver < "$T/fred.eml"
expect_rc 0 "rule with \$1 (fred@example.com): exit 0"
check "rule with \$1 files fred@example.com into ex-fred" one_new_in ex-fred

n=0
for hostile in '../../etc/passwd@example.com' 'a/b@example.com' '..@example.com' \
	'x/../../../escape@example.com' '/abs@example.com'; do
	n=$((n + 1))
	new_home "$T/hostile$n/home"
	cp "$T/rule-ok/.sortmail/config" "$CONFIG"
	# ~/.sortmail holds the verdict cache: expected, and not a mailbox path.
	outside=$(find "$T/hostile$n" -path "$ROOT" -prune -o -path "$HOME/.sortmail" -prune -o -print | sort)
	mail "$T/hostile$n.eml" "Delivered-To: $hostile"
	deliver -n < "$T/hostile$n.eml"
	check "$hostile (Delivered-To), dry run: folder=inbox" grep -q '^folder=inbox ' "$T/out"
	deliver < "$T/hostile$n.eml"
	expect_rc 0 "$hostile (Delivered-To): exit 0"
	check "$hostile (Delivered-To): lands in the inbox" one_new_in inbox
	mail "$T/hostile$n-a.eml"
	deliver -a "$hostile" < "$T/hostile$n-a.eml"
	expect_rc 0 "$hostile (-a): exit 0"
	c=$(count_new "$ROOT")
	check "$hostile (-a): lands in the inbox too" test "$c" -eq 2 -a "$(count_all_new)" -eq 2
	check "$hostile: nothing created beside the Maildir root" \
		test "$outside" = "$(find "$T/hostile$n" -path "$ROOT" -prune -o -path "$HOME/.sortmail" -prune -o -print | sort)"
	extra=$(find "$ROOT" -mindepth 1 -maxdepth 1 ! -name tmp ! -name new ! -name cur)
	if [ -z "$extra" ]; then
		ok "$hostile: no folder created inside the root"
	else
		not_ok "$hostile: no folder created inside the root"
		diag "found: $extra"
	fi
done

check "no output line starts like a status code" no_dsn_codes
done_testing
