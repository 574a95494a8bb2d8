# SPDX-License-Identifier: GPL-2.0-or-later
"""The kernel caches virtual entries (as it caches real ones), and a change
made through the view drops every entry it makes stale before the call
returns: a path looked up just before the change is looked up again, with
no sleep in between.  With allow_other only .links and the directories in
it are cached as entries (what a listing shows depends on the caller);
the other virtual entries are looked up on every walk, their attributes
cached."""

import errno
import os
import re

import pytest

import linkfs_helpers as H
import links_oracle as O
from links_oracle import b, join


def mount_small(linkfs, spec, *opts):
    m = linkfs(*opts, populate=lambda s: H.make_tree(s, spec))
    O.wait_ready(m)
    return m


def warm(*paths):
    """Look each path up (lstat) and list its directory (readdirplus), so
    the kernel holds the entries."""
    for p in paths:
        os.lstat(p)
        os.listdir(os.path.dirname(p))
        os.lstat(p)


def gone(p):
    return H.errno_of(os.lstat, p) == errno.ENOENT


def test_unlinked_sibling_is_gone_at_once(linkfs):
    m = mount_small(linkfs, {'a': b'a', 'd/x': b'x'})
    R, L = b(m.mnt), O.lnk(m)
    os.link(join(R, b'a'), join(R, b'b'))
    ino = os.lstat(join(R, b'a')).st_ino
    sib = join(L, b'siblings', b'a', b'b')
    inodir = join(L, b'inodes', b'%d' % ino)
    warm(sib, join(L, b'siblings', b'a'), join(inodir, b'b'))
    os.unlink(join(R, b'b'))
    assert gone(sib)
    assert gone(join(L, b'siblings', b'a'))
    assert gone(join(L, b'siblings', b'b'))
    assert gone(join(inodir, b'b'))
    assert gone(inodir)
    O.check_everything(m)


def test_healed_symlink_leaves_dangling_at_once(linkfs):
    m = mount_small(linkfs, {'s': ('symlink', 't'), 'd/u': ('symlink', '../t')})
    R, L = b(m.mnt), O.lnk(m)
    dang = join(L, b'dangling', b's')
    alld = join(L, b'all-dangling', O.flat(b'd/u'))
    warm(dang, alld, join(O.lnk(m, b'd'), b'dangling', b'u'))
    with open(join(R, b't'), 'wb') as f:
        f.write(b'now here')
    assert gone(dang)
    assert gone(alld)
    assert gone(join(O.lnk(m, b'd'), b'dangling', b'u'))
    os.unlink(join(R, b't'))
    assert os.readlink(dang) == b'../../s'
    O.check_everything(m)


def test_renamed_directory_drops_old_names_at_once(linkfs):
    m = mount_small(linkfs, {'y': b'y', 'd/x': b'x'})
    R, L = b(m.mnt), O.lnk(m)
    os.link(join(R, b'y'), join(R, b'd/x2'))
    old = join(L, b'siblings', b'y', O.flat(b'd/x2'))
    warm(old)
    os.rename(join(R, b'd'), join(R, b'e'))
    assert gone(old)
    new = join(L, b'siblings', b'y', O.flat(b'e/x2'))
    assert os.path.realpath(new) == os.path.realpath(join(R, b'e/x2'))
    O.check_everything(m)


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to chown')
@pytest.mark.parametrize('opts', [(), ('-o', 'allow_other')])
def test_chown_shows_on_virtual_entries_at_once(linkfs, opts):
    m = mount_small(linkfs, {'a': b'a'}, *opts)
    R, L = b(m.mnt), O.lnk(m)
    os.link(join(R, b'a'), join(R, b'b'))
    ino = os.lstat(join(R, b'a')).st_ino
    sibdir = join(L, b'siblings', b'a')
    inodir = join(L, b'inodes', b'%d' % ino)
    warm(sibdir, inodir)
    assert os.lstat(sibdir).st_uid == os.getuid()
    os.chown(join(R, b'a'), 4321, 4322)
    for p in (sibdir, inodir, join(L, b'siblings', b'b')):
        st = os.lstat(p)
        assert (st.st_uid, st.st_gid) == (4321, 4322), p


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to chown')
@pytest.mark.parametrize('opts', [(), ('-o', 'allow_other')])
def test_owner_of_directory_shows_on_its_links_at_once(linkfs, opts):
    m = mount_small(linkfs, {'d/a': b'a', 'd/s': ('symlink', 'nowhere')},
                    *opts)
    R = b(m.mnt)
    L = O.lnk(m, b'd')
    warm(join(L, b'siblings'), join(L, b'dangling'))
    os.chown(join(R, b'd'), 777, 778)
    for p in (join(L, b'siblings'), join(L, b'dangling')):
        st = os.lstat(p)
        assert (st.st_uid, st.st_gid) == (777, 778), p


def count_lookups(m, ops='LOOKUP|GETATTR'):
    return len(re.findall(r'opcode: (%s) ' % ops, m.stderr_text()))


def lookups_for_stats(m, path, n=50):
    """FUSE LOOKUP and GETATTR requests the daemon saw for n lstat calls."""
    os.lstat(path)
    before = count_lookups(m)
    for _ in range(n):
        os.lstat(path)
    return count_lookups(m) - before


def test_virtual_entries_are_cached(linkfs):
    m = mount_small(linkfs, {'a': b'a'}, '-d')
    R, L = b(m.mnt), O.lnk(m)
    os.link(join(R, b'a'), join(R, b'b'))
    assert lookups_for_stats(m, join(L, b'siblings', b'a', b'b')) < 10
    # A real entry, for comparison: cached the same way.
    assert lookups_for_stats(m, join(R, b'a')) < 10


@pytest.mark.parametrize('opt', ['allow_other', 'cache=never'])
def test_virtual_entries_not_cached_with(linkfs, opt):
    if opt == 'allow_other' and H.allow_other_problem():
        pytest.skip(H.allow_other_problem())
    m = mount_small(linkfs, {'a': b'a'}, '-d', '-o', opt)
    R, L = b(m.mnt), O.lnk(m)
    os.link(join(R, b'a'), join(R, b'b'))
    # Each lstat walks .links/siblings/a/b: one request or more per call.
    assert lookups_for_stats(m, join(L, b'siblings', b'a', b'b')) >= 50


def test_allow_other_caches_attributes_and_fixed_entries(linkfs):
    """With allow_other, siblings/a and siblings/a/b are looked up again on
    every path walk (whether they exist depends on the caller), but their
    attributes are cached (a file manager stats and access()es each entry
    several times), and so are .links and siblings, which every caller
    has."""
    m = mount_small(linkfs, {'a': b'a'}, '-d', '-o', 'allow_other')
    R, L = b(m.mnt), O.lnk(m)
    os.link(join(R, b'a'), join(R, b'b'))
    path = join(L, b'siblings', b'a', b'b')
    n = 50
    os.lstat(path)
    lookups, getattrs = count_lookups(m, 'LOOKUP'), count_lookups(m, 'GETATTR')
    for _ in range(n):
        os.lstat(path)
        os.access(path, os.R_OK, follow_symlinks=False)
    lookups = count_lookups(m, 'LOOKUP') - lookups
    getattrs = count_lookups(m, 'GETATTR') - getattrs
    # two walks per round, each looking up a and b (not .links, siblings)
    assert 4 * n <= lookups < 5 * n, lookups
    assert getattrs < 10, getattrs
