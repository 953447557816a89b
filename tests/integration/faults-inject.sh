#!/bin/sh
# faults-inject: syscall fault injection through the real binary. An
# LD_PRELOAD shim (tests/fault/inject.c) makes the Nth write, writev, fsync,
# fdatasync, ftruncate, close, open, mkdir, rename or link under a directory
# fail with ENOSPC, EIO or EDQUOT (all three where a kind has at most 4
# calls, cycled over N otherwise); for write and writev also as a short write
# followed by a failing one (a disk filling up). A clean delivery first
# counts how many calls of each kind it makes; then every N of every kind is
# tried. Invariant each time: exit 0 with the message stored exactly once and
# intact, or exit 75 with nothing new in new/ or cur/ (Maildir) and the mbox
# byte-identical to before. Faults in the verdict cache and the log file
# (advisory) must not fail the delivery at all: exit 0, stored once.
# One TAP line per pass and call kind; the last line counts the injection
# points exercised.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

SHIM_BUILT=$top_builddir/tests/fault/.libs/libsminject.so
if sanitized; then
	skip_all "built with AddressSanitizer: an LD_PRELOAD shim would load before the ASan runtime (the plain build runs this test)"
fi
[ -f "$SHIM_BUILT" ] || skip_all "no fault shim at $SHIM_BUILT (make check builds it)"

# The shim reads its settings from "<its path>.conf": deliver keeps
# LD_PRELOAD but scrubs the rest of the environment.
mkdir -p "$T/shim"
SHIM=$T/shim/libsminject.so
cp "$SHIM_BUILT" "$SHIM" || bail "cannot copy the shim"
SORTMAIL_EXE=$(readlink -f "$SORTMAIL")
MSG=$DATA/plain.eml
OTHER=$DATA/ham.eml
ERRNOS="ENOSPC EIO EDQUOT"
KINDS="open mkdir write writev fsync fdatasync ftruncate close rename link"
points=0

