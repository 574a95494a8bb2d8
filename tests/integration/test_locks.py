# SPDX-License-Identifier: GPL-2.0-or-later
"""POSIX record locks through the view are locks on the source (issue 15,
item 1): classic and OFD locks conflict both ways between the view, the
source and a second view of it; F_GETLK names the holder; F_SETLKW waits
without holding the daemon and can be interrupted; locks go when their
owner closes or exits.  With and without FUSE passthrough.

Each lock is taken by a separate process (tests/integration/locker.py):
classic locks belong to a process, and a process never conflicts with
itself."""

import os
import select
import signal

import pytest

import linkfs_helpers as H

PT_MODES = ['auto', 'off']


@pytest.fixture
def lockers(actors):
    return actors


@pytest.fixture(params=PT_MODES)
def mounted(request, linkfs):
    """A view of a source holding f (1000 bytes), with passthrough as
    the parameter says."""
    return linkfs('-o', 'passthrough=' + request.param,
                  populate=lambda s: (s / 'f').write_bytes(b'.' * 1000))


def opened(lk, path, mode='rw'):
    assert lk(op='open', name='f', path=str(path), mode=mode) == 'ok'
    return lk


def lock(lk, kind, type_, start=0, length=0, wait=False):
    return lk(op='lock', name='f', kind=kind, type=type_, start=start,
              len=length, wait=wait)


def getlk(lk, kind, type_, start=0, length=0):
    return lk(op='getlk', name='f', kind=kind, type=type_, start=start,
              len=length)


def free_on_source(lockers, m, start=0, length=0):
    """Whether a process on the source can write-lock the range now."""
    p = opened(lockers(), m.s('f'))
    got = lock(p, 'classic', 'w', start, length)
    p.exit()
    return got == 'ok'


def expected_pid(holder, hw, hk, cw, ck):
    """l_pid that F_GETLK reports to a contender at cw using ck for a lock
    of holder taken at hw with hk."""
    if cw == 'view' and ck == 'ofd':
        return -1   # the kernel says so of every lock F_OFD_GETLK finds
        # through FUSE (it keeps the request's OFD flag on the answer)
    if cw == 'source':
        return holder.pid if hw == 'source' and hk == 'classic' else -1
    if hw == 'view':
        return holder.pid      # linkfs knows who took it
    return holder.pid if hk == 'classic' else 0   # an OFD lock: no process


CASES = [('r', 'r', False), ('r', 'w', True), ('w', 'r', True),
         ('w', 'w', True)]


@pytest.mark.parametrize('hk', ['classic', 'ofd'])
@pytest.mark.parametrize('ck', ['classic', 'ofd'])
@pytest.mark.parametrize('hw,cw', [('view', 'view'), ('view', 'source'),
                                   ('source', 'view')])
def test_locks_conflict_both_ways(mounted, lockers, hw, cw, hk, ck):
    m = mounted
    where = {'view': m.v('f'), 'source': m.s('f')}
    h = opened(lockers(), where[hw])
    c = opened(lockers(), where[cw])
    for ht, ct, conflict in CASES:
        assert lock(h, hk, ht, 100, 50) == 'ok'
        got = lock(c, ck, ct, 120, 100)
        assert got == ('EAGAIN' if conflict else 'ok'), (ht, ct)
        assert lock(c, ck, 'u', 0, 0) == 'ok'
        # next to the lock, never in conflict
        assert lock(c, ck, ct, 150, 10) == 'ok'
        assert lock(c, ck, 'u', 0, 0) == 'ok'
        lk = getlk(c, ck, ct, 0, 0)
        if conflict:
            assert lk == {'type': ht, 'start': 100, 'len': 50,
                          'pid': expected_pid(h, hw, hk, cw, ck)}, (ht, ct)
        else:
            assert lk['type'] == 'u'
        assert lock(h, hk, 'u', 0, 0) == 'ok'
        assert lock(c, ck, ct, 120, 100) == 'ok'
        assert lock(c, ck, 'u', 0, 0) == 'ok'
    # a lock to the end of the file, however it grows
    assert lock(h, hk, 'w', 500, 0) == 'ok'
    assert lock(c, ck, 'r', 10 ** 12, 1) == 'EAGAIN'
    assert getlk(c, ck, 'r', 0, 0) == {
        'type': 'w', 'start': 500, 'len': 0,
        'pid': expected_pid(h, hw, hk, cw, ck)}


