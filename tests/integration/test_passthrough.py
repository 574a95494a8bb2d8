# SPDX-License-Identifier: GPL-2.0-or-later
"""FUSE passthrough (-o passthrough=auto|off): where the kernel allows it,
open files of the source are read, written and mapped by the kernel itself,
without a request to the daemon.  The oracle for data is the source; the
oracle for "the daemon was not asked" is the daemon's own -d log."""

import gzip
import mmap
import os
import platform
import re
import stat
import subprocess

import pytest

import linkfs_helpers as H


def kernel_has_passthrough():
    """True/False from the kernel's config when it can be read, else from
    its version (FUSE passthrough is in Linux 6.9 and later)."""
    rel = platform.release()
    for path in ('/proc/config.gz', '/boot/config-' + rel):
        try:
            opener = gzip.open if path.endswith('.gz') else open
            with opener(path, 'rt') as f:
                return 'CONFIG_FUSE_PASSTHROUGH=y' in f.read()
        except OSError:
            continue
    m = re.match(r'(\d+)\.(\d+)', rel)
    return bool(m) and (int(m.group(1)), int(m.group(2))) >= (6, 9)


EXPECTED = 'on' if os.geteuid() == 0 and kernel_has_passthrough() else \
    'unavailable'


def status_value(m, key):
    for line in m.v('.links', 'status').read_text().splitlines():
        k, _, v = line.partition(': ')
        if k == key:
            return v
    raise AssertionError('no %s in status' % key)


def data_requests(m):
    """READ and WRITE requests the daemon logged (-d)."""
    text = m.stderr_text()
    return (len(re.findall(r'opcode: READ \(', text)),
            len(re.findall(r'opcode: WRITE \(', text)))


def write_read_mib(m):
    data = os.urandom(1 << 20)
    m.v('f').write_bytes(data)
    assert m.v('f').read_bytes() == data
    assert m.s('f').read_bytes() == data


def test_status_says_whether_passthrough_is_on(linkfs):
    m = linkfs()
    assert status_value(m, 'passthrough') == EXPECTED


def test_status_says_off_when_turned_off(linkfs):
    m = linkfs('-o', 'passthrough=off')
    assert status_value(m, 'passthrough') == 'off'


def test_data_does_not_reach_the_daemon(linkfs):
    if EXPECTED != 'on':
        pytest.skip('this kernel or user has no FUSE passthrough')
    m = linkfs('-d')
    write_read_mib(m)
    assert data_requests(m) == (0, 0)


def test_data_reaches_the_daemon_when_off(linkfs):
    m = linkfs('-d', '-o', 'passthrough=off')
    write_read_mib(m)
    reads, writes = data_requests(m)
    assert reads > 0 and writes > 0


def test_two_names_open_at_once_share_the_file(linkfs):
    """Every open of one inode shares its backing file: opening a second
    name while the first is open must work, and see the same data."""
    def populate(s):
        (s / 'a').write_bytes(b'0' * 10)
        os.link(s / 'a', s / 'b')
    m = linkfs(populate=populate)
    fa = os.open(m.v('a'), os.O_RDWR)
    fb = os.open(m.v('b'), os.O_RDONLY)
    try:
        os.pwrite(fa, b'written', 0)
        assert os.pread(fb, 10, 0) == b'written000'
    finally:
        os.close(fa)
        os.close(fb)
    assert m.s('b').read_bytes() == b'written000'


def test_many_opens_of_one_file_then_more(linkfs):
    m = linkfs(populate=lambda s: (s / 'f').write_bytes(b'abc'))
    for _ in range(3):
        fds = [os.open(m.v('f'), os.O_RDONLY) for _ in range(40)]
        try:
            assert {os.pread(fd, 3, 0) for fd in fds} == {b'abc'}
        finally:
            for fd in fds:
                os.close(fd)
    assert m.v('f').read_bytes() == b'abc'


def test_mmap_write_reaches_the_source(linkfs):
    m = linkfs(populate=lambda s: (s / 'f').write_bytes(b'.' * 4096))
    fd = os.open(m.v('f'), os.O_RDWR)
    try:
        with mmap.mmap(fd, 4096) as mm:
            mm[0:5] = b'hello'
            mm.flush()
    finally:
        os.close(fd)
    assert m.s('f').read_bytes()[:6] == b'hello.'


def test_source_change_seen_through_an_open_file(linkfs):
    m = linkfs(populate=lambda s: (s / 'f').write_bytes(b'old'))
    fd = os.open(m.v('f'), os.O_RDONLY)
    try:
        assert os.pread(fd, 3, 0) == b'old'
        with open(m.s('f'), 'r+b') as f:
            f.write(b'new')
        assert os.pread(fd, 3, 0) == b'new'
    finally:
        os.close(fd)


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to switch users')
def test_write_by_other_user_clears_setuid_as_on_source(shared_tmp, linkfs):
    """The kernel writes passthrough files with the daemon's credentials;
    the set-user-ID bit must still go as it does on the source."""
    m = linkfs('-o', 'allow_other', base=shared_tmp, src_mode=0o755)
    results = {}
    for where, path in (('source', m.s('f')), ('view', m.v('f'))):
        m.s('f').unlink(missing_ok=True)
        m.s('f').write_bytes(b'x')
        os.chmod(m.s('f'), 0o4777)
        H.as_user(65534, 65534, 'W(%s, b"y", os.O_WRONLY | os.O_APPEND)' %
                  H.py_literal(path))
        results[where] = stat.S_IMODE(os.stat(m.s('f')).st_mode)
    assert results['view'] == results['source'] == 0o777


def test_bad_passthrough_value_is_refused(linkfs_env, tmp_path):
    (tmp_path / 's').mkdir()
    (tmp_path / 'm').mkdir()
    r = subprocess.run([linkfs_env, '-f', '-o', 'passthrough=maybe',
                        str(tmp_path / 's'), str(tmp_path / 'm')],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert 'passthrough' in r.stderr and len(r.stderr.splitlines()) == 1
    assert not H.fuse_mounted(tmp_path / 'm')
