#!/bin/sh
# bench-deliver.sh [BUILD_DIR]: what one delivery costs. sortmail vs procmail vs
# maildrop, each filing the same ~5 KB message into a Maildir folder with a
# one-rule configuration; then a 50 MB message. Prints markdown tables (wall
# median, CPU, peak RSS). A benchmark, never a test: it has no pass/fail and is
# not part of `make check`. See tests/bench/README.
#
# Needs hyperfine, procmail, maildrop and GNU time (Debian packages of those
# names); installs the missing ones with apt-get when run as root.
# BENCH_RUNS (default 300) sets the timed runs per 5 KB case.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
runs=${BENCH_RUNS:-300}
sortmail=$build/lda/sortmail
scorer=$build/score/.libs/sortmail-score.so

die() { echo "bench-deliver.sh: $*" >&2; exit 1; }
[ -x "$sortmail" ] || die "$sortmail not built (run make in $build)"

# ---- tools ---------------------------------------------------------------
missing=
for pair in hyperfine:hyperfine procmail:procmail maildrop:maildrop time:/usr/bin/time; do
	pkg=${pair%%:*} cmd=${pair#*:}
	command -v "$cmd" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
	[ "$(id -u)" -eq 0 ] || die "missing packages:$missing (run as root, or apt-get install$missing)"
	echo "installing$missing ..." >&2
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# ---- the work tree -------------------------------------------------------
work=$build/bench-out
rm -rf "$work"
mkdir -p "$work"

# mkmaildir ROOT: an inbox and the folder .bench, as the MDAs expect them
# (procmail and maildrop do not create Maildir++ folders themselves).
mkmaildir() {
	for d in "$1" "$1/.bench"; do
		mkdir -p "$d/tmp" "$d/new" "$d/cur"
	done
	: >"$1/.bench/maildirfolder"
}

# message FILE BODY_BYTES: a plain-text message whose subject the one rule of
# every configuration matches, with about BODY_BYTES of readable body.
message() {
	awk -v want="$2" 'BEGIN {
		print "From: Carol Bench <carol@example.org>"
		print "To: bench@example.com"
		print "Subject: Weekly report 2024-W11"
		print "Date: Mon, 11 Mar 2024 08:00:00 +0100"
		print "Message-ID: <weekly-report-2024-w11@example.org>"
		print "MIME-Version: 1.0"
		print "Content-Type: text/plain; charset=us-ascii"
		print ""
		s[0] = "The build farm ran 412 jobs this week; three failed on the arm64 runners."
		s[1] = "Disk usage on the archive host grew by 2 percent and stays below the limit."
		s[2] = "The mail relay queue was empty at every check, deferred mail cleared in time."
		s[3] = "Next week the backup window moves to Tuesday night for the network change."
		s[4] = "Please send agenda items for the Thursday meeting before Wednesday noon."
		n = 0; i = 0
		while (n < want) { line = s[i % 5] " (" i ")"; print line; n += length(line) + 1; i++ }
	}' >"$1"
}

msg5k=$work/msg-5k.eml
msg50m=$work/msg-50m.eml
message "$msg5k" 4860
message "$msg50m" 52428800

home=$work/home
mkdir -p "$home"
mkmaildir "$work/sortmail-scored"
mkmaildir "$work/sortmail-noscore"
mkmaildir "$work/procmail"
mkmaildir "$work/maildrop"

cat >"$work/sortmail-scored.conf" <<EOF
maildir $work/sortmail-scored
syslog no
rule header Subject ^Weekly.report folder bench
EOF
cat >"$work/sortmail-noscore.conf" <<EOF
maildir $work/sortmail-noscore
syslog no
rule header Subject ^Weekly.report folder bench noscore
EOF
# The scored path with one spam rule instead of the stock set: what loading
# the scorer module costs, apart from compiling the rules.
mkmaildir "$work/sortmail-onerule"
cat >"$work/one-rule.cf" <<EOF
body SM_BENCH_ONE /\bviagra\b/i
score SM_BENCH_ONE 2.0
EOF
cat >"$work/sortmail-onerule.conf" <<EOF
maildir $work/sortmail-onerule
syslog no
rules $work/one-rule.cf
rule header Subject ^Weekly.report folder bench
EOF
cat >"$work/procmailrc" <<EOF
MAILDIR=$work/procmail
DEFAULT=$work/procmail/
:0
* ^Subject:.*Weekly report
.bench/
EOF
cat >"$work/mailfilter" <<EOF
DEFAULT="$work/maildrop"
if (/^Subject:.*Weekly report/)
	to "$work/maildrop/.bench/"
