# SPDX-License-Identifier: GPL-2.0-or-later
"""File contents and attributes through the view (SPEC section 1)."""

import errno
import fcntl
import mmap
import os
import stat
import subprocess
import textwrap
import time

import pytest

import linkfs_helpers as H


def _rand(n, seed=0):
    # deterministic pseudo random bytes without the random module's cost
    import hashlib
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(b'%d-%d' % (seed, i)).digest()
        i += 1
    return bytes(out[:n])


def test_read_matches_source(linkfs):
    data = _rand(3 * 1024 * 1024 + 123)
    m = linkfs(populate=lambda s: (s / 'f').write_bytes(data))
    assert m.v('f').read_bytes() == data
    fd = os.open(m.v('f'), os.O_RDONLY)
    try:
        for off, n in [(0, 1), (4095, 2), (131072 - 7, 300000),
                       (len(data) - 10, 100), (len(data) + 5, 10)]:
            assert os.pread(fd, n, off) == data[off:off + n], (off, n)
    finally:
        os.close(fd)
    r = subprocess.run(['cat', str(m.v('f'))], capture_output=True,
                       timeout=60)
    assert r.returncode == 0 and r.stdout == data


def test_write_reaches_source(linkfs):
    m = linkfs(populate=lambda s: (s / 'f').write_bytes(b'a' * 10000))
    expect = bytearray(b'a' * 10000)
    fd = os.open(m.v('f'), os.O_WRONLY)
    try:
        for off, chunk in [(0, b'HEAD'), (4094, b'across-page'),
                           (9995, b'tail-beyond-end'), (20000, b'gap')]:
            assert os.pwrite(fd, chunk, off) == len(chunk)
            if len(expect) < off:
                expect += b'\0' * (off - len(expect))
            expect[off:off + len(chunk)] = chunk
    finally:
        os.close(fd)
    assert m.s('f').read_bytes() == bytes(expect)
    assert m.v('f').read_bytes() == bytes(expect)
    assert os.stat(m.v('f')).st_size == len(expect)


def test_large_write_read_back(mnt):
    data = _rand(9 * 1024 * 1024 + 17, seed=1)
    with open(mnt.v('big'), 'wb') as f:
        for i in range(0, len(data), 1 << 20):
            f.write(data[i:i + (1 << 20)])
    assert mnt.s('big').read_bytes() == data
    assert mnt.v('big').read_bytes() == data


def test_create_applies_mode_and_umask(mnt):
    old = os.umask(0o027)
    try:
        fd = os.open(mnt.v('new'), os.O_CREAT | os.O_WRONLY | os.O_EXCL,
                     0o666)
        os.close(fd)
        os.mkdir(mnt.v('newdir'), 0o777)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.lstat(mnt.s('new')).st_mode) == 0o640
    assert stat.S_ISREG(os.lstat(mnt.s('new')).st_mode)
    assert stat.S_IMODE(os.lstat(mnt.s('newdir')).st_mode) == 0o750
    assert os.lstat(mnt.v('new')).st_ino == os.lstat(mnt.s('new')).st_ino


def test_o_excl_on_existing_fails_eexist(linkfs):
    m = linkfs(populate=lambda s: (s / 'f').write_bytes(b'keep'))
    e = H.errno_of(os.open, m.v('f'), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    assert e == errno.EEXIST
    assert m.s('f').read_bytes() == b'keep'


def test_o_trunc_truncates(linkfs):
    m = linkfs(populate=lambda s: (s / 'f').write_bytes(b'x' * 5000))
    os.stat(m.v('f'))  # cache the old size
    fd = os.open(m.v('f'), os.O_WRONLY | os.O_TRUNC)
    os.close(fd)
    assert os.stat(m.s('f')).st_size == 0
    assert os.stat(m.v('f')).st_size == 0
    assert m.v('f').read_bytes() == b''


def test_o_append_writes_at_end(linkfs):
    m = linkfs(populate=lambda s: (s / 'f').write_bytes(b'0123456789'))
    fd = os.open(m.v('f'), os.O_WRONLY | os.O_APPEND)
    fd2 = os.open(m.v('f'), os.O_WRONLY | os.O_APPEND)
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, b'A')
        os.write(fd2, b'B')
        os.write(fd, b'C')
    finally:
        os.close(fd)
        os.close(fd2)
    assert m.s('f').read_bytes() == b'0123456789ABC'
    assert m.v('f').read_bytes() == b'0123456789ABC'


