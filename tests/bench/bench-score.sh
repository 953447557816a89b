#!/bin/sh
# bench-score.sh [BUILD_DIR]: what scoring one message costs, with sortmail's
# stock rules and with Debian's SpamAssassin rules (/usr/share/spamassassin),
# on a typical ~5 KB message and a ~500 KB one, next to spamc asking a local
# spamd about the same messages. Prints a markdown table. A benchmark, never a
# test: no pass/fail, not part of `make check`. See tests/bench/README.
#
# Needs spamassassin, spamc, spamd (Debian packages of those names; installed
# with apt-get when missing and run as root) and python3. Tunables:
#   BENCH_RUNS    runs per case, median taken (default 20; the 500 KB and
#                 cold cases run a third as often, at least 3)
#   BENCH_PORT    spamd's port on 127.0.0.1 (default 27832)
#   BENCH_SPAMD   0 skips spamd
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
runs=${BENCH_RUNS:-20}
port=${BENCH_PORT:-27832}
use_spamd=${BENCH_SPAMD:-1}
scorer=$build/score/.libs/sortmail-score.so
bench=$build/tests/bench/score-bench
debian=/usr/share/spamassassin

die() { echo "bench-score.sh: $*" >&2; exit 1; }
[ -f "$scorer" ] || die "$scorer not built (run make in $build)"
make -s -C "$build" tests/bench/score-bench >/dev/null || die "cannot build $bench"
[ -d "$debian" ] || die "$debian missing (Debian package spamassassin)"
command -v python3 >/dev/null 2>&1 || die "needs python3"
if [ "$use_spamd" != 0 ] && ! command -v spamd >/dev/null 2>&1; then
	[ "$(id -u)" -eq 0 ] || die "no spamd (apt-get install spamd spamc, or BENCH_SPAMD=0)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		spamassassin spamc spamd >/dev/null
fi

work=$build/bench-score-out
rm -rf "$work"
mkdir -p "$work"

# ---- the messages ------------------------------------------------------------
# A ~5 KB personal message from the evaluation corpus (ham), the ~5 KB
# pharmacy spam of bench-burst.sh, and the same spam grown to ~500 KB (its
# generator is taken from bench-burst.sh, so both benches score the same mail).
cp "$top/tests/data/corpus/eval/ham/personal-travel-plans.eml" "$work/ham-5k.eml"
sed -n '/^spam() {$/,/^}$/p' "$top/tests/bench/bench-burst.sh" >"$work/gen.sh"
[ -s "$work/gen.sh" ] || die "spam() not found in bench-burst.sh"
cat >>"$work/gen.sh" <<EOF
spam "$work/spam-5k.eml" 5000
spam "$work/spam-500k.eml" 500000
EOF
sh "$work/gen.sh"

# ---- spamd ---------------------------------------------------------------------
# As bench-burst.sh starts it: Debian's spamd with its stock rules and site
# config, local tests only (-L), as nobody when run as root, stopped on exit.
spamd_pid=
cleanup() {
	[ -z "$spamd_pid" ] || kill "$spamd_pid" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
if [ "$use_spamd" != 0 ]; then
	cp -R /etc/spamassassin "$work/spamd-site"
	mkdir -p "$work/spamd-state"
	echo "bayes_path $work/spamd-state/bayes" >>"$work/spamd-site/local.cf"
	user_opt=
	if [ "$(id -u)" -eq 0 ]; then
		user_opt="-u nobody"
		chown nobody "$work/spamd-state"
	fi
	# shellcheck disable=SC2086
	spamd -L -x $user_opt --siteconfigpath="$work/spamd-site" -i 127.0.0.1 -A 127.0.0.1 \
		-p "$port" --max-children 1 -r "$work/spamd.pid" -s "$work/spamd.log" -d \
		|| die "spamd did not start; see $work/spamd.log"
	i=0
	until [ -s "$work/spamd.pid" ] && spamc -K -d 127.0.0.1 -p "$port" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -lt 300 ] || die "spamd not answering after 30 s; see $work/spamd.log"
		sleep 0.1
	done
	spamd_pid=$(cat "$work/spamd.pid")
fi

# ---- measuring ------------------------------------------------------------------
SORTMAIL_SCORER=$scorer SORTMAIL_DATADIR=$top/score python3 - "$bench" "$work" "$runs" \
	"$port" "$spamd_pid" "$debian" <<'EOF'
