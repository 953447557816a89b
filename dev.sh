#!/bin/sh
# dev.sh: the two set-up commands of the README, for a fresh Debian 12 machine.
#   ./dev.sh demo   install build dependencies, build, run the MIRV demo
#   ./dev.sh test   install build and test dependencies, build with -Werror, run
#                   every test, then run the suite again under ASan + UBSan
#   ./dev.sh valgrind  the suite with every sortmail run and unit test under
#                   valgrind memcheck (tests/valgrind/); long, not part of test
# Must run as root to install packages (or with the packages already present).
set -eu

top=$(cd "$(dirname "$0")" && pwd)
cd "$top"

BUILD_DEPS="build-essential autoconf automake libtool pkg-config \
libgmime-3.0-dev libglib2.0-dev libpcre2-dev libgdbm-dev libc-ares-dev"
TEST_DEPS="procps util-linux time postfix swaks spamassassin spamd spamc dnsmasq-base python3 valgrind"
# tests/fuzz/run.sh: clang with libFuzzer (libclang_rt.fuzzer-x86_64.a).
TEST_DEPS="$TEST_DEPS clang libclang-rt-14-dev"

need_install() {
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || return 0
	done
	return 1
}

install_deps() {
	if need_install "$@"; then
		if [ "$(id -u)" -ne 0 ]; then
			echo "dev.sh: missing packages; run as root or: apt-get install $*" >&2
			exit 1
		fi
		export DEBIAN_FRONTEND=noninteractive
		# The tests run private Postfix instances; the system one stays unconfigured.
		echo 'postfix postfix/main_mailer_type select No configuration' \
			| debconf-set-selections
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "$@" >/dev/null
	fi
}

# build DIR [configure args...]
build() {
	dir=$1; shift
	[ -x configure ] && [ configure -nt configure.ac ] && [ configure -nt Makefile.am ] \
		|| autoreconf -fi >/dev/null
	mkdir -p "$dir"
	(cd "$dir" && { [ -f Makefile ] && [ Makefile -nt "$top/configure" ] \
		|| ../configure -q --enable-werror "$@"; } && make -j2 >/dev/null)
}

case "${1:-}" in
demo)
	install_deps $BUILD_DEPS
	build build
	exec sh "$top/demo/run-demo.sh" "$top/build"
	;;
test)
	install_deps $BUILD_DEPS $TEST_DEPS
	build build
	echo "== make check (-Wall -Wextra -Werror)"
	(cd build && make check -j2) || { cat build/test-suite.log 2>/dev/null | tail -80; exit 1; }
	echo "== make check under AddressSanitizer + UndefinedBehaviorSanitizer"
	san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
	build build-asan CC="gcc $san" CFLAGS="-O1 -g"
	# LeakSanitizer is on (dnsbl.sh alone turns it off: see there).
	(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 make check -j2) \
		|| { cat build-asan/test-suite.log 2>/dev/null | tail -80; exit 1; }
	# libFuzzer, each target briefly from its committed corpus (a clang
	# build in build-fuzz/); any crash, leak or timeout fails.
	echo "== fuzzing, 25 s per target (tests/fuzz/run.sh)"
	sh tests/fuzz/run.sh 25
	# One closing line for CI: the counts of both runs together.
	pass=0; fail=0; skip=0
	for log in build/test-suite.log build-asan/test-suite.log; do
		p=$(sed -n 's/^# PASS: *//p' "$log"); f=$(sed -n 's/^# FAIL: *//p' "$log")
		e=$(sed -n 's/^# ERROR: *//p' "$log"); s=$(sed -n 's/^# SKIP: *//p' "$log")
		pass=$((pass + p)); fail=$((fail + f + e)); skip=$((skip + s))
	done
	echo "tests: $pass passed, $fail failed, $skip skipped"
	;;
valgrind)
	# Every sortmail the shell tests run goes through a memcheck wrapper
	# (SORTMAIL_UNDER_TEST), every unit test through memcheck.sh (LOG_COMPILER).
	# faults-inject.sh is left out: its shim counts the calls of the sortmail
	# executable, which under valgrind is valgrind's. A test may also fail on
	# time alone (valgrind is 20-50 times slower); the verdict that counts is
	# the memcheck logs: any non-empty one is an error or a definite leak.
	install_deps $BUILD_DEPS $TEST_DEPS
	build build
	vg=$top/build/valgrind
	rm -rf "$vg"
	mkdir -p "$vg/logs"
	chmod 1777 "$vg/logs"  # tests also run sortmail as an unprivileged user
	printf '#!/bin/sh\nexec %s %s %s "$@"\n' "$top/tests/valgrind/memcheck.sh" "$vg/logs" \
		"$top/build/lda/sortmail" > "$vg/sortmail"
	chmod 0755 "$vg/sortmail"
	tests=$(cd build && printf 'print-tests:\n\t@echo $(TESTS)\n' \
		| make -s -f Makefile -f - print-tests)
	tests=$(echo "$tests" | tr ' ' '\n' | grep -v -x 'tests/integration/faults-inject.sh' | tr '\n' ' ')
	start=$(date +%s)
	status=0
	# SORTMAIL_TEST_SLOWDOWN: the tests' time bounds (hang guards) are
	# multiplied by it, and the RSS bounds skipped (tests/integration/lib.sh).
	(cd build && SORTMAIL_TEST_SLOWDOWN=30 make check -j2 TESTS="$tests" SORTMAIL_UNDER_TEST="$vg/sortmail" \
		LOG_COMPILER="$top/tests/valgrind/memcheck.sh" LOG_FLAGS="$vg/logs") \
		> "$vg/check.log" 2>&1 || status=$?
	# "==PID==" lines are memcheck's findings; "--PID--" ones are valgrind's
	# own notes (such as a syscall it does not know, which the caller sees
	# fail with ENOSYS).
	dirty=$(grep -l '^==[0-9]*== ' "$vg"/logs/* 2> /dev/null | wc -l)
	runs=$(find "$vg/logs" -type f | wc -l)
	grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR):' build/test-suite.log
	# runs as the tests' unprivileged user (faults, cache, root-owner,
	# postfix...) write their logs too: the directory is 1777
	others=$(find "$vg/logs" -type f ! -user "$(id -u)" | wc -l)
	echo "valgrind: $runs runs under memcheck ($others as another user), $dirty with errors or definite leaks, $(($(date +%s) - start)) s (make check status $status)"
	[ "$dirty" -eq 0 ] || { grep -l '^==[0-9]*== ' "$vg"/logs/* | head -n 5 | xargs head -n 40; exit 1; }
	# every test must pass too (time bounds scaled, RSS bounds skipped)
	[ "$status" -eq 0 ] || { grep -E '^(FAIL|ERROR):' build/test-suite.log; exit 1; }
	;;
*)
	echo "usage: ./dev.sh demo|test|valgrind" >&2
	exit 2
	;;
esac
