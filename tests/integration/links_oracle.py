# SPDX-License-Identifier: GPL-2.0-or-later
"""Oracles for the `.links` namespace (SPEC sections 2 and 3).

Everything is computed from the SOURCE with real tools (`find`) and plain
system calls, never from the view, and compared with what the view shows.
All paths are bytes (the generated trees hold non-UTF-8 names).

  Oracle(src, mnt)       the hard-link groups, symlinks, dangling symlinks
                         (find -xtype l plus loops), directories of src and
                         what each symlink points at (follow_symlink)
  check_everything(m)    every listing of the view against a fresh oracle:
                         each page reached through .links/dirs/INO and
                         through D/.links, D/.links itself (a relative
                         symlink to the page) and where D lists it
  status(m) / wait_ready(m)
  mktree(dir, ...)       run tools/mktree
"""

import collections
import errno
import hashlib
import os
import stat
import subprocess
import time

import linkfs_helpers as H

SLASH = '\u2215'.encode()          # U+2215 DIVISION SLASH
ELLIPSIS = '\u2026'.encode()       # U+2026 HORIZONTAL ELLIPSIS
NAME_MAX = 255
DANGLING_ERRNOS = (errno.ENOENT, errno.ENOTDIR, errno.ELOOP)
STATUS_KEYS = ('state', 'source', 'entries', 'directories',
               'hardlinked_inodes', 'hardlink_paths', 'outside_links',
               'symlinks', 'dangling', 'pointed_at', 'unreadable',
               'scan_seconds', 'generation')
MKTREE = str(H.REPO / 'tools' / 'mktree')

DIR_MODE = stat.S_IFDIR | 0o555
LNK_MODE = stat.S_IFLNK | 0o777


def b(x):
    return os.fsencode(str(x)) if not isinstance(x, bytes) else x


def flat(rel):
    return b(rel).replace(b'/', SLASH)


def dirname(rel):
    i = rel.rfind(b'/')
    return rel[:i] if i >= 0 else b''


def basename(rel):
    return rel.rsplit(b'/', 1)[-1]


def join(*parts):
    parts = [b(p) for p in parts if p not in (b'', '')]
    return b'/'.join(parts)


def lnk(m, rel=b''):
    """D/.links in the view for the directory rel of the source (the root's
    .links directory for rel = b'', a symlink to D's page otherwise)."""
    return join(b(m.mnt), rel, b(H.LINKS_NAME))


def page(m, rel=b''):
    """The page of the directory rel, by its own path: MOUNTPOINT/.links
    for the root, MOUNTPOINT/.links/dirs/INO otherwise (INO: the
    directory's st_ino, the source's own on its filesystem)."""
    rel = b(rel)
    if rel == b'':
        return lnk(m)
    ino = os.lstat(join(b(m.src), rel)).st_ino
    return join(b(m.mnt), b(H.LINKS_NAME), b'dirs', b'%d' % ino)


def dlink_target(rel, ino):
    """What D/.links must read for the directory rel whose st_ino is ino."""
    depth = len(b(rel).split(b'/'))
    return b'../' * depth + b(H.LINKS_NAME) + b'/dirs/%d' % ino


def links_mode(m):
    """The -o links= mode m was mounted with."""
    mode = 'visible'
    args = list(getattr(m, 'args', ()))
    for k, a in enumerate(args):
        if a == '-o' and k + 1 < len(args):
            for opt in args[k + 1].split(','):
                if opt.startswith('links='):
                    mode = opt[len('links='):]
    return mode


def mktree(dest, *args, files=400, dirs=30, depth=3, seed=1, symlinks=60,
           dangling=20):
    cmd = [H.PYTHON, MKTREE, str(dest), '--files', str(files), '--dirs',
           str(dirs), '--depth', str(depth), '--seed', str(seed),
           '--symlinks', str(symlinks), '--dangling', str(dangling)]
    cmd += [str(a) for a in args]
    H.run(cmd, timeout=600, check=True)


# --------------------------------------------------------------------------
# the oracle

def _find0(src, *expr):
    r = subprocess.run(['find', src] + list(expr), capture_output=True,
                       timeout=600)
    # find reports symlink loops on stderr (and exits 1) with -xtype: fine
    return [x for x in r.stdout.split(b'\0') if x]


