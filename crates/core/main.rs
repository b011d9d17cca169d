//! The `webly` command line: parses flags into the library's config structs and calls `run`.
fn main() {
    println!("webly");
}
