#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# dist/build-deb.sh: builds the Debian package p0f-rs into target/debian/.
# Needs cargo-deb (cargo install cargo-deb --locked).
#
# Steps: release binaries, man pages and completions from the clap
# definitions (p0f-dist), gzip the pages, then cargo-deb with the metadata
# in crates/p0f-dist/Cargo.toml.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo build --release -p p0f-cli -p p0f-milter -p p0f-dist
rm -rf target/dist
./target/release/p0f-dist target/dist
gzip -9n target/dist/man/*.[18]
# --strip: the release profile keeps line tables for profiling; the package
# does not need them.
cargo deb -p p0f-dist --no-build --strip "$@"
