# SPDX-License-Identifier: GPL-2.0-or-later
"""The view as file managers see it: through GLib's GIO (Nautilus, Thunar
and PCManFM all use it), driven with the `gio` tool of libglib2.0-bin.

Headless: GIO_USE_VFS=local makes GIO use its local-file code only (the one
file managers use for file:// paths; no gvfs, no D-Bus, no display).  HOME
and XDG_DATA_HOME point into the test's directory, so that the home trash is
the test's own.

Oracles: the SPEC (virtual entries are symlinks whose targets are relative
paths to the real entries; every change inside `.links` fails with EROFS),
the source itself (inode numbers, sizes, contents) and the freedesktop.org
Trash specification (a file on the home's filesystem goes to
$XDG_DATA_HOME/Trash, one on another mount to $topdir/.Trash-$uid, with an
info file whose Path is absolute for the home trash and relative to $topdir
for a topdir trash)."""

import errno
import os
import shutil
import subprocess
import urllib.parse

import pytest

import linkfs_helpers as H
import links_oracle as O

GIO = shutil.which('gio')
EROFS_TEXT = os.strerror(errno.EROFS)


@pytest.fixture(scope='module', autouse=True)
def need_gio():
    if GIO is None:
        pytest.fail('gio not found: install libglib2.0-bin (tools/test does)',
                    pytrace=False)


def gio_env(home):
    env = {k: v for k, v in os.environ.items()
           if k not in ('DISPLAY', 'WAYLAND_DISPLAY',
                        'DBUS_SESSION_BUS_ADDRESS', 'XDG_RUNTIME_DIR')}
    env.update(GIO_USE_VFS='local', LC_ALL='C.UTF-8', LANGUAGE='C',
               HOME=str(home), XDG_DATA_HOME=str(home / '.local' / 'share'))
    return env


@pytest.fixture
def gio(tmp_path):
    home = tmp_path / 'home'
    home.mkdir()

    def run(*args, check=True):
        r = subprocess.run([GIO] + [os.fsdecode(a) for a in args],
                           capture_output=True, text=True, timeout=60,
                           env=gio_env(home))
        if check and r.returncode != 0:
            raise AssertionError('gio %s failed (%d): %s' % (
                ' '.join(map(os.fsdecode, args)), r.returncode, r.stderr))
        return r
    run.home = home
    return run


def parse_list(text):
    """`gio list -a ...` lines: name -> {'size', 'type', attr: value}."""
    out = {}
    for line in text.splitlines():
        name, size, typ, *rest = line.split('\t')
        entry = {'size': int(size), 'type': typ.strip('()')}
        for field in ' '.join(rest).split(' '):
            if '=' in field:
                k, v = field.split('=', 1)
                entry[k] = v
        out[name] = entry
    return out


def parse_info(text):
    """`gio info` output: attribute -> value (strings)."""
    out = {}
    in_attrs = False
    for line in text.splitlines():
        if line == 'attributes:':
            in_attrs = True
        elif in_attrs and line.startswith('  ') and ': ' in line:
            k, v = line.strip().split(': ', 1)
            out[k] = v
        elif not line.startswith(' '):
            in_attrs = False
            if ': ' in line:
                k, v = line.split(': ', 1)
                out['.' + k] = v
    return out


ATTRS = 'standard::type,standard::is-symlink,standard::symlink-target'


def _pop(s):
    H.make_tree(s, {
        'photos/2024/sunset.jpg': b'JPEG sunset',
        'photos/best/sunset.jpg': ('link', 'photos/2024/sunset.jpg'),
        'backup/sunset.jpg': ('link', 'photos/2024/sunset.jpg'),
        '.profile': b'PATH=x',
        'photos/2024/profile-copy': ('link', '.profile'),
        'photos/2024/latest': ('symlink', 'sunset.jpg'),
        'photos/2024/old': ('symlink', '../2023/cat.jpg'),
        'photos/2024/notes.txt': b'notes',
        'photos/2024/.hidden-gone': ('symlink', 'nothing-here'),
    })


@pytest.fixture
def view(linkfs):
    m = linkfs(populate=_pop)
    O.wait_ready(m)
    return m


