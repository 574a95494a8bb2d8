# SPDX-License-Identifier: GPL-2.0-or-later
"""Several users with -o allow_other (SPEC sections 1 and 5): ownership of
what each creates, and the source's permission rules for every caller.
Users are switched with setpriv; the daemon runs as root."""

import json
import os
import stat

import pytest

import linkfs_helpers as H

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason='needs root to switch users')

U1 = (1000, 1000)
U2 = (1001, 1001)
G = 2000          # a group neither user has unless given with --groups


@pytest.fixture
def mu(shared_tmp, linkfs):
    """Mount factory in a world-traversable directory (shared_tmp is set up
    first, so it is removed only after every mount is gone)."""
    def factory(populate=None, opts=('-o', 'allow_other')):
        return linkfs(*opts, base=shared_tmp, src_mode=0o777,
                      populate=populate)
    return factory


def _run(user, base, code, groups=None):
    """Run code as user with BASE bound to base (a str path)."""
    uid, gid = user
    return H.as_user(uid, gid, 'BASE = %s\n' % json.dumps(str(base)) + code,
                     groups=groups)


def _both(user, m, code, groups=None):
    """Run a non-modifying check on the source and on the view."""
    return (_run(user, m.src, code, groups), _run(user, m.mnt, code, groups))


def test_mount_has_default_permissions(mu):
    m = mu()
    e = m.mount_entry()
    opts = e['super_opts'].split(',') + e['opts'].split(',')
    assert 'allow_other' in opts
    assert 'default_permissions' in opts


def test_without_allow_other_other_users_are_kept_out(mu):
    m = mu(opts=())
    out = _run(U1, m.mnt, "OUT['stat'] = E(os.stat, BASE)")
    assert out['stat'] == 'EACCES'


@pytest.mark.parametrize('user', [U1, U2], ids=['uid1000', 'uid1001'])
def test_created_entries_belong_to_caller(mu, user):
    m = mu()
    out = _run(user, m.mnt, r'''
W(BASE + '/file', b'data')
os.mkdir(BASE + '/dir')
os.mkfifo(BASE + '/fifo')
os.mknod(BASE + '/node', stat.S_IFIFO | 0o600)
os.mknod(BASE + '/reg', stat.S_IFREG | 0o640)
os.symlink('file', BASE + '/sym')
os.link(BASE + '/file', BASE + '/hard')
W(BASE + '/dir/inner', b'i')
OUT['done'] = True
''')
    assert out['done']
    for n in ('file', 'dir', 'fifo', 'node', 'reg', 'sym', 'hard',
              'dir/inner'):
        st = os.lstat(m.s(n))
        assert (st.st_uid, st.st_gid) == user, n
        assert H.stat_dict(os.lstat(m.v(n))) == H.stat_dict(st), n
    assert stat.S_IMODE(os.lstat(m.s('file')).st_mode) == 0o644
    assert stat.S_IMODE(os.lstat(m.s('dir')).st_mode) == 0o755


def test_supplementary_groups_are_honoured(mu):
    def pop(s):
        os.mkdir(s / 'grp', 0o770)
        os.chown(s / 'grp', 0, G)
        os.chmod(s / 'grp', 0o770)
    m = mu(pop)
    code = "OUT['ls'] = E(os.listdir, BASE + '/grp')\n"
    for res in _both(U1, m, code):
        assert res['ls'] == 'EACCES'
    for res in _both(U2, m, code, groups=[G]):
        assert res['ls'] == 'OK'
    out = _run(U1, m.mnt, "OUT['c'] = E(W, BASE + '/grp/u1')")
    assert out['c'] == 'EACCES'
    out = _run(U2, m.mnt, "OUT['c'] = E(W, BASE + '/grp/u2')", groups=[G])
    assert out['c'] == 'OK'
    st = os.lstat(m.s('grp/u2'))
    assert (st.st_uid, st.st_gid) == U2
    assert not os.path.lexists(m.s('grp/u1'))


def _pop_owned(s):
    for name, mode in (('own644', 0o644), ('own600', 0o600)):
        (s / name).write_bytes(b'secret')
        os.chown(s / name, *U1)
        os.chmod(s / name, mode)
    os.mkdir(s / 'priv', 0o700)
    os.chown(s / 'priv', *U1)
    os.mkdir(s / 'pub', 0o755)
    os.chown(s / 'pub', *U1)


