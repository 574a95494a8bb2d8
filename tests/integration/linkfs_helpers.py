# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers for the linkfs integration tests.

Everything here uses the Python standard library only.  The central piece is
LinkfsMount: it starts `linkfs -f [opts] SRC MNT` as a child process, waits
for the mount to appear in /proc/self/mountinfo, and on teardown unmounts
with `fusermount3 -u`, waits for the daemon and checks that it exited 0.
Every failure path lazily unmounts and kills only the PID it started, so no
mount or process is left behind.
"""

import ctypes
import ctypes.util
import errno
import json
import os
import platform
import re
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FUSERMOUNT = shutil.which('fusermount3') or '/usr/bin/fusermount3'
PYTHON = '/usr/bin/python3'
LINKS_NAME = '.links'          # default virtual directory name (next issue)

MOUNT_TIMEOUT = 20.0
UNMOUNT_TIMEOUT = float(os.environ.get("LINKFS_UNMOUNT_TIMEOUT", "20"))


class MountError(Exception):
    pass


# --------------------------------------------------------------------------
# environment

def linkfs_bin():
    env = os.environ.get('LINKFS_BIN')
    if env:
        return env
    return str(REPO / 'build' / 'src' / 'linkfs')


def require_fuse_env():
    return os.environ.get('LINKFS_REQUIRE_FUSE') == '1'


def fuse_problem():
    """Return a string describing why FUSE cannot be used here, or None."""
    if not os.path.exists('/dev/fuse'):
        return '/dev/fuse does not exist'
    try:
        fd = os.open('/dev/fuse', os.O_RDWR)
        os.close(fd)
    except OSError as e:
        return '/dev/fuse cannot be opened: %s' % e
    if not os.path.exists(FUSERMOUNT):
        return 'fusermount3 not found'
    try:
        with open('/proc/filesystems') as f:
            if not any(line.split()[-1:] == ['fuse'] for line in f):
                return 'kernel has no fuse filesystem'
    except OSError as e:
        return 'cannot read /proc/filesystems: %s' % e
    return None


def allow_other_problem():
    """Why -o allow_other cannot be mounted by this user, or None."""
    if os.geteuid() == 0:
        return None
    try:
        with open('/etc/fuse.conf') as f:
            if any(ln.split('#', 1)[0].strip() == 'user_allow_other'
                   for ln in f):
                return None
    except OSError:
        pass
    return "-o allow_other needs root or 'user_allow_other' in /etc/fuse.conf"


def project_version():
    text = (REPO / 'meson.build').read_text()
    m = re.search(r"version\s*:\s*'([^']+)'", text)
    return m.group(1) if m else None


# --------------------------------------------------------------------------
# mountinfo and processes

def _unescape(s):
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), s)


def mounts():
    """Parse /proc/self/mountinfo into a list of dicts."""
    out = []
    with open('/proc/self/mountinfo') as f:
        for line in f:
            line = line.rstrip('\n')
            left, _, right = line.partition(' - ')
            fl = left.split(' ')
            fr = right.split(' ')
            out.append({
                'mnt': _unescape(fl[4]),
                'opts': fl[5],
                'fstype': fr[0],
                'source': _unescape(fr[1]) if len(fr) > 1 else '',
                'super_opts': fr[2] if len(fr) > 2 else '',
            })
    return out


def mount_entry(mnt):
    """The last (topmost) mountinfo entry mounted exactly at mnt, or None."""
    mnt = os.path.abspath(str(mnt))
    found = None
    for m in mounts():
        if m['mnt'] == mnt:
            found = m
    return found


def fuse_mounted(mnt):
    m = mount_entry(mnt)
    return m is not None and m['fstype'].startswith('fuse')


def mounts_under(prefix):
    prefix = os.path.abspath(str(prefix))
    return [m for m in mounts()
            if m['mnt'] == prefix or m['mnt'].startswith(prefix + '/')]


def pids_with_arg(substr):
    """PIDs (not ours) whose command line contains substr."""
    substr = str(substr)
    me = os.getpid()
    pids = []
    for d in os.listdir('/proc'):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            with open('/proc/%s/cmdline' % d, 'rb') as f:
                cmd = f.read().replace(b'\0', b' ').decode('utf-8', 'replace')
        except OSError:
            continue
        if substr in cmd:
            pids.append(int(d))
    return pids


def pid_alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            st = f.read()
    except OSError:
        return False
    # a zombie is dead for our purposes
    state = st.rsplit(')', 1)[1].split()[0]
    return state != 'Z'


def lazy_unmount(mnt):
    subprocess.run([FUSERMOUNT, '-uz', str(mnt)], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=30)
    if mount_entry(mnt) is not None:
        subprocess.run(['umount', '-l', str(mnt)], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30)


def cleanup_leftovers(prefix):
    """Unmount everything under prefix and kill processes naming it.

    Returns a list of human readable descriptions of what was found."""
    found = []
    for m in sorted(mounts_under(prefix), key=lambda m: -len(m['mnt'])):
        found.append('mount %s (%s)' % (m['mnt'], m['fstype']))
        lazy_unmount(m['mnt'])
    for pid in pids_with_arg(prefix):
        if pid_alive(pid):
            found.append('process %d' % pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return found


def wait_until(pred, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def thread_states(pid):
    """The state letter (R, S, T, ...) of each of the process's threads."""
    states = []
    for tid in os.listdir('/proc/%d/task' % pid):
        try:
            with open('/proc/%d/task/%s/stat' % (pid, tid)) as f:
                # pid (comm) state ...: comm may hold spaces and parentheses
                states.append(f.read().rsplit(')', 1)[1].split()[0])
        except FileNotFoundError:  # the thread has just ended
            pass
    return states


