#!/bin/sh
# crash-torture: deliveries killed with SIGKILL at random moments, each killed
# delivery delivered again as an MTA would (until it exits 0), then every
# mailbox is read back. Rounds alternate between a Maildir and an mbox home.
#
#   sh tests/reliability/crash-torture.sh [BUILD]     (make check: CRASH_N=24)
#   CRASH_N=1000 CRASH_SEED=12345 sh tests/reliability/crash-torture.sh b
#
# A round is one message sent to K addresses (K = 1..5, as Postfix bursts a
# multi-recipient message into K deliveries of copies that differ only in
# Delivered-To): all K copies run at once, so they share one verdict cache key
# and K-1 of them wait for the one that scores. Scoring is made slow on
# purpose: the DNS blocklists point at a local UDP server that never answers,
# so every scoring waits dns-timeout (0.3 s). In the first waves some copies
# are killed after a random delay drawn from three ranges (start-up, scoring
# and waiting, filing and exit); in half the bursts the first copy is started
# alone and killed while it is scoring (the DNS server has seen its query)
# with the others waiting for its verdict. Copies not yet delivered are run
# again, in a new wave, until each has exited 0; from wave 4 on nobody is
# killed. Exit statuses other than 0, 75 and the kill's are failures.
#
# Afterwards (tests/reliability/stored.pl): every copy stored at least once
# (nothing lost); every stored message the copy's exact bytes plus at most the
# X-Spam-Flag/X-Spam-Status lines sortmail prepends (nothing partial or
# damaged); a copy stored more than once only as often as it was killed after
# it was already stored (at-least-once: a kill between filing and the
# duplicates journal's record makes the MTA's retry file it again; a kill after
# the record is caught by the journal and logged "duplicate").
#
# CRASH_SEED (printed) fixes the message sizes, burst sizes and the kill
# schedule; where exactly a kill lands still depends on the machine's timing.
# Needs perl (Digest::SHA, IO::Socket) and coreutils' timeout.
if [ $# -gt 0 ]; then
	top_builddir=$(cd "$1" && pwd) || exit 1
	top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
	SORTMAIL=$top_builddir/lda/sortmail
	SORTMAIL_SCORER=$top_builddir/score/.libs/sortmail-score.so
	SORTMAIL_DATADIR=$top_srcdir/score
	export top_builddir top_srcdir SORTMAIL SORTMAIL_SCORER SORTMAIL_DATADIR
fi
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

command -v perl > /dev/null || skip_all "no perl"
perl -MDigest::SHA -MIO::Socket::INET -e 1 2> /dev/null || skip_all "perl lacks Digest::SHA or IO::Socket::INET"
command -v timeout > /dev/null || skip_all "no timeout (coreutils)"

N=${CRASH_N:-24}
# under valgrind (./dev.sh valgrind) 8 rounds: most kills land in valgrind's start-up
[ "$SLOWDOWN" -gt 1 ] && N=${CRASH_N:-8}
SEED=${CRASH_SEED:-$(( ($(date +%s) ^ $$) % 1000000 ))}
STORED="perl $top_srcdir/tests/reliability/stored.pl"
diag "seed $SEED, $N rounds (CRASH_SEED=$SEED CRASH_N=$N repeats the schedule)"

# ---- reproducible randomness: an LCG in shell arithmetic -----------------------
# rand N: sets R to a number in [0, N). Never call it in a subshell.
rng=$SEED
rand() {
	rng=$(( (rng * 1103515245 + 12345) % 2147483648 ))
	R=$(( (rng / 65536) % $1 ))
}

# ms_as_seconds MS: "S.mmm" for sleep and timeout.
ms_as_seconds() {
	printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
}

# ---- a DNS server that never answers ------------------------------------------------
# Reads each query (one line per query in $QLOG), answers none; ends by itself.
QLOG=$T/dns-queries
: > "$QLOG"
perl -MIO::Socket::INET -e '
	my ($portfile, $log, $lifetime) = @ARGV;
	my $s = IO::Socket::INET->new(Proto => "udp", LocalAddr => "127.0.0.1", LocalPort => 0)
		or die "udp: $!\n";
	open my $p, ">", "$portfile.tmp" or die; print $p $s->sockport, "\n"; close $p;
	rename "$portfile.tmp", $portfile;
	open my $l, ">>", $log or die; $l->autoflush(1);
	my $end = time + $lifetime;
	my $rin = ""; vec($rin, fileno($s), 1) = 1;
	while (time < $end) {
		next unless select(my $r = $rin, undef, undef, 1) > 0;
		$s->recv(my $q, 512);
		print $l "query\n";
	}' "$T/dns.port" "$QLOG" $((120 + N * 30)) 2> /dev/null &
DNS_PID=$!
trap 'kill "$DNS_PID" 2> /dev/null' EXIT
trap 'kill "$DNS_PID" 2> /dev/null; exit 1' INT TERM HUP
i=0
while [ ! -s "$T/dns.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$T/dns.port" ] || bail "the silent DNS server did not start"
DNS_PORT=$(cat "$T/dns.port")

queries() {
	wc -l < "$QLOG" | tr -d ' '
}

# ---- two homes -------------------------------------------------------------------------
# config_lines: what both homes say (after their own mailbox line).
config_lines() {
	cat <<-CONF
	log-file $HOME/sortmail.log
	personal me@example.org
	deadline 120
	cache-wait 60
	dns-server 127.0.0.1:$DNS_PORT
	dns-timeout 0.3
	trusted-networks 198.51.100.0/24
	dnsbl zen.test RCVD_IN_TEST 1.5
	uribl dbl.test URIBL_TEST 2.5
	CONF
}
new_home "$T/maildir"
MD_HOME=$HOME MD_ROOT=$ROOT
config_lines | write_config
new_home "$T/mbox"
MB_HOME=$HOME
mkdir -m 0700 "$MB_HOME/mail"
{ echo "mbox $MB_HOME/mail"; config_lines; } | write_config
: > "$T/manifest-maildir"
: > "$T/manifest-mbox"
mkdir -p "$T/in" "$T/run"

# ---- the messages ----------------------------------------------------------------
# make_round R K SIZE SPAMMY: writes $T/in/R-C.eml for C = 1..K (the copy of
# crash-R-C@example.org) and adds them to $MANIFEST.
make_round() {
	{
		printf 'Received: from relay.partner.example (relay.partner.example [198.51.100.7])\n'
		printf '\tby mx.localhost (Postfix) with ESMTPS id R%s\n' "$1"
		printf '\tfor <me@example.org>; Mon, 02 Sep 2024 10:00:02 +0200\n'
		printf 'Received: from sender.example (unknown [192.0.2.%d])\n' $(($1 % 250 + 1))
		printf '\tby relay.partner.example (Postfix) with ESMTP id S%s\n' "$1"
		printf 'From: Sender %s <sender%s@sender.example>\n' "$1" "$1"
		printf 'To: me@example.org\n'
		if [ "$4" = 1 ]; then
			printf 'Subject: WINNER!!! claim your FREE prize now, round %s\n' "$1"
		else
			printf 'Subject: minutes of meeting %s\n' "$1"
		fi
		printf 'Date: Mon, 02 Sep 2024 10:00:00 +0200\n'
		printf 'Message-ID: <crash-%s-%s@sender.example>\n' "$SEED" "$1"
		printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n'
		printf 'See http://www.r%s.sender.example/page for details.\n' "$1"
		if [ "$4" = 1 ]; then
			printf 'Congratulations! You have WON $1,000,000 in our lottery.\n'
			printf 'Click here to claim your prize. 100%% FREE, act now, limited time!\n'
			printf 'From the desk of the lottery board: send your bank details.\n'
		fi
		yes "round $1: the quick brown fox jumps over the lazy dog 0123456789." | head -c "$3"
		printf '\n-- \nend of round %s\n' "$1"
	} > "$T/in/$1.body"
	_c=1
	while [ $_c -le "$2" ]; do
		{ printf 'Delivered-To: crash-%s-%s@example.org\n' "$1" $_c; cat "$T/in/$1.body"; } \
			> "$T/in/$1-$_c.eml"
		printf 'crash-%s-%s@example.org %s\n' "$1" $_c \
			"$(sha256sum < "$T/in/$1-$_c.eml" | cut -d' ' -f1)" >> "$MANIFEST"
		_c=$((_c + 1))
	done
	rm -f "$T/in/$1.body"
}

# ---- one attempt ---------------------------------------------------------------------
# start_copy R C KILL_MS: delivers copy C of round R in the background under
# timeout, which sends SIGKILL after KILL_MS (0: only a 300 s guard against a
# hang, which counts as a failure). The status lands in $T/run/R-C.rc.
start_copy() {
	if [ "$3" -gt 0 ]; then
		wrap="timeout -s KILL $(ms_as_seconds "$3")"
	else
		wrap="timeout -s KILL 300"
	fi
	( (sortmail_exec) < "$T/in/$1-$2.eml" > "$T/run/$1-$2.out" 2> "$T/run/$1-$2.err"
	  echo $? > "$T/run/$1-$2.rc") 2> /dev/null &
	copy_pids="$copy_pids $!"
	wrap=
}

# pick_kill: a kill delay in ms (R), 0 for none: a third start-up and cache
# look-up, a third scoring or waiting, a third around filing and exit.
pick_kill() {
	rand 3
	case $R in
	0) rand 25; R=$((R + 1)) ;;
	1) rand 300; R=$((R + 20)) ;;
	2) rand 200; R=$((R + 280)) ;;
	esac
}

