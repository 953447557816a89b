#!/bin/sh
# bench-burst.sh [BUILD_DIR]: the MIRV case. One spam sent to many local
# addresses at once reaches the delivery agent once per recipient, all at the
# same moment. What does a burst of 20 (and 100) such deliveries cost through
# sortmail (one delivery scores, the others take the cached verdict) and
# through the chain it replaces (procmail piping every copy through spamc to a
# local spamd)? And what does one cache-hit delivery cost next to one plain
# procmail delivery? Prints markdown tables. A benchmark, never a test: no
# pass/fail, not part of `make check`. See tests/bench/README.
#
# Needs hyperfine, procmail, spamassassin, spamc, spamd, python3 (Debian
# packages of those names); installs the missing ones with apt-get when run as
# root. Tunables (environment):
#   BENCH_BURSTS       bursts per burst case, median taken (default 5)
#   BENCH_BURSTS_SLOW  the same for the 100 x 110 KB burst through spamd (default 3)
#   BENCH_RUNS         timed runs per single-delivery case (default 300)
#   BENCH_PORT         spamd's port on 127.0.0.1 (default 27831)
#   BENCH_BIG          0 skips the 110 KB bursts
#   BENCH_CLASSIC      0 skips procmail + spamc + spamd in the bursts (no spamd)
#
# No file is deleted while anything is timed: on ext4 without a journal (as
# here) creating a file gets slower for minutes after many files were deleted
# nearby (the inode allocator skips recently freed inodes one by one), which
# would charge one tool for another's clean-up. Finished bursts are moved
# aside, delivered mail stays, and the previous run's tree is deleted at the end.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
bursts=${BENCH_BURSTS:-5}
bursts_slow=${BENCH_BURSTS_SLOW:-3}
runs=${BENCH_RUNS:-300}
port=${BENCH_PORT:-27831}
big=${BENCH_BIG:-1}
classic=${BENCH_CLASSIC:-1}
sortmail=$build/lda/sortmail
scorer=$build/score/.libs/sortmail-score.so

die() { echo "bench-burst.sh: $*" >&2; exit 1; }
note() { echo "$*" >&2; }
[ -x "$sortmail" ] || die "$sortmail not built (run make in $build)"
[ -f "$scorer" ] || die "$scorer not built (run make in $build)"

