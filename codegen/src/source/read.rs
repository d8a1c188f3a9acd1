//! Reading a migration file: a plain UTF-8 file of bounded size, split into statements,
//! and dbmate's `-- migrate:up` / `-- migrate:down` sections.

use std::fs;
use std::path::{Path, PathBuf};

use pgstrata_core::lex::{self, Kind};

use super::SqlText;
use crate::diag::{Diagnostic, Errors};
use pgstrata_core::split::split;

/// Files larger than this are refused: they are embedded in the binary and parsed at
/// every build (bulk data belongs in a `COPY` from a file at run time).
const MAX_FILE: u64 = 16 << 20;

pub(super) fn read_dir_sorted(dir: &Path) -> std::io::Result<Vec<(String, PathBuf, bool)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        // Follows symbolic links; a dangling or looping one is reported when read.
        let is_dir = path.is_dir();
        out.push((name, path, is_dir));
    }
    out.sort();
    Ok(out)
}

/// Reads a SQL file: it must be UTF-8 without a byte-order mark.
pub(super) fn read_sql(errors: &mut Errors, path: &Path, shown: &str) -> Option<String> {
    match fs::metadata(path) {
        Ok(m) if !m.is_file() => {
            // Reading a FIFO would wait forever; a device could be endless.
            errors.push(
                Diagnostic::file(shown, "is not a regular file (a FIFO, socket or device?)")
                    .help("migrations must be plain files: replace it with one"),
            );
            return None;
        }
        Ok(m) if m.len() > MAX_FILE => {
            errors.push(
                Diagnostic::file(
                    shown,
                    format!(
                        "is {} MiB; migrations of more than {} MiB are not embedded",
                        m.len() >> 20,
                        MAX_FILE >> 20
                    ),
                )
                .help("split it into several migrations, or load bulk data at run time (COPY ... FROM a file)"),
            );
            return None;
        }
        Ok(_) => {}
        Err(e) => {
            errors.push(
                Diagnostic::file(shown, format!("cannot be read: {e}"))
                    .help("check the file exists and is readable (a dangling or looping link?)"),
            );
            return None;
        }
    }
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            errors.push(
                Diagnostic::file(shown, format!("cannot be read: {e}"))
                    .help("check the file's permissions"),
            );
            return None;
        }
    };
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        errors.push(Diagnostic { line: 1, column: 1, ..Diagnostic::file(shown, "starts with a UTF-8 byte-order mark, which PostgreSQL reads as part of the first statement") }
            .help("save the file as UTF-8 without BOM"));
        return None;
    }
    match String::from_utf8(bytes) {
        Ok(s) => match s.find('\0') {
            Some(at) => {
                errors.push(
                    Diagnostic::at(shown, &s, 1, at, format!("contains a NUL byte (byte {at})")).help(
                        "PostgreSQL cannot receive a NUL in SQL text (the statement would be cut there): remove it",
                    ),
                );
                None
            }
            None => Some(s),
        },
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            // The valid prefix locates the bad byte by line and column.
            let prefix = String::from_utf8_lossy(&bytes[..valid]).into_owned();
            let mut d = Diagnostic::at(
                shown,
                &prefix,
                1,
                valid,
                format!("is not valid UTF-8 (byte {valid})"),
            );
            d.source_line = None;
            errors.push(d.help("convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)"));
            None
        }
    }
}

/// Splits the text. A text of comments only (or nothing) has no statement: a migration
/// that does nothing, as its tools read it.
pub(super) fn finish_text(
    errors: &mut Errors,
    path: &Path,
    shown: &str,
    text: String,
    first_line: u32,
) -> Option<SqlText> {
    match split(&text) {
        Ok(split) => Some(SqlText {
            path: path.to_path_buf(),
            display: shown.to_string(),
            lines: pgstrata_core::LineIndex::new(&text),
            text,
            first_line,
            split,
        }),
        Err(e) => {
            errors.push(Diagnostic::at(shown, &text, first_line, e.offset, e.message).help(e.help));
            None
        }
    }
}

/// dbmate's sections of one file.
pub(super) struct Sections {
    pub up: std::ops::Range<usize>,
    pub up_line: u32,
    pub down: Option<(std::ops::Range<usize>, u32)>,
}