def _under(p, top):
    return p == top or p.startswith(top.rstrip(b'/') + b'/')


def follow_symlink(src, rel, mnt=None):
    """Follow the symlink src/rel from its place, one component at a time
    with lstat and readlink, as the kernel walks a path (physical "..", at
    most 40 links), a path through the mountpoint mnt (outside src) going on
    in src.  Returns (errno or 0, where it ends relative to src or None if
    outside, [the symlinks of src followed on the way]): SPEC 2's "points
    at", computed from the source alone; the end is checked against
    os.path.realpath where no mountpoint is involved."""
    src = b(src)
    mnt = b(mnt) if mnt is not None else None
    if mnt is not None and _under(mnt, src):
        mnt = None  # inside: the directory under it is out of our reach
    link = join(src, rel)
    up = dirname(link)
    frames = [b'/']
    for c in up.split(b'/'):
        if c:
            frames.append(os.path.join(frames[-1], c))
    target = os.readlink(link)
    if target.startswith(b'/'):
        frames = [b'/']
    todo = [c for c in reversed(target.split(b'/'))]
    if not target:
        return errno.ENOENT, None, []
    hops, via, end, through_mnt = 0, [], None, False
    while todo:
        c = todo.pop()
        last = not todo
        end = None
        if c in (b'', b'.'):
            continue
        if c == b'..':
            if len(frames) > 1:
                frames.pop()
            continue
        p = os.path.join(frames[-1], c)
        if p == mnt:
            through_mnt = True
            frames.append(src)
            continue
        try:
            st = os.lstat(p)
        except OSError as e:
            return e.errno, None, []
        if stat.S_ISLNK(st.st_mode):
            hops += 1
            if hops > 40:
                return errno.ELOOP, None, []
            if _under(p, src) and p != src:
                via.append(p[len(src) + 1:])
            t = os.readlink(p)
            if t.startswith(b'/'):
                frames = [b'/']
            todo.extend(reversed(t.split(b'/')))
        elif stat.S_ISDIR(st.st_mode):
            if last:
                end = p
            else:
                frames.append(p)
        elif last:
            end = p
        else:
            return errno.ENOTDIR, None, []
    end = end or frames[-1]
    if not through_mnt:
        assert os.path.realpath(link) == end, (link, end)
    if not _under(end, src):
        return 0, None, []
    return 0, end[len(src) + 1:] if end != src else b'', via


