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
# Nothing is deleted while timing: on ext4 without a journal (as here), creating
# a file stays slow for minutes after many files were deleted nearby (the inode
# allocator skips recently freed inodes one by one), so a benchmark that cleans
# up between runs measures its own clean-up. Delivered mail stays; the previous
# run's tree is moved aside now and removed at the very end.
work=$build/bench-out
rm -rf "$work.old"
[ -d "$work" ] && mv "$work" "$work.old"
mkdir -p "$work"
# procmail run by root creates /var/mail/root even when the rc file files
# everything elsewhere; remove it at the end if we made it and it is empty.
spool=/var/mail/$(id -un)
spool_existed=no
[ -e "$spool" ] && spool_existed=yes

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
cur=$work/cur.eml
message "$msg5k" 4800
message "$msg50m" 52428800

# fresh.sh same|newid SRC: writes $cur, SRC with a new Delivered-To line, as
# each copy of a burst arrives (so sortmail's duplicates journal files every
# run); with newid also a new Message-ID, so that sortmail's verdict cache
# misses and the message is scored. Runs before each timed run, untimed.
cat >"$work/fresh.sh" <<EOF
n=\$(date +%s%N)
{ printf 'Delivered-To: bench+%s@localhost\\n' "\$n"
  if [ "\$1" = newid ]; then
	sed "s/^Message-ID: .*/Message-ID: <run-\$n@example.org>/" "\$2"
  else
	cat "\$2"
  fi; } >$cur
EOF

home=$work/home
mkdir -p "$home"
for m in procmail maildrop sortmail-miss sortmail-onerule sortmail-hit sortmail-noscore; do
	mkmaildir "$work/$m"
done

# sortmail-conf NAME [EXTRA LINE]: a config filing the message into .bench.
sortmail_conf() {
	{
		echo "maildir $work/sortmail-$1"
		echo "syslog no"
		[ $# -gt 2 ] && echo "$3"
		echo "rule header Subject ^Weekly.report folder bench${2:+ $2}"
	} >"$work/sortmail-$1.conf"
}
sortmail_conf miss ""
sortmail_conf hit ""
sortmail_conf noscore noscore
# One spam rule instead of the stock set: what loading the scorer module
# costs, apart from compiling the rules.
printf 'body SM_BENCH_ONE /\\bviagra\\b/i\nscore SM_BENCH_ONE 2.0\n' >"$work/one-rule.cf"
sortmail_conf onerule "" "rules $work/one-rule.cf"

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

# The cases: NAME|MAILDIR|same or newid (see fresh.sh)|COMMAND reading stdin.
cases="\
/bin/true (process start, reads nothing)||same|/bin/true
procmail, one recipe|$work/procmail|same|procmail $work/procmailrc
maildrop, one if|$work/maildrop|same|maildrop $work/mailfilter
sortmail, cache miss: scored with the stock rules|$work/sortmail-miss|newid|$sortmail -c $work/sortmail-miss.conf
sortmail, cache miss: scored with one rule|$work/sortmail-onerule|newid|$sortmail -c $work/sortmail-onerule.conf
sortmail, cache hit (another copy of a scored message)|$work/sortmail-hit|same|$sortmail -c $work/sortmail-hit.conf
sortmail, noscore rule (never scored)|$work/sortmail-noscore|same|$sortmail -c $work/sortmail-noscore.conf"

# prepare MODE SRC: the untimed step before each run (rewrites $cur in place).
prepare() { echo "sh $work/fresh.sh $1 $2"; }

# filed MAILDIR: how many messages the folder .bench holds.
filed() { find "$1/.bench/new" -type f | wc -l; }

# check_case NAME MAILDIR MODE COMMAND: one delivery must file one message.
check_case() {
	[ -n "$2" ] || return 0
	sh -c "$(prepare "$3" "$msg5k")"
	before=$(filed "$2")
	sh -c "$4 <$cur" || die "$1: exit $? on the check delivery"
	n=$(($(filed "$2") - before))
	[ "$n" -eq 1 ] || die "$1: the check delivery filed $n messages in $2/.bench (want 1)"
}

# peak_rss PREPARE COMMAND RUNS: the largest max-RSS (KB) of RUNS runs.
peak_rss() {
	i=0 max=0
	while [ "$i" -lt "$3" ]; do
		sh -c "$1"
		kb=$(/usr/bin/time -f '%M' sh -c "exec $2 <$cur" 2>&1 >/dev/null | tail -n 1)
		[ "$kb" -gt "$max" ] && max=$kb
		i=$((i + 1))
	done
	echo "$max"
}

sh "$work/fresh.sh" same "$msg5k"
size5k=$(wc -c <"$cur")

# via NAME PREPARE COMMAND: one more delivery with -v, whose log line says
# which path the timed runs took (via=scored, cached or none).
via() {
	sh -c "$2"
	sh -c "$3 -v <$cur" 2>&1 >/dev/null | tail -n 1 | awk -v name="$1" '{
		out = ""
		for (i = 1; i <= NF; i++)
			if ($i ~ /^(delivered|duplicate|discarded|deferred)$/ || $i ~ /^(verdict|score|via|folder)=/)
				out = out (out == "" ? "" : " ") $i
		printf "| %s | `%s` |\n", name, out
	}' >>"$vias"
}

