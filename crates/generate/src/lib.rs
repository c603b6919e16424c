//! `make generate`: everything the repository derives from facts declared once in code.
//!
//! - **Settings** (`SETTINGS` of each function crate, `gcx_core::lambda::COMMON_SETTINGS`, the Genesys
//!   client's): the template parameters' type, default, pattern and description, and the README's tables.
//! - **Topics** (`gcx_core::events::DetailTopic`): the rule's default topic filter and its count.
//! - **Retry schedules** (`enrich::settings`, and the state machine's retriers in `state_machine.asl.json`): the
//!   delays and totals the docs print.
//! - **Parameters** (template.yaml): the deploy guide's table of every parameter, from the template's
//!   defaults and descriptions.
//!
//! The Genesys action files (`gcx-actions write`), `docs/catalogue.json` and the capacity tables are written
//! by their own tools; `make generate` runs them all. `gcx-generate --check` fails when a file differs from
//! what it would write, so a hand edit to a generated part fails `make test`.

pub mod genesys_actions;
pub mod pattern;
pub mod sections;
pub mod state_machine;
pub mod template;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gcx_core::setting::{Kind, Schedule, Setting};

/// A function's settings and where they are declared.
pub struct Declared {
    /// The function (or `every function`).
    pub function: &'static str,
    /// Where its declarations live, for the generated blocks' comment.
    pub source: &'static str,
    /// The declarations.
    pub settings: &'static [Setting],
}

/// Every declaration, by function.
pub fn declared() -> Vec<Declared> {
    let mut all = vec![
        Declared {
            function: "every function",
            source: "crates/core/src/lambda.rs",
            settings: gcx_core::lambda::COMMON_SETTINGS,
        },
        Declared {
            function: "data-action",
            source: "crates/data-action/src/config.rs",
            settings: data_action::config::SETTINGS,
        },
        Declared {
            function: "fanout",
            source: "crates/fanout/src/settings.rs",
            settings: fanout::SETTINGS,
        },
        Declared {
            function: "process",
            source: "crates/process/src/lib.rs",
            settings: process::SETTINGS,
        },
        Declared {
            function: "save",
            source: "crates/save/src/settings.rs",
            settings: save::SETTINGS,
        },
        Declared {
            function: "enrich",
            source: "crates/enrich/src/settings.rs",
            settings: enrich::SETTINGS,
        },
        Declared {
            function: "enrich",
            source: "crates/genesys/src/auth.rs",
            settings: gcx_genesys::auth::SETTINGS,
        },
    ];
    // The data action: the framework's variables, then each action's own, in `ACTIONS` order.
    all.extend(data_action::actions::ACTIONS.iter().map(|a| Declared {
        function: "data-action",
        source: "crates/data-action/src/actions/",
        settings: a.settings,
    }));
    all
}

/// A declaration, the functions that read it, and where the first of them lists it.
type Use = (Setting, Vec<&'static str>, &'static str);

/// Each variable once, with the functions that read it; two different declarations of one variable are an
/// error (a fact declared twice).
fn by_variable() -> Result<BTreeMap<&'static str, Use>, String> {
    let mut out: BTreeMap<&str, Use> = BTreeMap::new();
    for d in declared() {
        for s in d.settings {
            let entry = out.entry(s.variable).or_insert((*s, Vec::new(), d.source));
            if entry.0 != *s {
                return Err(format!(
                    "{} is declared twice, differently ({} and {})",
                    s.variable, entry.2, d.source
                ));
            }
            if !entry.1.contains(&d.function) {
                entry.1.push(d.function);
            }
        }
    }
    Ok(out)
}

/// Every setting `functions` read, each once, in declaration order.
fn read_by(functions: &[&str]) -> Vec<Setting> {
    let mut out: Vec<Setting> = Vec::new();
    for d in declared()
        .iter()
        .filter(|d| functions.contains(&d.function))
    {
        for s in d.settings {
            if !out.iter().any(|o| o.variable == s.variable) {
                out.push(*s);
            }
        }
    }
    out
}

