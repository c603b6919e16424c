//! template.yaml's parameters: the blocks derived from a setting's declaration, written in place, and the
//! parameters read back (name, default, description) for the docs' table.
//!
//! Line-based on purpose: the generator rewrites whole parameter blocks it owns and reads the simple scalars
//! of the `Parameters` section, leaving comments and the rest of the file exactly as written. A YAML library
//! would re-emit the whole file and drop its comments.

use gcx_core::setting::{seconds_text, Kind, Setting};

use crate::pattern;

/// Text lines are folded at this width in descriptions.
const WIDTH: usize = 112;

/// A parameter as the template declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    /// Its name.
    pub name: String,
    /// `Default`, unquoted; `None` when the parameter has none (required).
    pub default: Option<String>,
    /// `Description`, unfolded.
    pub description: String,
    /// Whether `NoEcho` is set.
    pub no_echo: bool,
}

/// The block a setting's parameter gets, or `None` for a setting whose parameter the generator does not own
/// (text the template constrains by other means).
pub fn block(setting: &Setting, source: &str) -> Result<Option<String>, String> {
    let Some(name) = setting.parameter else {
        return Ok(None);
    };
    let var = setting.variable;
    let unit = if setting.unit.is_empty() {
        String::new()
    } else {
        format!(" {}", setting.unit)
    };
    let (mut lines, range) = match setting.kind {
        Kind::Whole { default, .. } => {
            let (min, max) = setting.template_bounds().unwrap_or((0, 0));
            (
                vec![
                    "# A String with a pattern, not a Number: CloudFormation's Number takes 1.5 and 1e3, which the code refuses.".to_owned(),
                    "Type: String".to_owned(),
                    format!("Default: '{default}'"),
                    format!("AllowedPattern: '{}'", pattern::whole(min, max)),
                    format!("ConstraintDescription: a whole number from {min} to {max}"),
                ],
                format!("{min}-{max}{unit}"),
            )
        }
        Kind::Seconds { default, .. } => {
            let (min_ms, max_ms) = setting.template_bounds().unwrap_or((0, 0));
            let text = |ms: u64| seconds_text(std::time::Duration::from_millis(ms));
            let (min, max, default) = (text(min_ms), text(max_ms), seconds_text(default));
            let p = pattern::seconds(min_ms, max_ms).map_err(|e| format!("{var}: {e}"))?;
            (
                vec![
                    "Type: String".to_owned(),
                    format!("Default: '{default}'"),
                    format!("AllowedPattern: '{p}'"),
                    format!(
                        "ConstraintDescription: seconds from {min} to {max}, fractions allowed"
                    ),
                ],
                format!("{min}-{max} s"),
            )
        }
        Kind::Flag { default } => (
            vec![
                "Type: String".to_owned(),
                format!("Default: '{default}'"),
                "AllowedValues: ['true', 'false']".to_owned(),
            ],
            "true or false".to_owned(),
        ),
        Kind::List { default, allowed } => {
            let one = format!(
                "({})",
                allowed
                    .iter()
                    .map(|a| a.replace('.', r"\."))
                    .collect::<Vec<_>>()
                    .join("|")
            );
            (
                vec![
                    "Type: String".to_owned(),
                    format!("Default: {default}"),
                    format!("AllowedPattern: '^(none|{one}(,{one})*)$'"),
                    format!(
                        "ConstraintDescription: a comma list (no spaces) of {}, or none",
                        allowed.join(", ")
                    ),
                ],
                "a comma list, or none".to_owned(),
            )
        }
        Kind::Required | Kind::Optional { .. } => return Ok(None),
    };
    lines.insert(
        0,
        format!("# Generated from {var} ({source}) by `make generate`: change the declaration, not this block."),
    );
    lines.push("Description: >-".to_owned());
    let description = format!(
        "{} Sets `{var}`: {range}.",
        setting.doc.trim_end_matches('.').to_owned() + "."
    );
    lines.extend(
        fold(&description, WIDTH - 6)
            .into_iter()
            .map(|l| format!("  {l}")),
    );
    let mut out = format!("  {name}:\n");
    for line in lines {
        out.push_str("    ");
        out.push_str(&line);
        out.push('\n');
    }
    Ok(Some(out))
}

/// The GenesysTopicFilter parameter: every conversation detail topic by default.
pub fn topic_filter_block(detail_types: &[String]) -> String {
    let mut out = String::from("  GenesysTopicFilter:\n");
    out.push_str(
        "    # Generated from the detail topics (crates/core/src/events.rs) by `make generate`.\n",
    );
    out.push_str("    Type: CommaDelimitedList\n    Description: >-\n");
    let text = format!(
        "EventBridge detail-type values (Genesys topic patterns with a literal {{id}}) the rule forwards to fanout; by default all {} conversation detail topics.",
        detail_types.len()
    );
    for l in fold(&text, WIDTH - 6) {
        out.push_str(&format!("      {l}\n"));
    }
    out.push_str(&format!(
        "    Default: >-\n      {}\n",
        detail_types.join(",")
    ));
    out
}

