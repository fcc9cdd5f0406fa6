//! Where users work, through the binary: rule groups and `-D warnings`, "did you mean", per-path
//! overrides, `--statistics`, what SARIF shows GitHub (linked related locations, security tags,
//! suppressed findings only on request), rule pages, install metadata and stale baselines.
mod common;

use std::path::Path;
use std::process::Output;

use common::{run_in, stderr, stdout};

/// An unbounded channel (line 2) and a bare connect (line 3), in a program that serves peers
/// (line 4: connects matter in servers, not in one-shot tools).
const MAIN_RS: &str = "async fn main() {\n    let (tx, rx) = flume::unbounded::<u32>();\n    let s = tokio::net::TcpStream::connect(\"db:5432\").await;\n    let server = tokio::net::TcpListener::bind(\"0.0.0.0:8080\").await;\n}\n";

/// A crate whose main.rs has an unbounded channel (line 2) and a bare connect (line 3).
fn workspace(config: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("src")).unwrap();
    std::fs::write(
        p.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(p.join("src/main.rs"), MAIN_RS).unwrap();
    // The library declares the files the tests add, so they are part of the build.
    std::fs::write(
        p.join("src/lib.rs"),
        "mod more;\nmod other;\n#[path = \"legacy/old.rs\"]\nmod legacy_old;\n",
    )
    .unwrap();
    if let Some(c) = config {
        std::fs::write(p.join("backpressure.toml"), c).unwrap();
    }
    dir
}

/// (level, rule, path) of each `--format short` line.
fn fired(o: &Output) -> Vec<(String, String, String)> {
    stdout(o)
        .lines()
        .filter_map(|l| {
            let (path, rest) = l.split_once(':')?;
            let (level, rest) = rest.split_once('[')?;
            let level = level.rsplit(' ').next()?.to_owned();
            let rule = rest.split(']').next()?.to_owned();
            Some((level, rule, path.to_owned()))
        })
        .collect()
}

fn short(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["--format", "short"];
    args.extend_from_slice(extra);
    run_in(dir, &args)
}

fn pairs(o: &Output) -> Vec<(String, String)> {
    fired(o).into_iter().map(|(l, r, _)| (l, r)).collect()
}

fn pair(level: &str, rule: &str) -> (String, String) {
    (level.to_owned(), rule.to_owned())
}

// ---- 5. Rule groups and muscle memory ----

#[test]
fn families_work_as_command_line_selectors() {
    let dir = workspace(None);
    let out = short(dir.path(), &["-D", "timeouts", "-A", "unbounded"]);
    assert_eq!(pairs(&out), [pair("error", "connect-without-timeout")]);
    // The last flag wins, as for rule ids.
    let out = short(
        dir.path(),
        &["-A", "timeouts", "-W", "connect-without-timeout"],
    );
    assert_eq!(
        pairs(&out),
        [
            pair("warning", "unbounded-channel"),
            pair("warning", "connect-without-timeout")
        ]
    );
}