# faulty_deliver PREFIX [CALL N ERRNO [short]]: one delivery of $MSG with
# the shim; the call counts land in $T/counts. "short": call N of write or
# writev writes half its bytes, call N+1 fails with ERRNO (a disk filling up).
faulty_deliver() {
	{
		echo "SM_FAULT_PREFIX=$1"
		echo "SM_FAULT_COUNT=$T/counts"
		echo "SM_FAULT_EXE=$SORTMAIL_EXE"
		if [ $# -gt 1 ]; then
			echo "SM_FAULT_CALL=$2"
			echo "SM_FAULT_N=$3"
			echo "SM_FAULT_ERRNO=$4"
			[ "${5-}" = short ] && echo "SM_FAULT_SHORT=1"
		fi
	} > "$SHIM.conf"
	rm -f "$T/counts"
	_saved_preload=${LD_PRELOAD-}
	LD_PRELOAD=$SHIM${_saved_preload:+:$_saved_preload}
	deliver < "$MSG"
	if [ -n "$_saved_preload" ]; then LD_PRELOAD=$_saved_preload; else unset LD_PRELOAD; fi
	rm -f "$SHIM.conf"
}

count_of() {
	awk -v k="$1" '$1 == k { print $2 }' "$T/counts" 2>/dev/null
}

# ---- a pass: home set-up, baseline, invariant ------------------------------
# Each pass defines setup_home (fresh state with one message already stored)
# and check_outcome (the invariant, given $rc; prints why on failure).

# maildir_list: the files of new/ and cur/ (names only).
maildir_list() {
	(cd "$ROOT" && find new cur -type f) | sort
}

maildir_setup() {
	rm -rf "$T/h"
	new_home "$T/h"
	printf '%s\n' "$PASS_CONFIG" | write_config
	deliver < "$OTHER"
	[ "$rc" -eq 0 ] || bail "$PASS: baseline delivery failed ($rc)"
	maildir_list > "$T/before"
}

maildir_check() {
	maildir_list > "$T/after"
	_new=$(comm -13 "$T/before" "$T/after")
	_gone=$(comm -23 "$T/before" "$T/after")
	if [ -n "$_gone" ]; then
		echo "a stored message vanished: $_gone"
		return 1
	fi
	if [ "$rc" -eq 75 ] && [ "$EXPECT" = either ]; then
		[ -z "$_new" ] && return 0
		echo "exit 75 but new mail: $_new"
		return 1
	fi
	if [ "$rc" -ne 0 ]; then
		echo "exit $rc: $(head -c 200 "$T/err")"
		return 1
	fi
	if [ "$(printf '%s\n' "$_new" | grep -c .)" -ne 1 ]; then
		echo "exit 0 but $(printf '%s\n' "$_new" | grep -c .) new files"
		return 1
	fi
	same_as_input "$ROOT/$_new" "$MSG" > "$T/why" || { cat "$T/why"; return 1; }
	return 0
}

mbox_setup() {
	rm -rf "$T/h"
	new_home "$T/h"
	mkdir -m 0700 "$HOME/mail"
	printf '%s\n' "mbox $HOME/mail" "$PASS_CONFIG" | write_config
	deliver < "$OTHER"
	[ "$rc" -eq 0 ] || bail "$PASS: baseline delivery failed ($rc)"
	BOX=$(find "$HOME/mail" -type f ! -name '*.lock')
	[ -f "$BOX" ] || bail "$PASS: no mbox after the baseline delivery"
	cp "$BOX" "$T/box-before"
}

# The mbox after a successful delivery: the old bytes, a From_ line, the
# message (mboxrd-quoted), one blank line.
mbox_check() {
	if [ "$rc" -eq 75 ] && [ "$EXPECT" = either ]; then
		cmp -s "$BOX" "$T/box-before" && return 0
		echo "exit 75 but the mbox changed ($(wc -c < "$T/box-before") -> $(wc -c < "$BOX" 2>/dev/null) bytes)"
		return 1
	fi
	if [ "$rc" -ne 0 ]; then
		echo "exit $rc: $(head -c 200 "$T/err")"
		return 1
	fi
	_b=$(wc -c < "$T/box-before")
	if ! head -c "$_b" "$BOX" | cmp -s - "$T/box-before"; then
		echo "exit 0 but the old mbox contents changed"
		return 1
	fi
	tail -c "+$((_b + 1))" "$BOX" > "$T/added"
	if [ "$(grep -c '^From ' "$T/added")" -ne 1 ] || [ "$(head -c 5 "$T/added")" != "From " ] \
		|| [ -n "$(tail -n 1 "$T/added")" ]; then
		echo "exit 0 but the added text is not one From_ line, a message and a blank line"
		return 1
	fi
	# mboxrd quoting undone (plain.eml has a body line "From what I hear")
	sed -e 1d -e '$d' -e 's/^>\(>*From \)/\1/' "$T/added" > "$T/added-msg"
	same_as_input "$T/added-msg" "$MSG" > "$T/why" || { cat "$T/why"; return 1; }
	return 0
}

# run_pass NAME KIND(maildir|mbox) PREFIX-SUFFIX EXPECT(either|stored) CONFIG
# PREFIX-SUFFIX is appended to the home ($T/h) to form the counted directory.
run_pass() {
	PASS=$1 PASS_KIND=$2 PASS_PREFIX=$T/h/$3 EXPECT=$4 PASS_CONFIG=$5
	${PASS_KIND}_setup
	faulty_deliver "$PASS_PREFIX"
	if ! ${PASS_KIND}_check > "$T/why-clean"; then
		not_ok "$PASS: clean delivery under the shim"
		sed 's/^# */#   /' "$T/why-clean"
		return
	fi
	cp "$T/counts" "$T/counts-$PASS"
	diag "$PASS: calls under $3: $(tr '\n' ' ' < "$T/counts-$PASS")"
	for kind in $KINDS; do
		total=$(awk -v k="$kind" '$1 == k { print $2 }' "$T/counts-$PASS")
		if [ -z "$total" ] || [ "$total" -eq 0 ]; then
			continue
		fi
		modes=fail
		case $kind in write|writev) modes="fail short" ;; esac
		for mode in $modes; do
			fails= n=1 tried=0 unfired=0 stored=0 deferred=0 leftover=0
			while [ "$n" -le "$total" ]; do
				# few calls: every errno at each; many: one errno per N, cycled
				if [ "$total" -le 4 ]; then
					errs=$ERRNOS
				else
					errs=$(echo $ERRNOS | cut -d' ' -f$(( (n - 1) % 3 + 1 )))
				fi
				for e in $errs; do
					${PASS_KIND}_setup
					faulty_deliver "$PASS_PREFIX" "$kind" "$n" "$e" "$mode"
					tried=$((tried + 1))
					points=$((points + 1))
					[ "$(count_of fired)" = 1 ] || unfired=$((unfired + 1))
					case $rc in
					0) stored=$((stored + 1)) ;;
					75) deferred=$((deferred + 1)) ;;
					esac
					if [ "$PASS_KIND" = maildir ] && [ "$(count_all_tmp)" -ne 0 ]; then
						leftover=$((leftover + 1))
					fi
					if ! ${PASS_KIND}_check > "$T/why"; then
						fails="$fails
$kind #$n $e $mode: $(head -n 1 "$T/why") (rc $rc)"
					fi
				done
				n=$((n + 1))
			done
			d="$PASS: $kind, $tried faults over $total calls ($stored stored, $deferred deferred)"
			[ "$mode" = short ] && d="$PASS: $kind, $tried short writes then a fault, over $total calls ($stored stored, $deferred deferred)"
			if [ -z "$fails" ]; then
				ok "$d"
			else
				not_ok "$d"
				diag "$fails"
			fi
			[ "$leftover" -eq 0 ] || diag "$PASS: $kind: $leftover faults left a file in tmp/ (invisible; allowed)"
			[ "$unfired" -eq 0 ] || diag "$PASS: $kind: $unfired of $tried faults were not reached (the run differed from the counting run)"
		done
	done
}

run_pass maildir maildir Maildir either "cache none"
run_pass mbox mbox mail either "cache none"
# the verdict cache and the log are advisory: faults there never defer
ADV='cache '"$T"'/h/adv/verdicts.db
log-file '"$T"'/h/adv/log'
mkdir -p "$T/h/adv" 2>/dev/null
run_pass maildir-cache-log maildir adv stored "$ADV"
run_pass mbox-cache-log mbox adv stored "$ADV"

diag "$points injection points exercised"
done_testing
