//! Links the `fulmar` binary with the functions that a start runs placed together.
//!
//! When a process first runs code on a page of its binary, the kernel maps the whole
//! 64 kB block around that page (fault-around). Linked in the default order, the code
//! a start runs (argument parsing, configuration, the runtime, the pools, migrations,
//! the router, the workers) lies in 157 of the 252 blocks of the machine code, so an
//! idle server kept 10 MB of code resident although it had run only a small part of it.
//! `symbol-order.txt` lists those functions, as recorded by `scripts/symbol-order`, and
//! the linker puts them first; an idle server then keeps about 2.4 MB of code resident
//! (BENCHMARKS.md, "Idle RSS").
//!
//! A name in the list that the binary lacks (after a code change, another toolchain or
//! other features) is skipped silently, so a stale list only loses some of the gain; the
//! script says how many of its names a binary still has.
//!
//! Only lld understands `--symbol-ordering-file`. Rust links x86_64 Linux (glibc)
//! binaries with its own lld by default since 1.90, so the list is used there, and not
//! when a linker is configured for that target, nor when `FULMAR_NO_SYMBOL_ORDER` is set
//! (the escape hatch for a setup this check cannot see).
//!
//! With the same linker, and a C library that reads them (glibc 2.36 or later, on the
//! machine that builds and so runs the binary), the relative relocations are packed
//! (`-z pack-relative-relocs`, DT_RELR): the dynamic loader reads all of them at every
//! start, and the unpacked table is 0.9 MB of the binary kept resident.

use std::env;
use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=symbol-order.txt");
    println!("cargo:rerun-if-env-changed=FULMAR_NO_SYMBOL_ORDER");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER");

    if env::var_os("FULMAR_NO_SYMBOL_ORDER").is_some()
        || env::var("TARGET").as_deref() != Ok("x86_64-unknown-linux-gnu")
        || env::var_os("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_some()
        || env::var("CARGO_ENCODED_RUSTFLAGS").is_ok_and(|flags| flags.contains("linker"))
        || !rustc_links_with_lld()
    {
        return;
    }
    if env::var("HOST") == env::var("TARGET") && glibc_reads_relr() {
        println!("cargo:rustc-link-arg-bin=fulmar=-Wl,-z,pack-relative-relocs");
    }
    let list =
        Path::new(&env::var("CARGO_MANIFEST_DIR").expect("set by cargo")).join("symbol-order.txt");
    if list.is_file() {
        println!(
            "cargo:rustc-link-arg-bin=fulmar=-Wl,--symbol-ordering-file={}",
            list.display()
        );
        // Names missing from the binary are expected (see above), not worth a warning.
        println!("cargo:rustc-link-arg-bin=fulmar=-Wl,--no-warn-symbol-ordering");
    }
}

/// Whether the compiler is 1.90 or later, which links this target with lld.
fn rustc_links_with_lld() -> bool {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let Ok(out) = Command::new(rustc).arg("--version").output() else {
        return false;
    };
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let version = String::from_utf8_lossy(&out.stdout);
    let mut parts = version
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    matches!((parts.next(), parts.next()), (Some(major), Some(minor)) if major > 1 || minor >= 90)
}

/// Whether this machine's C library is glibc 2.36 or later, the first to read packed
/// relative relocations (a binary that has them does not start on an older one).
fn glibc_reads_relr() -> bool {
    let Ok(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    // "glibc 2.36"
    let version = String::from_utf8_lossy(&out.stdout);
    let Some(number) = version.trim().strip_prefix("glibc ") else {
        return false;
    };
    let mut parts = number.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    matches!((parts.next(), parts.next()), (Some(major), Some(minor)) if major > 2 || minor >= 36)
}