def stop_all_threads(pid):
    """SIGSTOP the process and wait until every one of its threads has
    stopped: kill(2) returns once the signal is queued, and under load the
    other threads go on (and may answer a request) for milliseconds."""
    os.kill(pid, signal.SIGSTOP)
    assert wait_until(lambda: set(thread_states(pid)) == {'T'}, 10,
                      interval=0.01), thread_states(pid)


# --------------------------------------------------------------------------
# the mount object

class LinkfsMount:
    """One linkfs daemon started in the foreground (-f)."""

    def __init__(self, src, mnt, args=(), env=None, prefix=(),
                 preexec_fn=None, log_dir=None, binary=None,
                 foreground=True):
        self.src = Path(src)
        self.mnt = Path(mnt)
        self.args = list(args)
        self.env = env
        self.prefix = list(prefix)
        self.preexec_fn = preexec_fn
        self.binary = binary or linkfs_bin()
        self.foreground = foreground
        log_dir = Path(log_dir) if log_dir else self.mnt.parent
        tag = self.mnt.name
        self.stderr_path = log_dir / ('%s.stderr' % tag)
        self.stdout_path = log_dir / ('%s.stdout' % tag)
        self.proc = None
        self.state = 'new'     # new, running, stopped, failed
        self.returncode = None

    # paths ------------------------------------------------------------
    def v(self, *parts):
        """Path inside the view."""
        return self.mnt.joinpath(*parts)

    def s(self, *parts):
        """Path inside the source."""
        return self.src.joinpath(*parts)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def command(self):
        cmd = self.prefix + [self.binary]
        if self.foreground:
            cmd.append('-f')
        return cmd + self.args + [str(self.src), str(self.mnt)]

    def stderr_text(self):
        try:
            return self.stderr_path.read_text(errors='replace')
        except OSError:
            return ''

    # life cycle -------------------------------------------------------
    def start(self, timeout=MOUNT_TIMEOUT):
        assert self.state == 'new'
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        self._err = open(self.stderr_path, 'wb')
        self._out = open(self.stdout_path, 'wb')
        self.proc = subprocess.Popen(
            self.command(), stdin=subprocess.DEVNULL, stdout=self._out,
            stderr=self._err, env=env, preexec_fn=self.preexec_fn,
            cwd='/', close_fds=True)
        self.state = 'running'
        deadline = time.monotonic() + timeout
        while True:
            if fuse_mounted(self.mnt):
                return self
            rc = self.proc.poll()
            if rc is not None:
                self.returncode = rc
                self.force_cleanup()
                raise MountError(
                    'linkfs exited with %d before mounting %s\ncommand: %s\n'
                    'stderr:\n%s' % (rc, self.mnt, ' '.join(self.command()),
                                     self.stderr_text()))
            if time.monotonic() > deadline:
                self.force_cleanup()
                raise MountError('%s not mounted after %.0fs\nstderr:\n%s' %
                                 (self.mnt, timeout, self.stderr_text()))
            time.sleep(0.02)

    def mount_entry(self):
        return mount_entry(self.mnt)

    def _close_logs(self):
        for f in (getattr(self, '_err', None), getattr(self, '_out', None)):
            if f is not None and not f.closed:
                f.close()

    def wait_exit(self, timeout=UNMOUNT_TIMEOUT):
        """Wait for the daemon; return its exit code (None on timeout)."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self._close_logs()
        return self.returncode

    def fusermount_u(self, timeout=UNMOUNT_TIMEOUT):
        """Run fusermount3 -u, retrying on EBUSY until the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            r = subprocess.run([FUSERMOUNT, '-u', str(self.mnt)],
                               capture_output=True, text=True, timeout=timeout)
            if r.returncode == 0:
                return r
            if time.monotonic() > deadline or 'busy' not in r.stderr.lower():
                return r
            time.sleep(0.2)

    def unmount(self, timeout=UNMOUNT_TIMEOUT):
        """Unmount with fusermount3 -u and check a clean exit 0."""
        assert self.state == 'running', self.state
        try:
            r = self.fusermount_u(timeout)
            if r.returncode != 0:
                raise MountError('fusermount3 -u %s failed (%d): %s' %
                                 (self.mnt, r.returncode, r.stderr.strip()))
            self.check_clean_exit(timeout)
        except BaseException:
            self.force_cleanup()
            raise

    def check_clean_exit(self, timeout=UNMOUNT_TIMEOUT):
        """After an unmount request: daemon exits 0 and the mount is gone."""
        try:
            rc = self.wait_exit(timeout)
            if rc is None:
                raise MountError('linkfs (pid %d) still running %.0fs after '
                                 'unmount of %s\nstderr:\n%s' %
                                 (self.pid, timeout, self.mnt,
                                  self.stderr_text()))
            if not wait_until(lambda: not fuse_mounted(self.mnt), 5):
                raise MountError('%s still mounted after the daemon exited'
                                 % self.mnt)
            if rc != 0:
                raise MountError('linkfs exited with %d after unmount of %s\n'
                                 'stderr:\n%s' % (rc, self.mnt,
                                                  self.stderr_text()))
            self.state = 'stopped'
        except BaseException:
            self.force_cleanup()
            raise

    def signal(self, sig):
        self.proc.send_signal(sig)

    def force_cleanup(self):
        """Never leave a mount or a process behind.  Idempotent."""
        self.state = 'failed' if self.state != 'stopped' else 'stopped'
        if fuse_mounted(self.mnt):
            lazy_unmount(self.mnt)
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self._close_logs()

    def teardown(self):
        """Used by the fixture: clean unmount if still running."""
        if self.state == 'running':
            self.unmount()
        else:
            self.force_cleanup()