class Oracle:
    """What `.links` must show for the source src, from find and stat;
    mnt: the view's mountpoint, for symlinks through it."""

    def __init__(self, src, mnt=None):
        self.mnt = mnt
        self.src = b(os.path.abspath(str(src) if not isinstance(src, bytes)
                                     else os.fsdecode(src)))
        n = len(self.src) + 1

        def rel(p):
            return b'' if p == self.src else p[n:]

        # hard-link groups: find SRC ! -type d -links +1, grouped by dev+ino
        self.groups = {}            # (dev, ino) -> list of rel paths
        self.nlink = {}             # (dev, ino) -> st_nlink
        for rec in _find0(self.src, '!', '-type', 'd', '-links', '+1',
                          '-printf', r'%D %i %n %p\0'):
            dev, ino, nl, p = rec.split(b' ', 3)
            key = (int(dev), int(ino))
            self.groups.setdefault(key, []).append(rel(p))
            self.nlink[key] = int(nl)
        for v in self.groups.values():
            v.sort()
        # symlinks, dangling ones: find -xtype l plus loops (stat -> ELOOP)
        self.symlinks = sorted(rel(p) for p in
                               _find0(self.src, '-type', 'l', '-print0'))
        xtype = set(rel(p) for p in _find0(self.src, '-xtype', 'l',
                                           '-print0'))
        self.dangling = set()
        self.loops = set()
        for r in self.symlinks:
            try:
                os.stat(join(self.src, r))
            except OSError as e:
                if e.errno in DANGLING_ERRNOS:
                    self.dangling.add(r)
                if e.errno == errno.ELOOP:
                    self.loops.add(r)
        assert xtype <= self.dangling, sorted(xtype - self.dangling)[:5]
        assert self.dangling - xtype <= self.loops
        # pointed-by: entry -> the symlinks pointing at it
        self.pointed = {}
        for r in self.symlinks:
            err, end, via = follow_symlink(self.src, r, self.mnt)
            assert (err in DANGLING_ERRNOS) == (r in self.dangling), (r, err)
            for t in ([end] if end else []) + via:
                if t != r:
                    self.pointed.setdefault(t, set()).add(r)
        self.dangling = sorted(self.dangling)
        self.dirs = sorted(rel(p) for p in _find0(self.src, '-type', 'd',
                                                  '-print0'))
        self.real_inodes = set(int(x) for x in _find0(
            self.src, '-printf', r'%i\0'))

    # derived ------------------------------------------------------------
    def ino_of(self, key):
        return key[1]

    def path_groups(self):
        """rel path -> (key, list of the group's paths)"""
        out = {}
        for key, paths in self.groups.items():
            for p in paths:
                out[p] = (key, paths)
        return out

    def siblings_of_dir(self, d):
        """NAME -> (key, other paths) for the entries of d with nlink > 1."""
        out = {}
        for key, paths in self.groups.items():
            for p in paths:
                if dirname(p) == d:
                    others = list(paths)
                    others.remove(p)
                    out[basename(p)] = (key, others)
        return out

    def dangling_of_dir(self, d):
        return sorted(basename(p) for p in self.dangling if dirname(p) == d)

    def pointed_of_dir(self, d):
        """NAME -> sorted symlinks pointing at d/NAME."""
        return {basename(t): sorted(ls) for t, ls in self.pointed.items()
                if dirname(t) == d}

    def page_has(self, d):
        """Whether the page of d has something to show (then the default
        mode lists D/.links)."""
        return bool(self.siblings_of_dir(d) or self.dangling_of_dir(d) or
                    self.pointed_of_dir(d))

    def outside(self, key):
        return self.nlink[key] - len(self.groups[key])

    def counts(self):
        return {
            'hardlinked_inodes': len(self.groups),
            'hardlink_paths': sum(len(v) for v in self.groups.values()),
            'symlinks': len(self.symlinks),
            'dangling': len(self.dangling),
            'pointed_at': len(self.pointed),
            'outside_links': sum(self.outside(k) for k in self.groups),
        }


# --------------------------------------------------------------------------
# status

def parse_status(text):
    out = {}
    for line in text.splitlines():
        assert ': ' in line, 'status line without ": ": %r' % line
        k, v = line.split(': ', 1)
        out[k] = v
    return out


def status(m):
    with open(join(lnk(m), b'status'), 'rb') as f:
        return parse_status(f.read().decode())


def wait_ready(m, timeout=120, after_generation=None):
    """Poll status until state is ready (and, if given, generation is larger
    than after_generation).  Returns the status dict."""
    deadline = time.monotonic() + timeout
    while True:
        st = status(m)
        if st.get('state') == 'ready' and (
                after_generation is None or
                int(st['generation']) > after_generation):
            return st
        if time.monotonic() > deadline:
            raise AssertionError('status not ready after %ds: %r' %
                                 (timeout, st))
        time.sleep(0.05)


# --------------------------------------------------------------------------
# comparing listings

class Problems(list):
    def add(self, fmt, *args):
        self.append(fmt % args if args else fmt)

    def check(self, what=''):
        if self:
            raise AssertionError('%s: %d problem(s):\n  %s' % (
                what or 'mismatch', len(self),
                '\n  '.join(self[:40])))


def resolve_vlink(m, dirpath, name, probs):
    """readlink of a virtual symlink: must be relative; returns the rel path
    in the view it designates (lexically, as the kernel resolves it through
    real directories), or None."""
    p = join(dirpath, name)
    try:
        st = os.lstat(p)
    except OSError as e:
        probs.add('lstat %r: %s', p, e)
        return None
    if not stat.S_ISLNK(st.st_mode):
        probs.add('%r is not a symlink (mode %o)', p, st.st_mode)
        return None
    try:
        t = os.readlink(p)
    except OSError as e:  # gone since the lstat (a change still settling)
        probs.add('readlink %r: %s', p, e)
        return None
    if t.startswith(b'/'):
        probs.add('%r -> %r is absolute', p, t)
        return None
    # dirpath may be reached through D/.links: where it really is
    full = os.path.normpath(join(os.path.realpath(dirpath), t))
    root = os.path.realpath(b(m.mnt))
    if not full.startswith(root + b'/'):
        probs.add('%r -> %r leaves the view (%r)', p, t, full)
        return None
    return full[len(root) + 1:]


