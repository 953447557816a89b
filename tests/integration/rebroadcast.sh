#!/bin/sh
# rebroadcast: a rule's "rebroadcast LIST" through the real binary, with the
# configured sendmail a script that records its arguments and input. A
# member's post goes to the members (not the moderators) with the bounce
# address as envelope sender and List-Id, List-Post, Precedence, the subject
# tag and the loop marker added; a moderator's post and one whose envelope
# sender is a member go too; a non-member's post, an automatic message and
# one that carries the list's List-Id do not (held for review, or filed); spam
# takes the spam policy's way; an unreadable or bad members file and a failing
# sendmail leave the message in the inbox. The duplicates journal keeps a
# retry after a failed filing from sending a forward or rebroadcast again.
. "$(dirname "$0")/lib.sh"

SENT=$T/sent
FAKE=$T/fake-sendmail
MODE=$T/mode
mkdir -p "$SENT"
new_home "$T/home"
LOG=$HOME/sortmail.log

cat > "$FAKE" <<EOF
#!/bin/sh
n=\$\$
printf '%s\n' "\$@" > "$SENT/\$n.argv"
cat > "$SENT/\$n.msg"
case "\$(cat "$MODE" 2>/dev/null)" in
smfail) echo "sendmail: fatal: queue file write error" >&2; exit 1 ;;
esac
exit 0
EOF
chmod 0755 "$FAKE"

cat > "$HOME/announce.members" <<EOF
# the announce list
alice@example.org
Bob@Example.org   # Bob, as he writes it
  carol@example.net

ALICE@example.org
EOF
echo "moderator@example.com" > "$HOME/announce.mods"
echo "dave@example.org" > "$HOME/team.members"

write_config <<CONF
personal fred@example.com
log-file $LOG
sendmail $FAKE
list announce members ~/announce.members moderators ~/announce.mods bounce announce-owner@example.com post announce@example.com tag [announce] hold held.announce
list team members ~/team.members bounce team-owner@example.com post team@example.com
rule to ^announce@ rebroadcast announce
rule to ^team@ rebroadcast team folder archive.team
rule to ^fwd@ forward alice@example.net folder fwdcopy
CONF

