# SPDX-License-Identifier: GPL-2.0-or-later
"""Life cycle and accepted options (SPEC section 4): unmount, signals,
crash recovery, daemonizing, mount -t fuse.linkfs and fstab, -d, -s, ro,
cache= and links options."""

import errno
import json
import os
import select
import signal
import subprocess
import time

import pytest

import linkfs_helpers as H


def test_fusermount_unmount_exits_zero(linkfs):
    m = linkfs(populate=lambda s: (s / 'a').write_bytes(b'a'))
    m.v('b').write_bytes(b'b')
    assert sorted(H.listdir_view(m.mnt, m.src)) == ['a', 'b']
    m.unmount()
    assert m.returncode == 0
    assert not H.fuse_mounted(m.mnt)
    assert not H.pid_alive(m.pid)
    assert os.listdir(m.mnt) == []        # the bare mountpoint again
    assert sorted(os.listdir(m.src)) == ['a', 'b']


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM],
                         ids=['SIGINT', 'SIGTERM'])
def test_signal_unmounts_cleanly(linkfs, sig):
    m = linkfs(populate=lambda s: (s / 'a').write_bytes(b'a'))
    assert m.v('a').read_bytes() == b'a'
    m.signal(sig)
    m.check_clean_exit()
    assert m.returncode == 0
    assert not H.fuse_mounted(m.mnt)
    assert os.listdir(m.mnt) == []


def test_crash_then_fusermount_works_and_source_untouched(linkfs):
    def pop(s):
        H.make_tree(s, {'a': b'a', 'd/b': b'b', 'l': ('symlink', 'a')})
    m = linkfs(populate=pop)
    before = H.run(['find', str(m.src), '-printf', '%i %n %m %s %T@ %P\n'],
                   check=True).stdout
    os.listdir(m.mnt)
    m.proc.kill()
    m.proc.wait(timeout=20)
    assert H.errno_of(os.stat, m.mnt) == errno.ENOTCONN
    r = H.run([H.FUSERMOUNT, '-u', str(m.mnt)], timeout=30)
    try:
        assert r.returncode == 0, r.stderr
        assert not H.fuse_mounted(m.mnt)
    finally:
        m.force_cleanup()
    m.state = 'stopped'
    after = H.run(['find', str(m.src), '-printf', '%i %n %m %s %T@ %P\n'],
                  check=True).stdout
    assert after == before


# ---------------------------------------------------------------------------
# daemonized runs: a small "subreaper" wrapper adopts the daemon after it
# forks, so that its exit status can still be checked.

_WRAPPER = r'''
import ctypes, json, os, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(36, 1, 0, 0, 0) != 0:          # PR_SET_CHILD_SUBREAPER
    print('NOREAPER', flush=True)
    sys.exit(3)
cmd = json.loads(os.environ['LINKFS_WRAP_CMD'])
log = open(os.environ['LINKFS_WRAP_LOG'], 'wb')
r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
print('LAUNCHER', r.returncode, flush=True)
while True:
    try:
        pid, status = os.wait()
    except ChildProcessError:
        break
    print('CHILD', pid, os.waitstatus_to_exitcode(status), flush=True)
print('DONE', flush=True)
'''


class _Wrapped:
    def __init__(self, cmd, log, env=None):
        e = dict(os.environ)
        if env:
            e.update(env)
        e['LINKFS_WRAP_CMD'] = json.dumps([str(c) for c in cmd])
        e['LINKFS_WRAP_LOG'] = str(log)
        self.log = log
        self.p = subprocess.Popen([H.PYTHON, '-c', _WRAPPER], env=e,
                                  stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, text=True,
                                  cwd='/')
        self.lines = []

    def readline(self, timeout):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            return None
        line = self.p.stdout.readline()
        self.lines.append(line)
        return line.strip()

    def until_done(self, timeout):
        deadline = time.monotonic() + timeout
        children = []
        while time.monotonic() < deadline:
            line = self.readline(max(0.1, deadline - time.monotonic()))
            if line is None or line == '':
                if self.p.poll() is not None:
                    break
                continue
            if line.startswith('CHILD'):
                children.append(int(line.split()[2]))
            if line == 'DONE':
                return children
        return None

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(timeout=10)
        self.p.stdout.close()


def _daemon_pids(mnt, binary):
    real = os.path.realpath(binary)
    out = []
    for pid in H.pids_with_arg(str(mnt)):
        try:
            if os.path.realpath('/proc/%d/exe' % pid) == real and \
                    H.pid_alive(pid):
                out.append(pid)
        except OSError:
            pass
    return out


