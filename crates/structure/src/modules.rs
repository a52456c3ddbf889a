//! A crate's module tree as its files declare it: which file holds each module, the names
//! each module defines, and the names it re-exports. Test modules (`#[cfg(test)]`) are left
//! out: they are no part of the structure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A path inside the crate, from its root: `["handlers", "admin", "quotas"]`.
pub type CratePath = Vec<String>;

pub struct Module {
    pub path: CratePath,
    /// The file the module's items are written in (inline modules share their parent's).
    pub file: PathBuf,
    pub parent: Option<usize>,
    pub children: BTreeMap<String, usize>,
    /// Names defined here, with the file that defines them (`#[macro_export]` macros are
    /// the root's, written in another file).
    pub items: BTreeMap<String, PathBuf>,
    /// `pub use` names: what each names, from the crate root.
    pub reexports: BTreeMap<String, CratePath>,
    /// The module's syntax, for the import scan.
    pub syntax: Vec<syn::Item>,
}

pub struct ModuleTree {
    pub modules: Vec<Module>,
}

#[derive(Debug)]
pub enum ReadError {
    Io(PathBuf, std::io::Error),
    Parse(PathBuf, syn::Error),
    MissingModule(PathBuf, String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            ReadError::Parse(p, e) => write!(f, "{}: {e}", p.display()),
            ReadError::MissingModule(p, m) => {
                write!(f, "{}: no file for module `{m}`", p.display())
            }
        }
    }
}

impl std::error::Error for ReadError {}

pub fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.meta
                .require_list()
                .is_ok_and(|l| l.tokens.to_string().trim() == "test")
    })
}

fn is_macro_export(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| a.path().is_ident("macro_export"))
}

impl ModuleTree {
    /// Reads the crate whose root file is `root` (`src/lib.rs` or `src/main.rs`).
    pub fn read(root: &Path) -> Result<ModuleTree, ReadError> {
        let mut tree = ModuleTree {
            modules: Vec::new(),
        };
        let dir = root.parent().unwrap_or(Path::new(".")).to_path_buf();
        let items = parse(root)?;
        tree.add(Vec::new(), root.to_path_buf(), dir, None, items)?;
        Ok(tree)
    }

    /// The module at `path`, if the crate has it.
    pub fn module(&self, path: &[String]) -> Option<usize> {
        let mut at = 0;
        for segment in path {
            at = *self.modules[at].children.get(segment)?;
        }
        Some(at)
    }

    /// Adds a module whose items are `items`, written in `file`; its child modules' files
    /// are looked for in `children_dir`.
    fn add(
        &mut self,
        path: CratePath,
        file: PathBuf,
        children_dir: PathBuf,
        parent: Option<usize>,
        items: Vec<syn::Item>,
    ) -> Result<usize, ReadError> {
        let index = self.modules.len();
        self.modules.push(Module {
            path: path.clone(),
            file: file.clone(),
            parent,
            children: BTreeMap::new(),
            items: BTreeMap::new(),
            reexports: BTreeMap::new(),
            syntax: Vec::new(),
        });
        for item in &items {
            let syn::Item::Mod(m) = item else { continue };
            if is_test_only(&m.attrs) {
                continue;
            }
            let name = m.ident.to_string();
            let mut child_path = path.clone();
            child_path.push(name.clone());
            let child = match &m.content {
                Some((_, inline)) => self.add(
                    child_path,
                    file.clone(),
                    children_dir.join(&name),
                    Some(index),
                    inline
                        .iter()
                        .filter(|item| !is_test_only(item_attrs(item)))
                        .cloned()
                        .collect(),
                )?,
                None => {
                    let flat = children_dir.join(format!("{name}.rs"));
                    let nested = children_dir.join(&name).join("mod.rs");
                    let child_file = if flat.is_file() { flat } else { nested };
                    if !child_file.is_file() {
                        return Err(ReadError::MissingModule(file.clone(), name));
                    }
                    let child_items = parse(&child_file)?;
                    self.add(
                        child_path,
                        child_file,
                        children_dir.join(&name),
                        Some(index),
                        child_items,
                    )?
                }
            };
            self.modules[index].children.insert(name, child);
        }
        for item in &items {
            if let Some(name) = defined_name(item) {
                self.modules[index].items.insert(name.clone(), file.clone());
                if let syn::Item::Macro(m) = item {
                    if is_macro_export(&m.attrs) {
                        self.modules[0].items.insert(name, file.clone());
                    }
                }
            }
            if let syn::Item::Use(u) = item {
                if !matches!(u.vis, syn::Visibility::Inherited) {
                    let mut found = Vec::new();
                    flatten(&u.tree, &mut Vec::new(), &mut found);
                    for (name, segments) in found {
                        if let (Some(name), Some(absolute)) =
                            (name, self.absolute(index, &segments))
                        {
                            self.modules[index].reexports.insert(name, absolute);
                        }
                    }
                }
            }
        }
        self.modules[index].syntax = items;
        Ok(index)
    }

