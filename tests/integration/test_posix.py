# SPDX-License-Identifier: GPL-2.0-or-later
"""POSIX rules that the conformance suite (docs/conformance.md) found the view
breaking, each checked against the source as the oracle: the same operation,
by the same unprivileged caller, made once on the source directly and once
through the view (allow_other, daemon as root), must give the same result."""

import os
import stat
import struct
import time

import pytest

import linkfs_helpers as H

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason='needs root to switch users')

U1 = (1000, 1000)
U2 = (1001, 1001)


@pytest.fixture
def mu(shared_tmp, linkfs):
    def factory(populate=None, opts=('-o', 'allow_other')):
        return linkfs(*opts, base=shared_tmp, src_mode=0o777,
                      populate=populate)
    return factory


def _on_both(user, m, code):
    """Run code as user once with BASE = the source, once with BASE = the
    view; it must leave its results in OUT."""
    pre = 'BASE = %s\n'
    return tuple(H.as_user(user[0], user[1], pre % H.py_literal(base) + code)
                 for base in (m.src, m.mnt))


_CREATE_MODES = r'''
os.umask(UMASK)
def mode(p):
    return oct(os.lstat(p).st_mode & 0o7777)
d = BASE + '/' + TAG
os.mkdir(d, 0o777)
os.close(os.open(d + '/open_rdonly', os.O_CREAT | os.O_RDONLY, 0o666))
os.close(os.open(d + '/open_wronly', os.O_CREAT | os.O_WRONLY, 0o642))
os.mkdir(d + '/dir', 0o777)
os.mkfifo(d + '/fifo', 0o666)
os.mknod(d + '/node', stat.S_IFIFO | 0o622)
for n in ('.', 'open_rdonly', 'open_wronly', 'dir', 'fifo', 'node'):
    OUT[n] = mode(d + '/' + n)
'''


@pytest.mark.parametrize('umask', [0o000, 0o002, 0o022, 0o077])
def test_created_modes_follow_callers_umask(mu, umask):
    """The daemon's own umask never reaches what a caller creates (suite:
    open/02, open/03, mknod/02, chmod/12 created 0620 as 0600)."""
    m = mu()
    code = ('UMASK = %#o\nTAG = "u%o" + os.path.basename(BASE)\n'
            % (umask, umask) + _CREATE_MODES)
    src, view = _on_both(U1, m, code)
    assert view == src
    assert src['open_rdonly'] == oct(0o666 & ~umask)


def _posix_acl(entries):
    """The system.posix_acl_* xattr: version 2, then (tag, perm, id)."""
    return struct.pack('<I', 2) + b''.join(
        struct.pack('<HHI', tag, perm, 0xffffffff) for tag, perm in entries)


ACL_USER_OBJ, ACL_GROUP_OBJ, ACL_OTHER = 0x01, 0x04, 0x20


def test_default_acl_replaces_umask_as_on_the_source(mu):
    """Under a directory with a default ACL the source ignores the umask;
    so must the view (the umask is applied where the object is made, not by
    the kernel before the request)."""
    acl = _posix_acl([(ACL_USER_OBJ, 7), (ACL_GROUP_OBJ, 7), (ACL_OTHER, 7)])

    def pop(s):
        os.mkdir(s / 'acl', 0o777)
        os.chmod(s / 'acl', 0o777)
        try:
            os.setxattr(s / 'acl', 'system.posix_acl_default', acl)
        except OSError as e:
            pytest.skip('source takes no POSIX ACLs: %s' % e)

    m = mu(pop)
    code = 'UMASK = 0o077\nTAG = "acl/" + os.path.basename(BASE)\n'
    src, view = _on_both(U1, m, code + _CREATE_MODES)
    assert src['open_rdonly'] == oct(0o666), 'the oracle ignores the umask'
    assert view == src


_WRITE_BY_OTHER = r'''
fd = os.open(BASE + '/' + NAME, os.O_WRONLY)
os.write(fd, b'x')
OUT['fstat'] = oct(os.fstat(fd).st_mode & 0o7777)
os.close(fd)
OUT['stat'] = oct(os.stat(BASE + '/' + NAME).st_mode & 0o7777)
'''


@pytest.mark.parametrize('bits', [stat.S_ISUID, stat.S_ISGID,
                                  stat.S_ISUID | stat.S_ISGID],
                         ids=['setuid', 'setgid', 'both'])
def test_write_by_non_owner_clears_set_id_bits(mu, bits):
    """A write by a caller without CAP_FSETID clears set-user-ID and
    set-group-ID (suite: chmod/12); the daemon, root, would keep them."""
    mode = bits | 0o777

    def pop(s):
        for side in ('a', 'b'):
            p = s / side
            p.write_bytes(b'')
            os.chmod(p, mode)

    m = mu(pop)
    src = H.as_user(*U2, 'BASE = %s\nNAME = "a"\n' % H.py_literal(m.src)
                    + _WRITE_BY_OTHER)
    view = H.as_user(*U2, 'BASE = %s\nNAME = "b"\n' % H.py_literal(m.mnt)
                     + _WRITE_BY_OTHER)
    assert src == {'fstat': oct(0o777), 'stat': oct(0o777)}
    assert view == src
    assert stat.S_IMODE(os.stat(m.s('b')).st_mode) == 0o777


def test_truncate_by_non_owner_clears_setuid(mu):
    def pop(s):
        for side in ('a', 'b'):
            (s / side).write_bytes(b'data')
            os.chmod(s / side, 0o4777)

    m = mu(pop)
    code = r'''
os.truncate(BASE + '/' + NAME, 1)
OUT['mode'] = oct(os.stat(BASE + '/' + NAME).st_mode & 0o7777)
'''
    src = H.as_user(*U2, 'BASE = %s\nNAME = "a"\n' % H.py_literal(m.src) + code)
    view = H.as_user(*U2, 'BASE = %s\nNAME = "b"\n' % H.py_literal(m.mnt) + code)
    assert src == {'mode': oct(0o777)}
    assert view == src


def _wait_for_clock_past(ns):
    """Let the filesystem clock move past ns (timestamps are coarse)."""
    H.wait_until(lambda: time.time_ns() > ns + 20_000_000, timeout=5)


@pytest.mark.parametrize('follow', [True, False], ids=['chown', 'lchown'])
def test_chown_to_same_ids_updates_ctime_as_on_source(mu, follow):
    """chown(f, -1, -1) changes nothing but the change time on the source;
    through the view it reaches the daemon as a setattr without attributes
    (suite: chown/00, the TODO checks of "both owner and group are -1")."""
    def pop(s):
        for side in ('a', 'b'):
            (s / side).write_bytes(b'x')

    m = mu(pop)
    fn = os.chown if follow else os.lchown
    changed = []
    for path, stat_path in ((m.s('a'), m.s('a')), (m.v('b'), m.v('b'))):
        before = os.lstat(stat_path).st_ctime_ns
        _wait_for_clock_past(before)
        fn(path, -1, -1)
        changed.append(os.lstat(stat_path).st_ctime_ns > before)
    assert changed == [True, True]
    assert os.lstat(m.s('b')).st_ctime_ns == os.lstat(m.v('b')).st_ctime_ns
