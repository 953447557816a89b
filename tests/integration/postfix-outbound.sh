#!/bin/sh
# postfix-outbound: forward and rebroadcast really travel through Postfix
# (issue 6), with the private instance of postfix-lib.sh.
#
# The sending sortmails run as root with Postfix's own sendmail(1) pointed at
# the instance with -C (postdrop takes a private configuration directory only
# from root; see postfix-reply.sh). Every @example.com address is the test
# user's plus address there; local(8) runs sortmail as that user, which files
# each copy into the folder got.NAME of its Maildir, where we check the
# envelope sender (the Return-Path local(8) writes) and the headers.
#
# - forward: the original envelope sender, or forward-sender; the loop marker.
# - rebroadcast: every member gets the post from the list's bounce address,
#   with List-Id, List-Post, Precedence and the subject tag; a copy that comes
#   back to the list is not sent again; a non-member's post is held.
# - a forward loop, A forwards to B and B to A: the test carries each copy
#   from the Maildir it reached to the next sortmail (as local(8) would), and
#   the loop marker stops it at A's second turn, where it is filed: nothing
#   lost, nothing bounced, the queue empty.
# Skips when postfix-lib.sh does.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/postfix-lib.sh"

SENDMAIL=$(postconf -d -h sendmail_path 2>/dev/null)
[ -x "$SENDMAIL" ] || skip_all "no Postfix sendmail at '$SENDMAIL'"

# header NAME FILE: the value of the first NAME: field of FILE's header block.
header() { sed -n '/^$/q; p' "$2" | grep -m 1 -i "^$1: " | sed "s/^[^:]*: //"; }
# headers NAME FILE: every NAME: value, one per line.
headers() { sed -n '/^$/q; p' "$2" | grep -i "^$1: " | sed "s/^[^:]*: //"; }
body() { sed '1,/^$/d' "$1"; }
# use_home DIR: HOME, ROOT and CONFIG of an existing home (see new_home).
use_home() { HOME=$1; ROOT=$1/Maildir; CONFIG=$1/.sortmail/config; }
UNPLUS="unplus ^$TEST_USER\\+for-example\\+(.+)@ \$1@example.com"

# ---- the receiving side: the test user, under local(8) -----------------------

_home=$HOME
new_home "$H"
write_config <<CONF
$UNPLUS
log-file ~/sortmail.log
rule to ^([a-z]+)@example\\.com\$ folder got.\$1 noscore
CONF
chown -R "$TEST_UID:$TEST_GID" "$H"
RMAIL=$H/Maildir
got() { echo "$RMAIL/.got.$1"; }
# arrived NAME: a copy for NAME@example.com has been filed.
arrived() { [ "$(count_new "$(got "$1")")" -ge 1 ]; }
# take NAME: the oldest copy for NAME, moved to $T/NAME.eml.
take() { _f=$(new_files "$(got "$1")" | head -n 1); [ -n "$_f" ] && mv "$_f" "$T/$1.eml"; }

# ---- the sending sides: root, with sendmail -C the instance ----------------------

SENDER_CONF="log-file ~/sortmail.log
sendmail $SENDMAIL -C $ETC
sendmail-timeout 30s"

new_home "$T/lists"
LISTS=$HOME
printf '# the members\nalice@example.com\nbob@example.com\n' > "$HOME/announce.members"
write_config <<CONF
$SENDER_CONF
list announce members ~/announce.members bounce announce-owner@example.com post announce@example.com tag [announce]
rule to ^announce@ rebroadcast announce
rule to ^fwd@ forward carol@example.com
rule to ^fwdsender@ forward dave@example.com forward-sender fwd-owner@example.com
CONF

for _x in a b; do
	new_home "$T/$_x"
	_to=$( [ $_x = a ] && echo b || echo a )
	write_config <<CONF
$SENDER_CONF
$UNPLUS
rule to ^$_x@ forward $_to@example.com
CONF
done

HOME=$_home
start_instance
diag "Postfix $(postconf -d -h mail_version), config $ETC, sendmail $SENDMAIL"

