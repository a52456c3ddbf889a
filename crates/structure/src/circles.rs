//! Import circles: files of one crate that import each other in a loop (the strongly
//! connected components of the arrows with more than one file).

use crate::imports::Arrows;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Circle {
    pub files: Vec<PathBuf>,
    /// The arrows inside the circle: (from, to, names taken).
    pub ties: Vec<(PathBuf, PathBuf, BTreeSet<String>)>,
}

pub fn circles(arrows: &Arrows) -> Vec<Circle> {
    let mut graph: DiGraph<PathBuf, ()> = DiGraph::new();
    let mut nodes: HashMap<&PathBuf, NodeIndex> = HashMap::new();
    for file in &arrows.files {
        nodes.insert(file, graph.add_node(file.clone()));
    }
    for (from, to) in arrows.edges.keys() {
        if let (Some(&a), Some(&b)) = (nodes.get(from), nodes.get(to)) {
            graph.add_edge(a, b, ());
        }
    }
    let mut out: Vec<Circle> = petgraph::algo::tarjan_scc(&graph)
        .into_iter()
        .filter(|component| component.len() > 1)
        .map(|component| {
            let mut files: Vec<PathBuf> = component.iter().map(|n| graph[*n].clone()).collect();
            files.sort();
            let ties = arrows
                .edges
                .iter()
                .filter(|((from, to), _)| files.contains(from) && files.contains(to))
                .map(|((from, to), names)| (from.clone(), to.clone(), names.clone()))
                .collect();
            Circle { files, ties }
        })
        .collect();
    out.sort_by(|a, b| a.files.cmp(&b.files));
    out
}

impl fmt::Display for Circle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "circle of {} files:", self.files.len())?;
        for (from, to, names) in &self.ties {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            writeln!(
                f,
                "  {} -> {}: {}",
                from.display(),
                to.display(),
                names.join(", ")
            )?;
        }
        Ok(())
    }
}