EOF
chmod 600 "$work/mailfilter"

# The environment Postfix local(8) gives a mailbox_command; every tool sees it.
HOME=$home USER=bench LOGNAME=bench SENDER=carol@example.org RECIPIENT=bench@localhost
SORTMAIL_SCORER=$scorer SORTMAIL_DATADIR=$top/score
export HOME USER LOGNAME SENDER RECIPIENT SORTMAIL_SCORER SORTMAIL_DATADIR
unset ORIGINAL_RECIPIENT EXTENSION

# The cases: NAME|MAILDIR|COMMAND (the command reads the message on stdin).
cases="\
/bin/true (process start, reads nothing)||/bin/true
procmail, one recipe|$work/procmail|procmail $work/procmailrc
maildrop, one if|$work/maildrop|maildrop $work/mailfilter
sortmail, scored rule|$work/sortmail-scored|$sortmail -c $work/sortmail-scored.conf
sortmail, scored rule, one spam rule instead of the stock ones|$work/sortmail-onerule|$sortmail -c $work/sortmail-onerule.conf
sortmail, noscore rule (cache-hit stand-in)|$work/sortmail-noscore|$sortmail -c $work/sortmail-noscore.conf"

clean_cmd() { [ -n "$1" ] && echo "rm -f $1/new/* $1/.bench/new/* $1/tmp/* $1/.bench/tmp/*" || echo ":"; }

# Check each configuration files the 5 KB message into .bench before timing it.
check_case() { # NAME MAILDIR COMMAND
	[ -n "$2" ] || return 0
	sh -c "$(clean_cmd "$2")"
	sh -c "$3 <$msg5k" || die "$1: exit $? on the check delivery"
	n=$(find "$2/.bench/new" -type f | wc -l)
	[ "$n" -eq 1 ] || die "$1: the check delivery left $n files in $2/.bench/new (want 1)"
}

# peak_rss COMMAND INPUT RUNS: the largest max-RSS (KB) of RUNS runs.
peak_rss() {
	i=0 max=0
	while [ "$i" -lt "$3" ]; do
		kb=$(/usr/bin/time -f '%M' sh -c "exec $1 <$2" 2>&1 >/dev/null | tail -n 1)
		[ "$kb" -gt "$max" ] && max=$kb
		i=$((i + 1))
	done
	echo "$max"
}

# Taken before we add our own load: a busy machine makes the figures worthless.
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
echo "measuring: $runs runs per case (BENCH_RUNS), work tree $work" >&2
results=$work/results
: >"$results"
printf '%s\n' "$cases" | while IFS='|' read -r name dir cmd; do
	check_case "$name" "$dir" "$cmd"
	echo "  $name" >&2
	hyperfine --style basic --warmup 20 --runs "$runs" --prepare "$(clean_cmd "$dir")" \
		--export-csv "$work/h.csv" "$cmd <$msg5k" >>"$work/hyperfine.log" 2>&1 \
		|| die "hyperfine failed on $name; see $work/hyperfine.log"
	sh -c "$(clean_cmd "$dir")"
	rss=$(peak_rss "$cmd" "$msg5k" 10)
	sh -c "$(clean_cmd "$dir")"
	# command,mean,stddev,median,user,system,min,max (counted from the end:
	# the command may hold commas)
	tail -n 1 "$work/h.csv" | awk -F, -v name="$name" -v rss="$rss" '{
		printf "%s|%s|%s|%s|%s\n", name, $(NF - 4), $(NF - 3) + $(NF - 2), $(NF - 5), rss }' \
		>>"$results"
done

