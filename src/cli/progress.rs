//! `wait`'s progress: a live block redrawn in place on a terminal, plain lines through a pipe.
//!
//! On a terminal the block is the table (with how long each organisation has had its status),
//! the counts, whom to chase (every organisation not secure, with its zone) and a clock line
//! (`waiting 21s of 5m00s; next poll in 3s`), redrawn every second, not only when a poll ends.
//! Every line is cut to the terminal's width minus one column and the block to its height
//! minus one line, so each line takes exactly one screen row and moving the cursor up by the
//! number of lines drawn erases exactly the old block (a resize narrower than a drawn line can
//! still leave a wrapped remnant until the next full redraw). Lines that must stay (the
//! `SECURITY:` lines) are written after the block is erased and before it is drawn again, so
//! they sit above it and no redraw touches them. When the wait ends the clock line is replaced
//! by one summary line.
//!
//! Through a pipe nothing is redrawn: one line per change of an organisation's verdict (as
//! before), a heartbeat line every [`HEARTBEAT`] (30 s) with the clock, the counts and whom to
//! chase, and the same summary line at the end.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use dnsceremony::dns::dotless;
use dnsceremony::verify::{Status, VerifyReport};

/// How often a heartbeat line is printed through a pipe.
pub const HEARTBEAT: Duration = Duration::from_secs(30);

/// Columns and rows of the terminal on stdout, if it is one.
fn terminal_size() -> Option<(usize, usize)> {
    let ws = rustix::termios::tcgetwinsize(std::io::stdout()).ok()?;
    (ws.ws_col > 0 && ws.ws_row > 0).then(|| (usize::from(ws.ws_col), usize::from(ws.ws_row)))
}

/// `line` cut to at most `width` characters.
fn fit(line: &str, width: usize) -> String {
    if line.chars().count() <= width {
        line.to_string()
    } else {
        let mut s: String = line.chars().take(width.saturating_sub(1)).collect();
        s.push('>');
        s
    }
}