# ---- tools ---------------------------------------------------------------
missing=
pairs="hyperfine:hyperfine procmail:procmail python3:python3"
[ "$classic" = 0 ] || pairs="$pairs spamassassin:spamassassin spamc:spamc spamd:spamd"
for pair in $pairs; do
	pkg=${pair%%:*} cmd=${pair#*:}
	command -v "$cmd" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
	[ "$(id -u)" -eq 0 ] || die "missing packages:$missing (run as root, or apt-get install$missing)"
	note "installing$missing ..."
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	# policy-rc.d, where present, keeps the package from starting its own spamd.
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# ---- the work tree -------------------------------------------------------
work=$build/bench-burst-out
trash=$build/bench-burst-out.old.$$
[ ! -d "$work" ] || mv "$work" "$trash"
mkdir -p "$work"
home=$work/home
mkdir -p "$home"

# procmail run by root creates the system mailbox (/var/mail/root) even when
# the rc file files everything elsewhere; removed at the end if we made it.
orgmail=/var/mail/$(id -un)
orgmail_was_there=no
[ -e "$orgmail" ] && orgmail_was_there=yes

# spam FILE BODY_BYTES: a pharmacy spam, multipart/alternative (text and HTML),
# with about BODY_BYTES of body. No Delivered-To: each copy gets its own.
spam() {
	awk -v want="$2" -v tag="$(basename "$1" .eml)" 'BEGIN {
		drug[0] = "Viagra"; drug[1] = "Cialis"; drug[2] = "Levitra"; drug[3] = "Xanax"
		drug[4] = "Valium"; drug[5] = "Ambien"; drug[6] = "Soma"; drug[7] = "Tramadol"
		drug[8] = "Phentermine"; drug[9] = "Propecia"; drug[10] = "Lipitor"; drug[11] = "Zoloft"
		form[0] = "tablets"; form[1] = "soft tabs"; form[2] = "capsules"; form[3] = "generic"
		intro = "Dear valued customer,\n\n" \
			"Our online pharmacy celebrates its 10th anniversary with the BIGGEST SALE of the year!\n" \
			"Order today and save up to 80% on brand and generic meds. No prescription needed,\n" \
			"no doctor visit, shipped discreetly worldwide in plain packaging.\n\n" \
			"This week only:\n"
		outro = "\nLimited time offer! Act now, these prices expire in 24 hours.\n" \
			"100% satisfaction guaranteed or your money back. Free shipping on orders over $99.\n" \
			"Order now: http://203.0.113.77/shop/?ref=48213\n\n" \
			"You receive this mail because you subscribed to our partner offers.\n" \
			"To unsubscribe from our mailing list click here: http://203.0.113.77/unsub\n"
		text = intro; html = "<html><body bgcolor=\"#ffffff\">\n<p><font size=\"5\" color=\"#ff0000\"><b>Dear valued customer,</b></font></p>\n" \
			"<p>Our online pharmacy celebrates its 10th anniversary with the <b>BIGGEST SALE</b> of the year!<br>\n" \
			"Order today and save up to 80% on brand and generic meds. No prescription needed,<br>\n" \
			"no doctor visit, shipped discreetly worldwide in plain packaging.</p>\n<table>\n"
		fixed = length(intro) + length(outro) * 2 + 900
		for (i = 0; fixed + length(text) + length(html) < want; i++) {
			d = drug[i % 12]; f = form[int(i / 12) % 4]; mg = 10 * (1 + (i * 7) % 20)
			was = 3 + (i * 37) % 9; now = was / 4
			t = sprintf("  %s %s %d mg: $%.2f per pill (was $%d.00), order code %s-%04d\n",
				d, f, mg, now, was, toupper(substr(d, 1, 3)), i)
			h = sprintf("<tr><td><b>%s</b> %s %d mg</td><td><font color=\"#ff0000\">$%.2f</font> per pill</td><td><s>$%d.00</s></td><td><a href=\"http://203.0.113.77/shop/?item=%04d\">BUY NOW</a></td></tr>\n",
				d, f, mg, now, was, i)
			text = text t; html = html h
		}
		html = html "</table>\n<p><b>Limited time offer!</b> Act now, these prices expire in 24 hours.<br>\n" \
			"100% satisfaction guaranteed or your money back. Free shipping on orders over $99.</p>\n" \
			"<p><a href=\"http://203.0.113.77/shop/?ref=48213\">CLICK HERE TO ORDER NOW</a></p>\n" \
			"<p><font size=\"1\" color=\"#ffffff\">You receive this mail because you subscribed to our partner offers.\n" \
			"To unsubscribe from our mailing list click here.</font></p>\n</body></html>\n"
		text = text outro
		print "Return-Path: <sales-desk@cheap-meds-online.example>"
		print "Received: from mail.cheap-meds-online.example ([198.51.100.23])"
		print "\tby mx.example.com (Postfix) with ESMTP id 4TvQ2x1Kz9"
		print "\tfor <undisclosed-recipients>; Sat, 16 Mar 2024 03:12:45 +0100 (CET)"
		print "From: \"Pharmacy Outlet\" <sales-desk@cheap-meds-online.example>"
		print "To: undisclosed-recipients:;"
		print "Subject: Anniversary SALE - save 80% on meds, no prescription needed!!!"
		print "Date: Sat, 16 Mar 2024 03:12:40 +0100"
		print "Message-ID: <20240316031240." tag ".7f3a9@mail.cheap-meds-online.example>"
		print "MIME-Version: 1.0"
		print "Content-Type: multipart/alternative; boundary=\"=_meds_0042\""
		print "X-Mailer: Bulk Mailer Pro 9.0"
		print ""
		print "This is a multi-part message in MIME format."
		print ""
		print "--=_meds_0042"
		print "Content-Type: text/plain; charset=us-ascii"
		print "Content-Transfer-Encoding: 7bit"
		print ""
		printf "%s\n", text
		print "--=_meds_0042"
		print "Content-Type: text/html; charset=us-ascii"
		print "Content-Transfer-Encoding: 7bit"
		print ""
		printf "%s\n", html
		print "--=_meds_0042--"
	}' >"$1"
}

# copies DIR MESSAGE N: N copies as Postfix would hand them over, each with its
# own Delivered-To (the virtual alias u+for-example+nameI@host of nameI@example.com).
copies() {
	mkdir -p "$1"
	i=1
	while [ "$i" -le "$3" ]; do
		{ echo "Delivered-To: u+for-example+name$i@host"; cat "$2"; } >"$1/$i.eml"
		i=$((i + 1))
	done
}

