#!/bin/sh
# memcheck.sh LOGDIR PROGRAM [ARGS...]: runs PROGRAM under valgrind memcheck
# with the project's settings: any memory error or definite leak makes the
# exit status 98 and is written to LOGDIR/vg.PID.log (a clean run leaves an
# empty log: --quiet). Library-internal noise is suppressed by
# sortmail.supp (each entry says why). Used by `./dev.sh valgrind` (the
# whole suite, through a wrapper in place of the binary) and by
# tests/integration/valgrind.sh (the delivery paths, in make check).
logdir=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
exec valgrind --quiet --error-exitcode=98 --leak-check=full \
	--show-leak-kinds=definite --errors-for-leak-kinds=definite \
	--num-callers=30 --suppressions="$here/sortmail.supp" \
	--log-file="$logdir/vg.%p.log" "$@"
