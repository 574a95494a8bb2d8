# SPDX-License-Identifier: GPL-2.0-or-later
"""The `.links` namespace against oracles computed from the source with
`find` (SPEC section 2): inodes/, siblings/ and dangling/ of every
directory, all-dangling/, status, outside links, sorting, modes and owners,
virtual inode numbers, termination of find -L / du -L, relative targets."""

import errno
import os
import stat
import subprocess

import pytest

import linkfs_helpers as H
import links_oracle as O
from links_oracle import b, join


@pytest.mark.parametrize('seed', [1, 2])
def test_inodes_match_find_groups(linkfs, tmp_path, seed):
    m = O.mount_tree(linkfs, tmp_path, seed=seed)
    o = O.Oracle(m.src)
    assert len(o.groups) > 20 and any(len(p) > 2 for p in o.groups.values())
    probs = O.Problems()
    O.check_inodes(m, o, probs)
    probs.check('inodes/ vs find -links +1')


def test_inode_dirs_named_by_view_st_ino(linkfs, tmp_path):
    m = O.mount_tree(linkfs, tmp_path, seed=3)
    o = O.Oracle(m.src)
    for key, paths in o.groups.items():
        for p in paths:
            assert os.lstat(join(b(m.mnt), p)).st_ino == key[1], p
    names = os.listdir(join(O.lnk(m), b'inodes'))
    assert sorted(int(n) for n in names) == sorted(k[1] for k in o.groups)


@pytest.mark.parametrize('seed', [1, 4])
def test_siblings_and_dangling_of_every_directory(linkfs, tmp_path, seed):
    m = O.mount_tree(linkfs, tmp_path, seed=seed)
    o = O.Oracle(m.src)
    assert len(o.dirs) > 20 and o.loops
    probs = O.Problems()
    for d in o.dirs:
        O.check_dir(m, o, d, probs)
    probs.check('siblings/ and dangling/ of every directory')


def test_all_dangling_includes_loops(linkfs, tmp_path):
    m = O.mount_tree(linkfs, tmp_path, seed=5)
    o = O.Oracle(m.src)
    assert o.loops, 'mktree made no loops'
    probs = O.Problems()
    O.check_all_dangling(m, o, probs)
    probs.check('all-dangling/')


