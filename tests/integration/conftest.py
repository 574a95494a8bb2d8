# SPDX-License-Identifier: GPL-2.0-or-later
"""pytest fixtures for the linkfs integration tests.

`linkfs` is a factory: linkfs(*opts, populate=fn, env=..., prefix=[...],
preexec_fn=..., base=dir, start=True) creates BASE/srcN and BASE/mntN,
calls populate(src) before mounting, starts `linkfs -f opts SRC MNT` and
returns a started LinkfsMount.  At teardown every mount still running is
unmounted with fusermount3 -u and its daemon must exit 0.

An autouse fixture checks, after every test, that no mount and no process
referring to the test's temporary directories is left behind (and cleans
them up if there are, failing the test).
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import linkfs_helpers as H  # noqa: E402

_SHARED_DIRS = []


def _skip_or_fail(msg):
    if H.require_fuse_env():
        pytest.fail(msg + ' (LINKFS_REQUIRE_FUSE=1)', pytrace=False)
    pytest.skip(msg)


@pytest.fixture(scope='session')
def linkfs_bin():
    b = H.linkfs_bin()
    if not os.access(b, os.X_OK):
        if os.environ.get('LINKFS_BIN'):
            pytest.fail('LINKFS_BIN=%s is not an executable' % b,
                        pytrace=False)
        pytest.skip('linkfs binary %s not built (set LINKFS_BIN)' % b)
    return b


@pytest.fixture(scope='session')
def fuse_ok():
    problem = H.fuse_problem()
    if problem:
        _skip_or_fail('FUSE unusable: ' + problem)
    return True


@pytest.fixture
def linkfs_env(linkfs_bin, fuse_ok):
    """binary path, after checking that FUSE is usable."""
    return linkfs_bin


@pytest.fixture(autouse=True)
def no_leftovers(tmp_path):
    yield
    problems = H.cleanup_leftovers(tmp_path)
    for d in list(_SHARED_DIRS):
        problems += H.cleanup_leftovers(d)
    if problems:
        pytest.fail('left behind: ' + '; '.join(problems), pytrace=False)


@pytest.fixture
def shared_tmp():
    """A world-traversable directory (tmp_path lives under a 0700 dir),
    for tests where other uids must reach the mount."""
    d = tempfile.mkdtemp(prefix='linkfs-it-', dir='/tmp')
    os.chmod(d, 0o755)
    _SHARED_DIRS.append(d)
    yield Path(d)
    H.cleanup_leftovers(d)
    _SHARED_DIRS.remove(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def linkfs(linkfs_env, tmp_path):
    started = []
    counter = [0]

    def factory(*opts, populate=None, env=None, prefix=(), preexec_fn=None,
                base=None, src=None, mnt=None, start=True, src_mode=None):
        counter[0] += 1
        n = counter[0]
        base = Path(base) if base else tmp_path
        src = Path(src) if src else base / ('src%d' % n)
        mnt = Path(mnt) if mnt else base / ('mnt%d' % n)
        src.mkdir(parents=True, exist_ok=True)
        mnt.mkdir(parents=True, exist_ok=True)
        if src_mode is not None:
            os.chmod(src, src_mode)
        if populate:
            populate(src)
        m = H.LinkfsMount(src, mnt, args=opts, env=env, prefix=prefix,
                          preexec_fn=preexec_fn, log_dir=base,
                          binary=linkfs_env)
        started.append(m)
        if start:
            m.start()
        return m

    yield factory

    errors = []
    for m in reversed(started):
        try:
            m.teardown()
        except Exception as e:  # keep cleaning the others
            errors.append('%s: %s' % (m.mnt, e))
    if errors:
        pytest.fail('teardown: ' + '\n'.join(errors), pytrace=False)


@pytest.fixture
def mnt(linkfs):
    """A default mount of an empty source."""
    return linkfs()


@pytest.fixture
def actors(linkfs):
    """A factory of H.Actor processes (actors() as root, actors(user=(uid,
    gid)) as another user), all killed at the end, before the mounts are
    undone."""
    made = []

    def make(user=None):
        a = H.Actor(user)
        made.append(a)
        return a
    yield make
    for a in made:
        a.kill()


@pytest.fixture
def user_linkfs(shared_tmp, linkfs):
    """A factory like linkfs, but the view is mounted by H.TEST_USER
    (fusermount3, no FUSE passthrough), its source and mountpoint owned by
    that user. Skips (fails with LINKFS_REQUIRE_FUSE=1) where that user
    cannot mount."""
    uid, gid = H.TEST_USER
    problem = H.user_mount_problem(uid, gid)
    if problem:
        _skip_or_fail('mount as uid %d: %s' % (uid, problem))
    counter = [0]

    def factory(*opts, populate=None, **kw):
        counter[0] += 1
        base = shared_tmp / ('u%d' % counter[0])
        src, mnt = base / 'src', base / 'mnt'
        for d in (base, src, mnt):
            d.mkdir()
            os.chown(d, uid, gid)
        if populate:
            populate(src)
            for root, dirs, files in os.walk(src):
                for n in dirs + files:
                    os.lchown(os.path.join(root, n), uid, gid)
        return linkfs(*opts, src=src, mnt=mnt, base=base,
                      prefix=H.setpriv(uid, gid), **kw)
    return factory
