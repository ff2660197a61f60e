//! Durations as text, in one place: the runbook language's literal form (`30s`, `5min`), which
//! plans and error messages print so they can be pasted back, and the review's reading form
//! (`3.2s`, `4m05.2s`). Timestamps and the calendar are `event_log::timestamp`.

/// The language's literal form, exact: `30000` → `30s`, `300000` → `5min`, `1500` → `1500ms`.
pub fn literal(ms: u64) -> String {
    if ms % 3_600_000 == 0 && ms > 0 {
        format!("{}h", ms / 3_600_000)
    } else if ms % 60_000 == 0 && ms > 0 {
        format!("{}min", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// The review's reading form, to a tenth of a second: `40ms`, `3.2s`, `4m05.2s`, `1h02m05s`.
pub fn reading(ms: i64) -> String {
    if (0..1000).contains(&ms) {
        return format!("{ms}ms");
    }
    let tenths = ms.max(0) / 100;
    let (h, m, s, t) = (
        tenths / 36_000,
        tenths / 600 % 60,
        tenths / 10 % 60,
        tenths % 10,
    );
    match (h, m) {
        (0, 0) => format!("{s}.{t}s"),
        (0, _) => format!("{m}m{s:02}.{t}s"),
        _ => format!("{h}h{m:02}m{s:02}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_literal_form_is_exact_and_the_reading_form_rounds_to_tenths() {
        for (ms, text) in [
            (0, "0s"),
            (1500, "1500ms"),
            (30_000, "30s"),
            (300_000, "5min"),
        ] {
            assert_eq!(literal(ms), text);
        }
        assert_eq!(literal(7_200_000), "2h");
        for (ms, text) in [(40, "40ms"), (3_249, "3.2s"), (245_200, "4m05.2s")] {
            assert_eq!(reading(ms), text);
        }
        assert_eq!(reading(3_725_000), "1h02m05s");
    }
}