/// Words of `text` in lines of at most `width` characters (a longer word has a line of its own).
pub fn fold(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The line range `[start, end)` of the Parameters section's body.
fn section(lines: &[&str]) -> Result<(usize, usize), String> {
    let start = lines
        .iter()
        .position(|l| *l == "Parameters:")
        .ok_or("template.yaml has no Parameters section")?
        + 1;
    let end = lines[start..]
        .iter()
        .position(|l| !l.is_empty() && !l.starts_with(' ') && !l.starts_with('#'))
        .map_or(lines.len(), |i| start + i);
    Ok((start, end))
}

/// Where parameter `name`'s block is: `[start, end)`, trailing blank lines left out.
fn find(lines: &[&str], name: &str) -> Result<Option<(usize, usize)>, String> {
    let (start, end) = section(lines)?;
    let header = format!("  {name}:");
    let Some(at) = (start..end).find(|&i| lines[i] == header) else {
        return Ok(None);
    };
    let mut stop = (at + 1..end)
        .find(|&i| {
            lines[i].starts_with("  ")
                && !lines[i].starts_with("   ")
                && !lines[i].trim_start().starts_with('#')
        })
        .unwrap_or(end);
    while stop > at + 1 && lines[stop - 1].trim().is_empty() {
        stop -= 1;
    }
    Ok(Some((at, stop)))
}

/// `template` with parameter `name`'s block replaced by `block`, or `block` appended to the section.
pub fn put(template: &str, name: &str, block: &str) -> Result<String, String> {
    let lines: Vec<&str> = template.lines().collect();
    let (at, stop) = match find(&lines, name)? {
        Some(range) => range,
        None => {
            let (_, end) = section(&lines)?;
            let mut stop = end;
            while stop > 0 && lines[stop - 1].trim().is_empty() {
                stop -= 1;
            }
            (stop, stop)
        }
    };
    let mut out: Vec<String> = lines[..at].iter().map(|l| (*l).to_owned()).collect();
    out.extend(block.trim_end_matches('\n').lines().map(str::to_owned));
    out.extend(lines[stop..].iter().map(|l| (*l).to_owned()));
    Ok(out.join("\n") + "\n")
}

/// Every parameter, in the template's order.
pub fn parameters(template: &str) -> Result<Vec<Parameter>, String> {
    let lines: Vec<&str> = template.lines().collect();
    let (start, end) = section(&lines)?;
    let mut out = Vec::new();
    let mut i = start;
    while i < end {
        let line = lines[i];
        let is_header = line.starts_with("  ")
            && !line.starts_with("   ")
            && line.trim_end().ends_with(':')
            && !line.trim_start().starts_with('#');
        if !is_header {
            i += 1;
            continue;
        }
        let name = line.trim().trim_end_matches(':').to_owned();
        let (_, stop) = find(&lines, &name)?.ok_or_else(|| format!("parameter {name} vanished"))?;
        let mut p = Parameter {
            name,
            default: None,
            description: String::new(),
            no_echo: false,
        };
        let mut j = i + 1;
        while j < stop {
            let l = lines[j];
            let Some((key, value)) = l
                .strip_prefix("    ")
                .filter(|l| !l.starts_with(' ') && !l.starts_with('#'))
                .and_then(|l| l.split_once(':'))
            else {
                j += 1;
                continue;
            };
            let value = value.trim();
            let mut text = if value == ">-" || value == ">" {
                let mut parts = Vec::new();
                while j + 1 < stop
                    && (lines[j + 1].starts_with("      ") || lines[j + 1].trim().is_empty())
                {
                    j += 1;
                    parts.push(lines[j].trim());
                }
                parts.join(" ").trim().to_owned()
            } else {
                unquote(value)
            };
            match key {
                "Default" => p.default = Some(std::mem::take(&mut text)),
                "Description" => p.description = text,
                "NoEcho" => p.no_echo = text == "true",
                _ => {}
            }
            j += 1;
        }
        out.push(p);
        i = stop;
    }
    Ok(out)
}

fn unquote(value: &str) -> String {
    if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        inner.replace("''", "'")
    } else if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        inner.to_owned()
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "Parameters:\n  A:\n    Type: String\n    Default: ''\n    NoEcho: true\n    Description: >-\n      first line\n      second line\n  B:\n    # a comment\n    Type: Number\n    Default: 5\n\n  C:\n    Description: 'it''s'\nResources:\n  X: {}\n";

    #[test]
    fn reads_the_parameters() {
        let p = parameters(TEMPLATE).unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(
            (
                p[0].default.as_deref(),
                p[0].description.as_str(),
                p[0].no_echo
            ),
            (Some(""), "first line second line", true)
        );
        assert_eq!(
            (
                p[1].default.as_deref(),
                p[2].default.as_deref(),
                p[2].description.as_str()
            ),
            (Some("5"), None, "it's")
        );
    }

    #[test]
    fn replaces_a_block_in_place_and_appends_a_new_one() {
        let t = put(TEMPLATE, "B", "  B:\n    Default: 6\n").unwrap();
        assert!(t.contains("  B:\n    Default: 6\n\n  C:\n"), "{t}");
        let t = put(&t, "D", "  D:\n    Default: 1\n").unwrap();
        assert!(
            t.contains("  C:\n    Description: 'it''s'\n  D:\n    Default: 1\nResources:\n"),
            "{t}"
        );
        assert_eq!(put(&t, "D", "  D:\n    Default: 1\n").unwrap(), t);
    }

    #[test]
    fn a_whole_setting_gets_its_pattern_and_description() {
        let s = Setting::whole("N", 5, 1, 9)
            .unit("events")
            .parameter("N1")
            .doc("Most `x`.");
        let b = block(&s, "src").unwrap().unwrap();
        assert!(
            b.contains("    Default: '5'\n    AllowedPattern: '^([1-9])$'\n"),
            "{b}"
        );
        assert!(
            b.ends_with("    Description: >-\n      Most `x`. Sets `N`: 1-9 events.\n"),
            "{b}"
        );
        assert_eq!(
            parameters(&format!("Parameters:\n{b}")).unwrap()[0].description,
            "Most `x`. Sets `N`: 1-9 events."
        );
    }
}
