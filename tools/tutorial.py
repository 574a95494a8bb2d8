#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Runs the tutorial's commands and writes docs/tutorial.md with their output.

The template, docs/tutorial.md.in, is Markdown whose ```console blocks hold
only commands: `$ CMD` (must succeed) or `$! CMD` (must fail; shown as
`$ CMD`).  Every command runs, in order, with bash in an empty lesson
directory, with linkfs first in PATH; its output (stdout and stderr, as a
80-column terminal shows them) is written after it.  The lesson directory's path
is written `~/lesson`, and @USER@ in the text is the user running it;
nothing else is changed.

This process is a child subreaper, so the linkfs daemons that the commands
start (and that detach) become its children: each must have exited with
status 0 once its view is unmounted, and none may be left at the end.

  tools/tutorial.py --linkfs BIN [--output FILE] [--workdir DIR] [--check]

--check compares a new run with the committed page instead of writing it,
up to what differs from machine to machine (inode and device numbers,
dates, sizes, block counts, owners, the scan's duration, column widths).
"""

import argparse
import ctypes
import difflib
import errno
import fcntl
import os
import pwd
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / 'docs' / 'tutorial.md.in'
OUTPUT = REPO / 'docs' / 'tutorial.md'
PR_SET_CHILD_SUBREAPER = 36
SHOWN_DIR = '~/lesson'
HEADER = ('<!-- Written by tools/tutorial from docs/tutorial.md.in: edit the '
          'template and run tools/tutorial. -->\n')


class TutorialError(Exception):
    pass


def become_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise TutorialError('prctl(PR_SET_CHILD_SUBREAPER): %s' %
                            os.strerror(ctypes.get_errno()))


def adopted_daemons(known):
    """PIDs of linkfs processes that have become our children."""
    me = str(os.getpid())
    found = []
    for d in os.listdir('/proc'):
        if not d.isdigit() or int(d) in known:
            continue
        try:
            with open('/proc/%s/status' % d) as f:
                fields = dict(ln.split(':\t', 1) for ln in f if ':\t' in ln)
        except OSError:
            continue
        if fields.get('PPid', '').strip() == me and \
                fields.get('Name', '').strip() == 'linkfs':
            found.append(int(d))
    return found


def wait_exit(pid, timeout=20.0):
    """Exit status of child pid, or None if it is still running."""
    end = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > end:
            return None
        time.sleep(0.05)


def run_on_pty(argv, cwd, env, timeout=120.0):
    """Runs argv with its output on an 80x24 terminal, as a user typing the
    command sees it; returns (exit status, output)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 80, 0, 0))
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.ONLCR          # keep \n line ends
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    try:
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                             stdout=slave, stderr=slave, start_new_session=True)
    finally:
        os.close(slave)
    chunks = []
    end = time.monotonic() + timeout
    try:
        while True:
            left = end - time.monotonic()
            if left <= 0:
                p.kill()
                p.wait()
                raise TutorialError('%r did not finish within %ds' %
                                    (argv, timeout))
            ready, _, _ = select.select([master], [], [], min(left, 1.0))
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError as e:        # EIO: every writer is gone
                if e.errno != errno.EIO:
                    raise
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    code = p.wait()
    return code, b''.join(chunks).decode('utf-8', 'replace')


def is_mounted(path):
    path = os.path.realpath(path)
    with open('/proc/self/mountinfo') as f:
        for line in f:
            mnt = re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)),
                         line.split()[4])
            if mnt == path:
                return True
    return False


def parse_template(text):
    """List of Markdown strings and command blocks ([(cmd, must_fail)])."""
    parts = []
    lines = text.splitlines(keepends=True)
    i = 0
    prose = []
    while i < len(lines):
        if lines[i].rstrip('\n') == '```console':
            parts.append(''.join(prose))
            prose = []
            block = []
            i += 1
            while i < len(lines) and lines[i].rstrip('\n') != '```':
                ln = lines[i].rstrip('\n')
                m = re.match(r'^\$(!?) (.+)$', ln)
                if not m:
                    raise TutorialError('template line %d: not a command: %r'
                                        % (i + 1, ln))
                block.append((m.group(2), m.group(1) == '!'))
                i += 1
            if i == len(lines):
                raise TutorialError('template: unterminated console block')
            parts.append(block)
        else:
            prose.append(lines[i])
        i += 1
    parts.append(''.join(prose))
    return parts