# --------------------------------------------------------------------------
# small utilities used by the tests

def errno_of(fn, *args, **kwargs):
    """Run fn; return 0 on success or the OSError's errno."""
    try:
        fn(*args, **kwargs)
    except OSError as e:
        return e.errno
    return 0


def ename(e):
    return errno.errorcode.get(e, str(e)) if e else 'OK'


def run(cmd, timeout=60, check=False, **kw):
    kw.setdefault('capture_output', True)
    kw.setdefault('text', True)
    r = subprocess.run(cmd, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError('%s failed (%d):\n%s%s' % (
            ' '.join(map(str, cmd)), r.returncode, r.stdout, r.stderr))
    return r


def stat_tuple(st, ctime=False):
    t = (st.st_ino, st.st_mode, st.st_nlink, st.st_uid, st.st_gid,
         st.st_size, st.st_mtime_ns, st.st_rdev)
    if ctime:
        t += (st.st_ctime_ns,)
    return t


def stat_dict(st):
    return {k: getattr(st, k) for k in (
        'st_ino', 'st_mode', 'st_nlink', 'st_uid', 'st_gid', 'st_size',
        'st_mtime_ns', 'st_rdev')}


def listdir_view(path, src_path=None):
    """Sorted listing of a view directory without the virtual links dir
    (unless the source really has such an entry)."""
    names = sorted(os.listdir(path))
    if LINKS_NAME in names and (src_path is None or
                                not os.path.lexists(os.path.join(
                                    src_path, LINKS_NAME))):
        names.remove(LINKS_NAME)
    return names


def drop_links_lines(text):
    """Remove what concerns the virtual links dir from `ls -l[R]` or `find`
    output: its own line, and whole `ls -R` sections of paths inside it."""
    out = []
    skipping = False
    for line in text.splitlines():
        if skipping:
            if line == '':
                skipping = False
            continue
        if line.endswith(':') and ('/' + LINKS_NAME + '/') in line[:-1] + '/':
            skipping = True
            continue
        if line.endswith(' ' + LINKS_NAME) or line == LINKS_NAME or \
                ('/' + LINKS_NAME + '/') in line + '/':
            continue
        # ls pads columns to the widest entry; the virtual entry's large
        # inode number widens them, so compare the fields, not the padding.
        out.append(' '.join(line.split()))
    while out and out[-1] == '':
        out.pop()
    return out


# ctypes wrappers -----------------------------------------------------------

_libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6',
                    use_errno=True)

AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2
FALLOC_FL_KEEP_SIZE = 1
FALLOC_FL_PUNCH_HOLE = 2


def _raise(path=None, path2=None):
    e = ctypes.get_errno()
    raise OSError(e, os.strerror(e), path, None, path2)


def renameat2(old, new, flags):
    f = _libc.renameat2
    f.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                  ctypes.c_char_p, ctypes.c_uint]
    f.restype = ctypes.c_int
    if f(AT_FDCWD, os.fsencode(str(old)), AT_FDCWD, os.fsencode(str(new)),
         flags) != 0:
        _raise(str(old), str(new))


class Timespec(ctypes.Structure):
    _fields_ = [('tv_sec', ctypes.c_long), ('tv_nsec', ctypes.c_long)]


def utimensat(path, atime, mtime, flags=0):
    """atime/mtime: (sec, nsec) tuples; nsec may be UTIME_NOW/UTIME_OMIT."""
    f = _libc.utimensat
    f.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(Timespec),
                  ctypes.c_int]
    f.restype = ctypes.c_int
    times = (Timespec * 2)(Timespec(*atime), Timespec(*mtime))
    if f(AT_FDCWD, os.fsencode(str(path)), times, flags) != 0:
        _raise(str(path))


def fallocate(fd, mode, offset, length):
    f = _libc.fallocate
    f.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
    f.restype = ctypes.c_int
    if f(fd, mode, offset, length) != 0:
        _raise()


# running code as another user -----------------------------------------------

_USER_PRELUDE = r'''
import os, sys, json, errno, stat
os.umask(0o022)
def E(fn, *a, **k):
    try:
        fn(*a, **k)
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    return 'OK'
def W(path, data=b'x', flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode=0o644):
    fd = os.open(path, flags, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
def R(path):
    with open(path, 'rb') as f:
        return f.read()
OUT = {}
'''

_USER_EPILOGUE = r'''
print(json.dumps(OUT))
'''


