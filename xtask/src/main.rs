//! `cargo xtask`: services, test, demo, bench, codegen and fuzz tasks for Wharf.

fn main() {
    println!("xtask: not yet implemented");
}
