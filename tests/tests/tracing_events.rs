//! The runner's `tracing` events, in a test binary of their own: `tracing` caches, per
//! call site, whether anyone listens, and a scoped subscriber (`with_default`) misses
//! events when other threads of the same process hit the same call sites at the same
//! time, as the integration tests running in parallel do.

use pgstrata_testkit::fresh_db;

// The integration tests' fixtures (this binary uses the three-migration folder).
#[allow(dead_code)]
#[path = "it/support.rs"]
mod support;

/// Collects the runner's `tracing` events: message and `version` field.
#[derive(Clone, Default)]
struct Events(std::sync::Arc<std::sync::Mutex<Vec<(String, i64)>>>);

impl Events {
    fn applied(&self) -> Vec<i64> {
        let events = self.0.lock().unwrap();
        events
            .iter()
            .filter(|(message, _)| message == "pgstrata: applied")
            .map(|(_, v)| *v)
            .collect()
    }
}

struct Fields {
    message: String,
    version: i64,
}

impl tracing::field::Visit for Fields {
    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        if field.name() == "version" {
            self.version = value;
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        }
    }
}

impl tracing::Subscriber for Events {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields {
            message: String::new(),
            version: -1,
        };
        event.record(&mut fields);
        self.0
            .lock()
            .unwrap()
            .push((fields.message, fields.version));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// One `tracing` event per migration, emitted as it commits: when the progress callback
/// hears that a migration is applied, its event is already out, in both modes (the async
/// client pipelines the migrations, the blocking one does not).
#[test]
fn a_tracing_event_for_each_migration_as_it_commits() {
    for pipelined in [false, true] {
        let f = support::three();
        let db = fresh_db();
        let events = Events::default();
        let seen = events.clone();
        let heard = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = heard.clone();
        let runner = f.migrations();
        let runner = runner.runner().on_progress(move |p| {
            if let pgstrata::Progress::Applied { migration, .. } = p {
                log.lock()
                    .unwrap()
                    .push((migration.version(), seen.applied()));
            }
        });
        let report = tracing::subscriber::with_default(events.clone(), || {
            if pipelined {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    let mut c = pgstrata::connect(db.url()).await.unwrap();
                    runner.run(&mut c).await
                })
            } else {
                runner.run_blocking(&mut db.client())
            }
        })
        .unwrap();
        assert_eq!(report.applied.len(), 3, "pipelined: {pipelined}");
        assert_eq!(events.applied(), [1, 2, 10], "pipelined: {pipelined}");
        assert_eq!(
            *heard.lock().unwrap(),
            [(1, vec![1]), (2, vec![1, 2]), (10, vec![1, 2, 10])],
            "pipelined: {pipelined}: each event is out when its migration is reported applied"
        );
    }
}
