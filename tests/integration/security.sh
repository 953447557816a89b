#!/bin/sh
# security: the security matrix of issue 8, through the real binary. Each
# row is one hostile input or planted file and what must hold:
#  1. addresses: original recipients built to climb out of the mailbox
#     (un-plus rules, -a, ORIGINAL_RECIPIENT, RECIPIENT, EXTENSION, control
#     and NUL bytes, overlong UTF-8) land inside the root (Maildir and mbox),
#     nothing is created beside it;
#  2. folder names from the config that would leave the root: exit 75;
#  3. template includes: relative, absolute, from a message value, and a
#     symlink in the templates directory: no file outside is read, the mail
#     is filed, the reply fails;
#  4. symlinks planted in the Maildir (a tmp/ name guessed by an LD_PRELOAD
#     shim, a folder, new/, tmp/, the maildirfolder marker, the root) and in
#     the mbox directory (the inbox, a folder, a dangling one, the directory,
#     the dotlock): exit 75 and nothing written outside;
#  5. header injection into replies (CR/LF in Subject, From, Reply-To, the
#     envelope sender): the reply a recording sendmail gets has no extra field;
#  6. modes of everything created, under umask 000, 022, 077 and 0277: files
#     0600, directories 0700;
#  7. oversized input with scoring on: 100,000 headers, a 1 MB header line,
#     MIME nesting 1,000 deep, 10,000 parts: stored intact, scored, in under
#     20 s (60 s under ASan) and 200 MB.
# Rows covered elsewhere are not repeated: recipient.sh (hostile Delivered-To
# and -a through a rule's $1), faults.sh (a config folder "../escape"),
# root-owner.sh (another user's tree), test-mbox (symlink, hard link, FIFO
# as the mbox), test-templates and test-reply (include names, injection).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

# ---- helpers -----------------------------------------------------------------

# outside_state DIR: everything under DIR except $ROOT and ~/.sortmail.
outside_state() {
	find "$1" \( -path "$ROOT" -o -path "$HOME/.sortmail" -o -path "$MBOXDIR" \) -prune \
		-o -printf '%p %y %s %m\n' | sort
}

# maildir_shape: every entry under $ROOT is tmp/new/cur (and files in them)
# or a folder .NAME with tmp/new/cur/maildirfolder: no symlink, no deeper path.
maildir_shape() {
	_bad=$(find "$ROOT" -mindepth 1 | grep -v -E \
		"^$ROOT(/\\.[^/]+)?(/(tmp|new|cur)(/[^/]+)?|/maildirfolder)?\$")
	_links=$(find "$ROOT" -type l)
	[ -z "$_bad$_links" ] && return 0
	diag "unexpected entries under the root: $_bad $_links"
	return 1
}

# same_state DESCRIPTION BEFORE AFTER
same_state() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		printf '%s\n' "$2" > "$T/state.before"
		printf '%s\n' "$3" > "$T/state.after"
		diff "$T/state.before" "$T/state.after" | head -n 10 | sed 's/^/#   /'
	fi
}

# hmail FILE DELIVERED-TO: a small ham message (a fresh Message-ID each time).
M=0
hmail() {
	M=$((M + 1))
	{
		[ -n "$2" ] && printf 'Delivered-To: %s\n' "$2"
		printf 'From: friend@example.net\nTo: someone@example.com\nSubject: hello\n'
		printf 'Message-ID: <sec-%d@example.net>\n\nJust saying hello.\n' "$M"
	} > "$1"
}

# A shim for rows 4 and 6 (skipped under ASan: it would load before the
# ASan runtime). It reads its settings from "<its path>.conf".
SHIM=
shim_reason=
if sanitized; then
	shim_reason="AddressSanitizer build: an LD_PRELOAD shim cannot load first (the plain build runs it)"
elif wrapped; then
	shim_reason="sortmail runs through a wrapper (./dev.sh valgrind): the shim would not see it"
elif [ ! -f "$top_builddir/tests/fault/.libs/libsmplant.so" ]; then
	shim_reason="no shim at tests/fault/.libs/libsmplant.so (make check builds it)"
else
	mkdir -p "$T/shim"
	SHIM=$T/shim/libsmplant.so
	cp "$top_builddir/tests/fault/.libs/libsmplant.so" "$SHIM" || bail "cannot copy the shim"
