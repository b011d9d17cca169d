//! Link step for every package whose binaries, tests or examples link libtorch (tch).
//!
//! torch-sys gives the final binaries no rpath, and rustc's as-needed linking drops
//! `libtorch_cuda.so` (nothing references it by symbol), so CUDA would never be used. This script
//! adds an rpath to libtorch's folder and keeps `libtorch_cuda` NEEDED where it exists. Packages
//! use it with `build = "../encoder/build.rs"` and a direct dependency on torch-sys (which exports
//! its lib folder as `DEP_TCH_LIBTORCH_LIB` only to direct dependents).
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    println!("cargo:rerun-if-changed=../encoder/build.rs");
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        println!("cargo:warning=torch-sys exported no DEP_TCH_LIBTORCH_LIB: no rpath added");
        return;
    };
    let lib = std::fs::canonicalize(&lib).unwrap_or_else(|_| PathBuf::from(&lib));
    println!("cargo:rustc-link-search=native={}", lib.display());
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    if lib.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
}
