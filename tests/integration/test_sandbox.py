# SPDX-License-Identifier: GPL-2.0-or-later
"""The daemon where newer system calls are refused, as in a sandbox whose
seccomp filter predates them, under valgrind, or on an older kernel:
openat2 (Linux 5.6) and getxattrat and its kin (Linux 6.13) fail with
ENOSYS. The source is then walked one openat per component, never
following a symlink, and extended attributes go by the /proc/self/fd
path: the view must be the same."""

import ctypes
import errno
import os
import platform
import struct
import subprocess
import sys

import pytest

import linkfs_helpers as H
import links_oracle as O

SYS_OPENAT2 = 437
SYS_XATTRAT = range(463, 467)  # setxattrat getxattrat listxattrat removexattrat

# classic BPF, as seccomp(2) takes it
BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_JGE_K = 0x35
BPF_RET_K = 0x06
SECCOMP_RET_ALLOW = 0x7fff0000
SECCOMP_RET_ERRNO = 0x00050000
AUDIT_ARCH_X86_64 = 0xc000003e
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

pytestmark = [
    pytest.mark.skipif(platform.machine() != 'x86_64',
                       reason='the filter is written for x86_64'),
    pytest.mark.skipif(os.geteuid() != 0,
                       reason='a filter without no_new_privs needs root (and '
                              'with it fusermount3 would lose setuid)'),
]


def _filter():
    """ENOSYS for openat2 and the *xattrat calls, everything else allowed."""
    deny = SECCOMP_RET_ERRNO | errno.ENOSYS
    prog = [
        (BPF_LD_W_ABS, 0, 0, 4),                   # 0: arch
        (BPF_JEQ_K, 0, 6, AUDIT_ARCH_X86_64),      # 1: other arch: allow
        (BPF_LD_W_ABS, 0, 0, 0),                   # 2: nr
        (BPF_JEQ_K, 3, 0, SYS_OPENAT2),            # 3: openat2: deny
        (BPF_JGE_K, 0, 3, SYS_XATTRAT.start),      # 4: below 463: allow
        (BPF_JGE_K, 2, 0, SYS_XATTRAT.stop),       # 5: above 466: allow
        (BPF_RET_K, 0, 0, deny),                   # 6
        (BPF_RET_K, 0, 0, deny),                   # 7
        (BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),      # 8
    ]
    return b''.join(struct.pack('HBBI', *ins) for ins in prog), len(prog)


def refuse_new_calls():
    """preexec_fn: install the filter in the child before it execs."""
    code, n = _filter()
    buf = ctypes.create_string_buffer(code, len(code))

    class SockFprog(ctypes.Structure):
        _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_void_p)]
    prog = SockFprog(n, ctypes.cast(buf, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
                  ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), 'prctl(PR_SET_SECCOMP)')


def test_the_filter_refuses_the_calls():
    """The check below is only worth something if the filter works."""
    probe = ('import ctypes, os\n'
             'libc = ctypes.CDLL(None, use_errno=True)\n'
             'r = libc.syscall(%d, -100, b".", None, 0)\n'
             'print(r, ctypes.get_errno())\n' % SYS_OPENAT2)
    r = subprocess.run([sys.executable, '-c', probe], capture_output=True,
                       text=True, preexec_fn=refuse_new_calls, timeout=30)
    assert r.stdout.split() == ['-1', str(errno.ENOSYS)], r
    r = subprocess.run([sys.executable, '-c', probe], capture_output=True,
                       text=True, timeout=30)
    assert r.stdout.split()[1] != str(errno.ENOSYS), r  # EFAULT: it is there


def _seccomp_filters(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('Seccomp_filters:'):
                return int(line.split()[1])
    return None


def test_view_without_openat2_and_xattrat(linkfs):
    """Listings and passthrough of a tree with odd names (paths longer
    than PATH_MAX too, opened a piece at a time) match the oracle; files,
    directories and extended attributes work; a symlink in the source is
    never followed by the daemon's own walk."""
    m = linkfs('-o', 'watch=inotify', preexec_fn=refuse_new_calls,
               populate=lambda s: (
                   O.mktree(s, '--odd-names', files=300, dirs=20,
                            symlinks=40, dangling=8),
                   (s / 'outside-dir').mkdir(),
                   (s / 'outside-dir' / 'x').write_bytes(b'x'),
                   os.link(s / 'outside-dir' / 'x', s / 'x2'),
                   os.symlink('outside-dir', s / 'dirlink')))
    assert _seccomp_filters(m.pid) == 1
    O.wait_ready(m)
    O.check_everything(m, what='without openat2')
    # through a symlinked directory the view goes by the kernel, not by
    # the daemon's walk: dirlink is a symlink in the view, and no name
    # through it is indexed
    assert os.path.islink(m.v('dirlink'))
    assert sorted(os.listdir(m.v('.links', 'siblings', 'x2'))) == \
        ['outside-dir\u2215x']

    # passthrough
    os.mkdir(m.v('new'))
    m.v('new', 'f').write_bytes(b'hello')
    assert m.s('new', 'f').read_bytes() == b'hello'
    os.link(m.v('new', 'f'), m.v('new', 'g'))
    os.rename(m.v('new'), m.v('moved'))
    assert sorted(os.listdir(m.v('moved', '.links', 'siblings', 'f'))) == \
        ['moved\u2215g']
    for path in (m.v('moved', 'f'), m.v('moved')):
        os.setxattr(path, 'user.t', b'v')
        assert os.getxattr(path, 'user.t') == b'v'
        assert 'user.t' in os.listxattr(path)
        os.removexattr(path, 'user.t')
        with pytest.raises(OSError) as e:
            os.getxattr(path, 'user.t')
        assert e.value.errno == errno.ENODATA
    os.chmod(m.v('moved', 'f'), 0o640)
    assert (os.stat(m.s('moved', 'f')).st_mode & 0o777) == 0o640
    os.unlink(m.v('moved', 'g'))
    assert os.listdir(m.v('moved', '.links', 'siblings')) == []
    # a change made directly in the source, seen by -o watch
    os.link(m.s('moved', 'f'), m.s('moved', 'h'))
    assert H.wait_until(lambda: sorted(os.listdir(
        m.v('moved', '.links', 'siblings'))) == ['f', 'h'], 3)
    O.check_everything(m, what='after the changes')
    m.unmount()
