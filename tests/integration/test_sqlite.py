# SPDX-License-Identifier: GPL-2.0-or-later
"""SQLite written through the view and the source at once, and through two
views of one source (issue 15, item 1): no row lost, the database whole.
SQLite keeps writers apart with POSIX locks and, in WAL mode, with a
shared memory file every connection maps.  Rollback-journal databases
need the locks to be the source's and a lock to make the view read what
the source wrote under it; WAL databases also need the map to be the
source's own pages, which only FUSE passthrough gives (root, Linux 6.9+):
without it, WAL is safe through one view only."""

import os
import subprocess

import pytest

import linkfs_helpers as H
from test_passthrough import kernel_has_passthrough

ROWS = 300
PASSTHROUGH = os.geteuid() == 0 and kernel_has_passthrough()

WRITER = r'''
import sqlite3, sys
path, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
db = sqlite3.connect(path, timeout=60, isolation_level=None)
db.execute('PRAGMA synchronous=OFF')
for k in range(n):
    db.execute('BEGIN IMMEDIATE')
    db.execute('INSERT INTO t(who, k) VALUES (?, ?)', (who, k))
    (total,) = db.execute('SELECT count(*) FROM t').fetchone()
    db.execute('UPDATE counter SET n = n + 1')
    db.execute('COMMIT')
db.close()
'''


def make_db(path, journal):
    r = subprocess.run(
        ['sqlite3', str(path)],
        input='PRAGMA journal_mode=%s;\n'
              'CREATE TABLE t(who TEXT, k INTEGER, UNIQUE(who, k));\n'
              'CREATE TABLE counter(n INTEGER);\n'
              'INSERT INTO counter VALUES (0);\n' % journal,
        capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def check_db(path, writers):
    r = subprocess.run(
        ['sqlite3', str(path)],
        input='PRAGMA integrity_check;\nSELECT who, count(*), min(k), max(k) '
              'FROM t GROUP BY who ORDER BY who;\nSELECT n FROM counter;\n',
        capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    want = ['ok'] + ['%s|%d|0|%d' % (w, ROWS, ROWS - 1)
                     for w in sorted(writers)] + [str(ROWS * len(writers))]
    assert r.stdout.split() == want


def python_writer(path, who):
    return subprocess.Popen([H.PYTHON, '-c', WRITER, str(path), who,
                             str(ROWS)], stderr=subprocess.PIPE, text=True)


def cli_writer(path, who):
    script = '.timeout 60000\nPRAGMA synchronous=OFF;\n' + ''.join(
        'BEGIN IMMEDIATE; INSERT INTO t(who, k) VALUES (\'%s\', %d); '
        'UPDATE counter SET n = n + 1; COMMIT;\n' % (who, k)
        for k in range(ROWS))
    p = subprocess.Popen(['sqlite3', '-bail', str(path)],
                         stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    p.stdin.write(script)
    p.stdin.close()
    return p


def run_writers(writers):
    procs = [make(path, who) for who, (make, path) in writers.items()]
    for p in procs:
        err = p.stderr.read()
        assert p.wait(timeout=600) == 0, err


def mounts(linkfs, where, passthrough):
    a = linkfs('-o', 'passthrough=' + passthrough)
    b = linkfs('-o', 'passthrough=' + passthrough, src=a.src) \
        if 'view2' in where else None
    return a, b


def paths(a, b):
    return {'view': a.v('db'), 'source': a.s('db'),
            'view2': b.v('db') if b else None}


@pytest.mark.parametrize('passthrough', ['auto', 'off'])
@pytest.mark.parametrize('where', [('view', 'source'), ('view', 'view2')])
def test_rollback_journal_loses_no_row(linkfs, where, passthrough):
    a, b = mounts(linkfs, where, passthrough)
    make_db(a.s('db'), 'DELETE')
    p = paths(a, b)
    run_writers({'w1': (python_writer, p[where[0]]),
                 'w2': (python_writer, p[where[1]])})
    check_db(a.s('db'), ['w1', 'w2'])


@pytest.mark.parametrize('where', [('view', 'source'), ('view', 'view2')])
def test_wal_loses_no_row(linkfs, where):
    if not PASSTHROUGH:
        pytest.skip('WAL through the view and the source at once needs FUSE '
                    'passthrough (root, Linux 6.9+): its shared memory '
                    'file is mapped')
    a, b = mounts(linkfs, where, 'auto')
    make_db(a.s('db'), 'WAL')
    p = paths(a, b)
    run_writers({'w1': (python_writer, p[where[0]]),
                 'w2': (python_writer, p[where[1]])})
    check_db(a.s('db'), ['w1', 'w2'])


@pytest.mark.parametrize('passthrough', ['auto', 'off'])
def test_wal_through_one_view(linkfs, passthrough):
    a, _ = mounts(linkfs, ('view',), passthrough)
    make_db(a.s('db'), 'WAL')
    run_writers({'w1': (python_writer, a.v('db')),
                 'w2': (python_writer, a.v('db'))})
    check_db(a.s('db'), ['w1', 'w2'])


@pytest.mark.parametrize('journal', ['DELETE', 'WAL'])
def test_sqlite3_shell_and_python_at_once(linkfs, journal):
    """Debian's sqlite3 through the view, Python's sqlite3 on the source."""
    if journal == 'WAL' and not PASSTHROUGH:
        pytest.skip('WAL through the view and the source at once needs FUSE '
                    'passthrough (root, Linux 6.9+)')
    a, _ = mounts(linkfs, ('view',), 'auto')
    make_db(a.s('db'), journal)
    run_writers({'cli': (cli_writer, a.v('db')),
                 'py': (python_writer, a.s('db'))})
    check_db(a.s('db'), ['cli', 'py'])
