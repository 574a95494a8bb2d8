# SPDX-License-Identifier: GPL-2.0-or-later
"""Names at NAME_MAX, paths at and beyond PATH_MAX, a mountpoint inside
the source and symlinks that point back into the mount (SPEC sections 1
and 5)."""

import errno
import os
import subprocess

import pytest

import linkfs_helpers as H

NAME_MAX = 255
PATH_MAX = 4096


def test_names_of_255_bytes(mnt):
    a, b, c, d, e = (ch * NAME_MAX for ch in 'abcde')
    mnt.v(a).write_bytes(b'long')
    assert mnt.s(a).read_bytes() == b'long'
    assert a in os.listdir(mnt.mnt)
    assert os.lstat(mnt.v(a)).st_ino == os.lstat(mnt.s(a)).st_ino
    os.rename(mnt.v(a), mnt.v(b))
    os.link(mnt.v(b), mnt.v(c))
    os.symlink(b, mnt.v(d))
    os.mkdir(mnt.v(e))
    (mnt.v(e) / a).write_bytes(b'inner')
    assert sorted(H.listdir_view(mnt.mnt, mnt.src)) == \
        sorted(os.listdir(mnt.src)) == [b, c, d, e]
    assert os.readlink(mnt.v(d)) == b
    assert mnt.v(d).read_bytes() == b'long'
    assert os.stat(mnt.v(c)).st_nlink == 2
    assert (mnt.s(e) / a).read_bytes() == b'inner'
    os.setxattr(mnt.v(b), 'user.' + 'x' * 200, b'v')
    assert os.getxattr(mnt.s(b), 'user.' + 'x' * 200) == b'v'
    for n in (b, c, d):
        os.unlink(mnt.v(n))
    os.unlink(mnt.v(e) / a)
    os.rmdir(mnt.v(e))
    assert os.listdir(mnt.src) == []


def test_utf8_name_of_255_bytes(mnt):
    name = 'é' * 127 + 'x'
    assert len(name.encode()) == NAME_MAX
    mnt.v(name).write_bytes(b'u')
    assert mnt.s(name).read_bytes() == b'u'
    assert name in os.listdir(mnt.mnt)
    too_long = 'é' * 128
    es = H.errno_of(os.open, mnt.s(too_long), os.O_CREAT | os.O_WRONLY)
    ev = H.errno_of(os.open, mnt.v(too_long), os.O_CREAT | os.O_WRONLY)
    assert es == ev == errno.ENAMETOOLONG


def test_symlink_target_of_path_max(mnt):
    t = ('seg/' * 1024)[:PATH_MAX - 1]
    os.symlink(t, mnt.v('l'))
    assert os.readlink(mnt.s('l')) == t
    assert os.readlink(mnt.v('l')) == t
    assert os.lstat(mnt.v('l')).st_size == PATH_MAX - 1
    too = t + 'x'
    es = H.errno_of(os.symlink, too, mnt.s('l2'))
    ev = H.errno_of(os.symlink, too, mnt.v('l2'))
    assert es == ev == errno.ENAMETOOLONG


def _deep_names(prefix_len, budget):
    """Directory names so that prefix + '/name'... + '/leafN' is exactly
    budget bytes long."""
    names = []
    total = prefix_len + len('/leafN')
    i = 0
    while total + 201 <= budget:
        names.append(('%03d' % i) + 'p' * 197)
        total += 201
        i += 1
    rest = budget - total - 1
    if rest > 0:
        names.append('z' * rest)
    return names


def test_path_close_to_path_max(mnt):
    assert len(str(mnt.mnt)) == len(str(mnt.src))
    names = _deep_names(len(str(mnt.mnt)), PATH_MAX - 1)
    rel = '/'.join(names)
    p = str(mnt.mnt)
    for n in names:
        p = p + '/' + n
        os.mkdir(p)
    leaf_v = os.path.join(str(mnt.mnt), rel, 'leaf')
    leaf_s = os.path.join(str(mnt.src), rel, 'leaf')
    assert len(leaf_v) + 1 == PATH_MAX - 1
    with open(leaf_v, 'wb') as f:
        f.write(b'deep')
    assert open(leaf_s, 'rb').read() == b'deep'
    assert os.stat(leaf_v).st_ino == os.stat(leaf_s).st_ino
    os.rename(leaf_v, leaf_v + '2')
    assert open(leaf_s + '2', 'rb').read() == b'deep'
    os.link(leaf_v + '2', leaf_v + '3')
    assert os.stat(leaf_s + '3').st_nlink == 2
    r = H.run(['find', str(mnt.mnt), '-name', H.LINKS_NAME, '-prune', '-o',
               '-name', 'leaf*', '-print'], timeout=60, check=True)
    assert sorted(r.stdout.split()) == [leaf_v + '2', leaf_v + '3']