/// A duration as the progress shows it: `850ms`, `45s`, `4m05s`, `2h03m`.
pub fn fmt_secs(d: Duration) -> String {
    let s = d.as_secs();
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if s < 120 {
        format!("{s}s")
    } else if s < 7200 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

/// The progress of one `wait`.
pub struct Progress {
    tty: bool,
    start: Instant,
    timeout: Duration,
    /// Lines of the live block now on screen.
    drawn: usize,
    /// Since when each organisation has had its current status.
    since: HashMap<String, (Status, Instant)>,
    last_beat: Instant,
}

impl Progress {
    /// Live redraws when `tty`, plain lines otherwise.
    pub fn new(tty: bool, start: Instant, timeout: Duration) -> Progress {
        Progress {
            tty,
            start,
            timeout,
            drawn: 0,
            since: HashMap::new(),
            last_beat: start,
        }
    }

    /// Note each organisation's status (a change restarts its "since").
    pub fn observe(&mut self, report: &VerifyReport) {
        let now = Instant::now();
        for o in &report.orgs {
            match self.since.get(&o.name) {
                Some((s, _)) if *s == o.status => {}
                _ => {
                    self.since.insert(o.name.clone(), (o.status, now));
                }
            }
        }
    }

    fn in_status(&self, name: &str) -> Duration {
        self.since
            .get(name)
            .map(|(_, t)| t.elapsed())
            .unwrap_or_default()
    }

    /// `org2 (zone ogr2.net) pending for 45s; ...` for every organisation not secure.
    pub fn chase(&self, report: &VerifyReport) -> String {
        report
            .orgs
            .iter()
            .filter(|o| o.status != Status::Secure)
            .map(|o| {
                let zone = o
                    .zone
                    .as_ref()
                    .map(|z| format!("zone {}", dotless(z)))
                    .unwrap_or_else(|| format!("host {}", dotless(&o.host)));
                format!(
                    "{} ({zone}) {} for {}",
                    o.name,
                    o.status.as_str(),
                    fmt_secs(self.in_status(&o.name))
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn counts(report: &VerifyReport) -> String {
        let secure = report
            .orgs
            .iter()
            .filter(|o| o.status == Status::Secure)
            .count();
        format!("{secure} of {} secure", report.orgs.len())
    }

    fn clock(&self, next_poll: Option<Instant>) -> String {
        let next = match next_poll {
            None => "polling now".to_string(),
            Some(t) => format!(
                "next poll in {}",
                fmt_secs(Duration::from_secs(
                    t.saturating_duration_since(Instant::now())
                        .as_secs_f64()
                        .ceil() as u64,
                ))
            ),
        };
        format!(
            "waiting {} of {}; {next}",
            fmt_secs(Duration::from_secs(self.start.elapsed().as_secs())),
            fmt_secs(self.timeout)
        )
    }

    /// The live block's lines: table, counts, whom to chase, then `last`.
    fn block(&self, report: Option<&VerifyReport>, last: &str) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(report) = report {
            let rows: Vec<[String; 5]> = report
                .orgs
                .iter()
                .map(|o| {
                    [
                        o.name.clone(),
                        dotless(&o.host),
                        o.status.as_str().to_string(),
                        fmt_secs(Duration::from_secs(self.in_status(&o.name).as_secs())),
                        o.reason.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            let w = |i: usize, min: usize| rows.iter().map(|r| r[i].len()).chain([min]).max();
            let (w0, w1) = (w(0, 3).unwrap_or(3), w(1, 4).unwrap_or(4));
            let row = |r: [&str; 5]| {
                format!(
                    "{:w0$}  {:w1$}  {:8}  {:6}  {}",
                    r[0], r[1], r[2], r[3], r[4]
                )
                .trim_end()
                .to_string()
            };
            lines.push(row(["ORG", "HOST", "STATUS", "SINCE", "REASON"]));
            for r in &rows {
                lines.push(row([&r[0], &r[1], &r[2], &r[3], &r[4]]));
            }
            lines.push(format!(
                "{}: {} (ceremony {})",
                Self::counts(report),
                super::verify::status_counts(report),
                report.ceremony_id
            ));
            let chase = self.chase(report);
            if !chase.is_empty() {
                lines.push(format!("chase: {chase}"));
            }
        }
        lines.push(last.to_string());
        lines
    }

    /// Erase the live block (terminal only).
    fn erase(&mut self, out: &mut String) {
        if self.drawn > 0 {
            out.push_str(&format!("\r\x1b[{}A\x1b[J", self.drawn));
            self.drawn = 0;
        }
    }

    /// Draw `lines` as the new live block, fitted to the terminal.
    fn draw(&mut self, lines: Vec<String>) {
        let (cols, rows) = terminal_size().unwrap_or((80, 24));
        let width = cols.saturating_sub(1).max(10);
        let height = rows.saturating_sub(1).max(3);
        let mut lines = lines;
        if lines.len() > height {
            // Keep the table's head and the last lines (counts, chase, clock); say what is cut.
            let tail = lines.split_off(lines.len() - 3.min(lines.len()));
            let keep = height.saturating_sub(tail.len() + 1);
            let cut = lines.len().saturating_sub(keep);
            lines.truncate(keep);
            lines.push(format!(
                "... {cut} more rows (a taller terminal shows them)"
            ));
            lines.extend(tail);
        }
        let mut out = String::new();
        self.erase(&mut out);
        for l in &lines {
            out.push_str(&fit(l, width));
            out.push('\n');
        }
        self.drawn = lines.len();
        super::print(&out);
    }

    /// Redraw (terminal) or print a heartbeat when one is due (pipe).
    pub fn tick(&mut self, report: Option<&VerifyReport>, next_poll: Option<Instant>) {
        if self.tty {
            let clock = self.clock(next_poll);
            self.draw(self.block(report, &clock));
        } else if self.last_beat.elapsed() >= HEARTBEAT {
            self.last_beat = Instant::now();
            let mut line = format!(
                "[{}] {}",
                fmt_secs(self.start.elapsed()),
                self.clock(next_poll)
            );
            if let Some(r) = report {
                line.push_str(&format!("; {}", Self::counts(r)));
                let chase = self.chase(r);
                if !chase.is_empty() {
                    line.push_str(&format!("; chase: {chase}"));
                }
            }
            line.push('\n');
            super::print(&line);
        }
    }

    /// Print lines that must stay on screen (on stderr, as `dnsceremony: ...`), above the block.
    pub fn keep(&mut self, lines: &[String]) {
        if lines.is_empty() {
            return;
        }
        if self.tty {
            let mut out = String::new();
            self.erase(&mut out);
            super::print(&out);
        }
        for l in lines {
            super::report_line(l);
        }
        let _ = std::io::stderr().flush();
    }

    /// End: the block's clock line is replaced by `summary` (terminal); the summary is printed
    /// (pipe).
    pub fn finish(&mut self, report: &VerifyReport, summary: &str) {
        if self.tty {
            self.draw(self.block(Some(report), summary));
            self.drawn = 0;
        } else {
            super::print(&format!("{summary}\n"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_cuts_to_the_width_and_marks_the_cut() {
        assert_eq!(fit("abcdef", 6), "abcdef");
        assert_eq!(fit("abcdefg", 6), "abcde>");
        assert_eq!(fit("ééééééé", 3).chars().count(), 3);
    }
}