/// A misplaced section marker: where, what is wrong, what to do.
pub(super) struct SectionError {
    pub offset: usize,
    pub message: &'static str,
    pub help: &'static str,
}

/// Finds `-- migrate:up` and `-- migrate:down` marker lines: line comments that begin
/// their line (one inside a string, a dollar quote or a block comment is SQL). Each
/// section starts with its marker line, so that options on it (`transaction:false`)
/// are read as directives. SQL outside the sections, a marker given twice, or the down
/// section first would be silently dropped or swapped: each is an error.
pub(super) fn sections(text: &str) -> Result<Option<Sections>, SectionError> {
    // Most files have no marker: no need to read them twice.
    if !text.contains("-- migrate:") {
        return Ok(None);
    }
    let mut up = None;
    let mut down = None;
    let lines = pgstrata_core::LineIndex::new(text);
    for t in lex::tokens(text) {
        let t = match t {
            Ok(t) => t,
            // The split of the file reports it, at its place.
            Err(_) => break,
        };
        if t.kind != Kind::LineComment {
            continue;
        }
        let offset = text[..t.start].rfind('\n').map_or(0, |p| p + 1);
        if !text[offset..t.start].trim().is_empty() {
            continue;
        }
        let line_no = lines.line_col(text, offset).0;
        let twice = SectionError {
            offset,
            message: "a second section marker of the same kind",
            help: "keep one -- migrate:up and at most one -- migrate:down per file",
        };
        let slot = match t.text(text) {
            c if c.starts_with("-- migrate:up") => &mut up,
            c if c.starts_with("-- migrate:down") => &mut down,
            _ => continue,
        };
        if slot.is_some() {
            return Err(twice);
        }
        *slot = Some((offset, line_no));
    }
    let Some((up_start, up_line)) = up else {
        return match down {
            Some((offset, _)) => Err(SectionError {
                offset,
                message: "has a -- migrate:down section but no -- migrate:up section",
                help: "put the migration's SQL after a -- migrate:up line at the top of the file",
            }),
            None => Ok(None),
        };
    };
    if let Some((down_start, _)) = down.filter(|(d, _)| *d < up_start) {
        return Err(SectionError {
            offset: down_start,
            message: "its -- migrate:down section comes before -- migrate:up",
            help: "put the -- migrate:up section first, then -- migrate:down",
        });
    }
    if split(&text[..up_start]).is_ok_and(|s| !s.statements.is_empty()) {
        return Err(SectionError {
            offset: 0,
            message: "has SQL before its -- migrate:up line, which would not run",
            help: "move the SQL below -- migrate:up",
        });
    }
    match down {
        Some((down_start, down_line)) => Ok(Some(Sections {
            up: up_start..down_start,
            up_line,
            down: Some((down_start..text.len(), down_line)),
        })),
        None => Ok(Some(Sections {
            up: up_start..text.len(),
            up_line,
            down: None,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dbmate_sections() {
        let text = "-- migrate:up\nCREATE TABLE a (id int);\n\n-- migrate:down\nDROP TABLE a;\n";
        let s = sections(text).ok().flatten().unwrap();
        assert_eq!(
            &text[s.up.clone()],
            "-- migrate:up\nCREATE TABLE a (id int);\n\n"
        );
        assert_eq!(s.up_line, 1);
        let (down, line) = s.down.unwrap();
        assert_eq!(&text[down], "-- migrate:down\nDROP TABLE a;\n");
        assert_eq!(line, 4);
        assert!(sections("CREATE TABLE a (id int);")
            .ok()
            .flatten()
            .is_none());
        // A marker line inside a function body is part of its SQL.
        let text = "-- migrate:up\nCREATE FUNCTION f() RETURNS int AS $$\n-- migrate:down\nSELECT 1 $$ LANGUAGE sql;\n";
        let s = sections(text).ok().flatten().unwrap();
        assert_eq!(&text[s.up.clone()], text);
        assert!(s.down.is_none());
        for bad in [
            "-- migrate:down\nDROP TABLE a;\n-- migrate:up\nCREATE TABLE a (id int);\n",
            "CREATE TABLE b (id int);\n-- migrate:up\nCREATE TABLE a (id int);\n",
            "-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;\n",
            "-- migrate:down\nDROP TABLE a;\n",
        ] {
            assert!(sections(bad).is_err(), "{bad}");
        }
    }
}