def _walk_down(base, names):
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    for n in names:
        nfd = os.open(n, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = nfd
    return fd


def test_paths_beyond_path_max(mnt):
    names = ['%03d' % i + 'q' * 197 for i in range(40)]   # ~8000 bytes
    fd = os.open(mnt.mnt, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for n in names:
            os.mkdir(n, dir_fd=fd)
            nfd = os.open(n, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        f = os.open('leaf', os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd)
        os.write(f, b'beyond PATH_MAX')
        os.close(f)
        os.symlink('leaf', 'sym', dir_fd=fd)
        os.link('leaf', 'hard', src_dir_fd=fd, dst_dir_fd=fd)
        os.setxattr('/proc/self/fd/%d/leaf' % fd, 'user.k', b'v')
        vst = os.stat('leaf', dir_fd=fd)
    finally:
        os.close(fd)
    sfd = _walk_down(mnt.src, names)
    try:
        f = os.open('leaf', os.O_RDONLY, dir_fd=sfd)
        assert os.read(f, 100) == b'beyond PATH_MAX'
        os.close(f)
        sst = os.stat('leaf', dir_fd=sfd)
        assert (vst.st_ino, vst.st_nlink) == (sst.st_ino, 2)
        assert os.readlink('sym', dir_fd=sfd) == 'leaf'
        assert os.getxattr('/proc/self/fd/%d/leaf' % sfd, 'user.k') == b'v'
    finally:
        os.close(sfd)
    # tools that walk with relative steps work over the view
    r = H.run(['find', str(mnt.mnt), '-name', H.LINKS_NAME, '-prune', '-o',
               '-name', 'leaf', '-print'], timeout=120)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.strip().splitlines()) == 1
    assert len(r.stdout.strip()) > PATH_MAX
    # the deepest directory lists .links (it holds a hard link), a symlink
    # with one ../ per level, which rm -rf removes (nothing changes) as it
    # removes every real entry
    dfd = _walk_down(mnt.mnt, names)
    try:
        assert os.listdir(dfd)[-1] == H.LINKS_NAME
        assert os.readlink(H.LINKS_NAME, dir_fd=dfd) == '../' * len(
            names) + H.LINKS_NAME + '/dirs/%d' % os.fstat(dfd).st_ino
    finally:
        os.close(dfd)
    r = H.run(['rm', '-rf', str(mnt.v(names[0]))], timeout=120)
    assert r.returncode == 0, r.stderr
    assert os.listdir(mnt.src) == []


@pytest.mark.parametrize('opts', [(), ('-s',)], ids=['mt', 'single'])
def test_mountpoint_inside_source(linkfs, tmp_path, opts):
    src = tmp_path / 'inside-src'
    H.make_tree(src, {'a': b'A', 'd/b': b'B', 'mnt/under1': b'U1',
                      'mnt/sub/under2': b'U2'})
    under_ino = os.stat(src / 'mnt').st_ino
    m = linkfs(*opts, src=src, mnt=src / 'mnt')
    r = H.run(['ls', '-A', str(m.v('mnt'))], timeout=30, check=True)
    assert H.drop_links_lines(r.stdout) == ['sub', 'under1']
    assert H.listdir_view(m.mnt) == ['a', 'd', 'mnt']
    assert m.v('mnt/under1').read_bytes() == b'U1'
    assert m.v('mnt/sub/under2').read_bytes() == b'U2'
    assert os.stat(m.v('mnt')).st_ino == under_ino
    r = H.run(['find', str(m.mnt), '-name', H.LINKS_NAME, '-prune', '-o',
               '-print'], timeout=60, check=True)
    got = sorted(os.path.relpath(p, m.mnt) for p in r.stdout.split())
    assert got == ['.', 'a', 'd', 'd/b', 'mnt', 'mnt/sub', 'mnt/sub/under2',
                   'mnt/under1']
    m.v('mnt/new').write_bytes(b'N')
    assert 'new' in os.listdir(m.v('mnt'))
    r = H.run(['du', '-s', str(m.mnt)], timeout=60)
    assert r.returncode == 0
    r = H.run(['ls', '-laR', str(m.mnt)], timeout=60, check=True)
    m.unmount()
    assert (src / 'mnt' / 'new').read_bytes() == b'N'


@pytest.mark.parametrize('inside', [False, True], ids=['outside', 'inside'])
def test_symlinks_into_own_mount_do_not_hang(linkfs, tmp_path, inside):
    src = tmp_path / ('sl-src-%d' % inside)
    mnt = (src / 'mnt') if inside else tmp_path / ('sl-mnt-%d' % inside)
    H.make_tree(src, {'a': b'A', 'mnt/u': b'U'})
    os.symlink(str(mnt), src / 'selfabs')
    os.symlink(str(mnt) + '/a', src / 'selfa')
    os.symlink('.', src / 'dot')
    os.symlink('selfabs/selfabs', src / 'chain')
    m = linkfs('-s', src=src, mnt=mnt)
    assert os.readlink(m.v('selfabs')) == str(mnt)
    assert m.v('selfa').read_bytes() == b'A'
    assert os.stat(m.v('selfabs')).st_ino == os.stat(m.mnt).st_ino
    for cmd in (['find', '-L', str(m.mnt)], ['ls', '-lLR', str(m.mnt)],
                ['du', '-sL', str(m.mnt)], ['stat', '-L', str(m.v('chain'))]):
        try:
            subprocess.run(cmd, capture_output=True, timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail('%s hangs' % ' '.join(cmd))
    m.v('selfabs/created').write_bytes(b'c')
    assert os.path.exists(m.v('created'))
    m.unmount()
    assert (src / 'created').read_bytes() == b'c'