def test_without_loops_dangling_is_exactly_find_xtype(linkfs, tmp_path):
    m = O.mount_tree(linkfs, tmp_path, seed=6, loops=False)
    src = b(m.src)
    r = subprocess.run(['find', src, '-xtype', 'l', '-print0'],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    want = sorted(p[len(src) + 1:] for p in r.stdout.split(b'\0') if p)
    assert want
    d = join(O.lnk(m), b'all-dangling')
    probs = O.Problems()
    got = sorted(O.resolve_vlink(m, d, n, probs) for n in os.listdir(d))
    probs.check()
    assert got == want


def test_status_counts_match_oracle(linkfs, tmp_path):
    m = O.mount_tree(linkfs, tmp_path, seed=7)
    o = O.Oracle(m.src)
    with open(join(O.lnk(m), b'status'), 'rb') as f:
        text = f.read().decode()
    lines = text.splitlines()
    keys = [ln.split(': ', 1)[0] for ln in lines]
    assert [k for k in keys if k in O.STATUS_KEYS] == list(O.STATUS_KEYS), \
        text
    st = O.parse_status(text)
    assert st['state'] == 'ready'
    assert st['source'] in (os.path.abspath(str(m.src)),
                            os.path.realpath(str(m.src)))
    for k in O.STATUS_KEYS[2:]:
        if k == 'scan_seconds':
            assert float(st[k]) >= 0 and '.' in st[k], st[k]
        else:
            assert st[k].isdigit(), (k, st[k])
    probs = O.Problems()
    O.check_status_counts(m, o, probs, st)
    probs.check('status')
    assert st['unreadable'] == '0'
    n_entries = len(o.real_inodes)  # upper bound sanity only
    assert int(st['directories']) in (len(o.dirs), len(o.dirs) - 1)
    assert int(st['entries']) >= int(st['directories'])
    assert n_entries > 0


def test_unreadable_directories_are_counted(linkfs):
    """Directories the scan cannot read are skipped and counted, never fatal:
    the daemon runs as root without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH."""
    if os.geteuid() != 0:
        pytest.skip('needs root')

    def pop(s):
        H.make_tree(s, {'ok/a': b'a', 'ok/b': ('link', 'ok/a'),
                        'closed1/x': b'x', 'closed2/y': b'y',
                        'closed2/z': ('link', 'closed2/y')})
        for n in ('closed1', 'closed2'):
            os.chown(s / n, 1000, 1000)
        os.chmod(s / 'closed1', 0)
        os.chmod(s / 'closed2', 0o300)   # searchable, not readable
    m = linkfs(populate=pop, prefix=[
        'setpriv', '--bounding-set=-dac_override,-dac_read_search'])
    try:
        st = O.wait_ready(m)
        assert st['unreadable'] == '2', st
        ino = os.lstat(m.v('ok', 'a')).st_ino
        assert os.listdir(join(O.lnk(m), b'inodes')) == [b'%d' % ino]
        assert st['hardlinked_inodes'] == '1'
    finally:
        os.chmod(m.src / 'closed1', 0o755)
        os.chmod(m.src / 'closed2', 0o755)


def test_outside_links_count_and_xattr(linkfs, tmp_path):
    m = O.mount_tree(linkfs, tmp_path, seed=8, outside=True)
    o = O.Oracle(m.src)
    outside = {k: o.outside(k) for k in o.groups}
    assert sum(outside.values()) > 0, 'mktree --outside made no outside link'
    # single-name-in-view files that have an outside name are groups too
    assert any(len(p) == 1 for p in o.groups.values())
    st = O.status(m)
    assert int(st['outside_links']) == sum(outside.values())
    inodes = join(O.lnk(m), b'inodes')
    bad = []
    for key, paths in o.groups.items():
        p = join(inodes, str(key[1]))
        v = os.getxattr(p, 'user.linkfs.outside')
        if int(v.rstrip(b'\0').decode()) != outside[key]:
            bad.append((p, v, outside[key]))
        for rel in paths:
            q = join(O.lnk(m, O.dirname(rel)), b'siblings', O.basename(rel))
            v = os.getxattr(q, 'user.linkfs.outside')
            if int(v.rstrip(b'\0').decode()) != outside[key]:
                bad.append((q, v, outside[key]))
    assert not bad, bad[:10]
    # and everything else still matches
    O.check_everything(m, o)


def _listing_orders(m, o):
    dirs = [join(O.lnk(m), x) for x in (b'inodes', b'all-dangling')]
    dirs += [join(O.lnk(m), b'inodes', n)
             for n in os.listdir(join(O.lnk(m), b'inodes'))]
    for d in o.dirs:
        sd = join(O.lnk(m, d), b'siblings')
        dirs += [sd, join(O.lnk(m, d), b'dangling')]
        dirs += [join(sd, n) for n in os.listdir(sd)]
    return dirs


def test_listings_sorted_by_name(linkfs, tmp_path):
    m = O.mount_tree(linkfs, tmp_path, seed=9)
    o = O.Oracle(m.src)
    bad = []
    for d in _listing_orders(m, o):
        with os.scandir(d) as it:
            names = [e.name for e in it]
        if names != sorted(names):
            bad.append(d)
        r = subprocess.run(['ls', '-1', '-f', '--zero', d],
                           capture_output=True, timeout=30)
        if r.returncode == 0:
            lsn = [x for x in r.stdout.split(b'\0') if x not in (b'', b'.',
                                                                 b'..')]
            if lsn != names:
                bad.append((d, 'ls -f'))
    assert not bad, bad[:10]
    # the top of .links itself
    root_names = os.listdir(O.lnk(m))
    assert root_names == [b'all-dangling', b'dangling', b'dirs', b'inodes',
                          b'pointed-by', b'siblings', b'status']
    assert os.listdir(O.lnk(m, o.dirs[-1])) == [b'dangling', b'pointed-by',
                                               b'siblings']
    assert os.listdir(O.page(m, o.dirs[-1])) == [b'dangling', b'pointed-by',
                                                b'siblings']
    assert os.listdir(join(O.lnk(m), b'dirs')) == []


def _pop_owners(s):
    H.make_tree(s, {
        'd/f': b'data',
        'd/g': ('link', 'd/f'),
        'h': ('link', 'd/f'),
        'd/dl': ('symlink', 'missing'),
        'top-dl': ('symlink', 'd/nothing'),
    })
    os.chown(s, 1600, 1601)
    os.chown(s / 'd', 1000, 1001)
    os.chown(s / 'd/f', 1002, 1003)
    os.lchown(s / 'd/dl', 1004, 1005)
    os.lchown(s / 'top-dl', 1006, 1007)


def test_modes_and_owners(linkfs):
    if os.geteuid() != 0:
        pytest.skip('needs root to chown')
    m = linkfs(populate=_pop_owners)
    O.wait_ready(m)
    R = b(m.mnt)
    ino = os.lstat(join(R, b'd/f')).st_ino
    L, Ld = O.lnk(m), O.page(m, b'd')
    exp_dirs = {
        L: (1600, 1601),
        join(L, b'siblings'): (1600, 1601),
        join(L, b'dangling'): (1600, 1601),
        join(L, b'inodes'): (1600, 1601),
        join(L, b'all-dangling'): (1600, 1601),
        Ld: (1000, 1001),
        join(Ld, b'siblings'): (1000, 1001),
        join(Ld, b'dangling'): (1000, 1001),
        join(Ld, b'siblings', b'f'): (1002, 1003),
        join(Ld, b'siblings', b'g'): (1002, 1003),
        join(L, b'siblings', b'h'): (1002, 1003),
        join(L, b'inodes', str(ino)): (1002, 1003),
    }
    exp_links = {
        O.lnk(m, b'd'): (1000, 1001),
        join(Ld, b'siblings', b'f', b'h'): (1002, 1003),
        join(Ld, b'siblings', b'f', O.flat(b'd/g')): (1002, 1003),
        join(L, b'inodes', str(ino), O.flat(b'd/f')): (1002, 1003),
        join(Ld, b'dangling', b'dl'): (1004, 1005),
        join(L, b'dangling', b'top-dl'): (1006, 1007),
        join(L, b'all-dangling', O.flat(b'd/dl')): (1004, 1005),
        join(L, b'all-dangling', b'top-dl'): (1006, 1007),
    }
    bad = []
    for p, own in exp_dirs.items():
        st = os.lstat(p)
        if st.st_mode != O.DIR_MODE or (st.st_uid, st.st_gid) != own:
            bad.append((p, oct(st.st_mode), st.st_uid, st.st_gid, own))
    for p, own in exp_links.items():
        st = os.lstat(p)
        if st.st_mode != O.LNK_MODE or (st.st_uid, st.st_gid) != own:
            bad.append((p, oct(st.st_mode), st.st_uid, st.st_gid, own))
        if st.st_size != len(os.readlink(p)):
            bad.append((p, 'size', st.st_size, os.readlink(p)))
    assert not bad, bad
    st = os.lstat(join(L, b'status'))
    assert stat.S_ISREG(st.st_mode) and st.st_mode & 0o222 == 0, oct(
        st.st_mode)
    r = H.run(['ls', '-ld', Ld.decode(), join(Ld, b'siblings/f').decode()])
    assert all(ln.startswith('dr-xr-xr-x') for ln in r.stdout.splitlines())
    r = H.run(['ls', '-l', join(Ld, b'siblings/f').decode()])
    assert [ln[:10] for ln in r.stdout.splitlines()[1:]] == \
        ['lrwxrwxrwx'] * 2, r.stdout


def test_virtual_inodes_unique_and_stable(linkfs, tmp_path):
    m = O.mount_tree(linkfs, tmp_path, seed=10)
    o = O.Oracle(m.src)
    paths = O.virtual_entries(m, o.dirs)
    first = {p: os.lstat(p).st_ino for p in paths}
    clash = {p: i for p, i in first.items() if i in o.real_inodes}
    assert not clash, list(clash.items())[:10]
    byino = {}
    for p, i in first.items():
        byino.setdefault(i, []).append(p)
    dup = [v for v in byino.values() if len(v) > 1]
    assert not dup, dup[:5]
    again = {p: os.lstat(p).st_ino for p in paths}
    assert again == first
    # other activity: new files, links, listings, a real file whose number
    # might be reused
    R = b(m.mnt)
    os.mkdir(join(R, b'zz-new'))
    for i in range(50):
        with open(join(R, b'zz-new', b'n%d' % i), 'wb') as f:
            f.write(b'x')
        os.link(join(R, b'zz-new', b'n%d' % i), join(R, b'zz-new', b'l%d' % i))
    os.listdir(join(O.lnk(m), b'inodes'))
    os.listdir(join(O.lnk(m, b'zz-new'), b'siblings'))
    later = {p: os.lstat(p).st_ino for p in paths}
    assert later == first
    o2 = O.Oracle(m.src)
    newv = O.virtual_entries(m, o2.dirs)
    allino = [os.lstat(p).st_ino for p in newv]
    assert not set(allino) & o2.real_inodes
    assert len(set(allino)) == len(allino)


def test_find_L_and_du_L_terminate(linkfs, tmp_path):
    """find -L and du -L over the view end. Pages lead to nothing above
    them: siblings/ to files, dangling/ to dangling symlinks; only a
    pointed-by/ entry whose symlink resolves to a directory leads into that
    directory, as the symlink itself does."""
    m = O.mount_tree(linkfs, tmp_path, seed=11)
    R = b(m.mnt)
    try:
        r = subprocess.run(['find', '-L', R, '-print0'], capture_output=True,
                           timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail('find -L did not terminate')
    L = b(H.LINKS_NAME)

    def entered(p):
        """Whether p goes below a virtual entry of the last page on its
        way, other than a pointed-by/ one."""
        parts = p[len(R):].split(b'/')
        if L not in parts:
            return False
        while L in parts:
            parts = parts[parts.index(L) + 1:]
        if parts[:1] == [b'dirs']:
            parts = parts[2:]
        return parts[:1] != [b'pointed-by'] and len(parts) > 3

    loops = [ln for ln in r.stderr.split(b'\n')
             if b'File system loop' in ln and b'/' + L + b'/' in ln and
             b'/pointed-by/' not in ln]
    assert not loops, loops[:5]
    deep = [p for p in r.stdout.split(b'\0') if entered(p)]
    assert not deep, 'find -L entered directories through .links: %r' % (
        deep[:5],)
    assert any(b'/siblings/' in p for p in r.stdout.split(b'\0'))
    try:
        r = subprocess.run(['du', '-L', '-s', R], capture_output=True,
                           timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail('du -L did not terminate')
    assert r.stdout.strip()


def _check_follow_via(m, base, o):
    """Follow every virtual symlink of inodes/ and of the siblings/ and
    dangling/ of every directory, reaching the view through base."""
    bad = []
    L = join(base, b(H.LINKS_NAME))
    for key, paths in o.groups.items():
        d = join(L, b'inodes', str(key[1]))
        for n in os.listdir(d):
            try:
                if os.stat(join(d, n)).st_ino != key[1]:
                    bad.append(join(d, n))
            except OSError as e:
                bad.append((join(d, n), e))
    for dd in o.dirs:
        sd = join(base, dd, b(H.LINKS_NAME), b'siblings')
        for name, (key, others) in o.siblings_of_dir(dd).items():
            for n in os.listdir(join(sd, name)):
                try:
                    if os.stat(join(sd, name, n)).st_ino != key[1]:
                        bad.append(join(sd, name, n))
                except OSError as e:
                    bad.append((join(sd, name, n), e))
        dg = join(base, dd, b(H.LINKS_NAME), b'dangling')
        for n in os.listdir(dg):
            # the virtual link leads to the dangling symlink: realpath of the
            # virtual link's target directory + name is the real symlink
            t = os.readlink(join(dg, n))
            target = os.path.join(os.path.realpath(dg), t)
            if not stat.S_ISLNK(os.lstat(target).st_mode):
                bad.append(target)
            if os.lstat(target).st_ino != os.lstat(join(base, dd, n)).st_ino:
                bad.append((target, 'other inode'))
    return bad


def test_relative_targets_through_symlinked_path(linkfs, tmp_path):
    m = O.mount_tree(linkfs, tmp_path, seed=12)
    o = O.Oracle(m.src)
    alias_dir = tmp_path / 'elsewhere' / 'deeper'
    alias_dir.mkdir(parents=True)
    alias = alias_dir / 'view-alias'
    os.symlink(str(m.mnt), alias)
    assert _check_follow_via(m, b(alias), o) == []


def test_relative_targets_from_cwd_inside_view(linkfs, tmp_path):
    m = O.mount_tree(linkfs, tmp_path, seed=13)
    o = O.Oracle(m.src)
    old = os.getcwd()
    try:
        os.chdir(m.mnt)
        assert _check_follow_via(m, b'.', o) == []
        d = [x for x in o.dirs if x and o.siblings_of_dir(x)][0]
        os.chdir(join(b(m.mnt), d))
        sib = o.siblings_of_dir(d)
        name, (key, others) = sorted(sib.items())[0]
        for n in os.listdir(join(b'.links/siblings', name)):
            assert os.stat(join(b'.links/siblings', name, n)).st_ino == key[1]
    finally:
        os.chdir(old)
    # a shell following the link with cd -P into the target's directory
    r = H.run(['sh', '-c', 'cd "$1" && cat -- "$2" >/dev/null && echo ok',
               'sh', str(m.mnt), os.fsdecode(join(
                   b(H.LINKS_NAME), b'inodes',
                   os.listdir(join(O.lnk(m), b'inodes'))[0],
                   os.listdir(join(O.lnk(m), b'inodes',
                                   os.listdir(join(O.lnk(m),
                                                   b'inodes'))[0]))[0]))])
    assert r.stdout.strip() == 'ok', r.stderr


def test_relative_targets_through_bind_mount(linkfs, tmp_path):
    if os.geteuid() != 0:
        pytest.skip('bind mounts need root')
    m = O.mount_tree(linkfs, tmp_path, seed=14)
    o = O.Oracle(m.src)
    bind = tmp_path / 'bound' / 'here'
    bind.mkdir(parents=True)
    r = H.run(['mount', '--bind', str(m.mnt), str(bind)])
    if r.returncode != 0:
        pytest.skip('mount --bind failed: ' + r.stderr.strip())
    try:
        assert _check_follow_via(m, b(bind), o) == []
    finally:
        H.run(['umount', str(bind)])
        if H.mount_entry(bind):
            H.run(['umount', '-l', str(bind)])


def test_tutorial_example(linkfs):
    """A file, a hard link and a symlink to it, then the original removed."""
    def pop(s):
        H.make_tree(s, {'notes.txt': b'hello\n'})
    m = linkfs(populate=pop)
    O.wait_ready(m)
    R = b(m.mnt)
    os.link(join(R, b'notes.txt'), join(R, b'hard.txt'))
    os.symlink('notes.txt', join(R, b'soft.txt'))
    L = O.lnk(m)
    assert os.listdir(join(L, b'siblings')) == [b'hard.txt', b'notes.txt']
    assert os.listdir(join(L, b'siblings', b'notes.txt')) == [b'hard.txt']
    assert os.readlink(join(L, b'siblings', b'notes.txt', b'hard.txt')) == \
        b'../../../hard.txt'
    assert os.listdir(join(L, b'dangling')) == []
    os.unlink(join(R, b'notes.txt'))
    assert os.listdir(join(L, b'siblings')) == []
    assert os.listdir(join(L, b'inodes')) == []
    assert os.listdir(join(L, b'dangling')) == [b'soft.txt']
    assert os.readlink(join(L, b'dangling', b'soft.txt')) == \
        b'../../soft.txt'
    assert os.listdir(join(L, b'all-dangling')) == [b'soft.txt']
    assert os.readlink(join(L, b'all-dangling', b'soft.txt')) == \
        b'../../soft.txt'
    O.check_everything(m)


def test_flat_names_never_collide(linkfs):
    """A real name holding U+2215 and a path whose / flattens to the same
    FLAT: both listed, under distinct names, each leading to its path."""
    def pop(s):
        H.make_tree(s, {'a/b': b'x', 'a\u2215b': ('link', 'a/b'),
                        'c': ('link', 'a/b')})
    m = linkfs(populate=pop)
    O.wait_ready(m)
    ino = os.lstat(m.v('c')).st_ino
    d = join(O.lnk(m), b'inodes', str(ino))
    names = os.listdir(d)
    assert len(names) == 3 and len(set(names)) == 3
    assert all(len(n) <= 255 for n in names)
    sib = join(O.lnk(m), b'siblings', b'c')
    assert len(os.listdir(sib)) == 2
    O.check_everything(m)


def test_long_flat_names_hashed(linkfs):
    """FLATs longer than 255 bytes: '…' + hash, last part kept, unique."""
    seg = 'x' * 130

    def pop(s):
        spec = {'%s/%s/file.txt' % (seg, seg): b'x'}
        for i in range(4):
            spec['%s/%s/%s/other%d.txt' % (seg, seg, seg, i)] = (
                'link', '%s/%s/file.txt' % (seg, seg))
        spec['%s/%s/%s/short' % (seg, seg, seg)] = ('symlink', 'nowhere')
        spec['%s/%s/%s/short2' % (seg, seg, seg)] = ('symlink', 'nowhere2')
        H.make_tree(s, spec)
    m = linkfs(populate=pop)
    O.wait_ready(m)
    ino = os.lstat(m.v(seg, seg, 'file.txt')).st_ino
    d = join(O.lnk(m), b'inodes', str(ino))
    names = os.listdir(d)
    assert len(names) == 5 and len(set(names)) == 5
    for n in names:
        assert n.startswith(O.ELLIPSIS) and len(n) <= 255, n
    assert sum(b'file.txt' in n for n in names) == 1
    for i in range(4):
        assert sum(b'other%d.txt' % i in n for n in names) == 1
    ad = os.listdir(join(O.lnk(m), b'all-dangling'))
    assert len(ad) == 2 and all(n.startswith(O.ELLIPSIS) for n in ad)
    assert sum(n.endswith(b'short') or b'short' in n for n in ad) == 2
    O.check_everything(m)


def test_loops_are_dangling(linkfs):
    def pop(s):
        H.make_tree(s, {'a': ('symlink', 'b'), 'b': ('symlink', 'a'),
                        'self': ('symlink', 'self'),
                        'd/through': ('symlink', '../a/x'),
                        'ok': ('symlink', 'd'),
                        'notdir': ('symlink', 'f/x'), 'f': b'f'})
    m = linkfs(populate=pop)
    O.wait_ready(m)
    got = sorted(os.listdir(join(O.lnk(m), b'dangling')))
    assert got == [b'a', b'b', b'notdir', b'self']
    assert os.listdir(join(O.lnk(m, b'd'), b'dangling')) == [b'through']
    assert O.status(m)['dangling'] == '5'
    O.check_everything(m)


def test_everything_on_odd_tree(linkfs, tmp_path):
    m = O.mount_tree(linkfs, tmp_path, seed=15, files=800, dirs=50)
    O.check_everything(m)


def test_xattr_listed_and_absent_elsewhere(linkfs):
    def pop(s):
        H.make_tree(s, {'f': b'x', 'g': ('link', 'f')})
    m = linkfs(populate=pop)
    O.wait_ready(m)
    p = join(O.lnk(m), b'siblings', b'f')
    assert 'user.linkfs.outside' in os.listxattr(p)
    assert int(os.getxattr(p, 'user.linkfs.outside').rstrip(b'\0')) == 0
    e = H.errno_of(os.getxattr, join(O.lnk(m), b'siblings'),
                   'user.linkfs.outside')
    assert e in (errno.ENODATA, errno.EOPNOTSUPP)


def test_mountpoint_inside_source_and_symlinks_to_it(linkfs, tmp_path):
    """The scan and the dangling checks never enter the view's own mount:
    they finish, and see what a user of the view sees: from inside the view
    (relative targets) the mountpoint is the empty directory under it; by
    its absolute path it is the view, that is SOURCE (SPEC 2)."""
    src = tmp_path / 'srcin'
    mnt = src / 'mnt'

    def pop(s):
        H.make_tree(s, {'f': b'f', 'g': ('link', 'f'),
                        'into-mnt': ('symlink', 'mnt/.links/status'),
                        'mnt-loop': ('symlink', 'mnt/mnt-loop'),
                        'to-mnt-rel': ('symlink', 'mnt')})
        os.symlink(str(mnt), s / 'to-mnt-abs')
        os.symlink(str(mnt) + '/f', s / 'into-mnt-abs')
    m = linkfs(src=src, mnt=mnt, populate=pop)
    r = H.run(['cat', str(mnt / '.links' / 'status')], timeout=30)
    assert 'state:' in r.stdout
    st = O.wait_ready(m, timeout=30)
    r = H.run(['ls', '-1', str(mnt / '.links' / 'dangling')], timeout=30)
    assert r.stdout.split('\n')[:-1] == ['into-mnt', 'mnt-loop'], r
    assert st['dangling'] == '2'
    # into-mnt-abs -> MOUNTPOINT/f is SOURCE's f, as cat finds it
    assert H.run(['cat', str(mnt / 'into-mnt-abs')], timeout=30).stdout == 'f'
    assert st['pointed_at'] == '2', st  # f, and mnt (to-mnt-rel)
    assert sorted(os.listdir(mnt / '.links' / 'siblings')) == ['f', 'g']
    # the view of the mountpoint is the empty directory under it, whose
    # page has nothing to show (so it does not list .links), and resolves
    assert sorted(os.listdir(mnt / 'mnt')) == []
    assert os.listdir(mnt / 'mnt' / '.links') == ['dangling', 'pointed-by',
                                                  'siblings']
