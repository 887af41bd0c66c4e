//! Clock skew in words: how far this machine's clock is from another's, as an operator reads
//! it ("this machine's clock is about 2 days behind ns1.example.").
//!
//! The other clock is read from what a server says of its time, e.g. the time-signed field of
//! a TSIG BADTIME answer (RFC 8945 5.2.3, where the server also puts its time in Other Data).

/// Below this difference (seconds) clocks are said to agree: TSIG's usual fudge.
pub const AGREE: u64 = 300;

/// "this machine's clock is about N behind/ahead of `whom`", or `None` when `ours` and
/// `theirs` (seconds since the epoch) differ by less than [`AGREE`].
pub fn skew_line(ours: u64, theirs: u64, whom: &str) -> Option<String> {
    let (diff, word) = if ours >= theirs {
        (ours - theirs, "ahead of")
    } else {
        (theirs - ours, "behind")
    };
    if diff < AGREE {
        return None;
    }
    Some(format!(
        "this machine's clock is about {} {word} {whom}",
        span(diff)
    ))
}

/// A duration in the largest unit that keeps it readable, rounded.
fn span(secs: u64) -> String {
    let (n, unit) = if secs >= 2 * 86_400 {
        ((secs + 43_200) / 86_400, "days")
    } else if secs >= 2 * 3600 {
        ((secs + 1800) / 3600, "hours")
    } else if secs >= 3600 {
        return "1 hour".into();
    } else {
        ((secs + 30) / 60, "minutes")
    };
    format!("{n} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_which_way_and_how_far() {
        let t = 1_800_000_000;
        assert_eq!(
            skew_line(t - 2 * 86_400, t, "ns1").as_deref(),
            Some("this machine's clock is about 2 days behind ns1")
        );
        assert_eq!(
            skew_line(t + 3600, t, "ns1").as_deref(),
            Some("this machine's clock is about 1 hour ahead of ns1")
        );
        assert_eq!(
            skew_line(t, t + 5 * 3600 + 100, "x").as_deref(),
            Some("this machine's clock is about 5 hours behind x")
        );
        assert_eq!(
            skew_line(t, t + 600, "x").as_deref(),
            Some("this machine's clock is about 10 minutes behind x")
        );
        assert_eq!(skew_line(t, t + 299, "x"), None);
        assert_eq!(skew_line(t + 299, t, "x"), None);
    }
}