spam "$work/spam-5k.eml" 5000
spam "$work/spam-110k.eml" 112000
copies "$work/copies-5k" "$work/spam-5k.eml" 100
copies "$work/copies-110k" "$work/spam-110k.eml" 100
size5k=$(wc -c <"$work/copies-5k/1.eml")
size110k=$(wc -c <"$work/copies-110k/1.eml")

# The environment Postfix local(8) gives a mailbox_command; the burst driver
# sets RECIPIENT and EXTENSION per copy.
HOME=$home USER=u LOGNAME=u SENDER=sales-desk@cheap-meds-online.example RECIPIENT=u@host
SORTMAIL_SCORER=$scorer SORTMAIL_DATADIR=$top/score
export HOME USER LOGNAME SENDER RECIPIENT SORTMAIL_SCORER SORTMAIL_DATADIR
unset ORIGINAL_RECIPIENT EXTENSION

# sortmail: the stock rules, the verdict cache in the work tree, the un-plus
# rule that turns u+for-example+nameI@host into nameI@example.com.
# sm_config FILE MAILDIR LOG CACHE [MORE LINES]
sm_config() {
	{
		echo "maildir $2"
		echo "syslog no"
		echo "log-file $3"
		echo "cache $4"
		echo 'unplus ^u\+for-([^+]+)\+(.+)@ $2@$1.com'
		[ $# -lt 5 ] || printf '%s\n' "$5"
	} >"$1"
}
sm=$work/sortmail
mkdir -p "$sm/old"
sm_config "$sm/config" "$sm/Maildir" "$sm/log" "$sm/cache/verdicts.db"
# Before each burst: an empty cache, no journal, no mail, no log (the last
# burst's are moved to old/).
sm_reset="d=\$(mktemp -d $sm/old/XXXXXX) && for x in Maildir cache log; do
	if [ -e $sm/\$x ]; then mv $sm/\$x \$d/; fi; done"

# The classic chain: procmail pipes every copy through spamc, then files it by
# X-Spam-Flag.
cl=$work/classic
mkdir -p "$cl/old"
cat >"$cl/procmailrc" <<EOT
MAILDIR=$cl/Maildir
DEFAULT=$cl/Maildir/
:0fw
| spamc -d 127.0.0.1 -p $port
:0
* ^X-Spam-Flag: YES
.spam/
EOT
cl_reset="if [ -e $cl/Maildir ]; then mv $cl/Maildir \$(mktemp -d $cl/old/XXXXXX)/; fi
	mkdir -p $cl/Maildir/tmp $cl/Maildir/new $cl/Maildir/cur \
		$cl/Maildir/.spam/tmp $cl/Maildir/.spam/new $cl/Maildir/.spam/cur"

# ---- spamd ---------------------------------------------------------------
spamd_pidfile=$work/spamd.pid
spamd_pid=
cleanup() {
	if [ -n "$spamd_pid" ]; then
		kill "$spamd_pid" 2>/dev/null || true
		i=0
		while [ "$i" -lt 50 ] && kill -0 "$spamd_pid" 2>/dev/null; do
			sleep 0.1; i=$((i + 1))
		done
		spamd_pid=
	fi
	if [ "$orgmail_was_there" = no ] && [ -f "$orgmail" ] && [ ! -s "$orgmail" ]; then
		rm -f "$orgmail"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Debian's spamd with its stock rules, local tests only (-L: no DNS, no
# network checks), two children, its own pid file, stopped on exit. As root
# it runs as nobody (-u) and reads no per-user settings (-x). Its site config
# is a copy of /etc/spamassassin with a writable Bayes path added (Debian's own
# service has one, in debian-spamd's home): without it every check logs a
# failed Bayes lock. Nothing outside the work tree is changed.
start_spamd() {
	site=$work/spamd-site
	state=$work/spamd-state
	cp -R /etc/spamassassin "$site"
	mkdir -p "$state"
	echo "bayes_path $state/bayes" >>"$site/local.cf"
	user_opt=
	if [ "$(id -u)" -eq 0 ]; then
		user_opt="-u nobody"
		chown nobody "$state"
	fi
	# shellcheck disable=SC2086
	spamd -L -x $user_opt --siteconfigpath="$site" -i 127.0.0.1 -A 127.0.0.1 -p "$port" \
		--max-children 2 -r "$spamd_pidfile" -s "$work/spamd.log" -d \
		|| die "spamd did not start; see $work/spamd.log"
	i=0
	until [ -s "$spamd_pidfile" ] && spamc -K -d 127.0.0.1 -p "$port" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -lt 300 ] || die "spamd not answering on port $port after 30 s; see $work/spamd.log"
		sleep 0.1
	done
	spamd_pid=$(cat "$spamd_pidfile")
}
[ "$classic" = 0 ] || start_spamd

# ---- the measuring driver --------------------------------------------------
# Python, for wall time around exactly the deliveries and the CPU of all of them
# (getrusage of the children: each delivery and whatever it waited for, such as
# procmail's spamc), plus spamd's CPU from /proc (it is no child of ours).
cat >"$work/drive.py" <<'EOT'
import os, resource, statistics, subprocess, sys, time

def spamd_cpu(pid):
    """CPU seconds of spamd and its live children (reaped ones are in its cutime)."""
    if not pid:
        return 0.0
    total = 0
    for p in os.listdir('/proc'):
        if not p.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % p) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(')') + 2:].split()
        if int(p) == pid:
            total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        elif int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf('SC_CLK_TCK')