def _run_daemonized(cmd, src, mnt, tmp_path, binary, env=None):
    """Launch cmd (which must daemonize), check the mount, unmount with
    fusermount3 -u and check the daemon exits 0.  Cleans up on failure."""
    w = _Wrapped(cmd, tmp_path / 'launcher.log', env=env)
    ok = False
    try:
        line = w.readline(30)
        log = (tmp_path / 'launcher.log').read_text(errors='replace')
        assert line == 'LAUNCHER 0', (line, log)
        assert H.wait_until(lambda: H.fuse_mounted(mnt), 10), log
        pids = _daemon_pids(mnt, binary)
        assert len(pids) == 1, pids
        assert os.getppid() != pids[0]
        assert (mnt / 'a').read_bytes() == b'a'
        (mnt / 'created').write_bytes(b'c')
        assert (src / 'created').read_bytes() == b'c'
        r = H.run([H.FUSERMOUNT, '-u', str(mnt)], timeout=30)
        assert r.returncode == 0, r.stderr
        children = w.until_done(30)
        assert children is not None, 'daemon did not exit: %s' % w.lines
        assert children == [0], (children, w.lines)
        assert not H.fuse_mounted(mnt)
        assert _daemon_pids(mnt, binary) == []
        ok = True
    finally:
        if not ok:
            H.cleanup_leftovers(mnt)
        w.kill()


def _prep(tmp_path):
    src, mnt = tmp_path / 'src', tmp_path / 'mnt'
    src.mkdir()
    mnt.mkdir()
    (src / 'a').write_bytes(b'a')
    return src, mnt


def test_daemonizes_without_f(linkfs_env, tmp_path):
    src, mnt = _prep(tmp_path)
    _run_daemonized([linkfs_env, str(src), str(mnt)], src, mnt, tmp_path,
                    linkfs_env)


# mount(8) runs its helpers (mount.fuse3, which runs `linkfs ...` through
# /bin/sh) with PATH removed, so the build's binary has to be found in a
# default PATH directory.  The test therefore runs in a private mount
# namespace where a temporary directory holding a `linkfs` symlink is
# bind-mounted over /usr/local/sbin; nothing of this is visible outside,
# and the namespace (with the FUSE mount) vanishes with its processes.
_NS_SCRIPT = r"""
import ctypes, json, os, subprocess, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(36, 1, 0, 0, 0)                   # PR_SET_CHILD_SUBREAPER
cfg = json.loads(os.environ['LINKFS_NS_CFG'])
mnt = cfg['mnt']
res = {}
def entry():
    for line in open('/proc/self/mountinfo'):
        left, _, right = line.partition(' - ')
        if left.split(' ')[4] == mnt and right.startswith('fuse'):
            return right.split(' ')
    return None
subprocess.run(['mount', '--bind', cfg['bindir'], cfg['target']],
               check=True)
log = open(cfg['log'], 'wb')
r = subprocess.run(cfg['cmd'], stdin=subprocess.DEVNULL, stdout=log,
                   stderr=log)
res['launcher'] = r.returncode
deadline = time.monotonic() + 10
while entry() is None and time.monotonic() < deadline:
    time.sleep(0.05)
e = entry()
res['fstype'] = e[0] if e else None
res['super_opts'] = e[2].strip() if e else None
if e:
    try:
        res['read'] = open(mnt + '/a').read()
        with open(mnt + '/created', 'w') as f:
            f.write('c')
        res['in_source'] = open(cfg['src'] + '/created').read()
    except OSError as ex:
        res['error'] = str(ex)
    res['fusermount'] = subprocess.run(['fusermount3', '-u', mnt]).returncode
res['children'] = []
deadline = time.monotonic() + 20
while True:
    try:
        pid, status = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        break
    if pid:
        res['children'].append(os.waitstatus_to_exitcode(status))
    elif time.monotonic() > deadline:
        res['timeout'] = True
        subprocess.run(['fusermount3', '-uz', mnt])
        break
    else:
        time.sleep(0.05)
res['mounted_after'] = entry() is not None
print(json.dumps(res), flush=True)
"""