def as_user(uid, gid, code, groups=None, timeout=60, cwd='/'):
    """Run Python code as uid/gid through setpriv.

    code fills the dict OUT; it is returned (decoded from JSON).  Helpers
    available inside: E(fn, *a) -> 'OK' or errno name, W(path, data), R(path).
    """
    cmd = ['setpriv', '--reuid=%d' % uid, '--regid=%d' % gid]
    if groups:
        cmd.append('--groups=' + ','.join(str(g) for g in groups))
    else:
        cmd.append('--clear-groups')
    cmd += [PYTHON, '-c', _USER_PRELUDE + code + _USER_EPILOGUE]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       cwd=cwd)
    if r.returncode != 0:
        raise AssertionError('code as uid %d failed (%d):\n%s\n%s' %
                             (uid, r.returncode, r.stdout, r.stderr))
    return json.loads(r.stdout.strip().splitlines()[-1])


def py_literal(x):
    return json.dumps(str(x))


def make_tree(root, spec):
    """Create files from a dict {relpath: content|None(dir)|('link', target)
    |('symlink', target)|('fifo',)}."""
    root = Path(root)
    for rel, what in spec.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if what is None:
            p.mkdir(exist_ok=True)
        elif isinstance(what, (bytes, str)):
            p.write_bytes(what.encode() if isinstance(what, str) else what)
        elif what[0] == 'link':
            os.link(root / what[1], p)
        elif what[0] == 'symlink':
            os.symlink(what[1], p)
        elif what[0] == 'fifo':
            os.mkfifo(p)
        else:
            raise ValueError(what)


# --------------------------------------------------------------------------
# processes that act on files when told to (locks, reads, writes), as root
# or as another user

LOCKER = str(Path(__file__).resolve().parent / 'locker.py')
# fcntl(2) and flock(2)
LOCK_SYSCALLS = {'x86_64': ('72', '73'),
                 'aarch64': ('25', '32')}.get(platform.machine(), ())
# The unprivileged user of the tests that mount as a user.
TEST_USER = (65534, 65534)


def setpriv(uid, gid):
    return ['setpriv', '--reuid=%d' % uid, '--regid=%d' % gid,
            '--clear-groups']


def user_mount_problem(uid, gid):
    """Why uid cannot mount a FUSE filesystem here, or None."""
    if os.geteuid() != 0:
        return 'needs root to act as another user'
    if not shutil.which('setpriv'):
        return 'setpriv not found'
    r = subprocess.run(setpriv(uid, gid) + [
        PYTHON, '-c', 'import os; os.close(os.open("/dev/fuse", os.O_RDWR))'],
        capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        return ('uid %d cannot open /dev/fuse (tools/test makes it usable '
                'by every user, mode 0666 as on Debian): %s'
                % (uid, r.stderr.strip().splitlines()[-1:]))
    return None


class Actor:
    """A tests/integration/locker.py process, as root or as user (uid,
    gid); calling it sends one command and returns the answer."""

    def __init__(self, user=None):
        cmd = [PYTHON, LOCKER]
        if user is not None:
            cmd = setpriv(*user) + cmd
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True,
                                  bufsize=1, cwd='/')

    @property
    def pid(self):
        return self.p.pid

    def send(self, **c):
        self.p.stdin.write(json.dumps(c) + '\n')
        self.p.stdin.flush()

    def recv(self, timeout=30):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        assert r, 'locker %d gave no answer in %ss' % (self.pid, timeout)
        line = self.p.stdout.readline()
        assert line, 'locker %d died' % self.pid
        return json.loads(line)

    def __call__(self, **c):
        self.send(**c)
        return self.recv()

    def in_lock_call(self):
        """Whether the process sits in fcntl(2) or flock(2) (a lock it
        waits for)."""
        try:
            with open('/proc/%d/syscall' % self.pid) as f:
                return f.read().split()[0] in LOCK_SYSCALLS
        except (OSError, IndexError):
            return False

    def wait_blocked(self):
        assert wait_until(self.in_lock_call, 20), 'locker never waited'

    def no_answer_yet(self):
        r, _, _ = select.select([self.p.stdout], [], [], 0)
        return not r

    def exit(self):
        if self.p.poll() is None:
            try:
                self.send(op='exit')
            except BrokenPipeError:
                pass
        return self.p.wait(timeout=30)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(timeout=30)


