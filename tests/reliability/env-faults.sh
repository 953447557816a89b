#!/bin/sh
# env-faults: a delivery in a broken environment ends in bounded time with
# the message either stored once and intact (exit 0) or not stored at all
# (exit 75, one line on stderr), never lost. The config sets short timeouts
# (cache-wait 2, dns-timeout 1, spamd-timeout 1, sendmail-timeout 1,
# pipe-timeout 1) so each case is fast; each bound is its timeouts plus a
# generous margin, only to catch a hang.
#
#   cache:   garbage, empty, a directory; the GDBM file held by a stuck process
#            (flock, as GDBM's own lock); the single-flight lock file held by a
#            stuck process (fcntl on every byte: every key and the admin slot)
#   network: a DNS server that never answers; a spamd that accepts and never
#            answers
#   helpers: an autoreply sendmail, a forward sendmail that hang (and one that
#            leaves a child holding its output); a hanging pipe with pipe-defer
#   process: HOME unset (with -c; with a passwd home that does not exist; with
#            no passwd entry at all: root only); stdout and stderr closed
#   stdin:   closed, a directory, write-only (read errors: 75); the sender dying
#            mid-message (sortmail sees an ordinary end of file and files what
#            it got: an LDA cannot tell, see tests/reliability/README)
#
#   sh tests/reliability/env-faults.sh [BUILD]
if [ $# -gt 0 ]; then
	top_builddir=$(cd "$1" && pwd) || exit 1
	top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
	SORTMAIL=$top_builddir/lda/sortmail
	SORTMAIL_SCORER=$top_builddir/score/.libs/sortmail-score.so
	SORTMAIL_DATADIR=$top_srcdir/score
	SORTMAIL_REPLY_MODULE=$top_builddir/templates/.libs/sortmail-reply.so
	SORTMAIL_STOCK_TEMPLATES=$top_srcdir/templates/stock
	export top_builddir top_srcdir SORTMAIL SORTMAIL_SCORER SORTMAIL_DATADIR \
		SORTMAIL_REPLY_MODULE SORTMAIL_STOCK_TEMPLATES
fi
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

command -v perl > /dev/null || skip_all "no perl (the stuck servers and lock holders)"

MSG=$DATA/ham.eml
# How long the stuck helpers (servers, lock holders, hanging sendmails) hold
# on: longer than any bound, also when the bounds are scaled (slow), so that
# a hang is seen as one.
HOLD_S=$(slow 60)
export HOLD_S
helpers=
cleanup() {
	for p in $helpers; do kill "$p" 2> /dev/null; done
	return 0
}
trap cleanup EXIT
trap 'cleanup; exit 1' INT TERM HUP

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# timed_deliver ARGS... < MSG: deliver, and $took in ms.
timed_deliver() {
	_t0=$(now_ms)
	deliver "$@"
	took=$(($(now_ms) - _t0))
}

# outcome WHAT BOUND_S [delivered|deferred|either] [INPUT]: the last delivery
# took less than BOUND_S seconds and either stored INPUT (default $MSG)
# exactly once, intact, with exit 0, or stored nothing with exit 75 and one
# line on stderr; the third word narrows what is expected.
outcome() {
	_what=$1 _bound=$2 _want=${3:-either} _in=${4:-$MSG}
	_new=$(count_all_new)
	diag "$_what: exit $rc in $took ms, $_new new"
	_bound=$(slow "$_bound")
	check "$_what: done in < $_bound s" test "$took" -lt $((_bound * 1000))
	case $rc in
	0)
		if [ "$_want" = deferred ]; then
			not_ok "$_what: deferred (75)"
			diag_file "$T/err"
		elif [ "$_new" -eq 1 ] && same_as_input "$(cd "$ROOT" && find "$ROOT" -path '*/new/*' -type f)" "$_in"; then
			ok "$_what: delivered once, intact (exit 0)"
		else
			not_ok "$_what: delivered once, intact (exit 0, $_new new)"
		fi
		;;
	75)
		if [ "$_want" = delivered ]; then
			not_ok "$_what: delivered (exit 0)"
			diag_file "$T/err"
		elif [ "$_new" -eq 0 ] && one_error_line; then
			ok "$_what: deferred (75), nothing stored, one line on stderr"
		else
			not_ok "$_what: deferred (75), nothing stored, one line on stderr ($_new new)"
		fi
		;;
	*)
		not_ok "$_what: exit 0 or 75, not $rc"
		diag_file "$T/err"
		;;
	esac
}