# ---- what is stored right now ----------------------------------------------------------
# observe R: "ADDRESS" lines, one per stored copy of round R (Maildir: files
# in new/ since the round began; mbox: the bytes appended since then).
observe() {
	if [ "$KIND" = maildir ]; then
		find "$MD_ROOT" -path '*/new/*' -type f -newer "$T/round-start" \
			-exec sh -c 'for f; do head -n 3 "$f"; done' sh {} + 2> /dev/null
	else
		for _f in $(find "$MB_HOME/mail" -type f ! -name '*.lock'); do
			_s0=$(awk -v f="$_f" '$2 == f { print $1 }' "$T/sizes")
			tail -c "+$((${_s0:-0} + 1))" "$_f"
		done
	fi | sed -n "s/^Delivered-To: \\(crash-$1-[0-9]*@example.org\\)\$/\\1/p"
}

# half_written: counts the mbox files that end in the middle of a message
# right now (a kill cut an append short; the next delivery must undo it).
half_written() {
	for _f in $(find "$MB_HOME/mail" -type f ! -name '*.lock' -size +0); do
		[ "$(tail -c 2 "$_f" | od -An -c | tr -d ' ')" = '\n\n' ] || halves=$((halves + 1))
	done
}

# ---- the rounds -------------------------------------------------------------------
after_maildir=0 after_mbox=0 dups_maildir=0 dups_mbox=0
halves=0 copies=0 attempts=0 kills=0 missed=0 deferred=0 after_store=0 scoring_kills=0 waiting_kills=0
failures=
fail() {
	failures="$failures
$*"
}
: > "$T/allowance"
started_at=$(date +%s)
r=0
while [ $r -lt "$N" ]; do
	r=$((r + 1))
	if [ $((r % 2)) = 1 ]; then
		KIND=maildir HOME=$MD_HOME ROOT=$MD_ROOT
	else
		KIND=mbox HOME=$MB_HOME
	fi
	CONFIG=$HOME/.sortmail/config
	MANIFEST=$T/manifest-$KIND
	rand 10
	if [ $R -lt 4 ]; then K=1; else rand 4; K=$((R + 2)); fi
	rand 12
	if [ $R = 0 ] && [ $K = 1 ]; then
		rand 400000; size=$((R + 1100000))   # spools to a file (> 1 MB)
	else
		rand 60000; size=$((R + 500))
	fi
	rand 2; spammy=$R
	make_round $r $K $size $spammy
	copies=$((copies + K))
	touch "$T/round-start"
	[ "$KIND" = mbox ] && find "$MB_HOME/mail" -type f ! -name '*.lock' -printf '%s %p\n' > "$T/sizes"
	: > "$T/seen"
	pending=$(seq 1 $K)
	rand 2; directed=$R
	[ $K -gt 1 ] || directed=0
	wave=0
	while [ -n "$pending" ]; do
		wave=$((wave + 1))
		if [ $wave -gt 12 ]; then
			fail "round $r: copies $(echo $pending) still not delivered after 12 waves"
			break
		fi
		cp "$T/seen" "$T/seen-before"
		plan=
		for c in $pending; do
			rm -f "$T/run/$r-$c.rc"
			kill_ms=0
			if [ $wave -le 3 ]; then
				rand 3
				[ $R -gt 0 ] && { pick_kill; kill_ms=$R; }
			fi
			plan="$plan $c:$kill_ms"
		done
		first_kill= copy_pids=
		if [ $wave = 1 ] && [ "$directed" = 1 ]; then
			# the first copy alone, killed while it scores; the others then
			# start and wait for its verdict (some are killed meanwhile)
			rand 200; first_kill=$((R + 150))
			q0=$(queries)
			t0=$(date +%s%N)
			start_copy $r 1 $first_kill
			i=0
			while [ "$(queries)" = "$q0" ] && [ ! -e "$T/run/$r-1.rc" ] && [ $i -lt 500 ]; do
				sleep 0.01
				i=$((i + 1))
			done
			seen_query_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
			[ -e "$T/run/$r-1.rc" ] && seen_query_ms=
			for p in $plan; do
				c=${p%%:*} k=${p#*:}
				[ "$c" = 1 ] && continue
				[ "$k" -gt 0 ] && { rand 150; k=$((R + 5)); }
				start_copy $r "$c" "$k"
			done
		else
			for p in $plan; do
				start_copy $r "${p%%:*}" "${p#*:}"
			done
		fi
		wait $copy_pids
		observe $r > "$T/seen"
		[ "$KIND" = mbox ] && half_written
		next=
		for p in $plan; do
			c=${p%%:*} k=${p#*:}
			[ -n "$first_kill" ] && [ "$c" = 1 ] && k=$first_kill
			attempts=$((attempts + 1))
			a="crash-$r-$c@example.org"
			st=$(cat "$T/run/$r-$c.rc" 2> /dev/null || echo none)
			case $st in
			0)
				[ "$k" -gt 0 ] && missed=$((missed + 1))
				;;
			137)
				if [ "$k" = 0 ]; then
					fail "round $r copy $c: hung for 300 s and was killed by the guard"
				fi
				kills=$((kills + 1))
				n0=$(grep -c -x -F "$a" "$T/seen-before" || true)
				n1=$(grep -c -x -F "$a" "$T/seen" || true)
				if [ "$n1" -gt "$n0" ]; then
					after_store=$((after_store + 1))
					eval "after_$KIND=\$((after_$KIND + 1))"
					echo "$a" >> "$T/allowance"
				fi
				# the scorer waits 300 ms for DNS from its first query on:
				# a kill before that is a kill while scoring, and copies
				# killed before the scorer's end were still waiting
				if [ -n "$first_kill" ] && [ -n "$seen_query_ms" ]; then
					scoring_end=$((seen_query_ms + 300))
					[ "$first_kill" -lt "$scoring_end" ] && scoring_end=$first_kill
					if [ "$c" = 1 ] && [ "$first_kill" -lt $((seen_query_ms + 300)) ]; then
						scoring_kills=$((scoring_kills + 1))
					elif [ "$c" != 1 ] && [ $((seen_query_ms + k + 20)) -lt "$scoring_end" ]; then
						waiting_kills=$((waiting_kills + 1))
					fi
				fi
				next="$next $c"
				;;
			75)
				deferred=$((deferred + 1))
				next="$next $c"
				;;
			*)
				fail "round $r copy $c: exit status $st: $(head -c 300 "$T/run/$r-$c.err")"
				;;
			esac
		done
		pending=$next
	done
	rm -f "$T/in/$r"-*.eml "$T/run/$r"-*
