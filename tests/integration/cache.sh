#!/bin/sh
# cache.sh: the shared verdict cache through the real binary: a burst of
# concurrent copies is scored once, the duplicates journal, a broken or
# unusable cache never costs a delivery, stale verdicts are rescored, and the
# `sortmail cache` subcommand.
. "$(dirname "$0")/lib.sh"

SPAM=$DATA/spam.eml
LOG=

# copy_for NAME: the spam as Postfix would hand it to NAME@example.com's copy.
copy_for() {
	{ printf 'Delivered-To: user+for-example+%s@localhost\n' "$1"; cat "$SPAM"; } \
		> "$T/copy-$1.eml"
	echo "$T/copy-$1.eml"
}

setup_home() {
	new_home "$1"
	LOG=$HOME/sortmail.log
	write_config <<CONF
unplus ^user\\+for-example\\+(.+)@ \$1@example.com
personal fred@example.com
log-file $LOG
CONF
}

count_log() {
	grep -c -- "$1" "$LOG" 2>/dev/null || echo 0
}

# ---- a burst of 20 concurrent copies ---------------------------------------
setup_home "$T/burst"
i=0; pids=
while [ $i -lt 20 ]; do
	i=$((i + 1))
	f=$(copy_for "u$i")
	( (sortmail_exec < "$f") > "$T/burst-$i.out" 2>&1; echo $? > "$T/burst-$i.rc") &
	pids="$pids $!"
done
wait
bad=0
i=0; while [ $i -lt 20 ]; do i=$((i + 1)); [ "$(cat "$T/burst-$i.rc")" = 0 ] || bad=$((bad + 1)); done
check "burst of 20: every delivery exits 0" test "$bad" -eq 0
check "burst of 20: 20 copies in ubetrap" test "$(count_new "$ROOT/.ubetrap")" -eq 20
check "burst of 20: scored exactly once" test "$(count_log 'via=scored')" -eq 1
check "burst of 20: 19 cached or waited" \
	test "$(grep -c -E 'via=(cached|waited)' "$LOG")" -eq 19
i=0; miss=0
while [ $i -lt 20 ]; do
	i=$((i + 1))
	grep -q "to=u$i@example.com .*folder=ubetrap" "$LOG" || miss=$((miss + 1))
done
check "burst of 20: each copy logged with its own original recipient" test "$miss" -eq 0
check "burst of 20: cache file is 0600" test "$(mode_of "$HOME/.sortmail/verdicts.db")" = 600

# ---- duplicates ---------------------------------------------------------------
deliver < "$T/copy-u1.eml"
expect_rc 0 "the same copy again: exit 0"
check "the same copy again: logged as duplicate" test "$(count_log ' duplicate ')" -eq 1
check "the same copy again: not filed twice" test "$(count_new "$ROOT/.ubetrap")" -eq 20
printf 'duplicates no\n' >> "$CONFIG"
deliver < "$T/copy-u1.eml"
check "duplicates no: filed again" test "$(count_new "$ROOT/.ubetrap")" -eq 21

# ---- the cache subcommand -------------------------------------------------------
deliver cache stats
check "cache stats: one verdict" grep -q '^verdicts *1 ' "$T/out"
deliver cache dump --json
check "cache dump --json: one JSON object line with a score" \
	sh -c 'test "$(grep -c "^{.*\"score\":[0-9][0-9.]*," "$1")" -eq 1' sh "$T/out"
deliver cache show --message "$SPAM"
key=$(sed -n 's/^key *//p' "$T/out" | head -n 1)
check "cache show: the key of the saved message is found" test -n "$key"
deliver cache forget "$key"
expect_rc 0 "cache forget KEY: exit 0"
deliver cache stats
check "after forget: no verdict" grep -q '^verdicts *0 ' "$T/out"
deliver cache prune
expect_rc 0 "cache prune: exit 0"

# ---- a garbage cache file: delivered, scored, file recreated ----------------------
setup_home "$T/garbage"
head -c 5000 /dev/urandom > "$HOME/.sortmail/verdicts.db"
deliver < "$(copy_for g1)"
expect_rc 0 "garbage cache file: exit 0"
check "garbage cache file: delivered" test "$(count_new "$ROOT/.ubetrap")" -eq 1
check "garbage cache file: scored, with a cache warning" \
	grep -q 'via=scored.*cache_warning=' "$LOG"
check "garbage cache file: moved aside" \
	sh -c 'ls "$1"/verdicts.db.corrupt-* > /dev/null 2>&1' sh "$HOME/.sortmail"
deliver < "$(copy_for g2)"
check "garbage cache file: recreated, next copy is a hit" \
	test "$(count_log 'via=cached')" -eq 1

