# drive_common.py: what drive.py's load and soak share: the environment of a
# delivery, making messages, the cache key, starting processes, percentiles,
# and checking the Maildir, the log and the cache (see drive.py).
import hashlib
import os
import re
import subprocess
import sys

PASS_ENV = ('SORTMAIL_SCORER', 'SORTMAIL_DATADIR', 'SORTMAIL_REPLY_MODULE',
            'SORTMAIL_STOCK_TEMPLATES', 'ASAN_OPTIONS', 'UBSAN_OPTIONS',
            'LSAN_OPTIONS', 'LD_LIBRARY_PATH')


def fail(text):
    print('fail %s' % text, flush=True)


def figure(name, *values):
    print('figure %s %s' % (name, ' '.join(str(v) for v in values)), flush=True)


def note(text):
    print(text, file=sys.stderr, flush=True)


def delivery_env(home):
    """What Postfix local(8) gives a mailbox_command, plus the build's paths."""
    user = os.environ.get('USER') or 'nobody'
    env = {'PATH': '/usr/local/bin:/usr/bin:/bin', 'SHELL': '/bin/sh', 'HOME': home,
           'USER': user, 'LOGNAME': user, 'SENDER': 'sender@example.org',
           'RECIPIENT': 'user@localhost', 'LOCAL': 'user', 'DOMAIN': 'localhost'}
    for k in PASS_ENV:
        if k in os.environ:
            env[k] = os.environ[k]
    return env


# ---- messages ---------------------------------------------------------------

def split_message(data):
    """(header block without its final empty line, separator + body)."""
    m = re.search(rb'\r?\n\r?\n', data)
    if not m:
        return data, b''
    return data[:m.start() + len(m.group(0)) // 2], data[m.start() + len(m.group(0)) // 2:]


def without_message_id(head):
    """The header block without its Message-ID field(s), folds included."""
    out, skip = [], False
    for line in head.splitlines(keepends=True):
        if line[:1] in (b' ', b'\t') and skip:
            continue
        skip = line.lower().startswith(b'message-id:')
        if not skip:
            out.append(line)
    return b''.join(out)


def make_message(source, msgid, delivered_to):
    """@source with a Message-ID of its own and a first Delivered-To."""
    head, rest = split_message(source)
    if head.startswith(b'From '):  # an mbox separator is no header
        head = head.split(b'\n', 1)[1] if b'\n' in head else b''
    eol = b'\r\n' if head.endswith(b'\r\n') or b'\r\n' in head[:200] else b'\n'
    return (b'Delivered-To: ' + delivered_to.encode() + eol
            + b'Message-ID: <' + msgid.encode() + b'>' + eol
            + without_message_id(head) + rest)


def cache_key(data):
    """cache/README's key: SHA-256(Message-ID, NUL, body with CRLF -> LF)."""
    m = re.search(rb'\r?\n\r?\n', data)
    head, body = data[:m.start()], data[m.end():]
    unfolded = re.sub(rb'\r?\n[ \t]', b' ', head)
    mid = b''
    for line in unfolded.split(b'\n'):
        line = line.rstrip(b'\r')
        if line.lower().startswith(b'message-id:'):
            v = line.split(b':', 1)[1].strip()
            mid = v[v.index(b'<') + 1:v.index(b'>')] if b'<' in v else v
            break
    return hashlib.sha256(mid + b'\0' + body.replace(b'\r\n', b'\n')).hexdigest()


def read_sources(dirs):
    files = []
    for d in dirs:
        files += sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith('.eml'))
    out = []
    for f in files:
        with open(f, 'rb') as fh:
            out.append(fh.read())
    return out


def rcpt(name):
    return 'user+for-example+%s@localhost' % name


# ---- starting and reaping ---------------------------------------------------

def spawn(argv, env, stdin_path=None, stdin_fd=None, err_path='/dev/null'):
    acts = [(os.POSIX_SPAWN_OPEN, 1, '/dev/null', os.O_WRONLY, 0),
            (os.POSIX_SPAWN_OPEN, 2, err_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)]
    if stdin_path is not None:
        acts.insert(0, (os.POSIX_SPAWN_OPEN, 0, stdin_path, os.O_RDONLY, 0))
    else:
        acts.insert(0, (os.POSIX_SPAWN_DUP2, stdin_fd, 0))
    return os.posix_spawn(argv[0], argv, env, file_actions=acts)