fi
SORTMAIL_EXE=$(readlink -f "$SORTMAIL")

# with_shim KEY=VALUE...: the next deliver runs with the shim so set.
with_shim() {
	printf '%s\n' "SM_PLANT_EXE=$SORTMAIL_EXE" "$@" > "$SHIM.conf"
	_saved_preload=${LD_PRELOAD-}
	LD_PRELOAD=$SHIM${_saved_preload:+:$_saved_preload}
}
without_shim() {
	if [ -n "$_saved_preload" ]; then LD_PRELOAD=$_saved_preload; else unset LD_PRELOAD; fi
	rm -f "$SHIM.conf"
}

MBOXDIR=/nonexistent

# ---- 1. addresses ------------------------------------------------------------
# The un-plus rule turns me+for-DOMAIN+LOCAL@host into LOCAL@DOMAIN, and the
# sorting rule makes the folder DOMAIN.LOCAL from the captures: everything in
# the folder name comes from the message or the environment.
ADDR_CONF='required-score 1000
unplus ^me\+for-([^+]+)\+(.+)@ $2@$1
rule to ^(.+)@([^@]+)$ folder $2.$1'

# addr_case N HOW VALUE [FORMAT]: one delivery with VALUE as the original
# recipient through HOW (delivered-to, option, original, recipient,
# extension); FORMAT maildir (default) or mbox.
addr_case() {
	_n=$1 _how=$2 _v=$3 _fmt=${4:-maildir}
	new_home "$T/addr/$_n/home"
	MBOXDIR=$HOME/mail
	if [ "$_fmt" = mbox ]; then
		rm -rf "$ROOT"
		ROOT=/nonexistent
		mkdir -m 0700 "$MBOXDIR"
		{ echo "mbox $MBOXDIR"; echo "$ADDR_CONF"; } | write_config
	else
		echo "$ADDR_CONF" | write_config
	fi
	_before=$(outside_state "$T/addr/$_n")
	reset_env
	_dt=
	_opt=
	case $_how in
	delivered-to) _dt=$_v ;;
	option) _opt=$_v ;;
	original) env_orig=$_v ;;
	recipient) env_recipient=$_v ;;
	extension) env_recipient="user+$_v@localhost" env_extension=$_v ;;
	esac
	hmail "$T/addr.eml" "$_dt"
	_shown=$(printf '%s' "$_v" | od -An -c | tr -s ' ' | cut -c1-60)
	if [ -n "$_opt" ]; then deliver -a "$_opt" < "$T/addr.eml"; else deliver < "$T/addr.eml"; fi
	expect_rc 0 "$_how [$_shown] ($_fmt): exit 0"
	if [ "$_fmt" = mbox ]; then
		_files=$(find "$MBOXDIR" -mindepth 1 ! -type f)
		_n_in=$(grep -c '^From ' "$MBOXDIR"/* 2>/dev/null | awk -F: '{ s += $NF } END { print s + 0 }')
		check "$_how [$_shown] (mbox): one message, in a plain file of the mbox directory" \
			test -z "$_files" -a "$_n_in" -eq 1
	else
		check "$_how [$_shown]: one message, in the Maildir tree" test "$(count_all_new)" -eq 1
		check "$_how [$_shown]: only tmp/new/cur and .FOLDER/ under the root" maildir_shape
	fi
	same_state "$_how [$_shown] ($_fmt): nothing created beside the mailbox" \
		"$_before" "$(outside_state "$T/addr/$_n")"
	reset_env
}

# control: the rules work (a harmless address makes the folder example.fred)
new_home "$T/addr-control/home"
echo "$ADDR_CONF" | write_config
hmail "$T/addr.eml" 'me+for-example+fred@localhost'
deliver < "$T/addr.eml"
check "control: me+for-example+fred@localhost is filed in example.fred" one_new_in example.fred

n=0
for v in 'me+for-..+..%2f@localhost' 'me+for-..+..@localhost' \
	'me+for-x+../../../etc/passwd@localhost' 'me+for-x/y+z@localhost' \
	'me+for-.+.@localhost' 'me+for-x+a.@localhost' '/etc/passwd@localhost' \
	'me+for-x+%2e%2e%2f%2e%2e%2f@localhost' "$(printf 'me+for-\300\256\300\256+\300\257etc@localhost')" \
	"$(printf 'me+for-x+a\001/\177..@localhost')" \
	"me+for-x+$(head -c 300 /dev/zero | tr '\0' a)@localhost"; do
	n=$((n + 1))
	addr_case "$n" delivered-to "$v"
	n=$((n + 1))
	addr_case "$n" option "$v"
done
for how in original recipient; do
	for v in 'me+for-..+..%2f@localhost' 'me+for-x/../..+y@localhost'; do
		n=$((n + 1))
		addr_case "$n" "$how" "$v"
	done
done
for v in '../..' '/' '../../../etc' 'x/../../y'; do
	n=$((n + 1))
	addr_case "$n" extension "$v"
done
for v in 'me+for-..+..%2f@localhost' 'me+for-x+../../../etc/passwd@localhost' '../x@localhost'; do
	n=$((n + 1))
	addr_case "$n" delivered-to "$v" mbox
done
# A NUL byte in the Delivered-To header (an environment cannot carry one).
new_home "$T/addr-nul/home"
echo "$ADDR_CONF" | write_config
before=$(outside_state "$T/addr-nul")
{
	printf 'Delivered-To: me+for-x+..\000/../../../etc/passwd@localhost\n'
	printf 'From: friend@example.net\nSubject: nul\nMessage-ID: <sec-nul@example.net>\n\nbody\n'
} > "$T/nul.eml"
deliver < "$T/nul.eml"
expect_rc 0 "NUL byte in Delivered-To: exit 0"
check "NUL byte in Delivered-To: one message, inside the root" \
	sh -c '[ "$(cd "$1" && find . -path "*/new/*" -type f | wc -l)" -eq 1 ]' sh "$ROOT"
check "NUL byte in Delivered-To: only tmp/new/cur and .FOLDER/ under the root" maildir_shape
same_state "NUL byte in Delivered-To: nothing created beside the Maildir" \
	"$before" "$(outside_state "$T/addr-nul")"
MBOXDIR=/nonexistent

# ---- 2. folder names from the config -----------------------------------------
n=0
for line in 'rule from . folder /tmp/abs' 'rule from . folder .hidden' \
	'rule from . folder a/b' 'rule from . folder ..' 'rule from . folder x.lock' \
	'rule from . folder a..b' 'rule from . folder inbox/../..' \
	"$(printf 'rule from . folder a\001b')" 'ube-folder ../ube' 'ubetrap-folder /tmp/trap' \
	'rule from . folder .' 'rule from . autorespond ../../etc/passwd folder x'; do
	n=$((n + 1))
	new_home "$T/conf$n/home"
	printf 'required-score 1000\n%s\n' "$line" | write_config
	before=$(tree_state "$T/conf$n")
	deliver < "$DATA/plain.eml"
	shown=$(printf '%s' "$line" | od -An -c | tr -s ' ' | cut -c1-70)
	# line 1 is write_config's "syslog no"
	if [ "$rc" = 75 ] && one_error_line && grep -q -F "$CONFIG:3" "$T/err"; then
		ok "config [$shown]: exit 75 naming $CONFIG:3"
	else
		not_ok "config [$shown]: exit 75 naming the line"
		diag "exit $rc"
		diag_file "$T/err"
	fi
	same_state "config [$shown]: nothing created" "$before" "$(tree_state "$T/conf$n")"
done

# ---- 3. template includes ------------------------------------------------------
SENT=$T/sent
FAKE=$T/fake-sendmail
mkdir -p "$SENT"
cat > "$FAKE" <<EOF
#!/bin/sh
n=\$\$
printf '%s\n' "\$@" > "$SENT/\$n.argv"
cat > "$SENT/\$n.msg"
exit 0
EOF
chmod 0755 "$FAKE"
replies() { find "$SENT" -name '*.msg' | wc -l | tr -d ' '; }

new_home "$T/tpl/home"
LOG=$HOME/log
TPL=$HOME/.sortmail/templates
mkdir -p "$TPL" "$T/tpl/elsewhere"
printf 'SECRET-MARKER-%s\n' outside > "$T/tpl/elsewhere/secret"
printf '[%% head.Subject = "linked" %%]SECRET-MARKER-linked\n' > "$T/tpl/elsewhere/linked"
printf '[%% head.Subject = "good" %%]a good reply\n' > "$TPL/good"
printf '[%% INCLUDE ../../etc/passwd %%]\n' > "$TPL/dotdot"
printf '[%% INCLUDE ../elsewhere/secret %%]\n' > "$TPL/dotdot2"
printf '[%% INCLUDE /etc/passwd %%]\n' > "$TPL/absolute"
printf '[%% INCLUDE "$subject" %%]\n' > "$TPL/fromsubject"
printf '[%% INCLUDE linked %%]\n' > "$TPL/includes-link"
ln -s "$T/tpl/elsewhere/linked" "$TPL/linked"
ln -s ../../../elsewhere/secret "$TPL/relative-link"
write_config <<CONF
log-file $LOG
sendmail $FAKE
required-score 1000
CONF
for t in good dotdot dotdot2 absolute fromsubject includes-link linked relative-link; do
	echo "rule to ^$t@ autorespond $t folder $t noscore" >> "$CONFIG"
done

N=0
tpl_case() {
	N=$((N + 1))
	{
		echo "Delivered-To: $1@example.com"
		echo "From: asker$N@example.net"
		echo "Subject: $2"
		echo "Message-ID: <tpl-$N@example.net>"
		echo
		echo "Which courses?"
	} > "$T/q.eml"
	env_sender=asker$N@example.net
	_r=$(replies)
	_filed=$(count_new "$(folder_dir "$1")")
	deliver < "$T/q.eml"
	reset_env
}
tpl_case good hello
check "template control: a good template is answered" test "$(replies)" -eq 1
for t in dotdot dotdot2 absolute fromsubject includes-link linked relative-link; do
	case $t in fromsubject) subj='../../../etc/passwd' ;; *) subj=hello ;; esac
	tpl_case "$t" "$subj"
	if [ "$rc" = 0 ] && [ "$(count_new "$(folder_dir "$t")")" -eq $((_filed + 1)) ]; then
		ok "template $t: exit 0, filed"
	else
		not_ok "template $t: exit 0, filed (exit $rc)"
	fi
	check "template $t: no reply sent" test "$(replies)" -eq "$_r"
	if tail -n 1 "$LOG" | grep -q ' reply=failed:template '; then
		ok "template $t: logged reply=failed:template"
	else
		not_ok "template $t: logged reply=failed:template"
		diag "$(tail -n 1 "$LOG")"
	fi
done
if grep -l -E 'SECRET-MARKER|^root:' "$SENT"/*.msg > /dev/null 2>&1; then
	not_ok "no reply carries a file from outside the templates"
else
	ok "no reply carries a file from outside the templates"
fi

# ---- 4. symlinks planted in the Maildir ----------------------------------------
# planted_case NAME DESCRIPTION: after the set-up, one delivery must exit 75
# with one line, file nothing, and leave $OUT (the attacker's target) as it was.
planted_case() {
	_before=$(tree_state "$OUT")
	deliver < "$T/planted.eml"
	expect_rc 75 "$1: exit 75"
	check "$1: one line 'sortmail: REASON' on stderr" one_error_line
	same_state "$1: nothing written outside" "$_before" "$(tree_state "$OUT")"
	check "$1: no mail in any new/" test "$(find "$HOME" -path '*/new/*' -type f | wc -l)" -eq 0
}

# planted_home NAME: a fresh home, a folder rule, and $OUT, a tempting
# Maildir-shaped directory outside with a file in it.
planted_home() {
	new_home "$T/planted-$1/home"
	OUT=$T/planted-$1/outside
	mkdir -p "$OUT/tmp" "$OUT/new" "$OUT/cur"
	echo precious > "$OUT/victim"
	printf 'required-score 1000\nrule from . folder lists\n' | write_config
	hmail "$T/planted.eml" ""
}

planted_home folder
ln -s "$OUT" "$ROOT/.lists"
planted_case "folder .lists is a symlink to a directory outside"
planted_home new
rmdir "$ROOT/new"
ln -s "$OUT/new" "$ROOT/new"
printf 'required-score 1000\n' | write_config
planted_case "new/ is a symlink"
planted_home tmp
rmdir "$ROOT/tmp"
ln -s "$OUT/tmp" "$ROOT/tmp"
printf 'required-score 1000\n' | write_config
planted_case "tmp/ is a symlink"
planted_home folder-new
mkdir -m 0700 "$ROOT/.lists" "$ROOT/.lists/tmp" "$ROOT/.lists/cur"
ln -s "$OUT/new" "$ROOT/.lists/new"
planted_case "a folder's new/ is a symlink"
planted_home marker
mkdir -m 0700 "$ROOT/.lists" "$ROOT/.lists/tmp" "$ROOT/.lists/new" "$ROOT/.lists/cur"
ln -s "$OUT/marker" "$ROOT/.lists/maildirfolder"
planted_case "maildirfolder is a dangling symlink"
planted_home root
mv "$ROOT" "$OUT/Maildir"
ln -s "$OUT/Maildir" "$ROOT"
printf 'required-score 1000\n' | write_config
planted_case "the Maildir root is a symlink (write the real path in the config)"

if [ -n "$SHIM" ]; then
	planted_home tmpname
	printf 'required-score 1000\n' | write_config
	with_shim "SM_PLANT_DIR=$ROOT/tmp" "SM_PLANT_TARGET=$OUT/victim" "SM_PLANT_COUNT=$T/planted"
	planted_case "every tmp/ file name taken by a symlink to a file outside"
	without_shim
	p=$(sed -n 's/^planted //p' "$T/planted" 2>/dev/null)
	check "tmp/ names: the shim planted a symlink at each try (${p:-0})" test "${p:-0}" -ge 1
	check "tmp/ names: the file outside still says 'precious'" grep -q -x precious "$OUT/victim"
	planted_home tmpname-dangling
	printf 'required-score 1000\n' | write_config
	with_shim "SM_PLANT_DIR=$ROOT/tmp" "SM_PLANT_TARGET=$OUT/created" "SM_PLANT_COUNT=$T/planted"
	planted_case "every tmp/ file name taken by a dangling symlink"
	without_shim
	check "tmp/ names, dangling: its target was not created" test ! -e "$OUT/created"
else
	for what in "tmp/ file names taken by a symlink" "tmp/ file names taken by a dangling symlink"; do
		skip "$what" "$shim_reason"
	done
fi

# ---- 4b. symlinks in the mbox directory -------------------------------------------
mbox_home() {
	new_home "$T/mbox-$1/home"
	MBOXDIR=$HOME/mail
	OUT=$T/mbox-$1/outside
	mkdir -p "$OUT"
	printf 'From x\n\nprecious\n' > "$OUT/victim"
	mkdir -m 0700 "$MBOXDIR"
	printf 'mbox %s\nrequired-score 1000\ndeadline 3\n%s\n' "$MBOXDIR" "$2" | write_config
	hmail "$T/planted.eml" ""
}
mbox_home inbox ""
ln -s "$OUT/victim" "$MBOXDIR/inbox"
planted_case "mbox: the inbox is a symlink to a file outside"
mbox_home folder 'rule from . folder lists'
ln -s "$OUT/victim" "$MBOXDIR/lists"
planted_case "mbox: a folder is a symlink to a file outside"
mbox_home dangling ""
ln -s "$OUT/created" "$MBOXDIR/inbox"
planted_case "mbox: the inbox is a dangling symlink"
check "mbox: the dangling symlink's target was not created" test ! -e "$OUT/created"
mbox_home dir ""
rmdir "$MBOXDIR"
ln -s "$OUT" "$MBOXDIR"
planted_case "mbox: the mbox directory is a symlink"
mbox_home dotlock ""
ln -s "$OUT/victim" "$MBOXDIR/inbox.lock"
planted_case "mbox: the dotlock is a symlink to a file outside (give-up at the deadline)"
MBOXDIR=/nonexistent

# ---- 5. header injection into replies -----------------------------------------------
new_home "$T/inject/home"
LOG=$HOME/log
write_config <<CONF
log-file $LOG
sendmail $FAKE
required-score 1000
rule to ^training@ autorespond information folder training noscore
CONF
rm -f "$SENT"/*
ALLOWED='^(From|To|Subject|Date|Message-Id|In-Reply-To|References|Auto-Submitted|X-Auto-Response-Suppress|MIME-Version|Content-Type|Content-Transfer-Encoding):'

# reply_clean DESCRIPTION: the one new reply has only the fields a reply
# has, each once, no CR, no Bcc or X-Injected anywhere in its head, and
# sendmail's argv has no line break inside an argument.
reply_clean() {
	_m=$(find "$SENT" -name '*.msg' | head -n 1)
	if [ -z "$_m" ] || [ "$(replies)" -ne 1 ]; then
		not_ok "$1: one reply sent"
		diag "$(tail -n 1 "$LOG")"
		return
	fi
	ok "$1: one reply sent"
	sed '/^$/q' "$_m" > "$T/head"
	_fields=$(grep -v -E '^[ 	]|^$' "$T/head")
	_odd=$(printf '%s\n' "$_fields" | grep -v -E "$ALLOWED")
	_dups=$(printf '%s\n' "$_fields" | cut -d: -f1 | sort | uniq -d)
	if [ -z "$_odd$_dups" ] && ! grep -q "$(printf '\r')" "$T/head" \
		&& ! grep -i -q -E '^(bcc|x-injected):' "$T/head"; then
		ok "$1: no injected header field"
	else
		not_ok "$1: no injected header field"
		diag_file "$T/head" 20
	fi
	_argv=${_m%.msg}.argv
	check "$1: sendmail argv is -i -f <> -- and one clean address" \
		test "$(tr '\n' ' ' < "$_argv")" = "-i -f <> -- asker$N@example.net " \
		-a "$(wc -l < "$_argv")" -eq 5
	rm -f "$SENT"/*
}

N=0
inject_case() {
	N=$((N + 1))
	{
		echo "Delivered-To: training@example.com"
		printf '%s\n' "$@"
		echo "Message-ID: <inj-$N@example.net>"
		echo
		echo "Which courses?"
	} > "$T/q.eml"
	env_sender=asker$N@example.net
	deliver < "$T/q.eml"
	reset_env
}
inject_case 'From: asker@example.net' \
	'Subject: =?utf-8?q?hi=0D=0ABcc:_victim@example.org=0D=0A=0D=0Abody?='
reply_clean "encoded CR LF in Subject"
inject_case 'From: asker@example.net' "$(printf 'Subject: hi\rBcc: victim@example.org\r\rX-Injected: 1')"
reply_clean "bare CRs in Subject"
inject_case 'From: =?utf-8?q?Eve=0D=0ABcc:_victim@example.org?= <asker@example.net>' 'Subject: hi'
reply_clean "encoded CR LF in the From name"
inject_case 'From: asker@example.net' 'Reply-To: =?utf-8?q?x=0ABcc:_v@example.org?= <asker@example.net>' \
	'Subject: =?utf-8?b?aGkNCkJjYzogdmljdGltQGV4YW1wbGUub3JnDQpYLUluamVjdGVkOiAx?='
reply_clean "LF in Reply-To, base64 CR LF in Subject"
inject_case 'From: asker@example.net' 'Subject: folded' ' Bcc: victim@example.org' \
	"$(printf 'X-Other: a\r\nBcc: victim@example.org')"
reply_clean "a folded Subject and a CR LF inside another field"
# An envelope sender with a line break: no reply goes to anything made of it.
N=$((N + 1))
printf 'Delivered-To: training@example.com\nFrom: a@example.net\nSubject: hi\nMessage-ID: <inj-%d@example.net>\n\nq\n' \
	"$N" > "$T/q.eml"
env_sender=$(printf 'asker@example.net\nBcc: victim@example.org')
deliver < "$T/q.eml"
reset_env
expect_rc 0 "line break in the envelope sender: exit 0"
if [ "$(replies)" -eq 0 ] || ! grep -q -i 'bcc' "$SENT"/*; then
	ok "line break in the envelope sender: no reply carries it"
else
	not_ok "line break in the envelope sender: no reply carries it"
	diag_file "$(find "$SENT" -name '*.argv' | head -n 1)"
fi
rm -f "$SENT"/*

# ---- 6. modes of everything created --------------------------------------------------
# Nothing is made beforehand: sortmail creates the Maildir, its folders, the
# log, ~/.sortmail with verdicts.db, its lock and replied.db (the config is
# passed with -c so that ~/.sortmail is sortmail's own).
# bad_modes DIR: entries under DIR that are not 0600 files or 0700 dirs.
bad_modes() {
	find "$1" -mindepth 1 \( \( -type f ! -perm 0600 \) -o \( -type d ! -perm 0700 \) \
		-o ! \( -type f -o -type d \) \) -printf '%p %y %m\n'
}
# modes_check DESCRIPTION DIR EXPECTED-NAMES...: each name exists under DIR
# and nothing there has another mode.
modes_check() {
	_d=$1 _dir=$2
	shift 2
	_missing=
	for _f in "$@"; do [ -e "$_dir/$_f" ] || _missing="$_missing $_f"; done
	_bad=$(bad_modes "$_dir")
	if [ -z "$_missing$_bad" ]; then
		ok "$_d: $* ... all 0600 files and 0700 directories"
	else
		not_ok "$_d: all 0600 files and 0700 directories"
		[ -n "$_missing" ] && diag "not created:$_missing"
		[ -n "$_bad" ] && diag "$_bad"
	fi
}

for um in 000 022 077 0277; do
	H=$T/modes-$um/home
	mkdir -p "$H" && chmod 0700 "$H"
	C=$T/modes-$um/config
	printf 'syslog no\nlog-file %s/log\nsendmail %s\npersonal me@example.com\n%s\n' "$H" "$FAKE" \
		'rule to ^training@ autorespond information folder training' > "$C"
	HOME=$H
	ROOT=$H/Maildir
	env_sender=asker@example.net
	printf 'Delivered-To: training@example.com\nFrom: asker@example.net\nSubject: q\nMessage-ID: <m-%s@x>\n\nq\n' \
		"$um" > "$T/m.eml"
	(umask "$um" && sortmail_exec -c "$C") < "$T/m.eml" > "$T/out" 2> "$T/err"
	rc=$?
	reset_env
	expect_rc 0 "umask $um: a scored, answered delivery: exit 0"
	(umask "$um" && sortmail_exec -c "$C") < "$DATA/spam.eml" > "$T/out" 2> "$T/err"
	expect_rc 0 "umask $um: a spam delivery: exit 0"
	modes_check "umask $um, Maildir" "$H" Maildir/.training/new Maildir/.training/maildirfolder \
		Maildir/.ubetrap/new log .sortmail/verdicts.db \
		.sortmail/verdicts.db.lock .sortmail/replied.db

	H=$T/modes-$um/mhome
	mkdir -p "$H" && chmod 0700 "$H"
	printf 'syslog no\nmbox %s/mail\nrule from . folder lists\n' "$H" > "$C"
	HOME=$H
	(umask "$um" && sortmail_exec -c "$C") < "$DATA/plain.eml" > "$T/out" 2> "$T/err"
	rc=$?
	expect_rc 0 "umask $um: an mbox delivery: exit 0"
	modes_check "umask $um, mbox" "$H" mail/lists .sortmail/verdicts.db
	if [ -n "$SHIM" ]; then
		# the dotlock lives only during the append: stop there and look
		with_shim "SM_PLANT_STOP=/mail/lists.lock"
		(umask "$um" && sortmail_exec -c "$C") < "$DATA/ham.eml" > "$T/out" 2> "$T/err" &
		pid=$!
		i=0
		while [ $i -lt 600 ] && kill -0 "$pid" 2>/dev/null \
			&& [ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" != T ]; do
			sleep 0.1
			i=$((i + 1))
		done
		without_shim
		m=$(stat -c %a "$H/mail/lists.lock" 2>/dev/null)
		kill -CONT "$pid" 2>/dev/null
		wait "$pid"
		rc=$?
		check "umask $um: the mbox dotlock has mode 0600 (${m:-not seen})" test "$m" = 600 -a "$rc" = 0
	else
		skip "umask $um: the mbox dotlock has mode 0600" "$shim_reason"
	fi
done

# ---- 7. oversized input, scoring on -------------------------------------------
# bounded_case NAME: delivers $T/big-NAME.eml with scoring on; it must be
# stored intact and scored, in under $LIMIT s (a generous bound: a quadratic
# rule took 34 s on the 10,000-part message) and 200 MB.
# ASan makes these runs up to 15 times slower (14 s for 100,000 headers on
# a busy machine): 60 s there, still far below what a quadratic rule takes.
# Under valgrind (./dev.sh valgrind) the bound is 20 s times the slowdown,
# and the RSS, being valgrind's, is not checked.
LIMIT=$(slow 20)
sanitized && LIMIT=60
new_home "$T/big/home"
LOG=$HOME/log
printf 'log-file %s\nrequired-score 1000\n' "$LOG" | write_config
bounded_case() {
	rm -f "$T/time"
	wrap="/usr/bin/time -f %e:%M -o $T/time"
	[ -x /usr/bin/time ] || wrap=
	_t0=$(date +%s)
	deliver < "$T/big-$1.eml"
	_t1=$(date +%s)
	wrap=
	expect_rc 0 "$1: exit 0"
	_f=$(new_files "$ROOT" | tail -n 1)
	if [ "$(count_new "$ROOT")" -eq "$2" ] && [ -n "$_f" ] && same_as_input "$_f" "$T/big-$1.eml"; then
		ok "$1: stored intact"
	else
		not_ok "$1: stored intact"
	fi
	check "$1: scored (via=scored in the log)" sh -c 'tail -n 1 "$1" | grep -q " via=scored "' sh "$LOG"
	_secs=$((_t1 - _t0))
	_rss=$(tail -n 1 "$T/time" 2>/dev/null | cut -d: -f2)
	check "$1: under $LIMIT s (${_secs} s)" test "$_secs" -lt "$LIMIT"
	if wrapped; then
		skip "$1: peak RSS under 200 MB" "under valgrind (./dev.sh valgrind: the RSS is valgrind's)"
	elif sanitized || [ -z "$_rss" ]; then
		skip "$1: peak RSS under 200 MB" "no RSS figure (ASan build or no /usr/bin/time)"
	else
		check "$1: peak RSS under 200 MB ($_rss kB)" test "$_rss" -lt 204800
	fi
	diag "$1: $(wc -c < "$T/big-$1.eml") bytes, ${_secs} s, ${_rss:-?} kB"
}
gen() { awk -v n="$2" "$3" > "$T/big-$1.eml"; }
H='From: a@gmail.com\nTo: user@localhost\nReply-To: a@gmail.com\nSubject: big\nMIME-Version: 1.0\n'
gen headers 100000 'BEGIN { printf "'"$H"'Message-ID: <big-headers@x>\n"
	for (i = 0; i < n; i++) printf "From: a@gmail.com\n"
	printf "Reply-To: a@gmail.com\n\nbody unsubscribe act now\n" }'
bounded_case headers 1
gen mixed-headers 100000 'BEGIN { printf "'"$H"'Message-ID: <big-mixed@x>\n"
	split("Received To Cc Subject Reply-To Date Message-ID X-Mailer Content-Type", f, " ")
	for (i = 0; i < n; i++) printf "%s: x%d@yahoo.com (RE: FREE!!!)\n", f[i % 9 + 1], i
	printf "\nbody\n" }'
bounded_case mixed-headers 2
gen long-line 1100000 'BEGIN { printf "'"$H"'Message-ID: <big-line@x>\nX-Long: "
	for (i = 0; i < n / 20; i++) printf "word%d@gmail.com, ", i
	printf "\nFrom: "; for (i = 0; i < n / 2; i++) printf "a"
	printf "\n\nbody\n" }'
bounded_case long-line 3
gen deep 1000 'BEGIN { printf "'"$H"'Message-ID: <big-deep@x>\n"
	for (i = 0; i < n; i++) printf "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i, i
	printf "Content-Type: text/html\n\n<a href=\"http://1.2.3.4/\">act now</a> unsubscribe\n"
	for (i = n - 1; i >= 0; i--) printf "--b%d--\n", i }'
bounded_case deep 4
gen deep-rfc822 1000 'BEGIN { printf "'"$H"'Message-ID: <big-deep822@x>\n"
	for (i = 0; i < n; i++) printf "Content-Type: message/rfc822\n\nFrom: x@y\nSubject: %d\n", i
	printf "Content-Type: text/plain\n\nhello\n" }'
bounded_case deep-rfc822 5
gen parts 10000 'BEGIN { printf "'"$H"'Message-ID: <big-parts@x>\nContent-Type: multipart/mixed; boundary=\"B\"\n\n"
	for (i = 0; i < n; i++) printf "--B\nContent-Type: text/plain\n\n<a href=\"http://h%d.example.com/\">part %d</a>\n", i, i
	printf "--B--\n" }'
bounded_case parts 6
gen html-parts 10000 'BEGIN { printf "'"$H"'Message-ID: <big-html@x>\nContent-Type: multipart/mixed; boundary=\"B\"\n\n"
	for (i = 0; i < n; i++) printf "--B\nContent-Type: text/html\n\n<p>unsubscribe <a href=\"http://h%d.example.com/\">act now %d</a></p>\n", i, i
	printf "--B--\n" }'
bounded_case html-parts 7

check "no output line starts like a status code" no_dsn_codes
done_testing