def test_cannot_write_another_users_file(mu):
    m = mu(_pop_owned)
    code = r'''
OUT['w'] = E(os.open, BASE + '/own644', os.O_WRONLY)
OUT['trunc'] = E(os.truncate, BASE + '/own644', 0)
OUT['r'] = E(R, BASE + '/own644')
OUT['r600'] = E(R, BASE + '/own600')
OUT['ls'] = E(os.listdir, BASE + '/priv')
OUT['create'] = E(W, BASE + '/pub/intruder')
OUT['chmod'] = E(os.chmod, BASE + '/own644', 0o666)
OUT['access_w'] = os.access(BASE + '/own644', os.W_OK)
OUT['access_r'] = os.access(BASE + '/own644', os.R_OK)
'''
    src, view = _both(U2, m, code)
    assert view == src
    assert view['w'] == 'EACCES' and view['trunc'] == 'EACCES'
    assert view['r'] == 'OK' and view['r600'] == 'EACCES'
    assert view['ls'] == 'EACCES' and view['create'] == 'EACCES'
    assert view['chmod'] == 'EPERM'
    assert view['access_w'] is False and view['access_r'] is True
    assert m.s('own644').read_bytes() == b'secret'
    # the owner can
    out = _run(U1, m.mnt, r'''
OUT['w'] = E(W, BASE + '/own600', b'mine')
OUT['create'] = E(W, BASE + '/pub/ok')
OUT['chmod'] = E(os.chmod, BASE + '/own644', 0o640)
''')
    assert out == {'w': 'OK', 'create': 'OK', 'chmod': 'OK'}
    assert m.s('own600').read_bytes() == b'mine'
    assert stat.S_IMODE(os.lstat(m.s('own644')).st_mode) == 0o640


def test_sticky_directory_rules(mu):
    def pop(s):
        os.mkdir(s / 'tmp')
        os.chmod(s / 'tmp', 0o1777)
    m = mu(pop)
    _run(U1, m.mnt, "W(BASE + '/tmp/a'); os.mkdir(BASE + '/tmp/adir')")
    code = r'''
OUT['unlink'] = E(os.unlink, BASE + '/tmp/a')
OUT['rmdir'] = E(os.rmdir, BASE + '/tmp/adir')
OUT['rename'] = E(os.rename, BASE + '/tmp/a', BASE + '/tmp/stolen')
'''
    src, view = _both(U2, m, code)
    assert view == src == {'unlink': 'EPERM', 'rmdir': 'EPERM',
                           'rename': 'EPERM'}
    assert os.path.exists(m.s('tmp/a')) and os.path.isdir(m.s('tmp/adir'))
    out = _run(U2, m.mnt, "W(BASE + '/tmp/b'); OUT['ok'] = 1")
    assert out['ok'] == 1
    out = _run(U1, m.mnt, r'''
OUT['own'] = E(os.unlink, BASE + '/tmp/a')
OUT['other'] = E(os.unlink, BASE + '/tmp/b')
''')
    assert out == {'own': 'OK', 'other': 'EPERM'}
    assert not os.path.exists(m.s('tmp/a'))
    assert os.path.exists(m.s('tmp/b'))


def test_setgid_directory_inherits_group(mu):
    def pop(s):
        os.mkdir(s / 'sg')
        os.chown(s / 'sg', 0, G)
        os.chmod(s / 'sg', 0o2777)
    m = mu(pop)
    for base, tag in ((m.mnt, 'v'), (m.src, 's')):
        _run(U1, base, r'''
W(BASE + '/sg/f_%(t)s')
os.mkdir(BASE + '/sg/d_%(t)s')
os.mkfifo(BASE + '/sg/p_%(t)s')
os.symlink('x', BASE + '/sg/l_%(t)s')
''' % {'t': tag})
    for n in ('f', 'd', 'p', 'l'):
        sv = os.lstat(m.s('sg/%s_v' % n))
        ss = os.lstat(m.s('sg/%s_s' % n))
        assert (sv.st_uid, sv.st_gid) == (U1[0], G), n
        assert (sv.st_uid, sv.st_gid, sv.st_mode) == \
            (ss.st_uid, ss.st_gid, ss.st_mode), n
    assert os.lstat(m.s('sg/d_v')).st_mode & stat.S_ISGID