def exit_code(status):
    return os.waitstatus_to_exitcode(status)


def pct(values, p):
    """The p-th percentile, nearest rank."""
    v = sorted(values)
    if not v:
        return float('nan')
    k = max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))
    return v[k]


# ---- checking the results ---------------------------------------------------

XSPAM = re.compile(rb'X-Spam-(Flag|Status): [^\n]*\n([ \t][^\n]*\n)*')


def stored_files(maildir):
    """{first Delivered-To: [(folder, path)]} over every new/ of the Maildir."""
    found = {}
    for root, _dirs, names in os.walk(maildir):
        if os.path.basename(root) != 'new':
            continue
        folder = os.path.relpath(os.path.dirname(root), maildir)
        for n in names:
            p = os.path.join(root, n)
            with open(p, 'rb') as f:
                head = f.read(4096)
            m = re.search(rb'^Delivered-To: ([^\r\n]*)', head, re.M)
            who = m.group(1).decode('ascii', 'replace') if m else '?'
            found.setdefault(who, []).append((folder, p))
    return found


def strip_prefix(data):
    pos = 0
    while True:
        m = XSPAM.match(data, pos)
        if not m:
            return data[pos:], data[:pos]
        pos = m.end()


def check_stored(maildir, expected):
    """@expected: {delivered_to: sha256 of the input}. Returns {dt: folder}."""
    found = stored_files(maildir)
    folders, lost, dup, bad = {}, 0, 0, 0
    for dt, digest in expected.items():
        got = found.get(dt, [])
        if not got:
            lost += 1
            if lost <= 5:
                fail('lost: no stored file for Delivered-To %s' % dt)
            continue
        if len(got) > 1:
            dup += 1
            if dup <= 5:
                fail('filed %d times: %s' % (len(got), dt))
        folder, path = got[0]
        folders[dt] = folder
        with open(path, 'rb') as f:
            body, _prefix = strip_prefix(f.read())
        if hashlib.sha256(body).hexdigest() != digest:
            bad += 1
            if bad <= 5:
                fail('not byte-identical to its input: %s (%s)' % (path, dt))
    extra = [dt for dt in found if dt not in expected]
    for dt in extra[:5]:
        fail('stored file for no delivery of this run: %s' % dt)
    figure('stored', sum(len(v) for v in found.values()), 'files;', lost, 'lost,', dup,
           'duplicated,', bad, 'altered,', len(extra), 'unexpected')
    return folders


FIELD = re.compile(r' (\w+)=("[^"]*"|\S+)')


def read_log(path):
    """[(kind, msgid, to, via, folder, ms, line)] of the delivery log; the
    fields a line lacks are None."""
    out = []
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            for line in f:
                line = line.rstrip('\n')
                m = re.search(r'sortmail\[\d+\]: (\S+)', line)
                fields = dict(FIELD.findall(line))
                out.append((m.group(1) if m else None, fields.get('id'), fields.get('to'),
                            fields.get('via'), fields.get('folder'), fields.get('ms'), line))
    except FileNotFoundError:
        pass
    return out


def cache_cmd(sortmail, env, *args):
    r = subprocess.run([sortmail] + list(args), env=env, capture_output=True)
    return r.returncode, r.stdout.decode('utf-8', 'replace'), r.stderr.decode('utf-8', 'replace')


def cache_stats(sortmail, env):
    rc, out, err = cache_cmd(sortmail, env, 'cache', 'stats')
    if rc != 0:
        fail('sortmail cache stats: exit %d: %s' % (rc, err.strip()))
        return {}
    s = {}
    m = re.search(r'\((\d+) bytes\)', out)
    s['size'] = int(m.group(1)) if m else 0
    for k in ('verdicts', 'filings'):
        m = re.search(r'^%s\s+(\d+) \((\d+) stale\)' % k, out, re.M)
        s[k], s[k + '_stale'] = (int(m.group(1)), int(m.group(2))) if m else (-1, -1)
    return s