@pytest.mark.parametrize('kind', ['classic', 'ofd'])
def test_owner_changes_its_own_locks(mounted, lockers, kind):
    """One owner's locks never conflict with each other: upgraded,
    split and merged as on the source."""
    m = mounted
    a = opened(lockers(), m.v('f'))
    b = opened(lockers(), m.v('f'))
    assert lock(a, kind, 'r', 0, 100) == 'ok'
    assert lock(a, kind, 'w', 40, 20) == 'ok'     # splits the read lock
    assert getlk(b, kind, 'r', 0, 0)['start'] == 40
    assert lock(b, kind, 'r', 0, 40) == 'ok'      # the read parts stay read
    assert lock(b, kind, 'u') == 'ok'
    assert lock(a, kind, 'u', 50, 5) == 'ok'      # a hole in the write lock
    assert lock(b, kind, 'w', 50, 5) == 'ok'
    assert lock(b, kind, 'u') == 'ok'
    assert lock(a, kind, 'u') == 'ok'
    assert getlk(b, kind, 'w', 0, 0)['type'] == 'u'


def test_lock_on_read_only_and_write_only_opens(mounted, lockers):
    """The kernel checks the open mode against the lock type (EBADF);
    what it lets through must work on the source."""
    m = mounted
    r = opened(lockers(), m.v('f'), 'r')
    w = opened(lockers(), m.v('f'), 'w')
    assert lock(r, 'classic', 'w') == 'EBADF'
    assert lock(w, 'classic', 'r') == 'EBADF'
    assert lock(r, 'classic', 'r', 0, 10) == 'ok'
    assert lock(w, 'classic', 'w', 10, 10) == 'ok'
    assert lock(w, 'classic', 'w', 0, 10) == 'EAGAIN'
    assert not free_on_source(lockers, m, 0, 10)
    assert not free_on_source(lockers, m, 10, 10)


@pytest.mark.parametrize('kind', ['classic', 'ofd'])
@pytest.mark.parametrize('holder_at', ['view', 'source'])
def test_setlkw_waits_without_holding_the_view(mounted, lockers, kind,
                                               holder_at):
    m = mounted
    (m.s('g')).write_bytes(b'other')
    h = opened(lockers(), m.v('f') if holder_at == 'view' else m.s('f'))
    assert lock(h, 'classic', 'w') == 'ok'
    c = opened(lockers(), m.v('f'))
    c.send(op='lock', name='f', kind=kind, type='w', start=0, len=0,
           wait=True)
    c.wait_blocked()
    # the view goes on serving meanwhile, locks of other files included
    assert m.v('g').read_bytes() == b'other'
    assert 'g' in os.listdir(m.v())
    other = opened(lockers(), m.v('g'))
    assert lock(other, kind, 'w') == 'ok'
    assert c.no_answer_yet()
    assert lock(h, 'classic', 'u') == 'ok'
    assert c.recv() == 'ok'
    # the waiter holds it now, on the source too
    assert lock(h, 'classic', 'r') == 'EAGAIN'
    assert not free_on_source(lockers, m)


def test_many_waiters_leave_the_view_usable(mounted, lockers):
    """More waiters than libfuse has worker threads (10): each waits in a
    thread of its own; the view serves everything else meanwhile and the
    waiters get the lock one after the other."""
    m = mounted
    h = opened(lockers(), m.s('f'))
    assert lock(h, 'classic', 'w') == 'ok'
    waiters = [opened(lockers(), m.v('f')) for _ in range(14)]
    for w in waiters:
        w.send(op='lock', name='f', kind='classic', type='w', start=0,
               len=0, wait=True)
    for w in waiters:
        w.wait_blocked()
    m.v('new').write_bytes(b'made while 14 wait')
    assert m.s('new').read_bytes() == b'made while 14 wait'
    assert lock(h, 'classic', 'u') == 'ok'
    pending = list(waiters)
    while pending:
        ready, _, _ = select.select([w.p.stdout for w in pending], [], [],
                                    30)
        assert ready, 'no waiter got the lock'
        for w in [w for w in pending if w.p.stdout in ready]:
            assert w.recv() == 'ok'
            assert lock(w, 'classic', 'u') == 'ok'
            pending.remove(w)
    assert free_on_source(lockers, m)


