# SPDX-License-Identifier: GPL-2.0-or-later
"""Names: readdir, mkdir, rmdir, unlink, rename(2), renameat2, symlink,
errno parity with the source, open-unlinked files, cache modes and
changes made directly in the source (SPEC sections 1 and 4)."""

import errno
import os
import stat
import time

import pytest

import linkfs_helpers as H


def _populate_mixed(s):
    H.make_tree(s, {
        'f': b'file',
        '.hidden': b'dot',
        'd/x': b'x',
        'd/sub/y': b'y',
        'e': None,
        'l': ('symlink', 'f'),
        'dl': ('symlink', 'missing'),
        'abs': ('symlink', '/etc/hostname'),
        'fifo': ('fifo',),
        'hl': ('link', 'f'),
    })


def test_readdir_matches_source(linkfs):
    def pop(s):
        _populate_mixed(s)
        big = s / 'big'
        big.mkdir()
        for i in range(1500):
            (big / ('entry-with-a-longish-name-%05d' % i)).write_bytes(b'')
    m = linkfs(populate=pop)
    for rel in ('', 'd', 'big', 'e'):
        assert H.listdir_view(m.v(rel), m.s(rel)) == \
            sorted(os.listdir(m.s(rel))), rel

        def entries(p):
            out = {}
            with os.scandir(p) as it:
                for de in it:
                    out[de.name] = (de.inode(), de.is_dir(follow_symlinks=False),
                                    de.is_file(follow_symlinks=False),
                                    de.is_symlink())
            out.pop(H.LINKS_NAME, None)
            return out
        assert entries(m.v(rel)) == entries(m.s(rel)), rel


def test_ls_li_matches_source(linkfs):
    m = linkfs(populate=_populate_mixed)
    cmd = ['ls', '-liRAn', '--time-style=full-iso', '.']
    v = H.run(cmd, cwd=m.mnt, timeout=60, check=True).stdout
    s = H.run(cmd, cwd=m.src, timeout=60, check=True).stdout
    assert H.drop_links_lines(v) == H.drop_links_lines(s)


@pytest.mark.parametrize('name', ['f', 'd', 'l', 'dl', 'fifo', 'hl', 'e',
                                  '.hidden', 'd/sub/y'])
def test_lstat_matches_source(linkfs, name):
    m = linkfs(populate=_populate_mixed)
    vs, ss = os.lstat(m.v(name)), os.lstat(m.s(name))
    assert H.stat_dict(vs) == H.stat_dict(ss)
    assert vs.st_ctime_ns == ss.st_ctime_ns
    assert vs.st_blocks == ss.st_blocks


def test_root_stat_matches_source(mnt):
    vs, ss = os.stat(mnt.mnt), os.stat(mnt.src)
    assert (vs.st_ino, vs.st_mode, vs.st_uid, vs.st_gid, vs.st_nlink) == \
        (ss.st_ino, ss.st_mode, ss.st_uid, ss.st_gid, ss.st_nlink)


def test_mkdir_and_rmdir(mnt):
    os.mkdir(mnt.v('a'))
    os.mkdir(mnt.v('a/b'), 0o700)
    assert stat.S_ISDIR(os.lstat(mnt.s('a/b')).st_mode)
    assert stat.S_IMODE(os.lstat(mnt.s('a/b')).st_mode) == 0o700
    assert os.lstat(mnt.v('a')).st_nlink == os.lstat(mnt.s('a')).st_nlink == 3
    os.rmdir(mnt.v('a/b'))
    assert not os.path.lexists(mnt.s('a/b'))
    assert os.lstat(mnt.v('a')).st_nlink == 2
    os.rmdir(mnt.v('a'))
    assert not os.path.lexists(mnt.s('a'))
    assert H.errno_of(os.lstat, mnt.v('a')) == errno.ENOENT


def test_unlink(linkfs):
    m = linkfs(populate=_populate_mixed)
    for n in ('f', 'l', 'dl', 'fifo'):
        os.lstat(m.v(n))
        os.unlink(m.v(n))
        assert not os.path.lexists(m.s(n)), n
        assert not os.path.lexists(m.v(n)), n
    assert os.lstat(m.v('hl')).st_nlink == 1


