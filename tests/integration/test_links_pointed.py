# SPDX-License-Identifier: GPL-2.0-or-later
"""Who points here (issue 13, SPEC 2 and 3): for every entry, the symlinks
of the view that resolve to it or follow it on the way, against an oracle
that follows each symlink in the source itself (links_oracle.follow_symlink,
checked against os.path.realpath): `pointed_at` in status, `dangling/`
agreeing with it, and the `pointed-by/` pages where the view lists them.
Absolute targets naming SOURCE or MOUNTPOINT by their absolute paths
resolve; every change through the view updates the map before the call
returns, and with -o watch the changes made in SOURCE do too."""

import os
import shutil
import time

import pytest

import linkfs_helpers as H
import links_oracle as O

MECHS = ['fanotify', 'inotify']
SETTLE = 3.0


def _mount(linkfs, tmp_path, *opts, seed=1, odd=True):
    """A mktree tree with every kind of symlink (chains, relative and
    absolute, through symlinked directories, loops, out of the tree), plus
    symlinks through MOUNTPOINT's and SOURCE's absolute paths."""
    mnt = tmp_path / ('mnt-%d' % seed)
    out = tmp_path / ('out-%d' % seed)

    def populate(s):
        args = ['--more-kinds', '--outside', out]
        if odd:
            args.append('--odd-names')
        O.mktree(s, *args, files=300, dirs=25, symlinks=120, dangling=30,
                 seed=seed)
        H.make_tree(s, {'pt/f': 'f', 'pt/sub/g': 'g',
                        'pt/lib': ('symlink', 'sub'),
                        'pt/a': ('symlink', 'b'), 'pt/b': ('symlink', 'f'),
                        'pt/via': ('symlink', 'lib/g'),
                        'pt/up': ('symlink', '../../' + out.name)})
        os.symlink(str(mnt / 'pt' / 'f'), s / 'pt' / 'abs-mnt')
        os.symlink(str(mnt / 'pt' / 'lib' / 'g'), s / 'pt' / 'abs-mnt-lib')
        os.symlink(str(s / 'pt' / 'sub' / 'g'), s / 'pt' / 'abs-src')
        os.symlink(str(mnt / 'pt' / 'none'), s / 'pt' / 'abs-mnt-gone')
    m = linkfs(*opts, mnt=mnt, populate=populate)
    O.wait_ready(m)
    return m


def _oracle(m):
    return O.Oracle(m.src, m.mnt)


def _check(m, what):
    return O.check_everything(m, O.Oracle(m.src, m.mnt), what=what)


def _rm_r(top):
    """rm -r through the view, leaving the virtual .links alone."""
    for n in os.listdir(top):
        p = os.path.join(top, n)
        if n == H.LINKS_NAME:
            continue
        if os.path.isdir(p) and not os.path.islink(p):
            _rm_r(p)
        else:
            os.unlink(p)
    os.rmdir(top)


def _dangling(m):
    return sorted(os.listdir(os.path.join(str(m.mnt), '.links',
                                          'all-dangling')))


@pytest.mark.parametrize('seed', [1, 2])
def test_map_matches_oracle(linkfs, tmp_path, seed):
    m = _mount(linkfs, tmp_path, seed=seed)
    o = _check(m, 'after the scan')
    pt = lambda n: b'pt/' + n  # noqa: E731
    assert o.pointed[pt(b'f')] == {pt(b'a'), pt(b'b'), pt(b'abs-mnt')}
    assert o.pointed[pt(b'b')] == {pt(b'a')}
    assert o.pointed[pt(b'lib')] == {pt(b'via'), pt(b'abs-mnt-lib')}
    assert o.pointed[pt(b'sub/g')] == {pt(b'via'), pt(b'abs-mnt-lib'),
                                       pt(b'abs-src')}
    assert pt(b'up') not in set().union(*o.pointed.values())
    assert o.dangling and o.loops
    # absolute targets through SOURCE and MOUNTPOINT do not dangle, and cat
    # follows them to the same file
    d = _dangling(m)
    assert 'pt\u2215abs-mnt-gone' in d
    for n in ('abs-mnt', 'abs-mnt-lib', 'abs-src'):
        assert 'pt\u2215' + n not in d
        assert m.v('pt', n).read_bytes() in (b'f', b'g')
    assert O.status(m)['pointed_at'] == str(len(o.pointed))
    m.unmount()


