//! One code path for async and blocking clients.
//!
//! The runner is written once, as async code over [`Conn`]. The tokio-postgres client
//! implements it with real futures; the blocking `postgres` client implements it with
//! futures that are ready at once (the blocking call has already happened), which
//! [`block_on`] drives without a runtime.

use std::future::Future;
use std::time::Duration;

use tokio_postgres::SimpleQueryMessage;

/// What the runner needs from a connection. Every query goes through the simple query
/// protocol: one round trip each, and several statements in one message.
pub(crate) trait Conn {
    /// Runs `sql` and returns its rows.
    fn simple(
        &mut self,
        sql: &str,
    ) -> impl Future<Output = Result<Vec<SimpleQueryMessage>, tokio_postgres::Error>>;
    /// Runs `sql` and drops any rows.
    fn batch(&mut self, sql: &str) -> impl Future<Output = Result<(), tokio_postgres::Error>>;
    /// Waits, between lock attempts.
    fn sleep(&mut self, d: Duration) -> impl Future<Output = ()>;
}

impl Conn for tokio_postgres::Client {
    fn simple(
        &mut self,
        sql: &str,
    ) -> impl Future<Output = Result<Vec<SimpleQueryMessage>, tokio_postgres::Error>> {
        self.simple_query(sql)
    }

    fn batch(&mut self, sql: &str) -> impl Future<Output = Result<(), tokio_postgres::Error>> {
        self.batch_execute(sql)
    }

    fn sleep(&mut self, d: Duration) -> impl Future<Output = ()> {
        tokio::time::sleep(d)
    }
}

#[cfg(feature = "blocking")]
impl Conn for postgres::Client {
    fn simple(
        &mut self,
        sql: &str,
    ) -> impl Future<Output = Result<Vec<SimpleQueryMessage>, tokio_postgres::Error>> {
        std::future::ready(self.simple_query(sql))
    }

    fn batch(&mut self, sql: &str) -> impl Future<Output = Result<(), tokio_postgres::Error>> {
        std::future::ready(self.batch_execute(sql))
    }

    fn sleep(&mut self, d: Duration) -> impl Future<Output = ()> {
        std::thread::sleep(d);
        std::future::ready(())
    }
}

/// Drives a future whose every await is ready at once (the blocking client's).
#[cfg(feature = "blocking")]
pub(crate) fn block_on<F: Future>(f: F) -> F::Output {
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        // Not reached with the blocking client; yield rather than spin if it ever is.
        std::thread::yield_now();
    }
}

/// The rows of a simple query's result, as text columns.
pub(crate) fn rows(messages: Vec<SimpleQueryMessage>) -> Vec<tokio_postgres::SimpleQueryRow> {
    messages
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r),
            _ => None,
        })
        .collect()
}
