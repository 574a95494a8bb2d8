# SPDX-License-Identifier: GPL-2.0-or-later
"""floorfs (tests/bench/floorfs.c), the floor of tools/bench: a FUSE daemon
serving an in-memory copy of a tree.  Its numbers only mean something if it
serves exactly the tree it copied, so a copy of a linkfs view, `.links`
included, must look to find and ls like the view itself."""

import errno
import os
import subprocess

import pytest

import linkfs_helpers as H
import links_oracle as O

FLOORFS = os.path.join(os.environ.get('LINKFS_BUILD_ROOT', str(H.REPO / 'build')),
                       'tests', 'bench', 'floorfs')


@pytest.fixture
def floorfs(linkfs_env):
    if not os.access(FLOORFS, os.X_OK):
        pytest.fail('floorfs not built: %s' % FLOORFS, pytrace=False)
    return FLOORFS


def find_listing(root):
    r = subprocess.run(['find', '.', '-printf',
                        '%p %y %i %n %s %m %U %G %T@ %C@ %l\n'],
                       cwd=root, capture_output=True, check=True)
    return sorted(r.stdout.splitlines())


def ls_listing(root):
    # -A: the root's `..` is the parent of each mountpoint, not part of either
    r = subprocess.run(['ls', '-lRAn', '--time-style=full-iso', '.'], cwd=root,
                       capture_output=True, check=True)
    return r.stdout


@pytest.mark.parametrize('mode', ['spin', 'sleep'])
def test_floorfs_serves_the_view_it_copied(linkfs, floorfs, tmp_path, mode):
    m = O.mount_tree(linkfs, tmp_path, seed=7)
    fmnt = tmp_path / 'floor'
    fmnt.mkdir()
    want_find, want_ls = find_listing(m.mnt), ls_listing(m.mnt)
    assert len(want_find) > 200
    assert any(b'/.links/inodes/' in line for line in want_find)
    assert any(line.split()[1] == b'l' for line in want_find)

    f = H.LinkfsMount(m.mnt, fmnt, args=['--sleep'] if mode == 'sleep' else [],
                      binary=floorfs, foreground=False, log_dir=tmp_path)
    f.start()
    try:
        got_find, got_ls = find_listing(fmnt), ls_listing(fmnt)
        assert H.errno_of(os.mkdir, fmnt / 'new') == errno.EROFS
    finally:
        f.teardown()
    assert f.returncode == 0
    assert got_find == want_find
    assert got_ls == want_ls