def test_truncate_path_and_fd(linkfs):
    data = _rand(10000, seed=2)
    m = linkfs(populate=lambda s: (s / 'f').write_bytes(data))
    os.truncate(m.v('f'), 100)
    assert m.s('f').read_bytes() == data[:100]
    assert os.stat(m.v('f')).st_size == 100
    os.truncate(m.v('f'), 5000)
    assert m.s('f').read_bytes() == data[:100] + b'\0' * 4900
    fd = os.open(m.v('f'), os.O_RDWR)
    try:
        os.ftruncate(fd, 7)
        assert os.fstat(fd).st_size == 7
    finally:
        os.close(fd)
    assert m.s('f').read_bytes() == data[:7]
    assert m.v('f').read_bytes() == data[:7]


@pytest.mark.parametrize('kind,mode', [
    ('file', 0o600), ('file', 0o4755), ('file', 0o2750), ('file', 0o000),
    ('dir', 0o1777), ('dir', 0o2705), ('dir', 0o700)])
def test_chmod(linkfs, kind, mode):
    def pop(s):
        if kind == 'file':
            (s / 'x').write_bytes(b'x')
        else:
            (s / 'x').mkdir()
    m = linkfs(populate=pop)
    os.stat(m.v('x'))
    os.chmod(m.v('x'), mode)
    assert stat.S_IMODE(os.lstat(m.s('x')).st_mode) == mode
    assert os.lstat(m.v('x')).st_mode == os.lstat(m.s('x')).st_mode


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root')
def test_chown_as_root(linkfs):
    def pop(s):
        (s / 'f').write_bytes(b'x')
        os.symlink('f', s / 'l')
    m = linkfs(populate=pop)
    os.chown(m.v('f'), 1000, 2000)
    st = os.lstat(m.s('f'))
    assert (st.st_uid, st.st_gid) == (1000, 2000)
    os.chown(m.v('f'), -1, 3000)
    st = os.lstat(m.s('f'))
    assert (st.st_uid, st.st_gid) == (1000, 3000)
    os.lchown(m.v('l'), 1001, 1001)
    assert (os.lstat(m.s('l')).st_uid, os.lstat(m.s('l')).st_gid) == \
        (1001, 1001)
    assert os.lstat(m.s('f')).st_uid == 1000   # target untouched
    for n in ('f', 'l'):
        assert H.stat_tuple(os.lstat(m.v(n))) == \
            H.stat_tuple(os.lstat(m.s(n)))


def test_utimens_nanoseconds(linkfs):
    m = linkfs(populate=lambda s: (s / 'f').write_bytes(b'x'))
    H.utimensat(m.v('f'), (1234567890, 123456789), (1300000000, 987654321))
    st = os.stat(m.s('f'))
    assert st.st_atime_ns == 1234567890123456789
    assert st.st_mtime_ns == 1300000000987654321
    vs = os.stat(m.v('f'))
    assert (vs.st_atime_ns, vs.st_mtime_ns) == (st.st_atime_ns,
                                                st.st_mtime_ns)


def test_utimens_omit(linkfs):
    m = linkfs(populate=lambda s: (s / 'f').write_bytes(b'x'))
    H.utimensat(m.v('f'), (1000000000, 111), (1100000000, 222))
    H.utimensat(m.v('f'), (0, H.UTIME_OMIT), (1200000000, 333))
    st = os.stat(m.s('f'))
    assert st.st_atime_ns == 1000000000000000111
    assert st.st_mtime_ns == 1200000000000000333
    H.utimensat(m.v('f'), (1300000000, 444), (0, H.UTIME_OMIT))
    st = os.stat(m.s('f'))
    assert st.st_atime_ns == 1300000000000000444
    assert st.st_mtime_ns == 1200000000000000333
    vs = os.stat(m.v('f'))
    assert (vs.st_atime_ns, vs.st_mtime_ns) == (st.st_atime_ns,
                                                st.st_mtime_ns)