def rel_target(m, vdir, real_rel):
    """The SPEC's target: a relative path from the virtual directory vdir
    (bytes, absolute in the view) to the real entry real_rel of the view."""
    return os.path.relpath(os.path.join(os.fsdecode(m.mnt), real_rel),
                           os.path.realpath(os.fsdecode(vdir)))


def test_list_siblings_entries_are_symlinks_to_the_siblings(view, gio):
    d = os.fsdecode(O.join(O.lnk(view, b'photos/2024'), b'siblings',
                           b'sunset.jpg'))
    o = O.Oracle(view.src)
    others = o.siblings_of_dir(b'photos/2024')[b'sunset.jpg'][1]
    nofollow = parse_list(gio('list', '-n', '-a', ATTRS, d).stdout)
    follow = parse_list(gio('list', '-a', ATTRS, d).stdout)
    expected = {os.fsdecode(O.flat(p)): rel_target(view, d, os.fsdecode(p))
                for p in others}
    assert sorted(nofollow) == sorted(expected)
    size = os.lstat(view.s('photos/2024/sunset.jpg')).st_size
    for name, target in expected.items():
        assert nofollow[name]['type'] == 'symlink', nofollow[name]
        assert nofollow[name]['standard::symlink-target'] == target
        assert nofollow[name]['size'] == len(target.encode())
        # followed: the sibling itself, a regular file flagged as a symlink
        assert follow[name]['type'] == 'regular', follow[name]
        assert follow[name]['standard::is-symlink'] == 'TRUE'
        assert follow[name]['standard::symlink-target'] == target
        assert follow[name]['size'] == size


def test_list_siblings_directory_and_links_dir_types(view, gio):
    links = os.fsdecode(O.lnk(view, b'photos/2024'))
    top = parse_list(gio('list', '-h', '-n', '-a', ATTRS, links).stdout)
    assert {n: e['type'] for n, e in top.items()} == {
        'siblings': 'directory', 'dangling': 'directory',
        'pointed-by': 'directory'}
    sib = parse_list(gio('list', '-n', '-a', ATTRS, links + '/siblings').stdout)
    o = O.Oracle(view.src)
    names = sorted(os.fsdecode(n) for n in o.siblings_of_dir(b'photos/2024'))
    assert sorted(sib) == names == ['profile-copy', 'sunset.jpg']
    for e in sib.values():
        assert e['type'] == 'directory'
        assert 'standard::is-symlink' not in e


def test_list_dangling_entries_are_symlinks_to_the_symlinks(view, gio):
    d = os.fsdecode(O.join(O.lnk(view, b'photos/2024'), b'dangling'))
    o = O.Oracle(view.src)
    want = [os.fsdecode(n) for n in o.dangling_of_dir(b'photos/2024')]
    # is-hidden as GIO decides it: .hidden-gone is listed only with -h
    shown = parse_list(gio('list', '-n', '-a', ATTRS, d).stdout)
    everything = parse_list(gio('list', '-h', '-n', '-a', ATTRS, d).stdout)
    assert sorted(everything) == sorted(want) == ['.hidden-gone', 'old']
    assert sorted(shown) == ['old']
    for follow in (False, True):
        got = parse_list(gio('list', '-h', *(() if follow else ('-n',)),
                             '-a', ATTRS, d).stdout)
        for name in want:
            # following a dangling chain fails: GIO shows the link itself
            assert got[name]['type'] == 'symlink', (follow, got[name])
            assert got[name]['standard::symlink-target'] == \
                rel_target(view, d, 'photos/2024/' + name)


