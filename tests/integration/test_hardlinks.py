# SPDX-License-Identifier: GPL-2.0-or-later
"""Hard links are one file, and inode numbers (SPEC section 1)."""

import os
import subprocess

import pytest

import linkfs_helpers as H


def _pop(s):
    H.make_tree(s, {'a': b'original', 'dir1/x': b'', 'dir2/y': b''})
    os.link(s / 'a', s / 'dir1' / 'b')


def test_preexisting_links_share_inode(linkfs):
    m = linkfs(populate=_pop)
    va, vb = os.stat(m.v('a')), os.stat(m.v('dir1/b'))
    sa = os.stat(m.s('a'))
    assert va.st_ino == vb.st_ino == sa.st_ino
    assert va.st_nlink == vb.st_nlink == 2
    assert va.st_dev == vb.st_dev


def test_link_through_view(linkfs):
    m = linkfs(populate=_pop)
    os.stat(m.v('a'))
    os.stat(m.v('dir1/b'))
    os.link(m.v('a'), m.v('dir2/c'))
    sa = os.stat(m.s('a'))
    assert os.stat(m.s('dir2/c')).st_ino == sa.st_ino
    assert sa.st_nlink == 3
    for n in ('a', 'dir1/b', 'dir2/c'):
        st = os.stat(m.v(n))
        assert st.st_ino == sa.st_ino, n
        assert st.st_nlink == 3, n
        assert st.st_ctime_ns == sa.st_ctime_ns, n


def test_nlink_after_rm_is_not_stale(linkfs):
    m = linkfs(populate=_pop)
    os.link(m.v('a'), m.v('dir2/c'))
    for n in ('a', 'dir1/b', 'dir2/c'):
        assert os.stat(m.v(n)).st_nlink == 3
    os.unlink(m.v('dir1/b'))
    assert os.stat(m.s('a')).st_nlink == 2
    for n in ('a', 'dir2/c'):
        assert os.stat(m.v(n)).st_nlink == 2, n
        assert os.stat(m.v(n)).st_ctime_ns == os.stat(m.s(n)).st_ctime_ns
    os.unlink(m.v('a'))
    assert os.stat(m.v('dir2/c')).st_nlink == 1


def test_write_through_one_name_read_through_other(linkfs):
    m = linkfs(populate=_pop)
    fb = os.open(m.v('dir1/b'), os.O_RDONLY)
    try:
        assert os.pread(fb, 100, 0) == b'original'     # page cache warm
        os.stat(m.v('dir1/b'))
        with open(m.v('a'), 'r+b') as fa:
            fa.write(b'CHANGED!-and-longer')
        assert os.pread(fb, 100, 0) == b'CHANGED!-and-longer'
        assert os.stat(m.v('dir1/b')).st_size == len(b'CHANGED!-and-longer')
        assert m.v('dir1/b').read_bytes() == b'CHANGED!-and-longer'
    finally:
        os.close(fb)
    # truncate through one name, size seen at once through the other
    os.truncate(m.v('dir1/b'), 3)
    assert os.stat(m.v('a')).st_size == 3
    assert m.v('a').read_bytes() == b'CHA'


def test_chmod_through_one_name_seen_through_other(linkfs):
    m = linkfs(populate=_pop)
    os.stat(m.v('a'))
    os.stat(m.v('dir1/b'))
    os.chmod(m.v('a'), 0o604)
    assert os.stat(m.v('dir1/b')).st_mode & 0o7777 == 0o604
    H.utimensat(m.v('dir1/b'), (1000000000, 1), (1000000000, 2))
    assert os.stat(m.v('a')).st_mtime_ns == 1000000000000000002


