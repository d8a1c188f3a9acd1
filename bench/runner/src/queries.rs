//! Typed queries: the per-call cost of a generated query against hand-written
//! tokio-postgres code running the same statement, and the build time of a crate of N
//! `query!` uses against the same crate written by hand and with sqlx's `query!`.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::{build_env, env_usize, median, ms, ratio, secs, Dbs};

mod qb {
    pgstrata::embed_migrations!("../inline-migrations", queries = "../inline-queries");
}

/// The statement both sides run; the generated one is `queries/users.sql`'s.
const POINT: &str = "SELECT id, name, email FROM users WHERE id = $1";

/// What the hand-written side decodes into: the same fields the generated struct has.
#[allow(dead_code)]
struct User {
    id: i64,
    name: String,
    email: Option<String>,
}

fn users() -> i64 {
    1000
}

async fn setup(url: &str) -> tokio_postgres::Client {
    let mut c = pgstrata_testkit::connect(url).await.expect("connect");
    qb::MIGRATIONS.run(&mut c).await.expect("migrate");
    c.batch_execute(&format!(
        "INSERT INTO users (id, name, email) SELECT g, 'user ' || g, CASE WHEN g % 2 = 0 THEN 'u' || g || '@example.com' END FROM generate_series(1, {}) g",
        users()
    ))
    .await
    .expect("users");
    c
}

/// `calls` point selects per side per round, sides alternating first, for `rounds`.
pub fn calls(dbs: &mut Dbs) {
    let rounds = env_usize("BENCH_CALL_ROUNDS", 20);
    let per = env_usize("BENCH_CALLS", 100_000) / rounds;
    let url = dbs.create("calls");
    let rt = crate::rt();
    rt.block_on(async {
        let c = setup(&url).await;
        let hand = c.prepare(POINT).await.expect("prepare");
        let generated = qb::queries::user_by_id::prepare(&c).await.expect("prepare");
        assert_eq!(qb::queries::user_by_id::SQL.trim(), POINT, "the benchmark must compare the same statement");

        let run_hand = |n: usize, offset: i64| {
            let (c, hand) = (&c, &hand);
            async move {
                let t = Instant::now();
                for k in 0..n {
                    let id = (offset + k as i64) % users() + 1;
                    let row = c.query_one(hand, &[&id]).await.expect("hand");
                    let u = User { id: row.try_get(0).expect("id"), name: row.try_get(1).expect("name"), email: row.try_get(2).expect("email") };
                    std::hint::black_box(u);
                }
                t.elapsed()
            }
        };
        let run_generated = |n: usize, offset: i64| {
            let (c, generated) = (&c, &generated);
            async move {
                let t = Instant::now();
                for k in 0..n {
                    let id = (offset + k as i64) % users() + 1;
                    let u = generated.run(c, id).await.expect("generated");
                    std::hint::black_box(u);
                }
                t.elapsed()
            }
        };
        // Warm both paths (connection buffers, server plan cache).
        run_hand(2000, 0).await;
        run_generated(2000, 0).await;
        let (mut h, mut g, mut per_round) = (Vec::new(), Vec::new(), Vec::new());
        for r in 0..rounds {
            let offset = (r * per) as i64;
            let (a, b) = if r % 2 == 0 {
                let a = run_hand(per, offset).await;
                (a, run_generated(per, offset).await)
            } else {
                let b = run_generated(per, offset).await;
                (run_hand(per, offset).await, b)
            };
            h.push(a);
            g.push(b);
            per_round.push(b.as_secs_f64() / a.as_secs_f64());
        }
        let (th, tg): (Duration, Duration) = (h.iter().sum(), g.iter().sum());
        per_round.sort_by(f64::total_cmp);
        let calls = (per * rounds) as f64;
        println!("\n## prepared point select, {} calls per side in {rounds} alternating rounds", per * rounds);
        println!("  hand-written tokio-postgres  {}  ({:.1} µs/call)", secs(th), th.as_secs_f64() * 1e6 / calls);
        println!("  generated user_by_id         {}  ({:.1} µs/call)", secs(tg), tg.as_secs_f64() * 1e6 / calls);
        println!(
            "  generated / hand = {:.3}x overall, median round {:.3}x (rounds from {:.3}x to {:.3}x; goal: within 2%)",
            tg.as_secs_f64() / th.as_secs_f64(),
            per_round[per_round.len() / 2],
            per_round[0],
            per_round[per_round.len() - 1]
        );

        // Unprepared: each call prepares an unnamed statement and runs it, on both sides.
        let n = env_usize("BENCH_TEXT_CALLS", 20_000) / rounds;
        let (mut h, mut f, mut q) = (Vec::new(), Vec::new(), Vec::new());
        for r in 0..rounds {
            let t = Instant::now();
            for k in 0..n {
                let id = ((r * n + k) as i64) % users() + 1;
                let row = c.query_one(POINT, &[&id]).await.expect("hand");
                std::hint::black_box(User { id: row.try_get(0).expect("id"), name: row.try_get(1).expect("name"), email: row.try_get(2).expect("email") });
            }
            h.push(t.elapsed());
            let t = Instant::now();
            for k in 0..n {
                let id = ((r * n + k) as i64) % users() + 1;
                std::hint::black_box(qb::queries::user_by_id(&c, id).await.expect("file query"));
            }
            f.push(t.elapsed());
            let t = Instant::now();
            for k in 0..n {
                let id = ((r * n + k) as i64) % users() + 1;
                std::hint::black_box(pgstrata::query!("SELECT id, name, email FROM users WHERE id = $1", id).fetch_one(&c).await.expect("query!"));
            }
            q.push(t.elapsed());
        }
        let (th, tf, tq): (Duration, Duration, Duration) = (h.iter().sum(), f.iter().sum(), q.iter().sum());
        println!("\n## the same select unprepared (prepare + execute per call), {} calls per side", n * rounds);
        println!("  hand-written {}   query file function {}   query! {}", secs(th), secs(tf), secs(tq));
        println!("  file function / hand = {}, query! / hand = {}", ratio(tf, th), ratio(tq, th));
    });
}

