//! `pgstrata`: apply, inspect and check migrations; the schema they build, and the
//! Rust generated from it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod db;
mod dev;
mod files;
mod migrate;
mod secrets;
mod show;

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

/// Where to connect, for commands that need a database.
#[derive(clap::Args)]
struct Db {
    /// The database URL (default: the DATABASE_URL environment variable).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// The history table, `table` or `schema.table`.
    #[arg(long, default_value = pgstrata_runtime::DEFAULT_TABLE)]
    history_table: String,
    /// Give up connecting after this many seconds (default: the connection string's
    /// connect_timeout, else 10).
    #[arg(long, value_name = "SECONDS")]
    connect_timeout: Option<u64>,
}

#[derive(Subcommand)]
enum Command {
    /// Show every migration: applied (when, how long), pending, failed, changed since
    /// applied, or applied but unknown to this folder. Exit code 0: up to date;
    /// 3: migrations are pending; 4: something needs attention (failed, interrupted or
    /// changed migrations).
    Status {
        /// The migrations folder.
        #[arg(default_value = "migrations")]
        dir: PathBuf,
        #[command(flatten)]
        db: Db,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Count a pending migration older than an applied one as pending, as `up
        /// --allow-out-of-order` would apply it (without it, that needs attention).
        #[arg(long)]
        allow_out_of_order: bool,
    },
    /// Apply pending migrations.
    Up {
        /// The migrations folder.
        #[arg(default_value = "migrations")]
        dir: PathBuf,
        #[command(flatten)]
        db: Db,
        /// Stop after this version.
        #[arg(long)]
        to: Option<i64>,
        /// Print what would be applied, and its SQL, without applying it.
        #[arg(long)]
        dry_run: bool,
        /// Apply all pending transactional migrations in one transaction.
        #[arg(long)]
        grouped: bool,
        /// Dump the database with `pg_dump -Fc` to this file first; nothing is applied
        /// if the dump fails.
        #[arg(long, value_name = "FILE")]
        backup: Option<PathBuf>,
        /// Apply a pending migration older than an applied one (a branch merged late)
        /// instead of refusing.
        #[arg(long)]
        allow_out_of_order: bool,
        /// PostgreSQL's lock_timeout for each migration without a `-- pgstrata:lock-timeout`
        /// of its own (e.g. `5s`): a migration waiting for a table lock fails, naming the
        /// session that holds it, instead of queueing every query on that table behind it.
        #[arg(long, value_name = "DURATION")]
        lock_timeout: Option<String>,
        /// PostgreSQL's statement_timeout for each migration without a
        /// `-- pgstrata:statement-timeout` of its own (e.g. `10min`).
        #[arg(long, value_name = "DURATION")]
        statement_timeout: Option<String>,
    },
    /// Revert applied migrations newer than a version with their down SQL, newest first;
    /// refuses before doing anything when one has no down SQL.
    Down {
        /// The migrations folder.
        #[arg(default_value = "migrations")]
        dir: PathBuf,
        #[command(flatten)]
        db: Db,
        /// Keep migrations up to and including this version (0: revert all).
        #[arg(long)]
        to: i64,
    },
    /// Compare the live database with the schema the migrations build: tables, columns
    /// (type, nullability, default), primary keys, indexes and enum labels. Exit code
    /// 0: they match; 5: they differ.
    Drift {
        /// The migrations folder.
        #[arg(default_value = "migrations")]
        dir: PathBuf,
        #[command(flatten)]
        db: Db,
    },
    /// Adopt a database whose schema was built before pgstrata managed it. With --from
    /// TOOL: record as applied exactly the migrations that tool (diesel, sqlx, refinery,
    /// flyway, prisma, golang-migrate, dbmate) recorded in its history table, which is
    /// only read. With VERSION: record every migration up to VERSION as applied, after
    /// checking that the live schema equals the one they build (differences you have
    /// checked can be accepted with --accept). Nothing is recorded on any refusal.
    Baseline {
        /// `[VERSION] [DIR]`: the last migration the database already has (not with
        /// --from), and the migrations folder (default `migrations`).
        #[arg(num_args = 0..=2, value_name = "VERSION] [DIR")]
        args: Vec<String>,
        /// Adopt the history of this tool.
        #[arg(long, value_name = "TOOL")]
        from: Option<String>,
        /// A difference between the schema and the migrations to record through anyway,
        /// as `pgstrata drift` prints it (repeatable).
        #[arg(long, value_name = "DIFFERENCE")]
        accept: Vec<String>,
        /// A file of accepted differences, one per line.
        #[arg(long, value_name = "FILE")]
        accept_file: Option<PathBuf>,
        #[command(flatten)]
        db: Db,
    },
    /// Clear a migration recorded as failed or interrupted, after checking the database
    /// by hand: --applied V marks it applied, --rolled-back V removes it from the history
    /// so the next run applies it again.
    Resolve {
        /// The migrations folder.
        #[arg(default_value = "migrations")]
        dir: PathBuf,
        #[command(flatten)]
        db: Db,
        /// The migration was completed by hand: record it as applied.
        #[arg(
            long,
            value_name = "VERSION",
            conflicts_with = "rolled_back",
            required_unless_present = "rolled_back"
        )]
        applied: Option<i64>,
        /// What it did was undone by hand: forget it, so it runs again.
        #[arg(long, value_name = "VERSION")]
        rolled_back: Option<i64>,
    },
    /// Create a new migration in the folder's layout, versioned by the current UTC time.
    New {
        /// The migration's name (words become snake_case).
        name: String,
        /// The migrations folder.
        #[arg(long, default_value = "migrations")]
        dir: PathBuf,
    },
    /// Run the SQL files of the seeds folder (development and test data) in name order,
    /// each once per content: running it again changes nothing. Refuses a database
    /// marked production unless --force.
    Seed {
        /// The migrations folder (the database must be up to date with it).
        #[arg(default_value = "migrations")]
        dir: PathBuf,
        #[command(flatten)]
        db: Db,
        /// The seeds folder (default: `seeds` beside the migrations folder).
        #[arg(long)]
        seeds: Option<PathBuf>,
        /// Seed a database marked production anyway.
        #[arg(long)]
        force: bool,
    },
    /// Development only: drop everything in the schemas the migrations use (or the
    /// whole database with --recreate), apply the migrations again, and seed. Asks for
    /// the database's name unless --yes; always refuses a database marked production.
    Reset {
        /// The migrations folder.
        #[arg(default_value = "migrations")]
        dir: PathBuf,
        #[command(flatten)]
        db: Db,
        /// The seeds folder (default: `seeds` beside the migrations folder).
        #[arg(long)]
        seeds: Option<PathBuf>,
        /// Drop and create the whole database (through the `postgres` database).
        #[arg(long)]
        recreate: bool,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
    /// Mark the database as production (seed and reset then refuse it) or development.
    Mark {
        /// `production` or `development`.
        #[arg(value_enum)]
        environment: Environment,
        #[command(flatten)]
        db: Db,
    },
    /// Check the migrations for what hurts in production (locks on existing tables,
    /// rewrites, lost data, unsafe foreign keys and tenancy), knowing which tables each
    /// migration finds already there; with --reversible, every migration needs a down.
    /// Exit code 1 when there are findings.
    Lint {
        /// The migrations folder.
        #[arg(default_value = "migrations")]
        dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Require down SQL for every migration.
        #[arg(long)]
        reversible: bool,
    },
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
        /// The configuration file (default: the pgstrata.toml of the crate the folder is
        /// in: the nearest folder above it with a Cargo.toml, else the folder above it).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// A folder of query files to generate typed functions for.
        #[arg(long)]
        queries: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// What `pgstrata mark` records.
#[derive(Clone, Copy, ValueEnum)]
enum Environment {
    Production,
    Development,
}

fn main() -> ExitCode {
    // A `.env` file in the working directory, as sqlx-cli and diesel read it; variables
    // already set win over it.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    match run(cli.command) {
        // `pgstrata generate | head` closes the pipe early: not an error.
        Err(message) if message == show::BROKEN_PIPE => ExitCode::SUCCESS,
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("error: {}", secrets::Scrub::from_env().clean(&message));
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<u8, String> {
    match command {
        Command::Status {
            dir,
            db,
            format,
            allow_out_of_order,
        } => migrate::status(&dir, &db, format, allow_out_of_order),
        Command::Up {
            dir,
            db,
            to,
            dry_run,
            grouped,
            backup,
            allow_out_of_order,
            lock_timeout,
            statement_timeout,
        } => migrate::up(
            &dir,
            &db,
            migrate::Up {
                to,
                dry_run,
                grouped,
                backup,
                allow_out_of_order,
                lock_timeout,
                statement_timeout,
            },
        ),
        Command::Down { dir, db, to } => migrate::down(&dir, &db, to),
        Command::Baseline {
            args,
            from,
            accept,
            accept_file,
            db,
        } => migrate::baseline_command(&args, from.as_deref(), accept, accept_file, &db),
        Command::Resolve {
            dir,
            db,
            applied,
            rolled_back,
        } => match (applied, rolled_back) {
            (Some(v), _) => migrate::resolve(&dir, &db, v, true),
            (None, Some(v)) => migrate::resolve(&dir, &db, v, false),
            (None, None) => Err("say --applied VERSION or --rolled-back VERSION".into()),
        },
        Command::Drift { dir, db } => migrate::drift(&dir, &db),
        Command::Seed {
            dir,
            db,
            seeds,
            force,
        } => {
            let seeds = dev::seeds_dir(&dir, seeds);
            dev::seed(&dir, &seeds, &db, force)
        }
        Command::Reset {
            dir,
            db,
            seeds,
            recreate,
            yes,
        } => {
            let seeds = dev::seeds_dir(&dir, seeds);
            dev::reset(&dir, &seeds, &db, recreate, yes)
        }
        Command::Mark { environment, db } => dev::mark(
            &db,
            match environment {
                Environment::Production => "production",
                Environment::Development => "development",
            },
        ),
        Command::New { name, dir } => files::new(&dir, &name),
        Command::Lint {
            dir,
            format,
            reversible,
        } => show::lint(&dir, format == Format::Json, reversible),
        Command::Schema { dir, format } => show::schema(&dir, format == Format::Json),
        Command::Generate {
            dir,
            config,
            queries,
        } => {
            show::out(&show::generate(
                &dir,
                config.as_deref(),
                queries.as_deref(),
            )?)?;
            Ok(0)
        }
    }
}