def test_rm_rf_large_directory(linkfs):
    def pop(s):
        for i in range(40):
            d = s / 'top' / ('d%02d' % i)
            d.mkdir(parents=True)
            for j in range(50):
                (d / ('file-%03d' % j)).write_bytes(b'x')
    # links=hidden keeps .links out of readdir, so rm -rf sees only real
    # entries (docs/design.md: tree-wide tools and the visibility modes).
    m = linkfs('-o', 'links=hidden', populate=pop)
    r = H.run(['rm', '-rf', str(m.v('top'))], timeout=300)
    assert r.returncode == 0, r.stderr
    assert not os.path.lexists(m.s('top'))


def test_rm_rf_default_mode_removes_everything(linkfs):
    def pop(s):
        for i in range(5):
            (s / 'top' / ('d%d' % i)).mkdir(parents=True)
            (s / 'top' / ('d%d' % i) / 'f').write_bytes(b'x')
            os.link(s / 'top' / ('d%d' % i) / 'f', s / 'top' / ('g%d' % i))
    m = linkfs(populate=pop)
    # while the scan runs and after: D/.links is a symlink rm removes
    r = H.run(['rm', '-rf', str(m.v('top'))], timeout=300)
    assert r.returncode == 0, r.stderr
    assert os.listdir(m.src) == []


def test_rename_file(linkfs):
    m = linkfs(populate=_populate_mixed)
    ino = os.lstat(m.s('f')).st_ino
    os.rename(m.v('f'), m.v('g'))
    assert not os.path.lexists(m.s('f'))
    assert os.lstat(m.s('g')).st_ino == ino == os.lstat(m.v('g')).st_ino
    assert H.errno_of(os.lstat, m.v('f')) == errno.ENOENT
    os.rename(m.v('g'), m.v('d/sub/moved'))
    assert m.s('d/sub/moved').read_bytes() == b'file'
    assert os.lstat(m.v('d/sub/moved')).st_ino == ino


def test_rename_overwrites_target(linkfs):
    m = linkfs(populate=lambda s: H.make_tree(s, {'a': b'A', 'b': b'B'}))
    ino_a = os.lstat(m.s('a')).st_ino
    os.lstat(m.v('b'))
    os.rename(m.v('a'), m.v('b'))
    assert m.s('b').read_bytes() == b'A'
    assert os.lstat(m.v('b')).st_ino == ino_a
    assert m.v('b').read_bytes() == b'A'
    assert sorted(H.listdir_view(m.mnt, m.src)) == ['b']


def test_rename_directory_moves_children(linkfs):
    m = linkfs(populate=_populate_mixed)
    os.lstat(m.v('d/sub/y'))
    os.rename(m.v('d'), m.v('e/d2'))
    assert m.v('e/d2/sub/y').read_bytes() == b'y'
    assert H.errno_of(os.lstat, m.v('d/sub/y')) == errno.ENOENT
    (m.v('e/d2/sub/new')).write_bytes(b'n')
    assert m.s('e/d2/sub/new').read_bytes() == b'n'
    assert os.lstat(m.v('e/d2/sub/y')).st_ino == \
        os.lstat(m.s('e/d2/sub/y')).st_ino
    # rename over an empty directory
    os.mkdir(m.v('empty'))
    os.rename(m.v('e/d2'), m.v('empty'))
    assert m.s('empty/sub/y').read_bytes() == b'y'


def test_rename_onto_own_hard_link_is_noop(linkfs):
    m = linkfs(populate=_populate_mixed)
    os.rename(m.v('f'), m.v('hl'))   # same inode: POSIX says do nothing
    assert os.path.lexists(m.s('f')) and os.path.lexists(m.s('hl'))
    assert os.lstat(m.v('f')).st_nlink == 2
    assert os.lstat(m.v('hl')).st_nlink == 2


def test_renameat2_noreplace(linkfs):
    m = linkfs(populate=lambda s: H.make_tree(s, {'a': b'A', 'b': b'B'}))
    with pytest.raises(OSError) as ei:
        H.renameat2(m.v('a'), m.v('b'), H.RENAME_NOREPLACE)
    assert ei.value.errno == errno.EEXIST
    assert m.s('a').read_bytes() == b'A' and m.s('b').read_bytes() == b'B'
    H.renameat2(m.v('a'), m.v('c'), H.RENAME_NOREPLACE)
    assert not os.path.lexists(m.s('a'))
    assert m.s('c').read_bytes() == b'A'
    assert m.v('c').read_bytes() == b'A'


