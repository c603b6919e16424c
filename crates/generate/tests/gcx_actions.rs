//! `gcx-actions` (what `make actions` and `make test` run) as a user runs it, in a copy of the repository's
//! files: the committed files are fresh, a drifted file fails `check`, `write` restores it and warns when a
//! contract change would make Genesys recreate the action, stale files are named, and `lint` refuses a
//! broken import file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gcx-actions"))
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .expect("run gcx-actions")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A scratch copy of template.yaml and genesys/.
fn copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::copy(
        repo().join("template.yaml"),
        dir.path().join("template.yaml"),
    )
    .unwrap();
    for sub in ["genesys/data-action", "genesys/terraform"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for entry in std::fs::read_dir(repo().join(sub)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.path().join(sub).join(entry.file_name())).unwrap();
        }
    }
    dir
}

#[test]
fn the_committed_files_are_fresh_and_pass_the_lint() {
    let out = run(&repo(), &["check"]);
    assert!(out.status.success(), "{}", text(&out));
    let files: Vec<PathBuf> = std::fs::read_dir(repo().join("genesys/data-action"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".custom.json"))
        .collect();
    assert_eq!(files.len(), 2, "one import file per action");
    let mut args = vec!["lint"];
    let names: Vec<String> = files
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    args.extend(names.iter().map(String::as_str));
    let out = run(&repo(), &args);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn drift_fails_check_and_write_restores_it_naming_a_contract_change() {
    let dir = copy();
    let root = dir.path();
    let import = root.join("genesys/data-action/recent-contact.custom.json");
    let mut value: Value =
        serde_json::from_str(&std::fs::read_to_string(&import).unwrap()).unwrap();
    value["contract"]["output"]["successSchema"]["properties"]["extra"] =
        serde_json::json!({"type": "string"});
    std::fs::write(&import, serde_json::to_string_pretty(&value).unwrap()).unwrap();
    std::fs::write(
        root.join("genesys/data-action/old-action.custom.json"),
        "{}",
    )
    .unwrap();

    let out = run(root, &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("recent-contact.custom.json: differs"),
        "{said}"
    );
    assert!(
        said.contains("old-action.custom.json: no action generates it"),
        "{said}"
    );

    let out = run(root, &["write"]);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("recent-contact.custom.json: the output contract changed")
            && said.contains("recreate"),
        "{said}"
    );
    assert!(!root
        .join("genesys/data-action/old-action.custom.json")
        .exists());
    let out = run(root, &["check"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn lint_refuses_a_broken_import_file_and_check_needs_the_template() {
    let dir = copy();
    let root = dir.path();
    let import = root.join("genesys/data-action/customer-lookup.custom.json");
    let mut value: Value =
        serde_json::from_str(&std::fs::read_to_string(&import).unwrap()).unwrap();
    value["config"]["response"]["successTemplate"] = "${rawResult.data}".into();
    value["contract"]["input"]["inputSchema"]["properties"]["orgId"] =
        serde_json::json!({"type": "string"});
    std::fs::write(&import, value.to_string()).unwrap();
    let out = run(root, &["lint", &import.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out);
    assert!(
        said.contains("successTemplate") && said.contains("\"orgId\" is reserved"),
        "{said}"
    );

    std::fs::remove_file(root.join("template.yaml")).unwrap();
    let out = run(root, &["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("template.yaml"), "{}", text(&out));
}
