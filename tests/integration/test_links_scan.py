# SPDX-License-Identifier: GPL-2.0-or-later
"""The background scan (SPEC section 3) on a big generated tree: status says
`state: scanning` while it runs, every other `.links` listing waits for it
and is complete, and changes made through the view while it runs end up
exactly as the oracle says.  LINKFS_SCAN_TREE_FILES sets the tree's size
(default 200000 files); the tree is generated once for this file."""

import os
import random
import warnings

import pytest

import linkfs_helpers as H
import links_oracle as O
from links_oracle import b, join

FILES = int(os.environ.get('LINKFS_SCAN_TREE_FILES', '200000'))


@pytest.fixture(scope='module')
def big_tree(tmp_path_factory):
    """(source path, oracle) of a big tree; the last test changes it."""
    base = tmp_path_factory.mktemp('bigscan')
    src = base / 'src'
    O.mktree(src, '--odd-names', '--link-fraction', '0.02', files=FILES,
             dirs=max(20, FILES // 100), depth=3, seed=31,
             symlinks=max(50, FILES // 100), dangling=max(10, FILES // 1000))
    return src, O.Oracle(src)


def _mount(linkfs, src):
    return linkfs(src=src)


def test_status_scanning_then_listing_waits_for_scan(linkfs, big_tree):
    src, o = big_tree
    m = _mount(linkfs, src)
    first = O.status(m)
    assert first['state'] in ('scanning', 'ready'), first
    assert first['source'] in (os.path.abspath(str(src)),
                               os.path.realpath(str(src)))
    if first['state'] == 'scanning':
        for k in ('entries', 'directories', 'hardlinked_inodes', 'symlinks'):
            assert first[k].isdigit(), first
        assert int(first['entries']) < len(o.real_inodes) + 10
    else:
        warnings.warn('scan of %d files finished before the first status '
                      'read: scanning state not observed' % FILES)
    names = os.listdir(join(O.lnk(m), b'inodes'))
    after = O.status(m)
    assert after['state'] == 'ready', \
        'inodes/ returned while status says %r' % after
    assert sorted(names) == sorted(b'%d' % k[1] for k in o.groups)
    probs = O.Problems()
    O.check_status_counts(m, o, probs, after)
    probs.check('status after the scan')


def test_status_counts_grow_during_scan(linkfs, big_tree):
    src, o = big_tree
    m = _mount(linkfs, src)
    seen = []
    while True:
        st = O.status(m)
        seen.append(st)
        if st['state'] == 'ready' or len(seen) > 100000:
            break
    for k in ('entries', 'directories', 'hardlinked_inodes', 'symlinks',
              'dangling'):
        vals = [int(s[k]) for s in seen]
        if len(set(s['generation'] for s in seen)) == 1:
            assert vals == sorted(vals), (k, vals[:50])
    if len(seen) == 1:
        warnings.warn('scanning state not observed')
    probs = O.Problems()
    O.check_status_counts(m, o, probs, seen[-1])
    probs.check('final status')


def test_listings_during_scan_are_complete(linkfs, big_tree):
    src, o = big_tree
    m = _mount(linkfs, src)
    early = O.status(m)['state']
    probs = O.Problems()
    O.check_all_dangling(m, o, probs)     # waits for the scan, then complete
    d = max(o.dirs, key=lambda x: len(o.siblings_of_dir(x)))
    O.check_dir(m, o, d, probs)
    probs.check('listings read first (state was %s)' % early)


def test_changes_while_scanning_match_oracle(linkfs, big_tree):
    """Runs last: it changes the tree."""
    src, o = big_tree
    rng = random.Random(32)
    groups = sorted(o.groups.items())
    members = [p for _, ps in rng.sample(groups, 60) for p in ps]
    rng.shuffle(members)
    dangl = rng.sample(o.dangling, min(20, len(o.dangling)))
    top_dirs = [d for d in o.dirs if d and b'/' not in d]
    ren_dirs = rng.sample(top_dirs, min(4, len(top_dirs)))
    # late directories in any order of the scan: deep ones
    deep = [d for d in o.dirs if d.count(b'/') >= 2]
    targets = rng.sample(deep, min(30, len(deep)))

    m = _mount(linkfs, src)
    R = b(m.mnt)
    states = [O.status(m)['state']]
    log = []

    def do(fn, *a, **k):
        try:
            fn(*a, **k)
            log.append((fn.__name__, 'OK'))
        except OSError as e:
            log.append((fn.__name__, H.ename(e.errno)))
    # new names for grouped files, and for single files
    for i, p in enumerate(members[:40]):
        do(os.link, join(R, p), join(R, rng.choice(targets), b'scan-ln-%d' % i))
    states.append(O.status(m)['state'])
    # remove names (some groups lose their last other name)
    for p in members[40:80]:
        do(os.unlink, join(R, p))
    # dangling symlinks: heal a few by creating what they miss
    for i, s in enumerate(dangl):
        do(os.symlink, b'scan-missing-%d' % i,
           join(R, O.dirname(s), b'scan-dl-%d' % i))
    for i, d in enumerate(targets[:10]):
        do(os.symlink, b'scan-later-%d' % i, join(R, d, b'scan-heal-%d' % i))
        do(os.mknod, join(R, d, b'scan-later-%d' % i))
    states.append(O.status(m)['state'])
    # rename whole subtrees while the scan may be inside them
    for i, d in enumerate(ren_dirs):
        do(os.rename, join(R, d), join(R, b'scan-renamed-%d' % i))
    states.append(O.status(m)['state'])
    for i, p in enumerate(members[80:100]):
        do(os.rename, join(R, p), join(R, b'scan-moved-%d' % i))
    states.append(O.status(m)['state'])
    assert sum(1 for _, r in log if r == 'OK') > 80, log
    if states[0] != 'scanning':
        warnings.warn('scan finished before the changes started: %r' %
                      states)
    O.wait_ready(m)
    O.check_everything(m, what='after changes during the scan (states %r)' %
                       states)