/// Build time of the three inline crates after an edit, and a run of each.
pub fn inline(dbs: &mut Dbs) {
    let bench = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let rounds = env_usize("BENCH_INLINE_ROUNDS", 3);
    let generated = bench.join("inline-pgstrata/generated.rs");
    let Ok(text) = std::fs::read_to_string(&generated) else {
        println!(
            "\n## inline queries: not measured, run `bench-gen queries N` first (run.sh does)"
        );
        return;
    };
    let n = text.matches("pgstrata::query!").count();
    // sqlx's query! checks against a live database with the schema.
    let url = dbs.create("inline_schema");
    crate::rt().block_on(async {
        let mut c = pgstrata_testkit::connect(&url).await.expect("connect");
        qb::MIGRATIONS.run(&mut c).await.expect("migrate");
    });
    println!("\n## `cargo build --release` of a crate of {n} queries after editing it (median of {rounds})");
    let (mut times, mut expansions) = (Vec::new(), Vec::new());
    for krate in ["inline-hand", "inline-pgstrata", "inline-sqlx"] {
        let file = bench.join(krate).join("generated.rs");
        let original = std::fs::read_to_string(&file).expect("generated.rs");
        let env: &[(&str, &str)] = if krate == "inline-sqlx" {
            &[("DATABASE_URL", &url), ("SQLX_OFFLINE", "false")]
        } else {
            &[]
        };
        build_env(&bench, krate, env); // warm
        let mut t = Vec::new();
        for r in 0..rounds {
            std::fs::write(&file, format!("{original}// edit {r}\n")).expect("edit");
            t.push(build_env(&bench, krate, env).0);
        }
        std::fs::write(&file, &original).expect("restore");
        build_env(&bench, krate, env);
        let m = median(t);
        // Every query runs once against a new database: the crates do the same work.
        let run_url = dbs.create(&format!("inline_run_{}", krate.replace('-', "_")));
        crate::rt().block_on(async {
            let mut c = pgstrata_testkit::connect(&run_url).await.expect("connect");
            qb::MIGRATIONS.run(&mut c).await.expect("migrate");
        });
        let exe = Path::new(
            &std::env::var("CARGO_TARGET_DIR")
                .unwrap_or_else(|_| bench.join("../target").display().to_string()),
        )
        .join("release")
        .join(krate);
        let out = std::process::Command::new(&exe)
            .arg(&run_url)
            .output()
            .expect("run the inline crate");
        let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            out.status.success(),
            "{krate} failed: {said} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (expand, total) = passes(&bench, krate, &file, &original, env);
        std::fs::write(&file, &original).expect("restore");
        println!(
            "  {krate:<16} {}   macro expansion {}, rustc total {}   (run: {said})",
            secs(m),
            ms(expand),
            secs(total)
        );
        times.push(m);
        expansions.push(expand);
    }
    let per_query = times[1].saturating_sub(times[0]).as_secs_f64() * 1e3 / n as f64;
    let per_expansion = expansions[1].saturating_sub(expansions[0]).as_secs_f64() * 1e3 / n as f64;
    println!(
        "  build: pgstrata / hand-written = {}, pgstrata / sqlx = {}; {per_query:.2} ms per query! over hand-written code",
        ratio(times[1], times[0]),
        ratio(times[1], times[2])
    );
    println!(
        "  expansion: pgstrata / sqlx = {}; {per_expansion:.3} ms per query! (the rest of the difference is compiling the typed rows and decoders)",
        ratio(expansions[1], expansions[2])
    );
}

/// rustc's own timing of macro expansion and of the whole crate, after an edit
/// (`-Z time-passes`, which a stable compiler accepts under RUSTC_BOOTSTRAP=1).
fn passes(
    bench: &Path,
    krate: &str,
    file: &Path,
    original: &str,
    env: &[(&str, &str)],
) -> (Duration, Duration) {
    std::fs::write(file, format!("{original}// timed\n")).expect("edit");
    let env: Vec<(&str, &str)> = env
        .iter()
        .copied()
        .chain([("RUSTC_BOOTSTRAP", "1")])
        .collect();
    let (_, text) = crate::cargo(
        bench,
        &["rustc", "--release", "-p", krate, "--", "-Z", "time-passes"],
        &env,
    );
    let pass = |name: &str| {
        text.lines()
            .filter(|l| l.trim_end().ends_with(name))
            .filter_map(|l| {
                l.strip_prefix("time:")?
                    .split(';')
                    .next()?
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .map(Duration::from_secs_f64)
            .next_back()
            .unwrap_or_default()
    };
    (pass("macro_expand_crate"), pass("\ttotal"))
}
