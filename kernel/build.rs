//! Link the kernel with the hardware layer's linker script; point `vdso.rs` at the vDSO image.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let ld = std::path::Path::new(&dir).join("../crates/hal/linker.ld");
    println!("cargo:rerun-if-changed={}", ld.display());
    if std::env::var("TARGET").unwrap().starts_with("riscv64") {
        println!("cargo:rustc-link-arg=-T{}", ld.display());
        println!("cargo:rustc-link-arg=--no-relax");
    }
    // The vDSO (vdso/ built by scripts/build-vdso.sh, which scripts/build-kernel.sh runs first),
    // embedded with include_bytes!: the kernel is rebuilt whenever it changes.
    let vdso = std::path::Path::new(&dir).join("../build/vdso.so");
    println!("cargo:rerun-if-changed={}", vdso.display());
    if !vdso.exists() {
        panic!("{} is missing: run scripts/build-vdso.sh (scripts/build-kernel.sh does)", vdso.display());
    }
    println!("cargo:rustc-env=VELOX_VDSO={}", vdso.canonicalize().unwrap().display());
}
