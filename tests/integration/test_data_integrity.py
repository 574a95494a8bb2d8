# SPDX-License-Identifier: GPL-2.0-or-later
"""Data integrity under mixed I/O, in the manner of fsx: a seeded random
sequence of writes, appends, truncations, hole punches, shared-mapping
writes, copy_file_range and reopenings, made through several descriptors
on both names of a hard-linked file, checked against a model in memory.
The oracle is the model, read back through the view (every descriptor)
and from the source itself; it runs with FUSE passthrough where the kernel
has it and with the daemon serving the data (-o passthrough=off)."""

import errno
import mmap
import os
import random

import pytest

import linkfs_helpers as H

MAX_SIZE = 256 * 1024
OPS = 1500
CHECK_EVERY = 50
NAMES = ('a', 'b')


class Model:
    def __init__(self):
        self.data = bytearray()

    def write(self, off, buf):
        if off > len(self.data):
            self.data += b'\0' * (off - len(self.data))
        self.data[off:off + len(buf)] = buf

    def truncate(self, size):
        if size < len(self.data):
            del self.data[size:]
        else:
            self.data += b'\0' * (size - len(self.data))

    def punch(self, off, n):
        end = min(off + n, len(self.data))
        if off < end:
            self.data[off:end] = b'\0' * (end - off)


class Fsx:
    """The operations; each changes the file through the view and the
    model the same way."""

    def __init__(self, m, rnd):
        self.m = m
        self.rnd = rnd
        self.model = Model()
        self.fds = []
        self.log = []
        self.punch_ok = True
        for _ in range(3):
            self.reopen()

    def path(self):
        return self.m.v(self.rnd.choice(NAMES))

    def fd(self):
        return self.rnd.choice(self.fds)

    def reopen(self):
        if len(self.fds) == 3:
            os.close(self.fds.pop(self.rnd.randrange(3)))
        self.fds.append(os.open(self.path(), os.O_RDWR))

    def span(self, limit=MAX_SIZE):
        off = self.rnd.randrange(limit)
        n = self.rnd.randint(1, min(limit - off, 3 * 4096 + 7))
        return off, n

    def op_write(self):
        off, n = self.span()
        buf = self.rnd.randbytes(n)
        self.log.append('write %d+%d' % (off, n))
        assert os.pwrite(self.fd(), buf, off) == n
        self.model.write(off, buf)

    def op_append(self):
        n = self.rnd.randint(1, 5000)
        if len(self.model.data) + n > MAX_SIZE:
            return
        buf = self.rnd.randbytes(n)
        self.log.append('append %d' % n)
        fd = os.open(self.path(), os.O_WRONLY | os.O_APPEND)
        try:
            assert os.write(fd, buf) == n
        finally:
            os.close(fd)
        self.model.write(len(self.model.data), buf)

    def op_truncate(self):
        size = self.rnd.randrange(MAX_SIZE)
        self.log.append('truncate %d' % size)
        if self.rnd.random() < 0.5:
            os.ftruncate(self.fd(), size)
        else:
            os.truncate(self.path(), size)
        self.model.truncate(size)

    def op_punch(self):
        if not self.punch_ok:
            return
        off, n = self.span()
        self.log.append('punch %d+%d' % (off, n))
        try:
            H.fallocate(self.fd(), H.FALLOC_FL_PUNCH_HOLE |
                        H.FALLOC_FL_KEEP_SIZE, off, n)
        except OSError as e:
            if e.errno != errno.EOPNOTSUPP:
                raise
            self.punch_ok = False
            return
        self.model.punch(off, n)

    def op_mmap(self):
        size = len(self.model.data)
        if size == 0:
            return
        off, n = self.span(size)
        buf = self.rnd.randbytes(n)
        self.log.append('mmap %d+%d' % (off, n))
        with mmap.mmap(self.fd(), size) as mm:
            mm[off:off + n] = buf
            mm.flush()
        self.model.write(off, buf)

    def op_copy(self):
        size = len(self.model.data)
        if size == 0:
            return
        src, n = self.span(size)
        dst = self.rnd.randrange(MAX_SIZE - n)
        self.log.append('copy %d+%d -> %d' % (src, n, dst))
        got = os.copy_file_range(self.fd(), self.fd(), n, src, dst)
        # The kernel may copy less than asked; the model copies what it
        # says it copied (overlapping ranges are refused with EINVAL).
        chunk = bytes(self.model.data[src:src + got])
        self.model.write(dst, chunk)

    def op_read(self):
        size = len(self.model.data)
        off, n = self.span(max(size, 1))
        self.log.append('read %d+%d' % (off, n))
        want = bytes(self.model.data[off:off + n])
        assert os.pread(self.fd(), n, off) == want, self.where()

    def step(self):
        op = self.rnd.choices(
            [self.op_write, self.op_append, self.op_truncate, self.op_punch,
             self.op_mmap, self.op_copy, self.op_read, self.reopen],
            weights=[30, 8, 6, 6, 8, 6, 30, 6])[0]
        try:
            op()
        except OSError as e:
            if op == self.op_copy and e.errno in (errno.EINVAL, errno.EXDEV):
                return  # overlapping range: refused on ext4 too
            raise

    def where(self):
        return 'after: ' + '; '.join(self.log[-8:])

    def check(self):
        want = bytes(self.model.data)
        for fd in self.fds:
            assert os.fstat(fd).st_size == len(want), self.where()
            assert os.pread(fd, MAX_SIZE + 1, 0) == want, self.where()
        for name in NAMES:
            assert self.m.v(name).read_bytes() == want, self.where()
            assert self.m.s(name).read_bytes() == want, self.where()
            assert os.stat(self.m.v(name)).st_size == len(want)

    def close(self):
        for fd in self.fds:
            os.close(fd)
        self.fds = []


@pytest.mark.parametrize('passthrough', ['auto', 'off'])
@pytest.mark.parametrize('seed', [1, 2, 3])
def test_random_io_matches_model(linkfs, passthrough, seed):
    def populate(s):
        (s / 'a').write_bytes(b'')
        os.link(s / 'a', s / 'b')
    m = linkfs('-o', 'passthrough=' + passthrough, populate=populate)
    fsx = Fsx(m, random.Random(seed))
    try:
        for k in range(OPS):
            fsx.step()
            if k % CHECK_EVERY == CHECK_EVERY - 1:
                fsx.check()
        fsx.check()
    finally:
        fsx.close()
    m.unmount()
    assert m.s('a').read_bytes() == bytes(fsx.model.data)
