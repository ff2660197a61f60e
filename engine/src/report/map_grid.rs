//! `MapView`: an image step's rescue map drawn as ddrescueview draws one: a grid of cells, each
//! a slice of the disk coloured by the worst status in it (bad, non-scraped, non-trimmed,
//! non-tried, finished), with the totals.

use salvage_imager::{BlockStatus, Mapfile};

use super::esc;

/// Cells across and down.
const COLS: u64 = 64;
const ROWS: u64 = 16;

/// One image step's map.
#[derive(Clone)]
pub struct MapView {
    /// The step.
    pub step: String,
    /// Where the map is.
    pub path: String,
    /// The map, or why it could not be read.
    pub map: Result<Mapfile, String>,
}

/// Status name, mapfile character and colour (ddrescueview's), worst first.
pub(crate) const LEGEND: [(BlockStatus, &str, char, &str); 5] = [
    (BlockStatus::BadSector, "bad sector", '-', "#e02020"),
    (BlockStatus::NonScraped, "non-scraped", '/', "#7040d0"),
    (BlockStatus::NonTrimmed, "non-trimmed", '*', "#e8d020"),
    (BlockStatus::NonTried, "non-tried", '?', "#505050"),
    (BlockStatus::Finished, "finished", '+', "#20b040"),
];

fn rank(s: BlockStatus) -> usize {
    LEGEND.iter().position(|l| l.0 == s).unwrap_or(0)
}

/// Bytes per status, in `LEGEND` order.
pub(crate) fn totals(map: &Mapfile) -> [u64; 5] {
    let mut t = [0u64; 5];
    for b in map.blocks() {
        t[rank(b.status)] += b.size;
    }
    t
}

/// The grid as SVG.
pub(crate) fn svg(map: &Mapfile) -> String {
    let start = map.blocks().first().map_or(0, |b| b.pos);
    let end = map.blocks().last().map_or(0, |b| b.end());
    let size = end.saturating_sub(start).max(1);
    let cells = COLS * ROWS;
    let cell_bytes = size.div_ceil(cells).max(1);
    let mut worst = vec![LEGEND.len() - 1; cells as usize];
    let mut used = vec![false; cells as usize];
    for b in map.blocks() {
        if b.size == 0 {
            continue;
        }
        let first = (b.pos - start) / cell_bytes;
        let last = ((b.end() - start - 1) / cell_bytes).min(cells - 1);
        for c in first..=last {
            let c = c as usize;
            worst[c] = if used[c] {
                worst[c].min(rank(b.status))
            } else {
                rank(b.status)
            };
            used[c] = true;
        }
    }
    let (w, h) = (10u64, 10u64);
    let mut out = format!(
        "<svg class=\"map\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" viewBox=\"0 0 {0} {1}\" role=\"img\" aria-label=\"rescue map, {2} cells of {3} bytes\">",
        COLS * w,
        ROWS * h,
        cells,
        cell_bytes
    );
    for (i, r) in worst.iter().enumerate() {
        if !used[i] {
            continue;
        }
        let (x, y) = ((i as u64 % COLS) * w, (i as u64 / COLS) * h);
        let (_, name, _, colour) = LEGEND[*r];
        let from = start + i as u64 * cell_bytes;
        out.push_str(&format!(
            "<rect x=\"{x}\" y=\"{y}\" width=\"{}\" height=\"{}\" fill=\"{colour}\"><title>bytes {from}..{}: {}</title></rect>",
            w - 1,
            h - 1,
            (from + cell_bytes).min(end),
            esc(name)
        ));
    }
    out.push_str("</svg>");
    out
}