def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime

def burst(cmd, copies, n):
    """N deliveries at once, copy I with RECIPIENT/EXTENSION of nameI. Wall, CPU."""
    files = [open(os.path.join(copies, '%d.eml' % i), 'rb') for i in range(1, n + 1)]
    envs = []
    for i in range(1, n + 1):
        e = dict(os.environ)
        e['RECIPIENT'] = 'u+for-example+name%d@host' % i
        e['EXTENSION'] = 'for-example+name%d' % i
        envs.append(e)
    cpu0 = children_cpu()
    t0 = time.perf_counter()
    procs = [subprocess.Popen(cmd, stdin=files[i], env=envs[i]) for i in range(n)]
    codes = [p.wait() for p in procs]
    wall = time.perf_counter() - t0
    cpu = children_cpu() - cpu0
    for f in files:
        f.close()
    return wall, cpu, codes

def count_files(d):
    return sum(len(fs) for root, _, fs in os.walk(d) if os.path.basename(root) == 'new')

def log_counts(path):
    c = {'scored': 0, 'cached': 0, 'waited': 0, 'other': 0}
    try:
        with open(path) as f:
            for line in f:
                for k in ('scored', 'cached', 'waited'):
                    if ' via=%s ' % k in line:
                        c[k] += 1
                        break
                else:
                    c['other'] += 1
    except FileNotFoundError:
        pass
    return c

def span(v):
    return '%d' % v[0] if min(v) == max(v) else '%d-%d' % (min(v), max(v))

def main_burst(a):
    """burst LABEL N RUNS COPIES RESET MAILDIR|- LOG|- SPAMD_PID|0 -- CMD...
    MAILDIR must receive N files in new/ (- : not checked). One line: LABEL|N|RUNS|wall|CPU|spamd CPU|total CPU|worst wall|via counts."""
    label, n, runs, copies, reset, maildir, log, spid = a[:8]
    n, runs, spid = int(n), int(runs), int(spid)
    cmd = a[9:]
    walls, cpus, dcpus, scored, waited = [], [], [], [], []
    for r in range(runs):
        subprocess.run(reset, shell=True, check=True)
        d0 = spamd_cpu(spid)
        wall, cpu, codes = burst(cmd, copies, n)
        time.sleep(0.05)  # spamd's children finish their bookkeeping
        dcpu = spamd_cpu(spid) - d0
        bad = [c for c in codes if c != 0]
        got = count_files(maildir) if maildir != '-' else n
        if bad or got != n:
            sys.exit('%s: run %d: %d deliveries failed (exit %s), %d of %d files filed'
                     % (label, r + 1, len(bad), sorted(set(bad)), got, n))
        walls.append(wall); cpus.append(cpu); dcpus.append(dcpu)
        extra = ''
        if log != '-':
            lc = log_counts(log)
            scored.append(lc['scored']); waited.append(lc['waited'])
            extra = ' scored=%(scored)d cached=%(cached)d waited=%(waited)d other=%(other)d' % lc
        print('  %s x %d, run %d: wall %.3f s, CPU %.3f s + spamd %.3f s%s'
              % (label, n, r + 1, wall, cpu, dcpu, extra), file=sys.stderr)
    med = statistics.median
    sc = '%s (%s)' % (span(scored), span(waited)) if scored else '-'
    print('%s|%d|%d|%.4f|%.4f|%.4f|%.4f|%.4f|%s' % (
        label, n, runs, med(walls), med(cpus), med(dcpus),
        med([c + d for c, d in zip(cpus, dcpus)]), max(walls), sc))

