//! The house rules of `src/lib.rs`, checked: every module imports only modules of its own layer
//! or lower ones, and the import graph has no cycle. The graph is read from the sources, every
//! `crate::` path outside unit tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers of `src/lib.rs`, lowest first.
const LAYERS: &[&[&str]] = &[
    &[
        "clock",
        "wire",
        "error",
        "spec",
        "context",
        "connection",
        "signing",
        "egress",
        "store",
        "fixtures",
    ],
    &[
        "generated",
        "request",
        "validate",
        "shape",
        "prefer",
        "faults",
    ],
    &[
        "delivery", "journal", "recorder", "persist", "mock", "receiver",
    ],
    &["apis"],
    &["limits", "router", "ui", "admin", "proxy"],
    &["server", "specs"],
];

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Which module (by top-level name) imports which, from the library's sources.
fn import_graph(src: &Path) -> Graph {
    let mut graph = Graph::new();
    let mut files = vec![src.to_path_buf()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            let entries = std::fs::read_dir(&path).expect("a readable folder");
            files.extend(entries.map(|e| e.expect("an entry").path()));
            continue;
        }
        let relative = path.strip_prefix(src).expect("below src");
        let module = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or_default()
            .trim_end_matches(".rs")
            .to_owned();
        if path.extension().is_none_or(|e| e != "rs") || module == "lib" || module == "bin" {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a readable source");
        let code = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or_default();
        let edges = graph.entry(module.clone()).or_default();
        for used in crate_paths(code) {
            if used != module {
                edges.insert(used);
            }
        }
    }
    graph
}

/// The first segment of every `crate::a::…` and `crate::{a, b::…}` path in `code`.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group
                .split('}')
                .next()
                .unwrap_or_default()
                .split(',')
                .collect(),
            None => vec![rest],
        };
        for name in names {
            let name: String = name
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

/// Every edge that breaks the rules: to a higher layer, or from or to a module in no layer.
fn forbidden_edges(graph: &Graph) -> Vec<String> {
    let layer = |module: &str| LAYERS.iter().position(|l| l.contains(&module));
    let mut problems = Vec::new();
    for (from, targets) in graph {
        for to in targets {
            match (layer(from), layer(to)) {
                (Some(a), Some(b)) if b <= a => {}
                (Some(a), Some(b)) => problems.push(format!(
                    "{from} (layer {}) imports {to} (layer {})",
                    a + 1,
                    b + 1
                )),
                _ => problems.push(format!(
                    "{from} imports {to}: name both in LAYERS and in src/lib.rs's doc"
                )),
            }
        }
    }
    problems
}

/// The modules on a cycle, if there is one (a depth-first search for a back edge).
fn cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        graph: &Graph,
        module: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| m == module) {
            let mut found = path[start..].to_vec();
            found.push(module.to_owned());
            return Some(found);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_owned());
        for next in graph.get(module).into_iter().flatten() {
            if let Some(found) = visit(graph, next, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(module.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|module| visit(graph, module, &mut Vec::new(), &mut done))
}

#[test]
fn modules_import_only_their_own_layer_or_lower_ones_and_never_in_a_cycle() {
    let graph = import_graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(graph.contains_key("router") && graph["server"].contains("router"));
    let problems = forbidden_edges(&graph);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(cycle(&graph), None);
}

/// The checks themselves fail on a planted edge: an upward import, and the cycle it closes.
#[test]
fn a_planted_upward_edge_is_caught() {
    let mut graph = import_graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    graph
        .entry("delivery".to_owned())
        .or_default()
        .insert("apis".to_owned());
    assert_eq!(
        forbidden_edges(&graph),
        ["delivery (layer 3) imports apis (layer 4)"]
    );
    assert!(
        cycle(&graph).is_some_and(|c| c.contains(&"delivery".to_owned())),
        "apis imports delivery, so the planted edge closes a cycle"
    );
    let code = "use crate::{wire::Header, store};\nlet x = crate::clock::format(now);";
    assert_eq!(
        crate_paths(code).into_iter().collect::<Vec<_>>(),
        ["clock", "store", "wire"]
    );
}