@pytest.mark.parametrize('kind', ['classic', 'ofd'])
def test_setlkw_interrupted_by_a_signal(mounted, lockers, kind):
    m = mounted
    h = opened(lockers(), m.s('f'))
    assert lock(h, 'classic', 'w') == 'ok'
    c = opened(lockers(), m.v('f'))
    for _ in range(3):
        c.send(op='lock', name='f', kind=kind, type='w', start=0, len=0,
               wait=True)
        c.wait_blocked()
        os.kill(c.pid, signal.SIGUSR1)
        assert c.recv() == 'EINTR'
    # the interrupted waits took nothing: once the holder lets go, the
    # lock is free for anyone
    assert lock(h, 'classic', 'u') == 'ok'
    assert free_on_source(lockers, m)
    assert lock(c, kind, 'w') == 'ok'


@pytest.mark.parametrize('kind', ['classic', 'ofd'])
def test_killed_waiter_dies_and_takes_nothing(mounted, lockers, kind):
    m = mounted
    h = opened(lockers(), m.s('f'))
    assert lock(h, 'classic', 'w') == 'ok'
    c = opened(lockers(), m.v('f'))
    c.send(op='lock', name='f', kind=kind, type='w', start=0, len=0,
           wait=True)
    c.wait_blocked()
    c.p.kill()
    c.p.wait(timeout=20)
    assert lock(h, 'classic', 'u') == 'ok'
    assert H.wait_until(lambda: free_on_source(lockers, m), 10)


def test_classic_locks_go_with_any_close_of_the_file(mounted, lockers):
    """POSIX: closing any descriptor of the file drops the process's
    locks on it, at once (close(2) waits for it). For a file locked through
    the view before (opened since: the kernel sends a FLUSH at each close)."""
    m = mounted
    first = opened(lockers(), m.v('f'))
    assert lock(first, 'classic', 'r') == 'ok'
    first.exit()
    h = opened(lockers(), m.v('f'))
    assert lock(h, 'classic', 'w', 0, 10) == 'ok'
    assert h(op='open', name='g', path=str(m.v('f')), mode='r') == 'ok'
    assert not free_on_source(lockers, m)
    assert h(op='close', name='g') == 'ok'
    assert free_on_source(lockers, m)
    assert lock(h, 'classic', 'w', 0, 10) == 'ok'   # f is still open
    assert not free_on_source(lockers, m)
    assert h(op='close', name='f') == 'ok'
    assert free_on_source(lockers, m)


def test_first_lock_of_a_file_goes_at_the_last_close(mounted, lockers):
    """Descriptors opened before a file was first locked through the view
    have no FLUSH at close (it costs a round trip per close): their locks
    go at the last close of the open file they were taken through (its
    RELEASE, just after close(2) returns)."""
    m = mounted
    h = opened(lockers(), m.v('f'))
    assert lock(h, 'classic', 'w', 0, 10) == 'ok'
    assert not free_on_source(lockers, m)
    assert h(op='close', name='f') == 'ok'
    assert H.wait_until(lambda: free_on_source(lockers, m), 10)
    # and once locked, later opens drop their locks at close, at once
    assert h(op='open', name='f', path=str(m.v('f')), mode='rw') == 'ok'
    assert lock(h, 'classic', 'w', 0, 10) == 'ok'
    assert h(op='close', name='f') == 'ok'
    assert free_on_source(lockers, m)


def test_ofd_locks_go_with_their_open_file_only(mounted, lockers):
    m = mounted
    h = opened(lockers(), m.v('f'))
    assert lock(h, 'ofd', 'w', 0, 10) == 'ok'
    assert h(op='open', name='g', path=str(m.v('f')), mode='r') == 'ok'
    assert h(op='close', name='g') == 'ok'
    assert not free_on_source(lockers, m)
    assert h(op='close', name='f') == 'ok'
    # the kernel sends the last close of an open file (RELEASE) after
    # close(2) has returned
    assert H.wait_until(lambda: free_on_source(lockers, m), 10)


@pytest.mark.parametrize('kind', ['classic', 'ofd'])
@pytest.mark.parametrize('how', ['exit', 'kill'])
def test_locks_go_when_the_owner_exits(mounted, lockers, kind, how):
    m = mounted
    h = opened(lockers(), m.v('f'))
    assert lock(h, kind, 'w', 0, 10) == 'ok'
    assert lock(h, kind, 'r', 20, 10) == 'ok'
    assert not free_on_source(lockers, m)
    if how == 'exit':
        assert h.exit() == 0
    else:
        h.kill()
    # the first lock of the file: at the RELEASE of its open file, which
    # the kernel sends as the process's files are closed
    assert H.wait_until(lambda: free_on_source(lockers, m), 10)
    assert free_on_source(lockers, m, 20, 10)


