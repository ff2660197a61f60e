//! The step graph: steps in layers (a step one layer below the deepest step it needs), boxes
//! coloured by status with their duration, arrows from what a step needs to it.

use std::collections::BTreeMap;

use super::timeline::status_style;
use super::{duration_text, esc};
use crate::review::Run;

/// The instance `files[2]`'s template, `files`.
fn template(name: &str) -> &str {
    name.split_once('[').map_or(name, |(t, _)| t)
}

/// The graph as SVG; `deps` per step (template names), empty when unknown.
pub(crate) fn svg(run: &Run, deps: &[(String, Vec<String>)]) -> String {
    let deps: BTreeMap<&str, &Vec<String>> = deps.iter().map(|(s, d)| (s.as_str(), d)).collect();
    let names: Vec<&str> = run.steps.iter().map(|s| s.name.as_str()).collect();
    // Instances of a template: every step whose template is that name.
    let of_template = |t: &str| -> Vec<usize> {
        names
            .iter()
            .enumerate()
            .filter(|(_, n)| template(n) == t)
            .map(|(i, _)| i)
            .collect()
    };
    let mut layer = vec![0usize; names.len()];
    let mut edges: Vec<(usize, usize)> = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let needs = deps.get(template(n)).map(|d| d.as_slice()).unwrap_or(&[]);
        for d in needs {
            for j in of_template(d) {
                if j < i {
                    edges.push((j, i));
                    layer[i] = layer[i].max(layer[j] + 1);
                }
            }
        }
    }
    let mut slot = vec![0usize; names.len()];
    let mut per_layer: BTreeMap<usize, usize> = BTreeMap::new();
    for (i, l) in layer.iter().enumerate() {
        let n = per_layer.entry(*l).or_default();
        slot[i] = *n;
        *n += 1;
    }
    let widest = per_layer.values().copied().max().unwrap_or(1);
    let depth = per_layer.keys().copied().max().map_or(1, |d| d + 1);
    let (bw, bh, gx, gy) = (150.0, 44.0, 20.0, 36.0);
    let pos = |i: usize| {
        (
            slot[i] as f64 * (bw + gx) + 10.0,
            layer[i] as f64 * (bh + gy) + 10.0,
        )
    };
    let mut out = format!(
        "<svg class=\"graph\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:.0}\" viewBox=\"0 0 {0:.0} {1:.0}\" role=\"img\" aria-label=\"step graph\"><defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#666\"/></marker></defs>",
        widest as f64 * (bw + gx) + 20.0,
        depth as f64 * (bh + gy) + 20.0
    );
    for (a, b) in &edges {
        let (ax, ay) = pos(*a);
        let (bx, by) = pos(*b);
        out.push_str(&format!(
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#666\" marker-end=\"url(#arrow)\"/>",
            ax + bw / 2.0,
            ay + bh,
            bx + bw / 2.0,
            by
        ));
    }
    for (i, s) in run.steps.iter().enumerate() {
        let (x, y) = pos(i);
        let (colour, word) = status_style(s.status);
        let dur = s.duration_ms.map_or_else(String::new, duration_text);
        out.push_str(&format!(
            "<g class=\"step\"><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bw}\" height=\"{bh}\" rx=\"6\" fill=\"{colour}\" fill-opacity=\"0.15\" stroke=\"{colour}\" stroke-width=\"2\"/><text x=\"{:.1}\" y=\"{:.1}\" class=\"name\">{}</text><text x=\"{:.1}\" y=\"{:.1}\" class=\"meta\">{} · {word} {dur}</text></g>",
            x + 8.0,
            y + 18.0,
            esc(&s.name),
            x + 8.0,
            y + 35.0,
            esc(&s.op),
        ));
    }
    out.push_str("</svg>");
    out
}