class Lesson:
    def __init__(self, linkfs, workdir):
        self.dir = Path(workdir) / 'lesson'
        self.dir.mkdir()
        bindir = self.dir.parent / 'bin'
        bindir.mkdir()
        # `linkfs` in the commands is the binary under test.
        os.symlink(os.path.abspath(linkfs), bindir / 'linkfs')
        self.env = {
            'PATH': '%s:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' % bindir,
            'HOME': os.environ.get('HOME', '/'),
            'LC_ALL': 'C.UTF-8',
            'TZ': 'UTC',
            'TERM': 'dumb',
        }
        for k in ('ASAN_OPTIONS', 'LSAN_OPTIONS', 'UBSAN_OPTIONS',
                  'G_SLICE', 'G_DEBUG'):
            if k in os.environ:
                self.env[k] = os.environ[k]
        self.daemons = []

    def run(self, cmd, must_fail):
        code, out = run_on_pty(['/bin/bash', '-c', cmd], self.dir, self.env)
        if must_fail and code == 0:
            raise TutorialError('%r succeeded, the tutorial expects it to '
                                'fail:\n%s' % (cmd, out))
        if not must_fail and code != 0:
            raise TutorialError('%r failed with status %d:\n%s' %
                                (cmd, code, out))
        self.daemons += adopted_daemons(set(self.daemons))
        self.check_daemons()
        return out.replace(str(self.dir), SHOWN_DIR)

    def check_daemons(self):
        """Daemons whose view is gone must have exited 0."""
        if is_mounted(self.dir / 'view'):
            return
        for pid in list(self.daemons):
            code = wait_exit(pid)
            if code is None:
                raise TutorialError('linkfs (pid %d) still runs after its '
                                    'view was unmounted' % pid)
            self.daemons.remove(pid)
            if code != 0:
                raise TutorialError('linkfs (pid %d) exited with status %d'
                                    % (pid, code))

    def cleanup(self):
        view = self.dir / 'view'
        if is_mounted(view):
            subprocess.run(['fusermount3', '-u', str(view)])
            if is_mounted(view):
                subprocess.run(['fusermount3', '-uz', str(view)])
        for pid in self.daemons:
            if wait_exit(pid, timeout=10) is None:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        self.daemons = []
        if not is_mounted(view):
            shutil.rmtree(self.dir.parent / 'bin', ignore_errors=True)
            shutil.rmtree(self.dir, ignore_errors=True)


def render(linkfs, workdir):
    parts = parse_template(TEMPLATE.read_text(encoding='utf-8'))
    lesson = Lesson(linkfs, workdir)
    user = pwd.getpwuid(os.getuid()).pw_name
    out = [HEADER]
    try:
        for p in parts:
            if isinstance(p, str):
                out.append(p.replace('@USER@', user))
                continue
            out.append('```console\n')
            for cmd, must_fail in p:
                out.append('$ %s\n' % cmd)
                out.append(lesson.run(cmd, must_fail))
            out.append('```\n')
        if lesson.daemons:
            raise TutorialError('linkfs still runs at the end (pids %s)' %
                                lesson.daemons)
    finally:
        lesson.cleanup()
    return ''.join(out)