    /// `segments` as written in module `at` (`crate::…`, `super::…`, `self::…`, or a child
    /// module's name) as a path from the crate root; None for what lies outside the crate.
    pub fn absolute(&self, at: usize, segments: &[String]) -> Option<CratePath> {
        let mut module = at;
        let mut rest = segments;
        match rest.first().map(String::as_str) {
            Some("crate") => {
                module = 0;
                rest = &rest[1..];
            }
            Some("self") => rest = &rest[1..],
            Some("super") => {}
            Some(child) if self.modules[at].children.contains_key(child) => {}
            _ => return None,
        }
        while rest.first().map(String::as_str) == Some("super") {
            module = self.modules[module].parent.unwrap_or(0);
            rest = &rest[1..];
        }
        let mut out = self.modules[module].path.clone();
        out.extend(rest.iter().cloned());
        Some(out)
    }
}

fn parse(file: &Path) -> Result<Vec<syn::Item>, ReadError> {
    let text = std::fs::read_to_string(file).map_err(|e| ReadError::Io(file.to_path_buf(), e))?;
    let parsed = syn::parse_file(&text).map_err(|e| ReadError::Parse(file.to_path_buf(), e))?;
    Ok(parsed
        .items
        .into_iter()
        .filter(|item| !is_test_only(item_attrs(item)))
        .collect())
}

fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    match item {
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Macro(i) => &i.attrs,
        syn::Item::Mod(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Trait(i) => &i.attrs,
        syn::Item::Type(i) => &i.attrs,
        syn::Item::Union(i) => &i.attrs,
        syn::Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

fn defined_name(item: &syn::Item) -> Option<String> {
    Some(match item {
        syn::Item::Const(i) => i.ident.to_string(),
        syn::Item::Enum(i) => i.ident.to_string(),
        syn::Item::Fn(i) => i.sig.ident.to_string(),
        syn::Item::Macro(i) => i.ident.as_ref()?.to_string(),
        syn::Item::Static(i) => i.ident.to_string(),
        syn::Item::Struct(i) => i.ident.to_string(),
        syn::Item::Trait(i) => i.ident.to_string(),
        syn::Item::Type(i) => i.ident.to_string(),
        syn::Item::Union(i) => i.ident.to_string(),
        _ => return None,
    })
}

/// The paths a `use` tree names: (the name it brings into scope, None for a glob; the path).
pub fn flatten(
    tree: &syn::UseTree,
    prefix: &mut Vec<String>,
    out: &mut Vec<(Option<String>, Vec<String>)>,
) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) if n.ident == "self" => {
            out.push((prefix.last().cloned(), prefix.clone()));
        }
        syn::UseTree::Name(n) => {
            let mut path = prefix.clone();
            path.push(n.ident.to_string());
            out.push((Some(n.ident.to_string()), path));
        }
        syn::UseTree::Rename(r) => {
            let mut path = prefix.clone();
            if r.ident != "self" {
                path.push(r.ident.to_string());
            }
            out.push((Some(r.rename.to_string()), path));
        }
        syn::UseTree::Glob(_) => out.push((None, prefix.clone())),
        syn::UseTree::Group(g) => {
            for item in &g.items {
                flatten(item, prefix, out);
            }
        }
    }
}