/// A Markdown table of `settings`, naming the function that reads each when `functions` has more than one.
fn settings_table(functions: &[&str]) -> Result<String, String> {
    let all = by_variable()?;
    let mut rows = vec![
        "| variable | default | meaning |".to_owned(),
        "|---|---|---|".to_owned(),
    ];
    for s in &read_by(functions) {
        let readers: Vec<&str> = all[s.variable]
            .1
            .iter()
            .copied()
            .filter(|f| functions.contains(f))
            .collect();
        let who = if functions.len() > 1 {
            format!(" ({})", readers.join(", "))
        } else {
            String::new()
        };
        rows.push(format!(
            "| `{}`{who} | {} | {} |",
            s.variable,
            default_cell(s),
            meaning_cell(s)
        ));
    }
    Ok(rows.join("\n"))
}

fn default_cell(s: &Setting) -> String {
    match s.kind {
        Kind::Required => "required".to_owned(),
        Kind::Optional { unset } => unset.to_owned(),
        _ => format!("`{}`", s.default_text()),
    }
}

fn meaning_cell(s: &Setting) -> String {
    let mut extra = Vec::new();
    match (s.kind, s.range_text()) {
        (Kind::List { .. }, _) => extra.push("a comma list, or `none`".to_owned()),
        (_, Some(range)) => extra.push(if s.unit.is_empty() {
            range
        } else {
            format!("{range} {}", s.unit)
        }),
        _ => {}
    }
    match (s.deployed, s.kind) {
        (Some((min, max)), Kind::Whole { .. }) => {
            extra.push(format!("the template allows {min}–{max}"));
        }
        (Some((min, max)), Kind::Seconds { .. }) => {
            let text =
                |ms: u64| gcx_core::setting::seconds_text(std::time::Duration::from_millis(ms));
            extra.push(format!("the template allows {}–{} s", text(min), text(max)));
        }
        _ => {}
    }
    if let Some(p) = s.parameter {
        extra.push(format!("template parameter `{p}`"));
    }
    let doc = s.doc.trim_end_matches('.');
    if extra.is_empty() {
        format!("{doc}.")
    } else {
        let extra = extra.join("; ");
        let mut chars = extra.chars();
        let first = chars
            .next()
            .map(|c| c.to_uppercase().collect::<String>())
            .unwrap_or_default();
        format!("{doc}. {first}{}.", chars.as_str())
    }
}

/// The `Env:` list of docs/contracts.md: each variable with its bounds and default.
fn env_list(functions: &[&str]) -> String {
    let mut items: Vec<String> = Vec::new();
    for s in &read_by(functions) {
        let unit = if s.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", s.unit)
        };
        let what = match s.kind {
            Kind::Required => "required".to_owned(),
            Kind::Optional { .. } => "optional".to_owned(),
            Kind::List { .. } => {
                format!("a comma list, or `none`; default `{}`", s.default_text())
            }
            _ => format!(
                "{}{unit}, default {}",
                s.range_text().unwrap_or_default(),
                s.default_text()
            ),
        };
        items.push(format!("`{}` ({what})", s.variable));
    }
    items.join(", ")
}

/// `30+60+120+240+480 = **930 s**`.
fn schedule_sum(s: &Schedule) -> String {
    let delays: Vec<String> = s.delays().iter().map(u32::to_string).collect();
    let total = s.total();
    let minutes = if total >= 120 {
        format!(" ({} min)", (total + 30) / 60)
    } else {
        String::new()
    };
    format!("{} = **{} s**{minutes}", delays.join("+"), thousands(total))
}

fn thousands(n: u32) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The deploy guide's table of the state machine's retriers, with each one's worst-case waiting.
fn asl_retries_table(retriers: &[state_machine::Retrier], lambda_tasks: &[String]) -> String {
    let mut rows = vec![
        "| errors | where | retry | worst-case waiting |".to_owned(),
        "|---|---|---|---|".to_owned(),
    ];
    for r in retriers {
        let errors = r
            .errors
            .iter()
            .map(|e| format!("`{e}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let states = if r.states == lambda_tasks {
            "every Lambda Task".to_owned()
        } else {
            r.states.join(", ")
        };
        rows.push(format!(
            "| {errors} | {states} | {} | {} |",
            r.deploy_text(),
            schedule_sum(&r.schedule)
        ));
    }
    rows.join("\n")
}

/// `ProcessBatch 141 s, SaveBatch 192 s, ValidateBatch 141 s: 474 s (8 min) in all`: the longest a batch can
/// spend waiting on retries when every attempt of every Lambda Task fails transiently.
fn asl_retry_chain(retriers: &[state_machine::Retrier], lambda_tasks: &[String]) -> String {
    let per_task: Vec<(String, u32)> = lambda_tasks
        .iter()
        .map(|t| {
            let waiting = retriers
                .iter()
                .filter(|r| r.states.contains(t))
                .map(|r| r.schedule.total())
                .sum();
            (t.clone(), waiting)
        })
        .collect();
    let total: u32 = per_task.iter().map(|(_, w)| w).sum();
    let each = per_task
        .iter()
        .map(|(t, w)| format!("{t} {} s", thousands(*w)))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{each}: {} s ({} min) in all",
        thousands(total),
        (total + 30) / 60
    )
}

