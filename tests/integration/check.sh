#!/bin/sh
# check: `sortmail check` on a whole set-up. A config with five different
# errors reports all five (file:line each) and the same file makes a delivery
# defer with the first one, as before; a broken rule file line, a broken
# template and a rule naming a missing template are errors too; set-ups that
# lose or leak mail are warnings (unusable Maildir root, group-writable cache
# unless cache-shared, missing sendmail, unwritable log file, pipe program
# missing); exit status 0 clean, 1 errors, 3 warnings only; nothing written.
. "$(dirname "$0")/lib.sh"

CDATA=$top_srcdir/tests/data/check
new_home "$T/home"
# As deliveries make it; a umask of 002 would otherwise make it group-writable.
chmod 0700 "$HOME/.sortmail"

# check_run ARGS...: runs `sortmail check` like deliver does; output in $T/out.
check_run() {
	deliver check "$@"
}

# has LINE: $T/out has exactly this line.
has() {
	if grep -q -x -F -- "$1" "$T/out"; then return 0; fi
	diag "missing line: $1"
	diag_file "$T/out" 30
	return 1
}

# ---- a clean set-up ------------------------------------------------------
write_config <<CONF
personal fred@example.com
log-file $HOME/sortmail.log
sendmail /bin/true
rule to ^info@example\.com$ autorespond information folder info
CONF
tree_state "$HOME" > "$T/before"
check_run -c "$CONFIG"
expect_rc 0 "a clean set-up: exit 0"
check "a clean set-up: only the summary line" \
	test "$(grep -c . "$T/out")" -eq 1
check "the summary counts rules and templates" \
	grep -q "0 error(s), 0 warning(s) (1 config rules, [0-9][0-9]* scoring rules, 5 templates)" "$T/out"

# ---- five errors in the config -----------------------------------------
cp "$CDATA/five-errors.conf" "$CONFIG"
check_run -c "$CONFIG"
expect_rc 1 "five errors: exit 1"
check "error 1: bad number (line 4)" has "$CONFIG:4: bad number 'lots'"
check "error 2: bad regex (line 6)" grep -q -F "$CONFIG:6: '(': bad regex" "$T/out"
check "error 3: unknown keyword (line 7)" has "$CONFIG:7: unknown keyword 'frobnicate'"
check "error 4: bad folder name (line 9)" has "$CONFIG:9: bad folder name '../c'"
check "error 5: unterminated quote (line 10)" has "$CONFIG:10: missing closing quote"
check "exactly five errors and the summary line" test "$(grep -c . "$T/out")" -eq 6
check "the summary says 5 errors" grep -q ": 5 error(s), 0 warning(s)" "$T/out"

# The same file still defers a delivery, naming the first error only.
deliver -f s@example.org -r fred@example.com < "$DATA/plain.eml"
expect_rc 75 "a delivery under that config defers (75)"
check "its one stderr line names the first error" \
	grep -q -F "sortmail: $CONFIG:4: bad number 'lots'" "$T/err"
check "nothing was filed" test "$(count_all_new)" -eq 0

# ---- rule files and templates ------------------------------------------
mkdir -p "$HOME/.sortmail/templates"
cp "$CDATA/broken-template" "$HOME/.sortmail/templates/broken"
printf 'body T_OK /hello/\nscore T_OK 0.5\nbody T_BAD /bad(/\nscore T_BAD 1\n' \
	> "$T/local.cf"
write_config <<CONF
personal fred@example.com
sendmail /bin/true
rules $T/local.cf
rule to ^x@ autorespond nosuch folder x
CONF
check_run -c "$CONFIG"
expect_rc 1 "rule file, template and rule errors: exit 1"
check "a rule file line that does not compile: file:line" \
	grep -q -F "$T/local.cf:3: T_BAD: bad regex" "$T/out"
check "a template that does not render: its path and line" \
	grep -q "^$HOME/.sortmail/templates/broken:[0-9][0-9]*: " "$T/out"
check "a rule naming a missing template" \
	grep -q -F "$CONFIG:5: template 'nosuch' not found" "$T/out"

# ---- warnings: set-ups that lose or leak mail ----------------------------
rm -rf "$HOME/.sortmail/templates"
mkdir -m 0770 "$T/shared"
: > "$T/shared/v.db"
chmod 0660 "$T/shared/v.db"
write_config <<CONF
maildir /etc/passwd/Maildir
cache $T/shared/v.db
sendmail $T/no-such-sendmail
log-file $T/no-such-dir/log
rule to ^p@ pipe $T/no-such-program
CONF
check_run -c "$CONFIG"
expect_rc 3 "warnings only: exit 3"
check "the Maildir root cannot be used" \
	grep -q -F "$CONFIG:2: warning: Maildir root /etc/passwd/Maildir cannot be used" "$T/out"
check "the cache directory is group-writable" \
	grep -q -F "$CONFIG:3: warning: cache directory $T/shared is group-writable" "$T/out"
check "the cache file is group-writable" \
	grep -q -F "$CONFIG:3: warning: cache file $T/shared/v.db is group-writable" "$T/out"
check "sendmail does not exist" \
	grep -q -F "$CONFIG:4: warning: sendmail command $T/no-such-sendmail does not exist" "$T/out"
check "the log file cannot be written" \
	grep -q -F "$CONFIG:5: warning: log file $T/no-such-dir/log does not exist and cannot be created" "$T/out"
check "the pipe program does not exist" \
	grep -q -F "$CONFIG:6: warning: pipe program $T/no-such-program does not exist" "$T/out"

# A shared cache, declared: no warning about it.
echo "cache-shared yes" >> "$CONFIG"
check_run -c "$CONFIG"
check "cache-shared yes: no cache warning" sh -c "! grep -q 'cache' '$T/out'"
expect_rc 3 "the other warnings stay"

# ---- usage and nothing written -----------------------------------------
check_run -c "$CONFIG" stray-argument
expect_rc 2 "an argument without --rules is a usage error"
check "check wrote nothing into the home" sh -c \
	"tree_state() { find \"\$1\" -printf '%p %y %s %m\n' | sort; }; \
	 tree_state '$HOME' | grep -v '/.sortmail/config ' > '$T/after'; \
	 grep -v '/.sortmail/config ' '$T/before' | diff - '$T/after' > /dev/null"
check "no output line looks like a status code" no_dsn_codes

done_testing
