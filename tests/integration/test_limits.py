# SPDX-License-Identifier: GPL-2.0-or-later
"""Bounded file descriptors: a large tree under a low RLIMIT_NOFILE
(issue 2, item 3).  The tree size is tunable with LINKFS_BIG_TREE_FILES."""

import errno
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import linkfs_helpers as H

NFILES = int(os.environ.get('LINKFS_BIG_TREE_FILES', '20000'))
NDIRS = 200
NOFILE = 128


def _populate(s):
    for d in range(NDIRS):
        (s / ('d%03d' % d)).mkdir()
    for i in range(NFILES):
        p = s / ('d%03d' % (i % NDIRS)) / ('f%06d' % i)
        with open(p, 'wb') as f:
            f.write(b'content of file %d\n' % i)
        if i % 97 == 0:
            os.link(p, s / ('d%03d' % ((i + 1) % NDIRS)) / ('h%06d' % i))


def _nofile_limit(pid):
    with open('/proc/%d/limits' % pid) as f:
        for line in f:
            if line.startswith('Max open files'):
                soft, hard = re.findall(r'\d+', line)[:2]
                return int(soft), int(hard)
    raise AssertionError('no limit line')


def _find(root, prune):
    cmd = ['find', str(root)]
    if prune:
        cmd += ['-name', H.LINKS_NAME, '-prune', '-o']
    cmd += ['-printf', '%i %n %s %y %P\n']
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stderr[-2000:]
    return sorted(r.stdout.splitlines())


def test_big_tree_under_low_descriptor_limit(linkfs):
    m = linkfs(prefix=['prlimit', '--nofile=%d:%d' % (NOFILE, NOFILE)],
               populate=_populate)
    assert _nofile_limit(m.pid) == (NOFILE, NOFILE)

    # walk and stat everything, twice (the second walk hits the kernel's
    # remembered inodes, which must all stay usable)
    src = _find(m.src, False)
    assert len(src) == NFILES + (NFILES + 96) // 97 + NDIRS + 1
    assert _find(m.mnt, True) == src
    assert _find(m.mnt, True) == src

    # read every file, sequentially then in parallel
    rels = [line.split(' ', 4)[4] for line in src
            if line.split(' ', 4)[3] == 'f']

    def check(rel):
        with open(m.v(rel), 'rb') as f:
            data = f.read()
        n = int(rel.rsplit('/', 1)[1][1:])
        return data == b'content of file %d\n' % n

    bad = [r for r in rels if not check(r)]
    assert not bad, bad[:10]
    with ThreadPoolExecutor(max_workers=16) as ex:
        results = list(ex.map(check, rels))
    assert all(results)

    # cat through find -exec, as a shell user would
    r = subprocess.run(['find', str(m.mnt), '-name', H.LINKS_NAME, '-prune',
                        '-o', '-type', 'f', '-exec', 'cat', '{}', '+'],
                       capture_output=True, timeout=1200)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.count(b'\n') == len(rels)

    # write and create still work after all that
    for i in range(0, NDIRS, 7):
        (m.v('d%03d' % i) / 'new').write_bytes(b'new')
        assert (m.s('d%03d' % i) / 'new').read_bytes() == b'new'

    # the daemon did not escape the limit
    assert _nofile_limit(m.pid)[0] <= NOFILE
    assert len(os.listdir('/proc/%d/fd' % m.pid)) <= NOFILE


def _deleted_fds(pid):
    out = []
    for fd in os.listdir('/proc/%d/fd' % pid):
        try:
            target = os.readlink('/proc/%d/fd/%s' % (pid, fd))
        except FileNotFoundError:
            continue
        if target.endswith(' (deleted)'):
            out.append(target)
    return out


def test_removed_files_leave_no_descriptor_behind(linkfs):
    """The daemon closes the descriptors of files removed through the
    view (after the lock it drops them under, see src/passthrough/inode.c) once the
    kernel forgets them: the source's filesystem frees their space, and a
    low descriptor limit is not used up by files that are gone."""
    n = 3 * NOFILE
    m = linkfs(prefix=['prlimit', '--nofile=%d:%d' % (NOFILE, NOFILE)])
    names = [m.v('f%04d' % i) for i in range(n)]
    for p in names:
        p.write_bytes(b'x' * 4096)
    for p in names:
        os.unlink(p)
    assert os.listdir(m.s()) == []
    assert H.wait_until(lambda: not _deleted_fds(m.pid), 10), \
        _deleted_fds(m.pid)[:5]
    # and the view still makes and removes files under the limit
    for p in names[:NOFILE]:
        p.write_bytes(b'y')
        assert os.stat(p).st_size == 1
        os.unlink(p)
    assert H.wait_until(lambda: not _deleted_fds(m.pid), 10)
    assert len(os.listdir('/proc/%d/fd' % m.pid)) <= NOFILE


def test_open_files_come_before_the_descriptor_cache(linkfs):
    """Issue 17, item 5: with the daemon under a limit of 1,024
    descriptors, a program holding files open through the view may have
    nearly as many open; the daemon's cache of O_PATH descriptors (up to
    half the limit) gives them way, and the view goes on working meanwhile
    with what is left of it."""
    limit = 1024
    nfiles = 1600

    def populate(s):
        for d in range(16):
            (s / ('d%02d' % d)).mkdir()
        for i in range(nfiles):
            (s / ('d%02d' % (i % 16)) / ('f%04d' % i)).write_bytes(b'%d\n' % i)
    m = linkfs(prefix=['prlimit', '--nofile=%d:%d' % (limit, limit)],
               populate=populate)
    paths = sorted(str(p) for p in m.mnt.glob('d*/f*'))
    assert len(paths) == nfiles

    def daemon_fds():
        return len(os.listdir('/proc/%d/fd' % m.pid))
    # fill the cache: opening a file gives its record a descriptor
    for p in paths:
        with open(p, 'rb'):
            pass
    assert daemon_fds() > limit // 3
    held = []
    try:
        for p in paths:
            held.append(os.open(p, os.O_RDONLY))
    except OSError as e:
        assert e.errno == errno.EMFILE, e
    try:
        assert len(held) >= limit - 100, len(held)
        assert daemon_fds() <= limit
        # with a few descriptors free again, the view works with what is
        # left of the cache (directories opened, names looked up anew)
        for fd in held[-40:]:
            os.close(fd)
        del held[-40:]
        assert _find(m.mnt, True) == _find(m.src, False)
        assert os.pread(held[0], 100, 0) == b'0\n'
        with open(paths[-1], 'rb') as f:
            assert f.read() == b'%d\n' % int(paths[-1][-4:])
    finally:
        for fd in held:
            os.close(fd)
    # once they are closed, the cache grows again
    for p in paths:
        with open(p, 'rb') as f:
            assert f.read() == b'%d\n' % int(p[-4:])
    assert limit // 3 < daemon_fds() <= limit // 2 + 64
