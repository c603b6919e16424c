//! CloudFormation `AllowedPattern`s for the numbers the code accepts.
//!
//! A template parameter of type `Number` takes `1.5` and `1e3`, which a function refuses at init, so every
//! number is a `String` whose pattern accepts exactly the code's range. Written here because no maintained
//! crate turns a numeric range into a regular expression; the tests check every value of each range.

/// `^(...)$` matching the decimal whole numbers `min..=max`, written without leading zeros.
pub fn whole(min: u64, max: u64) -> String {
    format!("^({})$", alternatives(min, max).join("|"))
}

/// `^(...)$` matching seconds from `min_ms` to `max_ms` milliseconds, fractions allowed: `0.5`, `2`, `2.25`.
/// `max_ms` must be whole seconds, and `min_ms` zero, a power of ten below a second (0.1, 0.01, 0.001) or
/// whole seconds: the kinds of bound the settings use.
pub fn seconds(min_ms: u64, max_ms: u64) -> Result<String, String> {
    if !max_ms.is_multiple_of(1000) || max_ms == 0 {
        return Err(format!(
            "the largest seconds must be whole, got {max_ms} ms"
        ));
    }
    let max = max_ms / 1000;
    let mut parts = Vec::new();
    let fraction = r"(\.[0-9]+)?";
    let lowest_whole = if min_ms == 0 {
        parts.push(format!("0{fraction}"));
        1
    } else if min_ms < 1000 {
        // 0.1 -> zeros = 0; 0.01 -> 1; 0.001 -> 2.
        let zeros = match min_ms {
            100 => 0,
            10 => 1,
            1 => 2,
            _ => {
                return Err(format!(
                    "the smallest seconds must be 0, 0.1, 0.01, 0.001 or whole, got {min_ms} ms"
                ))
            }
        };
        let firsts: Vec<String> = (0..=zeros)
            .rev()
            .map(|z| format!("{}[1-9]", "0".repeat(z)))
            .collect();
        let first = if firsts.len() == 1 {
            firsts[0].clone()
        } else {
            format!("({})", firsts.join("|"))
        };
        parts.push(format!(r"0\.{first}[0-9]*"));
        1
    } else if min_ms.is_multiple_of(1000) {
        min_ms / 1000
    } else {
        return Err(format!(
            "the smallest seconds must be 0, 0.1, 0.01, 0.001 or whole, got {min_ms} ms"
        ));
    };
    if lowest_whole < max {
        for whole in alternatives(lowest_whole, max - 1) {
            parts.push(format!("{whole}{fraction}"));
        }
    }
    parts.push(format!(r"{max}(\.0+)?"));
    Ok(format!("^({})$", parts.join("|")))
}

/// The alternatives for `min..=max`, split by number of digits.
fn alternatives(min: u64, max: u64) -> Vec<String> {
    let mut out = Vec::new();
    let mut lo = min;
    while lo <= max {
        let digits = lo.to_string().len() as u32;
        let top = 10u64.saturating_pow(digits).saturating_sub(1).min(max);
        out.extend(same_length(&lo.to_string(), &top.to_string()));
        if top == u64::MAX {
            break;
        }
        lo = top + 1;
    }
    out
}

/// The alternatives for the numbers from `lo` to `hi`, both of the same number of digits.
fn same_length(lo: &str, hi: &str) -> Vec<String> {
    if lo.is_empty() {
        return vec![String::new()];
    }
    if lo == hi {
        return vec![lo.to_owned()];
    }
    let (a, b) = (lo.as_bytes()[0], hi.as_bytes()[0]);
    let (lo_rest, hi_rest) = (&lo[1..], &hi[1..]);
    if a == b {
        return same_length(lo_rest, hi_rest)
            .into_iter()
            .map(|s| format!("{}{s}", a as char))
            .collect();
    }
    let n = lo_rest.len();
    let mut out = Vec::new();
    let mut first = a;
    if lo_rest.bytes().any(|c| c != b'0') {
        out.extend(
            same_length(lo_rest, &"9".repeat(n))
                .into_iter()
                .map(|s| format!("{}{s}", a as char)),
        );
        first += 1;
    }
    let mut last = b;
    let mut tail = Vec::new();
    if hi_rest.bytes().any(|c| c != b'9') {
        tail = same_length(&"0".repeat(n), hi_rest)
            .into_iter()
            .map(|s| format!("{}{s}", b as char))
            .collect();
        last -= 1;
    }
    if first <= last {
        let class = if first == last {
            (first as char).to_string()
        } else {
            format!("[{}-{}]", first as char, last as char)
        };
        let rest = match n {
            0 => String::new(),
            1 => "[0-9]".to_owned(),
            _ => format!("[0-9]{{{n}}}"),
        };
        out.push(format!("{class}{rest}"));
    }
    out.extend(tail);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    #[test]
    fn whole_matches_exactly_the_range() {
        for (min, max) in [
            (1, 1000),
            (0, 900),
            (0, 36_500),
            (2, 50),
            (50, 100_000),
            (1, 86_400),
            (0, 9999),
            (1, 9),
            (7, 7),
        ] {
            let re = Regex::new(&whole(min, max)).unwrap();
            for n in 0..=max + 1500 {
                assert_eq!(
                    re.is_match(&n.to_string()),
                    (min..=max).contains(&n),
                    "{n} in {min}..={max}: {re}"
                );
            }
            for bad in ["", "01", "1.5", "1e3", "-1", " 1", "abc", "+1"] {
                assert!(!re.is_match(bad), "{bad:?} in {min}..={max}");
            }
        }
    }

    #[test]
    fn seconds_match_exactly_the_range() {
        for (min_ms, max_ms) in [
            (100, 60_000),
            (10, 20_000),
            (0, 60_000),
            (1000, 900_000),
            (1, 5000),
        ] {
            let re = Regex::new(&seconds(min_ms, max_ms).unwrap()).unwrap();
            // Every value to the thousandth, written as the shortest decimal, and with trailing zeros.
            for ms in 0..=max_ms + 2500 {
                let inside = (min_ms..=max_ms).contains(&ms);
                let short = gcx_core::setting::seconds_text(std::time::Duration::from_millis(ms));
                let long = format!("{}.{:03}0", ms / 1000, ms % 1000);
                for text in [short, long] {
                    assert_eq!(
                        re.is_match(&text),
                        inside,
                        "{text} in {min_ms}..={max_ms} ms: {re}"
                    );
                }
            }
            for bad in ["", "abc", "-1", "1e3", ".5", "1.", " 2"] {
                assert!(!re.is_match(bad), "{bad:?}");
            }
        }
        assert!(seconds(250, 60_000).is_err());
        assert!(seconds(100, 60_500).is_err());
    }
}