# What differs from one machine or run to the next, for --check.
MASKS = [
    (re.compile(r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? [+-]\d{4}'), 'DATE'),
    (re.compile(r'[A-Z][a-z]{2} [ \d]\d (\d\d:\d\d| \d{4})'), 'DATE'),
    (re.compile(r'Device: \S+'), 'Device: DEV'),
    (re.compile(r'Blocks: \d+'), 'Blocks: N'),
    (re.compile(r'IO Block: \d+'), 'IO Block: N'),
    (re.compile(r'^total \d+$', re.M), 'total N'),
    (re.compile(r'scan_seconds: [\d.]+'), 'scan_seconds: S'),
    (re.compile(r'Inode: \d+'), 'Inode: INO'),
    (re.compile(r'^ *\d+ (?=[-dlcbps][-rwxsStT]{9})', re.M), 'INO '),
    (re.compile(r'^\d+ (?=\d+ )', re.M), 'INO '),
    (re.compile(r'inodes/\d+'), 'inodes/INO'),
    # D/.links -> ../.links/dirs/INO: its size is the length of the number
    (re.compile(r' +\d+ +(DATE \.links -> (\.\./)+\.links/dirs/)\d+$', re.M),
     r' SIZE \1INO'),
    (re.compile(r'dirs/\d+'), 'dirs/INO'),
    (re.compile(r'^\d+$', re.M), 'INO'),
    # ls -l: owner and group; sizes of directories and files (status holds
    # the path of the source), not of symlinks (the length of the target)
    (re.compile(r'^((?:INO )?[-dcbps][-rwxsStT]{9}\S?) +(\d+) +\S+ +\S+ +\d+ ',
                re.M), r'\1 \2 OWNER GROUP SIZE '),
    (re.compile(r'^((?:INO )?l[-rwxsStT]{9}\S?) +(\d+) +\S+ +\S+ ', re.M),
     r'\1 \2 OWNER GROUP '),
    (re.compile(r'Uid: \( *\d+/ *\S+\) +Gid: \( *\d+/ *\S+\)'), 'Uid: U Gid: G'),
    (re.compile(r'as the user\s+`[^`]+`'), 'as the user `USER`'),
    # FUSE passthrough is on for root, unavailable for other users
    (re.compile(r'^passthrough: \S+$', re.M), 'passthrough: STATE'),
    # how many virtual entries the kernel was handed within a second
    (re.compile(r'^kernel_cached: \d+$', re.M), 'kernel_cached: N'),
    (re.compile(r'^kernel_known: \d+$', re.M), 'kernel_known: N'),
    (re.compile(r'[ \t]+'), ' '),
]


def masked(text):
    for rx, rep in MASKS:
        text = rx.sub(rep, text)
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--linkfs', required=True, help='the linkfs binary')
    ap.add_argument('--output', default=str(OUTPUT))
    ap.add_argument('--workdir', help='directory to make the lesson in '
                    '(default: a new temporary directory)')
    ap.add_argument('--check', action='store_true',
                    help='compare with --output instead of writing it')
    a = ap.parse_args()
    if not os.access(a.linkfs, os.X_OK):
        sys.exit('tutorial: %s is not an executable' % a.linkfs)
    tmp = None
    try:
        become_subreaper()
        workdir = a.workdir
        if workdir is None:
            tmp = tempfile.mkdtemp(prefix='linkfs-tutorial.')
            workdir = tmp
        text = render(a.linkfs, workdir)
    except TutorialError as e:
        sys.exit('tutorial: %s' % e)
    finally:
        if tmp is not None:
            os.rmdir(tmp)
    if not a.check:
        Path(a.output).write_text(text, encoding='utf-8')
        print('tutorial: wrote %s' % a.output)
        return
    old = Path(a.output).read_text(encoding='utf-8')
    if masked(old) == masked(text):
        print('tutorial: %s is up to date' % a.output)
        return
    diff = difflib.unified_diff(masked(old).splitlines(True),
                                masked(text).splitlines(True),
                                a.output, 'a new run (masked)')
    sys.stdout.writelines(diff)
    sys.exit('tutorial: %s is out of date: run tools/tutorial' % a.output)


if __name__ == '__main__':
    main()
