#!/bin/sh
# bench-replay.sh [BUILD_DIR]: throughput of `sortmail replay`. A benchmark,
# never a test: no pass/fail, not part of `make check` (see tests/bench/README).
#
# Builds an mbox of BENCH_MESSAGES (default 10,000) ~3 KB messages written as
# MIRV bursts: every distinct message (BENCH_MESSAGES/10 of them) appears 10
# times, each copy with its own Delivered-To, as a burst to 10 local addresses
# leaves them in a saved mailbox. Then replays it with the stock rules:
#   1 dry run, empty cache      every message scored (a dry run stores nothing)
#   2 real, empty cache         one copy of each scored, 9 of 10 cache hits;
#                               filed into a Maildir, journal written
#   3 dry run, warm cache       every verdict from the cache (read-only)
#   4 real, warm cache          every verdict from the cache, filed into a fresh
#                               Maildir (--no-duplicates-check: run 2 filed them)
#   5, 6 as 3 and 4 with --jobs 2; 7, 8 as 4 with --jobs 4 and 8 (filing waits on
#   disk syncs: more workers than cores can still help)
#   9 as 4 with --sync=each: every message synced on its own, as a delivery
#   does (1-8 use the default --sync=batch)
# BENCH_DIR (default BUILD_DIR) holds the work tree: /dev/shm (tmpfs) shows
# what the program costs without the disk's sync latency.
# Prints a markdown table: wall seconds, messages/s, peak RSS (GNU time: of
# the parent process; with --jobs each worker is a fork of it, about as big).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
n=${BENCH_MESSAGES:-10000}
sortmail=$build/lda/sortmail

die() { echo "bench-replay.sh: $*" >&2; exit 1; }
[ -x "$sortmail" ] || die "$sortmail not built (run make in $build)"
[ -x /usr/bin/time ] || die "needs GNU time (apt-get install time)"

work=${BENCH_DIR:-$build}/bench-replay
rm -rf "$work"
mkdir -p "$work/home/.sortmail"
export SORTMAIL_SCORER="$build/score/.libs/sortmail-score.so"
export SORTMAIL_DATADIR="$top/score"
export HOME="$work/home"

# ---- the mbox --------------------------------------------------------------
awk -v n="$n" 'BEGIN {
	s[0] = "The build farm ran 412 jobs this week; three failed on the arm64 runners."
	s[1] = "Disk usage on the archive host grew by 2 percent and stays below the limit."
	s[2] = "The mail relay queue was empty at every check, deferred mail cleared in time."
	s[3] = "Next week the backup window moves to Tuesday night for the network change."
	s[4] = "Please send agenda items for the Thursday meeting before Wednesday noon."
	for (i = 0; i < n; i++) {
		m = int(i / 10)
		printf "From sender%d@example.org Mon Mar 11 08:00:00 2024\n", m
		printf "Return-Path: <sender%d@example.org>\n", m
		printf "Delivered-To: user%d@example.com\n", i % 10
		printf "From: Sender %d <sender%d@example.org>\n", m, m
		printf "To: team@example.com\n"
		printf "Subject: Weekly report %d\n", m
		printf "Date: Mon, 11 Mar 2024 08:00:00 +0100\n"
		printf "Message-ID: <report-%d@example.org>\n", m
		printf "MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n"
		for (j = 0; j < 40; j++)
			printf "%s (%d.%d)\n", s[(j + m) % 5], m, j
		printf "\n"
	}
}' > "$work/bench.mbox"
size=$(wc -c < "$work/bench.mbox")

config() {
	cat > "$HOME/.sortmail/config" <<-EOF
	syslog no
	maildir $work/$1
	EOF
}

# run LABEL MAILDIR ARGS...: one timed replay; prints a table row.
run() {
	label=$1 dir=$2
	shift 2
	config "$dir"
	mkdir -p "$work/$dir"
	/usr/bin/time -f '%e %M' -o "$work/time" "$sortmail" replay -q "$@" "$work/bench.mbox" \
		> "$work/out" 2> "$work/err" || { cat "$work/err" >&2; die "$label failed"; }
	read -r secs rss < "$work/time"
	rate=$(awk -v n="$n" -v s="$secs" 'BEGIN { r = 0; if (s > 0) r = n / s; printf "%.0f", r }')
	echo "| $label | $secs | $rate | $((rss / 1024)) |"
}

echo "sortmail replay, $n messages ($((size / 1024)) KB mbox, $((n / 10)) distinct, 10 copies each), stock rules"
echo "$(uname -srm), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| case | wall s | messages/s | peak RSS MB |"
echo "|---|---|---|---|"
run "1 dry run, empty cache (all scored)" md1 --dry-run
run "2 real, empty cache (1 in 10 scored)" md2
run "3 dry run, warm cache (all cached)" md3 --dry-run
run "4 real, warm cache (all cached, filed)" md4 --no-duplicates-check
run "5 dry run, warm cache, --jobs 2" md5 --dry-run --jobs 2
run "6 real, warm cache, filed, --jobs 2" md6 --no-duplicates-check --jobs 2
run "7 real, warm cache, filed, --jobs 4" md7 --no-duplicates-check --jobs 4
run "8 real, warm cache, filed, --jobs 8" md8 --no-duplicates-check --jobs 8
run "9 real, warm cache, filed, --sync=each" md9 --no-duplicates-check --sync=each
filed=$(find "$work/md4" -path '*/new/*' -type f | wc -l)
echo
echo "(case 4 filed $filed messages)"
rm -rf "$work"