# home NAME [CONFIG LINES on stdin]: a fresh home with a log and short timeouts.
home() {
	new_home "$T/$1"
	LOG=$HOME/sortmail.log
	{
		echo "log-file $LOG"
		echo "deadline 20"
		echo "cache-wait 2"
		cat
	} | write_config
}

logged() {
	grep -q -- "$1" "$LOG" 2> /dev/null && return 0
	diag "no '$1' in the log:"
	diag_file "$LOG" 3
	return 1
}

# start_helper FILE PERL-CODE ARGS...: runs a perl helper in the background
# that writes FILE (a port, or "ready") when it is set up; waits for it.
start_helper() {
	_f=$1
	shift
	perl -e "$@" > /dev/null 2> "$T/helper.err" &
	helpers="$helpers $!"
	_i=0
	while [ ! -s "$_f" ] && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
	[ -s "$_f" ] || bail "helper did not start: $(head -c 200 "$T/helper.err")"
}

stop_helpers() {
	cleanup
	helpers=
}

# ---- the cache ------------------------------------------------------------------------
home cache-garbage < /dev/null
head -c 8192 /dev/urandom > "$HOME/.sortmail/verdicts.db"
timed_deliver < "$MSG"
outcome "cache file garbage" 15 delivered
check "cache file garbage: logged a cache warning" logged 'cache_warning='

home cache-empty < /dev/null
: > "$HOME/.sortmail/verdicts.db"
timed_deliver < "$MSG"
outcome "cache file empty" 15 delivered

home cache-dir < /dev/null
mkdir "$HOME/.sortmail/verdicts.db"
timed_deliver < "$MSG"
outcome "cache file a directory" 15 delivered
check "cache file a directory: logged a cache warning" logged 'cache_warning='

