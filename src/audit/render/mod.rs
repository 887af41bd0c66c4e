//! Renderers: one [`OutputFormat`], one function per format, each from the same [`Report`].

pub mod html;
pub mod json;
pub mod markdown;
pub mod text;

use super::{Report, Severity};

/// The output formats of `dnsceremony audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// For a terminal.
    #[default]
    Text,
    /// `dnsceremony.audit/v1` JSON for machines.
    Json,
    /// GitHub-flavoured Markdown.
    Markdown,
    /// One self-contained HTML page with a drawing of the chain of trust.
    Html,
}

impl OutputFormat {
    /// Parse `text`, `json`, `markdown` (`md`) or `html`.
    pub fn parse(s: &str) -> Option<OutputFormat> {
        match s {
            "text" => Some(OutputFormat::Text),
            "json" => Some(OutputFormat::Json),
            "markdown" | "md" => Some(OutputFormat::Markdown),
            "html" => Some(OutputFormat::Html),
            _ => None,
        }
    }
}

/// Render `report` in `format`.
pub fn render(report: &Report, format: OutputFormat) -> String {
    match format {
        OutputFormat::Text => text::render(report),
        OutputFormat::Json => json::render(report),
        OutputFormat::Markdown => markdown::render(report),
        OutputFormat::Html => html::render(report),
    }
}

/// Counts of findings by severity: (errors, warnings, infos).
pub fn counts(report: &Report) -> (usize, usize, usize) {
    let all = report.findings();
    let n = |s: Severity| all.iter().filter(|f| f.severity == s).count();
    (n(Severity::Error), n(Severity::Warning), n(Severity::Info))
}

/// `ok`, `warning` or `error` for a worst severity (info counts as ok).
pub fn verdict(worst: Option<Severity>) -> &'static str {
    match worst {
        Some(Severity::Error) => "error",
        Some(Severity::Warning) => "warning",
        _ => "ok",
    }
}

/// `2 errors, 1 warning, 3 info`.
pub fn summary_line(report: &Report) -> String {
    let (e, w, i) = counts(report);
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "{}, {}, {} info",
        plural(e, "error", "errors"),
        plural(w, "warning", "warnings"),
        i
    )
}
