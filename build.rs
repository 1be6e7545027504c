//! Compresses the bundled data files into the build directory: the binary carries them
//! compressed (a quarter of their size) and inflates each once when it is first needed.

use std::path::Path;

const FILES: [&str; 3] = ["incidents.json", "actors.json", "attack-techniques.json"];

fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    for name in FILES {
        let source = Path::new("data").join(name);
        println!("cargo:rerun-if-changed={}", source.display());
        let text = std::fs::read(&source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        let packed = miniz_oxide::deflate::compress_to_vec(&text, 10);
        let target = Path::new(&out).join(format!("{name}.deflate"));
        std::fs::write(&target, packed).unwrap_or_else(|e| panic!("{}: {e}", target.display()));
    }
}
