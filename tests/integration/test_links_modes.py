# SPDX-License-Identifier: GPL-2.0-or-later
"""Visibility of the virtual directory (SPEC sections 2 and 4):
-o links=visible|root|hidden, -o links_name=NAME, and a real entry named
like the virtual directory, which wins with a warning."""

import os
import subprocess

import linkfs_helpers as H
import links_oracle as O
from links_oracle import b, join

SPEC = {'f': b'f', 'd/g': ('link', 'f'), 'd/e/h': ('link', 'f'),
        'd/e/dl': ('symlink', 'nothing'), 'x/y/z': None}
DIRS = [b'', b'd', b'd/e', b'x', b'x/y', b'x/y/z']
SHOWN = [b'', b'd', b'd/e']     # the directories whose page has something


def _mount(linkfs, *opts, spec=SPEC):
    m = linkfs(*opts, populate=lambda s: H.make_tree(s, spec))
    return m


def _find(m, *extra):
    r = subprocess.run(['find', b(m.mnt)] + list(extra) + ['-print0'],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return [p for p in r.stdout.split(b'\0') if p]


def _explicit_access_works(m, name=b'.links'):
    R = b(m.mnt)
    for d in DIRS:
        L = join(R, d, name)
        assert {b'dangling', b'siblings'} <= set(os.listdir(L)), L
        r = subprocess.run(['sh', '-c', 'cd "$1" && ls', 'sh', L],
                           capture_output=True, timeout=30)
        assert r.returncode == 0, (L, r.stderr)
        assert b'siblings' in r.stdout.split(b'\n')
    assert os.listdir(join(R, name, b'inodes'))
    assert os.listdir(join(R, b'd/e', name, b'dangling')) == [b'dl']


def _listed_where_links_are(m, name=b'.links'):
    R = b(m.mnt)
    for d in DIRS:
        names = os.listdir(join(R, d))
        assert (name in names) == (d in SHOWN), (d, names)
        if name in names:   # after the real entries
            assert names[-1] == name, (d, names)
    # find does not follow D/.links: it sees one symlink per such directory
    found = _find(m, '-name', name, '-prune')
    assert sorted(found) == sorted(join(R, d, name) for d in SHOWN)
    links = _find(m, '-name', name, '-type', 'l')
    assert sorted(links) == sorted(join(R, d, name) for d in SHOWN if d)


def test_visible_by_default_listed_where_links_are(linkfs):
    m = _mount(linkfs)
    O.wait_ready(m)
    _listed_where_links_are(m)
    _explicit_access_works(m)


def test_links_visible_explicit(linkfs):
    m = _mount(linkfs, '-o', 'links=visible')
    O.wait_ready(m)
    _listed_where_links_are(m)


def test_links_hidden(linkfs):
    m = _mount(linkfs, '-o', 'links=hidden')
    R = b(m.mnt)
    for d in DIRS:
        assert b'.links' not in os.listdir(join(R, d)), d
        with os.scandir(join(R, d)) as it:
            assert '.links' not in [e.name for e in it]
    assert not [p for p in _find(m) if b'.links' in p]
    r = H.run(['ls', '-laR', str(m.mnt)])
    assert '.links' not in r.stdout
    _explicit_access_works(m)
    # the listings inside still show everything
    O.wait_ready(m)
    O.check_everything(m)


def test_links_root(linkfs):
    m = _mount(linkfs, '-o', 'links=root')
    R = b(m.mnt)
    assert b'.links' in os.listdir(R)
    for d in DIRS[1:]:
        assert b'.links' not in os.listdir(join(R, d)), d
    found = [p for p in _find(m, '-name', '.links', '-prune')]
    assert found == [join(R, b'.links')]
    _explicit_access_works(m)
    O.wait_ready(m)
    O.check_everything(m)


def test_links_name_option(linkfs, monkeypatch):
    m = _mount(linkfs, '-o', 'links_name=@links')
    monkeypatch.setattr(H, 'LINKS_NAME', '@links')
    O.wait_ready(m)
    R = b(m.mnt)
    _listed_where_links_are(m, b'@links')
    for d in DIRS:
        assert b'.links' not in os.listdir(join(R, d)), d
        assert H.errno_of(os.lstat, join(R, d, b'.links')) == 2
        if d:
            assert os.readlink(join(R, d, b'@links')).endswith(
                b'@links/dirs/%d' % os.lstat(join(R, d)).st_ino)
    _explicit_access_works(m, b'@links')
    monkeypatch.setattr(H, 'LINKS_NAME', '@links')
    O.wait_ready(m)
    O.check_everything(m)


def test_links_name_with_hidden_mode(linkfs):
    m = _mount(linkfs, '-o', 'links_name=_lnk,links=hidden')
    assert not [p for p in _find(m) if b'_lnk' in p]
    _explicit_access_works(m, b'_lnk')


def test_real_entry_named_links_wins_with_warning(linkfs):
    spec = dict(SPEC)
    spec.update({'d/.links/mine.txt': b'real content',
                 'd/.links/sub/deeper': b'deeper',
                 'x/.links': b'a real file named .links'})
    m = _mount(linkfs, spec=spec)
    O.wait_ready(m)
    R = b(m.mnt)
    # a real directory of the view: it has its own virtual .links inside
    # (not listed: nothing there has links)
    assert sorted(os.listdir(join(R, b'd/.links'))) == [b'mine.txt', b'sub']
    assert sorted(os.listdir(join(R, b'd/.links/.links'))) == [
        b'dangling', b'pointed-by', b'siblings']
    with open(join(R, b'd/.links/mine.txt'), 'rb') as f:
        assert f.read() == b'real content'
    with open(join(R, b'x/.links'), 'rb') as f:
        assert f.read() == b'a real file named .links'
    # the real one is an ordinary directory: writable, and in the index
    with open(join(R, b'd/.links/new'), 'wb') as f:
        f.write(b'n')
    assert (m.src / 'd' / '.links' / 'new').read_bytes() == b'n'
    os.link(join(R, b'f'), join(R, b'd/.links/f-link'))
    # elsewhere the virtual directory is still there
    assert os.listdir(join(R, b'd/e/.links/dangling')) == [b'dl']
    O.wait_ready(m)
    ino = b'%d' % os.lstat(join(R, b'f')).st_ino
    inode_names = os.listdir(join(R, b'.links/inodes', ino))
    assert O.flat(b'd/.links/f-link') in inode_names
    found = H.wait_until(lambda: 'd/.links' in m.stderr_text() and
                         'x/.links' in m.stderr_text(), 10)
    assert found, 'no warning naming d/.links and x/.links:\n' + \
        m.stderr_text()
    # with another name both are visible
    m2 = linkfs('-o', 'links_name=@links', src=m.src)
    R2 = b(m2.mnt)
    assert sorted(os.listdir(join(R2, b'd/.links'))) == [b'@links', b'f-link',
                                                         b'mine.txt', b'new',
                                                         b'sub']
    assert sorted(os.listdir(join(R2, b'd/@links'))) == [
        b'dangling', b'pointed-by', b'siblings']
    sib = os.listdir(join(R2, b'd/.links/@links/siblings'))
    assert sib == [b'f-link']
