#!/usr/bin/env python3
# Recomputes keys.txt, the golden cache keys, independently of the C code
# (cache/cache-key.c): SHA-256 over the normalized Message-ID, one NUL byte,
# and the body with every CRLF turned into LF. See cache/README.
import hashlib
import re

NAMES = ['copy-alice.eml', 'copy-bob.eml', 'copy-carol-crlf.eml',
         'reused-id.eml', 'no-message-id.eml']


def key(data):
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


with open('keys.txt', 'w') as out:
    for name in NAMES:
        with open(name, 'rb') as f:
            out.write('%s %s\n' % (name, key(f.read())))
