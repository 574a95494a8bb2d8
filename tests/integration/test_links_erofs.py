# SPDX-License-Identifier: GPL-2.0-or-later
"""Every change attempt inside `.links` fails with EROFS and changes nothing
in the source (SPEC section 2), at every level of the namespace; removing
D/.links succeeds and changes nothing."""

import errno
import os

import pytest

import linkfs_helpers as H
import links_oracle as O
from links_oracle import b, join


def _pop(s):
    H.make_tree(s, {
        'd/f': b'data', 'd/g': ('link', 'd/f'), 'h': ('link', 'd/f'),
        'd/dl': ('symlink', 'missing'), 'real': b'real', 'realdir': None,
        'emptydir': None,
    })
    os.setxattr(s / 'real', 'user.keep', b'1')


LEVELS = ['root_links', 'links', 'dirs', 'page', 'siblings', 'siblings_name',
          'siblings_link', 'dangling', 'dangling_link', 'inodes',
          'inodes_ino', 'inodes_link', 'all_dangling', 'all_dangling_link',
          'status', 'page_siblings', 'page_dangling_link']


def _level_path(m, level):
    L, Ld = O.lnk(m), O.lnk(m, b'd')
    P = O.page(m, b'd')
    ino = b'%d' % os.lstat(m.v('h')).st_ino
    return {
        'root_links': L,
        'links': Ld,
        'dirs': join(L, b'dirs'),
        'page': P,
        'page_siblings': join(P, b'siblings'),
        'page_dangling_link': join(P, b'dangling', b'dl'),
        'siblings': join(Ld, b'siblings'),
        'siblings_name': join(Ld, b'siblings', b'f'),
        'siblings_link': join(Ld, b'siblings', b'f', b'h'),
        'dangling': join(Ld, b'dangling'),
        'dangling_link': join(Ld, b'dangling', b'dl'),
        'inodes': join(L, b'inodes'),
        'inodes_ino': join(L, b'inodes', ino),
        'inodes_link': join(L, b'inodes', ino, b'h'),
        'all_dangling': join(L, b'all-dangling'),
        'all_dangling_link': join(L, b'all-dangling', O.flat(b'd/dl')),
        'status': join(L, b'status'),
    }[level]


def _ops(m, level, T):
    R = b(m.mnt)
    real, realdir, emptydir = join(R, b'real'), join(R, b'realdir'), \
        join(R, b'emptydir')
    out = join(R, b'moved-out')
    parent = os.path.dirname(T)
    ops = {}
    if level in ('root_links', 'dirs', 'page', 'siblings', 'siblings_name',
                 'dangling', 'inodes', 'inodes_ino', 'all_dangling',
                 'page_siblings'):
        new = join(T, b'new')
        has_outside = level in ('siblings_name', 'inodes_ino')
        ops.update({
            'create': lambda: os.close(os.open(new, os.O_CREAT | os.O_WRONLY
                                               | os.O_EXCL, 0o644)),
            'mkfifo': lambda: os.mkfifo(new),
            'mknod': lambda: os.mknod(new, 0o100644),
            'mkdir': lambda: os.mkdir(new),
            'symlink': lambda: os.symlink('x', new),
            'link in': lambda: os.link(real, new),
            'rename file in': lambda: os.rename(real, new),
            'rename dir in': lambda: os.rename(realdir, new),
            'rename out': lambda: os.rename(T, out),
            'rename onto': lambda: os.rename(emptydir, T),
            'exchange': lambda: O.renameat2(realdir, T, H.RENAME_EXCHANGE),
            'rmdir': lambda: os.rmdir(T),
            'chmod': lambda: os.chmod(T, 0o777),
            'chown': lambda: os.chown(T, 1234, 1234),
            'utime': lambda: os.utime(T, ns=(10**9, 10**9)),
            'utime now': lambda: os.utime(T),
            'setxattr': lambda: os.setxattr(T, 'user.test', b'1'),
            'setxattr outside': lambda: os.setxattr(
                T, 'user.linkfs.outside', b'7'),
            'removexattr': lambda: os.removexattr(
                T, 'user.linkfs.outside' if has_outside else 'user.test'),
        })
    elif level == 'status':
        ops.update({
            'unlink': lambda: os.unlink(T),
            'rename out': lambda: os.rename(T, out),
            'rename within': lambda: os.rename(T, join(parent, b'status2')),
            'rename onto': lambda: os.rename(real, T),
            'exchange': lambda: O.renameat2(real, T, H.RENAME_EXCHANGE),
            'link out': lambda: os.link(T, join(R, b'status-link')),
            'chmod': lambda: os.chmod(T, 0o666),
            'chown': lambda: os.chown(T, 1234, 1234),
            'utime': lambda: os.utime(T, ns=(10**9, 10**9)),
            'truncate': lambda: os.truncate(T, 0),
            'open wronly': lambda: os.close(os.open(T, os.O_WRONLY)),
            'open rdwr': lambda: os.close(os.open(T, os.O_RDWR)),
            'open append': lambda: os.close(os.open(T, os.O_WRONLY |
                                                    os.O_APPEND)),
            'open trunc': lambda: os.close(os.open(T, os.O_RDONLY |
                                                   os.O_TRUNC)),
            'setxattr': lambda: os.setxattr(T, 'user.test', b'1'),
            'removexattr': lambda: os.removexattr(T, 'user.test'),
        })
    else:   # a virtual symlink
        ops.update({
            'unlink': lambda: os.unlink(T),
            'rename out': lambda: os.rename(T, out),
            'rename within': lambda: os.rename(T, join(parent, b'other')),
            'rename onto': lambda: os.rename(real, T),
            'exchange': lambda: O.renameat2(real, T, H.RENAME_EXCHANGE),
            'link out': lambda: os.link(T, join(R, b'vlink'),
                                        follow_symlinks=False),
            'lchown': lambda: os.lchown(T, 1234, 1234),
            'utime nofollow': lambda: os.utime(T, ns=(10**9, 10**9),
                                               follow_symlinks=False),
            'setxattr': lambda: os.setxattr(T, 'trusted.test', b'1',
                                            follow_symlinks=False),
            'removexattr': lambda: os.removexattr(T, 'trusted.test',
                                                  follow_symlinks=False),
        })
    return ops


