# SPDX-License-Identifier: GPL-2.0-or-later
"""-o watch (SPEC section 3): changes made directly in SOURCE, not through
the view, show in the listings within a second; status names the
mechanism. Without -o watch they show after SIGHUP only."""

import os
import signal
import time

import links_oracle as O


def _settled(m, what, deadline=1.5):
    """Compare with the oracle until it matches or the deadline passes."""
    end = time.monotonic() + deadline
    while True:
        O.wait_ready(m)
        try:
            return O.check_everything(m, what=what)
        except AssertionError:
            if time.monotonic() > end:
                raise
            time.sleep(0.1)


def test_watch_names_its_mechanism(linkfs, tmp_path):
    m = O.mount_tree(linkfs, tmp_path, '-o', 'watch', files=50, dirs=5,
                     symlinks=10, dangling=3)
    assert O.status(m)['watch'] == 'inotify'
    m2 = O.mount_tree(linkfs, tmp_path, files=50, dirs=5, symlinks=10,
                      dangling=3)
    assert O.status(m2)['watch'] == 'off'


def test_watch_follows_source_changes(linkfs, tmp_path):
    m = O.mount_tree(linkfs, tmp_path, '-o', 'watch', files=300, dirs=20,
                     symlinks=40, dangling=8)
    src = str(m.src)
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(src)
                   for f in fs if os.path.isfile(os.path.join(d, f))
                   and not os.path.islink(os.path.join(d, f)))
    # a new hard link of a file that had one name, in another directory
    single = next(f for f in files if os.stat(f).st_nlink == 1)
    os.link(single, os.path.join(src, 'new-link'))
    _settled(m, 'after ln in the source')
    # a dangling symlink appears, then its target heals it
    os.symlink('target-to-come', os.path.join(src, 'dl'))
    _settled(m, 'after a dangling symlink in the source')
    open(os.path.join(src, 'target-to-come'), 'w').close()
    _settled(m, 'after its target appeared')
    # a new directory with a hard link inside, then it is renamed
    os.mkdir(os.path.join(src, 'newdir'))
    os.link(os.path.join(src, 'new-link'), os.path.join(src, 'newdir', 'x'))
    _settled(m, 'after mkdir + ln in the source')
    os.rename(os.path.join(src, 'newdir'), os.path.join(src, 'moved'))
    _settled(m, 'after a directory rename in the source')
    # names go away
    os.unlink(os.path.join(src, 'new-link'))
    os.unlink(os.path.join(src, 'target-to-come'))
    _settled(m, 'after rm in the source')


def test_without_watch_source_changes_wait_for_sighup(linkfs, tmp_path):
    m = O.mount_tree(linkfs, tmp_path, files=100, dirs=10, symlinks=10,
                     dangling=3)
    src = str(m.src)
    os.symlink('nowhere', os.path.join(src, 'fresh-dangling'))
    time.sleep(1.2)
    names = os.listdir(os.path.join(str(m.mnt), '.links', 'dangling'))
    assert 'fresh-dangling' not in names
    gen = int(O.status(m)['generation'])
    os.kill(m.pid, signal.SIGHUP)  # a new scan
    O.wait_ready(m, after_generation=gen)
    O.check_everything(m, what='after SIGHUP')
