#!/bin/sh
# soak.sh: many deliveries in a row, with `sortmail cache prune` in between
# and a short cache-ttl (1 s) so that pruning has everything to do. Each
# message goes to 4 recipients in a row (scored once, then cache hits); every
# fifth delivery (recipient ending in 0 or 5: all four roles in turn) runs a
# pipe command that lists its open files (/proc/PPID/fd) and those it
# inherited; the others are filed by their verdict. What must hold (TAP): every delivery exits 0 and its
# message is stored once, byte-identical; the peak RSS of a delivery (from
# /usr/bin/time) does not grow from the first thousand to the last (same
# sources in both); nor do its open files; the pipe command inherits nothing
# beyond stdin/out/err; each prune removes every stale record and the cache
# file does not grow from prune to prune. Figures printed: RSS, fd counts,
# cache size over time, throughput.
#
#   make check TESTS=tests/reliability/soak.sh    # reduced form (CI): 600
#                                                 # (300 under ASan)
#   tests/reliability/soak.sh BUILD               # full form: 20,000
# Sizes: SOAK_N, SOAK_PRUNE_EVERY.
if [ -n "$1" ]; then
	top_builddir=$(cd "$1" && pwd) || exit 1
	SORTMAIL=$top_builddir/lda/sortmail
	SORTMAIL_SCORER=$top_builddir/score/.libs/sortmail-score.so
	: "${SORTMAIL_DATADIR:=$(cd "$(dirname "$0")/../../score" && pwd)}"
	export SORTMAIL_SCORER SORTMAIL_DATADIR
	full=1
fi
here=$(cd "$(dirname "$0")" && pwd)
# A previous run's thousands of files: moved aside now, deleted only after
# the timed part (mass deletion slows file creation on some file systems).
old=
if [ -d "${top_builddir:-.}/tests/tmp/soak" ]; then
	old=${top_builddir:-.}/tests/tmp/soak.old.$$
	mv "${top_builddir:-.}/tests/tmp/soak" "$old"
fi
. "$here/../integration/lib.sh"

# Under AddressSanitizer the RSS says nothing about sortmail, and a delivery
# is several times slower: a smaller CI run.
# Under valgrind (./dev.sh valgrind) the RSS is valgrind's, and a delivery is
# 30 times slower: 60 deliveries there.
SOAK_CHECK_RSS=1
sanitized && SOAK_CHECK_RSS=0
wrapped && SOAK_CHECK_RSS=0
export SOAK_CHECK_RSS
if [ -n "${full:-}" ]; then
	: "${SOAK_N:=20000}" "${SOAK_PRUNE_EVERY:=1000}"
elif [ "$SLOWDOWN" -gt 1 ]; then
	: "${SOAK_N:=60}" "${SOAK_PRUNE_EVERY:=20}"
elif [ "$SOAK_CHECK_RSS" = 0 ]; then
	: "${SOAK_N:=300}" "${SOAK_PRUNE_EVERY:=75}"
else
	: "${SOAK_N:=600}" "${SOAK_PRUNE_EVERY:=150}"
fi
command -v python3 > /dev/null || skip_all "no python3 (the driver)"
[ -x /usr/bin/time ] || skip_all "no /usr/bin/time (Debian package time)"
[ -d /proc/self/fd ] || skip_all "no /proc"
[ -n "${SORTMAIL_SCORER:-}" ] && [ -f "$SORTMAIL_SCORER" ] || skip_all "no scorer module"

new_home "$T/home"
write_config <<CONF
unplus ^user\\+for-example\\+(.+)@ \$1@example.com
personal fred@example.com
log-file $HOME/log
cache-ttl 1s
rule to [05]@example\\.com\$ even-spam pipe "cat > /dev/null; echo == \$ORIGINAL_RECIPIENT >> $T/fds; exec ls /proc/\$PPID/fd /proc/self/fd >> $T/fds" shell folder soak
CONF

python3 -B "$here/drive.py" soak "$SORTMAIL" "$HOME" "$top_srcdir" "$SOAK_N" \
	"$SOAK_PRUNE_EVERY" 4 1 "$T/fds" "$T/rss" > "$T/result" \
	|| bail "the driver failed (see above)"
[ -z "$old" ] || { chmod -R u+rwX "$old"; rm -rf "$old"; }

sed -n 's/^figure /  /p' "$T/result" | while IFS= read -r l; do diag "$l"; done
# report DESCRIPTION ERE: one test, passing when no failure line matches.
report() {
	if grep -E "^fail ($2)" "$T/result" > "$T/f"; then
		not_ok "$1"
		sed 's/^fail /  /' "$T/f" | head -n 10 | while IFS= read -r l; do diag "$l"; done
	else
		ok "$1"
	fi
	cat "$T/f" >> "$T/reported"
}
: > "$T/reported"
h=$((SOAK_N / 2)); [ "$h" -le 1000 ] || h=1000
report "$SOAK_N deliveries in a row: every one exits 0" 'delivery [0-9]+ exited'
report "every message stored once, byte-identical" \
	'lost:|filed [0-9]+ times|not byte-identical|stored file for no'
if [ "$SOAK_CHECK_RSS" = 1 ]; then
	report "peak RSS of a delivery: no growth (first vs last $h)" 'peak RSS|/usr/bin/time'
else
	skip "peak RSS of a delivery: no growth" "sanitized build, or under valgrind (the RSS is valgrind's)"
fi
report "open files of a delivery: no growth (first vs last $h); none inherited by its pipe" \
	'open files|the pipe command|the fd probe'
report "every prune removes all stale records" 'prune after|after prune|cache prune|sortmail cache'
report "cache file size bounded across prunes" 'cache file grew'
check "no other failure" sh -c '! grep "^fail " "$1" | grep -v -x -F -f "$2" -q' sh "$T/result" "$T/reported"
done_testing
