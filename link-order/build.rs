//! The build script of every Lambda binary crate (`build = "../../link-order/build.rs"`): links the
//! functions the binary runs first, so the pages a cold start touches are few and contiguous.
//!
//! Why: a release binary is 7 to 11 MB of code, and a Lambda's RSS is mostly the pages of it that init and
//! the first invocation touch. The kernel maps a file page with its neighbours (fault-around, 64 KiB), so a
//! few hundred hot functions spread over the whole text keep most of it resident. Placed together by
//! `link-order/<binary>.txt` (the symbols one run executed, written by `make link-order`), they keep about
//! 1 MB resident instead of 4 (bench/README.md, "Link order").
//!
//! Applied only where it is known to work: a release build for `x86_64-unknown-linux-gnu` with Rust's
//! default linker (LLD, the default there since Rust 1.90). Elsewhere (`cargo lambda build`, whose Zig
//! linker rejects `--symbol-ordering-file`; another linker set through `RUSTC_LINKER`) the binary is the
//! same code in the compiler's order. `GCX_LINK_ORDER=0` turns it off. A symbol of the list the build no
//! longer has is ignored, so a stale list costs memory, never a failed build.

use std::env;
use std::path::PathBuf;

fn main() {
    let package = env::var("CARGO_PKG_NAME").expect("cargo sets CARGO_PKG_NAME");
    let manifest =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let list = manifest
        .join("../../link-order")
        .join(format!("{package}.txt"));
    println!("cargo:rerun-if-changed={}", list.display());
    println!("cargo:rerun-if-env-changed=GCX_LINK_ORDER");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");

    let wanted = env::var("GCX_LINK_ORDER").map_or(true, |v| v != "0");
    let release = env::var("PROFILE").is_ok_and(|p| p == "release");
    let default_lld = env::var("TARGET").is_ok_and(|t| t == "x86_64-unknown-linux-gnu")
        && env::var_os("RUSTC_LINKER").is_none();
    if !(wanted && release && default_lld && list.is_file()) {
        return;
    }
    let list = list.canonicalize().expect("the link-order list exists");
    println!(
        "cargo:rustc-link-arg-bin={package}=-Wl,--symbol-ordering-file={}",
        list.display()
    );
    println!("cargo:rustc-link-arg-bin={package}=-Wl,--no-warn-symbol-ordering");
}
