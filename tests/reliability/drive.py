#!/usr/bin/env python3
# drive.py: the process driver of load.sh and soak.sh (tests/reliability/).
# It makes the messages, starts the deliveries without a shell in between
# (posix_spawn, so the driver's own cost does not hide sortmail's), reaps
# them with wait4() for each one's exit status, wall time and peak RSS, and
# checks what ended up in the Maildir, the log and the cache.
#
# Output: "figure NAME VALUE..." lines (printed by the scripts), "fail TEXT"
# lines (each one a broken invariant; the scripts turn them into TAP), and
# progress on stderr. Exit status 0 unless the driver itself could not run.
#
# Every delivery is identified by its first Delivered-To header (written by
# the driver, unique per delivery, "user+for-example+NAME@localhost", as a
# Postfix regexp alias map would make it); the stored file must be exactly
# its input with nothing before it but X-Spam-Flag/X-Spam-Status lines.
import hashlib
import json
import os
import random
import re
import statistics
import sys
import time

from drive_common import (cache_cmd, cache_key, cache_stats, check_stored, delivery_env,
                          exit_code, fail, figure, make_message, note, pct, rcpt,
                          read_log, read_sources, spawn)


# ---- load -------------------------------------------------------------------

def main_load(a):
    """load SORTMAIL HOME WORK SRCDIR DISTINCT BURSTS COPIES CONCURRENCY"""
    sortmail, home, work, srcdir = a[:4]
    distinct, bursts, copies, conc = (int(x) for x in a[4:8])
    env = delivery_env(home)
    maildir, log = os.path.join(home, 'Maildir'), os.path.join(home, 'log')
    rng = random.Random(8)

    # The messages: bursts of one source each (tests/data/score: ham and
    # spam), distinct ones from the held-out corpus, all in one shuffled list.
    burst_src = read_sources([os.path.join(srcdir, 'tests/data/score')])
    corpus = read_sources([os.path.join(srcdir, 'tests/data/corpus/eval', k)
                           for k in ('ham', 'spam')])
    rng.shuffle(corpus)
    inbox = os.path.join(work, 'in')
    os.makedirs(inbox)
    jobs = []  # (name, group, path)
    expected, keys = {}, {}
    for b in range(bursts):
        src = burst_src[b % len(burst_src)]
        group = 'burst%02d' % b
        for c in range(copies):
            name = 'b%02d-c%02d' % (b, c)
            jobs.append((name, group, make_message(src, 'load-%s@test.example' % group,
                                                   rcpt(name))))
    for d in range(distinct):
        name = 'd%03d' % d
        jobs.append((name, name, make_message(corpus[d % len(corpus)],
                                              'load-%s@test.example' % name, rcpt(name))))
    rng.shuffle(jobs)
    paths = []
    for name, group, data in jobs:
        p = os.path.join(inbox, name + '.eml')
        with open(p, 'wb') as f:
            f.write(data)
        paths.append(p)
        expected[rcpt(name)] = hashlib.sha256(data).hexdigest()
        keys[group] = cache_key(data)
    errfile = os.path.join(work, 'stderr')

    # Up to CONCURRENCY at once: all of them started together when it is
    # at least their number, else a new one as each ends.
    note('load: %d deliveries (%d distinct, %d bursts of %d), %d at once'
         % (len(jobs), distinct, bursts, copies, conc))
    running, walls, codes = {}, {}, {}
    i = 0
    t0 = time.perf_counter()
    while i < len(jobs) or running:
        while i < len(jobs) and len(running) < conc:
            pid = spawn([sortmail], env, stdin_path=paths[i], err_path=errfile)
            running[pid] = (i, time.perf_counter())
            i += 1
        pid, status = os.waitpid(-1, 0)
        k, start = running.pop(pid)
        walls[k] = (time.perf_counter() - start) * 1000
        codes[k] = exit_code(status)
    total = time.perf_counter() - t0

    # Every delivery exited 0 and is stored, once, byte-identical.
    bad = [(jobs[k][0], c) for k, c in codes.items() if c != 0]
    for name, c in bad[:5]:
        fail('delivery %s exited %d' % (name, c))
    if bad:
        fail('%d of %d deliveries did not exit 0; stderr: %s' % (len(bad), len(jobs), errfile))
    folders = check_stored(maildir, expected)

    # The log: one line per delivery; per burst one via=scored, the other
    # copies cached or waited, all in one folder; each distinct one scored.
    lines = read_log(log)
    by_to, others = {}, []
    for e in lines:
        if e[0] == 'delivered':
            by_to.setdefault(e[2], []).append(e)
        else:
            others.append(e[6])
    for line in others[:5]:
        fail('log line that is not a delivery: %s' % line)
    if 'cache_warning' in open(log, errors='replace').read() if os.path.exists(log) else False:
        fail('a delivery logged a cache_warning (see %s)' % log)
    groups = {}
    for name, group, _ in jobs:
        to = '%s@example.com' % name
        got = by_to.get(to, [])
        if len(got) != 1:
            fail('%d log lines for %s (expected 1)' % (len(got), to))
            continue
        groups.setdefault(group, []).append(got[0])
    twice = 0
    for group, es in sorted(groups.items()):
        via = [e[3] for e in es]
        scored = via.count('scored')
        if scored != 1:
            twice += 1
            fail('%s (%d copies) scored %d times: %s' % (group, len(es), scored,
                                                         ' '.join(sorted(set(via)))))
        if any(v not in ('scored', 'cached', 'waited') for v in via):
            fail('%s: a delivery without a verdict: %s' % (group, via))
        if len(set(e[4] for e in es)) != 1:
            fail('%s: copies filed into different folders: %s'
                 % (group, sorted(set(e[4] for e in es))))
    allvia = [e[3] for es in groups.values() for e in es]
    figure('via', 'scored=%d cached=%d waited=%d' % (allvia.count('scored'),
           allvia.count('cached'), allvia.count('waited')))
    figure('groups', len(groups), 'messages,', len(groups) - twice, 'scored exactly once')

    # The cache: one fresh verdict per message, one filing per delivery,
    # every expected key there, nothing unreadable, nothing moved aside.
    st = cache_stats(sortmail, env)
    if st:
        if st['verdicts'] != len(keys) or st['verdicts_stale'] != 0:
            fail('cache stats: %d verdicts (%d stale), expected %d fresh'
                 % (st['verdicts'], st['verdicts_stale'], len(keys)))
        if st['filings'] != len(jobs) or st['filings_stale'] != 0:
            fail('cache stats: %d filings (%d stale), expected %d fresh'
                 % (st['filings'], st['filings_stale'], len(jobs)))
        figure('cache', '%d verdicts, %d filings, %d bytes'
               % (st['verdicts'], st['filings'], st['size']))
    rc, out, err = cache_cmd(sortmail, env, 'cache', 'dump', '--json')
    if rc != 0:
        fail('sortmail cache dump: exit %d: %s' % (rc, err.strip()))
    else:
        dumped = {}
        for line in out.splitlines():
            line = line.rstrip(',')
            if line.startswith('{'):
                o = json.loads(line)
                dumped[o['key']] = o
        missing = [g for g, k in keys.items() if k not in dumped]
        for g in missing[:5]:
            fail('cache dump: no verdict for %s (key %s)' % (g, keys[g]))
        broken = [k for k, o in dumped.items() if not o.get('valid') or o.get('stale')]
        for k in broken[:5]:
            fail('cache dump: entry %s is invalid or stale' % k)
        unknown = set(dumped) - set(keys.values())
        if unknown:
            fail('cache dump: %d keys of no message of this run' % len(unknown))
    aside = [f for f in os.listdir(os.path.join(home, '.sortmail')) if 'corrupt' in f]
    if aside:
        fail('cache moved aside as corrupt: %s' % aside)

    # Figures: the driver's wall per delivery (start to exit, CPU queueing
    # included) and sortmail's own ms= (main() to the log line).
    w = list(walls.values())
    ms = [float(e[5]) for es in by_to.values() for e in es]
    figure('throughput', '%.1f deliveries/s (%d in %.2f s)' % (len(jobs) / total, len(jobs), total))
    figure('wall_ms', 'p50 %.1f p99 %.1f max %.1f' % (pct(w, 50), pct(w, 99), max(w)))
    if ms:
        figure('log_ms', 'p50 %.1f p99 %.1f max %.1f' % (pct(ms, 50), pct(ms, 99), max(ms)))
    for g in ('scored', 'cached', 'waited'):
        v = [float(e[5]) for es in groups.values() for e in es if e[3] == g]
        if v:
            figure('log_ms_' + g, 'n %d p50 %.1f p99 %.1f' % (len(v), pct(v, 50), pct(v, 99)))


