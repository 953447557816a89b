# lib.sh: shared helpers for the integration tests (POSIX sh, sourced by each
# tests/integration/NAME.sh). Each test drives the real sortmail binary with
# the environment Postfix local(8) gives a mailbox_command, and prints TAP.
#
# Contract for the scripts that source it:
# - $SORTMAIL, $top_srcdir, $top_builddir come from tests/local.mk
#   (AM_TESTS_ENVIRONMENT); run one test with
#   `make check TESTS=tests/integration/NAME.sh`.
# - $T is the test's own scratch directory, $top_builddir/tests/tmp/NAME
#   (tests run in parallel: names never collide). It is removed by
#   done_testing when every test passed, and kept for inspection otherwise.
# - TAP: ok / not_ok / check / skip produce numbered lines; done_testing
#   prints the plan at the end ("1..N", unless plan N came first) and exits 0
#   only when all passed; skip_all must come before any other output.
# - deliver runs sortmail in a scrubbed environment (env -i) built from the
#   env_* variables below, sets $rc and leaves stdout/stderr in $T/out and
#   $T/err. Anything a Postfix delivery would not have is left out, except
#   what the build tree needs (scorer path, sanitizer options).

NAME=$(basename "$0" .sh)
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"
: "${SORTMAIL:=$top_builddir/lda/sortmail}"
DATA=$top_srcdir/tests/data/messages
T=$top_builddir/tests/tmp/$NAME
LC_ALL=C
export LC_ALL

# ---- TAP ------------------------------------------------------------------

_tap_n=0
_tap_fail=0
_tap_plan=

# plan N: announces N tests up front (optional: done_testing prints the plan
# at the end otherwise).
plan() {
	_tap_plan=$1
	echo "1..$1"
}

diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

# diag_file FILE [LINES]: shows the start of FILE as TAP comments.
diag_file() {
	[ -s "$1" ] || return 0
	head -n "${2:-10}" "$1" | cut -c1-300 | sed 's/^/#   /'
}

ok() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $*"
}

not_ok() {
	_tap_n=$((_tap_n + 1))
	_tap_fail=$((_tap_fail + 1))
	echo "not ok $_tap_n - $*"
}

# skip DESCRIPTION REASON
skip() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1 # SKIP $2"
}

# check DESCRIPTION COMMAND [ARGS...]: one test, passing when COMMAND succeeds.
check() {
	_d=$1
	shift
	if "$@"; then ok "$_d"; else not_ok "$_d"; fi
}

skip_all() {
	echo "1..0 # SKIP $*"
	_cleanup_tmp
	exit 0
}

# bail DESCRIPTION: the test cannot go on (set-up failed).
bail() {
	echo "Bail out! $*"
	exit 1
}

_cleanup_tmp() {
	if [ -d "$T" ]; then
		chmod -R u+rwX "$T" 2>/dev/null
		rm -rf "$T"
	fi
	rmdir "$top_builddir/tests/tmp" 2>/dev/null
	return 0
}

done_testing() {
	if [ -z "$_tap_plan" ]; then
		echo "1..$_tap_n"
	elif [ "$_tap_plan" -ne "$_tap_n" ]; then
		diag "planned $_tap_plan tests but ran $_tap_n"
		_tap_fail=$((_tap_fail + 1))
	fi
	if [ "$_tap_fail" -eq 0 ]; then
		_cleanup_tmp
		exit 0
	fi
	diag "$_tap_fail of $_tap_n failed; scratch files kept in $T"
	exit 1
}

# ---- scratch space, homes, configs ----------------------------------------

rm -rf "$T" 2>/dev/null || { chmod -R u+rwX "$T"; rm -rf "$T"; }
# Another test ending at this moment may rmdir tests/tmp between mkdir -p's
# two steps: one more try then.
mkdir -p "$T" 2>/dev/null || mkdir -p "$T" || bail "cannot create $T"

[ -x "$SORTMAIL" ] || skip_all "no sortmail binary at $SORTMAIL"

# new_home DIR: a fresh user home at DIR with an empty Maildir (mode 0700, as
# a real one) and no config. Sets HOME, ROOT (the Maildir) and CONFIG.
new_home() {
	HOME=$1
	ROOT=$HOME/Maildir
	CONFIG=$HOME/.sortmail/config
	mkdir -p "$HOME/.sortmail" || bail "cannot create $HOME"
	mkdir -m 0700 "$ROOT" "$ROOT/tmp" "$ROOT/new" "$ROOT/cur" || bail "cannot create $ROOT"
}

# write_config: the config text on stdin becomes $CONFIG, after a first line
# "syslog no" (tests must not write to the host's mail log).
write_config() {
	{ echo "syslog no"; cat; } > "$CONFIG"
}

# ---- running sortmail -----------------------------------------------------

# The envelope Postfix would pass. env_orig / env_extension are only set in
# the environment when the variable is set (use unset to drop them).
reset_env() {
	env_sender=sender@example.org
	env_recipient=user@localhost
	env_user=$(id -un)
	unset env_orig env_extension
	as_user=
	wrap=
}
reset_env

