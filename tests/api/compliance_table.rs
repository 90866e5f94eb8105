//! `docs/mcp-compliance.md` names, for every MCP requirement on an authorization server,
//! the tests that prove it. This keeps the table honest: each row has a unique id, a
//! level, and at least one test, and every test it names exists as a test function under
//! `tests/api`. Rows marked TODO (work still being merged) are exempt from the last two.

use std::collections::HashSet;

use crate::sweep::has_test;

const LEVELS: &[&str] = &[
    "MUST",
    "MUST NOT",
    "REQUIRED",
    "SHOULD",
    "SHOULD NOT",
    "RECOMMENDED",
    "MAY",
    "interop",
];

/// One requirement row of a table whose header starts `| Id | Level |`.
#[derive(Debug)]
struct Row {
    line: usize,
    id: String,
    level: String,
    todo: bool,
    tests: Vec<String>,
}

/// The spans between backticks of `cell`.
fn quoted(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn rows(markdown: &str) -> Result<Vec<Row>, String> {
    let mut found = Vec::new();
    let mut in_table = false;
    for (i, line) in markdown.lines().enumerate() {
        let line_no = i + 1;
        let Some(inner) = line.trim().strip_prefix('|') else {
            in_table = false;
            continue;
        };
        let cells: Vec<&str> = inner
            .strip_suffix('|')
            .ok_or_else(|| format!("line {line_no}: a table row must end with |"))?
            .split('|')
            .map(str::trim)
            .collect();
        if cells.first() == Some(&"Id") && cells.get(1) == Some(&"Level") {
            in_table = true;
            continue;
        }
        if !in_table || cells.iter().all(|c| c.chars().all(|ch| ch == '-')) {
            continue;
        }
        let [id, level, requirement, warden, tests] = cells[..] else {
            return Err(format!(
                "line {line_no}: {} cells, not 5 (a | inside a cell?)",
                cells.len()
            ));
        };
        let well_formed_id = id.split_once('-').is_some_and(|(prefix, n)| {
            !prefix.is_empty()
                && prefix.chars().all(|c| c.is_ascii_uppercase())
                && !n.is_empty()
                && n.chars().all(|c| c.is_ascii_digit())
        });
        if !well_formed_id {
            return Err(format!("line {line_no}: {id:?} is not an id like DISC-1"));
        }
        if requirement.len() < 20 || warden.is_empty() {
            return Err(format!("line {line_no}: {id} says too little"));
        }
        found.push(Row {
            line: line_no,
            id: id.to_owned(),
            level: level.to_owned(),
            todo: tests.starts_with("TODO"),
            tests: quoted(tests),
        });
    }
    Ok(found)
}

/// What is wrong with the table, one line each.
fn problems(rows: &[Row], exists: impl Fn(&str) -> bool) -> Vec<String> {
    let mut problems = Vec::new();
    let mut ids = HashSet::new();
    for row in rows {
        let at = format!("line {} ({})", row.line, row.id);
        if !ids.insert(row.id.as_str()) {
            problems.push(format!("{at}: the id is used twice"));
        }
        if !LEVELS.contains(&row.level.as_str()) {
            problems.push(format!(
                "{at}: level {:?} is not one of {LEVELS:?}",
                row.level
            ));
        }
        if row.todo {
            continue;
        }
        if row.tests.is_empty() {
            problems.push(format!("{at}: names no test"));
        }
        for test in &row.tests {
            if !exists(test) {
                problems.push(format!("{at}: no test function {test}"));
            }
        }
    }
    problems
}

#[test]
fn every_row_names_tests_that_exist() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/mcp-compliance.md");
    let table = rows(&std::fs::read_to_string(path).unwrap()).unwrap();
    // Discovery, the authorization endpoint, redirects, registration, tokens, security and
    // the extensions: a short count means the parser lost rows.
    assert!(table.len() >= 60, "only {} rows found", table.len());
    let mut problems = problems(&table, has_test);
    // And the other way round: every test written for the table is cited by a row.
    let cited: HashSet<&str> = table
        .iter()
        .flat_map(|r| r.tests.iter().map(String::as_str))
        .collect();
    let own = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api/compliance.rs"),
    )
    .unwrap();
    let lines: Vec<&str> = own.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(name) = line.trim_start().strip_prefix("async fn ") else {
            continue;
        };
        let name = name.split('(').next().unwrap_or_default();
        let is_test = i > 0 && lines[i - 1].trim() == "#[tokio::test]";
        if is_test && !cited.contains(format!("compliance::{name}").as_str()) {
            problems.push(format!("compliance::{name} is cited by no row"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_missing_test_a_repeated_id_or_a_bad_level_is_reported_and_todo_rows_wait() {
    let doc = "text\n\n\
        | Id | Level | Requirement (source) | Warden | Tests |\n\
        |---|---|---|---|---|\n\
        | A-1 | MUST | Something the specification asks for | Done | `real::test`<br>`gone::test` |\n\
        | A-1 | SHOULD | Something else the specification asks | Done | `real::test` |\n\
        | A-2 | OUGHT | Something the specification asks for | Done | `real::test` |\n\
        | A-3 | MAY | Something the specification allows here | Not yet | TODO `later::…` |\n\
        | A-4 | MAY | Something the specification allows here | Done | none |\n";
    let table = rows(doc).unwrap();
    assert_eq!(table.len(), 5);
    assert_eq!(table[0].tests, ["real::test", "gone::test"]);
    let found = problems(&table, |t| t == "real::test");
    assert_eq!(found.len(), 4, "{found:#?}");
    assert!(
        found[0].contains("no test function gone::test"),
        "{found:#?}"
    );
    assert!(found[1].contains("used twice"), "{found:#?}");
    assert!(found[2].contains("OUGHT"), "{found:#?}");
    assert!(found[3].contains("A-4") && found[3].contains("names no test"));

    // Rows outside an Id table are prose; a broken row inside one is an error.
    assert!(
        rows("| a | b |\n|---|---|\n| c | d |\n")
            .unwrap()
            .is_empty()
    );
    let split = "| Id | Level | Requirement | Warden | Tests |\n| A-1 | MUST | a | b | c | d |\n";
    assert!(rows(split).is_err());
    let bad_id = "| Id | Level | Requirement | Warden | Tests |\n| a1 | MUST | Something long enough here | b | `x::y` |\n";
    assert!(rows(bad_id).is_err());
    // The real check finds real tests, and not made-up ones.
    assert!(has_test(
        "compliance_table::every_row_names_tests_that_exist"
    ));
    assert!(!has_test("compliance_table::no_such_test"));
    assert!(!has_test(
        "no_such_module::every_row_names_tests_that_exist"
    ));
}