def test_rm_moves_its_pointers_into_dangling_in_the_same_call(linkfs,
                                                               tmp_path):
    m = _mount(linkfs, tmp_path, odd=False)
    o = _oracle(m)
    for rel in sorted(o.pointed, key=lambda r: -len(o.pointed[r]))[:3] + [
            b'pt/f']:
        o = _oracle(m)
        if rel not in o.pointed or os.path.isdir(O.join(O.b(m.src), rel)):
            continue
        before = set(_dangling(m))
        ptrs = set(O.flat(p).decode('utf-8', 'surrogateescape')
                   for p in o.pointed[rel])
        os.unlink(O.join(O.b(m.mnt), rel))
        after = set(_dangling(m))   # no waiting: the unlink has returned
        assert after == before | ptrs, (rel, after ^ (before | ptrs))
        _check(m, 'after rm %r' % rel)
    m.unmount()


def test_changes_through_the_view(linkfs, tmp_path):
    m = _mount(linkfs, tmp_path, odd=False)
    v = lambda *p: os.path.join(str(m.mnt), 'pt', *p)  # noqa: E731
    steps = [
        ('rm the target', lambda: os.unlink(v('f'))),
        ('make it again', lambda: open(v('f'), 'w').close()),
        ('mv the target', lambda: os.rename(v('f'), v('f2'))),
        ('replace it', lambda: os.rename(v('f2'), v('f'))),
        ('mv a dir on the way', lambda: os.rename(v('sub'), v('sub2'))),
        ('change the symlink', lambda: (os.unlink(v('lib')),
                                        os.symlink('sub2', v('lib')))),
        ('mv the dir back', lambda: os.rename(v('sub2'), v('sub'))),
        ('ln -sfn', lambda: (os.symlink('sub', v('lib.new')),
                             os.rename(v('lib.new'), v('lib')))),
        ('a new chain link', lambda: os.symlink('a', v('c'))),
        ('mv the directory holding them all',
         lambda: os.rename(v(), os.path.join(str(m.mnt), 'pt2'))),
        ('rm -r it', lambda: _rm_r(os.path.join(str(m.mnt), 'pt2'))),
    ]
    for what, step in steps:
        gen = int(O.status(m)['generation'])
        step()
        st = O.status(m)
        assert int(st['generation']) > gen, what
        _check(m, what)   # no waiting: each call has returned
    m.unmount()


def test_mountpoint_path_never_entered(linkfs, tmp_path):
    """ln -s "$PWD/f" made in the view: resolved as SOURCE's f, the daemon
    never looking into its own mount (-s: one thread, it would hang)."""
    m = linkfs('-s', populate=lambda s: H.make_tree(s, {'d/f': 'F'}))
    O.wait_ready(m)
    os.symlink(str(m.mnt / 'd' / 'f'), m.mnt / 'abs')
    os.symlink(str(m.mnt / 'd'), m.mnt / 'absdir')
    os.symlink(str(m.mnt / 'absdir' / 'f'), m.mnt / 'chain')
    assert (m.mnt / 'chain').read_text() == 'F'
    o = _check(m, 'links made with $PWD')
    assert o.pointed == {b'd/f': {b'abs', b'chain'}, b'd': {b'absdir'},
                         b'absdir': {b'chain'}}
    assert O.status(m)['dangling'] == '0'
    m.unmount()


@pytest.mark.parametrize('mech', MECHS)
def test_watch_follows_source_changes(linkfs, tmp_path, mech):
    m = _mount(linkfs, tmp_path, '-o', 'watch=' + mech, odd=False)
    s = lambda *p: os.path.join(str(m.src), 'pt', *p)  # noqa: E731
    steps = [
        ('rm the target', lambda: os.unlink(s('f'))),
        ('make it again', lambda: open(s('f'), 'w').close()),
        ('mv a dir on the way', lambda: os.rename(s('sub'), s('sub2'))),
        ('change the symlink', lambda: (os.unlink(s('lib')),
                                        os.symlink('sub2', s('lib')))),
        ('a new chain link', lambda: os.symlink('a', s('c'))),
        ('mv the directory holding them all',
         lambda: os.rename(s(), os.path.join(str(m.src), 'pt2'))),
        ('rm -r it', lambda: shutil.rmtree(os.path.join(str(m.src), 'pt2'))),
    ]
    for what, step in steps:
        step()
        end = time.monotonic() + SETTLE
        while True:
            O.wait_ready(m)
            try:
                _check(m, what)
                break
            except AssertionError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.05)
    m.unmount()