def _follow(p):
    try:
        st = os.stat(p)
        return (st.st_dev, st.st_ino)
    except OSError as e:
        return errno.errorcode.get(e.errno, e.errno)


def renameat2(old, new, flags):
    """H.renameat2 for bytes paths too."""
    H.renameat2(os.fsdecode(old), os.fsdecode(new), flags)


def check_flat_dir(m, dirpath, rels, probs, ino=None, dangling=False,
                   pointers=False):
    """dirpath holds one symlink per rel path, named FLAT(rel) (hashed form
    for FLAT longer than 255 bytes), each relative and designating rel; when
    ino is given, following it reaches that inode."""
    try:
        names = os.listdir(dirpath)
    except OSError as e:
        probs.add('listdir %r: %s', dirpath, e)
        return
    flats = collections.Counter(flat(r) for r in rels)
    if len(set(names)) != len(names):
        probs.add('%r: duplicate names in the listing', dirpath)
    got = {}
    for n in names:
        r = resolve_vlink(m, dirpath, n, probs)
        if r is None:
            continue
        got[n] = r
        f = flat(r)
        # a FLAT that could be ambiguous (a name holding U+2215 itself, or a
        # FLAT starting with the ellipsis) may take the hashed form too
        ambiguous = SLASH in r or f.startswith(ELLIPSIS) or flats[f] > 1
        hashed_ok = n.startswith(ELLIPSIS) and len(n) <= NAME_MAX
        if len(f) > NAME_MAX:
            if not hashed_ok:
                probs.add('%r: entry %r for long FLAT %r: no "…" form',
                          dirpath, n, f)
        elif ambiguous:
            if not (hashed_ok or n == f):
                probs.add('%r: entry %r for %r: neither FLAT nor "…" form',
                          dirpath, n, r)
        elif n != f:
            probs.add('%r: entry %r for %r, expected name %r', dirpath,
                      n, r, f)
        if ino is not None:
            # the path designated names the inode; following the virtual
            # link (kernel path walk) ends where following that path ends
            # (the group may be a group of symlinks)
            real = join(b(m.mnt), r)
            try:
                sti = os.lstat(real).st_ino
                if sti != ino:
                    probs.add('%r/%r designates %r, inode %d, expected %d',
                              dirpath, n, r, sti, ino)
            except OSError as e:
                probs.add('lstat %r: %s', real, e)
            if _follow(join(dirpath, n)) != _follow(real):
                probs.add('following %r/%r: %r, following %r: %r', dirpath,
                          n, _follow(join(dirpath, n)), r, _follow(real))
        if pointers:
            try:
                if not stat.S_ISLNK(os.lstat(join(b(m.mnt), r)).st_mode):
                    probs.add('%r/%r designates %r: not a symlink', dirpath,
                              n, r)
            except OSError as e:
                probs.add('%r/%r designates %r: %s', dirpath, n, r, e)
        if dangling:
            try:
                if not stat.S_ISLNK(os.lstat(join(b(m.mnt), r)).st_mode):
                    probs.add('%r/%r designates %r: not a symlink', dirpath,
                              n, r)
            except OSError as e:
                probs.add('%r/%r designates %r: %s', dirpath, n, r, e)
            e = H.errno_of(os.stat, join(dirpath, n))
            if e not in DANGLING_ERRNOS:
                probs.add('following %r/%r: %s, expected a dangling link',
                          dirpath, n, H.ename(e))
    if sorted(got.values()) != sorted(rels):
        g, w = collections.Counter(got.values()), collections.Counter(rels)
        probs.add('%r: extra %r, missing %r', dirpath,
                  sorted((g - w).elements())[:5],
                  sorted((w - g).elements())[:5])


