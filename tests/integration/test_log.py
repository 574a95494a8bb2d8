# SPDX-License-Identifier: GPL-2.0-or-later
"""Where a detached daemon's warnings go (src/core/log.c): once linkfs has
left its terminal (no -f), stderr is /dev/null, so a runtime warning must
reach the system journal, or syslog where no journal runs.  In the
foreground it goes to stderr.

The warning used: a real entry named like the virtual `.links` in a
directory of SOURCE, which the scan names (SPEC section 4).

Each run happens in a private mount namespace (`unshare -m`) where the
journal's socket (/run/systemd/journal/socket) or syslog's (/dev/log) is
a socket of the test's own, bind-mounted there; nothing of this is
visible outside the namespace, which vanishes with its processes.  A
subreaper inside adopts the daemon after it forks, so that its exit
status is checked after `fusermount3 -u`."""

import json
import os
import socket
import subprocess

import pytest

import linkfs_helpers as H

WARNING_TEXT = "'d/.links' is a real entry of SOURCE"

# Runs inside the namespace.  cfg: the sink ('journal' or 'syslog'), the
# test's socket, the command, SOURCE and MOUNTPOINT.
_NS_SCRIPT = r"""
import ctypes, json, os, subprocess, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(36, 1, 0, 0, 0)                   # PR_SET_CHILD_SUBREAPER
cfg = json.loads(os.environ['LINKFS_NS_CFG'])
mnt, res = cfg['mnt'], {}
def sh(*cmd):
    subprocess.run(cmd, check=True)
# No journal but the test's (or none at all, for the syslog run).
sh('mount', '-t', 'tmpfs', 'tmpfs', '/run/systemd')
if cfg['sink'] == 'journal':
    os.mkdir('/run/systemd/journal')
    open('/run/systemd/journal/socket', 'w').close()
    sh('mount', '--bind', cfg['sock'], '/run/systemd/journal/socket')
else:
    # /dev/log, over a /dev of our own that keeps every real node.
    sh('mount', '-t', 'overlay', 'overlay', '-o',
       'lowerdir=/dev,upperdir=%s,workdir=%s' % (cfg['upper'], cfg['work']),
       '/dev')
    if os.path.lexists('/dev/log'):
        os.unlink('/dev/log')
    open('/dev/log', 'w').close()
    sh('mount', '--bind', cfg['sock'], '/dev/log')
r = subprocess.run(cfg['cmd'], stdin=subprocess.DEVNULL,
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
res['launcher'] = r.returncode
res['launcher_output'] = r.stdout.decode(errors='replace')
status = os.path.join(mnt, '.links', 'status')
deadline = time.monotonic() + 30
res['ready'] = False
while time.monotonic() < deadline:
    try:
        if 'state: ready' in open(status).read():
            res['ready'] = True
            break
    except OSError:
        pass
    time.sleep(0.05)
res['fusermount'] = subprocess.run(['fusermount3', '-u', mnt]).returncode
res['children'] = []
deadline = time.monotonic() + 20
while True:
    try:
        pid, st = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        break
    if pid:
        res['children'].append(os.waitstatus_to_exitcode(st))
    elif time.monotonic() > deadline:
        res['timeout'] = True
        subprocess.run(['fusermount3', '-uz', mnt])
        break
    else:
        time.sleep(0.05)
print(json.dumps(res), flush=True)
"""


def _prep(tmp_path):
    src, mnt = tmp_path / 'src', tmp_path / 'mnt'
    src.mkdir()
    mnt.mkdir()
    (src / 'd').mkdir()
    (src / 'd' / '.links').write_bytes(b'mine')
    return src, mnt


def _messages(sock):
    """Every datagram received until the socket is quiet, as text."""
    out = []
    while True:
        try:
            out.append(sock.recv(65536).decode(errors='replace'))
        except (BlockingIOError, socket.timeout):
            return out


def _detached_run(linkfs_env, tmp_path, sink):
    if os.geteuid() != 0:
        pytest.skip('a private mount namespace with our own /dev/log needs root')
    src, mnt = _prep(tmp_path)
    sock_path = tmp_path / 'sink.sock'
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(0.2)
    upper, work = tmp_path / 'upper', tmp_path / 'work'
    upper.mkdir()
    work.mkdir()
    cfg = {'sink': sink, 'sock': str(sock_path), 'mnt': str(mnt),
           'upper': str(upper), 'work': str(work),
           'cmd': [str(linkfs_env), str(src), str(mnt)]}
    env = dict(os.environ, LINKFS_NS_CFG=json.dumps(cfg))
    try:
        r = subprocess.run(['unshare', '-m', '--propagation', 'private',
                            H.PYTHON, '-c', _NS_SCRIPT], env=env,
                           capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired:
        H.cleanup_leftovers(mnt)
        pytest.fail('the detached run hung')
    finally:
        got = _messages(sock)
        sock.close()
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res['launcher'] == 0, res
    # Detached: nothing reached the terminal it left.
    assert res['launcher_output'] == '', res
    assert res['ready'], res
    assert res['fusermount'] == 0, res
    assert not res.get('timeout'), ('daemon did not exit', res)
    assert res['children'] == [0], res
    return got


def test_detached_warning_reaches_the_journal(linkfs_env, tmp_path):
    got = _detached_run(linkfs_env, tmp_path, 'journal')
    # The journal's native protocol: KEY=VALUE lines in one datagram.
    ours = [m for m in got if WARNING_TEXT in m]
    assert ours, got
    fields = dict(line.split('=', 1) for line in ours[0].splitlines()
                  if '=' in line)
    assert fields.get('PRIORITY') == '4', ours[0]          # LOG_WARNING
    assert fields.get('SYSLOG_IDENTIFIER') == 'linkfs', ours[0]


def test_detached_warning_reaches_syslog_without_a_journal(linkfs_env, tmp_path):
    got = _detached_run(linkfs_env, tmp_path, 'syslog')
    ours = [m for m in got if WARNING_TEXT in m]
    assert ours, got
    # RFC 3164 as glibc writes it: <PRI>TIMESTAMP linkfs[PID]: MESSAGE,
    # PRI = LOG_DAEMON (3 << 3) | LOG_WARNING (4) = 28.
    assert ours[0].startswith('<28>'), ours[0]
    assert 'linkfs[' in ours[0], ours[0]


def test_foreground_warning_goes_to_stderr(linkfs, tmp_path):
    m = linkfs(populate=lambda s: (s / 'd').mkdir() or
               (s / 'd' / '.links').write_bytes(b'mine'))
    assert H.wait_until(lambda: 'state: ready' in
                        m.v('.links', 'status').read_text(), 30)
    assert H.wait_until(lambda: WARNING_TEXT in m.stderr_text(), 10), \
        m.stderr_text()
    assert 'linkfs: warning: ' + WARNING_TEXT in m.stderr_text()
    m.unmount()
    assert m.returncode == 0
