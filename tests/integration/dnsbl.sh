#!/bin/sh
# dnsbl: DNS blocklists through the real binary, against a real DNS server:
# Debian's dnsmasq on 127.0.0.1 (a high port) serving the test lists of
# tests/data/dns/zone.conf. A listed relay (a code-specific rule and score,
# several codes), an unlisted one (NXDOMAIN), a listed URI domain in
# quoted-printable and in base64 HTML, a list refusing our resolver, trusted
# networks and dnsbl-all-relays, score set 1, a bad setting; then a server
# that never answers (the deadline holds, the mail is delivered, the log says
# "no DNS") and a server that is down (no wait at all). Timing is only ever
# checked against a generous upper bound.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

# LeakSanitizer (GCC 12's) crashes in its own tracer here ("Tracer caught
# signal 11", on a bogus dynamic-TLS entry of a library loaded during the
# lookups), a libsanitizer bug, not a leak: leak checking is off for this
# test only; valgrind.sh and ./dev.sh valgrind check these paths for leaks.
case ${ASAN_OPTIONS-} in *detect_leaks=1*) ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0 ;; esac

DNSDATA=$top_srcdir/tests/data/dns
DNSMASQ=$(command -v dnsmasq 2> /dev/null || true)
[ -z "$DNSMASQ" ] && [ -x /usr/sbin/dnsmasq ] && DNSMASQ=/usr/sbin/dnsmasq
[ -n "$DNSMASQ" ] || skip_all "no dnsmasq (apt-get install dnsmasq-base)"

DNS_PID=
SILENT_PID=
stop_servers() {
	[ -n "$DNS_PID" ] && kill "$DNS_PID" 2> /dev/null
	[ -n "$SILENT_PID" ] && kill "$SILENT_PID" 2> /dev/null
	DNS_PID=
	SILENT_PID=
}
trap stop_servers EXIT
trap 'stop_servers; exit 1' INT TERM

# start_dnsmasq: dnsmasq on a free high port of 127.0.0.1; sets DNS_PORT.
# A port already taken makes dnsmasq exit at once: then another is tried.
start_dnsmasq() {
	_try=0
	while [ $_try -lt 10 ]; do
		_try=$((_try + 1))
		DNS_PORT=$((20000 + ($$ * 7 + _try * 997) % 40000))
		: > "$T/dnsmasq.log"
		"$DNSMASQ" --keep-in-foreground --no-resolv --no-hosts --no-poll \
			--port="$DNS_PORT" --listen-address=127.0.0.1 --bind-interfaces \
			--pid-file= --conf-file="$DNSDATA/zone.conf" --user="$(id -un)" \
			--log-facility="$T/dnsmasq.log" --log-queries 2> "$T/dnsmasq.err" &
		DNS_PID=$!
		_wait=0
		while [ $_wait -lt 50 ]; do
			grep -q 'started' "$T/dnsmasq.log" 2> /dev/null && return 0
			kill -0 "$DNS_PID" 2> /dev/null || break
			sleep 0.1
			_wait=$((_wait + 1))
		done
		kill "$DNS_PID" 2> /dev/null
		DNS_PID=
	done
	diag_file "$T/dnsmasq.err"
	return 1
}
start_dnsmasq || bail "dnsmasq does not start"
diag "dnsmasq on 127.0.0.1:$DNS_PORT"

# One rule that never hits (a rule set needs one) and one whose score
# depends on the score set: 0.5 in set 0, 1.5 in set 1 (network tests).
cat > "$T/probe.cf" <<'CF'
header NEVER_HITS X-Never-Present =~ /./
score NEVER_HITS 0.1
header SET_PROBE Subject =~ /^probe:/
score SET_PROBE 0.5 1.5 0.5 1.5
CF

# dns_config [EXTRA LINES on stdin]: a config for a fresh home using dnsmasq.
dns_config() {
	new_home "$T/$1"
	{
		echo "log-file $HOME/sortmail.log"
		echo "cache none"
		echo "rules $T/probe.cf"
		echo "dns-server 127.0.0.1:${2:-$DNS_PORT}"
		echo "dns-timeout ${3:-5}"
		echo "trusted-networks 198.51.100.0/24"
		echo "dnsbl zen.test RCVD_IN_TEST 1.5 127.0.0.2=RCVD_IN_TEST_SBL:3.5 4=RCVD_IN_TEST_XBL:2.5"
		echo "uribl dbl.test URIBL_TEST 2.5"
		cat
	} | write_config
}

