//! The two backends' migrations are written by hand, once per dialect, so
//! that each reads as its database's own SQL. This test holds them to one
//! schema: once each dialect's spellings are mapped, every file must read
//! the same as its twin but for the differences listed here, each with its
//! reason. A change made to one side only fails here.

use std::path::{Path, PathBuf};

/// Spellings that differ everywhere: (SQLite, PostgreSQL).
const SPELLINGS: &[(&str, &str)] = &[
    ("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY"),
    ("BLOB", "BYTEA"),
    // A table option only SQLite has.
    (") WITHOUT ROWID;", ");"),
];

/// PostgreSQL compares text byte-wise, as SQLite always does, only under the
/// "C" collation: keys and names that must sort the same on both carry it.
const POSTGRES_ONLY: &[&str] = &[" COLLATE \"C\""];

/// Statements written differently because the dialects have no common
/// form, by file: (SQLite, PostgreSQL), each as it reads with comments
/// dropped and white space folded.
const STATEMENTS: &[(&str, &str, &str)] = &[
    (
        // The first owner of each plugin id: SQLite's bare column beside an
        // aggregate against PostgreSQL's DISTINCT ON.
        "0008_hardening.sql",
        "SELECT id, vendor, MIN(uploaded_at) FROM plugins GROUP BY id;",
        "SELECT DISTINCT ON (id) id, vendor, uploaded_at FROM plugins ORDER BY id, uploaded_at;",
    ),
    (
        // The byte length of text.
        "0008_hardening.sql",
        "SUM(LENGTH(CAST(key AS BLOB)) + LENGTH(value))",
        "SUM(octet_length(key) + octet_length(value))",
    ),
];

/// Where a file's remaining text is one dialect's alone, by file: the marker
/// each side's such part starts at. From there on the two sides are
/// compared by what they must keep up, in `state_usage_triggers_agree`.
const DIALECT_TAILS: &[Tail] = &[(
    // Keeping plugin_state_usage current: three SQLite triggers against
    // one PL/pgSQL trigger function.
    "0008_hardening.sql",
    "CREATE TRIGGER plugin_state_usage_insert",
    "CREATE FUNCTION plugin_state_usage_track()",
)];

fn migrations(dialect: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dialect)
}

fn file_names(dialect: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(migrations(dialect))
        .expect("the migrations folder")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The SQL with comments dropped and white space folded to single spaces.
fn folded(sql: &str) -> String {
    sql.lines()
        .map(|line| line.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn read(dialect: &str, name: &str) -> String {
    folded(&std::fs::read_to_string(migrations(dialect).join(name)).unwrap())
}

/// Cuts a file's own-dialect tail, checking that the marker is there.
type Tail = (&'static str, &'static str, &'static str);

fn without_tail(text: String, name: &str, pick: fn(&Tail) -> &'static str) -> String {
    match DIALECT_TAILS.iter().find(|t| t.0 == name) {
        Some(tail) => {
            let marker = pick(tail);
            let at = text
                .find(marker)
                .unwrap_or_else(|| panic!("{name}: the listed difference {marker:?} is gone"));
            text[..at].trim_end().to_owned()
        }
        None => text,
    }
}

#[test]
fn both_backends_have_the_same_migrations() {
    assert_eq!(file_names("sqlite"), file_names("postgres"));
}

#[test]
fn the_migrations_differ_only_where_the_dialects_must() {
    for name in file_names("sqlite") {
        let mut sqlite = without_tail(read("sqlite", &name), &name, |t| t.1);
        let mut postgres = without_tail(read("postgres", &name), &name, |t| t.2);
        for (file, in_sqlite, in_postgres) in STATEMENTS {
            if *file == name {
                assert!(
                    sqlite.contains(in_sqlite),
                    "{name}: the listed difference {in_sqlite:?} is gone"
                );
                sqlite = sqlite.replace(in_sqlite, in_postgres);
            }
        }
        for (in_sqlite, in_postgres) in SPELLINGS {
            sqlite = sqlite.replace(in_sqlite, in_postgres);
        }
        for only in POSTGRES_ONLY {
            postgres = postgres.replace(only, "");
        }
        let first_difference = sqlite
            .bytes()
            .zip(postgres.bytes())
            .position(|(a, b)| a != b)
            .unwrap_or(sqlite.len().min(postgres.len()));
        let from = |text: &str| {
            String::from_utf8_lossy(&text.as_bytes()[first_difference.saturating_sub(40)..])
                .into_owned()
        };
        assert!(
            sqlite == postgres,
            "{name} differs between the backends from here:\n  sqlite:   {}\n  postgres: {}",
            from(&sqlite),
            from(&postgres),
        );
    }
}

/// The trigger tails of 0008 cannot be compared as text; both must count a
/// key's bytes and its value's bytes on insert, update and delete.
#[test]
fn state_usage_triggers_agree() {
    let sqlite = read("sqlite", "0008_hardening.sql");
    let postgres = read("postgres", "0008_hardening.sql");
    for operation in ["INSERT", "UPDATE", "DELETE"] {
        assert!(sqlite.contains(&format!("AFTER {operation} ON plugin_state")));
        assert!(postgres.contains(operation));
    }
    assert!(postgres.contains("AFTER INSERT OR UPDATE OR DELETE ON plugin_state FOR EACH ROW"));
    for side in [&sqlite, &postgres] {
        assert!(side.contains("keys = keys - 1"));
        assert!(side.contains("keys + 1"));
    }
}