def test_is_hidden_follows_dot_names(view, gio):
    """GIO hides names starting with a dot: `.links` itself, and the FLAT
    of a root entry named .profile; nothing else of .links is hidden."""
    assert H.LINKS_NAME.startswith('.')
    info = parse_info(gio('info', '-a', 'standard::is-hidden',
                          os.fsdecode(O.lnk(view))).stdout)
    assert info.get('standard::is-hidden') == 'TRUE'
    root = parse_list(gio('list', '-a', 'standard::type',
                          os.fsdecode(view.mnt)).stdout)
    assert H.LINKS_NAME not in root and 'photos' in root
    root_h = parse_list(gio('list', '-h', '-a', 'standard::type',
                            os.fsdecode(view.mnt)).stdout)
    assert H.LINKS_NAME in root_h
    sib = os.fsdecode(O.join(O.lnk(view, b'photos/2024'), b'siblings'))
    entries = [os.path.join(sib, n, f) for n in os.listdir(sib)
               for f in os.listdir(os.path.join(sib, n))]
    assert sib + '/profile-copy/.profile' in entries
    for path in entries:
        info = parse_info(gio('info', '-n', '-a', 'standard::is-hidden',
                              path).stdout)
        hidden = info.get('standard::is-hidden', 'FALSE') == 'TRUE'
        assert hidden == os.path.basename(path).startswith('.'), (path, info)


def test_info_follows_sibling_to_the_real_file(view, gio):
    link = os.fsdecode(O.join(O.lnk(view, b'photos/2024'), b'siblings',
                              b'sunset.jpg', O.flat(b'backup/sunset.jpg')))
    st = os.lstat(view.s('backup/sunset.jpg'))
    info = parse_info(gio('info', '-a', 'standard::type,standard::size,'
                          'unix::inode,unix::nlink', link).stdout)
    assert info['standard::type'] == '1'            # G_FILE_TYPE_REGULAR
    assert int(info['unix::inode']) == st.st_ino
    assert int(info['standard::size']) == st.st_size
    assert int(info['unix::nlink']) == st.st_nlink == 3
    # without following: the virtual symlink, with an inode of its own
    nf = parse_info(gio('info', '-n', '-a', 'standard::type,unix::inode',
                        link).stdout)
    assert nf['standard::type'] == '3'              # G_FILE_TYPE_SYMBOLIC_LINK
    assert int(nf['unix::inode']) == os.lstat(link).st_ino != st.st_ino


def test_info_of_inodes_and_all_dangling_entries(view, gio):
    ino = os.lstat(view.s('backup/sunset.jpg')).st_ino
    d = os.fsdecode(O.join(O.lnk(view), b'inodes', b'%d' % ino))
    for rel in ('backup/sunset.jpg', 'photos/best/sunset.jpg'):
        info = parse_info(gio('info', '-a', 'unix::inode,standard::symlink-target',
                              d + '/' + os.fsdecode(O.flat(rel))).stdout)
        assert int(info['unix::inode']) == ino
        assert info['standard::symlink-target'] == rel_target(view, d, rel)
    ad = os.fsdecode(O.join(O.lnk(view), b'all-dangling'))
    got = parse_list(gio('list', '-h', '-n', '-a', ATTRS, ad).stdout)
    want = {os.fsdecode(O.flat(p)): rel_target(view, ad, os.fsdecode(p))
            for p in O.Oracle(view.src).dangling}
    assert {n: e['standard::symlink-target'] for n, e in got.items()} == want


def test_copy_out_of_links_copies_the_sibling(view, gio, tmp_path):
    link = os.fsdecode(O.join(O.lnk(view, b'photos/2024'), b'siblings',
                              b'sunset.jpg', O.flat(b'photos/best/sunset.jpg')))
    dest = tmp_path / 'copied.jpg'
    gio('copy', link, str(dest))
    assert not dest.is_symlink()
    assert dest.read_bytes() == view.s('photos/best/sunset.jpg').read_bytes()
    # -P copies the symlink itself: same relative target
    dest2 = tmp_path / 'copied-link'
    gio('copy', '-P', link, str(dest2))
    assert os.readlink(dest2) == os.readlink(link)


@pytest.mark.parametrize('where', ['siblings/sunset.jpg', 'dangling',
                                   'siblings', ''])
def test_copy_into_links_fails_read_only(view, gio, tmp_path, where):
    newfile = tmp_path / 'new.txt'
    newfile.write_bytes(b'new')
    target = os.path.join(os.fsdecode(O.lnk(view, b'photos/2024')), where)
    before = O.fingerprint(view.src)
    r = gio('copy', str(newfile), target + '/', check=False)
    assert r.returncode != 0
    assert EROFS_TEXT in r.stderr, r.stderr
    assert not os.path.lexists(os.path.join(target, 'new.txt'))
    assert O.fingerprint(view.src) == before