def test_ls_li_with_links_matches_source(linkfs):
    def pop(s):
        _pop(s)
        for i in range(5):
            os.link(s / 'a', s / 'dir2' / ('l%d' % i))
    m = linkfs(populate=pop)
    os.link(m.v('dir2/y'), m.v('dir1/y2'))
    cmd = ['ls', '-liRAn', '--time-style=full-iso', '.']
    v = H.run(cmd, cwd=m.mnt, check=True).stdout
    s = H.run(cmd, cwd=m.src, check=True).stdout
    assert H.drop_links_lines(v) == H.drop_links_lines(s)
    # ls -i without -l takes d_ino from readdir
    v = H.run(['ls', '-iA', 'dir2'], cwd=m.mnt, check=True).stdout
    s = H.run(['ls', '-iA', 'dir2'], cwd=m.src, check=True).stdout
    assert H.drop_links_lines(v) == H.drop_links_lines(s)


def test_find_samefile(linkfs):
    m = linkfs(populate=_pop)
    v = H.run(['find', '.', '-name', H.LINKS_NAME, '-prune', '-o',
               '-samefile', 'a', '-print'], cwd=m.mnt, check=True).stdout
    assert sorted(v.split()) == ['./a', './dir1/b']


def test_hardlink_survives_rename_of_other_name(linkfs):
    m = linkfs(populate=_pop)
    ino = os.stat(m.v('a')).st_ino
    os.rename(m.v('dir1/b'), m.v('dir2/b-renamed'))
    os.rename(m.v('dir2'), m.v('dir3'))
    assert os.stat(m.v('dir3/b-renamed')).st_ino == ino
    assert os.stat(m.v('a')).st_nlink == 2
    with open(m.v('dir3/b-renamed'), 'ab') as f:
        f.write(b'+')
    assert m.v('a').read_bytes() == b'original+'
    assert m.s('a').read_bytes() == b'original+'


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to mount tmpfs')
def test_other_filesystems_get_unique_inodes(linkfs, tmp_path):
    src = tmp_path / 'srcfs'
    mounted = []
    m = None
    try:
        for n in ('t1', 't2'):
            d = src / n
            d.mkdir(parents=True)
            r = H.run(['mount', '-t', 'tmpfs', '-o', 'size=4m', 'none',
                       str(d)])
            if r.returncode != 0:
                pytest.skip('cannot mount tmpfs: ' + r.stderr)
            mounted.append(d)
            for i in range(20):
                (d / ('f%d' % i)).write_bytes(b'%s-%d' % (n.encode(), i))
            os.link(d / 'f0', d / 'f0-link')
        for i in range(20):
            (src / ('main%d' % i)).write_bytes(b'm')

        s_inos = {}
        for dirpath, dirs, files in os.walk(src):
            for name in dirs + files:
                p = os.path.join(dirpath, name)
                st = os.lstat(p)
                s_inos[os.path.relpath(p, src)] = (st.st_dev, st.st_ino)
        # the oracle: the two tmpfs really reuse inode numbers
        t1 = {s_inos['t1/f%d' % i][1] for i in range(20)}
        t2 = {s_inos['t2/f%d' % i][1] for i in range(20)}
        if not t1 & t2:
            pytest.skip('tmpfs instances do not share inode numbers here')

        m = linkfs(src=src)
        v_inos = {}
        for rel in s_inos:
            v_inos[rel] = os.lstat(m.v(rel)).st_ino
        # same (dev, ino) in the source <=> same st_ino in the view
        groups = {}
        for rel, key in s_inos.items():
            groups.setdefault(key, set()).add(v_inos[rel])
        for key, vs in groups.items():
            assert len(vs) == 1, key
        by_view = {}
        for rel, key in s_inos.items():
            by_view.setdefault(v_inos[rel], set()).add(key)
        clashes = {k: v for k, v in by_view.items() if len(v) > 1}
        assert not clashes
        # entries of the source's own filesystem keep their numbers
        sdev = os.lstat(src).st_dev
        for rel, (dev, ino) in s_inos.items():
            if dev == sdev:
                assert v_inos[rel] == ino, rel
        assert os.lstat(m.v('t1/f0')).st_nlink == 2
        assert m.v('t2/f3').read_bytes() == b't2-3'
        m.unmount()
    finally:
        if m is not None and m.state == 'running':
            m.force_cleanup()
        for d in reversed(mounted):
            if subprocess.run(['umount', str(d)], timeout=30).returncode:
                subprocess.run(['umount', '-l', str(d)], timeout=30)