def main_inter(a):
    """inter RUNS WARMUP SPEC: single deliveries, no shell in between, the cases
    taken in turn (round robin) so that they share whatever else the machine
    does. SPEC lines: NAME|INPUT|ARGV (ARGV split on spaces); INPUT is a file,
    or vary:FILE for FILE with a Delivered-To of its own each run. One line per
    case: NAME|RUNS|median wall|median CPU."""
    runs, warm = int(a[0]), int(a[1])
    cases = []
    with open(a[2]) as f:
        for line in f:
            name, inp, argv = line.rstrip('\n').split('|')
            cases.append((name, inp, argv.split()))
    res = {name: ([], []) for name, _, _ in cases}
    for r in range(warm + runs):
        for k, (name, inp, argv) in enumerate(cases):
            if inp.startswith('vary:'):
                with open(inp[5:], 'rb') as f:
                    body = f.read()
                inp = '%s.vary%d' % (inp[5:], k)
                with open(inp, 'wb') as f:  # rewritten in place, never deleted
                    # a recipient of its own per round and case: never a duplicate
                    f.write(b'Delivered-To: u+for-example+run%d-%d-%d@host\n' % (r, k, os.getpid()))
                    f.write(body)
            with open(inp, 'rb') as f:
                c0 = children_cpu()
                t0 = time.perf_counter()
                code = subprocess.Popen(argv, stdin=f).wait()
                wall = time.perf_counter() - t0
                cpu = children_cpu() - c0
            if code != 0:
                sys.exit('%s: run %d exited %d' % (name, r + 1, code))
            if r >= warm:
                res[name][0].append(wall); res[name][1].append(cpu)
    for name, _, _ in cases:
        w, c = res[name]
        print('%s|%d|%.5f|%.5f' % (name, runs, statistics.median(w), statistics.median(c)))

if __name__ == '__main__':
    {'burst': main_burst, 'inter': main_inter}[sys.argv[1]](sys.argv[2:])
EOT
drive() { python3 "$work/drive.py" "$@"; }

# ---- sanity: each path does what it is meant to ---------------------------
mkdir -p "$work/check"
sm_config "$work/check/config" "$work/check/Maildir" "$work/check/log" \
	"$work/check/verdicts.db"
"$sortmail" -v -c "$work/check/config" <"$work/copies-5k/1.eml" 2>"$work/check/out" \
	|| die "sortmail failed on the check delivery: $(cat "$work/check/out")"
grep -q 'verdict=spam .*via=scored' "$work/check/out" \
	|| die "sortmail did not score the 5 KB copy as spam: $(cat "$work/check/out")"
