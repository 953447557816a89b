#!/bin/sh
# run.sh [SECONDS] [TARGET...]: fuzz each TARGET (default: all of them) for
# SECONDS (default 300) with libFuzzer.
#
# Configures and builds a clang build with --enable-fuzzing in build-fuzz/
# (or $FUZZ_BUILD) first. Each target starts from its committed corpus,
# tests/data/fuzz/TARGET/ (read only), plus what earlier runs found
# (BUILD/tests/fuzz/corpus/TARGET/, where new inputs go), with the words of
# tests/fuzz/TARGET.dict when there is one. Findings (crash-*,
# leak-*, timeout-*, oom-*) land in BUILD/tests/fuzz/findings/TARGET/; a fixed
# one is copied into tests/data/fuzz/TARGET/ by hand, where make check
# replays it from then on. Prints one line of figures per target; exits 1
# when any target found something.
#   tests/fuzz/run.sh            every target, 5 minutes each
#   tests/fuzz/run.sh 25         every target, 25 s each (CI)
#   tests/fuzz/run.sh 600 config one target, 10 minutes
# A finding is replayed with: BUILD/tests/fuzz/fuzz-TARGET FILE
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
secs=300
if [ $# -gt 0 ]; then
	secs=$1
	shift
fi
case $secs in
''|*[!0-9]*) echo "usage: tests/fuzz/run.sh [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac
targets=${*:-message recipient config template mbox}
build=${FUZZ_BUILD:-$top/build-fuzz}

# Longest input per target: a message big enough for MIME structure, a
# config or template of a few hundred lines; longer inputs only run slower.
max_len() {
	case $1 in
	message|mbox) echo 16384 ;;
	recipient) echo 4096 ;;
	*) echo 8192 ;;
	esac
}

for t in $targets; do
	[ -d "$top/tests/data/fuzz/$t" ] || { echo "run.sh: no target '$t'" >&2; exit 2; }
done

cd "$top"
[ -x configure ] && [ configure -nt configure.ac ] && [ configure -nt Makefile.am ] ||
	autoreconf -fi >/dev/null
mkdir -p "$build"
# The targets and the two modules they load, nothing else.
programs=
for t in $targets; do programs="$programs tests/fuzz/fuzz-$t"; done
(cd "$build" && { [ -f Makefile ] && [ Makefile -nt "$top/configure" ] ||
	CC=clang "$top/configure" -q --enable-fuzzing; } &&
	make -j2 $programs score/sortmail-score.la templates/sortmail-reply.la >/dev/null 2>&1) ||
	{ echo "run.sh: the clang build in $build failed (make -C $build to see why)" >&2; exit 1; }

export G_SLICE=always-malloc
export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for t in $targets; do
	corpus=$build/tests/fuzz/corpus/$t
	findings=$build/tests/fuzz/findings/$t
	log=$build/tests/fuzz/$t.log
	mkdir -p "$corpus" "$findings"
	before=$(ls "$findings" | wc -l)
	# The syntax of the input, where it has words worth knowing.
	dict=
	[ -f "$top/tests/fuzz/$t.dict" ] && dict=-dict=$top/tests/fuzz/$t.dict
	rc=0
	"$build/tests/fuzz/fuzz-$t" -max_total_time="$secs" -max_len="$(max_len "$t")" \
		-rss_limit_mb=2048 -timeout=10 -print_final_stats=1 $dict \
		-artifact_prefix="$findings/" "$corpus" "$top/tests/data/fuzz/$t" \
		> "$log" 2>&1 || rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n 1)
	found=$(($(ls "$findings" | wc -l) - before))
	echo "fuzz-$t: ${runs:-?} runs, ${speed:-?} exec/s, ${cov:-cov: ?}," \
		"corpus +$(ls "$corpus" | wc -l), $found findings in $secs s"
	if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
		status=1
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*invariant failed|.*runtime error)' "$log" | head -n 5 || true
		echo "fuzz-$t: see $log; findings in $findings"
	fi
done
exit $status
