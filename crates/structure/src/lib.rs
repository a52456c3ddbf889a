//! The workspace's structure as rules a test holds (`tests/house.rs`): which crate may depend
//! on which, no import circle between the files of a crate, files under 800 lines, and every
//! `lib.rs` opening with what its crate owns.
//!
//! Reads source text only (parsed by `syn`, as the compiler parses it); it must not build,
//! run or change the code it reads.

pub mod circles;
pub mod imports;
pub mod modules;

pub use circles::{circles, Circle};
pub use imports::{arrows, Arrows};
pub use modules::{ModuleTree, ReadError};

use std::path::{Path, PathBuf};

/// The circles of one crate root (`src/lib.rs` or `src/main.rs`), each with the names that
/// tie its files.
pub fn circles_of(root: &Path) -> Result<Vec<Circle>, ReadError> {
    let tree = ModuleTree::read(root)?;
    Ok(circles(&arrows(&tree)))
}

/// The workspace root: two folders above this crate.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/structure lies two folders below the workspace")
        .to_path_buf()
}

/// The crate roots of the workspace: every `crates/*/src/lib.rs` and `src/main.rs`.
pub fn crate_roots(workspace: &Path) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    let Ok(entries) = std::fs::read_dir(workspace.join("crates")) else {
        return roots;
    };
    let mut crates: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    crates.sort();
    for dir in crates {
        for root in ["src/lib.rs", "src/main.rs"] {
            let file = dir.join(root);
            if file.is_file() {
                roots.push(file);
            }
        }
    }
    roots
}