@pytest.mark.parametrize('level', LEVELS)
def test_every_change_is_erofs(linkfs, level):
    m = linkfs(populate=_pop)
    O.wait_ready(m)
    T = _level_path(m, level)
    assert os.path.lexists(T), T
    before = O.fingerprint(m.src)
    g0 = O.status(m)['generation']
    listing = sorted(os.listdir(O.lnk(m, b'd'))) + sorted(
        os.listdir(join(O.lnk(m, b'd'), b'siblings')))
    got = {}
    for name, fn in _ops(m, level, T).items():
        got[name] = H.ename(H.errno_of(fn))
    expected = {k: 'EROFS' for k in got}
    if level == 'links':
        # D/.links: removing it succeeds and changes nothing (so rm -r and
        # file managers delete folders); it is there again at once
        expected['unlink'] = 'OK'
    if os.geteuid() != 0 and level.endswith('_link'):
        # No xattr namespace is writable on a symlink by a user: the kernel
        # refuses trusted.* (CAP_SYS_ADMIN) before asking linkfs.
        expected.update({'setxattr': 'EPERM', 'removexattr': 'EPERM'})
    wrong = {k: v for k, v in got.items() if v != expected[k]}
    assert not wrong, 'not EROFS at %s: %r' % (level, wrong)
    assert O.fingerprint(m.src) == before
    assert O.status(m)['generation'] == g0
    assert os.path.lexists(T), T
    assert sorted(os.listdir(O.lnk(m, b'd'))) + sorted(
        os.listdir(join(O.lnk(m, b'd'), b'siblings'))) == listing
    O.check_everything(m)


def test_rename_real_entry_onto_links_name(linkfs):
    """Replacing the virtual directory by a real one from its parent."""
    m = linkfs(populate=_pop)
    O.wait_ready(m)
    before = O.fingerprint(m.src)
    R = b(m.mnt)
    res = {
        'rename dir': H.errno_of(os.rename, join(R, b'emptydir'),
                                 O.lnk(m, b'd')),
        'rename file': H.errno_of(os.rename, join(R, b'real'), O.lnk(m)),
        'noreplace': H.errno_of(O.renameat2, join(R, b'real'),
                                O.lnk(m, b'd'), H.RENAME_NOREPLACE),
        'rename file onto D/.links': H.errno_of(os.rename, join(R, b'real'),
                                                O.lnk(m, b'd')),
    }
    # the kernel refuses a directory over a symlink itself
    assert res['rename dir'] in (errno.EROFS, errno.ENOTDIR), res
    assert res['rename file onto D/.links'] == errno.EROFS, res
    # the kernel refuses a file over a directory itself
    assert res['rename file'] in (errno.EROFS, errno.EISDIR), res
    assert res['noreplace'] in (errno.EROFS, errno.EEXIST), res
    assert O.fingerprint(m.src) == before


def test_reading_is_allowed(linkfs):
    m = linkfs(populate=_pop)
    O.wait_ready(m)
    with open(join(O.lnk(m), b'status'), 'rb') as f:
        assert b'state: ready' in f.read()
    assert os.access(O.lnk(m), os.R_OK | os.X_OK)
    for level in LEVELS:
        T = _level_path(m, level)
        os.lstat(T)
        if level.endswith('_link'):
            os.readlink(T)
    # the sibling links lead to the real file, which stays writable
    p = join(O.lnk(m, b'd'), b'siblings', b'f', b'h')
    with open(p, 'r+b') as f:
        f.write(b'DATA')
    assert (m.src / 'd' / 'f').read_bytes() == b'DATA'


def test_making_d_links_again(linkfs):
    """After D/.links is removed, making an entry by that name is EEXIST
    (the kernel looks the name up again first, and finds it), in the root
    too."""
    m = linkfs(populate=_pop)
    O.wait_ready(m)
    before = O.fingerprint(m.src)
    R = b(m.mnt)
    Ld = O.lnk(m, b'd')
    want = os.readlink(Ld)
    res = {}
    for name, fn in {
            'symlink': lambda: os.symlink(b'../anything', Ld),
            'mkdir': lambda: os.mkdir(Ld),
            'mknod': lambda: os.mknod(Ld, 0o100644),
            'create': lambda: os.close(os.open(Ld, os.O_CREAT | os.O_WRONLY
                                               | os.O_EXCL, 0o644)),
            'link': lambda: os.link(join(R, b'real'), Ld)}.items():
        os.listdir(join(R, b'd'))   # removed again only after a listing
        os.unlink(Ld)
        res[name] = H.ename(H.errno_of(fn))
        assert os.readlink(Ld) == want, name
    assert res == {'symlink': 'EEXIST', 'mkdir': 'EEXIST', 'mknod': 'EEXIST',
                   'create': 'EEXIST', 'link': 'EEXIST'}, res
    assert H.ename(H.errno_of(os.unlink, O.lnk(m))) in ('EISDIR', 'EROFS')
    assert H.ename(H.errno_of(os.symlink, b'x', O.lnk(m))) == 'EEXIST'
    assert H.ename(H.errno_of(os.rmdir, O.lnk(m))) == 'EROFS'
    assert O.fingerprint(m.src) == before
    O.check_everything(m)