sm_check=$(sed 's/^sortmail\[[0-9]*\]: //' "$work/check/out")
if [ "$classic" != 0 ]; then
	sa_check=$(spamc -d 127.0.0.1 -p "$port" -c <"$work/copies-5k/1.eml" || true)
	sa_check_big=$(spamc -d 127.0.0.1 -p "$port" -c <"$work/copies-110k/1.eml" || true)
	case $sa_check in */*) ;; *) die "spamc -c gave '$sa_check'";; esac
fi

load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
note "measuring: $bursts bursts per case (BENCH_BURSTS), $runs runs per single delivery" \
	"(BENCH_RUNS); work tree $work"

# ---- 1 and 2: the bursts --------------------------------------------------
results=$work/burst.results
: >"$results"
# The floor: starting N processes that read their copy and file nothing.
for n in 20 100; do
	drive burst "/bin/true (process start floor)" "$n" "$bursts" "$work/copies-5k" : - - 0 \
		-- /bin/true >>"$results" 2>>"$work/burst.log" || die "the /bin/true burst failed"
done

burst_case() { # SIZE N CLASSIC_RUNS
	copies_dir=$work/copies-$1
	drive burst "sortmail, $1" "$2" "$bursts" "$copies_dir" "$sm_reset" "$sm/Maildir" \
		"$sm/log" 0 -- "$sortmail" -c "$sm/config" >>"$results" 2>>"$work/burst.log" \
		|| die "sortmail burst failed; see $work/burst.log"
	tail -n 1 "$work/burst.log" >&2
	[ "$classic" != 0 ] || return 0
	drive burst "procmail + spamc + spamd, $1" "$2" "$3" "$copies_dir" "$cl_reset" \
		"$cl/Maildir/.spam" - "$spamd_pid" -- procmail "$cl/procmailrc" \
		>>"$results" 2>>"$work/burst.log" \
		|| die "classic burst failed (not every copy filed as spam?); see $work/burst.log"
	tail -n 1 "$work/burst.log" >&2
}
burst_case 5k 20 "$bursts"
burst_case 5k 100 "$bursts"
if [ "$big" != 0 ]; then
	burst_case 110k 20 "$bursts"
	burst_case 110k 100 "$bursts_slow"
fi

# ---- 3: one cache-hit delivery vs one procmail delivery ------------------
# The same 5 KB copy each time. sortmail's cache holds its verdict (one
# delivery made it). With the duplicates journal on (the default) a second
# delivery for the same recipient would stop at the journal, so in that case
# every run gets a copy with a Delivered-To of its own (written before the run,
# not timed); the other configuration says `duplicates no`.
hit=$work/hit
mkdir -p "$hit"
sm_config "$hit/dup.config" "$hit/Maildir-dup" "$hit/dup.log" "$hit/cache-dup/verdicts.db"
sm_config "$hit/nodup.config" "$hit/Maildir-nodup" "$hit/nodup.log" \
	"$hit/cache-nodup/verdicts.db" "duplicates no"
sm_config "$hit/noscore.config" "$hit/Maildir-noscore" "$hit/noscore.log" none \
	"rule header Subject ^Anniversary.SALE folder bench noscore"
sm_config "$hit/scored.config" "$hit/Maildir-scored" "$hit/scored.log" none
for v in dup nodup; do
	"$sortmail" -c "$hit/$v.config" <"$work/copies-5k/1.eml" || die "cache fill ($v) failed"
done
mkdir -p "$hit/procmail/tmp" "$hit/procmail/new" "$hit/procmail/cur" \
	"$hit/procmail/.bench/tmp" "$hit/procmail/.bench/new" "$hit/procmail/.bench/cur"
cat >"$hit/procmailrc" <<EOT
MAILDIR=$hit/procmail
DEFAULT=$hit/procmail/
:0
* ^Subject:.*Anniversary SALE
.bench/
EOT
cp "$work/copies-5k/1.eml" "$hit/msg.eml"
cp "$work/copies-5k/1.eml" "$hit/vary.eml"
# next.sh (hyperfine's --prepare): the next copy, with a Delivered-To never
# used before, written over the last one.
cat >"$hit/next.sh" <<EOT
n=\$(cat $hit/counter 2>/dev/null || echo 0); n=\$((n + 1)); echo \$n >$hit/counter
{ echo "Delivered-To: u+for-example+hit\$n@host"; cat $work/spam-5k.eml; } >$hit/vary.eml
EOT

# An experiment, not a configuration to ship: sortmail relinked with GLib,
# PCRE2 and GDBM static (their Debian -dev packages carry the .a files), to
# see what loading those shared libraries costs a cache hit. Only the cache-hit
# path is fair game: the scorer module brings its own shared GLib.
static=$work/sortmail-static-deps
static_case=
if gcc -O2 -o "$static" "$build/lda/main.o" "$build/lda/.libs/libsmlda.a" \
	"$build/sortmail/.libs/libsmsort.a" "$build/score/.libs/libsmscoreloader.a" \
	"$build/templates/.libs/libsmreplyloader.a" \
	"$build/cache/.libs/libsmcache.a" "$build/common/.libs/libsmcommon.a" \
	-Wl,-Bstatic -lgdbm -lglib-2.0 -lpcre2-8 -Wl,-Bdynamic -lm -pthread \
	>"$work/static-link.log" 2>&1; then
	sm_config "$hit/static.config" "$hit/Maildir-static" "$hit/static.log" \
		"$hit/cache-static/verdicts.db" "duplicates no"
	"$sortmail" -c "$hit/static.config" <"$work/copies-5k/1.eml" || die "cache fill (static) failed"
	static_case="sortmail, cache hit (duplicates no), GLib/PCRE2/GDBM static (experiment)|$hit/msg.eml|$static -c $hit/static.config"
else
	note "  (no static relink, see $work/static-link.log: that row is left out)"
fi

# Attribution, not a configuration: sortmail fsyncs the directory it links a
# message into, procmail does not. nodirsync.so (tests/bench/nodirsync.c)
# makes directory fsyncs return at once; loaded into procmail and into
# sortmail alike (env adds the same exec to both), the difference between
# those two rows is the rest of the gap.
nodirsync=$work/nodirsync.so
shim_cases=
if cc -O2 -shared -fPIC -o "$nodirsync" "$top/tests/bench/nodirsync.c" -ldl \
	>"$work/nodirsync.log" 2>&1; then
	shim_cases="procmail, one recipe, nodirsync.so|$hit/msg.eml|env LD_PRELOAD=$nodirsync procmail $hit/procmailrc
sortmail, cache hit (duplicates yes, new recipient each run), nodirsync.so|vary:$work/spam-5k.eml|env LD_PRELOAD=$nodirsync $sortmail -c $hit/dup.config"
else
	note "  (no nodirsync.so, see $work/nodirsync.log: those rows are left out)"
fi

# NAME|INPUT|COMMAND; INPUT vary:FILE = FILE with a new Delivered-To each run.
cat >"$work/single.cases" <<EOT
/bin/true (process start)|$hit/msg.eml|/bin/true
procmail, one recipe|$hit/msg.eml|procmail $hit/procmailrc
sortmail, cache hit (duplicates no)|$hit/msg.eml|$sortmail -c $hit/nodup.config
sortmail, cache hit (duplicates yes, new recipient each run)|vary:$work/spam-5k.eml|$sortmail -c $hit/dup.config
sortmail, noscore rule (nothing scored, no cache)|$hit/msg.eml|$sortmail -c $hit/noscore.config
sortmail, scored (cache none)|$hit/msg.eml|$sortmail -c $hit/scored.config
EOT
[ -z "$static_case" ] || echo "$static_case" >>"$work/single.cases"
[ -z "$shim_cases" ] || echo "$shim_cases" >>"$work/single.cases"

# hyperfine, one case after another, its shell's start-up subtracted.
hf=$work/hyperfine.results
: >"$hf"
while IFS='|' read -r name input cmd; do
	note "  one delivery, hyperfine: $name"
	prepare=:
	case $input in vary:*) prepare="sh $hit/next.sh" input=$hit/vary.eml ;; esac
	n=$runs
	case $name in *scored*) n=50 ;; esac
	hyperfine --style basic --warmup 20 --runs "$n" --prepare "$prepare" \
		--export-csv "$work/h.csv" "$cmd <$input" >>"$work/hyperfine.log" 2>&1 \
		|| die "hyperfine failed on $name; see $work/hyperfine.log"
	# command,mean,stddev,median,user,system,min,max (counted from the end:
	# the command may hold commas)
	tail -n 1 "$work/h.csv" | awk -F, -v name="$name" '{
		printf "%s|%s|%s|%s\n", name, $(NF - 4), $(NF - 5), $(NF - 3) + $(NF - 2) }' >>"$hf"
done <"$work/single.cases"

# The same cases without a shell and taken in turn (hyperfine 1.15 cannot give
# a command it starts itself, -N, a file on stdin).
note "  one delivery, interleaved: $runs rounds"
inter=$work/inter.results
drive inter "$runs" 20 "$work/single.cases" >"$inter" || die "interleaved runs failed"

# Every timed sortmail delivery took the path it is named after.
for v in dup nodup static; do
	[ -f "$hit/$v.log" ] || continue
	lines=$(($(wc -l <"$hit/$v.log") - 1))
	cached=$(grep -c '^[^ ]* sortmail\[[0-9]*\]: delivered .* via=cached ' "$hit/$v.log" || true)
	[ "$cached" -eq "$lines" ] \
		|| die "$v: $cached of $lines timed deliveries were cache hits; see $hit/$v.log"
done
# Medians of the log's ms= (sortmail's own clock, from the start of the
# delivery in main() to the log line), first line (the cache fill) left out.
inproc() { sed -n '2,$s/.* ms=\([0-9.]*\).*/\1/p' "$1" | sort -n \
	| awk '{ a[NR] = $1 } END { print (NR ? a[int((NR + 1) / 2)] : "-") }'; }
