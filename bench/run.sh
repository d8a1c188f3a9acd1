#!/usr/bin/env bash
# Runs the peer benchmark: generates the migrations, builds pgstrata, refinery and sqlx
# users of them, and prints medians and ratios. Uses DATABASE_URL when set, otherwise a
# throwaway PostgreSQL (fsync off). Shares the main workspace's target dir.
#   ./run.sh [N migrations, default 1000]
# Knobs: BENCH_ROUNDS (cold apply, default 5), BENCH_WARM (default 30),
#        BENCH_REBUILD_ROUNDS (default 3), BENCH_QUERIES (inline queries, default 200),
#        BENCH_CALLS (prepared calls per side, default 100000), BENCH_INLINE_ROUNDS (3),
#        BENCH_ONLY (sections: pipeline,cold,warm,concurrent,rebuild,calls,inline).
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(pwd)/../target}"
cargo run -q --release -p bench-gen -- "${1:-1000}"
cargo run -q --release -p bench-gen -- queries "${BENCH_QUERIES:-200}"
cargo build -q --release -p bench-runner
"$CARGO_TARGET_DIR/release/bench-runner" all