def test_renameat2_exchange(linkfs):
    m = linkfs(populate=lambda s: H.make_tree(s, {
        'a': b'A', 'b': b'B', 'dir/inner': b'I'}))
    ia, ib, idir = (os.lstat(m.s(n)).st_ino for n in ('a', 'b', 'dir'))
    os.lstat(m.v('a'))
    os.lstat(m.v('b'))
    H.renameat2(m.v('a'), m.v('b'), H.RENAME_EXCHANGE)
    assert m.s('a').read_bytes() == b'B' and m.s('b').read_bytes() == b'A'
    assert m.v('a').read_bytes() == b'B' and m.v('b').read_bytes() == b'A'
    assert os.lstat(m.v('a')).st_ino == ib
    assert os.lstat(m.v('b')).st_ino == ia
    # exchange a file with a directory
    H.renameat2(m.v('a'), m.v('dir'), H.RENAME_EXCHANGE)
    assert m.s('a/inner').read_bytes() == b'I'
    assert m.v('a/inner').read_bytes() == b'I'
    assert m.v('dir').read_bytes() == b'B'
    assert os.lstat(m.v('a')).st_ino == idir
    # exchange with a missing name fails like the source
    assert H.errno_of(H.renameat2, m.v('a'), m.v('nope'),
                      H.RENAME_EXCHANGE) == errno.ENOENT


def test_symlink_and_readlink(mnt):
    targets = {'rel': 'some/where', 'abs': '/etc/hostname',
               'dang': '../../missing', 'dot': '.', 'sp': 'a b\tc'}
    for n, t in targets.items():
        os.symlink(t, mnt.v(n))
    for n, t in targets.items():
        assert os.readlink(mnt.s(n)) == t
        assert os.readlink(mnt.v(n)) == t
        assert H.stat_dict(os.lstat(mnt.v(n))) == \
            H.stat_dict(os.lstat(mnt.s(n)))
        assert os.lstat(mnt.v(n)).st_size == len(t)


def _errno_cases():
    O = os.O_RDONLY
    return [
        ('open missing', os.open, ('missing', O)),
        ('open missing/x', os.open, ('missing/x', O)),
        ('open f/x', os.open, ('f/x', O)),
        ('open dir for write', os.open, ('d', os.O_WRONLY)),
        ('open O_NOFOLLOW symlink', os.open, ('l', O | os.O_NOFOLLOW)),
        ('open O_DIRECTORY file', os.open, ('f', O | os.O_DIRECTORY)),
        ('open dangling', os.open, ('dl', O)),
        ('O_CREAT|O_EXCL existing', os.open,
         ('f', os.O_CREAT | os.O_EXCL | os.O_WRONLY)),
        ('O_CREAT|O_EXCL symlink', os.open,
         ('l', os.O_CREAT | os.O_EXCL | os.O_WRONLY)),
        ('mkdir existing dir', os.mkdir, ('d',)),
        ('mkdir existing file', os.mkdir, ('f',)),
        ('mkdir missing parent', os.mkdir, ('missing/x',)),
        ('mkdir under file', os.mkdir, ('f/x',)),
        ('rmdir non-empty', os.rmdir, ('d',)),
        ('rmdir file', os.rmdir, ('f',)),
        ('rmdir symlink', os.rmdir, ('l',)),
        ('rmdir missing', os.rmdir, ('missing',)),
        ('unlink dir', os.unlink, ('d',)),
        ('unlink missing', os.unlink, ('missing',)),
        ('rename dir over file', os.rename, ('d', 'f')),
        ('rename file over dir', os.rename, ('f', 'd')),
        ('rename dir over non-empty dir', os.rename, ('e', 'd')),
        ('rename dir into itself', os.rename, ('e', 'e/sub')),
        ('rename missing', os.rename, ('missing', 'z')),
        ('rename under file', os.rename, ('f', 'f/x')),
        ('link dir', os.link, ('d', 'dlink')),
        ('link over existing', os.link, ('f', 'd')),
        ('link missing', os.link, ('missing', 'z')),
        ('symlink over existing', os.symlink, ('t', 'f')),
        ('readlink file', os.readlink, ('f',)),
        ('readlink missing', os.readlink, ('missing',)),
        ('listdir file', os.listdir, ('f',)),
        ('truncate dir', os.truncate, ('d', 0)),
        ('mkfifo existing', os.mkfifo, ('d',)),
        ('mknod existing', os.mknod, ('f',)),
        ('chmod missing', os.chmod, ('missing', 0o644)),
        ('utime missing', os.utime, ('missing',)),
        ('stat 256-byte name', os.stat, ('n' * 256,)),
        ('create 256-byte name', os.open,
         ('n' * 256, os.O_CREAT | os.O_WRONLY)),
        ('mkdir 256-byte name', os.mkdir, ('n' * 256,)),
    ]