N=0
# message TO FROM: a new ham message in $T/m.eml, as delivered to TO.
message() {
	N=$((N + 1))
	{ echo "Delivered-To: $1"; cat; } > "$T/m.eml" <<EOF
From: Someone <$2>
To: $1
Subject: Meeting notes $N
Message-ID: <outbound-$N@example.org>
Date: Mon, 1 Jan 2024 10:00:00 +0000

Hello all,

the notes of the meeting are below. We agreed to move the review to Friday
and to ask the new colleagues to join it.

Regards
EOF
}
settled() { wait_for 30 queue_empty; }

# ---- forward ----------------------------------------------------------------------

use_home "$LISTS"
message fwd@example.com someone@example.org
env_sender=someone@example.org
deliver < "$T/m.eml"
expect_rc 0 "forward: exit 0"
if wait_for 30 arrived carol && settled; then
	ok "forward: the copy went through Postfix into carol's folder"
else
	not_ok "forward: the copy went through Postfix into carol's folder"
	grep -E 'from=|status=' "$MAILLOG" | tail -n 5 | cut -c1-300 | sed 's/^/#   /'
fi
take carol
F=$T/carol.eml
check "forward: Return-Path is the original envelope sender" \
	test "$(header Return-Path "$F")" = "<someone@example.org>"
check "forward: Delivered-To carol, by Postfix" \
	test "$(header Delivered-To "$F")" = "$TEST_USER+for-example+carol@$FQDN"
check "forward: the loop marker" test "$(header X-Sortmail-Loop "$F")" = "fwd@example.com"
check "forward: Subject and body unchanged" sh -c "
	test \"\$(sed -n 's/^Subject: //p' '$F')\" = 'Meeting notes $N' &&
	test \"\$(sed '1,/^\$/d' '$F')\" = \"\$(sed '1,/^\$/d' '$T/m.eml')\""
check "forward: the verdict goes along" grep -q '^X-Spam-Status: No' "$F"
check "forward: logged forward=sent" grep -q ' to=fwd@example.com .* forward=sent filed=no' \
	"$LISTS/sortmail.log"

message fwdsender@example.com someone@example.org
deliver < "$T/m.eml"
wait_for 30 arrived dave && settled
take dave
check "forward-sender: Return-Path is the configured sender" \
	test "$(header Return-Path "$T/dave.eml")" = "<fwd-owner@example.com>"
reset_env

# ---- rebroadcast --------------------------------------------------------------------

message announce@example.com alice@example.com
env_sender=alice@example.com
deliver < "$T/m.eml"
expect_rc 0 "rebroadcast: exit 0"
check "rebroadcast: nothing filed on the list's side" test "$(count_all_new)" -eq 0
if wait_for 30 arrived alice && wait_for 30 arrived bob && settled; then
	ok "rebroadcast: both members got it through Postfix"
else
	not_ok "rebroadcast: both members got it through Postfix"
	grep -E 'from=|status=' "$MAILLOG" | tail -n 5 | cut -c1-300 | sed 's/^/#   /'
fi
take alice
take bob
for _m in alice bob; do
	R=$T/$_m.eml
	[ -f "$R" ] || R=/dev/null
	check "rebroadcast to $_m: Return-Path is the bounce address" \
		test "$(header Return-Path "$R")" = "<announce-owner@example.com>"
	check "rebroadcast to $_m: one Return-Path" test "$(headers Return-Path "$R" | wc -l)" -eq 1
	check "rebroadcast to $_m: List-Id, List-Post, Precedence" sh -c "
		test \"\$(sed -n '/^\$/q; s/^List-Id: //p' '$R')\" = '<announce.example.com>' &&
		test \"\$(sed -n '/^\$/q; s/^List-Post: //p' '$R')\" = '<mailto:announce@example.com>' &&
		test \"\$(sed -n '/^\$/q; s/^Precedence: //p' '$R')\" = list"
	check "rebroadcast to $_m: the subject tag" \
		test "$(header Subject "$R")" = "[announce] Meeting notes $N"
	check "rebroadcast to $_m: From and body as posted" sh -c "
		test \"\$(sed -n '/^\$/q; s/^From: //p' '$R')\" = 'Someone <alice@example.com>' &&
		test \"\$(sed '1,/^\$/d' '$R')\" = \"\$(sed '1,/^\$/d' '$T/m.eml')\""