/// The deploy guide's table of every template parameter.
fn parameters_table(template: &str) -> Result<String, String> {
    let mut rows = vec![
        "| parameter | default | meaning |".to_owned(),
        "|---|---|---|".to_owned(),
    ];
    for p in template::parameters(template)? {
        let default = match (&p.default, p.no_echo) {
            (None, _) => "(required)".to_owned(),
            (Some(d), true) => format!("`{}` (NoEcho)", if d.is_empty() { "''" } else { d }),
            (Some(d), false) if d.is_empty() => "`''`".to_owned(),
            (Some(d), false) if d.chars().count() > 40 => "see meaning".to_owned(),
            (Some(d), false) => format!("`{d}`"),
        };
        rows.push(format!(
            "| `{}` | {default} | {} |",
            p.name,
            p.description.replace('|', "\\|")
        ));
    }
    Ok(rows.join("\n"))
}

/// The file that declares `variable` (`pub const VARIABLE: Setting`), for the generated blocks' comment.
fn declaration_file(root: &Path, variable: &str) -> String {
    let needle = format!("pub const {variable}: Setting");
    let mut stack = vec![root.join("crates")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && std::fs::read_to_string(&path).is_ok_and(|t| t.contains(&needle))
            {
                return path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
            }
        }
    }
    "crates/".to_owned()
}

