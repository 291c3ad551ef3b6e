//! Links `src/malloc_tune.c` into `klero` and the examples (see the allocator's note in
//! src/main.rs). Its object is passed to the linker itself, not in a library: nothing refers to
//! the function it holds, which runs before `main`, so a library's member would be left out.

fn main() {
    println!("cargo:rerun-if-changed=src/malloc_tune.c");
    let objects = cc::Build::new()
        .file("src/malloc_tune.c")
        .warnings(true)
        .compile_intermediates();
    for o in objects {
        println!("cargo:rustc-link-arg-bin=klero={}", o.display());
        println!("cargo:rustc-link-arg-examples={}", o.display());
    }
}