# sortmail_exec ARGS...: runs sortmail with the Postfix-like environment, in
# the current process (exec) so a background caller's $! is sortmail's pid.
# $as_user (e.g. "setpriv --reuid=...") and $wrap (e.g. "/usr/bin/time ...")
# are prefixes, split on blanks.
sortmail_exec() {
	set -- "$SORTMAIL" "$@"
	[ -n "${env_orig+x}" ] && set -- "ORIGINAL_RECIPIENT=$env_orig" "$@"
	[ -n "${env_extension+x}" ] && set -- "EXTENSION=$env_extension" "$@"
	[ -n "${env_sender+x}" ] && set -- "SENDER=$env_sender" "$@"
	[ -n "${env_recipient+x}" ] && set -- "RECIPIENT=$env_recipient" "$@"
	for _v in SORTMAIL_SCORER SORTMAIL_DATADIR SORTMAIL_REPLY_MODULE \
		SORTMAIL_STOCK_TEMPLATES ASAN_OPTIONS UBSAN_OPTIONS \
		LSAN_OPTIONS LD_LIBRARY_PATH LD_PRELOAD; do
		eval "[ -n \"\${$_v+x}\" ] && set -- \"$_v=\$$_v\" \"\$@\""
	done
	# shellcheck disable=SC2086 # $as_user and $wrap are word lists
	exec $wrap $as_user env -i PATH=/usr/local/bin:/usr/bin:/bin SHELL=/bin/sh \
		HOME="$HOME" USER="$env_user" LOGNAME="$env_user" \
		LOCAL="${env_recipient%@*}" DOMAIN="${env_recipient##*@}" "$@"
}

# deliver ARGS... < MESSAGE: sets rc; stdout in $T/out, stderr in $T/err.
# Every run's output is also appended to $T/all-output for no_dsn_codes.
deliver() {
	(sortmail_exec "$@") > "$T/out" 2> "$T/err"
	rc=$?
	cat "$T/out" "$T/err" >> "$T/all-output"
	return 0
}

# expect_rc CODE DESCRIPTION: one test on the last deliver's exit status.
expect_rc() {
	if [ "$rc" = "$1" ]; then
		ok "$2"
	else
		not_ok "$2"
		diag "exit status $rc, expected $1; stderr:"
		diag_file "$T/err"
	fi
}

# one_error_line: stderr of the last deliver is exactly one line "sortmail: ...".
one_error_line() {
	_n=$(wc -l < "$T/err")
	if [ "$_n" -eq 1 ] && [ "$(wc -c < "$T/err")" -gt 0 ] \
		&& head -n 1 "$T/err" | grep -q '^sortmail: .'; then
		return 0
	fi
	diag "stderr is not one line 'sortmail: REASON' ($_n lines):"
	diag_file "$T/err"
	return 1
}

# no_dsn_codes: no line sortmail ever printed in this test starts like an
# RFC 3463 status code, which Postfix would take as the delivery status.
no_dsn_codes() {
	[ -f "$T/all-output" ] || return 0
	if grep -a -E -q '^[245]\.[0-9]{1,3}\.[0-9]{1,3}' "$T/all-output"; then
		diag "output lines that look like a status code:"
		grep -a -E '^[245]\.[0-9]{1,3}\.[0-9]{1,3}' "$T/all-output" | head -n 5 | sed 's/^/#   /'
		return 1
	fi
	return 0
}

# ---- looking at mailboxes -------------------------------------------------

# folder_dir NAME: the Maildir++ directory of folder NAME ("inbox" = $ROOT).
folder_dir() {
	if [ "$1" = inbox ]; then echo "$ROOT"; else echo "$ROOT/.$1"; fi
}

# new_files DIR: the files in DIR/new, one per line.
new_files() {
	[ -d "$1/new" ] || return 0
	find "$1/new" -mindepth 1 -maxdepth 1 -type f | sort
}

count_new() {
	new_files "$1" | wc -l | tr -d ' '
}

# count_all_new [ROOT]: files in any new/ of the Maildir tree.
count_all_new() {
	(cd "${1:-$ROOT}" 2>/dev/null && find . -path '*/new/*' -type f) | wc -l | tr -d ' '
}

# count_all_tmp [ROOT]: files in any tmp/ of the Maildir tree.
count_all_tmp() {
	(cd "${1:-$ROOT}" 2>/dev/null && find . -path '*/tmp/*' -type f) | wc -l | tr -d ' '
}

# one_new_in FOLDER: exactly one new mail in the Maildir tree, in FOLDER's
# new/; sets NEWFILE to it.
one_new_in() {
	NEWFILE=
	_dir=$(folder_dir "$1")
	_all=$(count_all_new)
	_here=$(count_new "$_dir")
	if [ "$_all" -eq 1 ] && [ "$_here" -eq 1 ]; then
		NEWFILE=$(new_files "$_dir")
		return 0
	fi
	diag "expected one new mail in $1, found $_here there and $_all in all:"
	(cd "$ROOT" && find . -path '*/new/*' -type f) | sed 's/^/#   /'
	return 1
}

