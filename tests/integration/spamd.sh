#!/bin/sh
# spamd: sortmail asks Debian's real spamd, started here on 127.0.0.1 (a free
# high port) and on a Unix socket, local tests only. A GTUBE message comes
# back with spamd's rule GTUBE in X-Spam-Status and is filed as spam (TCP and
# Unix socket); replace mode shows spamd's rules only, add mode adds spamd's
# score to the local one. Then spamd is stopped, and stand-ins that accept and
# never answer, or answer garbage, take its place: each time the message is
# still delivered (exit 0) on the local score, marked SPAMD_UNAVAILABLE, with
# the reason in the log line, and within a generous bound of spamd-timeout.
# Needs root (spamd drops to nobody) and spamd; skips otherwise.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root to start a private spamd (CI runs it as root)"
SPAMD=$(command -v spamd || echo /usr/sbin/spamd)
[ -x "$SPAMD" ] || skip_all "no spamd (Debian package spamd)"
command -v perl > /dev/null || skip_all "no perl (spamd needs it too)"

GTUBE=$top_srcdir/tests/data/spamd/gtube.eml
SPAM=$DATA/spam.eml
pids=
cleanup() {
	for p in $pids; do
		kill "$p" 2> /dev/null
	done
	[ -f "$T/spamd.pid" ] && kill "$(cat "$T/spamd.pid")" 2> /dev/null
	return 0
}
trap cleanup EXIT
trap 'cleanup; exit 1' INT TERM HUP

# free_port: a TCP port on 127.0.0.1 that nobody listens on right now.
free_port() {
	perl -MIO::Socket::INET -e '
		my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
			LocalPort => 0, Proto => "tcp") or die "no port: $!\n";
		print $s->sockport, "\n";'
}

# answers_ping PORT|PATH: a SPAMC PING gets spamd's PONG.
answers_ping() {
	perl -MIO::Socket::INET -MIO::Socket::UNIX -e '
		my $a = shift;
		my $s = $a =~ m{^/} ? IO::Socket::UNIX->new(Peer => $a)
			: IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $a, Timeout => 2);
		exit 1 unless $s;
		print $s "PING SPAMC/1.5\r\n\r\n";
		local $SIG{ALRM} = sub { exit 1 };
		alarm 5;
		my $l = <$s>;
		exit(defined $l && $l =~ m{^SPAMD/\S+ 0 PONG} ? 0 : 1);' "$1"
}