def _links_entries(m):
    L, Ld = O.lnk(m), O.lnk(m, b'photos/2024')
    ino = b'%d' % os.lstat(m.s('backup/sunset.jpg')).st_ino
    return {
        'siblings-link': O.join(Ld, b'siblings', b'sunset.jpg',
                                O.flat(b'backup/sunset.jpg')),
        'siblings-name': O.join(Ld, b'siblings', b'sunset.jpg'),
        'dangling-link': O.join(Ld, b'dangling', b'old'),
        'links-dir': Ld,
        'page-dir': O.page(m, b'photos/2024'),
        'inodes-link': O.join(L, b'inodes', ino, O.flat(b'backup/sunset.jpg')),
        'all-dangling-link': O.join(L, b'all-dangling',
                                    O.flat(b'photos/2024/old')),
        'status': O.join(L, b'status'),
    }


def _without_trash(fp, uid):
    """fp without the trash directory GIO may make at the top of the view,
    nor the root's own times (which its creation changes)."""
    t = ('/.Trash-%d' % uid).encode()
    return {k: v for k, v in fp.items()
            if k not in (b'', b'/') and k != t and not k.startswith(t + b'/')}


def _assert_trash_empty(src, uid):
    t = src / ('.Trash-%d' % uid)
    if t.exists():
        assert sorted(os.listdir(t)) == ['files', 'info']
        assert os.listdir(t / 'files') == [] and os.listdir(t / 'info') == []


KINDS = sorted(['siblings-link', 'siblings-name', 'dangling-link',
                'links-dir', 'page-dir', 'inodes-link', 'all-dangling-link',
                'status'])


@pytest.mark.parametrize('kind', KINDS)
def test_trash_in_links_fails_and_changes_nothing(view, gio, kind):
    """GIO makes $topdir/.Trash-$uid before it tries the rename, so a first
    trash attempt leaves that (empty) directory in the source, as it would
    on any mount; apart from it nothing changes."""
    path = _links_entries(view)[kind]
    uid = os.getuid()
    before = O.fingerprint(view.src)
    r = gio('trash', path, check=False)
    assert r.returncode != 0
    assert EROFS_TEXT in r.stderr, r.stderr
    assert os.path.lexists(path)
    _assert_trash_empty(view.src, uid)
    assert _without_trash(O.fingerprint(view.src), uid) == \
        _without_trash(before, uid)
    # once the trash directory exists, a second attempt changes nothing
    # but the times of .Trash-UID/info (GIO writes, then removes, an info
    # file there)
    os.makedirs(view.s('.Trash-%d' % uid, 'files'), exist_ok=True)
    os.makedirs(view.s('.Trash-%d' % uid, 'info'), exist_ok=True)
    before = O.fingerprint(view.src)
    r = gio('trash', path, check=False)
    assert r.returncode != 0 and EROFS_TEXT in r.stderr, r.stderr
    _assert_trash_empty(view.src, uid)
    after = O.fingerprint(view.src)
    info = ('/.Trash-%d/info' % uid).encode()
    assert {k: v for k, v in after.items() if k != info} == \
        {k: v for k, v in before.items() if k != info}


@pytest.mark.parametrize('kind', KINDS)
def test_remove_in_links_fails_and_changes_nothing(view, gio, kind):
    """Removing D/.links succeeds and changes nothing; everything else
    inside .links fails with EROFS."""
    path = _links_entries(view)[kind]
    before = O.fingerprint(view.src)
    r = gio('remove', path, check=False)
    if kind == 'links-dir':
        assert r.returncode == 0, r.stderr
    else:
        assert r.returncode != 0
        assert EROFS_TEXT in r.stderr, r.stderr
    assert os.path.lexists(path)
    assert O.fingerprint(view.src) == before


