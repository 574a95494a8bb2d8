# SPDX-License-Identifier: GPL-2.0-or-later
"""The user's documentation stays true: the tutorial's outputs are what its
commands print today, `linkfs --help`, the man page and the README's table
name every option the code accepts, the man page names every key of
`status`, renders without warnings and is installed by `meson install`."""

import os
import re
import shutil
import subprocess

import pytest

import linkfs_helpers as H

MAN = H.REPO / 'docs' / 'linkfs.1'
README = H.REPO / 'README.md'


def code_options():
    """The options linkfs accepts, read from its option table in main.c,
    plus the session options libfuse's fuse_parse_cmdline takes from it.
    -o options come as 'NAME=' or 'NAME', flags as '-X' / '--long'."""
    text = (H.REPO / 'src' / 'main.c').read_text()
    table = re.search(r'lfs_fuse_opts\[\] = \{(.*?)\};', text, re.S)
    assert table, 'no lfs_fuse_opts table in src/main.c'
    opts = set()
    for spec in re.findall(r'"([^"]+)"', table.group(1)):
        opts.add(spec.replace('%s', '').replace('%u', '').replace('%d', ''))
    assert {'-h', '--help', '-V', '--version'} <= opts, opts
    return sorted(opts | {'-f', '-d', '-s'})


def mount_option_re(opt):
    """opt as a whole word (so links= is not found inside links_name=);
    NAME= may be written NAME[=VALUE] too."""
    if opt.endswith('='):
        return r'(?<![\w=-])' + re.escape(opt[:-1]) + r'\[?='
    return r'(?<![\w=-])' + re.escape(opt) + r'(?![\w=])'


def help_text(binary):
    r = subprocess.run([binary, '--help'], capture_output=True, text=True,
                       timeout=20, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    return r.stdout


def man_text(*extra):
    """The man page rendered as plain text, 80 columns."""
    groff = shutil.which('groff')
    assert groff, 'groff not found (package groff-base)'
    r = subprocess.run([groff, '-man', '-Tutf8', '-P-cbou', '-rLL=80n',
                        *extra, str(MAN)], capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, LC_ALL='C.UTF-8'))
    assert r.returncode == 0, r.stderr
    return r.stdout, r.stderr


def man_section(text, title):
    m = re.search(r'^%s\n(.*?)^\S' % re.escape(title), text, re.M | re.S)
    assert m, 'no section %s in the man page' % title
    return m.group(1)


def test_help_fits_one_screen(linkfs_bin):
    lines = help_text(linkfs_bin).splitlines()
    # 24 rows, one of them for the next prompt
    assert len(lines) <= 23, len(lines)
    wide = [ln for ln in lines if len(ln) > 80]
    assert not wide, wide


@pytest.mark.parametrize('opt', code_options())
def test_help_lists_option(linkfs_bin, opt):
    text = help_text(linkfs_bin)
    if opt.startswith('-'):
        assert re.search(r'^ +(\S+, )?' + re.escape(opt) + r'(?![\w-])',
                         text, re.M), text
    else:
        assert re.search(r'-o ' + mount_option_re(opt), text), text


@pytest.mark.parametrize('opt', code_options())
def test_man_page_describes_option(opt):
    section = man_section(man_text()[0], 'OPTIONS')
    # a tag line: the option at the start of a 7-column indented line
    if opt.startswith('-'):
        rx = r'^ {7}(\S+, )?' + re.escape(opt) + r'(?![\w-])'
    else:
        rx = r'^ {7}' + mount_option_re(opt)
    assert re.search(rx, section, re.M), section


@pytest.mark.parametrize('opt', code_options())
def test_readme_table_lists_option(opt):
    text = README.read_text(encoding='utf-8')
    table = re.search(r'^### Options\n(.*?)^#', text, re.M | re.S)
    assert table, 'no "### Options" section in README.md'
    rows = [ln for ln in table.group(1).splitlines() if ln.startswith('| `')]
    firsts = [ln.split('|')[1] for ln in rows]
    if opt.startswith('-'):
        rx = r'`' + re.escape(opt) + r'`'
    else:
        rx = r'`-o ' + mount_option_re(opt)
    assert any(re.search(rx, f) for f in firsts), firsts


def test_man_page_renders_without_warnings():
    out, err = man_text('-ww', '-z')
    assert err == '', err


def test_man_page_describes_every_status_key(linkfs):
    m = linkfs()
    keys = [ln.split(':', 1)[0]
            for ln in m.v('.links', 'status').read_text().splitlines()]
    assert 'state' in keys and 'generation' in keys, keys
    section = man_section(man_text()[0], 'STATUS FILE')
    tags = re.findall(r'^ {7}(\S+)', section, re.M)
    missing = [k for k in keys if k not in tags]
    assert not missing, (missing, tags)


def test_meson_install_installs_man_page(tmp_path):
    build = os.environ.get('LINKFS_BUILD_ROOT')
    if not build:
        pytest.skip('LINKFS_BUILD_ROOT not set (run through meson test)')
    meson = shutil.which('meson') or '/usr/bin/meson'
    dest = tmp_path / 'dest'
    r = subprocess.run([meson, 'install', '-C', build, '--no-rebuild',
                        '--destdir', str(dest)], capture_output=True,
                       text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    pages = list(dest.rglob('man1/linkfs.1'))
    assert [p.parent.parent.name for p in pages] == ['man'], pages
    assert pages[0].parent.parent.parent.name == 'share', pages
    assert pages[0].read_bytes() == MAN.read_bytes()
    bins = [p for p in dest.rglob('bin/linkfs') if os.access(p, os.X_OK)]
    assert len(bins) == 1, list(dest.rglob('*'))


def test_tutorial_is_up_to_date(linkfs_env, tmp_path):
    """tools/tutorial.py reruns the tutorial's commands through a view made
    by this build and compares their output with docs/tutorial.md (up to
    inode numbers, dates, sizes and owners)."""
    r = subprocess.run([H.PYTHON, str(H.REPO / 'tools' / 'tutorial.py'),
                        '--linkfs', linkfs_env, '--workdir', str(tmp_path),
                        '--check'], capture_output=True, text=True,
                       timeout=600, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'up to date' in r.stdout


def test_design_map_lists_every_source_file():
    """docs/design.md's file table names every file of src/ (paths
    relative to src/, in backquotes), and nothing that is gone."""
    src = H.REPO / 'src'
    files = {str(p.relative_to(src)) for p in src.rglob('*')
             if p.suffix in ('.c', '.h')}
    text = (H.REPO / 'docs' / 'design.md').read_text()
    table = [line for line in text.splitlines() if line.startswith('| ')]
    named = set(re.findall(r'`([\w./-]+\.[ch])`', '\n'.join(table)))
    assert files - named == set(), 'src/ files missing from design.md'
    assert named - files == set(), 'design.md names files src/ no longer has'