# relay IP FILE: FILE with its untrusted relay 192.0.2.x replaced; prints the copy's path.
relay() {
	_out=$T/relay-$1-$(basename "$2")
	sed "s/\\[192\\.0\\.2\\.[0-9]*\\]/[$1]/" "$2" > "$_out"
	echo "$_out"
}

# dry_field NAME: the value of NAME= in the last dry-run line.
dry_field() {
	sed -n "s/.*\\(^\\| \\)$1=\\([^ ]*\\).*/\\2/p" "$T/out" | head -n 1
}

# expect_dry DESCRIPTION SCORE TESTS: the last dry run gave exactly these.
expect_dry() {
	if [ "$rc" = 0 ] && [ "$(dry_field score)" = "$2" ] && [ "$(dry_field tests)" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		diag "expected score=$2 tests=$3; exit $rc, got:"
		diag_file "$T/out"
		diag_file "$T/err"
	fi
}

# ms_since START: milliseconds since START (date +%s%N).
ms_since() {
	echo $((($(date +%s%N) - $1) / 1000000))
}

# ---- answers from the lists --------------------------------------------------------
dns_config answers < /dev/null
deliver -n < "$DNSDATA/listed.eml"
expect_dry "listed relay (code 127.0.0.2) and listed URI domain in QP HTML; score set 1" \
	7.5 RCVD_IN_TEST_SBL,SET_PROBE,URIBL_TEST

deliver -n < "$DNSDATA/listed-base64.eml"
expect_dry "listed URI domain in base64 HTML (the rendering's URIs)" 4.0 SET_PROBE,URIBL_TEST

deliver -n < "$(relay 192.0.2.3 "$DNSDATA/listed.eml")"
expect_dry "relay listed with two codes: the code's rule and the zone's own rule" \
	8.0 RCVD_IN_TEST,RCVD_IN_TEST_XBL,SET_PROBE,URIBL_TEST

deliver -n < "$DNSDATA/clean.eml"
expect_dry "unlisted relay (NXDOMAIN), listed one below it not looked up" 1.5 SET_PROBE

deliver -n < "$(relay 192.0.2.9 "$DNSDATA/clean.eml")"
expect_dry "a list refusing our resolver: not listed, __RCVD_IN_TEST_BLOCKED" \
	1.5 SET_PROBE,__RCVD_IN_TEST_BLOCKED

deliver -n < "$(relay 198.51.100.9 "$DNSDATA/listed.eml")"
expect_dry "trusted relays are not looked up; a private one neither" 4.0 SET_PROBE,URIBL_TEST

if grep -q 'query\[A\] 3\.2\.1\.10\.zen\.test\|query\[A\] [0-9.]*\.100\.51\.198\.zen\.test' \
	"$T/dnsmasq.log"; then
	not_ok "no query for trusted or private relays"
	grep 'query\[A\]' "$T/dnsmasq.log" | sed 's/^/#   /'
else
	ok "no query for trusted or private relays"
fi

# A real delivery: the header carries the DNS rules, the log line the refusal note.
deliver < "$(relay 192.0.2.9 "$DNSDATA/listed.eml")"
expect_rc 0 "delivered while a list refuses the resolver"
if one_new_in inbox && grep -q -E '^X-Spam-Status: No, score=4\.0 required=5\.0 tests=SET_PROBE,URIBL_TEST,__RCVD_IN_TEST_BLOCKED$' "$NEWFILE"; then
	ok "X-Spam-Status names the DNS rules"
else
	not_ok "X-Spam-Status names the DNS rules"
	[ -n "$NEWFILE" ] && diag_file "$NEWFILE" 3
fi
if grep -q 'note=".*DNS: zen\.test refuses our resolver (answer 127\.255\.255\.254)' \
	"$HOME/sortmail.log"; then
	ok "the log line notes the refusal"
else
	not_ok "the log line notes the refusal"
	diag_file "$HOME/sortmail.log"
fi

dns_config all-relays <<CONF
dnsbl-all-relays yes
CONF
deliver -n < "$DNSDATA/clean.eml"
expect_dry "dnsbl-all-relays: a listed relay below the first untrusted one counts" \
	5.0 RCVD_IN_TEST_SBL,SET_PROBE

dns_config bad-setting <<CONF
dnsbl bad..zone RCVD_IN_BAD 1
CONF
deliver < "$DNSDATA/listed.eml"
expect_rc 0 "a bad DNS setting does not stop delivery"
deliver -n < "$DNSDATA/listed.eml"
expect_dry "a bad DNS setting is skipped, the good ones used" \
	7.5 RCVD_IN_TEST_SBL,SET_PROBE,URIBL_TEST
if grep -q "note=\".*DNS setting skipped: $CONFIG:[0-9]*: 'bad\\.\\.zone' is not a DNS zone" \
	"$HOME/sortmail.log"; then
	ok "the bad setting is named in the log with FILE:LINE"
else
	not_ok "the bad setting is named in the log with FILE:LINE"
	diag_file "$HOME/sortmail.log"
fi

# `sortmail explain` shows each lookup and its answer (issue 7).
deliver explain < "$DNSDATA/listed.eml"
check "explain: a listed relay's lookup, its answer and the rule it gives" \
	grep -q '^  dns  *[0-9.]*\.zen\.test: 127\.0\.0\.2 -> RCVD_IN_TEST_SBL (3\.5)$' "$T/out"
check "explain: a listed URI domain's lookup" \
	grep -q '^  dns  *[a-z0-9.-]*\.dbl\.test: 127\.0\.[0-9.]* -> URIBL_TEST (2\.5)$' "$T/out"

# Score set 0 without blocklists: the probe rule scores its first value.
new_home "$T/no-dns"
write_config <<CONF
cache none
rules $T/probe.cf
CONF
deliver -n < "$DNSDATA/listed.eml"
expect_dry "without blocklists score set 0 applies" 0.5 SET_PROBE

# ---- a server that never answers -------------------------------------------------------
if command -v python3 > /dev/null 2>&1; then
	# Bound to a free port, never reads, gone after 60 s (times the slowdown:
	# longer than the bound below) at the latest.
	HOLD_S=$(slow 60) python3 -c '
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
time.sleep(int(os.environ["HOLD_S"]))
' > "$T/silent.port" &
	SILENT_PID=$!
	_wait=0
	while [ ! -s "$T/silent.port" ] && [ $_wait -lt 50 ]; do
		sleep 0.1
		_wait=$((_wait + 1))
	done
	SILENT_PORT=$(cat "$T/silent.port")
fi
if [ -n "${SILENT_PORT:-}" ]; then
	dns_config silent "$SILENT_PORT" 1 < /dev/null
	start=$(date +%s%N)
	deliver < "$DNSDATA/listed.eml"
	took=$(ms_since "$start")
	diag "delivery with a silent DNS server and dns-timeout 1: $took ms"
	expect_rc 0 "silent DNS server: delivered"
	# the 1 s deadline stays, the 2 s for the rest of the delivery scale
	check "silent DNS server: done within the deadline + $(slow 2) s" test "$took" -lt $((1000 + $(slow 2000)))
	if one_new_in inbox && grep -q -E '^X-Spam-Status: No, score=1\.5 required=5\.0 tests=SET_PROBE,__DNS_UNAVAILABLE$' "$NEWFILE"; then
		ok "silent DNS server: scored without DNS, __DNS_UNAVAILABLE"
	else
		not_ok "silent DNS server: scored without DNS, __DNS_UNAVAILABLE"
		[ -n "$NEWFILE" ] && diag_file "$NEWFILE" 3
	fi
	if grep -q 'note=".*no DNS: 3 of 3 lookups unanswered (3 timed out' "$HOME/sortmail.log"; then
		ok "silent DNS server: the log line says no DNS"
	else
		not_ok "silent DNS server: the log line says no DNS"
		diag_file "$HOME/sortmail.log"
	fi
else
	for d in delivered "within the deadline" "__DNS_UNAVAILABLE" "log says no DNS"; do
		skip "silent DNS server: $d" "no python3 for the silent server"
	done
fi

# ---- a server that is down ----------------------------------------------------------------
# dnsmasq's port once it is stopped: nothing listens there any more.
DOWN_PORT=$DNS_PORT
kill "$DNS_PID" 2> /dev/null
wait "$DNS_PID" 2> /dev/null
DNS_PID=
dns_config down "$DOWN_PORT" 30 < /dev/null
start=$(date +%s%N)
deliver < "$DNSDATA/listed.eml"
took=$(ms_since "$start")
diag "delivery with the DNS server down and dns-timeout 30: $took ms"
expect_rc 0 "DNS server down: delivered"
check "DNS server down: no waiting for the 30 s deadline (under 10 s)" test "$took" -lt 10000
if grep -q 'note=".*no DNS: 3 of 3 lookups unanswered (0 timed out, 3 failed)' "$HOME/sortmail.log"; then
	ok "DNS server down: the log line says no DNS"
else
	not_ok "DNS server down: the log line says no DNS"
	diag_file "$HOME/sortmail.log"
fi

check "no output line looks like a DSN code" no_dsn_codes
done_testing