inproc_nodup=$(inproc "$hit/nodup.log")
inproc_dup=$(inproc "$hit/dup.log")
inproc_noscore=$(sed -n 's/.* ms=\([0-9.]*\).*/\1/p' "$hit/noscore.log" | sort -n \
	| awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')

# ---- report --------------------------------------------------------------
fs=$(df -PT "$work" 2>/dev/null | awk 'NR == 2 { print $2 }')
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores${cpu:+ ($cpu)}, $(uname -sr)," \
	"work tree on ${fs:-?}, load average before the run $load"
case $load in
0.[0-4]*) ;;
*) echo "WARNING: the machine was busy before the run (load average $load): unreliable timings" ;;
esac
echo "$("$sortmail" --version | head -n 1); $(procmail -v 2>&1 | head -n 1 | cut -d' ' -f1-2);" \
	"$(hyperfine --version)"
echo "sortmail, first copy: $sm_check"
if [ "$classic" != 0 ]; then
	echo "$(spamd --version | head -n 1); $(spamc -V | head -n 1); -L -x --max-children 2" \
		"on 127.0.0.1:$port, Debian's rules and site config, Bayes writable"
	echo "spamc -c (score/threshold): 5 KB $sa_check, 110 KB $sa_check_big"
fi
echo
echo "Bursts: N copies of one spam (5k: $size5k bytes, 110k: $size110k bytes) started at once,"
slow_note=
[ "$big" = 0 ] || [ "$classic" = 0 ] || slow_note=" ($bursts_slow for 100 x 110k through spamd)"
echo "each with its own Delivered-To; sortmail starts each burst with an empty cache. Medians"
echo "of $bursts bursts$slow_note. CPU = user+sys of every delivery process and what it"
echo "waited for (procmail's spamc), plus spamd's own (parent and children)."
echo
awk -F'|' '
	BEGIN {
		print "| burst | copies | wall, median | wall, worst | CPU of the deliveries | CPU of spamd | CPU total | via=scored (via=waited) |"
		print "|---|---:|---:|---:|---:|---:|---:|---:|"
	}
	{ printf "| %s | %d | %.3f s | %.3f s | %.3f s | %s | %.3f s | %s |\n", $1, $2, $4, $8, $5,
		($6 > 0 ? sprintf("%.3f s", $6) : "-"), $7, $9 }' "$results"
