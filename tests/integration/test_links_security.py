# SPDX-License-Identifier: GPL-2.0-or-later
"""`.links` reveals nothing a caller could not see with `ls` (SPEC section
5): with -o allow_other, a path is listed to a caller only if the caller may
search every directory on its way and read the directory holding it.  The
daemon runs as root; the other user is switched to with setpriv."""

import json
import os

import pytest

import linkfs_helpers as H
import links_oracle as O

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason='needs root to switch users')

U1 = (1000, 1000)
S = '\u2215'


def _pop(s):
    H.make_tree(s, {
        'pub/file': b'shared',
        'pub/file2': ('link', 'pub/file'),
        'pub/dl': ('symlink', 'missing'),
        'priv/copy': ('link', 'pub/file'),
        'priv/open/x': ('link', 'pub/file'),
        'priv/dl': ('symlink', 'missing-too'),
        'priv/only-a': b'secret',
        'priv/only-b': ('link', 'priv/only-a'),
        'noread/hidden': ('link', 'pub/file'),
        'noread/dl': ('symlink', 'nothing'),
        'readable/seen': ('link', 'pub/file'),
    })
    os.chmod(s, 0o755)
    os.chmod(s / 'priv', 0o700)
    os.chmod(s / 'priv/open', 0o755)
    os.chmod(s / 'noread', 0o711)
    os.chmod(s / 'readable', 0o755)


@pytest.fixture
def view(shared_tmp, linkfs):
    m = linkfs('-o', 'allow_other', base=shared_tmp, populate=_pop)
    O.wait_ready(m)
    return m


CODE = r'''
L = BASE + '/.links'
def ls(p):
    try:
        return sorted(os.listdir(p))
    except OSError as e:
        return errno.errorcode[e.errno]
OUT['sib_file'] = ls(BASE + '/pub/.links/siblings/file')
OUT['sib_pub'] = ls(BASE + '/pub/.links/siblings')
OUT['inodes'] = ls(L + '/inodes')
OUT['ino'] = ls(L + '/inodes/' + INO)
OUT['ino_priv'] = ls(L + '/inodes/' + INO_PRIV)
OUT['all_dangling'] = ls(L + '/all-dangling')
OUT['priv_links'] = ls(BASE + '/priv/.links')
OUT['priv_open_links'] = ls(BASE + '/priv/open/.links/siblings')
OUT['noread_sib'] = ls(BASE + '/noread/.links/siblings')
OUT['noread_dangling'] = ls(BASE + '/noread/.links/dangling')
OUT['readable_sib'] = ls(BASE + '/readable/.links/siblings/seen')
'''


def _run(m, uid_gid=None):
    ino = os.lstat(m.v('pub/file')).st_ino
    ino_priv = os.lstat(m.v('priv/only-a')).st_ino
    pre = 'BASE = %s\nINO = %s\nINO_PRIV = %s\n' % (
        json.dumps(str(m.mnt)), json.dumps(str(ino)),
        json.dumps(str(ino_priv)))
    if uid_gid is None:
        uid_gid = (0, 0)
    return H.as_user(uid_gid[0], uid_gid[1], pre + CODE)


def test_other_user_does_not_see_private_paths(view):
    out = _run(view, U1)
    assert out['sib_file'] == ['pub' + S + 'file2', 'readable' + S + 'seen']
    assert out['sib_pub'] == ['file', 'file2']
    assert out['ino'] == ['pub' + S + 'file', 'pub' + S + 'file2',
                          'readable' + S + 'seen']
    assert out['all_dangling'] == ['pub' + S + 'dl']
    assert out['priv_links'] == 'EACCES'
    assert out['priv_open_links'] == 'EACCES'
    # noread/ is searchable but not readable: its entries stay unlisted
    assert out['noread_sib'] in ('EACCES', [])
    assert out['noread_dangling'] in ('EACCES', [])
    assert out['readable_sib'] == ['pub' + S + 'file', 'pub' + S + 'file2']
    # a group whose names are all private shows nothing of them
    assert out['ino_priv'] in ('ENOENT', [])
    inodes = out['inodes']
    assert str(os.lstat(view.v('pub/file')).st_ino) in inodes


def test_root_sees_everything(view):
    out = _run(view)
    assert out['sib_file'] == sorted([
        'noread' + S + 'hidden', 'priv' + S + 'copy',
        'priv' + S + 'open' + S + 'x', 'pub' + S + 'file2',
        'readable' + S + 'seen'])
    assert out['all_dangling'] == sorted(['noread' + S + 'dl',
                                          'priv' + S + 'dl', 'pub' + S + 'dl'])
    assert out['ino_priv'] == ['priv' + S + 'only-a', 'priv' + S + 'only-b']
    assert out['noread_sib'] == ['hidden']
    assert out['noread_dangling'] == ['dl']
    O.check_everything(view)


def test_opening_the_directory_changes_what_is_listed(view):
    """Permissions are checked at listing time, not cached from the scan."""
    out = _run(view, U1)
    assert 'priv' + S + 'copy' not in out['sib_file']
    os.chmod(view.s('priv'), 0o755)
    out = _run(view, U1)
    assert 'priv' + S + 'copy' in out['sib_file']
    assert 'priv' + S + 'dl' in out['all_dangling']
    os.chmod(view.s('priv'), 0o700)
    out = _run(view, U1)
    assert 'priv' + S + 'copy' not in out['sib_file']


def test_owner_of_private_directory_sees_its_paths(view):
    os.chown(view.s('priv'), *U1)
    try:
        out = _run(view, U1)
        assert 'priv' + S + 'copy' in out['sib_file']
        assert 'priv' + S + 'open' + S + 'x' in out['sib_file']
        assert out['ino_priv'] == ['priv' + S + 'only-a',
                                   'priv' + S + 'only-b']
        assert 'noread' + S + 'hidden' not in out['sib_file']
    finally:
        os.chown(view.s('priv'), 0, 0)


def test_links_writes_refused_for_other_users_too(view):
    code = r'''
L = BASE + '/pub/.links'
OUT['mkdir'] = E(os.mkdir, L + '/siblings/x')
OUT['unlink'] = E(os.unlink, L + '/siblings/file/' + NAME)
OUT['rmdir'] = E(os.rmdir, L + '/siblings/file')
'''
    pre = 'BASE = %s\nNAME = %s\n' % (json.dumps(str(view.mnt)),
                                       json.dumps('pub' + S + 'file2'))
    out = H.as_user(U1[0], U1[1], pre + code)
    # the kernel may refuse first (EACCES on dr-xr-xr-x) or the daemon EROFS
    for k, v in out.items():
        assert v in ('EROFS', 'EACCES'), (k, v)