import os, statistics, subprocess, sys, time

bench, work, runs, port, spamd_pid, debian = sys.argv[1:]
runs = int(runs)
few = max(3, runs // 3)
cache = os.path.join(work, "rules.cache")
messages = [("ham, 5 KB", "ham-5k.eml"), ("spam, 5 KB", "spam-5k.eml"),
            ("spam, 500 KB", "spam-500k.eml")]
rulesets = [("stock", []), ("Debian", ["-r", debian])]

def score_bench(args, env_cache):
    env = dict(os.environ)
    if env_cache:
        env["SORTMAIL_RULE_CACHE"] = cache
    out = subprocess.run([bench] + args, env=env, check=True, capture_output=True,
                         text=True).stdout
    return dict(kv.split("=") for kv in out.split())

def once(rules, msg, cold):
    """A new process scoring one message: what a delivery pays (wall, CPU, ms)."""
    if cold and os.path.exists(cache):
        os.unlink(cache)
    r = score_bench(rules + ["-n", "0", os.path.join(work, msg)], True)
    return float(r["first_ms"]), float(r["first_cpu_ms"]), r

def median_of(rules, msg, cold, n):
    walls, cpus = [], []
    for _ in range(n):
        w, c, r = once(rules, msg, cold)
        walls.append(w)
        cpus.append(c)
    return statistics.median(walls), statistics.median(cpus), r

def steady(rules, msg, n):
    r = score_bench(rules + ["-n", str(n), os.path.join(work, msg)], False)
    return float(r["steady_ms"]), float(r["steady_cpu_ms"])

def spamd_cpu():
    """CPU seconds of spamd and its children (reaped ones in its cutime)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [spamd_pid] + [p for p in os.listdir("/proc") if p.isdigit()]
    for p in pids:
        try:
            f = open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if p == spamd_pid or f[1] == spamd_pid:
            total += sum(int(x) for x in f[11:13]) / tick
            if p == spamd_pid:
                total += sum(int(x) for x in f[13:15]) / tick
    return total

def spamc(msg, n):
    path = os.path.join(work, msg)
    data = open(path, "rb").read()
    cmd = ["spamc", "-d", "127.0.0.1", "-p", port, "-c", "-s", str(1 << 20)]
    subprocess.run(cmd, input=data, capture_output=True)  # warm-up
    walls = []
    c0 = spamd_cpu()
    for _ in range(n):
        t = time.monotonic()
        out = subprocess.run(cmd, input=data, capture_output=True).stdout.decode().strip()
        walls.append((time.monotonic() - t) * 1000)
    return statistics.median(walls), (spamd_cpu() - c0) * 1000 / n, out

print("| message | rules | cold: wall / CPU | warm start: wall / CPU | steady: wall / CPU | "
      "spamc + spamd: wall / spamd CPU | spamd / sortmail (steady, warm start) | score |")
print("|---|---|---|---|---|---|---|---|")
for label, msg in messages:
    big = "500" in msg
    for rname, rules in rulesets:
        n = few if big else runs
        cw, cc, _ = median_of(rules, msg, True, max(3, n // 3))
        ww, wc, r = median_of(rules, msg, False, n)
        st, stc = steady(rules, msg, n)
        sd = ""
        ratio = ""
        if spamd_pid and rname == "Debian":
            sw, sc, verdict = spamc(msg, few if big else max(5, runs // 2))
            sd = "%.1f ms / %.1f ms (%s)" % (sw, sc, verdict)
            ratio = "%.0fx, %.1fx" % (sw / st, sw / ww)
        print("| %s | %s | %.1f / %.1f ms | %.1f / %.1f ms | %.2f / %.2f ms | %s | %s | %s (%s rules) |"
              % (label, rname, cw, cc, ww, wc, st, stc, sd, ratio, r["score"], r["rules"]))
        sys.stdout.flush()
EOF
echo
echo "cold: a new process, no rule cache (reads and compiles the rules, writes the cache);"
echo "warm start: a new process with the rule cache (what a delivery that scores pays);"
echo "both are module load + rules + scoring one message (not process start), medians."
echo "steady state: one process scoring the message again and again (median; JIT code made)."
echo "spamc + spamd: wall time of spamc -c per message (a new spamc process each), and"
echo "spamd's CPU per message; $(spamd --version 2>/dev/null | head -n 1 || echo 'no spamd'), -L."
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores."
