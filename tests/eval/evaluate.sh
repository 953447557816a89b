#!/bin/sh
# evaluate.sh: scores a mail corpus through the real sortmail binary and
# prints, per corpus directory, how much of its spam is caught and how much
# of its ham is flagged.
#
# usage: evaluate.sh [-v] [-m] [DIR...]
#   DIR  a directory with spam/ and ham/ subdirectories of one message per
#        file (default: tests/data/corpus/tune and tests/data/corpus/eval)
#   -v   also list every miss and every false positive, with score and rules
#   -m   machine-readable: one line per DIR,
#        "DIR spam=N caught=N ham=N flagged=N", and nothing else
#
# Each message goes through `sortmail --dry-run` (scored, decided, nothing
# delivered, no cache) in an empty home, so the verdict is the stock rule
# set's alone at the default threshold. The build tree is found through the
# variables make check sets (see tests/local.mk): SORTMAIL, SORTMAIL_SCORER,
# SORTMAIL_DATADIR; without them, the current directory is taken as the
# build directory and the script's own tree as the source directory.
# Exit status: 0, or 2 when it cannot run.
set -u
LC_ALL=C
export LC_ALL

verbose=0
machine=0
while getopts vm opt; do
	case $opt in
	v) verbose=1 ;;
	m) machine=1 ;;
	*) echo "usage: $0 [-v] [-m] [DIR...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${top_builddir:-$(pwd)}
: "${SORTMAIL:=$builddir/lda/sortmail}"
: "${SORTMAIL_SCORER:=$builddir/score/.libs/sortmail-score.so}"
: "${SORTMAIL_DATADIR:=$srcdir/score}"
export SORTMAIL_SCORER SORTMAIL_DATADIR

for f in "$SORTMAIL" "$SORTMAIL_SCORER"; do
	if [ ! -f "$f" ]; then
		echo "evaluate.sh: $f not found (run from the build directory, or set SORTMAIL and SORTMAIL_SCORER)" >&2
		exit 2
	fi
done
[ $# -gt 0 ] || set -- "$srcdir/tests/data/corpus/tune" "$srcdir/tests/data/corpus/eval"

home=$(mktemp -d "${TMPDIR:-/tmp}/sortmail-eval.XXXXXX") || exit 2
trap 'rm -rf "$home"' EXIT INT TERM
mkdir -p "$home/.sortmail" "$home/Maildir/tmp" "$home/Maildir/new" "$home/Maildir/cur"
echo "syslog no" > "$home/.sortmail/config"

# verdicts DIR: one line per message file in DIR, "verdict score tests file".
verdicts() {
	for msg in "$1"/*; do
		[ -f "$msg" ] || continue
		line=$(env -i PATH=/usr/bin:/bin HOME="$home" \
			SORTMAIL_SCORER="$SORTMAIL_SCORER" SORTMAIL_DATADIR="$SORTMAIL_DATADIR" \
			${ASAN_OPTIONS+ASAN_OPTIONS="$ASAN_OPTIONS"} \
			${UBSAN_OPTIONS+UBSAN_OPTIONS="$UBSAN_OPTIONS"} \
			${LSAN_OPTIONS+LSAN_OPTIONS="$LSAN_OPTIONS"} \
			${LD_LIBRARY_PATH+LD_LIBRARY_PATH="$LD_LIBRARY_PATH"} \
			${LD_PRELOAD+LD_PRELOAD="$LD_PRELOAD"} \
			"$SORTMAIL" -n -r user@localhost < "$msg" 2>/dev/null)
		v=$(printf '%s\n' "$line" | sed -n 's/.*verdict=\([a-z]*\).*/\1/p')
		s=$(printf '%s\n' "$line" | sed -n 's/.*score=\(-\{0,1\}[0-9.]*\).*/\1/p')
		t=$(printf '%s\n' "$line" | sed -n 's/.*tests=\([^ ]*\).*/\1/p')
		echo "${v:-error} ${s:-?} ${t:-?} $(basename "$msg")"
	done
}

pct() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.1f%%", 100 * a / b }'
}

[ $machine -eq 1 ] || printf '%-28s %-22s %s\n' "corpus" "spam caught" "ham flagged"
for dir in "$@"; do
	spam_v=$(verdicts "$dir/spam")
	ham_v=$(verdicts "$dir/ham")
	ns=$(printf '%s\n' "$spam_v" | grep -c '^[a-z]')
	caught=$(printf '%s\n' "$spam_v" | grep -c '^spam ')
	nh=$(printf '%s\n' "$ham_v" | grep -c '^[a-z]')
	flagged=$(printf '%s\n' "$ham_v" | grep -c '^spam ')
	errors=$(printf '%s\n%s\n' "$spam_v" "$ham_v" | grep -c '^error ')
	name=$(basename "$dir")
	if [ $machine -eq 1 ]; then
		echo "$name spam=$ns caught=$caught ham=$nh flagged=$flagged errors=$errors"
		continue
	fi
	printf '%-28s %-22s %s\n' "$name" "$caught/$ns ($(pct "$caught" "$ns"))" \
		"$flagged/$nh ($(pct "$flagged" "$nh"))"
	[ "$errors" -eq 0 ] || echo "  $errors message(s) gave no verdict"
	if [ $verbose -eq 1 ]; then
		printf '%s\n' "$spam_v" | grep -v '^spam ' | sed 's/^[a-z]* /  missed spam: /'
		printf '%s\n' "$ham_v" | grep -v '^ham ' | sed 's/^[a-z]* /  flagged ham: /'
	fi
done
exit 0