def test_chown_rules(mu):
    m = mu(_pop_owned)
    code = "OUT['c'] = E(os.chown, BASE + '/own644', 1001, -1)"
    src, view = _both(U2, m, code)
    assert view == src == {'c': 'EPERM'}
    src, view = _both(U1, m, code)        # owner cannot give away
    assert view == src == {'c': 'EPERM'}
    code = "OUT['c'] = E(os.chown, BASE + '/own644', -1, %d)" % G
    src, view = _both(U1, m, code)        # not a member of G
    assert view == src == {'c': 'EPERM'}
    assert os.lstat(m.s('own644')).st_gid == U1[1]
    out = _run(U1, m.mnt, code, groups=[G])
    assert out == {'c': 'OK'}
    st = os.lstat(m.s('own644'))
    assert (st.st_uid, st.st_gid) == (U1[0], G)
    assert os.lstat(m.v('own644')).st_gid == G


def test_write_by_other_user_clears_setuid(mu):
    def pop(s):
        for n in ('suid_v', 'suid_s'):
            (s / n).write_bytes(b'#!/bin/sh\n')
            os.chown(s / n, *U1)
            os.chmod(s / n, 0o6777)
    m = mu(pop)
    os.stat(m.v('suid_v'))
    _run(U2, m.mnt, r'''
fd = os.open(BASE + '/suid_v', os.O_WRONLY | os.O_APPEND)
os.write(fd, b'echo hi\n')
os.close(fd)
''')
    _run(U2, m.src, r'''
fd = os.open(BASE + '/suid_s', os.O_WRONLY | os.O_APPEND)
os.write(fd, b'echo hi\n')
os.close(fd)
''')
    mv = os.lstat(m.s('suid_v')).st_mode
    ms = os.lstat(m.s('suid_s')).st_mode
    assert ms & stat.S_ISUID == 0            # the oracle
    assert mv == ms
    assert os.lstat(m.v('suid_v')).st_mode == mv
    assert m.s('suid_v').read_bytes() == b'#!/bin/sh\necho hi\n'


def test_chown_by_owner_clears_setuid(mu):
    def pop(s):
        for n in ('x_v', 'x_s'):
            (s / n).write_bytes(b'x')
            os.chown(s / n, *U1)
            os.chmod(s / n, 0o4755)
    m = mu(pop)
    os.stat(m.v('x_v'))
    _run(U1, m.mnt, "os.chown(BASE + '/x_v', -1, %d)" % G, groups=[G])
    _run(U1, m.src, "os.chown(BASE + '/x_s', -1, %d)" % G, groups=[G])
    sv, ss = os.lstat(m.s('x_v')), os.lstat(m.s('x_s'))
    assert ss.st_mode & stat.S_ISUID == 0    # the oracle
    assert (sv.st_mode, sv.st_gid) == (ss.st_mode, ss.st_gid)
    assert os.lstat(m.v('x_v')).st_mode == ss.st_mode


def test_utime_permission_rules(mu):
    def pop(s):
        (s / 'shared').write_bytes(b'x')
        os.chown(s / 'shared', *U1)
        os.chmod(s / 'shared', 0o666)
    m = mu(pop)
    code = "OUT['explicit'] = E(os.utime, BASE + '/shared', (1, 1))"
    src, view = _both(U2, m, code)
    assert view == src == {'explicit': 'EPERM'}
    out = _run(U2, m.mnt, "OUT['now'] = E(os.utime, BASE + '/shared')")
    assert out == {'now': 'OK'}
    assert os.lstat(m.s('shared')).st_mtime > 1000


def test_two_users_at_once(mu):
    """Concurrent callers each get their own identity."""
    import subprocess
    m = mu()
    procs = []
    for uid, gid in (U1, U2):
        code = ('import os\n'
                'for i in range(200):\n'
                '    fd = os.open(%r + "/u%d-%%d" %% i, os.O_CREAT|os.O_WRONLY,'
                ' 0o644)\n'
                '    os.close(fd)\n') % (str(m.mnt), uid)
        procs.append(subprocess.Popen(
            ['setpriv', '--reuid=%d' % uid, '--regid=%d' % gid,
             '--clear-groups', H.PYTHON, '-c', code]))
    for p in procs:
        assert p.wait(timeout=120) == 0
    for uid, gid in (U1, U2):
        for i in range(200):
            st = os.lstat(m.s('u%d-%d' % (uid, i)))
            assert (st.st_uid, st.st_gid) == (uid, gid)