#[test]
fn deny_warnings_makes_every_warning_fail() {
    let dir = workspace(None);
    let out = short(dir.path(), &["--fail-on", "deny"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = short(
        dir.path(),
        &[
            "--fail-on",
            "deny",
            "-D",
            "warnings",
            "-A",
            "unbounded-channel",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    // An allowed rule stays allowed: only findings at warn become errors.
    assert_eq!(pairs(&out), [pair("error", "connect-without-timeout")]);
}

#[test]
fn families_in_the_configuration_and_ids_win_over_them() {
    // The rule's own line wins wherever it is written.
    let dir = workspace(Some(
        "[rules]\nconnect-without-timeout = \"warn\"\ntimeouts = \"deny\"\nunbounded = \"allow\"\n",
    ));
    assert_eq!(
        pairs(&short(dir.path(), &[])),
        [pair("warning", "connect-without-timeout")]
    );
    let dir = workspace(Some("[rules]\nall = \"deny\"\n"));
    assert_eq!(
        pairs(&short(dir.path(), &[])),
        [
            pair("error", "unbounded-channel"),
            pair("error", "connect-without-timeout")
        ]
    );
}

#[test]
fn unknown_rules_get_a_suggestion_on_the_command_line_and_in_the_file() {
    let dir = workspace(None);
    let out = short(dir.path(), &["-D", "unbounded-chanel"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown rule `unbounded-chanel`; did you mean `unbounded-channel`?"),
        "{}",
        stderr(&out)
    );
    let out = short(dir.path(), &["-W", "timeout"]);
    assert!(stderr(&out).contains("did you mean `timeouts`?"));
    let out = short(dir.path(), &["-D", "warning"]);
    assert!(stderr(&out).contains("did you mean `warnings`?"));
    // Nothing close: every name is listed, groups included.
    let out = short(dir.path(), &["-D", "xyzzy-plugh-quux"]);
    assert!(
        stderr(&out).contains("the groups are: buffering,"),
        "{}",
        stderr(&out)
    );
    let out = run_in(dir.path(), &["--explain", "unbounded-chanel"]);
    assert!(stderr(&out).contains("did you mean `unbounded-channel`?"));

    let dir = workspace(Some(
        "[rules]\nunbounded-channel = \"deny\"\nconect-without-timeout = \"deny\"\n",
    ));
    let out = short(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("unknown rule `conect-without-timeout`"),
        "{err}"
    );
    assert!(err.contains("backpressure.toml:3:1"), "{err}");
    assert!(
        err.contains("help: did you mean `connect-without-timeout`?"),
        "{err}"
    );
    // `warnings` is a command-line selector only; a group takes a level only.
    let dir = workspace(Some("[rules]\nwarnings = \"deny\"\n"));
    assert!(stderr(&short(dir.path(), &[])).contains("pass `-D warnings`"));
    let dir = workspace(Some("[rules.timeouts]\nlevel = \"deny\"\n"));
    let err = stderr(&short(dir.path(), &[]));
    assert!(
        err.contains("the group `timeouts` takes a level only"),
        "{err}"
    );
}

#[test]
fn suppressions_name_families_and_typos_get_a_suggestion() {
    let dir = workspace(None);
    std::fs::write(
        dir.path().join("src/main.rs"),
        MAIN_RS
            .replace(
                "<u32>();",
                "<u32>(); // backpressure:allow(unbounded) drained at startup",
            )
            .replacen(
                ".await;",
                ".await; // backpressure:allow(conect-without-timeout)",
                1,
            ),
    )
    .unwrap();
    let out = short(dir.path(), &[]);
    assert_eq!(
        pairs(&out),
        [
            pair("warning", "connect-without-timeout"),
            pair("warning", "invalid-suppression")
        ]
    );
    let json = stdout(&run_in(dir.path(), &["--format", "json"]));
    assert!(
        json.contains("did you mean `connect-without-timeout`?"),
        "{json}"
    );
}

#[test]
fn list_rules_shows_the_groups_and_speaks_json() {
    let dir = workspace(None);
    let text = stdout(&run_in(dir.path(), &["--list-rules"]));
    assert!(text.contains("unbounded-channel"));
    let timeouts = text
        .lines()
        .find(|l| l.trim_start().starts_with("timeouts "))
        .expect("the timeouts group is listed");
    assert!(timeouts.contains("connect-without-timeout"), "{timeouts}");
    assert!(text.contains("warnings"));

    let out = run_in(dir.path(), &["--list-rules", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let catalogue = cargo_backpressure::catalogue::Catalogue::global();
    let rules = json["rules"].as_array().unwrap();
    assert_eq!(rules.len(), catalogue.rules.len());
    let channel = rules
        .iter()
        .find(|r| r["id"] == "unbounded-channel")
        .unwrap();
    assert_eq!(channel["family"], "unbounded");
    assert_eq!(channel["level"], "warn");
    assert_eq!(channel["options"][0]["name"], "max-capacity");
    assert!(channel["help_uri"]
        .as_str()
        .unwrap()
        .ends_with("/docs/rules/unbounded-channel.md"));
    let groups = json["groups"].as_array().unwrap();
    let timeouts = groups.iter().find(|g| g["name"] == "timeouts").unwrap();
    assert!(timeouts["rules"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("server-without-timeout")));
}

// ---- 6. Per-path levels ----

fn with_legacy(config: &str) -> tempfile::TempDir {
    let dir = workspace(Some(config));
    std::fs::create_dir_all(dir.path().join("src/legacy")).unwrap();
    std::fs::write(dir.path().join("src/legacy/old.rs"), MAIN_RS).unwrap();
    dir
}

#[test]
fn overrides_set_levels_for_the_paths_they_match() {
    let dir = with_legacy(
        "[rules]\ntimeouts = \"deny\"\n\n[[overrides]]\npaths = [\"src/legacy/**\"]\nrules = { unbounded = \"allow\", connect-without-timeout = \"warn\" }\n\n[[overrides]]\npaths = [\"src/main.rs\"]\nrules = { unbounded-channel = \"deny\" }\n",
    );
    let out = short(dir.path(), &[]);
    let mut got = fired(&out);
    got.sort();
    let row = |l: &str, r: &str, p: &str| (l.to_owned(), r.to_owned(), p.to_owned());
    assert_eq!(
        got,
        [
            row("error", "connect-without-timeout", "src/main.rs"),
            row("error", "unbounded-channel", "src/main.rs"),
            row("warning", "connect-without-timeout", "src/legacy/old.rs"),
        ],
        "{}",
        stdout(&out)
    );
    // The command line still wins over an override.
    let out = short(dir.path(), &["-D", "unbounded-channel"]);
    assert!(fired(&out).contains(&row("error", "unbounded-channel", "src/legacy/old.rs")));
    // A folder name matches the files under it, as `exclude` does.
    let dir = with_legacy("[[overrides]]\npaths = [\"src/legacy\"]\nrules = { all = \"allow\" }\n");
    assert!(fired(&short(dir.path(), &[]))
        .iter()
        .all(|(_, _, p)| p == "src/main.rs"));
}

#[test]
fn override_mistakes_point_into_the_file() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "[[overrides]]\npaths = [\"src/**\"]\nrules = { unbounded-chanel = \"allow\" }\n",
            "backpressure.toml:3:11",
            "did you mean `unbounded-channel`?",
        ),
        (
            "[[overrides]]\npath = [\"src/**\"]\nrules = { unbounded = \"allow\" }\n",
            "backpressure.toml:2:1",
            "unknown key `path`",
        ),
        (
            "[[overrides]]\npaths = [\"src/[\"]\nrules = { unbounded = \"allow\" }\n",
            "backpressure.toml:2:10",
            "invalid glob",
        ),
        (
            "[rules]\nunbounded = \"deny\"\n\n[[overrides]]\nrules = { unbounded = \"allow\" }\n",
            "backpressure.toml:4:1",
            "this override has no `paths`",
        ),
        (
            "[[overrides]]\npaths = []\nrules = { unbounded = \"allow\" }\n",
            "backpressure.toml:2:9",
            "applies nowhere",
        ),
        (
            "[[overrides]]\npaths = [\"src/**\"]\nrules = { unbounded-channel = { max-capacity = 10 } }\n",
            "backpressure.toml:3:33",
            "overrides set levels only",
        ),
        (
            "[[overrides]]\npaths = [\"src/**\"]\nrules = { unbounded = \"never\" }\n",
            "backpressure.toml:3:23",
            "invalid level",
        ),
        ("overrides = 3\n", "backpressure.toml:1:13", "must be an array of tables"),
    ];
    for (config, location, message) in cases {
        let dir = workspace(Some(config));
        let out = short(dir.path(), &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{config}\n{err}");
        assert!(err.contains(location), "{config}\nwant {location}\n{err}");
        assert!(err.contains(message), "{config}\nwant {message}\n{err}");
    }
}

// ---- 7. Statistics ----

#[test]
fn statistics_count_findings_per_rule() {
    let dir = workspace(None);
    std::fs::write(
        dir.path().join("src/more.rs"),
        "fn f() { let a = flume::unbounded::<u8>(); let b = crossbeam_channel::unbounded::<u8>(); }\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["--statistics"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .collect();
    let catalogue = cargo_backpressure::catalogue::Catalogue::global();
    let summary = |id: &str| catalogue.get(id).unwrap().summary.as_str();
    assert_eq!(
        lines,
        [
            vec!["3", "unbounded-channel", summary("unbounded-channel")],
            vec![
                "1",
                "connect-without-timeout",
                summary("connect-without-timeout")
            ],
        ],
        "{text}"
    );
    assert!(stderr(&out).contains("4 warnings"), "{}", stderr(&out));
    let out = run_in(dir.path(), &["--statistics", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json[0]["count"], 3);
    assert_eq!(json[0]["rule"], "unbounded-channel");
    assert_eq!(json[1]["rule"], "connect-without-timeout");
    assert_eq!(json.as_array().unwrap().len(), 2);
}

// ---- 8. What GitHub code scanning shows ----

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn results(sarif: &serde_json::Value) -> &Vec<serde_json::Value> {
    sarif["runs"][0]["results"].as_array().unwrap()
}

#[test]
fn sarif_links_related_locations_tags_security_rules_and_points_at_rule_pages() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fixtures.sarif");
    let root = common::repo_root();
    let out = run_in(
        &root,
        &[
            "fixtures",
            "--format",
            "sarif",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let sarif = read_json(&file);
    let mut linked = 0;
    for r in results(&sarif) {
        let text = r["message"]["text"].as_str().unwrap();
        for related in r["relatedLocations"].as_array().into_iter().flatten() {
            let id = related["id"].as_u64().unwrap();
            assert!(
                text.contains(&format!("]({id})")),
                "{id} not linked: {text}"
            );
            linked += 1;
        }
        // Brackets of the text itself are escaped, so only our links are links.
        let unlinked = text.replace("\\[", "").replace("\\]", "");
        let links = unlinked.matches("](").count();
        assert_eq!(unlinked.matches('[').count(), links, "{text}");
        assert!(
            r.get("suppressions").is_none(),
            "no suppressions unless asked"
        );
    }
    assert!(linked > 10, "the fixtures have related locations");
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    for rule in rules {
        let id = rule["id"].as_str().unwrap();
        let tags = rule["properties"]["tags"].as_array().unwrap();
        if rule["properties"].get("security-severity").is_some() {
            assert!(tags.contains(&serde_json::json!("security")), "{id}");
        }
        let uri = rule["helpUri"].as_str().unwrap();
        assert_eq!(uri, cargo_backpressure::docs::page_url(id));
        assert!(root.join(format!("docs/rules/{id}.md")).is_file(), "{uri}");
    }
    // The text footer links the page too.
    let text = stdout(&run_in(
        &root,
        &["fixtures/unbounded-channel/constructors.rs"],
    ));
    assert!(text.contains("= rule page: https://github.com/"), "{text}");
    assert!(text.contains("/docs/rules/unbounded-channel.md"));
    common::validate_sarif(&[&file]);
}

#[test]
fn suppressed_findings_stay_out_of_sarif_unless_asked_and_are_marked_then() {
    let dir = tempfile::tempdir().unwrap();
    let root = common::repo_root();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    // The baseline knows every finding but the unbounded-frame ones.
    let out = run_in(
        &root,
        &[
            "fixtures",
            "-A",
            "unbounded-frame",
            "--write-baseline",
            &path("baseline.json"),
        ],
    );
    assert!(out.status.code().unwrap() <= 1, "{}", stderr(&out));
    let variants: [(&str, &[&str]); 4] = [
        ("plain.sarif", &[]),
        ("baseline.sarif", &["--baseline", &path("baseline.json")]),
        ("audit.sarif", &["--report-suppressed"]),
        (
            "audit-baseline.sarif",
            &[
                "--report-suppressed",
                "--baseline",
                &path("baseline.json"),
                "-D",
                "all",
            ],
        ),
    ];
    let mut sarifs = Vec::new();
    for (name, extra) in variants {
        let mut args = vec!["fixtures", "--format", "sarif", "-o"];
        let file = path(name);
        args.push(&file);
        args.extend_from_slice(extra);
        let out = run_in(&root, &args);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        sarifs.push(read_json(Path::new(&file)));
    }
    let kinds = |sarif: &serde_json::Value| -> Vec<Option<String>> {
        results(sarif)
            .iter()
            .map(|r| {
                r.get("suppressions").map(|s| {
                    s.as_array()
                        .unwrap()
                        .iter()
                        .map(|k| k["kind"].as_str().unwrap())
                        .collect::<Vec<_>>()
                        .join(",")
                })
            })
            .collect()
    };
    let count = |sarif: &serde_json::Value, kind: &str| {
        kinds(sarif)
            .iter()
            .filter(|k| k.as_deref() == Some(kind))
            .count()
    };
    let plain = results(&sarifs[0]).len();
    // Without the flag: no suppressions anywhere, and neither comment- nor baseline-suppressed results.
    assert!(kinds(&sarifs[0]).iter().all(Option::is_none));
    assert!(kinds(&sarifs[1]).iter().all(Option::is_none));
    let frame = results(&sarifs[0])
        .iter()
        .filter(|r| r["ruleId"] == "unbounded-frame")
        .count();
    assert_eq!(results(&sarifs[1]).len(), frame);
    // With it: every result has the property; the comment-suppressed ones are inSource.
    let in_source = count(&sarifs[2], "inSource");
    assert!(in_source >= 3, "the fixtures have suppression comments");
    assert_eq!(count(&sarifs[2], ""), plain);
    assert_eq!(results(&sarifs[2]).len(), plain + in_source);
    // Baseline-hidden ones are external; new ones still have an empty array.
    assert_eq!(count(&sarifs[3], "external"), plain - frame);
    assert!(count(&sarifs[3], "") >= frame);
    assert_eq!(count(&sarifs[3], "inSource"), in_source);
    assert!(results(&sarifs[3]).iter().all(|r| r["level"] == "error"));
    let files: Vec<std::path::PathBuf> = ["plain", "baseline", "audit", "audit-baseline"]
        .iter()
        .map(|n| dir.path().join(format!("{n}.sarif")))
        .collect();
    common::validate_sarif(&files.iter().map(|p| p.as_path()).collect::<Vec<_>>());
}

// ---- 9. Rule pages ----

#[test]
fn rule_pages_are_up_to_date() {
    let root = common::repo_root();
    let catalogue = cargo_backpressure::catalogue::Catalogue::global();
    let docs = root.join(cargo_backpressure::docs::RULES_DIR);
    let update = std::env::var_os("UPDATE_DOCS").is_some();
    let mut expected = vec![(
        docs.join("README.md"),
        cargo_backpressure::docs::index_page(&catalogue.rules),
    )];
    for doc in &catalogue.rules {
        let toml = std::fs::read_to_string(root.join(format!("rules/{}.toml", doc.id))).unwrap();
        expected.push((
            docs.join(format!("{}.md", doc.id)),
            cargo_backpressure::docs::rule_page(doc, &toml),
        ));
    }
    let mut stale = Vec::new();
    for (path, text) in &expected {
        if std::fs::read_to_string(path).ok().as_deref() != Some(text.as_str()) {
            if update {
                std::fs::create_dir_all(&docs).unwrap();
                std::fs::write(path, text).unwrap();
            } else {
                stale.push(path.strip_prefix(&root).unwrap().display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "rule pages out of date: {}\nregenerate them with `{}`",
        stale.join(", "),
        cargo_backpressure::docs::REGENERATE
    );
    // No page for a rule that is gone.
    for entry in std::fs::read_dir(&docs).unwrap() {
        let path = entry.unwrap().path();
        assert!(
            expected.iter().any(|(p, _)| *p == path),
            "{} is not generated from the catalogue: remove it",
            path.display()
        );
    }
    // Each page has every section, and the README's rule table links each page.
    let page = &expected[1].1;
    for heading in [
        "## What it does",
        "## Why is this bad?",
        "## Example",
        "## Use instead",
        "## Fix",
        "## Configuration",
        "## Limits of the heuristic",
        "## APIs it knows",
    ] {
        assert!(page.contains(heading), "{heading}");
    }
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for id in catalogue.ids() {
        assert!(
            readme.contains(&format!("](docs/rules/{id}.md)")),
            "README does not link docs/rules/{id}.md"
        );
    }
}

#[test]
fn the_readmes_complete_configuration_is_accepted() {
    let readme = std::fs::read_to_string(common::repo_root().join("README.md")).unwrap();
    let start = readme
        .find("```toml\n# backpressure.toml\n")
        .expect("the complete file")
        + 8;
    let end = start + readme[start..].find("```").unwrap();
    let config = &readme[start..end];
    assert!(config.contains("[[overrides]]"));
    let dir = workspace(Some(config));
    let out = short(dir.path(), &[]);
    assert!(out.status.code().unwrap() <= 1, "{}", stderr(&out));
    // `timeouts = "deny"` reaches the connect; the channel's table sets deny too.
    assert_eq!(
        pairs(&out),
        [
            pair("error", "unbounded-channel"),
            pair("error", "connect-without-timeout")
        ]
    );
}

// ---- 10. Install cost ----

#[test]
fn binstall_metadata_and_locked_installs() {
    let root = common::repo_root();
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(root.join("Cargo.toml")).unwrap()).unwrap();
    let binstall = &manifest["package"]["metadata"]["binstall"];
    let pkg_url = binstall["pkg-url"].as_str().unwrap();
    for placeholder in ["{ repo }", "{ version }", "{ target }"] {
        assert!(pkg_url.contains(placeholder), "{pkg_url}");
    }
    assert!(binstall["bin-dir"].as_str().unwrap().contains("{ bin }"));
    assert!(manifest["package"]["repository"].as_str().is_some());

    for file in ["README.md", "action.yml"] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let installs: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("cargo install "))
            .collect();
        assert!(!installs.is_empty(), "{file}");
        for line in installs {
            assert!(line.contains("--locked"), "{file}: {line}");
        }
    }
    let hooks = std::fs::read_to_string(root.join(".pre-commit-hooks.yaml")).unwrap();
    assert!(hooks.contains("- id: cargo-backpressure\n"));
    assert!(hooks.contains("- id: cargo-backpressure-system\n"));
    assert!(hooks.contains("language: system"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains("id: cargo-backpressure-system"));
}

/// The `run:` block of the action step named `name`, unindented.
fn action_step_script(action: &str, name: &str) -> String {
    let at = action.find(&format!("- name: {name}\n")).expect("the step");
    let step = &action[at..];
    let run = step.find("run: |\n").expect("a run block") + "run: |\n".len();
    let mut script = String::new();
    for line in step[run..].lines() {
        if !line.starts_with("        ") && !line.trim().is_empty() {
            break;
        }
        script.push_str(line.trim_start_matches("        "));
        script.push('\n');
    }
    script
}

#[test]
fn the_action_caches_the_binary_by_version() {
    let root = common::repo_root();
    let action = std::fs::read_to_string(root.join("action.yml")).unwrap();
    assert!(action.contains("uses: actions/cache@v4"));
    assert!(action.contains("key: ${{ steps.tool.outputs.key }}"));
    assert!(action.contains("path: ${{ steps.tool.outputs.root }}"));
    assert!(action.contains("if: steps.cache.outputs.cache-hit != 'true'"));
    assert!(action.contains("--root \"$BP_ROOT\""));
    // The step that computes the key, run as the runner would.
    let script = action_step_script(&action, "Find the linter's version");
    let dir = tempfile::tempdir().unwrap();
    let (output, path) = (dir.path().join("output"), dir.path().join("path"));
    let out = std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .env("GITHUB_ACTION_PATH", &root)
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_PATH", &path)
        .env("RUNNER_TOOL_CACHE", dir.path())
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let outputs = std::fs::read_to_string(&output).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        outputs.contains(&format!("version={version}\n")),
        "{outputs}"
    );
    let key = outputs
        .lines()
        .find_map(|l| l.strip_prefix("key="))
        .unwrap();
    assert!(
        key.starts_with(&format!("cargo-backpressure-Linux-X64-{version}-")),
        "{key}"
    );
    let bin = std::fs::read_to_string(&path).unwrap();
    assert!(bin.trim_end().ends_with("/bin"), "{bin}");
    // The lint step runs the binary itself, so a cache hit needs no cargo.
    assert!(action.contains("cargo-backpressure $BP_PATHS $BP_ARGS --format sarif"));
}

#[test]
fn a_baseline_that_lists_fixed_findings_says_so() {
    let dir = workspace(None);
    std::fs::write(
        dir.path().join("src/other.rs"),
        "fn f() { let q = crossbeam_channel::unbounded::<u8>(); }\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["--write-baseline", "baseline.json"]);
    assert!(
        stderr(&out).contains("wrote 3 findings"),
        "{}",
        stderr(&out)
    );
    let out = run_in(dir.path(), &["--baseline", "baseline.json"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !stderr(&out).contains("no longer reports"),
        "{}",
        stderr(&out)
    );
    // Fix the channel in main.rs.
    std::fs::write(
        dir.path().join("src/main.rs"),
        MAIN_RS.replace("flume::unbounded::<u32>()", "flume::bounded::<u32>(64)"),
    )
    .unwrap();
    let out = run_in(dir.path(), &["--baseline", "baseline.json"]);
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(
        err.contains("the baseline baseline.json lists 1 finding that this run no longer reports"),
        "{err}"
    );
    assert!(
        err.contains("rewrite it with `cargo backpressure --write-baseline baseline.json`"),
        "{err}"
    );
    // A run on other files does not judge the entries it did not lint.
    let out = run_in(dir.path(), &["--baseline", "baseline.json", "src/other.rs"]);
    assert!(
        !stderr(&out).contains("no longer reports"),
        "{}",
        stderr(&out)
    );
    // A file that is gone: its entries are stale wherever the run looked (and main.rs's fixed one).
    std::fs::remove_file(dir.path().join("src/other.rs")).unwrap();
    let out = run_in(dir.path(), &["--baseline", "baseline.json", "src/main.rs"]);
    assert!(
        stderr(&out).contains("lists 2 findings"),
        "{}",
        stderr(&out)
    );
}