done
wait_for 10 log_has 2 'from=<announce-owner@example.com>' || true
check "rebroadcast: Postfix took it from=<announce-owner@example.com>" \
	log_has 1 'from=<announce-owner@example.com>'
check "rebroadcast: Postfix delivered both" \
	log_has 2 'orig_to=<(alice|bob)@example.com>.*status=sent'

# A member that is the list itself, say: the copy comes back. Not again.
before=$(grep -c 'from=<announce-owner@example.com>' "$MAILLOG")
sed "s/^Delivered-To: .*/Delivered-To: announce@example.com/" "$T/alice.eml" > "$T/back.eml"
deliver < "$T/back.eml"
expect_rc 0 "a rebroadcast coming back: exit 0"
check "a rebroadcast coming back: filed on the list's side, not sent" sh -c "
	test $(count_all_new) -eq 1 && test \"\$(grep -c 'from=<announce-owner@example.com>' '$MAILLOG')\" -eq $before"
find "$ROOT" -path '*/new/*' -type f -delete

message announce@example.com mallory@example.com
env_sender=mallory@example.com
deliver < "$T/m.eml"
expect_rc 0 "non-member: exit 0"
check "non-member: held in .held" one_new_in held
check "non-member: logged why" grep -q 'held for list announce (held:sender: From mallory@example.com' \
	"$LISTS/sortmail.log"
settled
check "non-member: nothing reached the members" \
	sh -c "test $(count_new "$(got alice)") -eq 0 && test $(count_new "$(got bob)") -eq 0"
reset_env

# ---- a forward loop: A -> B -> A --------------------------------------------------

# No Delivered-To for A on the way in (so it cannot stop B's forward back to
# A): the original recipient comes from ORIGINAL_RECIPIENT.
message a@example.com someone@example.org
sed -i '/^Delivered-To: /d' "$T/m.eml"
env_sender=someone@example.org
env_orig=a@example.com
use_home "$T/a"
deliver < "$T/m.eml"
unset env_orig
check "loop, A: forwarded to B, nothing kept" sh -c "test $rc -eq 0 && test $(count_all_new) -eq 0"
wait_for 30 arrived b && settled
take b
check "loop, B got it with A's marker" test "$(header X-Sortmail-Loop "$T/b.eml")" = "a@example.com"
use_home "$T/b"
deliver < "$T/b.eml"
check "loop, B: forwarded back to A, nothing kept" sh -c "test $rc -eq 0 && test $(count_all_new) -eq 0"
wait_for 30 arrived a && settled
take a
check "loop, A got it back with both markers" \
	test "$(headers X-Sortmail-Loop "$T/a.eml" | sort | tr '\n' ' ')" = "a@example.com b@example.com "
use_home "$T/a"
deliver < "$T/a.eml"
expect_rc 0 "loop, A again: exit 0"
check "loop, A again: not forwarded, filed in A's inbox" one_new_in inbox
check "loop, A again: logged forward=suppressed:loop" \
	grep -q ' forward=suppressed:loop forward_note="X-Sortmail-Loop: a@example.com"$' \
	"$T/a/sortmail.log"
settled
check "loop: nothing more in flight (no copy for A or B)" \
	sh -c "test $(count_new "$(got a)") -eq 0 && test $(count_new "$(got b)") -eq 0"
reset_env
HOME=$_home

check "Postfix bounced nothing" test ! -s "$PMBOX"
check "Postfix deferred nothing" sh -c "! grep -q 'status=deferred' '$MAILLOG'"
stop_instance
check "the instance stopped by itself (nothing left to kill)" test -z "$KILLED"
done_testing
