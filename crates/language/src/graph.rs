//! The dependency graph of a plan (petgraph): a deterministic topological order, cycles with
//! their path, and the Graphviz form.

use crate::plan::{Plan, PlanStep};
use petgraph::graph::{DiGraph, NodeIndex};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};

/// Builds the graph: one node per step (its index), an edge from each dependency to its user.
/// Linear in steps and edges whatever the shape: a repeated dependency of one step is dropped
/// by a mark per source node (not by searching the source's edge list, which a hub that
/// 100,000 steps read makes quadratic); a dependency that carries data wins over `after`.
pub fn build(steps: &[PlanStep]) -> DiGraph<usize, bool> {
    let edges: usize = steps.iter().map(|s| s.deps.len() + s.after.len()).sum();
    let mut g = DiGraph::with_capacity(steps.len(), edges);
    let index: HashMap<&str, NodeIndex> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), g.add_node(i)))
        .collect();
    // `linked[from] == i`: the edge from `from` to step `i` is already in.
    let mut linked = vec![usize::MAX; steps.len()];
    for (i, s) in steps.iter().enumerate() {
        let to = NodeIndex::new(i);
        let data = s.deps.iter().map(|d| (d, true));
        let order = s.after.iter().map(|a| (a, false));
        for (name, carries_data) in data.chain(order) {
            if let Some(&from) = index.get(name.as_str())
                && linked[from.index()] != i
            {
                linked[from.index()] = i;
                g.add_edge(from, to, carries_data);
            }
        }
    }
    g
}

/// A topological order of the steps, ties broken by declaration order; or, when the steps
/// depend on each other in a circle, the indexes along one cycle.
pub fn order(steps: &[PlanStep]) -> Result<Vec<usize>, Vec<usize>> {
    let g = build(steps);
    let mut indegree: Vec<usize> = g
        .node_indices()
        .map(|n| g.neighbors_directed(n, petgraph::Incoming).count())
        .collect();
    let mut ready: BinaryHeap<Reverse<usize>> = indegree
        .iter()
        .enumerate()
        .filter(|(_, d)| **d == 0)
        .map(|(i, _)| Reverse(i))
        .collect();
    let mut out = Vec::with_capacity(steps.len());
    while let Some(Reverse(i)) = ready.pop() {
        out.push(i);
        for n in g.neighbors_directed(NodeIndex::new(i), petgraph::Outgoing) {
            let j = n.index();
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.push(Reverse(j));
            }
        }
    }
    if out.len() == steps.len() {
        return Ok(out);
    }
    Err(find_cycle(&g, &indegree))
}

/// A cycle among the nodes Kahn's algorithm could not order, starting at the smallest index.
fn find_cycle(g: &DiGraph<usize, bool>, indegree: &[usize]) -> Vec<usize> {
    let sccs = petgraph::algo::tarjan_scc(g);
    let mut best: Option<Vec<usize>> = None;
    for scc in sccs {
        let nodes: Vec<usize> = scc.iter().map(|n| n.index()).collect();
        let self_loop = nodes.len() == 1 && g.find_edge(scc[0], scc[0]).is_some();
        if (nodes.len() > 1 || self_loop) && nodes.iter().all(|n| indegree[*n] > 0) {
            let min = nodes.iter().copied().min().unwrap_or(0);
            if best.as_ref().is_none_or(|b| min < b[0]) {
                best = Some(cycle_from(g, min, &nodes));
            }
        }
    }
    best.unwrap_or_default()
}

/// The shortest path from `start` back to itself inside one strongly connected component.
fn cycle_from(g: &DiGraph<usize, bool>, start: usize, scc: &[usize]) -> Vec<usize> {
    let members: HashSet<usize> = scc.iter().copied().collect();
    let mut prev: BTreeMap<usize, usize> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        let mut next: Vec<usize> = g
            .neighbors_directed(NodeIndex::new(n), petgraph::Outgoing)
            .map(|m| m.index())
            .filter(|m| members.contains(m))
            .collect();
        next.sort_unstable();
        for m in next {
            if m == start {
                let mut path = vec![n];
                let mut cur = n;
                while cur != start {
                    cur = prev[&cur];
                    path.push(cur);
                }
                path.reverse();
                return path;
            }
            if let std::collections::btree_map::Entry::Vacant(e) = prev.entry(m) {
                e.insert(n);
                queue.push_back(m);
            }
        }
    }
    vec![start]
}

/// The plan as a Graphviz digraph: solid edges carry data, dashed ones only order.
pub fn to_dot(plan: &Plan) -> String {
    let mut out = String::new();
    out.push_str(&format!("digraph {} {{\n", dot_id(&plan.name)));
    out.push_str("  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n");
    for s in &plan.steps {
        let color = match s.effect {
            crate::effect::Effect::Read => "black",
            crate::effect::Effect::Manual => "blue",
            crate::effect::Effect::Create => "darkgreen",
            crate::effect::Effect::Attach => "orange",
            crate::effect::Effect::Modify => "red",
        };
        out.push_str(&format!(
            "  {} [label={}, color={color}];\n",
            dot_id(&s.id),
            dot_id(&format!("{}\n{} [{}]", s.id, s.op_name(), s.effect))
        ));
    }
    for s in &plan.steps {
        let deps: HashSet<&String> = s.deps.iter().collect();
        for d in &s.deps {
            out.push_str(&format!("  {} -> {};\n", dot_id(d), dot_id(&s.id)));
        }
        for a in s.after.iter().filter(|a| !deps.contains(a)) {
            out.push_str(&format!(
                "  {} -> {} [style=dashed];\n",
                dot_id(a),
                dot_id(&s.id)
            ));
        }
    }
    out.push_str("}\n");
    out
}

fn dot_id(s: &str) -> String {
    format!(
        "\"{}\"",
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    )
}
