#!/bin/sh
# run-demo.sh BUILD_DIR: the MIRV demo. Delivers every message of demo/sample.mbox
# (mboxrd) through BUILD_DIR/lda/sortmail into a fresh Maildir under
# BUILD_DIR/demo-out, the way Postfix would hand them over (one after another),
# then prints one row per delivery (message, original recipient, verdict, how
# the verdict was obtained, folder) taken from sortmail's own log file, and a
# summary.
#
# Who receives what: every address of the demo domains (example.com, localhost)
# named in To/Cc gets its own delivery, as Postfix delivers one copy per
# recipient; mail that names none of them (list mail) goes to the subscriber
# address fred@example.com. NAME@example.com reaches the demo user through a
# virtual_alias rewrite to demo+for-example+NAME@localhost, so each copy gets
# that Delivered-To line and sortmail's `unplus` rule recovers NAME@example.com.
#
# POSIX sh + awk + coreutils only. Exit 0 when every delivery succeeded.
set -eu

usage() { echo "usage: sh demo/run-demo.sh BUILD_DIR" >&2; exit 2; }
[ $# -eq 1 ] || usage
[ -d "$1" ] || { echo "run-demo.sh: no build directory $1" >&2; exit 2; }

top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
sortmail=$build/lda/sortmail
scorer=$build/score/.libs/sortmail-score.so
mbox=$top/demo/sample.mbox
[ -x "$sortmail" ] || { echo "run-demo.sh: $sortmail not built (run make)" >&2; exit 1; }
[ -f "$scorer" ] || echo "run-demo.sh: warning: no scorer module at $scorer" >&2

demo=$build/demo-out
rm -rf "$demo"
mkdir -p "$demo/.sortmail" "$demo/msgs"
log=$demo/sortmail.log
: >"$log"

# The config a user of this setup would write in ~/.sortmail/config.
cat >"$demo/.sortmail/config" <<EOF
# sortmail demo configuration (written by demo/run-demo.sh)
maildir $demo/Maildir
personal demo@localhost fred@example.com
# Postfix virtual_alias rewrites NAME@DOMAIN.com to demo+for-DOMAIN+NAME@localhost
unplus ^demo\\+for-([^+]+)\\+(.+)@ \$2@\$1.com
rule header List-Id debian-user\\.lists\\.debian\\.org folder lists
log-file $log
syslog no
EOF

# ---- split the mbox ------------------------------------------------------
# msgs/NNN holds message NNN with its From_ line; msgs/index has one line per
# message: NNN TAB sender TAB subject (for display) TAB recipients (space
# separated); the null sender is written "<>" since read would merge empty fields.
LC_ALL=C awk -v dir="$demo/msgs" '
function flush(   i, n, parts, rc, seen, a) {
	if (num == 0) return
	close(file)
	rc = ""
	n = split(rcpts, parts, " ")
	for (i = 1; i <= n; i++) {
		a = parts[i]
		if (a in seen) continue
		seen[a] = 1
		rc = rc (rc == "" ? "" : " ") a
	}
	if (rc == "") rc = "fred@example.com"
	if (subject == "") subject = "(no subject)"
	printf "%s\t%s\t%s\t%s\n", id, sender, decode(subject), rc >(dir "/index")
}
# Decodes RFC 2047 Q-encoded words (the only kind the sample uses) for display.
function decode(s,   out, pre, word, body, i, c) {
	out = ""
	while (match(s, /=\?[^?]*\?[Qq]\?[^?]*\?=/)) {
		pre = substr(s, 1, RSTART - 1)
		if (out != "" && pre ~ /^[ \t]*$/) pre = ""   # space between encoded words
		out = out pre
		word = substr(s, RSTART, RLENGTH)
		s = substr(s, RSTART + RLENGTH)
		sub(/^=\?[^?]*\?[Qq]\?/, "", word); sub(/\?=$/, "", word)
		gsub(/_/, " ", word)
		body = ""
		for (i = 1; i <= length(word); i++) {
			c = substr(word, i, 1)
			if (c == "=" && substr(word, i + 1, 2) ~ /^[0-9A-Fa-f][0-9A-Fa-f]$/) {
				body = body sprintf("%c", hex(substr(word, i + 1, 2)))
				i += 2
			} else
				body = body c
		}
		out = out body
	}
	return out s
}
function hex(h,   v, i) {
	v = 0
	for (i = 1; i <= 2; i++)
		v = v * 16 + index("0123456789abcdef", tolower(substr(h, i, 1))) - 1
	return v
}
function header_done(   name, val, a) {
	if (cur == "") return
	name = tolower(cur); sub(/:.*/, "", name)
	val = cur; sub(/^[^:]*:[ \t]*/, "", val)
	gsub(/\t/, " ", val)
	if (name == "subject") subject = val
	if (name == "to" || name == "cc") {
		while (match(val, /[A-Za-z0-9._%+=-]+@[A-Za-z0-9.-]+/)) {
			a = tolower(substr(val, RSTART, RLENGTH))
			val = substr(val, RSTART + RLENGTH)
			if (a ~ /@(example\.com|localhost)$/) rcpts = rcpts " " a
		}
	}
	cur = ""
}
# A From_ line starts a message at the top of the file or after a blank line;
# that blank line is the mbox separator, so a blank line is held back until
# the next line shows it belongs to the message.
/^From / && (NR == 1 || held) {
	held = 0
	flush()
	num++; id = sprintf("%03d", num); file = dir "/" id
	sender = $2; if (sender == "MAILER-DAEMON") sender = "<>"
	subject = ""; rcpts = ""; cur = ""; in_head = 1
	print >file
	next
}
num == 0 { next }
{
	if (in_head) {
		if ($0 == "") { header_done(); in_head = 0 }
		else if ($0 ~ /^[ \t]/) cur = cur " " $0
		else { header_done(); cur = $0 }
	}
	if (held) { print "" >file; held = 0 }
	if ($0 == "") { held = 1; next }
	line = $0
	if (line ~ /^>+From /) line = substr(line, 2)   # mboxrd un-quoting
	print line >file
}
END { flush() }
' "$mbox"

# ---- deliver -------------------------------------------------------------
# deliver MSGFILE SENDER ADDRESS: one delivery of MSGFILE to ADDRESS through a
# pipe, with the environment Postfix local(8) gives a mailbox_command.
# ORIGINAL_RECIPIENT is left out on purpose: as in a .forward pipe, the
# original recipient must come from the Delivered-To header.
deliver() {
	d_msg=$1 d_sender=$2 d_addr=$3
	case $d_addr in
	*@example.com) rcpt=demo+for-example+${d_addr%@example.com}@localhost ;;
	*) rcpt=$d_addr ;;
	esac
	local_part=${rcpt%@*}
	ext=
	case $local_part in *+*) ext=${local_part#*+} ;; esac
	{
		sed -n 1p "$d_msg"
		printf 'Delivered-To: %s\n' "$rcpt"
		sed 1d "$d_msg"
	} | env -i PATH="$PATH" HOME="$demo" USER=demo LOGNAME=demo SHELL=/bin/sh \
		SENDER="$d_sender" RECIPIENT="$rcpt" LOCAL="$local_part" DOMAIN="${rcpt#*@}" \
		EXTENSION="$ext" SORTMAIL_SCORER="$scorer" SORTMAIL_DATADIR="$top/score" \
		"$sortmail" 2>"$demo/stderr"
}

