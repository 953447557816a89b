#!/bin/sh
# root-owner: sortmail run as root refuses to write into a mailbox tree owned
# by another user (exit 75, one line on stderr) and creates no root-owned
# file there; Maildir and mbox alike.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "not root"
ensure_test_user || skip_all "cannot create or use the unprivileged user $TEST_USER"

# root_files DIR: files and directories under DIR owned by root.
root_files() {
	find "$1" -user 0 2>/dev/null
}

# ---- Maildir ---------------------------------------------------------------------
new_home "$T/maildir"
write_config <<'CONF'
required-score 1000
rule from ^sender@example\.org$ folder lists
CONF
chown -R "$TEST_UID:$TEST_GID" "$HOME"
env_user=root
deliver < "$DATA/plain.eml"
expect_rc 75 "root into a Maildir owned by $TEST_USER: exit 75"
check "root into a Maildir owned by $TEST_USER: one line 'sortmail: REASON' on stderr" one_error_line
check "root into a Maildir owned by $TEST_USER: no mail in new/" test "$(count_all_new)" -eq 0
left=$(root_files "$HOME")
if [ -z "$left" ]; then
	ok "root into a Maildir owned by $TEST_USER: no root-owned file created"
else
	not_ok "root into a Maildir owned by $TEST_USER: no root-owned file created"
	diag "root-owned: $left"
fi

# the same home, with the inbox as target (no folder to create)
write_config <<'CONF'
required-score 1000
CONF
chown "$TEST_UID:$TEST_GID" "$CONFIG"
deliver < "$DATA/plain.eml"
expect_rc 75 "root into the inbox of a Maildir owned by $TEST_USER: exit 75"
check "root into the inbox of a Maildir owned by $TEST_USER: no root-owned file created" \
	test -z "$(root_files "$HOME")"

# ---- mbox --------------------------------------------------------------------------
new_home "$T/mbox"
mkdir -m 0700 "$HOME/mail"
printf 'mbox %s\nrequired-score 1000\n' "$HOME/mail" | write_config
chown -R "$TEST_UID:$TEST_GID" "$HOME"
deliver < "$DATA/plain.eml"
expect_rc 75 "root into an mbox directory owned by $TEST_USER: exit 75"
check "root into an mbox directory owned by $TEST_USER: one line 'sortmail: REASON' on stderr" one_error_line
left=$(root_files "$HOME")
if [ -z "$left" ]; then
	ok "root into an mbox directory owned by $TEST_USER: no root-owned file created"
else
	not_ok "root into an mbox directory owned by $TEST_USER: no root-owned file created"
	diag "root-owned: $left"
fi

# the same with an existing inbox file, owned by the user
new_home "$T/mbox2"
mkdir -m 0700 "$HOME/mail"
printf 'mbox %s\nrequired-score 1000\n' "$HOME/mail" | write_config
: > "$HOME/mail/inbox"
chmod 0600 "$HOME/mail/inbox"
chown -R "$TEST_UID:$TEST_GID" "$HOME"
deliver < "$DATA/plain.eml"
expect_rc 75 "root into an existing mbox inbox owned by $TEST_USER: exit 75"
check "root into an existing mbox inbox owned by $TEST_USER: the inbox is untouched" \
	test ! -s "$HOME/mail/inbox"
check "root into an existing mbox inbox owned by $TEST_USER: no root-owned file created" \
	test -z "$(root_files "$HOME")"

# ---- control: the owner itself can deliver there ---------------------------------
new_home "$T/owner"
write_config <<'CONF'
required-score 1000
CONF
chown -R "$TEST_UID:$TEST_GID" "$HOME"
as_user=$AS_TEST_USER
env_user=$TEST_USER
deliver < "$DATA/plain.eml"
expect_rc 0 "$TEST_USER into its own Maildir: exit 0"
check "$TEST_USER into its own Maildir: the mail is in new/" one_new_in inbox
reset_env

check "no output line starts like a status code" no_dsn_codes
done_testing
