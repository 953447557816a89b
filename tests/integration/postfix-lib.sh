# postfix-lib.sh: a private Postfix instance for tests/integration/postfix.sh
# (POSIX sh, sourced after lib.sh).
#
# Contract:
# - Sourcing it checks what the instance needs and calls skip_all when the
#   machine cannot run one: root, Debian's postfix (postfix, postconf,
#   postqueue, postsuper, the master daemon, the postfix account), an SMTP
#   client (swaks, else python3's smtplib: sets CLIENT), and the unprivileged
#   test user of lib.sh (ensure_test_user).
# - Everything lives under $T: $PF holds etc/ (main.cf, master.cf, regexp
#   tables), queue/, data/, Postfix's own log $MAILLOG (postlogd, since
#   syslog may not run) and the postmaster's mailbox $PMBOX (bounces end up
#   there); $H is the test user's home as sortmail sees it. Nothing outside
#   $T is written, no system instance is used or touched.
# - start_instance writes the configuration and starts the instance on a
#   free port of 127.0.0.1 (sets PORT); stop_instance (idempotent, also run
#   by the EXIT/HUP/INT/TERM traps set here) stops it and SIGKILLs whatever
#   is left, each by its pid, recording those pids in $KILLED.
# - mailbox_command is /usr/bin/env HOME=$H [SORTMAIL_SCORER=.. and the
#   sanitizer/loader variables that are set] $SORTMAIL: local(8) clears the
#   environment and gives HOME from passwd (/nonexistent for the test user).

[ "$(id -u)" -eq 0 ] || skip_all "not root (a private Postfix instance needs root)"
PATH=$PATH:/usr/sbin:/sbin
for p in postfix postconf postqueue postsuper; do
	command -v $p > /dev/null || skip_all "no Postfix ($p missing; Debian package 'postfix')"
done
DAEMON_DIR=$(postconf -d -h daemon_directory 2>/dev/null)
[ -x "$DAEMON_DIR/master" ] || skip_all "no Postfix master in '$DAEMON_DIR'"
id -u postfix > /dev/null 2>&1 || skip_all "no 'postfix' account"
if command -v swaks > /dev/null; then
	CLIENT=swaks
elif command -v python3 > /dev/null; then
	CLIENT=python3
else
	skip_all "no SMTP client (Debian package 'swaks', or python3)"
fi
ensure_test_user || skip_all "cannot create or use the unprivileged user $TEST_USER"
setpriv --reuid=postfix --regid=postfix --clear-groups test -x "$T" \
	|| skip_all "the postfix account cannot reach $T"

PF=$T/pf                # the instance: etc/ queue/ data/ maillog
ETC=$PF/etc
QUEUE=$PF/queue
MAILLOG=$PF/maillog
PMBOX=$PF/postmaster.mbox
H=$T/home               # the test user's home, as sortmail sees it
FQDN=sortmail-test.localdomain

# ---- the instance ---------------------------------------------------------

# alive PID: PID exists and is not a zombie.
alive() {
	[ -r "/proc/$1/stat" ] || return 1
	! sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | grep -q '^Z'
}

# our_pids: the processes of this instance (Postfix daemons inherit
# MAIL_CONFIG=$ETC from master) and the sortmails it ran (HOME=$H), but not
# this shell.
our_pids() {
	grep -l -s -z -x -F -e "MAIL_CONFIG=$ETC" -e "HOME=$H" /proc/[0-9]*/environ \
		| sed -n 's|^/proc/\([0-9]*\)/environ$|\1|p' | grep -v -x $$
}

# stop_instance: idempotent; graceful stop, then SIGKILL whatever is left
# (by pid, found through our_pids).
stop_instance() {
	[ -d "$ETC" ] || return 0
	_m=$(sed -n '1s/ //gp' "$QUEUE/pid/master.pid" 2>/dev/null)
	if [ -n "$_m" ] && alive "$_m"; then
		postfix -c "$ETC" stop > /dev/null 2>&1
		_i=0
		while alive "$_m" && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
	fi
	for _p in $(our_pids); do
		kill -9 "$_p" 2>/dev/null && KILLED="$KILLED $_p"
	done
	return 0
}
KILLED=
trap stop_instance EXIT
trap 'stop_instance; exit 1' HUP INT TERM

# free_port N: a port in 20000-59999, picked from our pid and attempt N,
# that nothing on this machine has bound (a race with another binder ends in
# a failed start, and the caller tries the next one).
free_port() {
	_port=$((20000 + ($$ * 31 + $1 * 7919) % 40000))
	while grep -q -i ":$(printf '%04X' $_port) " /proc/net/tcp /proc/net/tcp6 2>/dev/null; do
		_port=$((_port + 1))
	done
	echo $_port
}

