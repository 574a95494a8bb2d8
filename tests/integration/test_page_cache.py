# SPDX-License-Identifier: GPL-2.0-or-later
"""The view's page cache without FUSE passthrough (issue 16, item 2): a
file read through the view again, unchanged, is served from the kernel's
page cache (no READ reaches the daemon); a file changed directly in the
source (content, size, mtime; also while the view has it open) is read
fresh at its next open, and through a file open meanwhile once the cache=
timeout has passed; changes made through the view are seen at once
through every name. Data compared byte for byte, with the view mounted by
root (-o passthrough=off) and by an unprivileged user.

Also: an open or access(2) by a name the kernel still caches, while the
source removed or replaced that file, reaches what the name is now."""

import errno
import os
import time

import pytest

import linkfs_helpers as H

SIZE = 1 << 20


@pytest.fixture(params=['root', 'user'])
def view(request, shared_tmp, linkfs, actors):
    """(mount, actor): the actor reads and writes through the view as the
    user who mounted it."""
    def make(*opts, populate=None):
        if request.param == 'root':
            m = linkfs('-d', '-o', 'passthrough=off', *opts, populate=populate)
            return m, actors()
        m = request.getfixturevalue('user_linkfs')('-d', *opts,
                                                   populate=populate)
        return m, actors(user=H.TEST_USER)
    return make


def reads(m):
    return m.stderr_text().count('opcode: READ ')


def cat(actor, path):
    got = actor(op='cat', path=str(path))
    assert not got.isupper(), got        # an errno name
    return bytes.fromhex(got)


def settled(path):
    """Wait until the file's last change is older than the timestamps'
    granularity (20 ms), after which a cache that agrees with it is kept."""
    assert H.wait_until(
        lambda: time.time() - os.stat(path).st_ctime > 0.05, 5)


def rewrite(path, data, keep_mtime=False):
    st = os.stat(path)
    with open(path, 'r+b') as f:
        f.write(data)
        f.truncate(len(data))
    if keep_mtime:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_unchanged_file_is_read_from_the_page_cache(view):
    data = os.urandom(SIZE)
    m, a = view(populate=lambda s: (s / 'f').write_bytes(data))
    settled(m.s('f'))
    assert cat(a, m.v('f')) == data
    cold = reads(m)
    assert cold > 0
    for _ in range(3):
        assert cat(a, m.v('f')) == data
    assert reads(m) == cold


def test_source_changes_are_read_at_the_next_open(view):
    data = os.urandom(SIZE)
    m, a = view(populate=lambda s: (s / 'f').write_bytes(data))
    settled(m.s('f'))
    assert cat(a, m.v('f')) == data
    assert cat(a, m.v('f')) == data
    # same size, and the old mtime put back: the change time still moved
    new = os.urandom(SIZE)
    rewrite(m.s('f'), new, keep_mtime=True)
    assert cat(a, m.v('f')) == new
    # longer, then shorter
    longer = new + os.urandom(5000)
    rewrite(m.s('f'), longer)
    assert cat(a, m.v('f')) == longer
    shorter = os.urandom(3000)
    rewrite(m.s('f'), shorter)
    assert cat(a, m.v('f')) == shorter
    # and kept again once unchanged
    settled(m.s('f'))
    assert cat(a, m.v('f')) == shorter
    before = reads(m)
    assert cat(a, m.v('f')) == shorter
    assert reads(m) == before


def test_rapid_source_changes_are_never_read_stale(view):
    """Changes within the granularity of the timestamps, each read at
    once."""
    m, a = view(populate=lambda s: (s / 'f').write_bytes(b'0' * 4096))
    for k in range(60):
        data = os.urandom(4096 if k % 3 else 4096 + k)
        rewrite(m.s('f'), data, keep_mtime=k % 2 == 0)
        assert cat(a, m.v('f')) == data, k


def test_change_while_open_is_read_after_the_timeout(view):
    data = os.urandom(SIZE)
    m, a = view(populate=lambda s: (s / 'f').write_bytes(data))
    settled(m.s('f'))
    assert a(op='open', name='f', path=str(m.v('f')), mode='r') == 'ok'
    assert bytes.fromhex(a(op='pread', name='f', size=SIZE)) == data
    new = os.urandom(SIZE)
    rewrite(m.s('f'), new)
    # a new open reads it at once
    assert cat(a, m.v('f')) == new
    # the file open before does once the attributes it has time out (1 s)
    t0 = time.monotonic()
    assert H.wait_until(lambda: bytes.fromhex(
        a(op='pread', name='f', size=SIZE)) == new, 5)
    assert time.monotonic() - t0 < 3


def test_writes_through_the_view_are_seen_through_every_name(view):
    data = os.urandom(SIZE)

    def populate(s):
        (s / 'f').write_bytes(data)
        os.link(s / 'f', s / 'g')
    m, a = view(populate=populate)
    settled(m.s('f'))
    assert cat(a, m.v('g')) == data
    assert cat(a, m.v('g')) == data
    assert a(op='open', name='f', path=str(m.v('f')), mode='rw') == 'ok'
    patch = os.urandom(10000)
    assert a(op='pwrite', name='f', data=patch.hex(), offset=12345) == 'ok'
    want = data[:12345] + patch + data[12345 + len(patch):]
    assert cat(a, m.v('g')) == want
    assert m.s('g').read_bytes() == want
    assert bytes.fromhex(a(op='pread', name='f', size=SIZE)) == want


def test_cache_never_reads_at_every_open(view):
    data = os.urandom(SIZE)
    m, a = view('-o', 'cache=never',
                populate=lambda s: (s / 'f').write_bytes(data))
    settled(m.s('f'))
    assert cat(a, m.v('f')) == data
    before = reads(m)
    assert cat(a, m.v('f')) == data
    assert reads(m) > before


def test_a_name_removed_or_replaced_in_the_source(view):
    """The kernel caches a name for the cache= timeout; opening it, or
    asking whether it exists, must not reach the file the source deleted
    meanwhile (SQLite's rollback journal asks exactly this)."""
    m, a = view(populate=lambda s: (s / 'j').write_bytes(b'old journal'))
    for k in range(5):
        assert cat(a, m.v('j')) == b'old journal'
        assert a(op='exists', path=str(m.v('j'))) is True
        os.unlink(m.s('j'))
        assert a(op='exists', path=str(m.v('j'))) is False
        assert a(op='cat', path=str(m.v('j'))) == 'ENOENT'
        assert a(op='open', name='x', path=str(m.v('j')), mode='r') == 'ENOENT'
        # made again: it shows once the kernel's negative entry times out
        m.s('j').write_bytes(b'new journal %d' % k)
        os.chown(m.s('j'), os.stat(m.s()).st_uid, os.stat(m.s()).st_gid)
        assert H.wait_until(lambda: a(op='exists', path=str(m.v('j'))), 5)
        assert cat(a, m.v('j')) == b'new journal %d' % k
        # replaced by a rename in the source: at once
        m.s('other').write_bytes(b'old journal')
        os.chown(m.s('other'), os.stat(m.s()).st_uid, os.stat(m.s()).st_gid)
        os.rename(m.s('other'), m.s('j'))
        assert cat(a, m.v('j')) == b'old journal'
