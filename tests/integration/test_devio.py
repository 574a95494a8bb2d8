# SPDX-License-Identifier: GPL-2.0-or-later
"""How the daemon reads requests (-o spin=US, src/devio/devio.c): one thread at
a time reads the FUSE device and serves quick requests itself; a request
that waits must never hold up the others, whether it is one that is
handed to another thread (a blocking lock) or a quick one that hangs (a
lookup into a filesystem whose daemon is stopped)."""

import fcntl
import os
import signal
import subprocess
import threading
import time

import pytest

import linkfs_helpers as H
from links_oracle import wait_ready

# Generous: a thread that holds up the others never answers at all.
ANSWER_TIMEOUT = 20


def in_thread(fn, *args):
    """Start fn(*args) in a daemon thread; returns (thread, result list)."""
    out = []

    def run():
        try:
            out.append(('ok', fn(*args)))
        except Exception as e:  # report it in the test's thread
            out.append(('error', e))
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def answered(fn, *args, timeout=ANSWER_TIMEOUT):
    t, out = in_thread(fn, *args)
    t.join(timeout)
    assert not t.is_alive(), '%s got no answer in %s s' % (fn.__name__, timeout)
    kind, value = out[0]
    if kind == 'error':
        raise value
    return value


def others_are_served(m):
    """A listing, a stat, a create, a write and an unlink, each answered."""
    assert 'f' in answered(os.listdir, m.v())
    answered(os.stat, m.v('f'))
    answered(m.v('new').write_bytes, b'data')
    assert answered(m.s('new').read_bytes) == b'data'
    answered(os.unlink, m.v('new'))
    assert not m.s('new').exists()


@pytest.mark.parametrize('opts', ['spin=20', 'spin=0', 'clone_fd',
                                  'max_idle_threads=1'])
def test_blocked_lock_does_not_hold_up_other_requests(linkfs, opts):
    """A flock that waits is handed to a worker of its own (with a device
    descriptor per worker too: clone_fd)."""
    m = linkfs('-o', opts, populate=lambda s: (s / 'f').write_bytes(b'x'))
    holder = os.open(m.v('f'), os.O_RDONLY)
    waiter = os.open(m.v('f'), os.O_RDONLY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        t, out = in_thread(fcntl.flock, waiter, fcntl.LOCK_EX)
        t.join(0.5)
        assert t.is_alive(), 'the second flock did not wait'
        others_are_served(m)
        fcntl.flock(holder, fcntl.LOCK_UN)
        t.join(ANSWER_TIMEOUT)
        assert not t.is_alive() and out == [('ok', None)]
    finally:
        os.close(holder)
        os.close(waiter)


def test_hung_lookup_does_not_hold_up_other_requests(linkfs, tmp_path):
    """A lookup is served by the reading thread itself; when it hangs (the
    source holds a FUSE mount whose daemon is stopped), a standby thread
    takes the device over and the rest of the view keeps answering."""
    outer_src = tmp_path / 'outer-src'
    outer_src.mkdir()
    (outer_src / 'f').write_bytes(b'x')
    inner = linkfs(mnt=outer_src / 'hung',
                   populate=lambda s: (s / 'g').write_bytes(b'y'))
    outer = linkfs(src=outer_src)
    wait_ready(outer)
    assert (outer.v('hung', 'g')).read_bytes() == b'y'
    try:
        H.stop_all_threads(inner.pid)
        t, out = in_thread(os.stat, outer.v('hung', 'never-looked-up'))
        t.join(0.5)
        assert t.is_alive(), \
            'the lookup into the stopped mount did not wait: %r' % out
        others_are_served(outer)
    finally:
        inner.signal(signal.SIGCONT)
    t.join(ANSWER_TIMEOUT)
    assert not t.is_alive()
    assert out[0][0] == 'error' and isinstance(out[0][1], FileNotFoundError)


@pytest.mark.parametrize('value', ['fast', '-1', '1001', ''])
def test_bad_spin_value_is_refused(linkfs_env, tmp_path, value):
    (tmp_path / 's').mkdir()
    (tmp_path / 'm').mkdir()
    r = subprocess.run([linkfs_env, '-f', '-o', 'spin=' + value,
                        str(tmp_path / 's'), str(tmp_path / 'm')],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert 'spin' in r.stderr and len(r.stderr.splitlines()) == 1
    assert not H.fuse_mounted(tmp_path / 'm')


def context_switches(pid):
    """Voluntary and involuntary context switches of all the process's
    threads so far."""
    total = 0
    for tid in os.listdir('/proc/%d/task' % pid):
        with open('/proc/%d/task/%s/status' % (pid, tid)) as f:
            for line in f:
                if line.startswith(('voluntary_ctxt_switches',
                                    'nonvoluntary_ctxt_switches')):
                    total += int(line.split()[1])
    return total


def test_idle_mount_does_not_wake_up(linkfs):
    """No thread polls on a timer: once the requests stop (and the standby
    has seen a second of quiet), the daemon sleeps until the next one."""
    m = linkfs(populate=lambda s: (s / 'f').write_bytes(b'x'))
    wait_ready(m)
    for _ in range(200):
        os.stat(m.v('f'))
        os.listdir(m.v())
    # The daemon must fall quiet: some 3 s window, starting within 15 s
    # (the standby looks for a second after the last request), in which
    # its threads were switched at most twice.  A thread woken by a timer
    # (even once a second) never gives such a window.
    samples = []

    def quiet_window():
        samples.append((time.monotonic(), context_switches(m.pid)))
        now, n = samples[-1]
        return any(now - t >= 3.0 and n - k <= 2 for t, k in samples)
    assert H.wait_until(quiet_window, 15, interval=0.25), samples[-12:]


def client(m, k, rounds):
    """One client's mix of quick and handed-over requests."""
    d = m.v('c%d' % k)
    os.mkdir(d)
    for i in range(rounds):
        p = d / ('f%d' % i)
        p.write_bytes(b'%d' % i)
        assert os.stat(p).st_size == len(b'%d' % i)
        assert p.name in os.listdir(d)
        with pytest.raises(OSError):
            os.getxattr(p, 'user.none')
        q = d / ('g%d' % i)
        os.rename(p, q)
        fd = os.open(q, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            assert os.read(fd, 16) == b'%d' % i
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
        if i % 2:
            os.unlink(q)
    return sorted(n for n in os.listdir(d) if n != '.links')


@pytest.mark.parametrize('opts', [(), ('-o', 'spin=0'), ('-s',)],
                         ids=['spin', 'nospin', 'single'])
def test_parallel_clients_are_all_answered(linkfs, opts):
    m = linkfs(*opts)
    rounds = 150
    threads = [in_thread(client, m, k, rounds) for k in range(4)]
    for t, out in threads:
        t.join(120)
        assert not t.is_alive(), 'a client got no answer'
        kind, value = out[0]
        if kind == 'error':
            raise value
        assert value == sorted('g%d' % i for i in range(0, rounds, 2))
    for k in range(4):
        assert sorted(os.listdir(m.s('c%d' % k))) == \
            sorted('g%d' % i for i in range(0, rounds, 2))