def test_two_views_of_one_source(linkfs, lockers):
    a = linkfs(populate=lambda s: (s / 'f').write_bytes(b'.' * 100))
    b = linkfs(src=a.src)
    for kind in ('classic', 'ofd'):
        x = opened(lockers(), a.v('f'))
        y = opened(lockers(), b.v('f'))
        assert lock(x, kind, 'w', 0, 10) == 'ok'
        assert lock(y, kind, 'r', 5, 1) == 'EAGAIN'
        assert getlk(y, kind, 'r', 0, 0) == {
            'type': 'w', 'start': 0, 'len': 10,
            'pid': 0 if kind == 'classic' else -1}
        y.send(op='lock', name='f', kind=kind, type='r', start=0, len=0,
               wait=True)
        y.wait_blocked()
        assert x(op='close', name='f') == 'ok'
        assert y.recv() == 'ok'
        assert not free_on_source(lockers, a)
        y.exit()
        x.exit()
        assert H.wait_until(lambda: free_on_source(lockers, a), 10)


def test_flock_waits_in_its_own_thread(mounted, lockers):
    """flock(2) without LOCK_NB waits like F_SETLKW: interruptible, and
    without holding one of libfuse's workers."""
    m = mounted
    h = opened(lockers(), m.s('f'))
    assert h(op='flock', name='f', how='ex') == 'ok'
    waiters = [opened(lockers(), m.v('f')) for _ in range(12)]
    for w in waiters:
        w.send(op='flock', name='f', how='sh', wait=True)
    for w in waiters:
        w.wait_blocked()
    m.v('g').write_bytes(b'still served')
    os.kill(waiters[0].pid, signal.SIGUSR1)
    assert waiters[0].recv() == 'EINTR'
    assert h(op='flock', name='f', how='un') == 'ok'
    for w in waiters[1:]:
        assert w.recv() == 'ok'


def test_lock_drops_what_the_view_cached(mounted, lockers):
    """A writer on the source changes the file under its lock; a reader
    of the view that takes the lock afterwards reads the new data, even
    though it read the old through the same open file before (as SQLite's
    rollback journal mode needs)."""
    m = mounted
    r = opened(lockers(), m.v('f'), 'r')
    assert bytes.fromhex(r(op='read', name='f', size=4)) == b'....'
    w = opened(lockers(), m.s('f'))
    for n in range(5):
        assert lock(w, 'classic', 'w') == 'ok'
        data = b'%04d' % n
        with open(m.s('f'), 'r+b') as f:
            f.write(data)
        assert lock(w, 'classic', 'u') == 'ok'
        assert lock(r, 'classic', 'r') == 'ok'
        assert bytes.fromhex(r(op='read', name='f', size=4)) == data
        assert lock(r, 'classic', 'u') == 'ok'


def test_lock_owner_descriptors_are_given_back(mounted, lockers):
    m = mounted
    for k in range(3):
        (m.s('f%d' % k)).write_bytes(b'x')

    def fds():
        """The daemon's descriptors of source files (its threads' pipes for
        splice come and go with them)."""
        n = 0
        for f in os.listdir('/proc/%d/fd' % m.pid):
            try:
                n += os.readlink('/proc/%d/fd/%s' % (m.pid, f)).startswith(
                    str(m.src) + '/')
            except FileNotFoundError:
                pass
        return n
    for k in range(3):     # opened once: their O_PATH descriptors cached
        m.v('f%d' % k).read_bytes()
    before = fds()
    for _ in range(5):
        ls = [lockers() for _ in range(4)]
        for n, lk in enumerate(ls):
            for k in range(3):
                assert lk(op='open', name='f', path=str(m.v('f%d' % k)),
                          mode='rw') == 'ok'
                assert lock(lk, 'ofd' if n % 2 else 'classic', 'r') == 'ok'
        for lk in ls:
            lk.exit()
    assert H.wait_until(lambda: fds() <= before, 10), (fds(), before, sorted(
        os.readlink('/proc/%d/fd/%s' % (m.pid, f))
        for f in os.listdir('/proc/%d/fd' % m.pid)))


def test_locks_on_a_virtual_file(linkfs, lockers):
    m = linkfs()
    a = opened(lockers(), m.v('.links', 'status'), 'r')
    b = opened(lockers(), m.v('.links', 'status'), 'r')
    assert lock(a, 'classic', 'r') == 'ok'
    assert lock(b, 'ofd', 'r') == 'ok'
    assert getlk(b, 'ofd', 'r')['type'] == 'u'