def test_utimens_now(linkfs):
    m = linkfs(populate=lambda s: (s / 'f').write_bytes(b'x'))
    H.utimensat(m.v('f'), (1000000000, 5), (1000000000, 6))
    before = time.time_ns() - 1_000_000_000
    H.utimensat(m.v('f'), (0, H.UTIME_OMIT), (0, H.UTIME_NOW))
    after = time.time_ns() + 1_000_000_000
    st = os.stat(m.s('f'))
    assert st.st_atime_ns == 1000000000000000005
    assert before <= st.st_mtime_ns <= after
    H.utimensat(m.v('f'), (0, H.UTIME_NOW), (0, H.UTIME_OMIT))
    st2 = os.stat(m.s('f'))
    assert before <= st2.st_atime_ns <= after
    assert st2.st_mtime_ns == st.st_mtime_ns
    # utime(path, NULL) sets both to now
    os.utime(m.v('f'))
    st3 = os.stat(m.s('f'))
    assert st3.st_mtime_ns >= st.st_mtime_ns
    assert os.stat(m.v('f')).st_mtime_ns == st3.st_mtime_ns


def test_utimens_symlink_nofollow(linkfs):
    def pop(s):
        (s / 'f').write_bytes(b'x')
        os.symlink('f', s / 'l')
    m = linkfs(populate=pop)
    target_before = os.stat(m.s('f')).st_mtime_ns
    H.utimensat(m.v('l'), (1000000000, 1), (1000000000, 2),
                H.AT_SYMLINK_NOFOLLOW)
    assert os.lstat(m.s('l')).st_mtime_ns == 1000000000000000002
    assert os.stat(m.s('f')).st_mtime_ns == target_before


def test_statfs_matches_source(mnt):
    v = os.statvfs(mnt.mnt)
    s = os.statvfs(mnt.src)
    assert v.f_blocks * v.f_frsize == s.f_blocks * s.f_frsize
    assert v.f_files == s.f_files
    assert v.f_namemax == s.f_namemax
    assert abs(v.f_bfree * v.f_frsize - s.f_bfree * s.f_frsize) <= \
        0.01 * s.f_blocks * s.f_frsize
    assert abs(v.f_bavail * v.f_frsize - s.f_bavail * s.f_frsize) <= \
        0.01 * s.f_blocks * s.f_frsize
    # df agrees too
    dv = H.run(['df', '-P', '-B1', str(mnt.mnt)], check=True).stdout
    ds = H.run(['df', '-P', '-B1', str(mnt.src)], check=True).stdout
    assert dv.splitlines()[1].split()[1] == ds.splitlines()[1].split()[1]


