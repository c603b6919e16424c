//! Managed sections of a text file: what sits between `<!-- generated: NAME -->` and
//! `<!-- end generated: NAME -->` belongs to the generator. Sections may be blocks (a table) or inline (a
//! figure in a sentence), and a name may recur; everything outside the markers is left as it is.

/// `text` with each section named in `sections` replaced. Every name must occur at least once, and every
/// section in the file must be one the generator writes (a stale name is an error, not silently kept).
pub fn fill(text: &str, file: &str, sections: &[(&str, String)]) -> Result<String, String> {
    const OPEN: &str = "<!-- generated: ";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut seen = std::collections::BTreeSet::new();
    while let Some(start) = rest.find(OPEN) {
        let after_open = &rest[start + OPEN.len()..];
        let name_end = after_open.find(" -->").ok_or_else(|| {
            format!(
                "{file}: an unclosed marker after {:?}",
                &rest[..start.min(60)]
            )
        })?;
        let name = &after_open[..name_end];
        let close = format!("<!-- end generated: {name} -->");
        let body_start = start + OPEN.len() + name_end + " -->".len();
        let body_len = rest[body_start..]
            .find(&close)
            .ok_or_else(|| format!("{file}: section {name:?} has no `{close}`"))?;
        let content = sections
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| c)
            .ok_or_else(|| format!("{file}: section {name:?} is not one the generator writes"))?;
        out.push_str(&rest[..body_start]);
        // A block section keeps its content on lines of its own.
        let block = rest[body_start..].starts_with('\n');
        if block {
            out.push('\n');
            out.push_str(content.trim_end_matches('\n'));
            out.push('\n');
        } else {
            out.push_str(content);
        }
        out.push_str(&close);
        rest = &rest[body_start + body_len + close.len()..];
        seen.insert(name.to_owned());
    }
    out.push_str(rest);
    for (name, _) in sections {
        if !seen.contains(*name) {
            return Err(format!("{file}: no section {name:?} (add `<!-- generated: {name} --><!-- end generated: {name} -->` where it belongs)"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_block_and_inline_sections_and_keeps_the_rest() {
        let text = "a <!-- generated: n -->old<!-- end generated: n --> b\n<!-- generated: t -->\n|x|\n<!-- end generated: t -->\nc <!-- generated: n -->9<!-- end generated: n -->";
        let out = fill(
            text,
            "f",
            &[("n", "930 s".into()), ("t", "|y|\n|z|\n".into())],
        )
        .unwrap();
        assert_eq!(out, "a <!-- generated: n -->930 s<!-- end generated: n --> b\n<!-- generated: t -->\n|y|\n|z|\n<!-- end generated: t -->\nc <!-- generated: n -->930 s<!-- end generated: n -->");
        assert_eq!(
            fill(
                &out,
                "f",
                &[("n", "930 s".into()), ("t", "|y|\n|z|".into())]
            )
            .unwrap(),
            out
        );
    }

    #[test]
    fn unknown_missing_and_unclosed_sections_are_errors() {
        assert!(
            fill("<!-- generated: x -->1<!-- end generated: x -->", "f", &[])
                .unwrap_err()
                .contains("\"x\" is not one")
        );
        assert!(fill("text", "f", &[("y", String::new())])
            .unwrap_err()
            .contains("no section \"y\""));
        assert!(fill("<!-- generated: x -->1", "f", &[("x", String::new())])
            .unwrap_err()
            .contains("has no"));
    }
}