# Taken before we add our own load: a busy machine makes the figures worthless.
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
echo "measuring: $runs runs per case (BENCH_RUNS), work tree $work" >&2
results=$work/results
vias=$work/vias
: >"$results"
: >"$vias"
printf '%s\n' "$cases" | while IFS='|' read -r name dir mode cmd; do
	echo "  $name" >&2
	check_case "$name" "$dir" "$mode" "$cmd"
	prep=$(prepare "$mode" "$msg5k")
	hyperfine --style basic --warmup 20 --runs "$runs" --prepare "$prep" \
		--export-csv "$work/h.csv" "$cmd <$cur" >>"$work/hyperfine.log" 2>&1 \
		|| die "hyperfine failed on $name; see $work/hyperfine.log"
	rss=$(peak_rss "$prep" "$cmd" 10)
	case $cmd in
	"$sortmail"*) via "$name" "$prep" "$cmd" ;;
	esac
	# command,mean,stddev,median,user,system,min,max (counted from the end:
	# the command may hold commas)
	tail -n 1 "$work/h.csv" | awk -F, -v name="$name" -v rss="$rss" '{
		printf "%s|%s|%s|%s|%s\n", name, $(NF - 4), $(NF - 3) + $(NF - 2), $(NF - 5), rss }' \
		>>"$results"
done

# ---- 50 MB ---------------------------------------------------------------
# big NAME MAILDIR COMMAND: three deliveries of the 50 MB message under GNU time;
# median wall and CPU, largest peak RSS.
big() {
	: >"$work/big.times"
	for i in 1 2 3; do
		sh -c "$(prepare same "$msg50m")"
		before=$(filed "$2")
		/usr/bin/time -o "$work/big.one" -f '%e %U %S %M' sh -c "exec $3 <$cur" \
			|| die "$1: the 50 MB delivery failed"
		tail -n 1 "$work/big.one" >>"$work/big.times"
		n=$(($(filed "$2") - before))
		[ "$n" -eq 1 ] || die "$1: the 50 MB delivery filed $n messages (want 1)"
	done
	wall=$(sort -n "$work/big.times" | sed -n 2p | cut -d' ' -f1)
	cpu=$(awk '{ print $2 + $3 }' "$work/big.times" | sort -n | sed -n 2p)
	rss=$(sort -n -k4 "$work/big.times" | tail -n 1 | cut -d' ' -f4)
	echo "$1|$wall|$cpu|$rss" >>"$work/big.results"
}
: >"$work/big.results"
echo "  50 MB message" >&2
big "procmail, one recipe" "$work/procmail" "procmail $work/procmailrc"
big "maildrop, one if" "$work/maildrop" "maildrop $work/mailfilter"
big "sortmail (above max-score-size: not scored)" "$work/sortmail-miss" \
	"$sortmail -c $work/sortmail-miss.conf"
via "sortmail, 50 MB" "$(prepare same "$msg50m")" \
	"$sortmail -c $work/sortmail-miss.conf"
rm -f "$cur"
rm -rf "$work.old"
[ "$spool_existed" = no ] && [ -f "$spool" ] && [ ! -s "$spool" ] && rm -f "$spool"

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
echo
echo "One delivery of a $size5k byte message into a Maildir folder, $runs runs each:"
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
echo
echo "What sortmail's log line (-v) says of one more delivery of each sortmail case:"
echo
echo "| case | sortmail -v |"
echo "|---|---|"
cat "$vias"