N=0
# message TO FROM [HEADER...]: a new message (fresh Message-ID) to TO from FROM in $T/m.eml.
message() {
	N=$((N + 1))
	_to=$1 _from=$2
	shift 2
	{
		echo "Return-Path: <$env_sender>"
		echo "Delivered-To: $_to"
		for _h in "$@"; do echo "$_h"; done
		echo "From: Someone <$_from>"
		echo "To: $_to"
		echo "Subject: Message $N"
		echo "Message-ID: <m-$N@example.org>"
		echo "Date: Mon, 1 Jan 2024 10:00:00 +0000"
		echo
		echo "Body $N: the meeting is on Friday at ten, in the usual room."
	} > "$T/m.eml"
}
last_sent() { ls -t "$SENT"/*.msg 2>/dev/null | head -n 1; }
count_sent() { find "$SENT" -name '*.msg' | wc -l | tr -d ' '; }
argv_of() { tr '\n' ' ' < "${1%.msg}.argv"; }
log_last() { tail -n 1 "$LOG"; }
expect_logged() {
	if log_last | grep -q -- "$1"; then
		ok "$2"
	else
		not_ok "$2"
		diag "last log line: $(log_last)"
	fi
}
# header NAME FILE: the values of NAME: in FILE's header block, one per line.
header() { sed -n '/^$/q; p' "$2" | grep -i "^$1: " | sed "s/^[^:]*: //"; }
mode() { echo "$1" > "$MODE"; }
clean() { find "$ROOT" -path '*/new/*' -type f -delete; }
HOLD=held.announce
MEMBERS="alice@example.org Bob@Example.org carol@example.net"

# ---- a member's post ------------------------------------------------------------

mode ok
message announce@example.com alice@example.org
deliver < "$T/m.eml"
expect_rc 0 "member: exit 0"
check "member: nothing filed" test "$(count_all_new)" -eq 0
S=$(last_sent)
check "member: sendmail -i -f the bounce address -- the members, once each" \
	test "$(argv_of "$S")" = "-i -f announce-owner@example.com -- $MEMBERS "
check "member: List-Id" test "$(header List-Id "$S")" = "<announce.example.com>"
check "member: List-Post" test "$(header List-Post "$S")" = "<mailto:announce@example.com>"
check "member: Precedence: list" test "$(header Precedence "$S")" = "list"
check "member: the subject tag" test "$(header Subject "$S")" = "[announce] Message $N"
check "member: the loop marker" test "$(header X-Sortmail-Loop "$S")" = "announce@example.com"
check "member: the verdict goes along" grep -q '^X-Spam-Status: No' "$S"
check "member: no Return-Path (the final delivery writes its own)" \
	test -z "$(header Return-Path "$S")"
check "member: From, Message-ID and body unchanged" sh -c "
	test \"\$(sed -n '/^From: /p; /^Message-ID: /p; /^\$/,\$p' '$S')\" = \
	     \"\$(sed -n '/^From: /p; /^Message-ID: /p; /^\$/,\$p' '$T/m.eml')\""
expect_logged " delivered .* to=announce@example.com .* rebroadcast=sent rebroadcast_note=\"list announce, 3 members\" filed=no\$" \
	"member: logged rebroadcast=sent and filed=no"

# A member's From in another case; a post whose subject already has the tag.
message announce@example.com ALICE@EXAMPLE.ORG
sed -i 's/^Subject: /Subject: Re: [Announce] /' "$T/m.eml"
before=$(count_sent)
deliver < "$T/m.eml"
check "member in capitals: sent" test "$(count_sent)" -eq $((before + 1))
check "tag already there: not doubled" \
	test "$(header Subject "$(last_sent)")" = "Re: [Announce] Message $N"

# The moderator may post, and does not get the rebroadcast.
message announce@example.com moderator@example.com
deliver < "$T/m.eml"
check "moderator: sent to the members only" \
	test "$(argv_of "$(last_sent)")" = "-i -f announce-owner@example.com -- $MEMBERS "
check "moderator: nothing filed" test "$(count_all_new)" -eq 0

# The envelope sender is a member although From: is not (a member's alias).
message announce@example.com alias@example.org
env_sender=carol@example.net
before=$(count_sent)
deliver < "$T/m.eml"
check "envelope sender a member: sent" test "$(count_sent)" -eq $((before + 1))
reset_env

# ---- posts that are held or not rebroadcast ---------------------------------------

message announce@example.com mallory@example.com
before=$(count_sent)
deliver < "$T/m.eml"
expect_rc 0 "non-member: exit 0"
check "non-member: not sent" test "$(count_sent)" -eq "$before"
check "non-member: held in .$HOLD" one_new_in $HOLD
check "non-member: held unchanged (no list headers)" sh -c "! grep -q '^List-Id:' '$NEWFILE'"
expect_logged " folder=$HOLD .* note=\".*held for list announce (held:sender: From mallory@example.com, envelope sender sender@example.org: not a member or moderator)\"" \
	"non-member: logged why"

# Released by a moderator as sortmail.conf(5) says: the journal's record
# first, then the held file again with the moderator as envelope sender.
cp "$NEWFILE" "$T/held.eml"
clean
env_sender=moderator@example.com
deliver < "$T/held.eml"
check "release without forgetting: taken for a duplicate, not sent" \
	sh -c "test $(count_sent) -eq $before && test $(count_all_new) -eq 0"
key=$(HOME=$HOME "$SORTMAIL" cache show --message "$T/held.eml" | sed -n 's/^key  *//p')
HOME=$HOME "$SORTMAIL" cache forget "$key" > /dev/null
deliver < "$T/held.eml"
check "release: sent to the members, nothing filed" \
	sh -c "test $(count_sent) -eq $((before + 1)) && test $(count_all_new) -eq 0"
check "release: the copy names the author in From" \
	test "$(header From "$(last_sent)")" = "Someone <mallory@example.com>"
reset_env

# A display name that looks like a member's address does not make one.
message announce@example.com mallory@example.com
sed -i 's/^From: .*/From: "alice@example.org" <mallory@example.com>/' "$T/m.eml"
deliver < "$T/m.eml"
check "member's address as display name: held" one_new_in $HOLD
clean

message announce@example.com alice@example.org "Auto-Submitted: auto-replied"
before=$(count_sent)
deliver < "$T/m.eml"
check "automatic reply from a member: held, not sent" \
	sh -c "test $(count_sent) -eq $before && test -n \"\$(ls '$ROOT/.$HOLD/new')\""
expect_logged 'held for list announce (held:automatic: Auto-Submitted: auto-replied)' \
	"automatic reply: logged why"
clean

# Our own rebroadcast coming back (a member is the list itself, say).
message announce@example.com alice@example.org "List-Id: Announcements <announce.example.com>"
before=$(count_sent)
deliver < "$T/m.eml"
check "the list's own List-Id: not sent again" test "$(count_sent)" -eq "$before"
check "the list's own List-Id: filed in the inbox, not held" one_new_in inbox
expect_logged ' rebroadcast=suppressed:loop rebroadcast_note="List-Id: <announce.example.com>"$' \
	"the list's own List-Id: logged"
clean

message announce@example.com alice@example.org "X-Sortmail-Loop: announce@example.com"
deliver < "$T/m.eml"
check "our loop marker: not sent again" test "$(count_sent)" -eq "$before"
check "our loop marker: filed in the inbox" one_new_in inbox
clean

# Spam from a member's address: the spam policy, never the list.
{ echo "Delivered-To: announce@example.com"; sed 's/^From: .*/From: alice@example.org/' \
	"$DATA/spam.eml"; } > "$T/spam.eml"
deliver < "$T/spam.eml"
expect_rc 0 "spam: exit 0"
check "spam: not sent" test "$(count_sent)" -eq "$before"
check "spam: filed by the spam policy (ubetrap)" one_new_in ubetrap
expect_logged ' verdict=spam .* folder=ubetrap ' "spam: logged"
clean

# ---- failures: the message stays --------------------------------------------------

mv "$HOME/announce.members" "$HOME/announce.members.away"
message announce@example.com alice@example.org
deliver < "$T/m.eml"
expect_rc 0 "members file missing: exit 0"
check "members file missing: not sent, filed in the inbox" \
	sh -c "test $(count_sent) -eq $before && test -n \"\$(ls '$ROOT/new')\""
expect_logged ' rebroadcast=failed:members rebroadcast_note=".*announce.members.*No such file' \
	"members file missing: logged"
clean
{ cat "$HOME/announce.members.away"; echo "Eve <eve@example.org>"; } > "$HOME/announce.members"
message announce@example.com alice@example.org
deliver < "$T/m.eml"
check "bad line in the members file: not sent, filed in the inbox" \
	sh -c "test $(count_sent) -eq $before && test -n \"\$(ls '$ROOT/new')\""
clean
mv "$HOME/announce.members.away" "$HOME/announce.members"

mode smfail
message announce@example.com alice@example.org
deliver < "$T/m.eml"
expect_rc 0 "sendmail fails: exit 0"
check "sendmail fails: filed in the inbox" one_new_in inbox
expect_logged ' rebroadcast=failed:sendmail rebroadcast_note=".*queue file write error' \
	"sendmail fails: logged"
clean
mode ok

# ---- a list with a folder: sent and filed; the default id, no tag ------------------

message team@example.com dave@example.org
deliver < "$T/m.eml"
S=$(last_sent)
check "team: sent to its member" \
	test "$(argv_of "$S")" = "-i -f team-owner@example.com -- dave@example.org "
check "team: List-Id from the post address" test "$(header List-Id "$S")" = "<team.example.com>"
check "team: no tag, subject as it was" test "$(header Subject "$S")" = "Message $N"
check "team: filed in .archive.team too" one_new_in archive.team
check "team: the filed copy is the message as it came" same_as_input "$NEWFILE" "$T/m.eml"
clean

# ---- a retry after a failed filing sends nothing again ------------------------------

# The folder cannot be made (a file is in the way): exit 75 after sending.
rm -rf "$ROOT/.archive.team"
: > "$ROOT/.archive.team"
message team@example.com dave@example.org
before=$(count_sent)
deliver < "$T/m.eml"
expect_rc 75 "filing fails after the rebroadcast: exit 75"
check "filing fails after the rebroadcast: it was sent once" \
	test "$(count_sent)" -eq $((before + 1))
rm -f "$ROOT/.archive.team"
deliver < "$T/m.eml"
expect_rc 0 "the retry: exit 0"
check "the retry: not sent again" test "$(count_sent)" -eq $((before + 1))
check "the retry: filed once" one_new_in archive.team
expect_logged ' rebroadcast=already-sent ' "the retry: logged already-sent"
clean

: > "$ROOT/.fwdcopy"
message fwd@example.com someone@example.org
before=$(count_sent)
deliver < "$T/m.eml"
expect_rc 75 "filing fails after a forward: exit 75"
rm -f "$ROOT/.fwdcopy"
deliver < "$T/m.eml"
expect_rc 0 "the forward's retry: exit 0"
check "the forward's retry: forwarded once in all" test "$(count_sent)" -eq $((before + 1))
check "the forward's retry: filed once" one_new_in fwdcopy
expect_logged ' forward=already-sent forward_note="by an earlier attempt (duplicates journal)"' \
	"the forward's retry: logged already-sent"
clean

# A message whose first line starts with white space (no header block of its
# own): every field we add, the X-Spam ones included, stays in the header
# block; one empty line then ends it, before the message's first line.
mode ok
clean
printf ' indented first line\nsecond line\n' > "$T/folded.eml"
{ echo; cat "$T/folded.eml"; } > "$T/folded.want"
env_orig=announce@example.com
env_sender=alice@example.org
deliver < "$T/folded.eml"
reset_env
expect_rc 0 "message starting with white space: exit 0"
S=$(last_sent)
check "message starting with white space: List-Id and X-Spam-Status in the header block" \
	sh -c '[ -n "$(sed -n "/^\$/q; /^List-Id: /p" "$1")" ] && [ -n "$(sed -n "/^\$/q; /^X-Spam-Status: /p" "$1")" ]' sh "$S"
check "message starting with white space: one empty line, then the message" \
	sh -c 'sed -n "/^\$/,\$p" "$1" | cmp -s - "$2"' sh "$S" "$T/folded.want"

check "no output line looks like a DSN code" no_dsn_codes
done_testing