done
elapsed=$(( $(date +%s) - started_at ))

# ---- reading the mailboxes back -------------------------------------------------------------
total_stored=0 dups=0 lost=0 bad=0 unexplained=0
for KIND in maildir mbox; do
	if [ $KIND = maildir ]; then where=$MD_ROOT; else where=$MB_HOME/mail; fi
	$STORED "$T/manifest-$KIND" $KIND "$where" > "$T/stored-$KIND" \
		|| bail "stored.pl could not read the $KIND mailbox"
	while read -r what a n; do
		case $what in
		count)
			total_stored=$((total_stored + n))
			if [ "$n" -eq 0 ]; then
				lost=$((lost + 1))
				fail "$KIND: $a lost (never stored)"
			elif [ "$n" -gt 1 ]; then
				dups=$((dups + n - 1))
				eval "dups_$KIND=\$((dups_$KIND + n - 1))"
				allowed=$(grep -c -x -F "$a" "$T/allowance" || true)
				if [ $((n - 1)) -gt "$allowed" ]; then
					unexplained=$((unexplained + 1))
					fail "$KIND: $a stored $n times, but killed after filing only $allowed times"
				fi
			fi
			;;
		bad)
			bad=$((bad + 1))
			fail "$KIND: $a $n"
			;;
		esac
	done < "$T/stored-$KIND"
