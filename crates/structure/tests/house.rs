//! The workspace's structure rules, held on the code as it is.

use structure::{circles_of, crate_roots, workspace};

#[test]
fn no_two_files_of_a_crate_import_each_other_in_a_circle() {
    let root = workspace();
    let mut found = Vec::new();
    for crate_root in crate_roots(&root) {
        for circle in circles_of(&crate_root).expect("the crate reads") {
            found.push(
                circle
                    .to_string()
                    .replace(&format!("{}/", root.display()), ""),
            );
        }
    }
    assert!(
        found.is_empty(),
        "{} import circle(s); break each by moving what both files need below them:\n{}",
        found.len(),
        found.join("\n")
    );
}

/// A scratch crate of the given files, removed when dropped.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str, files: &[(&str, &str)]) -> Scratch {
        let dir = std::env::temp_dir().join(format!("structure-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in files {
            let file = dir.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        }
        Scratch(dir)
    }

    fn circles(&self) -> Vec<structure::Circle> {
        circles_of(&self.0.join("src/lib.rs")).expect("the scratch crate reads")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn names(circle: &structure::Circle) -> Vec<String> {
    circle
        .files
        .iter()
        .map(|f| {
            f.components()
                .rev()
                .take(2)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<std::path::PathBuf>()
                .display()
                .to_string()
        })
        .collect()
}

#[test]
fn siblings_that_import_each_other_are_a_circle() {
    let crate_ = Scratch::new(
        "siblings",
        &[
            ("src/lib.rs", "mod a;\nmod b;\n"),
            ("src/a.rs", "use crate::b::g;\npub fn f() { g() }\n"),
            ("src/b.rs", "pub fn g() { super::a::f() }\n"),
        ],
    );
    let found = crate_.circles();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(names(&found[0]), ["src/a.rs", "src/b.rs"]);
}

#[test]
fn a_folders_face_calling_its_files_that_use_it_is_no_circle() {
    let crate_ = Scratch::new(
        "face",
        &[
            ("src/lib.rs", "mod api;\n"),
            (
                "src/api/mod.rs",
                "mod pools;\npub struct Call;\npub fn serve() { pools::list(); }\n",
            ),
            (
                "src/api/pools.rs",
                "use super::*;\npub fn list() -> Option<Call> { None }\n",
            ),
        ],
    );
    assert!(crate_.circles().is_empty());
}

#[test]
fn re_exports_lead_to_the_defining_file_and_no_circle_is_invented() {
    let crate_ = Scratch::new(
        "reexport",
        &[
            (
                "src/lib.rs",
                "mod kind;\nmod tree;\npub use kind::Kind;\npub use tree::Tree;\n",
            ),
            ("src/kind.rs", "pub enum Kind { A }\n"),
            (
                "src/tree.rs",
                "use crate::Kind;\npub struct Tree(Vec<Kind>);\n",
            ),
        ],
    );
    assert!(crate_.circles().is_empty());
}

#[test]
fn paths_in_code_through_an_imported_module_are_arrows() {
    let crate_ = Scratch::new(
        "paths",
        &[
            ("src/lib.rs", "mod server;\nmod handlers;\n"),
            (
                "src/server.rs",
                "use crate::handlers;\npub fn not_found() {}\npub fn route() { handlers::admin::amphorae(); }\n",
            ),
            ("src/handlers/mod.rs", "pub mod admin;\n"),
            (
                "src/handlers/admin.rs",
                "pub fn amphorae() { crate::server::not_found() }\n",
            ),
        ],
    );
    let found = crate_.circles();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(names(&found[0]), ["handlers/admin.rs", "src/server.rs"]);
}

#[test]
fn test_modules_are_left_out() {
    let crate_ = Scratch::new(
        "tests",
        &[
            ("src/lib.rs", "mod a;\nmod b;\n"),
            ("src/a.rs", "pub fn f() { crate::b::g() }\n"),
            (
                "src/b.rs",
                "pub fn g() {}\n#[cfg(test)]\nmod tests { fn t() { crate::a::f() } }\n",
            ),
        ],
    );
    assert!(crate_.circles().is_empty());
}

/// Each workspace crate with the workspace crates it depends on (normal dependencies).
fn crate_dependencies() -> Vec<(String, Vec<String>)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(workspace())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let members: Vec<String> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .filter_map(|d| d["name"].as_str())
                .filter(|d| members.iter().any(|m| m == d))
                .map(str::to_string)
                .collect();
            (p["name"].as_str().unwrap().to_string(), deps)
        })
        .collect()
}

#[test]
fn services_stand_side_by_side_and_only_ostia_assembles_them() {
    let deps = crate_dependencies();
    let on = |name: &str| -> Vec<&str> {
        deps.iter()
            .filter(|(_, d)| d.iter().any(|x| x == name))
            .map(|(c, _)| c.as_str())
            .collect()
    };
    // Each service is mounted by `ostia` alone; none imports another service.
    for service in ["lb-api", "network", "key-manager"] {
        assert_eq!(on(service), ["ostia"], "who depends on {service}");
    }
    // The shared front door knows no service, and the layers below know no HTTP service.
    let of = |name: &str| -> Vec<String> {
        deps.iter()
            .find(|(c, _)| c == name)
            .map(|(_, d)| d.clone())
            .unwrap_or_else(|| panic!("crate {name} exists"))
    };
    for low in [
        "model",
        "store",
        "front",
        "controller",
        "engine",
        "amphora",
        "identity",
    ] {
        let bad: Vec<String> = of(low)
            .into_iter()
            .filter(|d| ["lb-api", "network", "key-manager", "ostia"].contains(&d.as_str()))
            .collect();
        assert!(bad.is_empty(), "{low} depends on {bad:?}");
    }
    assert!(of("model").is_empty(), "model depends on {:?}", of("model"));
    assert!(on("ostia").is_empty(), "nothing depends on ostia");
}

/// Every `.rs` file below `crates/*/src`.
fn source_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn source_files_stay_under_800_lines() {
    let root = workspace();
    let mut files = Vec::new();
    for krate in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        source_files(&krate.path().join("src"), &mut files);
    }
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).ok()?.lines().count();
            (lines > 800).then(|| format!("{} ({lines} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "files over 800 lines: {long:?}");
}

#[test]
fn every_library_opens_with_what_it_owns() {
    for root in crate_roots(&workspace()) {
        let text = std::fs::read_to_string(&root).unwrap();
        let doc: Vec<&str> = text.lines().take_while(|l| l.starts_with("//!")).collect();
        assert!(
            doc.len() >= 2,
            "{} opens without a doc comment of what the crate owns",
            root.display()
        );
        if root.ends_with("lib.rs") {
            let said = doc.join(" ").to_lowercase();
            assert!(
                said.contains("must not") || said.contains("knows no"),
                "{} does not say what its crate must not do",
                root.display()
            );
        }
    }
}
