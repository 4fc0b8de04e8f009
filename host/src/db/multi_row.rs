//! Statements with many bind parameters: multi-row `INSERT`s and long `OR`
//! lists, written once for both backends. SQLite looks a numbered
//! parameter's name up by a linear scan, so a statement with hundreds of
//! `$n` costs quadratic time to bind; anonymous `?` does not. PostgreSQL only
//! takes `$n`. [`Placeholders`] hands out the right kind for the connection.

/// Rows per multi-row INSERT: well under SQLite's (32,766) and PostgreSQL's
/// (65,535) bind limits for tables of up to 64 columns.
pub const INSERT_CHUNK: usize = 500;

/// Bind placeholders for one statement, numbered on PostgreSQL and
/// anonymous on SQLite.
pub struct Placeholders {
    anonymous: bool,
    next: usize,
}

impl Placeholders {
    /// Placeholders for statements on `conn`'s backend.
    pub fn for_backend(conn: &sqlx::AnyConnection) -> Self {
        Self {
            anonymous: super::is_sqlite(conn),
            next: 0,
        }
    }

    /// The next placeholder: `?` or `$n`.
    pub fn take_next(&mut self) -> String {
        self.next += 1;
        if self.anonymous {
            "?".to_owned()
        } else {
            format!("${}", self.next)
        }
    }
}

/// `INSERT INTO <table> VALUES ($1, …), (…), …` for `rows` rows of `columns`
/// values; `table` may name its columns, e.g. `"t (a, b)"`.
pub fn multi_row_insert(
    conn: &sqlx::AnyConnection,
    table: &str,
    columns: usize,
    rows: usize,
) -> String {
    format!("INSERT INTO {table} {}", values(conn, columns, rows))
}

/// `VALUES ($1, …), (…), …` for `rows` rows of `columns` values: the rows
/// of a multi-row `INSERT`, or a table to join an `UPDATE … FROM` with
/// (both backends name its columns `column1`, `column2`, …).
pub fn values(conn: &sqlx::AnyConnection, columns: usize, rows: usize) -> String {
    let mut placeholders = Placeholders::for_backend(conn);
    let mut sql = "VALUES ".to_owned();
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&placeholders.take_next());
        }
        sql.push(')');
    }
    sql
}