# GDBM's own lock is flock() on the database: a stuck writer holds it.
home cache-gdbm-held < /dev/null
deliver < "$DATA/plain.eml"     # creates the database
rm -f "$ROOT"/new/*
start_helper "$T/held" '
	use Fcntl qw(:flock O_RDWR);
	my ($path, $ready) = @ARGV;
	sysopen(my $fh, $path, O_RDWR) or die "$path: $!\n";
	flock($fh, LOCK_EX) or die "flock: $!\n";
	open my $r, ">", $ready or die; print $r "ready\n"; close $r;
	sleep $ENV{HOLD_S};' "$HOME/.sortmail/verdicts.db" "$T/held"
timed_deliver < "$MSG"
outcome "cache database held by a stuck process" 15 delivered
check "cache database held: logged that it stayed locked" logged 'cache_warning=.*locked'
stop_helpers

# The single-flight lock file: fcntl write lock over all of it (every key's
# slot and the admin slot), as a scorer that hangs forever would hold one.
home cache-flight-held < /dev/null
mkdir -p "$HOME/.sortmail"
start_helper "$T/flight" '
	use Fcntl;
	my ($path, $ready) = @ARGV;
	sysopen(my $fh, $path, O_RDWR | O_CREAT, 0600) or die "$path: $!\n";
	# struct flock on Linux x86-64/arm64: short, short, (pad), off_t, off_t, pid_t, (pad)
	my $fl = pack("s s x4 q q l x4", F_WRLCK, 0, 0, 0, 0);
	fcntl($fh, F_SETLK, $fl) or die "fcntl: $!\n";
	open my $r, ">", $ready or die; print $r "ready\n"; close $r;
	sleep $ENV{HOLD_S};' "$HOME/.sortmail/verdicts.db.lock" "$T/flight"
timed_deliver < "$MSG"
outcome "single-flight lock held by a stuck process (cache-wait 2)" 15 delivered
check "single-flight lock held: logged that it waited, then scored" logged 'cache_warning=.*wait'
stop_helpers

# ---- the network ------------------------------------------------------------------------
start_helper "$T/dns.port" '
	use IO::Socket::INET;
	my ($portfile) = @ARGV;
	my $s = IO::Socket::INET->new(Proto => "udp", LocalAddr => "127.0.0.1", LocalPort => 0)
		or die "udp: $!\n";
	open my $p, ">", "$portfile.tmp" or die; print $p $s->sockport, "\n"; close $p;
	rename "$portfile.tmp", $portfile;
	sleep $ENV{HOLD_S};' "$T/dns.port"
home dns-silent <<CONF
dns-server 127.0.0.1:$(cat "$T/dns.port")
dns-timeout 1
trusted-networks 198.51.100.0/24
dnsbl zen.test RCVD_IN_TEST 1.5
uribl dbl.test URIBL_TEST 2.5
CONF
timed_deliver < "$top_srcdir/tests/data/dns/listed.eml"
outcome "DNS server that never answers (dns-timeout 1)" 10 delivered "$top_srcdir/tests/data/dns/listed.eml"
check "DNS server that never answers: scored without DNS" logged 'no DNS'
stop_helpers

start_helper "$T/spamd.port" '
	use IO::Socket::INET;
	my ($portfile) = @ARGV;
	my $s = IO::Socket::INET->new(Listen => 5, LocalAddr => "127.0.0.1", LocalPort => 0,
		Proto => "tcp", ReuseAddr => 1) or die "listen: $!\n";
	open my $p, ">", "$portfile.tmp" or die; print $p $s->sockport, "\n"; close $p;
	rename "$portfile.tmp", $portfile;
	my @held;
	my $end = time + $ENV{HOLD_S};
	while (time < $end) { my $c = $s->accept or last; push @held, $c }' "$T/spamd.port"
home spamd-silent <<CONF
spamd 127.0.0.1:$(cat "$T/spamd.port")
spamd-timeout 1
CONF
timed_deliver < "$MSG"
outcome "spamd that accepts and never answers (spamd-timeout 1)" 10 delivered
check "spamd that never answers: marked SPAMD_UNAVAILABLE" \
	sh -c 'grep -q SPAMD_UNAVAILABLE "$1"/new/*' sh "$ROOT"
stop_helpers

# ---- helpers that hang ---------------------------------------------------------------------
HANG=$T/hang
cat > "$HANG" <<EOF
#!/bin/sh
echo \$\$ >> "$T/hang.pids"
cat > /dev/null
exec sleep $HOLD_S
EOF
HANGBG=$T/hang-bg
cat > "$HANGBG" <<EOF
#!/bin/sh
# leaves a child that holds the output pipe, and exits at once
cat > /dev/null
sleep $HOLD_S &
echo \$! >> "$T/hang.pids"
exit 0
EOF
chmod 0755 "$HANG" "$HANGBG"
: > "$T/hang.pids"

# no_hang_left: every hanging helper was killed (by its process group).
no_hang_left() {
	sleep 0.2
	for p in $(cat "$T/hang.pids"); do
		if kill -0 "$p" 2> /dev/null; then
			diag "helper $p still runs"
			kill "$p" 2> /dev/null
			return 1
		fi
	done
	return 0
}

autoreply_question() {
	{
		echo "Delivered-To: training@example.com"
		echo "From: Asker <asker@example.net>"
		echo "To: training@example.com"
		echo "Subject: Question"
		echo "Message-ID: <env-q-$1@example.net>"
		echo
		echo "Which courses do you have?"
	} > "$T/q.eml"
}

home sendmail-hang <<CONF
sendmail $HANG
sendmail-timeout 1
rule to ^training@ autorespond information folder training noscore
CONF
autoreply_question 1
timed_deliver < "$T/q.eml"
outcome "autoreply sendmail that hangs (sendmail-timeout 1)" 10 delivered "$T/q.eml"
check "autoreply sendmail that hangs: logged reply=failed:timeout" logged 'reply=failed:timeout'
check "autoreply sendmail that hangs: killed" no_hang_left

home sendmail-hang-bg <<CONF
sendmail $HANGBG
sendmail-timeout 1
rule to ^training@ autorespond information folder training noscore
CONF
autoreply_question 2
timed_deliver < "$T/q.eml"
outcome "autoreply sendmail whose child keeps its output open" 10 delivered "$T/q.eml"
for p in $(cat "$T/hang.pids"); do kill "$p" 2> /dev/null; done
: > "$T/hang.pids"

home forward-hang <<CONF
sendmail $HANG
sendmail-timeout 1
rule to ^training@ forward boss@example.net noscore
CONF
autoreply_question 3
timed_deliver < "$T/q.eml"
outcome "forward through a sendmail that hangs" 10 delivered "$T/q.eml"
check "forward through a sendmail that hangs: logged forward=failed:timeout" logged 'forward=failed:timeout'
check "forward through a sendmail that hangs: killed" no_hang_left

home pipe-hang <<CONF
pipe-timeout 1
rule to ^training@ pipe-defer pipe $HANG folder piped noscore
CONF
autoreply_question 4
timed_deliver < "$T/q.eml"
outcome "pipe that hangs, pipe-defer (pipe-timeout 1)" 10 deferred "$T/q.eml"
check "pipe that hangs: killed" no_hang_left

# ---- the process -----------------------------------------------------------------------------
# no_home_exec ARGS...: sortmail with the Postfix environment minus HOME.
no_home_exec() {
	# shellcheck disable=SC2086
	exec $as_user env -i PATH=/usr/local/bin:/usr/bin:/bin SENDER=sender@example.org \
		RECIPIENT=user@localhost SORTMAIL_SCORER="$SORTMAIL_SCORER" \
		SORTMAIL_DATADIR="$SORTMAIL_DATADIR" ${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS} \
		${UBSAN_OPTIONS:+UBSAN_OPTIONS=$UBSAN_OPTIONS} "$SORTMAIL" "$@"
}
no_home_deliver() {
	_t0=$(now_ms)
	(no_home_exec "$@") > "$T/out" 2> "$T/err"
	rc=$?
	took=$(($(now_ms) - _t0))
}

home no-home-config < /dev/null
CFG=$CONFIG
{
	echo "maildir $ROOT"
	echo "cache $HOME/.sortmail/verdicts.db"
	echo "reply-memory $HOME/.sortmail/replied.db"
} >> "$CFG"
no_home_deliver -c "$CFG" < "$MSG"
outcome "HOME unset, -c CONFIG naming every path" 15 delivered

if [ "$(id -u)" -eq 0 ] && ensure_test_user; then
	# the account's passwd home is /nonexistent
	home no-home-passwd < /dev/null
	as_user=$AS_TEST_USER
	no_home_deliver < "$MSG"
	as_user=
	outcome "HOME unset, passwd home /nonexistent" 15 deferred
	if getent passwd 54321 > /dev/null; then
		skip "HOME unset, no passwd entry" "uid 54321 exists here"
	else
		as_user="setpriv --reuid=54321 --regid=54321 --clear-groups"
		no_home_deliver < "$MSG"
		as_user=
		outcome "HOME unset, no passwd entry" 15 deferred
		check "HOME unset, no passwd entry: says so" grep -q 'HOME' "$T/err"
	fi
else
	skip "HOME unset, passwd home /nonexistent" "needs root and setpriv"
	skip "HOME unset, no passwd entry" "needs root and setpriv"
fi

# stdout and stderr closed: nothing of ours may land in the message.
home closed-out < /dev/null
_t0=$(now_ms)
(sortmail_exec) < "$MSG" > /dev/null 2>&1 >&- 2>&-
rc=$?
took=$(($(now_ms) - _t0))
: > "$T/err"
outcome "stdout and stderr closed" 15 delivered
home closed-out-fail < /dev/null
chmod 0500 "$ROOT/new" "$ROOT/tmp"
unwritable=yes
if [ "$(id -u)" -eq 0 ]; then
	if ensure_test_user; then
		chown -R "$TEST_UID:$TEST_GID" "$HOME"
		as_user=$AS_TEST_USER env_user=$TEST_USER
	else
		unwritable=
	fi
fi
if [ -n "$unwritable" ]; then
	(sortmail_exec) < "$MSG" > /dev/null 2>&1 >&- 2>&-
	rc=$?
	check "stdout and stderr closed, unwritable Maildir: exit 75" test "$rc" -eq 75
	check "stdout and stderr closed, unwritable Maildir: nothing stored" test "$(count_all_new)" -eq 0
else
	skip "stdout and stderr closed, unwritable Maildir: exit 75" "root, and cannot run as $TEST_USER"
fi
reset_env
chmod 0700 "$ROOT/new" "$ROOT/tmp"

# ---- stdin -------------------------------------------------------------------------------------
home stdin < /dev/null
timed_deliver 0<&-
outcome "stdin closed" 15 deferred
timed_deliver < /
outcome "stdin a directory (read error EISDIR)" 15 deferred
timed_deliver 0> "$T/wronly"
outcome "stdin open for writing only (read error EBADF)" 15 deferred

# The sender dies after half the message: to sortmail that is the end of the
# input; it files the half it got (exit 0). Only the MTA knows it failed
# (it retries, and the full copy is filed too: another key).
half=$T/half.eml
size=$(wc -c < "$MSG")
head -c $((size / 2)) "$MSG" > "$half"
home sender-dies < /dev/null
_t0=$(now_ms)
{ cat "$half"; exit 1; } | (sortmail_exec) > "$T/out" 2> "$T/err"
rc=$?
took=$(($(now_ms) - _t0))
outcome "sender dies mid-message (stdin ends early)" 15 delivered "$half"

check "no output line starts like a status code" no_dsn_codes
done_testing