def test_fsync_and_fdatasync(mnt):
    fd = os.open(mnt.v('f'), os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        os.write(fd, b'durable')
        os.fsync(fd)
        os.write(fd, b'-more')
        os.fdatasync(fd)
    finally:
        os.close(fd)
    dfd = os.open(mnt.mnt, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    assert mnt.s('f').read_bytes() == b'durable-more'


def test_fallocate_keep_size_and_punch_hole(mnt):
    fd = os.open(mnt.v('f'), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        H.fallocate(fd, H.FALLOC_FL_KEEP_SIZE, 0, 1 << 20)
        st = os.stat(mnt.s('f'))
        assert st.st_size == 0
        assert st.st_blocks * 512 >= 1 << 20
        os.write(fd, b'y' * (1 << 20))
        os.fsync(fd)
        H.fallocate(fd, H.FALLOC_FL_PUNCH_HOLE | H.FALLOC_FL_KEEP_SIZE,
                    65536, 65536)
    finally:
        os.close(fd)
    data = mnt.s('f').read_bytes()
    assert len(data) == 1 << 20
    assert data[65536:131072] == b'\0' * 65536
    assert data[:65536] == b'y' * 65536
    assert mnt.v('f').read_bytes() == data
    assert os.stat(mnt.s('f')).st_blocks * 512 <= (1 << 20) - 65536


def test_posix_fallocate_extends(mnt):
    fd = os.open(mnt.v('f'), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        os.posix_fallocate(fd, 0, 3 << 20)
    finally:
        os.close(fd)
    st = os.stat(mnt.s('f'))
    assert st.st_size == 3 << 20
    assert st.st_blocks * 512 >= 3 << 20
    assert os.stat(mnt.v('f')).st_size == 3 << 20


def test_copy_file_range(linkfs):
    data = _rand(2 * 1024 * 1024 + 5, seed=3)
    m = linkfs(populate=lambda s: (s / 'a').write_bytes(data))
    fa = os.open(m.v('a'), os.O_RDONLY)
    fb = os.open(m.v('b'), os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        done = 0
        while done < len(data):
            n = os.copy_file_range(fa, fb, len(data) - done)
            assert n > 0
            done += n
        n = os.copy_file_range(fa, fb, 1000, 10, 5000000)
        assert n == 1000
    finally:
        os.close(fa)
        os.close(fb)
    expect = data + b'\0' * (5000000 - len(data)) + data[10:1010]
    assert m.s('b').read_bytes() == expect
    assert m.v('b').read_bytes() == expect


def test_seek_data_and_hole(linkfs):
    def pop(s):
        with open(s / 'sparse', 'wb') as f:
            f.seek(1 << 20)
            f.write(b'd' * 8192)
            f.seek(3 << 20)
            f.write(b'e' * 4096)
            f.truncate(5 << 20)
            os.fsync(f.fileno())
    m = linkfs(populate=pop)

    def probe(path):
        fd = os.open(path, os.O_RDONLY)
        res = []
        try:
            for whence in (os.SEEK_DATA, os.SEEK_HOLE):
                for off in (0, (1 << 20) + 100, (2 << 20), (3 << 20) + 1,
                            (4 << 20), (5 << 20) - 1, 5 << 20):
                    try:
                        res.append(os.lseek(fd, off, whence))
                    except OSError as e:
                        res.append(-e.errno)
        finally:
            os.close(fd)
        return res

    src = probe(m.s('sparse'))
    assert src[0] == 1 << 20     # sanity: the source is really sparse
    assert probe(m.v('sparse')) == src


def _locker(path, kind):
    """A second process that tries a non-blocking lock and reports."""
    code = textwrap.dedent('''
        import fcntl, os, sys
        fd = os.open(%r, os.O_RDWR)
        kind = %r
        try:
            if kind == 'flock':
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            elif kind == 'lockf-all':
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            elif kind == 'lockf-0-10':
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
            elif kind == 'lockf-100-10':
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 100)
            print('LOCKED')
        except OSError as e:
            print('BLOCKED', e.errno)
    ''' % (str(path), kind))
    r = subprocess.run([H.PYTHON, '-c', code], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()[0]


def test_flock_conflict_seen_by_second_process(linkfs):
    m = linkfs(populate=lambda s: (s / 'f').write_bytes(b'x'))
    fd = os.open(m.v('f'), os.O_RDWR)
    try:
        assert _locker(m.v('f'), 'flock') == 'LOCKED'
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert _locker(m.v('f'), 'flock') == 'BLOCKED'
        fcntl.flock(fd, fcntl.LOCK_UN)
        assert _locker(m.v('f'), 'flock') == 'LOCKED'
        fcntl.flock(fd, fcntl.LOCK_SH)
        assert _locker(m.v('f'), 'flock') == 'BLOCKED'
    finally:
        os.close(fd)
    assert _locker(m.v('f'), 'flock') == 'LOCKED'


def test_posix_locks_conflict_seen_by_second_process(linkfs):
    m = linkfs(populate=lambda s: (s / 'f').write_bytes(b'x' * 200))
    fd = os.open(m.v('f'), os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX, 20, 0)      # bytes 0..19
        assert _locker(m.v('f'), 'lockf-0-10') == 'BLOCKED'
        assert _locker(m.v('f'), 'lockf-all') == 'BLOCKED'
        assert _locker(m.v('f'), 'lockf-100-10') == 'LOCKED'
        fcntl.lockf(fd, fcntl.LOCK_UN, 20, 0)
        assert _locker(m.v('f'), 'lockf-0-10') == 'LOCKED'
        fcntl.lockf(fd, fcntl.LOCK_EX)
        assert _locker(m.v('f'), 'lockf-100-10') == 'BLOCKED'
    finally:
        os.close(fd)
    assert _locker(m.v('f'), 'lockf-all') == 'LOCKED'


def test_xattr_roundtrip(linkfs):
    def pop(s):
        (s / 'f').write_bytes(b'x')
        (s / 'd').mkdir()
        os.setxattr(s / 'f', 'user.from_source', b'src-value')
    m = linkfs(populate=pop)
    assert os.getxattr(m.v('f'), 'user.from_source') == b'src-value'
    big = bytes(range(256)) * 6   # 1536 bytes, fits ext4's xattr block
    os.setxattr(m.v('f'), 'user.big', big)
    os.setxattr(m.v('d'), 'user.on_dir', b'')
    assert os.getxattr(m.s('f'), 'user.big') == big
    assert os.getxattr(m.v('f'), 'user.big') == big
    assert os.getxattr(m.s('d'), 'user.on_dir') == b''
    assert sorted(os.listxattr(m.v('f'))) == sorted(os.listxattr(m.s('f')))
    assert 'user.big' in os.listxattr(m.v('f'))
    os.removexattr(m.v('f'), 'user.from_source')
    assert 'user.from_source' not in os.listxattr(m.s('f'))
    assert H.errno_of(os.getxattr, m.v('f'), 'user.from_source') == \
        errno.ENODATA


def test_xattr_flags_and_errors_match_source(linkfs):
    def pop(s):
        for n in ('a', 'b'):
            (s / n).write_bytes(b'x')
            os.setxattr(s / n, 'user.k', b'v')
        os.symlink('a', s / 'l')
    m = linkfs(populate=pop)
    cases = [
        (os.setxattr, ('user.k', b'new', os.XATTR_CREATE), {}),
        (os.setxattr, ('user.missing', b'new', os.XATTR_REPLACE), {}),
        (os.getxattr, ('user.missing',), {}),
        (os.removexattr, ('user.missing',), {}),
        (os.getxattr, ('trusted.nonexistent-ns-probe',), {}),
        (os.setxattr, ('bogusns.k', b'v'), {}),
        (os.getxattr, ('user.k',), {'follow_symlinks': False}),
        (os.setxattr, ('user.k', b'v'), {'follow_symlinks': False}),
    ]
    for fn, args, kw in cases:
        name = 'l' if kw else 'a'
        es = H.errno_of(fn, m.s(name), *args, **kw)
        ev = H.errno_of(fn, m.v(name if name == 'l' else 'b'), *args, **kw)
        assert H.ename(ev) == H.ename(es), (fn.__name__, args, kw)
    assert os.getxattr(m.s('b'), 'user.k') == b'v'


def test_access_matches_source(linkfs):
    def pop(s):
        for mode in (0o000, 0o400, 0o600, 0o644, 0o755, 0o111, 0o001):
            p = s / ('f%o' % mode)
            p.write_bytes(b'x')
            os.chmod(p, mode)
        (s / 'd').mkdir(mode=0o500)
    m = linkfs(populate=pop)
    names = sorted(os.listdir(m.src)) + ['missing']
    for n in names:
        for how in (os.F_OK, os.R_OK, os.W_OK, os.X_OK,
                    os.R_OK | os.W_OK | os.X_OK):
            assert os.access(m.v(n), how) == os.access(m.s(n), how), (n, how)


def test_mknod_fifo_and_regular(mnt):
    os.mkfifo(mnt.v('fifo'), 0o640)
    os.mknod(mnt.v('reg'), stat.S_IFREG | 0o600)
    st = os.lstat(mnt.s('fifo'))
    assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o640
    st = os.lstat(mnt.s('reg'))
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    for n in ('fifo', 'reg'):
        assert H.stat_tuple(os.lstat(mnt.v(n))) == \
            H.stat_tuple(os.lstat(mnt.s(n)))


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root')
def test_mknod_char_device(mnt):
    os.mknod(mnt.v('null'), stat.S_IFCHR | 0o666, os.makedev(1, 3))
    st = os.lstat(mnt.s('null'))
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert os.lstat(mnt.v('null')).st_rdev == os.makedev(1, 3)


def test_fifo_in_view_carries_data(mnt):
    os.mkfifo(mnt.v('fifo'))
    code = 'open(%r, "wb").write(b"through-the-fifo")' % str(mnt.v('fifo'))
    p = subprocess.Popen([H.PYTHON, '-c', code])
    try:
        with open(mnt.v('fifo'), 'rb') as f:
            got = f.read()
        assert p.wait(timeout=30) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert got == b'through-the-fifo'


def test_o_direct_where_source_allows(mnt):
    probe = mnt.s('probe')
    try:
        fd = os.open(probe, os.O_CREAT | os.O_RDWR | os.O_DIRECT, 0o644)
        os.close(fd)
    except OSError:
        pytest.skip('source rejects O_DIRECT')
    buf = mmap.mmap(-1, 8192)
    buf.write(b'D' * 8192)
    fd = os.open(mnt.v('direct'), os.O_CREAT | os.O_RDWR | os.O_DIRECT,
                 0o644)
    try:
        assert os.write(fd, buf) == 8192
        os.lseek(fd, 0, os.SEEK_SET)
        rbuf = mmap.mmap(-1, 8192)
        assert os.readv(fd, [rbuf]) == 8192
        assert bytes(rbuf) == b'D' * 8192
    finally:
        os.close(fd)
    assert mnt.s('direct').read_bytes() == b'D' * 8192


def test_shared_mmap_write_reaches_source(linkfs):
    m = linkfs(populate=lambda s: (s / 'f').write_bytes(b'.' * 8192))
    fd = os.open(m.v('f'), os.O_RDWR)
    try:
        mm = mmap.mmap(fd, 8192, mmap.MAP_SHARED,
                       mmap.PROT_READ | mmap.PROT_WRITE)
        mm[100:105] = b'MMAP!'
        mm.flush()
        mm.close()
    finally:
        os.close(fd)
    assert m.s('f').read_bytes()[100:105] == b'MMAP!'


def test_write_updates_size_and_mtime_like_source(linkfs):
    m = linkfs(populate=lambda s: (s / 'f').write_bytes(b'abc'))
    H.utimensat(m.v('f'), (1000000000, 0), (1000000000, 0))
    with open(m.v('f'), 'ab') as f:
        f.write(b'defg')
    vs, ss = os.stat(m.v('f')), os.stat(m.s('f'))
    assert ss.st_size == 7 and vs.st_size == 7
    assert ss.st_mtime_ns > 1000000000 * 10**9
    assert vs.st_mtime_ns == ss.st_mtime_ns


def test_concurrent_operations(mnt):
    """The multithreaded loop: many callers at once, each sees its own
    data, and the source ends up exactly as the callers left it."""
    from concurrent.futures import ThreadPoolExecutor

    def worker(t):
        d = mnt.v('t%02d' % t)
        os.mkdir(d)
        for i in range(60):
            data = _rand(1000 + 37 * i, seed=t * 1000 + i)
            p = d / ('f%03d' % i)
            p.write_bytes(data)
            if p.read_bytes() != data:
                return 'mismatch %s' % p
            if i % 3 == 0:
                os.rename(p, d / ('r%03d' % i))
            elif i % 3 == 1:
                os.link(p, d / ('l%03d' % i))
                os.unlink(p)
        return None

    with ThreadPoolExecutor(max_workers=16) as ex:
        errs = [e for e in ex.map(worker, range(16)) if e]
    assert not errs
    for t in range(16):
        names = sorted(os.listdir(mnt.s('t%02d' % t)))
        assert H.listdir_view(mnt.v('t%02d' % t), mnt.s('t%02d' % t)) == names
        assert len(names) == 60
        for i in range(60):
            n = ('r%03d', 'l%03d', 'f%03d')[i % 3] % i
            assert (mnt.s('t%02d' % t) / n).read_bytes() == \
                _rand(1000 + 37 * i, seed=t * 1000 + i)
