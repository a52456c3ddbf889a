//! Arrows between the files of one crate: file A → file B when A names something B defines,
//! through a `use` (a glob `use super::*` names the whole parent) or a path in its code
//! (`crate::server::not_found()`, `super::listener::prepare`, `handlers::admin::quotas`).
//! Declaring a module (`mod x;`) is no arrow.

use crate::modules::{flatten, CratePath, ModuleTree};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use syn::visit::Visit;

/// Every arrow of a crate, with the names the first file takes from the second.
#[derive(Debug, Default)]
pub struct Arrows {
    pub files: BTreeSet<PathBuf>,
    pub edges: BTreeMap<(PathBuf, PathBuf), BTreeSet<String>>,
}

impl ModuleTree {
    /// The files of the modules that enclose module `at`.
    fn enclosing_files(&self, at: usize) -> BTreeSet<PathBuf> {
        let mut files = BTreeSet::new();
        let mut parent = self.modules[at].parent;
        while let Some(p) = parent {
            files.insert(self.modules[p].file.clone());
            parent = self.modules[p].parent;
        }
        files
    }

    /// The file defining what `path` (from the crate root) names, and the name taken; None
    /// when the path leaves the crate.
    pub fn resolve(&self, path: &[String]) -> Option<(PathBuf, String)> {
        self.resolve_within(path, 0)
    }

    fn resolve_within(&self, path: &[String], depth: usize) -> Option<(PathBuf, String)> {
        let mut at = 0;
        for (i, segment) in path.iter().enumerate() {
            let module = &self.modules[at];
            if let Some(&child) = module.children.get(segment) {
                at = child;
                continue;
            }
            if let Some(file) = module.items.get(segment) {
                return Some((file.clone(), segment.clone()));
            }
            if let Some(target) = module.reexports.get(segment) {
                // Re-exports lead on to the file that defines the name.
                if depth < 16 {
                    let mut onward = target.clone();
                    onward.extend(path[i + 1..].iter().cloned());
                    return self.resolve_within(&onward, depth + 1);
                }
            }
            // A name the root does not know is another crate's; one a module does not
            // know came to it by a glob: the module's file is what the path names.
            return (i > 0).then(|| (module.file.clone(), segment.clone()));
        }
        let name = path.last().cloned().unwrap_or_else(|| "crate".into());
        Some((self.modules[at].file.clone(), name))
    }
}

/// Collects the multi-segment paths of a module's code (single names come from its `use`s,
/// which are read on their own).
#[derive(Default)]
struct Paths {
    found: Vec<Vec<String>>,
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_path(&mut self, p: &'ast syn::Path) {
        if p.leading_colon.is_none() && p.segments.len() > 1 {
            self.found
                .push(p.segments.iter().map(|s| s.ident.to_string()).collect());
        }
        syn::visit::visit_path(self, p);
    }

    // Child modules are modules of their own; `use`s are read apart.
    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {}
    fn visit_item_use(&mut self, _: &'ast syn::ItemUse) {}
}

/// The arrows between the files of `tree`.
pub fn arrows(tree: &ModuleTree) -> Arrows {
    let mut out = Arrows::default();
    for (at, module) in tree.modules.iter().enumerate() {
        out.files.insert(module.file.clone());
        let enclosing = tree.enclosing_files(at);
        let mut add = |target: Option<(PathBuf, String)>| {
            if let Some((file, name)) = target {
                if file != module.file && !enclosing.contains(&file) {
                    let key = (module.file.clone(), file);
                    out.edges.entry(key).or_default().insert(name);
                }
            }
        };
        let mut aliases: HashMap<String, CratePath> = HashMap::new();
        for item in &module.syntax {
            let syn::Item::Use(u) = item else { continue };
            let mut found = Vec::new();
            flatten(&u.tree, &mut Vec::new(), &mut found);
            for (name, segments) in found {
                let Some(absolute) = tree.absolute(at, &segments) else {
                    continue;
                };
                match name {
                    Some(name) => {
                        add(tree.resolve(&absolute));
                        aliases.insert(name, absolute);
                    }
                    None => add(tree.resolve(&absolute).map(|(file, _)| (file, "*".into()))),
                }
            }
        }
        let mut paths = Paths::default();
        for item in &module.syntax {
            paths.visit_item(item);
        }
        for segments in paths.found {
            let absolute = match aliases.get(&segments[0]) {
                Some(alias) => {
                    let mut p = alias.clone();
                    p.extend(segments[1..].iter().cloned());
                    Some(p)
                }
                None => tree.absolute(at, &segments),
            };
            if let Some(absolute) = absolute {
                add(tree.resolve(&absolute));
            }
        }
    }
    out
}