def test_errno_matches_source(linkfs):
    m = linkfs(populate=_populate_mixed)
    path_args = {os.open: 1, os.mkdir: 1, os.rmdir: 1, os.unlink: 1,
                 os.rename: 2, os.link: 2, os.symlink: 0, os.readlink: 1,
                 os.listdir: 1, os.truncate: 1, os.mkfifo: 1, os.mknod: 1,
                 os.chmod: 1, os.utime: 1, os.stat: 1}
    mismatches = []
    for label, fn, args in _errno_cases():
        def mk(base):
            a = list(args)
            if fn is os.symlink:
                a[1] = str(base / a[1])
            else:
                for i in range(path_args[fn]):
                    a[i] = str(base / a[i])
            return a
        es = H.errno_of(fn, *mk(m.src))
        ev = H.errno_of(fn, *mk(m.mnt))
        if es == 0:
            pytest.fail('oracle broken: %s succeeded on the source' % label)
        if es != ev:
            mismatches.append('%s: source %s, view %s' % (
                label, H.ename(es), H.ename(ev)))
    assert not mismatches, '\n'.join(mismatches)


def _no_fuse_hidden(m):
    for root in (m.mnt, m.src):
        for dirpath, dirs, files in os.walk(root):
            for n in dirs + files:
                assert not n.startswith('.fuse_hidden'), \
                    os.path.join(dirpath, n)


def test_unlinked_open_file_stays_usable(linkfs):
    m = linkfs(populate=lambda s: (s / 'f').write_bytes(b'0123456789'))
    fd = os.open(m.v('f'), os.O_RDWR)
    try:
        os.unlink(m.v('f'))
        assert not os.path.lexists(m.s('f'))
        assert not os.path.lexists(m.v('f'))
        _no_fuse_hidden(m)
        assert os.pread(fd, 100, 0) == b'0123456789'
        assert os.pwrite(fd, b'ABC', 8) == 3
        assert os.pread(fd, 100, 0) == b'01234567ABC'
        st = os.fstat(fd)
        assert st.st_size == 11
        assert st.st_nlink == 0
        os.ftruncate(fd, 4)
        assert os.pread(fd, 100, 0) == b'0123'
        # a new file of the same name is a different file
        m.v('f').write_bytes(b'new')
        assert os.pread(fd, 100, 0) == b'0123'
        assert m.v('f').read_bytes() == b'new'
        _no_fuse_hidden(m)
    finally:
        os.close(fd)
    _no_fuse_hidden(m)
    assert H.listdir_view(m.mnt, m.src) == ['f']


def test_renamed_over_open_file_stays_usable(linkfs):
    m = linkfs(populate=lambda s: H.make_tree(s, {'a': b'old', 'b': b'rep'}))
    fd = os.open(m.v('a'), os.O_RDWR)
    try:
        os.rename(m.v('b'), m.v('a'))
        assert os.pread(fd, 10, 0) == b'old'
        os.pwrite(fd, b'OLD', 0)
        assert os.pread(fd, 10, 0) == b'OLD'
        assert m.v('a').read_bytes() == b'rep'
        _no_fuse_hidden(m)
    finally:
        os.close(fd)
    assert H.listdir_view(m.mnt, m.src) == ['a']


def _poll(pred, timeout):
    t0 = time.monotonic()
    while True:
        if pred():
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            return None
        time.sleep(0.05)