# ---- a truncated cache file ---------------------------------------------------
setup_home "$T/truncated"
deliver < "$(copy_for t1)"
size=$(wc -c < "$HOME/.sortmail/verdicts.db")
head -c $((size / 3)) "$HOME/.sortmail/verdicts.db" > "$T/trunc" && cat "$T/trunc" > "$HOME/.sortmail/verdicts.db"
deliver < "$(copy_for t2)"
expect_rc 0 "truncated cache file: exit 0"
check "truncated cache file: both copies delivered" test "$(count_new "$ROOT/.ubetrap")" -eq 2

# ---- stale verdicts: a changed rule file is rescored ---------------------------------
setup_home "$T/stale"
cp "$top_srcdir/score/rules/stock.cf" "$HOME/rules.cf"
printf 'rules %s\n' "$HOME/rules.cf" >> "$CONFIG"
deliver < "$(copy_for s1)"
deliver < "$(copy_for s2)"
check "same rules: second copy cached" test "$(count_log 'via=cached')" -eq 1
printf '\n# edited\n' >> "$HOME/rules.cf"
deliver < "$(copy_for s3)"
check "edited rule file: rescored" test "$(count_log 'via=scored')" -eq 2
sed -i 's/^required-score.*//' "$CONFIG"; printf 'required-score 1000\n' >> "$CONFIG"
deliver < "$(copy_for s4)"
check "changed required-score: rescored" test "$(count_log 'via=scored')" -eq 3
check "changed required-score: the new threshold applies (not spam)" \
	grep -q 'to=s4@example.com .*verdict=ham' "$LOG"

# ---- cache none --------------------------------------------------------------------
setup_home "$T/none"
printf 'cache none\n' >> "$CONFIG"
deliver < "$(copy_for n1)"
deliver < "$(copy_for n2)"
check "cache none: every copy scored" test "$(count_log 'via=scored')" -eq 2
check "cache none: no cache file" test ! -e "$HOME/.sortmail/verdicts.db"

# ---- names planted in a shared cache directory ----------------------------------------
# A shared cache directory is writable by others: symlinks planted under the
# cache's names must not make a delivery create or write a file elsewhere,
# and pruning must not remove anything outside the journal or not its own.
setup_home "$T/planted"
mkdir -p "$T/outside"
ln -s "$T/outside/planted.db" "$HOME/.sortmail/verdicts.db"
ln -s "$T/outside/planted.lock" "$HOME/.sortmail/verdicts.db.lock"
deliver < "$(copy_for p1)"
expect_rc 0 "cache names are dangling symlinks: exit 0"
check "cache names are dangling symlinks: delivered" test "$(count_new "$ROOT/.ubetrap")" -eq 1
check "cache names are dangling symlinks: scored, warning logged" \
	grep -q 'via=scored.*cache_warning=' "$LOG"
check "cache names are dangling symlinks: nothing created outside" \
	test -z "$(ls -A "$T/outside")"

setup_home "$T/planted-journal"
mkdir -p "$T/victim"
old_name=$(printf '%064d.%032d' 0 0)
for f in "$old_name" notes.txt; do
	echo precious > "$T/victim/$f"
	touch -d '3 days ago' "$T/victim/$f"
done
ln -s "$T/victim" "$HOME/.sortmail/verdicts.db.filed"
deliver < "$(copy_for j1)"
expect_rc 0 "journal directory is a symlink: exit 0"
check "journal directory is a symlink: delivered" test "$(count_new "$ROOT/.ubetrap")" -eq 1
deliver cache prune
check "journal directory is a symlink: pruning removes nothing there" \
	test "$(ls "$T/victim" | wc -l)" -eq 2
check "journal directory is a symlink: cache prune says why it cannot" \
	grep -q -i 'symbolic links\|journal' "$T/err"
rm "$HOME/.sortmail/verdicts.db.filed"
mkdir "$HOME/.sortmail/verdicts.db.filed"
cp -p "$T/victim/notes.txt" "$T/victim/$old_name" "$HOME/.sortmail/verdicts.db.filed/"
deliver cache prune
check "cache prune: removes its own stale entries, not other files" \
	sh -c '[ ! -e "$1/$2" ] && [ -e "$1/notes.txt" ]' sh "$HOME/.sortmail/verdicts.db.filed" "$old_name"

# ---- an unwritable cache directory (needs an unprivileged user) ---------------------
if ensure_test_user; then
	setup_home "$T/unwritable"
	chmod 0500 "$HOME/.sortmail"
	chown -R "$TEST_UID:$TEST_GID" "$HOME"
	as_user=$AS_TEST_USER
	deliver < "$(copy_for w1)"
	expect_rc 0 "unwritable cache directory: exit 0"
	check "unwritable cache directory: delivered" test "$(count_new "$ROOT/.ubetrap")" -eq 1
	check "unwritable cache directory: scored, warning logged" \
		grep -q 'via=scored.*cache_warning=' "$LOG"
	as_user=
else
	skip "unwritable cache directory: needs root to switch to an unprivileged user"
fi

check "no output line starts like a status code" no_dsn_codes
done_testing
