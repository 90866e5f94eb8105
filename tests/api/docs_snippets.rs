//! The code in `docs/` that users copy is the code the tests run: a fenced block preceded by
//! `<!-- snippet: PATH#NAME -->` must equal the lines between the `docs:start NAME` and
//! `docs:end NAME` comment lines of PATH (relative to the repository root), with their common
//! indentation removed and trailing whitespace stripped.

use std::path::{Path, PathBuf};

const MARKER: &str = "<!-- snippet: ";

/// One `<!-- snippet: … -->` in a markdown file and the block that follows it.
#[derive(Debug)]
struct Snippet {
    doc_line: usize,
    path: String,
    name: String,
    block: Vec<String>,
}

fn snippets(markdown: &str) -> Result<Vec<Snippet>, String> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(rest) = lines[i].trim().strip_prefix(MARKER) else {
            i += 1;
            continue;
        };
        let doc_line = i + 1;
        let target = rest
            .strip_suffix("-->")
            .ok_or_else(|| format!("line {doc_line}: the snippet marker is not closed"))?
            .trim();
        let (path, name) = target
            .split_once('#')
            .ok_or_else(|| format!("line {doc_line}: {target:?} is not PATH#NAME"))?;
        let fence = lines
            .get(i + 1)
            .filter(|l| l.trim_start().starts_with("```"))
            .ok_or_else(|| format!("line {doc_line}: no fenced block right after the marker"))?;
        let indent = fence.len() - fence.trim_start().len();
        let mut block = Vec::new();
        let mut j = i + 2;
        loop {
            let line = lines
                .get(j)
                .ok_or_else(|| format!("line {doc_line}: the fenced block is not closed"))?;
            if line.trim() == "```" {
                break;
            }
            block.push(line.get(indent..).unwrap_or(line.trim_start()).to_owned());
            j += 1;
        }
        found.push(Snippet {
            doc_line,
            path: path.to_owned(),
            name: name.to_owned(),
            block: normalise(&block),
        });
        i = j + 1;
    }
    Ok(found)
}

/// The lines between `docs:start NAME` and `docs:end NAME`.
fn region(source: &str, name: &str) -> Result<Vec<String>, String> {
    let is = |line: &str, word: &str| {
        line.split_once(word)
            .is_some_and(|(_, rest)| rest.trim() == name)
    };
    let lines: Vec<&str> = source.lines().collect();
    let starts: Vec<usize> = (0..lines.len())
        .filter(|&i| is(lines[i], "docs:start"))
        .collect();
    let [start] = starts[..] else {
        return Err(format!(
            "{} `docs:start {name}` lines, not one",
            starts.len()
        ));
    };
    let end = (start + 1..lines.len())
        .find(|&i| is(lines[i], "docs:end"))
        .ok_or_else(|| format!("no `docs:end {name}` after its start"))?;
    let body: Vec<String> = lines[start + 1..end]
        .iter()
        .map(|l| (*l).to_owned())
        .collect();
    if body
        .iter()
        .any(|l| l.contains("docs:start") || l.contains("docs:end"))
    {
        return Err(format!("region {name} holds another region's marker"));
    }
    Ok(normalise(&body))
}

/// Trailing whitespace stripped, common indentation removed, no blank edges.
fn normalise(lines: &[String]) -> Vec<String> {
    let trimmed: Vec<&str> = lines.iter().map(|l| l.trim_end()).collect();
    let indent = trimmed
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out: Vec<String> = trimmed
        .iter()
        .map(|l| l.get(indent..).unwrap_or("").to_owned())
        .collect();
    while out.first().is_some_and(String::is_empty) {
        out.remove(0);
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

fn check(root: &Path, doc: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(doc).unwrap();
    let name = doc.strip_prefix(root).unwrap().display().to_string();
    let found = match snippets(&text) {
        Ok(found) => found,
        Err(e) => return vec![format!("{name}: {e}")],
    };
    let mut problems = Vec::new();
    for s in found {
        let at = format!("{name}:{} ({}#{})", s.doc_line, s.path, s.name);
        let source = match std::fs::read_to_string(root.join(&s.path)) {
            Ok(source) => source,
            Err(e) => {
                problems.push(format!("{at}: cannot read {}: {e}", s.path));
                continue;
            }
        };
        match region(&source, &s.name) {
            Err(e) => problems.push(format!("{at}: {e}")),
            Ok(lines) if lines != s.block => {
                let first = lines
                    .iter()
                    .zip(&s.block)
                    .position(|(a, b)| a != b)
                    .unwrap_or(lines.len().min(s.block.len()));
                problems.push(format!(
                    "{at}: the block differs from the source at its line {}:\n  source: {:?}\n  docs:   {:?}",
                    first + 1,
                    lines.get(first),
                    s.block.get(first)
                ));
            }
            Ok(_) => {}
        }
    }
    problems
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            markdown_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

#[test]
fn every_snippet_in_the_docs_is_the_code_the_tests_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut docs = vec![root.join("README.md")];
    markdown_files(&root.join("docs"), &mut docs);
    let mut problems = Vec::new();
    let mut count = 0;
    for doc in &docs {
        count += snippets(&std::fs::read_to_string(doc).unwrap())
            .map(|s| s.len())
            .unwrap_or(0);
        problems.extend(check(root, doc));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The integration guides are made of snippets; finding none means the marker broke.
    if root.join("docs/integrations").is_dir() {
        assert!(count > 0, "no snippets found under docs/");
    }
}

#[test]
fn a_changed_source_line_or_a_missing_region_is_reported() {
    let source = "fn main() {\n    // docs:start verify\n    let a = 1;\n    let b = 2;\n    // docs:end verify\n}\n";
    let doc = "text\n<!-- snippet: x.rs#verify -->\n```rust\nlet a = 1;\nlet b = 2;\n```\n";
    let found = snippets(doc).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(region(source, "verify").unwrap(), found[0].block);
    let changed = source.replace("b = 2", "b = 3");
    assert_ne!(region(&changed, "verify").unwrap(), found[0].block);
    assert!(region(source, "other").is_err());
    let twice = format!("{source}// docs:start verify\n// docs:end verify\n");
    assert!(region(&twice, "verify").is_err());
    assert!(snippets("<!-- snippet: x.rs#verify -->\ntext\n").is_err());
    assert!(snippets("<!-- snippet: x.rs -->\n```\n```\n").is_err());
}