results=$demo/results
: >"$results"
failed=0
tab=$(printf '\t')
while IFS=$tab read -r id sender subject rcpts; do
	for addr in $rcpts; do
		before=$(wc -l <"$log")
		[ "$sender" = "<>" ] && sender=
		if deliver "$demo/msgs/$id" "$sender" "$addr"; then
			status=0
		else
			status=$?
			failed=$((failed + 1))
		fi
		after=$(wc -l <"$log")
		if [ "$status" -ne 0 ]; then
			line="deferred exit=$status to=$addr stderr: $(head -n 1 "$demo/stderr")"
		elif [ "$after" -ne $((before + 1)) ]; then
			line="nolog to=$addr (sortmail wrote $((after - before)) log lines)"
			failed=$((failed + 1))
		else
			line=$(tail -n 1 "$log")
		fi
		printf '%s\t%s\t%s\n' "$subject" "$addr" "$line" >>"$results"
	done
done <"$demo/msgs/index"

# ---- report --------------------------------------------------------------
scorings=$(grep -c 'via=scored' "$log" || true)
stored=$(find "$demo/Maildir" -path '*/new/*' -type f 2>/dev/null | wc -l)

LC_ALL=C awk -F '\t' -v scorings="$scorings" -v stored="$stored" -v maildir="$demo/Maildir" '
# Character-aware (UTF-8) width and truncation, so that awk in the C locale
# aligns non-ASCII subjects.
function width(s,   t) { t = s; gsub(/[\200-\277]/, "", t); return length(t) }
function cut(s, w,   i, n, c, out) {
	if (width(s) <= w) return s
	out = ""; n = 0
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c !~ /[\200-\277]/) { if (++n > w - 3) break }
		out = out c
	}
	return out "..."
}
function pad(s, w) { s = cut(s, w); return s sprintf("%" (w - width(s) + 1) "s", "") }
{
	subject = $1; addr = $2; line = $3
	# Quoted values (note="...", reason="...") may hold spaces and "key=" words.
	bare = line; gsub(/"[^"]*"/, "\"\"", bare)
	n = split(bare, f, " ")
	word = ""; to = ""; verdict = ""; score = ""; folder = ""; via = ""; id = ""
	for (i = 1; i <= n; i++) {
		if (word == "" && f[i] !~ /=/ && f[i] !~ /^sortmail\[[0-9]+\]:$/ && f[i] !~ /^[0-9:T.+-]+$/)
			word = f[i]
		if (f[i] ~ /^id=/ && id == "") id = substr(f[i], 4)
		if (f[i] ~ /^to=/ && to == "") to = substr(f[i], 4)
		if (f[i] ~ /^verdict=/ && verdict == "") verdict = substr(f[i], 9)
		if (f[i] ~ /^score=/ && score == "") score = substr(f[i], 7)
		if (f[i] ~ /^via=/ && via == "") via = substr(f[i], 5)
		if (f[i] ~ /^folder=/ && folder == "") folder = substr(f[i], 8)
	}
	if (word == "deferred" || word == "nolog") {
		folder = "FAILED"; verdict = "-"; via = "-"
		problems[++nproblems] = sprintf("%2d %s", nrows + 1, line)
	} else if (verdict == "spam" || verdict == "ham")
		verdict = verdict " " score
	if (word == "discarded") folder = "(discarded)"
	rows[++nrows] = sprintf("%2d %s%s%s%s%s", nrows, pad(subject, 30), pad(to == "" ? addr : to, 26),
		pad(verdict, 10), pad(via, 7), folder)
	count[folder]++
	if (!(folder in seen)) { seen[folder] = 1; order[++nf] = folder }
	# Per message: how many copies, and how each got its verdict.
	key = id == "" || id == "-" ? subject : id
	copies[key]++; title[key] = subject; how[key, via]++
}
END {
	printf "%2s %s%s%s%s%s\n", "#", pad("message", 30), pad("original recipient", 26),
		pad("verdict", 10), pad("via", 7), "folder"
	printf "%2s %s%s%s%s%s\n", "--", pad("-------", 30), pad("------------------", 26),
		pad("-------", 10), pad("---", 7), "------"
	for (i = 1; i <= nrows; i++) print rows[i]
	if (nproblems) print "\nfailed deliveries:"
	for (i = 1; i <= nproblems; i++) print problems[i]
	printf "\ndeliveries: %d\n", nrows
	printf "folders:"
	for (i = 1; i <= nf; i++) printf " %s %d%s", order[i], count[order[i]], i < nf ? "," : ""
	printf "\n"
	printf "scorings: %d\n", scorings
	burst = ""
	for (k in copies) if (burst == "" || copies[k] > copies[burst]) burst = k
	if (burst != "" && copies[burst] > 1) {
		printf "  the spam sent to %d addresses: scored %d time%s, %d cop%s %s",
			copies[burst], how[burst, "scored"], how[burst, "scored"] == 1 ? "" : "s",
			how[burst, "cached"], how[burst, "cached"] == 1 ? "y" : "ies",
			"took the verdict from the cache"
		if (how[burst, "waited"]) printf ", %d waited for it", how[burst, "waited"]
		printf "\n"
		if (how[burst, "scored"] > 1)
			print "  (each copy was scored on its own: this build has no shared verdict cache yet)"
	}
	printf "messages stored: %d, in the Maildir %s\n", stored, maildir
}
' "$results"
echo "log: $log"

if [ "$failed" -ne 0 ]; then
	echo "run-demo.sh: $failed deliveries failed" >&2
	exit 1
fi