def _mount_helper_run(cmd, src, mnt, tmp_path, binary):
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    os.symlink(binary, bindir / 'linkfs')
    cfg = {'cmd': [str(c) for c in cmd], 'mnt': str(mnt), 'src': str(src),
           'bindir': str(bindir), 'target': '/usr/local/sbin',
           'log': str(tmp_path / 'helper.log')}
    if not os.path.isdir(cfg['target']):
        pytest.skip('no /usr/local/sbin to bind over')
    env = dict(os.environ, LINKFS_NS_CFG=json.dumps(cfg))
    try:
        r = subprocess.run(['unshare', '-m', '--propagation', 'private',
                            H.PYTHON, '-c', _NS_SCRIPT], env=env,
                           capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired:
        H.cleanup_leftovers(mnt)
        pytest.fail('mount helper run hung')
    log = (tmp_path / 'helper.log').read_text(errors='replace') \
        if (tmp_path / 'helper.log').exists() else ''
    if r.returncode != 0 and 'unshare' in r.stderr and not r.stdout:
        pytest.skip('cannot unshare the mount namespace: ' + r.stderr)
    assert r.returncode == 0, r.stderr + log
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res['launcher'] == 0, (res, log)
    assert res['fstype'] == 'fuse.linkfs', res
    assert res.get('read') == 'a', (res, log)
    assert res.get('in_source') == 'c', res
    assert res['fusermount'] == 0, res
    assert not res.get('timeout'), ('daemon did not exit', res)
    assert res['children'] == [0], res
    assert not res['mounted_after']
    assert (src / 'created').read_text() == 'c'
    return res


@pytest.mark.skipif(os.geteuid() != 0, reason='mount(8) needs root')
def test_mount_t_fuse_linkfs(linkfs_env, tmp_path):
    src, mnt = _prep(tmp_path)
    _mount_helper_run(['mount', '-t', 'fuse.linkfs', str(src), str(mnt)],
                      src, mnt, tmp_path, linkfs_env)


@pytest.mark.skipif(os.geteuid() != 0, reason='mount(8) needs root')
def test_mount_from_fstab_line(linkfs_env, tmp_path):
    src, mnt = _prep(tmp_path)
    fstab = tmp_path / 'fstab'
    fstab.write_text('%s %s fuse.linkfs defaults,allow_other,cache=auto 0 0\n'
                     % (src, mnt))
    res = _mount_helper_run(['mount', '-T', str(fstab), str(mnt)], src, mnt,
                            tmp_path, linkfs_env)
    assert 'allow_other' in res['super_opts'].split(',')
    assert 'default_permissions' in res['super_opts'].split(',')


def test_debug_option_logs_and_stays_in_foreground(linkfs, tmp_path):
    m = linkfs('-d')
    m2 = None
    assert H.pid_alive(m.pid)
    before = len(m.stderr_text())
    m.v('x').write_bytes(b'x')
    os.stat(m.v('x'))
    assert H.wait_until(lambda: len(m.stderr_text()) > before, 5)
    m.unmount()
    # -d without -f: still in the foreground (it implies -f)
    src, mnt = tmp_path / 'dsrc', tmp_path / 'dmnt'
    src.mkdir()
    mnt.mkdir()
    m2 = H.LinkfsMount(src, mnt, args=['-d'], log_dir=tmp_path,
                       binary=m.binary, foreground=False)
    try:
        m2.start()
        time.sleep(0.5)
        assert m2.proc.poll() is None, 'linkfs -d went to the background'
        m2.unmount()
    finally:
        if m2.state != 'stopped':
            m2.force_cleanup()


def test_single_threaded(linkfs):
    m = linkfs('-s', populate=lambda s: (s / 'a').write_bytes(b'a' * 100000))
    assert m.v('a').read_bytes() == b'a' * 100000
    os.mkdir(m.v('d'))
    os.link(m.v('a'), m.v('d/b'))
    assert os.stat(m.v('d/b')).st_nlink == 2
    assert H.run(['ls', '-liR', str(m.mnt)], timeout=30).returncode == 0


def test_read_only_option(linkfs):
    m = linkfs('-o', 'ro', populate=lambda s: (s / 'a').write_bytes(b'a'))
    assert m.v('a').read_bytes() == b'a'
    for fn, args in ((os.open, (m.v('a'), os.O_WRONLY)),
                     (os.open, (m.v('n'), os.O_CREAT | os.O_WRONLY)),
                     (os.mkdir, (m.v('d'),)), (os.unlink, (m.v('a'),)),
                     (os.chmod, (m.v('a'), 0o600)),
                     (os.setxattr, (m.v('a'), 'user.x', b'v'))):
        assert H.errno_of(fn, *args) == errno.EROFS, fn.__name__
    assert os.listdir(m.src) == ['a']
    assert stat_mode(m.s('a')) == stat_mode(m.v('a'))


def stat_mode(p):
    return os.stat(p).st_mode


@pytest.mark.parametrize('mode', ['never', 'auto', 'always'])
def test_cache_modes_accepted(linkfs, mode):
    m = linkfs('-o', 'cache=' + mode,
               populate=lambda s: (s / 'a').write_bytes(b'a'))
    assert m.v('a').read_bytes() == b'a'
    m.v('b').write_bytes(b'b')
    assert m.s('b').read_bytes() == b'b'
    assert os.stat(m.v('b')).st_ino == os.stat(m.s('b')).st_ino


@pytest.mark.parametrize('opt', ['links=visible', 'links=root',
                                 'links=hidden', 'links_name=foo',
                                 'links_name=.view-links,links=root'])
def test_links_options_accepted(linkfs, opt):
    m = linkfs('-o', opt, populate=lambda s: (s / 'a').write_bytes(b'a'))
    assert m.v('a').read_bytes() == b'a'
    assert 'a' in os.listdir(m.mnt)


def test_options_combined(linkfs):
    m = linkfs('-o', 'cache=never,links=hidden', '-o', 'links_name=lk',
               populate=lambda s: (s / 'a').write_bytes(b'a'))
    assert m.v('a').read_bytes() == b'a'
