//! The data compiled into the binary: the bundled dataset, its actors and its technique table.
//! They are stored compressed (the build script packs them) and inflated once, on first use.

use std::sync::OnceLock;

/// One bundled file: its name as problems report it, and its compressed text.
pub struct Bundled {
    pub name: &'static str,
    packed: &'static [u8],
    text: OnceLock<String>,
}

pub static INCIDENTS: Bundled =
    Bundled::new("data/incidents.json", include_bytes!(concat!(env!("OUT_DIR"), "/incidents.json.deflate")));
pub static ACTORS: Bundled =
    Bundled::new("data/actors.json", include_bytes!(concat!(env!("OUT_DIR"), "/actors.json.deflate")));
pub static TECHNIQUES: Bundled = Bundled::new(
    "data/attack-techniques.json",
    include_bytes!(concat!(env!("OUT_DIR"), "/attack-techniques.json.deflate")),
);

impl Bundled {
    const fn new(name: &'static str, packed: &'static [u8]) -> Self {
        Self { name, packed, text: OnceLock::new() }
    }

    /// The file's text. The build packed it from a file the tests check, so it inflates to UTF-8
    /// text; were it ever damaged, it reads as empty and the loader reports an empty file.
    pub fn text(&self) -> &str {
        self.text.get_or_init(|| {
            miniz_oxide::inflate::decompress_to_vec(self.packed)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .unwrap_or_default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_files_inflate_to_what_is_in_data() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/");
        for b in [&INCIDENTS, &ACTORS, &TECHNIQUES] {
            let file = b.name.trim_start_matches("data/");
            assert_eq!(b.text(), std::fs::read_to_string(format!("{dir}{file}")).unwrap(), "{}", b.name);
        }
    }
}
