//! Link the kernel with the hardware layer's linker script.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let ld = std::path::Path::new(&dir).join("../crates/hal/linker.ld");
    println!("cargo:rerun-if-changed={}", ld.display());
    if std::env::var("TARGET").unwrap().starts_with("riscv64") {
        println!("cargo:rustc-link-arg=-T{}", ld.display());
        println!("cargo:rustc-link-arg=--no-relax");
    }
}
