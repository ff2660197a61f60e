//! `salvage report --html` of a real run, opened in headless Chromium: the page renders (the
//! screenshot is not blank), and the rendered DOM holds every step, the rescue map's cells and
//! the log's verification.

use std::path::Path;
use std::process::Command;

fn chromium(args: &[&str], page: &Path, profile: &Path) -> std::process::Output {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Share of the screenshot's pixels that are not white.
fn ink(png_path: &Path) -> f64 {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).expect("screenshot"),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let channels = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let total = pixels.len() / channels;
    let inked = pixels
        .chunks(channels)
        .filter(|p| p.iter().take(3).any(|&c| c < 200))
        .count();
    inked as f64 / total.max(1) as f64
}

#[test]
fn report_of_the_demo_run_renders_in_chromium() {
    if !salvage_testkit::require_tool("report_of_the_demo_run_renders_in_chromium", &["chromium"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let runbook = salvage_testkit::workspace_root().join("runbooks/demo.salvage");
    let run = crate::common::salvage()
        .args(["run", "--yes"])
        .arg(&runbook)
        .current_dir(dir.path())
        .output()
        .expect("salvage run");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let log = dir.path().join(".salvage/demo/log.jsonl");
    let page = dir.path().join("report.html");
    let out = crate::common::salvage()
        .arg("report")
        .arg(&log)
        .arg("--html")
        .arg(&page)
        .output()
        .expect("salvage report");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = std::fs::read(&page).expect("page");
    // From another directory, the same log gives the same page (maps and runbook found by
    // the log's own paths).
    let again = crate::common::salvage()
        .arg("report")
        .arg(&log)
        .args(["--format", "html"])
        .current_dir("/")
        .output()
        .expect("salvage report");
    assert_eq!(again.stdout, first, "the report is deterministic");

    let profile = dir.path().join("profile");
    let dom = chromium(&["--dump-dom"], &page, &profile);
    let dom = String::from_utf8_lossy(&dom.stdout);
    for step in [
        "disk", "img", "whole", "table", "roots", "check", "mnt", "files", "proof",
    ] {
        assert!(
            dom.contains(&format!(">{step}<")),
            "the rendered page lacks step {step}"
        );
    }
    assert!(dom.contains("VALID: the hash chain and the keyed anchor hold"));
    let cells = dom.matches("<rect x=").count();
    assert!(cells > 1000, "the map and graph drew {cells} rectangles");
    assert!(dom.contains("bad sector"), "the map's legend and cells");
    assert!(
        !dom.contains("The arrows are missing"),
        "the runbook's graph was found"
    );

    let shot = dir.path().join("shot.png");
    chromium(
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1000,1800",
        ],
        &page,
        &profile,
    );
    let share = ink(&shot);
    assert!(
        share > 0.05,
        "the screenshot is nearly blank: {share:.3} of it inked"
    );

    // It prints: Chromium's print to PDF gives a document of a few pages.
    let pdf = dir.path().join("report.pdf");
    chromium(
        &[
            &format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer",
        ],
        &page,
        &profile,
    );
    let bytes = std::fs::read(&pdf).expect("pdf");
    assert!(bytes.starts_with(b"%PDF"), "not a PDF");
    let pages = bytes
        .windows(11)
        .filter(|w| w == b"/Type /Page" || w.starts_with(b"/Type/Page"))
        .count();
    assert!((1..=12).contains(&pages), "{pages} pages");
}