def test_gio_reports_links_entries_cannot_be_deleted(view, gio):
    """access::can-delete/can-trash/can-rename, which file managers use to
    offer Delete, Move to Trash and Rename, are FALSE inside .links (GIO asks
    access(parent, W_OK), which linkfs answers with EROFS there) and TRUE for
    real files.  `.links` itself sits in a writable real directory, so GIO
    reports TRUE for it: deleting it succeeds and changes nothing, moving it
    to the trash fails with EROFS (tested above)."""
    keys = 'access::can-delete,access::can-trash,access::can-rename'

    def rights(path):
        info = parse_info(gio('info', '-n', '-a', keys, path).stdout)
        return [info[k] for k in keys.split(',')]

    for kind, path in _links_entries(view).items():
        want = ['TRUE'] * 3 if kind == 'links-dir' else ['FALSE'] * 3
        assert rights(path) == want, kind
    assert rights(str(view.v('photos/2024/notes.txt'))) == ['TRUE'] * 3


def _read_trashinfo(p):
    lines = p.read_text().splitlines()
    assert lines[0] == '[Trash Info]'
    kv = dict(line.split('=', 1) for line in lines[1:] if '=' in line)
    return urllib.parse.unquote(kv['Path']), kv['DeletionDate']


def _restore(trash, name, topdir):
    """What a trash-spec restorer (gio trash --restore, trash-cli) does."""
    path, _ = _read_trashinfo(trash / 'info' / (name + '.trashinfo'))
    dest = path if os.path.isabs(path) else os.path.join(topdir, path)
    os.rename(trash / 'files' / name, dest)
    os.unlink(trash / 'info' / (name + '.trashinfo'))
    return dest


def test_trash_real_file_on_source_goes_to_home_trash(view, gio):
    """The control: on the source (the home's filesystem here), GIO uses
    the home trash."""
    src_file = view.s('photos/2024/notes.txt')
    if os.stat(src_file).st_dev != os.stat(gio.home).st_dev:
        pytest.skip('the test directory and its home are not on one filesystem')
    data = src_file.read_bytes()
    gio('trash', str(src_file))
    trash = gio.home / '.local' / 'share' / 'Trash'
    assert not src_file.exists()
    assert (trash / 'files' / 'notes.txt').read_bytes() == data
    path, _ = _read_trashinfo(trash / 'info' / 'notes.txt.trashinfo')
    assert path == str(src_file)
    assert not view.s('.Trash-%d' % os.getuid()).exists()
    assert _restore(trash, 'notes.txt', '/') == str(src_file)
    assert src_file.read_bytes() == data


def test_trash_real_file_through_view_goes_to_top_of_view(view, gio):
    """Through the view (another mount), GIO uses $topdir/.Trash-$uid with
    topdir = the mountpoint: the trash lands in the SOURCE's top directory,
    with a Path relative to it, and restoring it by its info brings it back
    in place.  The index follows: the file's other names list it at its
    place in the trash."""
    uid = os.getuid()
    vfile = view.v('photos/2024/sunset.jpg')
    data = vfile.read_bytes()
    ino = os.lstat(vfile).st_ino
    gio('trash', str(vfile))
    assert not os.path.lexists(vfile)
    trash = view.v('.Trash-%d' % uid)
    assert (trash / 'files' / 'sunset.jpg').read_bytes() == data
    assert os.lstat(trash / 'files' / 'sunset.jpg').st_ino == ino
    path, _ = _read_trashinfo(trash / 'info' / 'sunset.jpg.trashinfo')
    assert path == 'photos/2024/sunset.jpg'
    # the same, seen from the source
    assert view.s('.Trash-%d' % uid, 'files', 'sunset.jpg').read_bytes() == data
    assert not (gio.home / '.local' / 'share' / 'Trash').exists()
    # the sunset's other names now point at its place in the trash
    sib = O.join(O.lnk(view, b'backup'), b'siblings', b'sunset.jpg')
    flats = sorted(os.listdir(sib))
    assert flats == sorted([O.flat(b'.Trash-%d/files/sunset.jpg' % uid),
                            O.flat(b'photos/best/sunset.jpg')])
    # restore from the info file
    dest = _restore(trash, 'sunset.jpg', str(view.mnt))
    assert dest == str(vfile)
    assert vfile.read_bytes() == data and os.lstat(vfile).st_ino == ino
    assert sorted(os.listdir(sib)) == sorted(
        [O.flat(b'photos/2024/sunset.jpg'), O.flat(b'photos/best/sunset.jpg')])

