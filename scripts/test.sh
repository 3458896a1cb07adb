#!/usr/bin/env bash
# The whole test suite, on a bare machine with only Rust: installs what the
# tests need when it is missing (keyutils for a fresh kernel session keyring,
# xvfb and xclip for the clipboard tests, util-linux's unshare for the
# other-namespace keyring tests, gcc as cargo's linker, python3 for the ptrace
# test, script for the pseudo-terminal tests, zsh and fish to parse their
# completion scripts, etcd for the three-member test clusters), then runs every test
# inside a fresh session keyring, so that the OS-keyring tests use the real
# kernel keyring.
# Arguments go to `cargo test` (for example: scripts/test.sh --test integration).
set -euo pipefail
cd "$(dirname "$0")/.."

# command -> the Debian package that gives it
declare -A package=([keyctl]=keyutils [Xvfb]=xvfb [xclip]=xclip [unshare]=util-linux [cc]=gcc [python3]=python3 [script]=bsdutils [zsh]=zsh [fish]=fish [etcd]=etcd-server)

missing() {
    local cmd
    for cmd in "${!package[@]}"; do
        command -v "$cmd" >/dev/null || echo "${package[$cmd]}"
    done | sort -u
}

need=$(missing | tr '\n' ' ')
if [ -n "$need" ]; then
    echo "scripts/test.sh: installing what the tests need: ${need% }" >&2
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
    if command -v apt-get >/dev/null; then
        # shellcheck disable=SC2086 # one word per package
        "${sudo[@]}" apt-get update -qq >/dev/null 2>&1 || true
        # shellcheck disable=SC2086
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null 2>&1 || true
    fi
    still=$(missing | tr '\n' ' ')
    if [ -n "$still" ]; then
        echo "scripts/test.sh: the tests need the package(s) ${still% }, which could not be installed here: install them (Debian names), then run this again" >&2
        exit 1
    fi
fi

keyctl session - cargo test --locked "$@"
# The library's vault suite once more, on a real three-member etcd cluster
# (one suite, both stores: see src/vault/test_support.rs).
if [ "$#" -eq 0 ]; then
    INTERVAULT_TEST_STORE=etcd keyctl session - cargo test --locked --lib -- vault::tests:: vault::audit_tests::
fi