def check_inodes(m, o, probs):
    d = join(lnk(m), b'inodes')
    devs = set(k[0] for k in o.groups)
    assert len(devs) <= 1, 'the oracle spans several filesystems: %r' % devs
    want = {str(k[1]).encode(): (k, paths) for k, paths in o.groups.items()}
    try:
        names = os.listdir(d)
    except OSError as e:
        probs.add('listdir %r: %s', d, e)
        return
    if sorted(names) != sorted(want):
        probs.add('inodes/: extra %r, missing %r',
                  sorted(set(names) - set(want))[:10],
                  sorted(set(want) - set(names))[:10])
    for n in names:
        if n not in want:
            continue
        key, paths = want[n]
        check_flat_dir(m, join(d, n), paths, probs, ino=key[1])


def check_all_dangling(m, o, probs):
    check_flat_dir(m, join(lnk(m), b'all-dangling'), o.dangling, probs,
                   dangling=True)


def check_dlink(m, o, d, probs):
    """D/.links for the directory d: where it is listed (-o links=), and
    for D other than the root a relative symlink to its page."""
    view_d = join(b(m.mnt), d)
    if os.path.lexists(join(b(m.src), d, b(H.LINKS_NAME))):
        return False   # a real entry of that name wins
    mode = links_mode(m)
    want = (d == b'' and mode != 'hidden') or (
        mode == 'visible' and o.page_has(d))
    names = os.listdir(view_d)
    if (b(H.LINKS_NAME) in names) != want:
        probs.add('%r: %s listed, expected %s (-o links=%s)', view_d,
                  H.LINKS_NAME, 'not' if want else '', mode)
    elif want and names[-1] != b(H.LINKS_NAME):
        probs.add('%r: %s listed before real entries: %r', view_d,
                  H.LINKS_NAME, names[-5:])
    if d == b'':
        return True
    p = lnk(m, d)
    try:
        st = os.lstat(p)
        t = os.readlink(p)
    except OSError as e:
        probs.add('%r: %s', p, e)
        return False
    want_t = dlink_target(d, os.lstat(join(b(m.src), d)).st_ino)
    if not stat.S_ISLNK(st.st_mode) or t != want_t:
        probs.add('%r: mode %o -> %r, expected a symlink to %r', p,
                  st.st_mode, t, want_t)
    elif st.st_size != len(t):
        probs.add('%r: size %d, target %r', p, st.st_size, t)
    return True


def check_dir(m, o, d, probs):
    """The page of the directory d (siblings/, dangling/), reached by its
    own path, the same listings reached through D/.links, and D/.links."""
    base = page(m, d)
    if check_dlink(m, o, d, probs) and d != b'':
        for sub in (b'siblings', b'dangling', b'pointed-by'):
            try:
                a = sorted(os.listdir(join(lnk(m, d), sub)))
                w = sorted(os.listdir(join(base, sub)))
            except OSError as e:
                probs.add('%r: %s', join(lnk(m, d), sub), e)
                continue
            if a != w:
                probs.add('%r lists %r, %r lists %r', join(lnk(m, d), sub), a,
                          join(base, sub), w)
    sib = o.siblings_of_dir(d)
    sd = join(base, b'siblings')
    try:
        names = os.listdir(sd)
    except OSError as e:
        probs.add('listdir %r: %s', sd, e)
        names = None
    if names is not None:
        if sorted(names) != sorted(sib):
            probs.add('%r: extra %r, missing %r', sd,
                      sorted(set(names) - set(sib))[:10],
                      sorted(set(sib) - set(names))[:10])
        for n in names:
            if n not in sib:
                continue
            key, others = sib[n]
            p = join(sd, n)
            st = os.lstat(p)
            if not stat.S_ISDIR(st.st_mode):
                probs.add('%r is not a directory', p)
                continue
            check_flat_dir(m, p, others, probs, ino=key[1])
    dd = join(base, b'dangling')
    want = o.dangling_of_dir(d)
    try:
        names = os.listdir(dd)
    except OSError as e:
        probs.add('listdir %r: %s', dd, e)
        return
    if sorted(names) != want:
        probs.add('%r: extra %r, missing %r', dd,
                  sorted(set(names) - set(want))[:10],
                  sorted(set(want) - set(names))[:10])
    for n in names:
        r = resolve_vlink(m, dd, n, probs)
        if r is not None and r != join(d, n):
            probs.add('%r/%r designates %r, expected %r', dd, n, r,
                      join(d, n))


