//! The `warden` binary: settings validation, `migrate`, JSON logs, graceful shutdown.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use crate::helpers::{TEST_SECRET, warden_command};

fn env(vars: &[(&str, &str)]) -> HashMap<String, String> {
    vars.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Runs `warden migrate` with `vars` and returns (success, stderr).
fn migrate(vars: &[(&str, &str)]) -> (bool, String) {
    let output = warden_command(&env(vars)).arg("migrate").output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn bad_settings_exit_non_zero_with_one_line_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("WARDEN_ISSUER", "http://auth.example.com")],
            "WARDEN_ISSUER",
        ),
        (
            &[("WARDEN_ISSUER", "https://auth.example.com/")],
            "WARDEN_ISSUER",
        ),
        (
            &[("WARDEN_ISSUER", "https://auth.example.com?a=b")],
            "WARDEN_ISSUER",
        ),
        (&[("WARDEN_BIND", "nowhere")], "WARDEN_BIND"),
        (&[("WARDEN_BIND", "0.0.0.0:8080")], "WARDEN_ISSUER"),
        (&[("WARDEN_LOG_FORMAT", "xml")], "WARDEN_LOG_FORMAT"),
        (
            &[("WARDEN_ACCESS_TOKEN_TTL", "forever")],
            "WARDEN_ACCESS_TOKEN_TTL",
        ),
        (&[("WARDEN_SIGNING_ALG", "HS256")], "WARDEN_SIGNING_ALG"),
        (&[("WARDEN_SECRET_KEY", "short")], "WARDEN_SECRET_KEY"),
        (
            &[("WARDEN_SECRET_KEY_FILE", "/nonexistent/key")],
            "WARDEN_SECRET_KEY_FILE",
        ),
        (
            &[
                ("DATABASE_URL", "mysql://localhost/db"),
                ("WARDEN_SECRET_KEY", TEST_SECRET),
            ],
            "DATABASE_URL",
        ),
        (
            &[("DATABASE_URL", "postgres://localhost/db")],
            "WARDEN_SECRET_KEY",
        ),
    ];
    for (vars, variable) in cases {
        let mut all = vars.to_vec();
        all.push(("WARDEN_DATA_DIR", &data));
        let (ok, stderr) = migrate(&all);
        assert!(!ok, "{vars:?} must fail");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{vars:?}: {stderr}");
        assert!(stderr.contains(variable), "{vars:?}: {stderr}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing may be written"
    );
}

#[test]
fn a_malformed_or_unreachable_database_url_is_a_clear_error() {
    let (ok, stderr) = migrate(&[
        ("DATABASE_URL", "postgres://user:hunter2@[::1/db"),
        ("WARDEN_SECRET_KEY", TEST_SECRET),
    ]);
    assert!(!ok);
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the password leaked: {stderr}");

    let (ok, stderr) = migrate(&[
        ("DATABASE_URL", "postgres://user:hunter2@127.0.0.1:1/db"),
        ("WARDEN_SECRET_KEY", TEST_SECRET),
        ("WARDEN_DB_CONNECT_TIMEOUT", "1"),
    ]);
    assert!(!ok);
    assert!(stderr.contains("cannot reach the database"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the password leaked: {stderr}");
}

#[test]
fn an_unusable_data_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let data = file.join("data").display().to_string();
    let (ok, stderr) = migrate(&[("WARDEN_DATA_DIR", &data)]);
    assert!(!ok);
    assert!(stderr.contains("WARDEN_DATA_DIR"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a directory");
}

#[test]
fn migrate_creates_the_embedded_database_and_logs_json_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let (ok, stderr) = migrate(&[("WARDEN_DATA_DIR", &data), ("WARDEN_LOG_FORMAT", "json")]);
    assert!(ok, "{stderr}");
    assert!(dir.path().join("warden.db").exists());
    let line = stderr
        .lines()
        .find(|l| l.contains("migrations applied"))
        .expect(&stderr);
    let parsed: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(parsed["level"], "INFO");
    // Running it again is a no-op.
    assert!(migrate(&[("WARDEN_DATA_DIR", &data)]).0);
}

#[test]
fn serve_prints_issuer_and_data_location_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::helpers::free_port();
    let vars = env(&[
        ("WARDEN_DATA_DIR", &dir.path().display().to_string()),
        ("WARDEN_BIND", &format!("127.0.0.1:{port}")),
        ("WARDEN_WORKERS", "1"),
    ]);
    let mut child = KillOnDrop(
        warden_command(&vars)
            .arg("serve")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let child = &mut child.0;
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let serving = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("Warden is serving"))
        .unwrap();
    assert!(
        serving.contains(&format!("http://127.0.0.1:{port}")),
        "{serving}"
    );
    assert!(serving.contains("warden.db"), "{serving}");

    // Signal handlers are installed once the server runs: wait until it answers.
    let mut answered = false;
    for _ in 0..100 {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            stream
                .set_read_timeout(Some(Duration::from_secs(2)))
                .unwrap();
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut reply = String::new();
            let _ = stream.read_to_string(&mut reply);
            if reply.starts_with("HTTP/1.1 200") {
                answered = true;
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(answered, "warden never answered /healthz");

    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut status = None;
    for _ in 0..100 {
        if let Some(s) = child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = status.expect("warden did not stop within 5 s of SIGTERM");
    assert!(status.success());
    assert!(
        lines
            .map_while(Result::ok)
            .any(|l| l.contains("Warden stopped"))
    );
}

/// A child process that cannot outlive a failed test.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `serve --help` is where an operator looks first: every declared variable is there, with
/// its `_FILE` twin for secrets, even when the environment holds bad settings.
#[test]
fn serve_help_lists_every_declared_setting() {
    use warden::settings::declared::{ALL, Kind};
    let output = warden_command(&env(&[("WARDEN_BIND", "nowhere")]))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let flowing = words(&help);
    for s in ALL {
        assert!(
            help.contains(&format!("\n  {}", s.var)),
            "{} missing",
            s.var
        );
        if matches!(s.kind, Kind::Secret) {
            assert!(help.contains(s.file_var), "{} missing", s.file_var);
        }
        // Some words of its help text, which the output wraps and strips of markdown.
        let phrase = s
            .help
            .split(['`', '[', '('])
            .find(|p| p.trim().len() > 3)
            .unwrap();
        assert!(flowing.contains(&words(phrase)), "{}: {phrase}", s.var);
    }
    // The table does not need valid settings either; it is the one the docs hold.
    let output = warden_command(&env(&[("WARDEN_BIND", "nowhere")]))
        .arg("settings")
        .output()
        .unwrap();
    assert!(output.status.success());
    let table = String::from_utf8(output.stdout).unwrap();
    assert_eq!(table.lines().count(), ALL.len() + 2);
    assert!(table.contains("| `WARDEN_ACCESS_TOKEN_TTL` | `10m` | 10s to 7d |"));
}
