#!/bin/sh
# stock-rules: the stock rule set, through the real binary, on the held-out
# evaluation sample (tests/data/corpus/eval, see tests/eval/README): at least
# two thirds of its spam is caught and under 1% of its ham is flagged. The
# sample must be big enough for those figures to mean something (60 spam,
# 100 ham at least), and every message must get a verdict.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

EVAL=$top_srcdir/tests/data/corpus/eval
[ -n "${SORTMAIL_SCORER:-}" ] && [ -f "$SORTMAIL_SCORER" ] \
	|| skip_all "no scorer module (SORTMAIL_SCORER=${SORTMAIL_SCORER:-unset})"
[ -d "$EVAL/spam" ] && [ -d "$EVAL/ham" ] || bail "no evaluation sample in $EVAL"

sh "$top_srcdir/tests/eval/evaluate.sh" -m "$EVAL" > "$T/figures" 2> "$T/err" \
	|| bail "evaluate.sh failed: $(head -n 1 "$T/err")"
diag "$(cat "$T/figures")"

# field NAME: the number after NAME= in the figures line.
field() {
	sed -n "s/.* $1=\\([0-9]*\\).*/\\1/p" "$T/figures"
}
spam=$(field spam)
caught=$(field caught)
ham=$(field ham)
flagged=$(field flagged)
errors=$(field errors)
[ -n "$spam" ] && [ -n "$ham" ] || bail "no figures from evaluate.sh"

check "the sample has at least 60 spam ($spam)" test "$spam" -ge 60
check "the sample has at least 100 ham ($ham)" test "$ham" -ge 100
check "every message got a verdict ($errors without)" test "$errors" -eq 0
check "at least 2/3 of the spam is caught ($caught/$spam)" test $((caught * 3)) -ge $((spam * 2))
check "under 1% of the ham is flagged ($flagged/$ham)" test $((flagged * 100)) -lt "$ham"

if [ "$_tap_fail" -ne 0 ]; then
	diag "misclassified (score, rules, file):"
	sh "$top_srcdir/tests/eval/evaluate.sh" -v "$EVAL" 2>&1 | grep -E '^  (missed|flagged)' | sed 's/^/#   /'
fi
done_testing
