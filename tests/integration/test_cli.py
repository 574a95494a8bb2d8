# SPDX-License-Identifier: GPL-2.0-or-later
"""Command line: -h, -V and every bad input (SPEC section 4): a non-zero
exit, one clear line on stderr, and nothing mounted."""

import collections
import os
import subprocess

import pytest

import linkfs_helpers as H


def _snapshot(tmp_path):
    return sorted((m['mnt'], m['fstype']) for m in H.mounts_under(tmp_path))


def run_cli(binary, args, tmp_path, prefix=(), timeout=20):
    """Run linkfs (as a user would, no -f) and make sure it neither hangs
    nor leaves a mount or a process behind."""
    before = _snapshot(tmp_path)
    pids_before = set(H.pids_with_arg(tmp_path))
    cmd = list(prefix) + [binary] + [str(a) for a in args]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        H.cleanup_leftovers(tmp_path)
        pytest.fail('%s did not exit within %ds' % (cmd, timeout))
    after = _snapshot(tmp_path)
    if after != before:
        extra = collections.Counter(after) - collections.Counter(before)
        for (mnt, _fstype), n in extra.items():
            for _ in range(n):
                H.lazy_unmount(mnt)
        for pid in H.pids_with_arg(tmp_path):
            if H.pid_alive(pid) and pid not in pids_before:
                os.kill(pid, 9)
        pytest.fail('%s mounted something: %s\nstderr: %s' %
                    (cmd, after, r.stderr))
    return r


def _one_line(r):
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    return lines


@pytest.fixture
def paths(tmp_path):
    p = {'src': tmp_path / 'src', 'mnt': tmp_path / 'mnt',
         'file': tmp_path / 'file', 'missing': tmp_path / 'missing'}
    p['src'].mkdir()
    p['mnt'].mkdir()
    p['file'].write_bytes(b'f')
    (p['src'] / 'a').write_bytes(b'a')
    return p


BAD = {
    'no-args': [],
    'one-arg': ['src'],
    'three-args': ['src', 'mnt', 'src'],
    'missing-source': ['missing', 'mnt'],
    'source-is-file': ['file', 'mnt'],
    'missing-mountpoint': ['src', 'missing'],
    'mountpoint-is-file': ['src', 'file'],
    'unknown-o-option': ['-o', 'bogus', 'src', 'mnt'],
    'unknown-flag': ['--bogus-flag', 'src', 'mnt'],
    'links-bogus': ['-o', 'links=bogus', 'src', 'mnt'],
    'links-empty': ['-o', 'links=', 'src', 'mnt'],
    'links-name-slash': ['-o', 'links_name=a/b', 'src', 'mnt'],
    'links-name-empty': ['-o', 'links_name=', 'src', 'mnt'],
    'links-name-dot': ['-o', 'links_name=.', 'src', 'mnt'],
    'links-name-dotdot': ['-o', 'links_name=..', 'src', 'mnt'],
    'cache-bogus': ['-o', 'cache=bogus', 'src', 'mnt'],
    'watch-bogus': ['-o', 'watch=bogus', 'src', 'mnt'],
}


@pytest.mark.parametrize('case', sorted(BAD))
def test_bad_input(linkfs_env, tmp_path, paths, case):
    args = [str(paths[a]) if a in paths else a for a in BAD[case]]
    r = run_cli(linkfs_env, args, tmp_path)
    assert r.returncode != 0
    lines = _one_line(r)
    assert len(lines) == 1, r.stderr
    assert len(lines[0]) < 300
    assert not H.fuse_mounted(paths['mnt'])
    assert os.listdir(paths['src']) == ['a']


def test_no_dev_fuse(linkfs_env, tmp_path, paths):
    prefix = ['unshare', '-m', 'sh', '-c',
              'mount -t tmpfs none /dev && exec "$0" "$@"']
    probe = subprocess.run(prefix + ['true'],
                           capture_output=True, text=True, timeout=20)
    if probe.returncode != 0:
        pytest.skip('cannot hide /dev in a mount namespace: ' +
                    probe.stderr.strip())
    r = run_cli(linkfs_env, [paths['src'], paths['mnt']], tmp_path,
                prefix=prefix)
    assert r.returncode != 0
    lines = _one_line(r)
    assert len(lines) == 1, r.stderr
    assert 'fuse' in lines[0].lower()
    r = run_cli(linkfs_env, ['-f', paths['src'], paths['mnt']], tmp_path,
                prefix=prefix)
    assert r.returncode != 0
    assert len(_one_line(r)) == 1, r.stderr


def test_already_mounted(linkfs):
    m = linkfs(populate=lambda s: (s / 'a').write_bytes(b'a'))
    before = H.mount_entry(m.mnt)
    r = run_cli(m.binary, [m.src, m.mnt], m.mnt.parent)
    assert r.returncode != 0
    assert len(_one_line(r)) == 1, r.stderr
    assert H.mount_entry(m.mnt) == before
    assert sum(1 for e in H.mounts() if e['mnt'] == str(m.mnt)) == 1
    assert m.v('a').read_bytes() == b'a'


@pytest.mark.parametrize('flag', ['-h', '--help'])
def test_help(linkfs_env, tmp_path, flag):
    r = run_cli(linkfs_env, [flag], tmp_path)
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    assert 'usage' in out.lower()
    assert 'SOURCE' in out and 'MOUNTPOINT' in out


@pytest.mark.parametrize('flag', ['-V', '--version'])
def test_version(linkfs_env, tmp_path, flag):
    r = run_cli(linkfs_env, [flag], tmp_path)
    assert r.returncode == 0, r.stderr
    version = H.project_version()
    assert version and version in (r.stdout + r.stderr)


def test_help_with_paths_mounts_nothing(linkfs_env, tmp_path, paths):
    r = run_cli(linkfs_env, ['-h', paths['src'], paths['mnt']], tmp_path)
    assert r.returncode == 0
    assert not H.fuse_mounted(paths['mnt'])