# ---- soak -------------------------------------------------------------------

def main_soak(a):
    """soak SORTMAIL HOME SRCDIR N PRUNE_EVERY COPIES TTL FDLOG RSSLOG"""
    sortmail, home, srcdir = a[:3]
    n, every, copies, ttl = (int(x) for x in a[3:7])
    fdlog, rsslog = a[7:9]
    # Peak RSS through /usr/bin/time (%M, from its wait4() of sortmail): a
    # child spawned by this driver directly would report the driver's own
    # peak, which a fork()ed child inherits until it outgrows it.
    timed = ['/usr/bin/time', '-f', 'rss %M', '-a', '-o', rsslog, sortmail]
    env = delivery_env(home)
    maildir = os.path.join(home, 'Maildir')
    db = os.path.join(home, '.sortmail', 'verdicts.db')
    corpus = read_sources([os.path.join(srcdir, 'tests/data/corpus', s, k)
                           for s in ('eval', 'tune') for k in ('ham', 'spam')])
    expected = {}
    walls, codes = [], []
    windows = []  # per prune: (deliveries so far, size before, size after, removed, stats after)
    note('soak: %d deliveries, each message to %d recipients in a row, '
         'cache-ttl %ds, prune every %d' % (n, copies, ttl, every))
    # The sources repeat every (first/last window) deliveries, so both windows
    # compared below hold the same sources in the same order (each message
    # still new: a Message-ID of its own).
    period = max(1, min(1000, n // 2) // copies)
    t0 = time.perf_counter()
    for k in range(n):
        msg = k // copies
        name = 's%05d' % k
        data = make_message(corpus[msg % period % len(corpus)], 'soak-%d@test.example' % msg, rcpt(name))
        expected[rcpt(name)] = hashlib.sha256(data).hexdigest()
        r, w = os.pipe()
        start = time.perf_counter()
        pid = spawn(timed, env, stdin_fd=r)
        os.close(r)
        try:
            with os.fdopen(w, 'wb') as f:
                f.write(data)
        except BrokenPipeError:
            pass
        _pid, status = os.waitpid(pid, 0)
        walls.append((time.perf_counter() - start) * 1000)
        codes.append(exit_code(status))
        if (k + 1) % every == 0:
            # Everything in the cache is made stale (no timing enters the
            # result: the wait is longer than the TTL), then pruned.
            before = os.path.getsize(db) if os.path.exists(db) else 0
            st0 = cache_stats(sortmail, env)
            time.sleep(ttl + 1.1)
            rc, out, err = cache_cmd(sortmail, env, 'cache', 'prune')
            if rc != 0:
                fail('cache prune after %d deliveries: exit %d: %s' % (k + 1, rc, err.strip()))
            m = re.search(r'removed (\d+)', out)
            removed = int(m.group(1)) if m else -1
            st = cache_stats(sortmail, env)
            after = os.path.getsize(db) if os.path.exists(db) else 0
            want = st0.get('verdicts', 0) + st0.get('filings', 0)
            if removed != want:
                fail('prune after %d deliveries removed %d of %d stale records'
                     % (k + 1, removed, want))
            if st.get('verdicts') != 0 or st.get('filings') != 0:
                fail('after prune: %s records left, all were stale' % st)
            windows.append((k + 1, before, after, removed, st0))
            note('  %6d deliveries: cache %d bytes (%d verdicts, %d filings), after prune %d bytes'
                 % (k + 1, before, st0.get('verdicts', 0), st0.get('filings', 0), after))
    total = time.perf_counter() - t0

    bad = [(i, c) for i, c in enumerate(codes) if c != 0]
    for i, c in bad[:5]:
        fail('delivery %d exited %d' % (i, c))
    check_stored(maildir, expected)

    # Open files, as the pipe command of every delivery saw them: the
    # delivery's own (/proc/PPID/fd) and what the command inherited.
    fds, who, part = {}, None, None
    with open(fdlog) as f:
        for line in f:
            line = line.rstrip('\n')
            if line.startswith('== '):
                who = line[3:]
                fds[who] = [0, 0]
            elif line.endswith(':') and who is not None:
                part = 1 if line.startswith('/proc/self/') else 0
            elif line and who is not None and part is not None:
                fds[who][part] += 1
    # ls itself holds 0-2 and the directory it reads: more is inherited.
    fds = {k: (v[0], v[1] - 4) for k, v in fds.items()}
    # soak.sh's rule probes every fifth delivery (recipients s....0 and s....5).
    order = ['s%05d@example.com' % k for k in range(0, n, 5)]
    seen = [fds[o] for o in order if o in fds]
    if len(seen) != len(order) or len(fds) != len(order):
        fail('the fd probe ran for %d deliveries, %d of the %d expected'
             % (len(fds), len(seen), len(order)))
    if seen:
        hp = max(1, min(1000, n // 2) // 5)  # probes in the first/last thousand
        first, last = seen[:hp], seen[-hp:]
        own_first, own_last = max(s[0] for s in first), max(s[0] for s in last)
        inh = max(s[1] for s in seen)
        figure('fds', 'own, in %d probes of the first deliveries: max %d; of the last: max %d;'
               ' all %d probes: %d-%d; inherited by the pipe command beyond 0-2: max %d'
               % (len(first), own_first, own_last, len(seen),
                  min(s[0] for s in seen), max(s[0] for s in seen), inh))
        if own_last > own_first:
            fail('open files grew: %d at most in the first deliveries, %d in the last'
                 % (own_first, own_last))
        if inh > 0:
            fail('the pipe command inherited %d fds beyond stdin/out/err' % inh)

    # Memory: peak RSS per delivery, first vs last thousand.
    with open(rsslog) as f:
        rss = [int(line.split()[1]) for line in f if line.startswith('rss ')]
    h = min(1000, n // 2)
    if len(rss) != n:
        fail('/usr/bin/time reported %d of %d deliveries' % (len(rss), n))
        rss = [0] * n
    r1, r2 = rss[:h], rss[-h:]
    figure('rss_kb', 'first %d: p50 %d max %d; last %d: p50 %d max %d'
           % (h, statistics.median(r1), max(r1), h, statistics.median(r2), max(r2)))
    if os.environ.get('SOAK_CHECK_RSS', '1') == '1':
        # Same sources in the same order in both windows: a leak per
        # delivery or per cache record would show; allow 10% + 1 MB of noise.
        if statistics.median(r2) > statistics.median(r1) * 1.10 + 1024 \
                or max(r2) > max(r1) * 1.10 + 1024:
            fail('peak RSS grew: first %d/%d KB, last %d/%d KB (median/max)'
                 % (statistics.median(r1), max(r1), statistics.median(r2), max(r2)))

    # Cache size: before each prune (a constant amount of mail per window)
    # and after; the last windows no bigger than the first ones (+50%).
    if windows:
        befores = [w[1] for w in windows]
        afters = [w[2] for w in windows]
        figure('cache_bytes', 'before prune: first %d, max %d, last %d; after prune: first %d,'
               ' max %d, last %d; %d prunes' % (befores[0], max(befores), befores[-1],
                                                afters[0], max(afters), afters[-1], len(windows)))
        q = max(1, len(windows) // 4)
        if max(befores[-q:]) > max(befores[:q]) * 1.5 or max(afters[-q:]) > max(afters[:q]) * 1.5:
            fail('cache file grew across prunes: before %s, after %s' % (befores, afters))
        figure('cache_series', ' '.join('%d:%d/%d' % (w[0], w[1], w[2]) for w in windows))
    pure = sum(walls)
    figure('throughput', '%.1f deliveries/s one at a time (%d in %.1f s of deliveries, %.1f s '
           'in all with the prunes)' % (n / (pure / 1000), n, pure / 1000, total))
    figure('wall_ms', 'p50 %.1f p99 %.1f max %.1f' % (pct(walls, 50), pct(walls, 99), max(walls)))


if __name__ == '__main__':
    {'load': main_load, 'soak': main_soak}[sys.argv[1]](sys.argv[2:])
