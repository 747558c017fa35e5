//! Self-contained HTML reports: one file with inline CSS, JavaScript and SVG that loads nothing
//! from anywhere (a strict Content-Security-Policy says so to the browser). Each page embeds its
//! JSON record — the run record, the merged matrix or the bench record, exactly as `--format
//! json` writes it — in a `<script type="application/json">` block, and the page's script
//! renders from that record: the JSON stays the source of truth.

mod bench;
mod merge;
mod run;

pub use bench::render_bench_html;
pub use merge::render_merged_html;
pub use run::render_run_html;

/// The page's Content-Security-Policy: nothing may be fetched; inline styles, inline scripts and
/// `data:` images are all a page has.
pub const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

/// Id of the `<script type="application/json">` element that holds the record.
pub const RECORD_ID: &str = "record";

const CSS: &str = include_str!("page.css");
const COMMON_JS: &str = include_str!("common.js");

/// What one page holds besides the shared shell.
struct Page<'a> {
    /// `<title>` and heading.
    title: &'a str,
    /// The record, as JSON.
    record: String,
    /// Static HTML placed before the rendered content (already escaped).
    before: String,
    /// Static HTML placed after the rendered content (already escaped).
    after: String,
    /// The page's own script, run after the shared one.
    script: &'a str,
}

impl Page<'_> {
    /// The complete document.
    fn render(&self) -> String {
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{title}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n\
             <header><h1>{title}</h1><div id=\"summary\"></div></header>\n\
             <noscript><p>This page draws its tables from the JSON record embedded in it \
             (view the source, or the .json report); it needs JavaScript to show them.</p></noscript>\n\
             <main>\n{before}<div id=\"content\"></div>\n{after}</main>\n\
             <dialog id=\"detail\" aria-labelledby=\"detail-title\">\
             <form method=\"dialog\" class=\"close\"><button aria-label=\"Close (Escape)\">✕</button></form>\
             <div id=\"detail-body\"></div></dialog>\n\
             <script type=\"application/json\" id=\"{RECORD_ID}\">{record}</script>\n\
             <script>\n{COMMON_JS}\n{script}\n</script>\n</body>\n</html>\n",
            title = escape(self.title),
            before = self.before,
            after = self.after,
            record = script_safe(&self.record),
            script = self.script,
        )
    }
}

/// `text` safe inside HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON safe inside a `<script>` element: every `<` (which JSON only has inside strings) as the
/// string escape `\u003c`, so neither `</script>` nor `<!--` can end or confuse the element.
fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_cannot_close_its_script_element() {
        let json = serde_json::to_string("a</script><!--b").unwrap();
        let safe = script_safe(&json);
        assert!(!safe.contains("</") && !safe.contains("<!--"));
        assert_eq!(
            serde_json::from_str::<String>(&safe).unwrap(),
            "a</script><!--b"
        );
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