# write_instance PORT: main.cf, master.cf and the lookup tables.
write_instance() {
	_cmd="/usr/bin/env HOME=$H"
	for _v in SORTMAIL_SCORER SORTMAIL_DATADIR ASAN_OPTIONS UBSAN_OPTIONS \
		LSAN_OPTIONS LD_LIBRARY_PATH LD_PRELOAD; do
		eval "[ -n \"\${$_v+x}\" ] && _cmd=\"\$_cmd $_v=\$$_v\""
	done
	cat > "$ETC/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $QUEUE
data_directory = $PF/data
maillog_file = $MAILLOG
maillog_file_prefixes = $PF
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
myhostname = $FQDN
mydomain = localdomain
myorigin = \$myhostname
mydestination = \$myhostname, localhost
append_dot_mydomain = no
biff = no
alias_maps = regexp:$ETC/aliases
alias_database =
virtual_alias_domains = example.com
virtual_alias_maps = regexp:$ETC/virtual
recipient_delimiter = +
mailbox_command = $_cmd $SORTMAIL
default_transport = error:this test instance sends nothing out
relay_transport = error:this test instance sends nothing out
local_destination_concurrency_limit = 20
local_initial_destination_concurrency = 20
EOF
	# no chroot anywhere; only what local delivery needs, plus postlogd
	cat > "$ETC/master.cf" <<EOF
127.0.0.1:$1 inet n - n - - smtpd
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
local     unix - n n - - local
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
	# bounce-check@ goes to a user that does not exist: the control case
	printf '/^bounce-check@example\\.com$/ no-such-user@%s\n' "$FQDN" > "$ETC/virtual"
	# shellcheck disable=SC2016 # ${1} is the regexp table's, not ours
	printf '/^(.*)@example\\.com$/ %s+for-example+${1}\n' "$TEST_USER" >> "$ETC/virtual"
	# bounces and notices end up in a file we can look at
	printf '/^(postmaster|mailer-daemon)$/ %s\n' "$PMBOX" > "$ETC/aliases"
}

# start_instance: up to three ports; sets PORT. The queue directory is
# root's, data_directory the postfix account's; post-install (run by
# "postfix start") creates the queue's subdirectories.
start_instance() {
	mkdir -p "$ETC" "$QUEUE" "$PF/data" || bail "cannot create $PF"
	chmod 0755 "$PF" "$ETC" "$QUEUE"
	chown postfix "$PF/data"
	: > "$PMBOX"
	chown nobody "$PMBOX"   # local(8) writes alias files as default_privs
	chmod 0600 "$PMBOX"
	for _a in 1 2 3; do
		PORT=$(free_port $_a)
		write_instance "$PORT"
		if postfix -c "$ETC" start > "$PF/start.out" 2>&1; then
			return 0
		fi
		stop_instance
	done
	diag "postfix start failed; its output and log:"
	diag_file "$PF/start.out" 20
	diag_file "$MAILLOG" 20
	bail "cannot start a private Postfix instance"
}

# ---- helpers --------------------------------------------------------------

# queue_files: the messages in the instance's queue (any state).
queue_files() {
	find "$QUEUE/maildrop" "$QUEUE/incoming" "$QUEUE/active" \
		"$QUEUE/deferred" "$QUEUE/hold" -type f 2>/dev/null
}

# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s; false on timeout
# (SECONDS times the slowdown under valgrind: see slow in lib.sh).
wait_for() {
	_n=$(($(slow "$1") * 10))
	shift
	while ! "$@"; do
		[ $_n -le 0 ] && return 1
		sleep 0.1
		_n=$((_n - 1))
	done
	return 0
}

queue_empty() { [ -z "$(queue_files)" ]; }
queue_deferred() { [ -n "$(find "$QUEUE/deferred" -type f)" ]; }
pmbox_full() { [ -s "$PMBOX" ]; }
# log_has N PATTERN: Postfix's log (written asynchronously by postlogd) has
# at least N lines matching PATTERN.
log_has() { [ "$(grep -c -E -- "$2" "$MAILLOG" 2>/dev/null)" -ge "$1" ]; }
count_in() { grep -c -E -- "$2" "$1" 2>/dev/null; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# smtp_send FILE FROM TO...: one SMTP transaction, every TO in it.
smtp_send() {
	_f=$1 _from=$2
	shift 2
	if [ "$CLIENT" = swaks ]; then
		# swaks ends DATA with CRLF "." after the text, adding an empty line
		# when the text ends in a newline, unless the text has its own "."
		{ cat "$_f"; echo .; } > "$T/smtp.data"
		_to=$(echo "$@" | tr ' ' ',')
		swaks --server 127.0.0.1 --port "$PORT" --helo client.example.org \
			--from "$_from" --to "$_to" --data "@$T/smtp.data" > "$T/smtp.out" 2>&1
	else
		python3 - "$PORT" "$_f" "$_from" "$@" > "$T/smtp.out" 2>&1 <<'PY'
import smtplib, sys
port, path, sender, rcpts = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
with open(path, 'rb') as f:
    # smtplib sends bytes as they are: bare LFs would end in an extra line
    data = f.read().replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')
with smtplib.SMTP('127.0.0.1', port, local_hostname='client.example.org', timeout=30) as s:
    refused = s.sendmail(sender, rcpts, data)
sys.exit(1 if refused else 0)
PY
	fi
	_rc=$?
	[ $_rc -eq 0 ] || { diag "$CLIENT failed ($_rc):"; diag_file "$T/smtp.out" 30; }
	return $_rc
}