# tree_state DIR: a listing (path, type, size, mode) to compare before/after.
tree_state() {
	find "$1" -printf '%p %y %s %m\n' 2>/dev/null | sort
}

mode_of() {
	stat -c %a "$1"
}

# strip_from_line IN OUT: IN without a leading mbox "From " line.
strip_from_line() {
	if [ "$(head -c 5 "$1")" = "From " ]; then
		tail -n +2 "$1" > "$2"
	else
		cat "$1" > "$2"
	fi
}

# same_as_input STORED INPUT: STORED is the INPUT bytes (minus a leading
# "From " line) with nothing before them but X-Spam-Flag / X-Spam-Status
# lines. Leaves those prepended lines in $T/prefix.
same_as_input() {
	strip_from_line "$2" "$T/expect"
	_s=$(wc -c < "$1")
	_e=$(wc -c < "$T/expect")
	_p=$((_s - _e))
	if [ "$_p" -lt 0 ]; then
		diag "stored message ($_s bytes) is shorter than the input ($_e bytes)"
		return 1
	fi
	head -c "$_p" "$1" > "$T/prefix"
	if ! tail -c "+$((_p + 1))" "$1" | cmp -s - "$T/expect"; then
		diag "stored message is not the input plus a prefix; first difference:"
		tail -c "+$((_p + 1))" "$1" | cmp - "$T/expect" 2>&1 | head -n 2 | sed 's/^/#   /'
		return 1
	fi
	[ "$_p" -eq 0 ] && return 0
	if [ "$(tail -c 1 "$T/prefix" | od -An -c | tr -d ' ')" != '\n' ] \
		|| grep -a -v -q -E '^X-Spam-(Flag|Status): ' "$T/prefix" \
		|| [ "$(wc -l < "$T/prefix")" -gt 2 ]; then
		diag "prepended text is not just X-Spam-Flag/X-Spam-Status lines:"
		diag_file "$T/prefix" 5
		return 1
	fi
	return 0
}

# no_prefix: the last same_as_input found nothing prepended (unscored mail).
no_prefix() {
	if [ -s "$T/prefix" ]; then
		diag "unexpected prepended headers:"
		diag_file "$T/prefix" 5
		return 1
	fi
	return 0
}

# ---- privileges -------------------------------------------------------------

TEST_USER=sortmail-test

# ensure_test_user: as root, makes sure the unprivileged account exists and
# sets TEST_UID, TEST_GID and AS_TEST_USER (a prefix for $as_user). Fails
# (returns 1) when that is impossible.
ensure_test_user() {
	[ "$(id -u)" -eq 0 ] || return 1
	command -v setpriv > /dev/null || return 1
	if ! id -u "$TEST_USER" > /dev/null 2>&1; then
		# tests run in parallel: another one may be creating it right now
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin "$TEST_USER" > /dev/null 2>&1 \
			|| { sleep 1; id -u "$TEST_USER" > /dev/null 2>&1; } || return 1
	fi
	TEST_UID=$(id -u "$TEST_USER") || return 1
	TEST_GID=$(id -g "$TEST_USER") || return 1
	AS_TEST_USER="setpriv --reuid=$TEST_UID --regid=$TEST_GID --clear-groups"
	# the account must reach the scratch directory and the binary
	chmod 0755 "$top_builddir/tests/tmp" "$T"
	# shellcheck disable=SC2086
	$AS_TEST_USER test -x "$SORTMAIL" -a -x "$T" || return 1
	return 0
}

# ---- slow runs (./dev.sh valgrind) -------------------------------------------

# SORTMAIL_TEST_SLOWDOWN: how many times slower than the plain build sortmail
# runs here (./dev.sh valgrind sets 30: memcheck). A bound that is there to
# catch a hang or a quadratic path is multiplied by it (slow SECONDS); without
# it every bound stays as written.
SLOWDOWN=${SORTMAIL_TEST_SLOWDOWN:-1}
case $SLOWDOWN in '' | *[!0-9]* | 0) SLOWDOWN=1 ;; esac

# slow N: N times SLOWDOWN.
slow() {
	echo $(($1 * SLOWDOWN))
}

# wrapped: TRUE when $SORTMAIL is a script in front of the binary (./dev.sh
# valgrind's memcheck wrapper): the peak RSS measured is valgrind's, and an
# LD_PRELOAD shim would load into valgrind, not into sortmail.
wrapped() {
	[ "$(head -c 4 "$SORTMAIL" | od -An -c | tr -d ' ')" != '177ELF' ]
}

# sanitized: TRUE when the binary runs under AddressSanitizer (RSS is
# meaningless then).
sanitized() {
	[ -n "${ASAN_OPTIONS+x}" ] && return 0
	ldd "$SORTMAIL" 2>/dev/null | grep -q libasan
}