# sortmail's dry run names the path it took, to show the scored case really scored.
via_scored=$("$sortmail" -n -c "$work/sortmail-scored.conf" <"$msg5k" || true)
via_onerule=$("$sortmail" -n -c "$work/sortmail-onerule.conf" <"$msg5k" || true)
via_noscore=$("$sortmail" -n -c "$work/sortmail-noscore.conf" <"$msg5k" || true)
via_big=$("$sortmail" -n -c "$work/sortmail-scored.conf" <"$msg50m" || true)

# ---- 50 MB ---------------------------------------------------------------
# big NAME MAILDIR COMMAND: three deliveries of the 50 MB message under GNU time;
# median wall and CPU, largest peak RSS.
big() {
	: >"$work/big.times"
	for i in 1 2 3; do
		sh -c "$(clean_cmd "$2")"
		/usr/bin/time -o "$work/big.one" -f '%e %U %S %M' sh -c "exec $3 <$msg50m" \
			|| die "$1: the 50 MB delivery failed"
		tail -n 1 "$work/big.one" >>"$work/big.times"
	done
	n=$(find "$2/.bench/new" "$2/new" -type f | wc -l)
	[ "$n" -eq 1 ] || die "$1: the 50 MB delivery left $n files (want 1)"
	sh -c "$(clean_cmd "$2")"
	wall=$(sort -n "$work/big.times" | sed -n 2p | cut -d' ' -f1)
	cpu=$(awk '{ print $2 + $3 }' "$work/big.times" | sort -n | sed -n 2p)
	rss=$(sort -n -k4 "$work/big.times" | tail -n 1 | cut -d' ' -f4)
	echo "$1|$wall|$cpu|$rss" >>"$work/big.results"
}
: >"$work/big.results"
echo "  50 MB message" >&2
big "procmail, one recipe" "$work/procmail" "procmail $work/procmailrc"
big "maildrop, one if" "$work/maildrop" "maildrop $work/mailfilter"
big "sortmail (above max-score-size: not scored)" "$work/sortmail-scored" \
	"$sortmail -c $work/sortmail-scored.conf"

# ---- report --------------------------------------------------------------
fs=$(df -PT "$work" 2>/dev/null | awk 'NR == 2 { print $2 }')
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores${cpu:+ ($cpu)}, $(uname -sr)," \
	"work tree on ${fs:-?}, load average before the run $load"
case $load in
0.[0-4]*) ;;
*) echo "WARNING: the machine was busy before the run (load average $load): unreliable timings" ;;
esac
echo "$(procmail -v 2>&1 | head -n 1 | cut -d' ' -f1-2); $(maildrop -v 2>&1 | head -n 1 | cut -d' ' -f1-2);" \
	"$("$sortmail" --version 2>/dev/null | head -n 1)"
echo "sortmail -n, scored rule:   $via_scored"
echo "sortmail -n, one spam rule: $via_onerule"
echo "sortmail -n, noscore rule:  $via_noscore"
echo "sortmail -n, 50 MB:         $via_big"
echo
echo "One delivery of a $(wc -c <"$msg5k") byte message into a Maildir folder, $runs runs each:"
echo
awk -F'|' '
	{ name[NR] = $1; wall[NR] = $2; cpu[NR] = $3; sd[NR] = $4; rss[NR] = $5
	  if ($1 ~ /^procmail/) base = $2 }
	END {
		print "| delivery | wall, median | ± stddev | CPU user+sys, mean | peak RSS | wall vs procmail |"
		print "|---|---:|---:|---:|---:|---:|"
		for (i = 1; i <= NR; i++)
			printf "| %s | %.2f ms | %.2f ms | %.2f ms | %.1f MB | %s |\n", name[i],
				wall[i] * 1000, sd[i] * 1000, cpu[i] * 1000, rss[i] / 1024,
				(base > 0 ? sprintf("%.2fx", wall[i] / base) : "-")
	}' "$results"
echo
echo "One delivery of a $(wc -c <"$msg50m") byte message (median of 3; peak RSS the largest):"
echo
awk -F'|' '
	BEGIN { print "| delivery | wall | CPU user+sys | peak RSS |"; print "|---|---:|---:|---:|" }
	{ printf "| %s | %.2f s | %.2f s | %.1f MB |\n", $1, $2, $3, $4 / 1024 }' "$work/big.results"