done
journal_maildir=$(grep -c '^duplicate \| duplicate ' "$MD_HOME/sortmail.log" 2> /dev/null || true)
journal_mbox=$(grep -c '^duplicate \| duplicate ' "$MB_HOME/sortmail.log" 2> /dev/null || true)
journal=$((journal_maildir + journal_mbox))
tmp_left=$(count_all_tmp "$MD_ROOT")
# In an mbox, a kill after the append but before the locks are released
# leaves a whole message the next delivery cuts off like half a one (it was
# never acknowledged): such kills count as "after stored" but end in neither
# a duplicate nor a journal catch.
diag "kills after the copy was stored, then duplicates and journal catches: Maildir $after_maildir, $dups_maildir, $journal_maildir; mbox $after_mbox, $dups_mbox, $journal_mbox"

diag "$N rounds, $copies copies, $attempts attempts in ${elapsed}s: $kills killed ($scoring_kills while scoring, $waiting_kills while waiting for a verdict, $after_store after the copy was stored), $missed finished before their kill, $deferred deferred (75)"
diag "stored $total_stored messages: $dups duplicates, $journal retries caught by the duplicates journal, $lost lost, $bad partial or damaged; $halves kills left half a message in an mbox (undone by the next delivery); $tmp_left files left in Maildir tmp/ (invisible)"
check "every attempt exited 0, 75 or by the kill, and every copy was delivered in the end" \
	test -z "$(printf '%s' "$failures" | grep -v ' lost \| differs \|partial\|cut short\|stored [0-9]* times\|does not start')"
check "no copy lost ($copies copies)" test "$lost" -eq 0
check "no stored message partial or damaged ($total_stored stored)" test "$bad" -eq 0
check "duplicates ($dups) only where a kill landed after the copy was stored ($after_store such kills)" \
	test "$unexplained" -eq 0
check "the harness killed deliveries ($kills kills)" test "$kills" -gt 0
[ -n "$failures" ] && diag "$(printf '%s\n' "$failures" | sed '/^$/d' | head -n 20)"
done_testing
