# shellcheck shell=bash
# Helpers shared by the tools (test, demo, tutorial, bench, fresh-machine).
# Source this file; do not run it.

# The Debian packages needed to build linkfs and run its tests (checked on a
# fresh minimal Debian 12 by tools/fresh-machine; see docs/fresh-machine.md):
# the build; the FUSE helpers (fusermount3, mount.fuse3); Debian's python3
# with pytest (every test, tools/tutorial); getfattr (attr: the tutorial)
# and getfacl (acl), to look at extended attributes and ACLs through a
# view; mount, unshare, setpriv (util-linux); groff (the man page's test).
# clang-format: the format check (tools/check-format). sqlite3: the lock
# tests write databases with it and with Python's module. rsync and git:
# what copying and versioning a view do (tests/integration/test_links_shape.py).
LINKFS_PACKAGES=(meson ninja-build pkg-config gcc libfuse3-dev fuse3
                 libglib2.0-dev libglib2.0-bin python3 python3-pytest attr acl
                 util-linux groff-base clang-format sqlite3 rsync git)

linkfs_log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
linkfs_die() { linkfs_log "$*"; exit 1; }

# linkfs_sudo: prints the prefix needed to run a command as root
# ("" when root already, "sudo" when available), fails otherwise.
linkfs_sudo() {
    if [ "$(id -u)" -eq 0 ]; then
        echo ""
    elif command -v sudo >/dev/null 2>&1; then
        echo "sudo"
    else
        return 1
    fi
}

# linkfs_install_packages [PKG...]: installs the packages (default:
# LINKFS_PACKAGES) that are not installed yet.  Idempotent: runs
# `apt-get update` and `apt-get install` only when something is missing.
linkfs_install_packages() {
    local pkgs=("$@") missing=() p status sudo
    [ ${#pkgs[@]} -gt 0 ] || pkgs=("${LINKFS_PACKAGES[@]}")
    if ! command -v dpkg-query >/dev/null 2>&1; then
        linkfs_log "not a Debian system (no dpkg-query): install ${pkgs[*]} yourself"
        return 0
    fi
    for p in "${pkgs[@]}"; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
        [ "$status" = installed ] || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    sudo=$(linkfs_sudo) ||
        linkfs_die "missing packages: ${missing[*]}; run as root or install sudo"
    linkfs_log "installing ${missing[*]} (a few minutes the first time)"
    # apt's output goes to a log, shown only if something fails.
    local log
    log=$(mktemp "${TMPDIR:-/tmp}/linkfs-apt.XXXXXX") ||
        linkfs_die "cannot make a temporary file"
    if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        linkfs_die "apt-get update failed (log: $log)"
    fi
    if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
        tail -n 20 "$log" >&2
        linkfs_die "apt-get install ${missing[*]} failed (log: $log)"
    fi
    rm -f "$log"
}

# linkfs_fuse_for_users: the tests and tools/bench also mount views as an
# unprivileged user (uid 65534, through fusermount3), which needs /dev/fuse
# open to every user: mode 0666, as Debian's udev rule makes it. Some
# containers make it 0600; run as root, this puts Debian's mode back and
# says so.
linkfs_fuse_for_users() {
    [ -c /dev/fuse ] || return 0
    local mode
    mode=$(stat -c %a /dev/fuse) || return 0
    [ "$mode" = 666 ] && return 0
    if [ "$(id -u)" -eq 0 ]; then
        chmod 0666 /dev/fuse &&
            linkfs_log "made /dev/fuse usable by every user (mode $mode -> 666, Debian's)"
    else
        linkfs_log "/dev/fuse has mode $mode: what mounts as another user is skipped"
    fi
}

# linkfs_setup BUILDDIR [MESON-OPTION...]: configures BUILDDIR, or
# reconfigures it with the given options if it exists already (wiping it if
# reconfiguring fails, e.g. after a meson upgrade).
linkfs_setup() {
    local dir=$1
    shift
    if [ -f "$dir/meson-private/coredata.dat" ]; then
        meson setup --reconfigure "$@" "$dir" ||
            meson setup --wipe "$@" "$dir"
    else
        meson setup "$@" "$dir"
    fi
}

# linkfs_check_unmount: fails, saying how to fix it, when views could be
# mounted but not unmounted here: fusermount3 run by a user other than root
# needs /etc/mtab, which booted Debian systems have (systemd-tmpfiles links
# it to ../proc/self/mounts) but minimal containers and chroots may lack.
linkfs_check_unmount() {
    [ "$(id -u)" -eq 0 ] && return 0
    [ -e /etc/mtab ] && return 0
    linkfs_die "no /etc/mtab: fusermount3 could mount views but not unmount them as a user; fix with: sudo ln -s ../proc/self/mounts /etc/mtab"
}