def _source_changes_visible(m, timeout):
    """Make changes directly in the source; return the names of those the
    view did not show within timeout seconds."""
    late = []
    # warm every cache: attributes, data, positive and negative entries
    os.stat(m.v('f'))
    assert m.v('f').read_bytes() == b'old'
    assert H.errno_of(os.stat, m.v('newfile')) == errno.ENOENT
    os.stat(m.v('gone'))
    os.stat(m.v('d/moved'))

    with open(m.s('f'), 'wb') as f:
        f.write(b'new and longer content')
    os.utime(m.s('f'), ns=(2 * 10**18, 2 * 10**18))
    if _poll(lambda: m.v('f').read_bytes() == b'new and longer content',
             timeout) is None:
        late.append('content')
    if _poll(lambda: os.stat(m.v('f')).st_mtime_ns == 2 * 10**18,
             timeout) is None:
        late.append('mtime')
    os.chmod(m.s('f'), 0o600)
    if _poll(lambda: stat.S_IMODE(os.stat(m.v('f')).st_mode) == 0o600,
             timeout) is None:
        late.append('chmod')
    m.s('newfile').write_bytes(b'n')
    if _poll(lambda: os.path.exists(m.v('newfile')), timeout) is None:
        late.append('new file')
    os.unlink(m.s('gone'))
    if _poll(lambda: not os.path.lexists(m.v('gone')), timeout) is None:
        late.append('unlinked file')
    os.rename(m.s('d/moved'), m.s('moved2'))
    if _poll(lambda: os.path.exists(m.v('moved2')) and
             not os.path.lexists(m.v('d/moved')), timeout) is None:
        late.append('renamed file')
    return late


def _pop_cache(s):
    H.make_tree(s, {'f': b'old', 'gone': b'g', 'd/moved': b'm'})


def test_cache_auto_shows_source_changes(linkfs):
    m = linkfs(populate=_pop_cache)          # cache=auto is the default
    assert _source_changes_visible(m, 1.5) == []


def test_cache_never_shows_source_changes_at_once(linkfs):
    m = linkfs('-o', 'cache=never', populate=_pop_cache)
    assert _source_changes_visible(m, 0.1) == []


def test_external_directory_rename_is_followed(linkfs):
    m = linkfs(populate=lambda s: H.make_tree(s, {'d/f': b'hello'}))
    assert m.v('d/f').read_bytes() == b'hello'
    os.rename(m.s('d'), m.s('d2'))
    assert _poll(lambda: os.path.exists(m.v('d2/f')), 1.5) is not None
    assert m.v('d2/f').read_bytes() == b'hello'
    m.v('d2/new').write_bytes(b'n')
    assert m.s('d2/new').read_bytes() == b'n'
    assert not os.path.lexists(m.s('d'))
    assert os.lstat(m.v('d2/new')).st_ino == os.lstat(m.s('d2/new')).st_ino


def test_directory_fd_survives_external_rename(linkfs):
    # cache=never: the kernel keeps no entry, so every step below is asked
    # of the daemon (with caching, only once the 1 s timeouts pass).
    m = linkfs('-o', 'cache=never',
               populate=lambda s: H.make_tree(s, {'d/f': b'hello'}))
    dfd = os.open(m.v('d'), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.stat('f', dir_fd=dfd)
        os.rename(m.s('d'), m.s('elsewhere'))
        fd = os.open('f', os.O_RDONLY, dir_fd=dfd)
        try:
            assert os.read(fd, 100) == b'hello'
        finally:
            os.close(fd)
        fd = os.open('g', os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=dfd)
        os.close(fd)
        assert os.path.exists(m.s('elsewhere/g'))
        assert not os.path.lexists(m.s('d'))
    finally:
        os.close(dfd)


def test_find_matches_source(linkfs):
    m = linkfs(populate=_populate_mixed)
    fmt = '%i %n %m %U %G %s %T@ %y %P\n'
    v = H.run(['find', str(m.mnt), '-name', H.LINKS_NAME, '-prune', '-o',
               '-printf', fmt], timeout=60, check=True).stdout
    s = H.run(['find', str(m.src), '-printf', fmt], timeout=60,
              check=True).stdout
    # the root line differs only in %P (empty in both) and is compared too
    assert sorted(v.splitlines()) == sorted(s.splitlines())


def test_du_matches_source(linkfs):
    m = linkfs(populate=_populate_mixed)
    v = H.run(['du', '-s', '--apparent-size', '-B1', '--exclude',
               H.LINKS_NAME, '.'], cwd=m.mnt, check=True).stdout
    s = H.run(['du', '-s', '--apparent-size', '-B1', '.'], cwd=m.src,
              check=True).stdout
    assert v == s
