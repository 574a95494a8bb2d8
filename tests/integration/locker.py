# SPDX-License-Identifier: GPL-2.0-or-later
"""A process that takes POSIX locks and reads and writes files when told
to, for the lock and cache tests (run as another user with setpriv).

Run as `python3 locker.py`; one JSON command per line on stdin, one JSON
answer per line on stdout:

  {"op": "open", "name": N, "path": P, "mode": "r"|"w"|"rw"}    -> "ok" | errno name
  {"op": "lock", "name": N, "kind": "classic"|"ofd", "type": "r"|"w"|"u",
   "start": S, "len": L, "wait": bool}                           -> "ok" | errno name
  {"op": "getlk", "name": N, "kind": ..., "type": ..., "start", "len"}
                                       -> {"type": "r"|"w"|"u", "start", "len", "pid"}
  {"op": "flock", "name": N, "how": "sh"|"ex"|"un", "wait": bool} -> "ok" | errno
  {"op": "read", "name": N, "size": K}                           -> hex of the bytes
  {"op": "pread", "name": N, "size": K, "offset": O}              -> hex of the bytes
  {"op": "pwrite", "name": N, "data": HEX, "offset": O}           -> "ok"
  {"op": "cat", "path": P}               -> hex of the whole file (open, read, close)
  {"op": "exists", "path": P}            -> access(P, F_OK) == 0
  {"op": "close", "name": N}                                     -> "ok"
  {"op": "exit"}                                                 -> (exits, no answer)

SIGUSR1 interrupts a waiting lock (its handler raises, so Python does not
retry the call): the answer is then "EINTR".
"""

import errno
import fcntl
import json
import os
import signal
import struct
import sys

FLOCK = 'hhqqixxxx'   # struct flock on Linux x86-64 and aarch64
TYPES = {'r': fcntl.F_RDLCK, 'w': fcntl.F_WRLCK, 'u': fcntl.F_UNLCK}
NAMES = {v: k for k, v in TYPES.items()}
MODES = {'r': os.O_RDONLY, 'w': os.O_WRONLY, 'rw': os.O_RDWR}


class Interrupted(Exception):
    pass


def on_usr1(sig, frame):
    raise Interrupted()


def cmd_of(kind, what):
    if kind == 'ofd':
        return {'set': fcntl.F_OFD_SETLK, 'wait': fcntl.F_OFD_SETLKW,
                'get': fcntl.F_OFD_GETLK}[what]
    return {'set': fcntl.F_SETLK, 'wait': fcntl.F_SETLKW,
            'get': fcntl.F_GETLK}[what]


def answer(x):
    sys.stdout.write(json.dumps(x) + '\n')
    sys.stdout.flush()


def do(c, fds):
    op = c['op']
    if op == 'open':
        fds[c['name']] = os.open(c['path'], MODES[c.get('mode', 'rw')])
        return 'ok'
    fd = fds.get(c.get('name'))
    if op == 'lock':
        arg = struct.pack(FLOCK, TYPES[c['type']], os.SEEK_SET,
                          c.get('start', 0), c.get('len', 0), 0)
        fcntl.fcntl(fd, cmd_of(c['kind'], 'wait' if c.get('wait') else 'set'),
                    arg)
        return 'ok'
    if op == 'getlk':
        arg = struct.pack(FLOCK, TYPES[c['type']], os.SEEK_SET,
                          c.get('start', 0), c.get('len', 0), 0)
        t, _, s, ln, pid = struct.unpack(FLOCK, fcntl.fcntl(
            fd, cmd_of(c['kind'], 'get'), arg))
        return {'type': NAMES[t], 'start': s, 'len': ln, 'pid': pid}
    if op == 'flock':
        how = {'sh': fcntl.LOCK_SH, 'ex': fcntl.LOCK_EX,
               'un': fcntl.LOCK_UN}[c['how']]
        fcntl.flock(fd, how if c.get('wait') else how | fcntl.LOCK_NB)
        return 'ok'
    if op == 'read':
        return os.pread(fd, c['size'], 0).hex()
    if op == 'pread':
        return os.pread(fd, c['size'], c.get('offset', 0)).hex()
    if op == 'pwrite':
        os.pwrite(fd, bytes.fromhex(c['data']), c.get('offset', 0))
        return 'ok'
    if op == 'exists':
        return os.access(c['path'], os.F_OK)
    if op == 'cat':
        with open(c['path'], 'rb') as f:
            return f.read().hex()
    if op == 'close':
        os.close(fds.pop(c['name']))
        return 'ok'
    raise ValueError(op)


def main():
    signal.signal(signal.SIGUSR1, on_usr1)
    fds = {}
    for line in sys.stdin:
        c = json.loads(line)
        if c['op'] == 'exit':
            os._exit(0)
        try:
            answer(do(c, fds))
        except Interrupted:
            answer('EINTR')
        except OSError as e:
            answer(errno.errorcode.get(e.errno, str(e.errno)))


if __name__ == '__main__':
    main()
