#!/bin/sh
# replay-sync: `sortmail replay --sync=batch` (the default) against
# --sync=each and `sortmail deliver`. The same bytes are filed either way,
# each message once (a copy waiting in the same batch included); the batch
# costs one syncfs() and one fsync of new/, not two fsyncs a message, while
# deliver keeps its fsync of the file and of new/, and so do replays with
# --outbound and into mbox folders; a replay killed (SIGKILL,
# injected by strace at its second syncfs(), so mid-batch by construction,
# never by timing) has filed exactly what it reported, and resuming it, with
# --skip or through the duplicates journal, files the rest once.
. "$(dirname "$0")/lib.sh"

# The sync counts run sortmail under strace, and LeakSanitizer refuses to run
# under ptrace (it aborts, exit 134): leak checking is off for this test;
# valgrind.sh checks replay's and deliver's paths for leaks.
case ${ASAN_OPTIONS-} in *detect_leaks=1*) ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0 ;; esac

command -v strace > /dev/null || skip_all "strace is needed to count and inject syscalls"
command -v python3 > /dev/null || skip_all "python3 is needed to parse --json"
strace -o /dev/null true 2> /dev/null || skip_all "strace cannot trace here (ptrace denied)"

N=300 # more than one batch (256)

replay() {
	deliver replay "$@"
}

# The messages, one file each, and the same as an mbox.
mkdir "$T/msgs"
i=1
while [ $i -le $N ]; do
	cat > "$T/msgs/$i.eml" <<-EOF
	Return-Path: <sender$i@example.org>
	Delivered-To: user@example.com
	From: Sender $i <sender$i@example.org>
	To: user@example.com
	Subject: batch test $i
	Message-ID: <batch-$i@example.org>

	Message number $i of the batch test.
	EOF
	printf 'From sender%s@example.org Mon Mar 11 08:00:00 2024\n' $i >> "$T/in.mbox"
	cat "$T/msgs/$i.eml" >> "$T/in.mbox"
	echo >> "$T/in.mbox"
	i=$((i + 1))
done
cp "$T/in.mbox" "$T/in.mbox.orig"

# sums_of_bodies DIR: sorted hashes of the files' contents without X-Spam-*
# lines (one python3, not two processes a file: the suite must stay fast).
sums_of_bodies() {
	python3 - "$1" <<-'PY'
	import hashlib, os, sys
	d = sys.argv[1]
	sums = []
	for name in os.listdir(d):
	    lines = open(os.path.join(d, name), "rb").read().splitlines(True)
	    body = b"".join(l for l in lines if not l.startswith(b"X-Spam-"))
	    sums.append(hashlib.sha256(body).hexdigest())
	print("\n".join(sorted(sums)))
	PY
}
expected_sums() {
	sums_of_bodies "$T/msgs"
}
expected_sums > "$T/sums.expected"

# ids_in DIR: the Message-IDs of the files there, one a line, sorted.
ids_in() {
	find "$1" -type f -exec sed -n 's/^Message-ID: //p' {} + | sort
}

CONF_TEXT='required-score 1000'

# ---- batch and each file the same bytes, once ---------------------------------

new_home "$T/batch"
echo "$CONF_TEXT" | write_config
wrap="strace -y -e trace=fsync,fdatasync,syncfs -o $T/batch.trace" replay --json "$T/in.mbox"
wrap=
expect_rc 0 "--sync=batch: exit 0"
cp "$T/out" "$T/batch.json"
sums_of_bodies "$ROOT/new" > "$T/sums.batch"
check "--sync=batch: every message filed byte for byte, once" cmp -s "$T/sums.expected" "$T/sums.batch"
check "--sync=batch: every message reported stored, in order" python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(not ([r["n"] for r in rows] == list(range(1, int(sys.argv[2]) + 1))
              and all(r["result"] == "stored" for r in rows)))' "$T/batch.json" $N
check "--sync=batch: nothing left in tmp/" test -z "$(ls "$ROOT/tmp")"
check "--sync=batch: the input untouched" cmp -s "$T/in.mbox" "$T/in.mbox.orig"
file_syncs=$(grep -c "^fsync([0-9]*<$ROOT/tmp/" "$T/batch.trace")
dir_syncs=$(grep -c "^fsync([0-9]*<$ROOT/new>" "$T/batch.trace")
fs_syncs=$(grep -c '^syncfs(' "$T/batch.trace")
check "--sync=batch: no fsync per message file" test "$file_syncs" = 0
check "--sync=batch: one syncfs and one fsync of new/ per batch ($fs_syncs, $dir_syncs)" \
	sh -c "[ $fs_syncs -ge 2 ] && [ $fs_syncs -lt $N ] && [ $dir_syncs = $fs_syncs ]"

new_home "$T/each"
echo "$CONF_TEXT" | write_config
wrap="strace -y -e trace=fsync,fdatasync,syncfs -o $T/each.trace" replay --sync=each "$T/in.mbox"
wrap=
expect_rc 0 "--sync=each: exit 0"
sums_of_bodies "$ROOT/new" > "$T/sums.each"
check "--sync=each: the same bytes as --sync=batch" cmp -s "$T/sums.batch" "$T/sums.each"
check "--sync=each: an fsync of each file and of new/ per message" sh -c \
	"[ \$(grep -c '^fsync([0-9]*<$ROOT/tmp/' '$T/each.trace') = $N ] &&
	 [ \$(grep -c '^fsync([0-9]*<$ROOT/new>' '$T/each.trace') = $N ] &&
	 ! grep -q '^syncfs(' '$T/each.trace'"