# fake_spamd MODE PORTFILE: starts a stand-in on a free port (written to
# PORTFILE) that accepts and never answers (MODE silent) or answers garbage.
fake_spamd() {
	perl -MIO::Socket::INET -e '
		my ($mode, $file) = @ARGV;
		my $s = IO::Socket::INET->new(Listen => 5, LocalAddr => "127.0.0.1",
			LocalPort => 0, Proto => "tcp", ReuseAddr => 1) or die "listen: $!\n";
		open my $f, ">", "$file.tmp" or die; print $f $s->sockport, "\n"; close $f;
		rename "$file.tmp", $file;
		my @held;
		while (my $c = $s->accept) {
			if ($mode eq "silent") { push @held, $c; next }
			print $c "HELLO THERE\r\n\r\n"; close $c;
		}' "$1" "$2" > /dev/null 2>&1 &
	pids="$pids $!"
	_i=0
	while [ ! -s "$2" ] && [ $_i -lt 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	[ -s "$2" ] || bail "fake spamd ($1) did not start"
}

# setup NAME CONFIG-LINES...: a fresh home (fresh verdict cache) whose config
# logs to $LOG and says the given lines.
setup() {
	new_home "$T/$1"
	LOG=$HOME/sortmail.log
	_name=$1
	shift
	{
		echo "personal fred@example.com"
		echo "log-file $LOG"
		for _l in "$@"; do echo "$_l"; done
	} | write_config
}

# status_line FILE: the X-Spam-Status value of a stored message.
status_line() {
	sed -n 's/^X-Spam-Status: //p' "$1" | head -n 1
}

# tests_of: the tests= list of the last status line, one name a line.
tests_of() {
	printf '%s\n' "$STATUS" | sed -n 's/.*tests=//p' | tr ',' '\n'
}

# deliver_one FOLDER WHAT MESSAGE: delivers, expects exit 0 and the one new
# mail in FOLDER; leaves its X-Spam-Status in $STATUS and the time in $SECS.
deliver_one() {
	_t0=$(date +%s)
	deliver < "$3"
	SECS=$(($(date +%s) - _t0))
	STATUS=
	expect_rc 0 "$2: exit 0"
	if one_new_in "$1"; then
		ok "$2: filed into $1"
		STATUS=$(status_line "$NEWFILE")
	else
		not_ok "$2: filed into $1"
		diag_file "$T/err"
	fi
}

has_test() {
	if tests_of | grep -qx "$1"; then return 0; fi
	diag "no $1 in: $STATUS"
	return 1
}

lacks_test() {
	if ! tests_of | grep -qx "$1"; then return 0; fi
	diag "unexpected $1 in: $STATUS"
	return 1
}

# only_spamd_rules: replace mode: no rule of the local stock set (SM_*).
only_spamd_rules() {
	if ! tests_of | grep -q '^SM_'; then return 0; fi
	diag "local rules in replace mode: $STATUS"
	return 1
}

spamd_gtube_verdict() {
	if expr "$STATUS" : 'Yes, score=[0-9][0-9][0-9][0-9]' > /dev/null; then return 0; fi
	diag "not spamd's GTUBE verdict: $STATUS"
	return 1
}

# log_has REGEX: the log file's one line matches.
log_has() {
	if grep -q -E "$1" "$LOG" 2> /dev/null; then return 0; fi
	diag "log line does not match '$1':"
	diag_file "$LOG"
	return 1
}

# score_of: the score= of the last status line, or of a dry run's line.
score_of() {
	sed -n 's/.*score=\(-\{0,1\}[0-9.]*\).*/\1/p' | head -n 1
}

# ---- a private spamd ------------------------------------------------------------------
PORT=$(free_port) || bail "no free port"
SOCK=$T/spamd.sock
# -L: no network tests; -x: no per-user files; no Bayes (nobody has no home).
"$SPAMD" -L -x -u nobody --cf='use_bayes 0' --listen "127.0.0.1:$PORT" --listen "$SOCK" \
	--min-children 1 --max-children 1 --pidfile "$T/spamd.pid" -s stderr \
	> "$T/spamd.log" 2>&1 &
pids="$pids $!"
started=$(date +%s)
up=no
while [ $(($(date +%s) - started)) -lt 120 ]; do
	if answers_ping "$PORT"; then up=yes; break; fi
	sleep 0.5
done
if [ "$up" != yes ]; then
	diag "spamd did not answer within 120 s; its log:"
	diag_file "$T/spamd.log" 20
	bail "spamd did not start"
fi
diag "spamd answers on 127.0.0.1:$PORT after $(($(date +%s) - started)) s"

# ---- spamd hit: TCP and Unix socket, replace mode (the default) ----------------------------
setup tcp "spamd 127.0.0.1:$PORT" "spamd-timeout 60"
deliver_one ube "GTUBE through spamd on TCP" "$GTUBE"
check "TCP: X-Spam-Status has spamd's GTUBE" has_test GTUBE
check "TCP: spamd's verdict is the verdict (Yes, score=1000 or more)" spamd_gtube_verdict
check "TCP: replace mode shows no local rule" only_spamd_rules
check "TCP: no SPAMD_UNAVAILABLE" lacks_test SPAMD_UNAVAILABLE
check "TCP: log line without a note about spamd" \
	sh -c "grep -q 'delivered .*folder=ube' '$LOG' && ! grep -q 'note=\"[^\"]*spamd' '$LOG'"

deliver explain < "$GTUBE"
check "explain: spamd's answer and how it was used (issue 7)" \
	grep -q "^  spamd  *127.0.0.1:$PORT answered: score [0-9.]* (its threshold [0-9.]*), tests=.*GTUBE.*; mode replace" "$T/out"

setup unix "spamd $SOCK" "spamd-timeout 60"
sed 's/^Delivered-To: .*/Delivered-To: trap@example.com/' "$GTUBE" > "$T/gtube-trap.eml"
deliver_one ubetrap "GTUBE through spamd on a Unix socket, to a trap address" "$T/gtube-trap.eml"
check "Unix socket: X-Spam-Status has spamd's GTUBE" has_test GTUBE

# ---- add mode: local score + spamd's score ------------------------------------------------------
setup local
deliver -n < "$SPAM"
local_score=$(score_of < "$T/out")
setup replace "spamd 127.0.0.1:$PORT" "spamd-timeout 60"
deliver -n < "$SPAM"
spamd_score=$(score_of < "$T/out")
setup add "spamd 127.0.0.1:$PORT" "spamd-timeout 60" "spamd-mode add"
deliver_one ube "spam in add mode" "$SPAM"
add_score=$(printf '%s\n' "$STATUS" | score_of)
if [ -n "$local_score" ] && [ -n "$spamd_score" ] && [ -n "$add_score" ] \
	&& awk -v l="$local_score" -v s="$spamd_score" -v a="$add_score" \
		'BEGIN { d = a - (l + s); exit !(d <= 0.15 && d >= -0.15) }'; then
	ok "add mode: score $add_score = local $local_score + spamd $spamd_score"
else
	not_ok "add mode: score '$add_score' = local '$local_score' + spamd '$spamd_score'"
fi
check "add mode: local rules are in the verdict too" sh -c "printf '%s' '$STATUS' | grep -q 'SM_'"

# ---- spamd down: refused -------------------------------------------------------------------------
kill "$(cat "$T/spamd.pid")" 2> /dev/null
i=0
while answers_ping "$PORT" && [ $i -lt 100 ]; do
	sleep 0.2
	i=$((i + 1))
done
setup down "spamd 127.0.0.1:$PORT" "spamd-timeout 60"
deliver_one ube "spamd stopped: spam still delivered on the local score" "$SPAM"
check "spamd stopped: SPAMD_UNAVAILABLE in X-Spam-Status" has_test SPAMD_UNAVAILABLE
check "spamd stopped: the log line says why" \
	log_has "delivered .* note=\"spamd 127\\.0\\.0\\.1:$PORT: connect: [^\"]*; local score only"

# A verdict made without spamd is cached for cache-ttl-degraded only (default
# 10 min): within it the next copy takes it, after it the copy is scored again
# (whole, once spamd is back). Same message each time: duplicates off.
setup down-ttl "spamd 127.0.0.1:$PORT" "spamd-timeout 60" "duplicates no"
deliver < "$SPAM"
deliver < "$SPAM"
expect_rc 0 "spamd stopped, second copy: exit 0"
check "spamd stopped: the next copy within cache-ttl-degraded takes the cached verdict" \
	sh -c '[ "$(grep -c " via=scored " "$1")" = 1 ] && [ "$(grep -c " via=cached " "$1")" = 1 ]' sh "$LOG"
printf 'cache-ttl-degraded 1s\n' >> "$CONFIG"
sleep 2
deliver < "$SPAM"
expect_rc 0 "spamd stopped, after cache-ttl-degraded: exit 0"
check "spamd stopped: after cache-ttl-degraded the copy is scored again" \
	test "$(grep -c ' via=scored ' "$LOG")" = 2

# ---- a stand-in that accepts and never answers -------------------------------------------
fake_spamd silent "$T/silent.port"
SILENT=$(cat "$T/silent.port")
setup silent "spamd 127.0.0.1:$SILENT" "spamd-timeout 3"
deliver_one inbox "spamd never answers: ham still delivered" "$DATA/ham.eml"
check "spamd never answers: delivered within a generous bound (${SECS}s, timeout 3s)" \
	test "$SECS" -lt 60
check "spamd never answers: SPAMD_UNAVAILABLE in X-Spam-Status" has_test SPAMD_UNAVAILABLE
check "spamd never answers: the log line says why" \
	log_has "note=\"spamd 127\\.0\\.0\\.1:$SILENT: no reply in time"

# ---- a stand-in that answers garbage ---------------------------------------------------------
fake_spamd garbage "$T/garbage.port"
GARBAGE=$(cat "$T/garbage.port")
setup garbage "spamd 127.0.0.1:$GARBAGE" "spamd-timeout 60"
deliver_one ube "garbage from 'spamd': spam still delivered" "$SPAM"
check "garbage: the log line says why" log_has "note=\"spamd [^\"]*: not a spamd reply: 'HELLO THERE'"

# ---- a bad setting: spamd is not used, loudly ------------------------------------------------
setup badmode "spamd 127.0.0.1:$PORT" "spamd-mode sometimes"
deliver_one ube "bad spamd-mode: spam still delivered" "$SPAM"
check "bad spamd-mode: the log line names the config line" \
	log_has "note=\"spamd not used: [^\"]*/config:[0-9]+: 'spamd-mode' takes replace or add"

check "no output line starts like a status code" no_dsn_codes
done_testing