echo
echo "One delivery of the 5 KB copy into a Maildir folder. hyperfine: $runs runs after 20 warm-up"
echo "runs (50 for the scored case), one case after another, its shell's start-up subtracted;"
echo "median wall, mean CPU. Interleaved: no shell, the cases taken in turn, $runs rounds after"
echo "20 warm-up rounds, medians. sortmail's own clock (log ms=, main() to the log line), median:"
echo "cache hit $inproc_nodup ms (duplicates no), $inproc_dup ms (duplicates yes); noscore $inproc_noscore ms."
echo
awk -F'|' -v interf="$inter" '
	BEGIN {
		while ((getline l < interf) > 0) { split(l, f, "|"); iw[f[1]] = f[3]; ic[f[1]] = f[4] }
		print "| delivery | hyperfine: wall | ± stddev | CPU | vs procmail | interleaved: wall | CPU | vs procmail |"
		print "|---|---:|---:|---:|---:|---:|---:|---:|"
	}
	{ name[NR] = $1; wall[NR] = $2; sd[NR] = $3; cpu[NR] = $4
	  if ($1 == "procmail, one recipe") base = $2
	  if ($1 == "procmail, one recipe, nodirsync.so") shimbase = $2 }
	END {
		ib = iw["procmail, one recipe"]
		isb = iw["procmail, one recipe, nodirsync.so"]
		for (i = 1; i <= NR; i++) {
			n = name[i]
			# the nodirsync.so rows against procmail with the same library
			shim = n ~ /nodirsync/
			printf "| %s | %.2f ms | %.2f ms | %.2f ms | %.2fx | %.2f ms | %.2f ms | %.2fx |\n", n,
				wall[i] * 1000, sd[i] * 1000, cpu[i] * 1000, wall[i] / (shim ? shimbase : base),
				iw[n] * 1000, ic[n] * 1000, iw[n] / (shim ? isb : ib)
		}
	}' "$hf"
[ -z "$shim_cases" ] || echo "(rows with nodirsync.so: \"vs procmail\" is against procmail with nodirsync.so)"

# Clean up only now that nothing is timed any more (see the top of the file).
rm -rf "$build"/bench-burst-out.old.* "$sm/old" "$cl/old"
