//! The non-interactive commands, run as a user runs them.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_incidents")).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[test]
fn list_query_json_prints_the_coinspaid_record() {
    let o = run(&["list", "-q", "coinspaid", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 1);
    let c = &arr[0];
    assert_eq!(c["id"], "coinspaid-2023");
    assert_eq!(c["victim"], "CoinsPaid");
    assert_eq!(c["date"], "2023-07-22");
    assert_eq!(c["location"], "Estonia");
    assert_eq!(c["loss_usd"], 37_300_000);
    assert_eq!(c["actors"][0]["name"], "Lazarus Group");
    assert_eq!(c["actors"][0]["type"], "nation-state");
}

#[test]
fn list_output_loads_again_and_validates() {
    let dir = tempfile::tempdir().unwrap();
    let json = run(&["list", "--json"]);
    let path = dir.path().join("all.json");
    std::fs::write(&path, &json.stdout).unwrap();
    let jsonl = run(&["list", "--jsonl", "-q", "id:coinspaid"]);
    let lines = dir.path().join("2023.jsonl");
    std::fs::write(&lines, &jsonl.stdout).unwrap();
    let o = run(&["validate", path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let all: Vec<serde_json::Value> = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(stdout(&o).trim(), format!("ok: {} incidents in all.json", all.len()));
    let o = run(&["list", "--jsonl", lines.to_str().unwrap()]);
    assert!(o.status.success(), "a subset with links outside it loads: {}", stderr(&o));
    assert!(stdout(&o) == stdout(&jsonl), "JSON Lines output round-trips");
    let o = run(&["validate", lines.to_str().unwrap()]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("is not in the files given"), "dangling links are noted: {}", stdout(&o));
}

#[test]
fn list_table_csv_sort_and_limit() {
    let o = run(&["list", "-q", "actor:lazarus", "--sort", "date", "--limit", "3"]);
    let out = stdout(&o);
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(lines.len(), 4, "header and three rows:\n{out}");
    assert!(lines[0].starts_with("ID") && lines[0].contains("VICTIM") && lines[0].contains("ACTOR"));
    assert!(
        lines[1..].iter().all(|l| l.contains("Lazarus") || l.contains("TraderTraitor") || l.contains("APT38")),
        "{out}"
    );
    let o = run(&["list", "--csv", "-q", "coinspaid"]);
    let out = stdout(&o);
    assert!(out.starts_with("id,date,victim,name,location,industry,loss_usd,motives,actors,ttps,summary,"));
    assert!(
        out.contains("coinspaid-2023,2023-07-22,CoinsPaid,,Estonia,Cryptocurrency payments,37300000,financial,"),
        "{out}"
    );
}

#[test]
fn no_match_and_bad_query_exit_codes() {
    let o = run(&["list", "-q", "zzzqqqxxx"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no incident matches"));
    let o = run(&["list", "-q", "year:soon"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("incidents: --query: `year:soon`: expected a year"), "{}", stderr(&o));
}

#[test]
fn show_prints_text_or_json_and_fails_on_unknown_ids() {
    let o = run(&["show", "coinspaid-2023"]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(out.starts_with("CoinsPaid  (22 Jul 2023)\nEstonia · Cryptocurrency payments · $37.3M\n"), "{out}");
    for part in [
        "\nMotives\n  financial   Financial or personal gain\n",
        "\nTTPs\n",
        "  T1566.003 Spearphishing via Service  Initial Access\n",
        "            fake recruiter approached staff",
        "  Lazarus Group  G0032\n    Type      nation-state\n    Location  North Korea\n",
        "Sources",
        "Related",
        "atomic-wallet-2023",
    ] {
        assert!(out.contains(part), "{part:?} missing:\n{out}");
    }
    let o = run(&["show", "coinspaid-2023", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["victim"], "CoinsPaid");
    let o = run(&["show", "no-such-id"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no incident with id \"no-such-id\""));
}

#[test]
fn validate_reports_every_problem_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "[\n  {\"id\": \"a\", \"victim\": \"V\", \"date\": \"2023-02-30\", \"summary\": \"S\", \"motives\": [\"greed\"]}\n]").unwrap();
    let o = run(&["validate", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let lines: Vec<_> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with(&format!(
            "incidents: {}:2:38: record \"a\", field date: invalid date \"2023-02-30\": Feb 2023 has no day 30",
            bad.display()
        )),
        "{err}"
    );
    assert!(lines[1].contains("field motives[0]: unknown motive \"greed\""), "{err}");
    let malformed = dir.path().join("malformed.json");
    std::fs::write(&malformed, "[{\"id\": \"a\",}]").unwrap();
    let o = run(&["validate", malformed.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with(&format!("incidents: {}:1:13: invalid JSON", malformed.display())),
        "{}",
        stderr(&o)
    );
}

#[test]
fn missing_files_and_usage_errors_exit_2() {
    let o = run(&["list", "/no/such/file.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), "incidents: /no/such/file.json: no such file or directory\n");
    let o = run(&["validate"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["list", "--sort", "sideways"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn the_browser_refuses_to_draw_into_a_pipe() {
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("needs a terminal"), "{}", stderr(&o));
}