def check_pointed(m, o, d, probs):
    """pointed-by/ of the page of d (reached by its own path; check_dir
    compares it with the one reached through D/.links): one NAME/ per entry
    pointed at, holding one FLAT -> REL per symlink pointing at it, each
    leading to that symlink."""
    pd = join(page(m, d), b'pointed-by')
    want = o.pointed_of_dir(d)
    try:
        names = os.listdir(pd)
    except OSError as e:
        probs.add('listdir %r: %s', pd, e)
        return
    if sorted(names) != sorted(want):
        probs.add('%r: extra %r, missing %r', pd,
                  sorted(set(names) - set(want))[:10],
                  sorted(set(want) - set(names))[:10])
    for n in names:
        if n in want:
            check_flat_dir(m, join(pd, n), want[n], probs, pointers=True)


def check_status_counts(m, o, probs, st=None):
    st = st or status(m)
    for k in STATUS_KEYS:
        if k not in st:
            probs.add('status lacks %r: %r', k, st)
    if st.get('state') != 'ready':
        probs.add('status state %r, expected ready', st.get('state'))
    for k, v in o.counts().items():
        if k in st and st[k] != str(v):
            probs.add('status %s: %s, oracle %d', k, st[k], v)
    return st


def check_everything(m, o=None, dirs=True, what=''):
    """Compare every `.links` listing of the view with the oracle."""
    o = o or Oracle(m.src, m.mnt)
    probs = Problems()
    check_inodes(m, o, probs)
    check_all_dangling(m, o, probs)
    if dirs:
        for d in o.dirs:
            check_dir(m, o, d, probs)
            check_pointed(m, o, d, probs)
    check_status_counts(m, o, probs)
    probs.check(what or 'view vs oracle')
    return o


# --------------------------------------------------------------------------
# source fingerprints (for "changes nothing in the source")

def fingerprint(top):
    """A listing of everything under top with metadata and content hashes."""
    top = b(top)
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for n in dirnames + filenames + ([b'.'] if dirpath == top else []):
            p = os.path.normpath(join(dirpath, n))
            st = os.lstat(p)
            item = (st.st_mode, st.st_ino, st.st_nlink, st.st_uid, st.st_gid,
                    st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            if stat.S_ISLNK(st.st_mode):
                item += (os.readlink(p),)
            elif stat.S_ISREG(st.st_mode):
                with open(p, 'rb') as f:
                    item += (hashlib.sha256(f.read()).hexdigest(),)
            try:
                xa = sorted(os.listxattr(p, follow_symlinks=False))
                item += (tuple((a, os.getxattr(p, a, follow_symlinks=False))
                               for a in xa),)
            except OSError:
                pass
            out[p[len(top):]] = item
    return out


def virtual_entries(m, dirs):
    """Every virtual path of the page of each rel dir in dirs, reached by
    its own path (and the root's extra entries), with each D/.links: list
    of bytes paths."""
    out = []
    for d in dirs:
        base = page(m, d)
        out.append(base)
        if d != b'':
            out.append(lnk(m, d))
        for sub in (b'siblings', b'dangling', b'pointed-by') + (
                (b'inodes', b'all-dangling', b'status', b'dirs')
                if d == b'' else ()):
            p = join(base, sub)
            out.append(p)
            if sub == b'status':
                continue
            for n in os.listdir(p):
                q = join(p, n)
                out.append(q)
                if stat.S_ISDIR(os.lstat(q).st_mode):
                    out.extend(join(q, x) for x in os.listdir(q))
    return out


# --------------------------------------------------------------------------
# mounting generated trees

_counter = [0]


def mount_tree(linkfs, tmp_path, *opts, odd=True, loops=True, outside=False,
               ready=True, mktree_args=(), **kw):
    """Mount a tools/mktree tree (small by default) and wait for the scan.
    kw goes to mktree() (files, dirs, depth, seed, symlinks, dangling)."""
    _counter[0] += 1
    args = list(mktree_args)
    if odd:
        args.append('--odd-names')
    if not loops:
        args.append('--no-loops')
    if outside:
        out = tmp_path / ('outside%d' % _counter[0])
        args += ['--outside', out]

    m = linkfs(*opts, populate=lambda s: mktree(s, *args, **kw))
    if ready:
        wait_ready(m)
    return m