/// Every generated file: (path under the root, content).
pub fn outputs(root: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let read = |p: &str| std::fs::read_to_string(root.join(p)).map_err(|e| format!("{p}: {e}"));
    // template.yaml: the parameter blocks of every declared setting, and the topic filter.
    let mut template = read("template.yaml")?;
    for (variable, (setting, _, _)) in by_variable()? {
        if let Some(block) = template::block(&setting, &declaration_file(root, variable))? {
            let name = setting.parameter.unwrap_or_default();
            template = template::put(&template, name, &block)?;
            // `VAR: !Ref Param`, or `VAR: !If [cond, !Ref Param, ...]`.
            let wired = template.lines().any(|l| {
                let l = l.trim_start();
                l.starts_with(&format!("{variable}: ")) && l.contains(&format!("!Ref {name}"))
            });
            if !wired {
                return Err(format!(
                    "template.yaml: {name} is declared for {variable}, but no function's Environment sets `{variable}: !Ref {name}`"
                ));
            }
        }
    }
    let detail_types: Vec<String> = gcx_core::events::DetailTopic::ALL
        .iter()
        .map(|t| t.detail_type())
        .collect();
    template = template::put(
        &template,
        "GenesysTopicFilter",
        &template::topic_filter_block(&detail_types),
    )?;

    let topics = gcx_core::events::DetailTopic::ALL.len().to_string();
    let topic_list = gcx_core::events::DetailTopic::SUFFIXES
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let not_indexed = enrich::settings::default_not_indexed();
    let unavailable = enrich::settings::default_unavailable();
    // `default-VARIABLE`: a declared setting's default, where prose quotes it.
    let defaults: Vec<(String, String)> = by_variable()?
        .into_iter()
        .map(|(variable, (setting, _, _))| (format!("default-{variable}"), setting.default_text()))
        .collect();
    let figures: Vec<(&str, String)> = vec![
        ("topic-count", topics),
        ("topic-list", topic_list),
        (
            "not-indexed-total",
            format!("{} s", thousands(not_indexed.total())),
        ),
        (
            "unavailable-total",
            format!("{} s", thousands(unavailable.total())),
        ),
        // enrich's wait after a 429 without `Retry-After`.
        (
            "rate-limited-wait",
            format!("{} s", enrich::settings::RATE_LIMITED_WAIT.as_secs()),
        ),
    ];
    let readme = vec![
        ("settings-fanout", settings_table(&["fanout"])?),
        ("settings-tasks", settings_table(&["process", "save"])?),
        ("settings-enrich", settings_table(&["enrich"])?),
        ("settings-common", settings_table(&["every function"])?),
        ("settings-data-action", settings_table(&["data-action"])?),
    ];

    let asl: serde_json::Value = serde_json::from_str(&read("state_machine.asl.json")?)
        .map_err(|e| format!("state_machine.asl.json: {e}"))?;
    let retriers = state_machine::retriers(&asl)?;
    let lambda_tasks = state_machine::lambda_tasks(&asl)?;
    // `retry-NAME`: how the state machine retries an error, where the contract names it.
    let retry_texts: Vec<(String, String)> = state_machine::by_error(&retriers)
        .into_iter()
        .map(|(error, r)| (format!("retry-{error}"), r.contract_text()))
        .collect();

    let deploy = vec![
        ("parameters", parameters_table(&template)?),
        ("asl-retries", asl_retries_table(&retriers, &lambda_tasks)),
        ("asl-retry-chain", asl_retry_chain(&retriers, &lambda_tasks)),
        ("not-indexed-sum", schedule_sum(&not_indexed)),
        ("unavailable-sum", schedule_sum(&unavailable)),
    ];

    // The record's keys, from a record with every optional part present.
    let record = serde_json::to_value(gcx_core::contract::ConversationRecord {
        customer_key: Some(String::new()),
        customer_contact_at: Some(0),
        ..Default::default()
    })
    .map_err(|e| format!("a record does not serialize: {e}"))?;
    let backticked = |names: Vec<&str>| {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let record_keys = backticked(
        record
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default(),
    );
    let record_body_fields = backticked(gcx_core::contract::body::ALL.to_vec());
    let contracts = vec![
        ("record-keys", record_keys),
        ("record-body-fields", record_body_fields),
        ("env-fanout", env_list(&["fanout"])),
        ("env-process", env_list(&["process"])),
        ("env-save", env_list(&["save"])),
        ("env-enrich", env_list(&["enrich"])),
        ("not-indexed-sum", schedule_sum(&not_indexed)),
    ];
    let mut out = vec![(PathBuf::from("template.yaml"), template)];
    for (file, mut sections) in [
        ("README.md", readme),
        ("docs/deploy.md", deploy),
        ("docs/contracts.md", contracts),
        ("genesys/README.md", Vec::new()),
    ] {
        // The figures any document may quote, each where it has a section for it.
        let text = read(file)?;
        for (name, value) in &figures {
            if text.contains(&format!("<!-- generated: {name} -->")) {
                sections.push((*name, value.clone()));
            }
        }
        for (name, value) in defaults.iter().chain(&retry_texts) {
            if text.contains(&format!("<!-- generated: {name} -->")) {
                sections.push((name.as_str(), value.clone()));
            }
        }
        out.push((PathBuf::from(file), sections::fill(&text, file, &sections)?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declaration_reads_as_declared_and_has_a_doc() {
        for (variable, (s, _, source)) in by_variable().unwrap() {
            assert!(!s.doc.is_empty(), "{variable} ({source}) has no doc");
            let empty: [(&str, &str); 0] = [];
            let read = match s.kind {
                Kind::Whole { default, .. } => s.read_whole(&empty).map(|v| assert_eq!(v, default)),
                Kind::Seconds { default, .. } => {
                    s.read_seconds(&empty).map(|v| assert_eq!(v, default))
                }
                Kind::Flag { default } => s.read_flag(&empty).map(|v| assert_eq!(v, default)),
                Kind::List { .. } => s.read_list(&empty).map(|v| assert_eq!(v, None)),
                Kind::Required => continue,
                Kind::Optional { .. } => continue,
            };
            read.unwrap_or_else(|e| panic!("{variable}: {e}"));
        }
    }

    #[test]
    fn schedules_print_their_sum() {
        let s = Schedule {
            base: 10,
            factor: 2,
            cap: 900,
            attempts: 8,
        };
        assert_eq!(
            schedule_sum(&s),
            "10+20+40+80+160+320+640+900 = **2,170 s** (36 min)"
        );
        assert_eq!(thousands(930), "930");
    }
}