# ---- what is never batched --------------------------------------------------------

head -n 30 "$T/in.mbox" > "$T/three.mbox"
new_home "$T/outbound"
echo "$CONF_TEXT" | write_config
wrap="strace -y -e trace=fsync,fdatasync,syncfs -o $T/outbound.trace" replay --outbound "$T/three.mbox"
wrap=
expect_rc 0 "--outbound: exit 0"
check "--outbound: synced message by message, as --sync=each" sh -c \
	"[ \$(grep -c '^fsync([0-9]*<$ROOT/tmp/' '$T/outbound.trace') = 3 ] &&
	 ! grep -q '^syncfs(' '$T/outbound.trace'"

new_home "$T/mbox"
printf 'mbox %s\n%s\n' "$T/mbox/mail" "$CONF_TEXT" | write_config
wrap="strace -e trace=syncfs -o $T/mbox.trace" replay "$T/three.mbox"
wrap=
expect_rc 0 "mbox folders: exit 0"
check "mbox folders: each append on its own (no syncfs), all three filed" sh -c \
	"! grep -q '^syncfs(' '$T/mbox.trace' &&
	 [ \$(cat '$T'/mbox/mail/* | grep -c '^Message-ID: <batch-') = 3 ]"

replay --sync=sometimes "$T/three.mbox"
expect_rc 2 "--sync=sometimes: usage error (exit 2)"

# ---- deliver keeps its per-message fsyncs ------------------------------------------

new_home "$T/deliver"
echo "$CONF_TEXT" | write_config
wrap="strace -y -e trace=fsync,fdatasync,syncfs -o $T/deliver.trace" deliver < "$T/msgs/1.eml"
wrap=
expect_rc 0 "deliver: exit 0"
check "deliver: fsync of the message file, then of new/, and no syncfs" sh -c \
	"grep -E '^(fsync|fdatasync|syncfs)\(' '$T/deliver.trace' | grep '$ROOT' |
	 sed 's/(\([0-9]*\)<.*\/\(tmp\|new\)\(\/\|>\).*/ \2/' > '$T/deliver.syncs' &&
	 printf 'fsync tmp\nfsync new\n' | cmp -s - '$T/deliver.syncs' &&
	 ! grep -q '^syncfs(' '$T/deliver.trace'"

# ---- in-batch copies: the second waits for the first's commit --------------------

new_home "$T/copies"
echo "$CONF_TEXT" | write_config
head -n 10 "$T/in.mbox" > "$T/twice.mbox"
cat "$T/twice.mbox" "$T/twice.mbox" "$T/twice.mbox" > "$T/thrice.mbox"
replay --json "$T/thrice.mbox"
expect_rc 0 "a copy in the same batch: exit 0"
check "a copy in the same batch: filed once, the others reported as duplicates" sh -c \
	"[ \$(ls '$ROOT/new' | wc -l) = 1 ] &&
	 [ \$(grep -c '\"result\":\"duplicate\"' '$T/out') = 2 ]"

# ---- SIGKILL mid-batch, then resume ----------------------------------------------

# kill_mid_batch DIR: a fresh home; the replay is killed as it enters its
# second syncfs(): one batch committed and reported, the next one staged.
kill_mid_batch() {
	new_home "$1"
	echo "$CONF_TEXT" | write_config
	wrap="strace -o /dev/null -e trace=syncfs -e inject=syncfs:error=EIO:signal=KILL:when=2"
	replay --json "$T/in.mbox"
	wrap=
	cp "$T/out" "$1/killed.json"
	reported=$(wc -l < "$1/killed.json")
}

kill_mid_batch "$T/kill"
check "killed: it died (exit $rc)" test "$rc" -ne 0
check "killed: part of the run was reported ($reported of $N)" \
	sh -c "[ $reported -ge 1 ] && [ $reported -lt $N ]"
python3 -c '
import json, sys
for l in open(sys.argv[1]):
    print(json.loads(l)["message_id"])' "$T/kill/killed.json" | sort > "$T/kill/reported.ids"
ids_in "$ROOT/new" > "$T/kill/filed.ids"
check "killed: new/ holds exactly the messages reported" cmp -s "$T/kill/reported.ids" "$T/kill/filed.ids"
check "killed: the staged rest of the batch only in tmp/" test -n "$(ls "$ROOT/tmp")"
replay --skip "$reported" --json "$T/in.mbox"
expect_rc 0 "resumed with --skip $reported: exit 0"
ids_in "$ROOT/new" > "$T/kill/all.ids"
check "resumed with --skip: every message in new/ exactly once" sh -c \
	"[ \$(wc -l < '$T/kill/all.ids') = $N ] && [ -z \"\$(uniq -d '$T/kill/all.ids')\" ]"
sums_of_bodies "$ROOT/new" > "$T/sums.kill"
check "resumed with --skip: byte for byte" cmp -s "$T/sums.expected" "$T/sums.kill"

kill_mid_batch "$T/kill2"
replay --json "$T/in.mbox"
expect_rc 0 "resumed from the start (the journal): exit 0"
ids_in "$ROOT/new" > "$T/kill2/all.ids"
check "resumed from the start: every message in new/ exactly once" sh -c \
	"[ \$(wc -l < '$T/kill2/all.ids') = $N ] && [ -z \"\$(uniq -d '$T/kill2/all.ids')\" ]"
check "resumed from the start: the $reported reported before are duplicates now" \
	test "$(grep -c '"result":"duplicate"' "$T/out")" = "$reported"

done_testing
