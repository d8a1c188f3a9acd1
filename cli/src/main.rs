//! `pgstrata`: the schema the migrations build, and the Rust generated from it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "pgstrata",
    version,
    about = "PostgreSQL migrations compiled into Rust"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the schema the migrations build (replayed from the files; no database).
    Schema {
        /// The migrations folder.
        #[arg(default_value = "migrations")]
        dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print the Rust code embed_migrations! generates for the folder.
    Generate {
        /// The migrations folder.
        #[arg(default_value = "migrations")]
        dir: PathBuf,
        /// The folder holding pgstrata.toml (default: the migrations folder's parent).
        #[arg(long)]
        config_dir: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        // `pgstrata generate | head` closes the pipe early: not an error.
        Err(message) if message == BROKEN_PIPE => ExitCode::SUCCESS,
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

const BROKEN_PIPE: &str = "broken pipe";

/// Writes to stdout, turning a closed pipe into an error instead of a panic.
fn out(text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::BrokenPipe => BROKEN_PIPE.to_string(),
            _ => e.to_string(),
        })
}

fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Schema { dir, format } => {
            let catalog = pgstrata_codegen::catalog(&dir).map_err(|e| e.to_string())?;
            match format {
                Format::Json => {
                    let json = serde_json::to_string_pretty(&catalog).map_err(|e| e.to_string())?;
                    out(&format!("{json}\n"))
                }
                Format::Text => out(&text(&catalog)),
            }
        }
        Command::Generate { dir, config_dir } => {
            // Paths in the output are relative to the folder holding pgstrata.toml, as in a
            // crate, so the output does not depend on where it was generated.
            let absolute =
                std::fs::canonicalize(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let base = match config_dir {
                Some(c) => {
                    std::fs::canonicalize(&c).map_err(|e| format!("{}: {e}", c.display()))?
                }
                None => absolute
                    .parent()
                    .map_or_else(|| PathBuf::from("/"), Path::to_path_buf),
            };
            let shown = absolute.strip_prefix(&base).map_or_else(
                |_| absolute.display().to_string(),
                |p| p.display().to_string(),
            );
            let code = pgstrata_codegen::generate(&shown, &base, Default::default())
                .map_err(|e| e.to_string())?;
            out(&code)
        }
    }
}

fn text(c: &pgstrata_core::catalog::Catalog) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    for e in &c.enums {
        let _ = writeln!(s, "enum {}.{} ({})", e.schema, e.name, e.values.join(", "));
    }
    for t in &c.tables {
        let _ = writeln!(s, "table {}.{}", t.schema, t.name);
        for col in &t.columns {
            let pk = t
                .primary_key
                .as_ref()
                .is_some_and(|pk| pk.columns.contains(&col.name));
            let _ = writeln!(
                s,
                "  {:<24} {}{}{}",
                col.name,
                col.ty.format(),
                if col.nullable { "" } else { " not null" },
                if pk { " primary key" } else { "" }
            );
        }
    }
    s
}
