#!/bin/sh
# seeds.sh [DIR]: (re)makes the seed corpora of the fuzz targets from the
# test fixtures, into DIR/TARGET/seed-* (default DIR: tests/data/fuzz, the
# committed set). Only seed-* files are replaced: crash-* fixtures stay.
# Deterministic: the same fixtures give the same files. Each seed is small
# (at most the target's -max_len in run.sh), a few dozen per target.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/tests/data/fuzz}
d=$top/tests/data

for t in message recipient config template mbox; do
	mkdir -p "$out/$t"
	rm -f "$out/$t"/seed-*
done

# seed TARGET NAME: stdin into DIR/TARGET/seed-NAME.
seed() {
	cat > "$out/$1/seed-$2"
}

# Files of @ no larger than $max bytes, with their directory in the name.
small_files() {
	for f in "$@"; do
		[ -f "$f" ] && [ "$(wc -c < "$f")" -le "$max" ] && echo "$f"
	done
	return 0
}

# ---- message: every message fixture, and a sample of the tuning corpus ----
max=16384
for f in $(small_files "$d"/messages/*.eml "$d"/score/*.eml "$d"/cache/*.eml \
	"$d"/dns/*.eml "$d"/reply/*.eml "$d"/spamd/*.eml "$d"/explain/*.eml "$d"/mbox/*.eml); do
	seed message "$(basename "$(dirname "$f")")-$(basename "$f")" < "$f"
done
# Every 12th of the tuning half (held-out eval/ is left alone).
n=0
for f in $(small_files $(find "$d/corpus/tune" -type f -name '*.eml' | LC_ALL=C sort)); do
	n=$((n + 1))
	[ $((n % 12)) -eq 1 ] && seed message "corpus-$(basename "$f")" < "$f"
done

# ---- recipient: -a line, RECIPIENT line, then a header block ----------------
# header_block FILE: the fields of FILE up to its empty line, plus a body.
header_block() {
	sed -n '/^\r\{0,1\}$/q;p' "$1"
	printf '\nbody\n'
}
for f in "$d"/messages/*.eml "$d"/cache/*.eml; do
	{ printf '\nfred+x@example.org\n'; header_block "$f"; } |
		seed recipient "$(basename "$f" .eml)"
done
printf '\nmerlyn+for-stonehenge+fred@host\nDelivered-To: merlyn+for-stonehenge+barney@host\nX-Original-To: xot@example.org\n\nbody\n' |
	seed recipient delivered-to-unplus
printf 'opt+news@example.org\nfred@example.org\nX-Original-To: xot@x\nSubject: s\n\n' |
	seed recipient option
printf -- '-list-perl.misc@example.org\nfred@example.org\nSubject: s\n\n' |
	seed recipient original-env-list
printf '\n\nX-Original-To: Fred Bloggs <abc@lists.example.org>\n\n' | seed recipient x-original-to
printf '\nuser+../../etc@example.org\nDelivered-To: <catchall@x>\n\n' | seed recipient traversal
printf '\nfred@example.org\nX-Folder: .hidden\nSubject: vacation\nTo: fred@example.org\n\n' |
	seed recipient header-folder
printf '\n\nDelivered-To: \001\037 <a\177b@c>\n\n' | seed recipient control

# ---- config: the config fixtures, and every keyword once ---------------------
for f in "$d"/config/*.conf "$d"/check/*.conf; do
	seed config "$(basename "$f")" < "$f"
done
seed config keywords <<'CONF'
# every keyword and rule item once
maildir ~/Maildir
mbox Mail /var/mail/fred
personal fred@example.org @example.net
unplus ^(\w+)-lists@ ${1}@example.org
ube-folder spam.personal
ubetrap-folder inbox
required-score 6.5
max-score-size 512k
rules ~/.sortmail/local.cf /etc/sortmail/rules
log-file ~/.sortmail/log
syslog no
deadline 600
scorer-module /usr/lib/x/sortmail-score.so
cache none
rule-cache ~/r.cache
cache-ttl 90m
cache-wait 5
cache-shared yes
duplicates no
sendmail /usr/sbin/sendmail -oi
sendmail-timeout 30
pipe-timeout 1h
templates-dir ~/tpl
reply-memory ~/replied.db
dnsbl zen.spamhaus.org 127.0.0.2 2.0
spamd 127.0.0.1:783 replace
list announce members ~/members moderators ~/mods bounce owner@example.org post announce@example.org id announce.example.org tag "[announce]" hold held
rule from ^boss@example\.com$ noscore folder work
rule header List-Id: "<perl\.example\.org>" !from "^\"quoted\" x" folder lists.perl
rule to ^(.*)\+(.*)@ folder $2
rule to ^info@ autorespond information every 12h vacation reply-from info@example.org
rule to ^pipe@ pipe "/usr/bin/logger -t \"x y\"" pipe-defer even-spam
rule to ^sh@ pipe "echo hi | cat" shell folder sh
rule to ^fwd@ forward a@example.org b@example.org forward-sender me@example.org forward-spam
rule to ^announce@ rebroadcast announce
rule header Subject ^spam discard
CONF
printf 'rule to x folder a\0b\nmaildir /x\n' | seed config nul-byte
printf 'rule to ^(.)$ folder "$1"\nrule to "un terminated\nlist x members m bounce a@b post a@b\n' |
	seed config quoting

# ---- template: the stock and fixture templates, and every construct ---------
for f in "$top"/templates/stock/* "$d"/explain/templates/* "$d"/check/broken-template; do
	seed template "$(basename "$f")" < "$f"
done
for m in question injection; do
	{ cat "$top/templates/stock/information"; printf '\n==message==\n'; cat "$d/reply/$m.eml"; } |
		seed template "information-$m"
done
seed template constructs <<'TT'
[%# every construct once -%]
[% SET x = 'single \' \\ quoted' %][% y = "double $to ${msg.header.X-Mailer} \n\r\t\"\\\$ end" -%]
[% IF subject == 'x' %]a[% ELSIF not subject %]b[% ELSE %]c[% END %]
[% UNLESS zero %]zero is false[% END -%]
[% subject or '(no subject)' %] [% to and from %] [% !empty && (to || from) %] [% a != b %]
[% GET verdict.score %] [% 42 %] [% IF a; 'x'; ELSE; 'y'; END %]
[% head.Subject = "Re: " _ msg.header.Subject %][% head.Reply-To = 'r@example.org' %]
[% head.X-Loop = "x\ny" %][% head.From = 'Fred' %][% head.Bcc = 'b@example.org' %]
[% INCLUDE inc %][% INCLUDE 'signature' %][% which = 'normal_header' %][% INCLUDE "$which" %]
[%- # a comment inside a tag
x -%]
TT
printf '[%% INCLUDE loop %%]' | seed template cycle
printf '[%% INCLUDE ../../etc/passwd %%]' | seed template traversal
printf '[%% IF a %%][%% IF b %%][%% IF c %%]x[%% END %%][%% END %%]' | seed template unterminated
printf 'Hi [%% from %%]\n\n==message==\nFrom: =?utf-8?b?SsO8cmdlbgo=?= <j@example.net>\nSubject: =?utf-8?q?a=0D=0AX-Evil:_1?=\n\nbody\n' |
	seed template message-injection

# ---- mbox: the mbox fixtures, and messages written as mboxes -------------------
max=16384
for f in $(small_files "$d"/mbox/*.mbox "$d"/replay/*.mbox "$top"/demo/sample.mbox); do
	seed mbox "$(basename "$(dirname "$f")")-$(basename "$f")" < "$f"
done
from='From alice@example.org Mon Jan  1 10:00:00 2024'
for m in plain crlf from-line no-final-newline; do
	{ echo "$from"; sed 's/^\(>*From \)/>\1/' "$d/messages/$m.eml"; echo; } | seed mbox "message-$m"
done
printf '%s\nSubject: cut\n\nno empty line at the end' "$from" | seed mbox truncated
printf 'no From_ line first\n\n%s\r\nSubject: crlf\r\n\r\n>From x\r\n>>From y\r\n\r\n' "$from" |
	seed mbox crlf-quoting
printf 'From "john doe"@example.org Sun Jun 30 12:00:00 2024\n\nFrom here on, at 10:30 in 2024\n\nFrom bob Thu Jul  4 09:00:00 EDT 2024\nx\n' |
	seed mbox from-lines

for t in message recipient config template mbox; do
	echo "$t: $(ls "$out/$t" | grep -c '^seed-') seeds, $(cat "$out/$t"/seed-* | wc -c) bytes"
done
