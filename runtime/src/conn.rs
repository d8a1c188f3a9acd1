//! One code path for async and blocking clients.
//!
//! The runner is written once, as async code over [`Conn`]. The tokio-postgres client
//! implements it with real futures; the blocking `postgres` client implements it with
//! futures that are ready at once (the blocking call has already happened), which
//! [`block_on`] drives without a runtime.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tokio_postgres::SimpleQueryMessage;

/// What a simple query returns.
pub(crate) type Answer = Result<Vec<SimpleQueryMessage>, tokio_postgres::Error>;

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
    /// Runs the messages `next` hands out, in order, giving each answer to `done`,
    /// until `next` has no more or `done` returns false.
    ///
    /// The async client sends each message before the previous one's answer is back
    /// (two in flight), so the server goes from one message to the next without idling
    /// for a round trip to the client and back; the blocking client runs them one by
    /// one. After `done` returns false one message may still be in flight: the server
    /// runs it before anything sent later, and its answer is dropped.
    fn pipeline(
        &mut self,
        next: impl FnMut() -> Option<String>,
        done: impl FnMut(Answer) -> bool,
    ) -> impl Future<Output = ()>;
}

/// A simple query sent, or its answer if it came at once.
enum Sent<'c> {
    Waiting(Pin<Box<dyn Future<Output = Answer> + Send + 'c>>),
    Answered(Answer),
}

impl Sent<'_> {
    async fn answer(self) -> Answer {
        match self {
            Sent::Waiting(f) => f.await,
            Sent::Answered(a) => a,
        }
    }
}

/// Sends `sql` on `client` now (tokio-postgres hands a request to the connection task
/// the first time its future is polled) without waiting for the answer.
async fn send(client: &tokio_postgres::Client, sql: String) -> Sent<'_> {
    let mut f: Pin<Box<dyn Future<Output = Answer> + Send + '_>> =
        Box::pin(async move { client.simple_query(&sql).await });
    match std::future::poll_fn(|cx| Poll::Ready(f.as_mut().poll(cx))).await {
        Poll::Ready(a) => Sent::Answered(a),
        Poll::Pending => Sent::Waiting(f),
    }
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

    fn pipeline(
        &mut self,
        mut next: impl FnMut() -> Option<String>,
        mut done: impl FnMut(Answer) -> bool,
    ) -> impl Future<Output = ()> {
        let client: &tokio_postgres::Client = self;
        async move {
            let Some(first) = next() else { return };
            let mut current = send(client, first).await;
            loop {
                let ahead = match next() {
                    Some(sql) => Some(send(client, sql).await),
                    None => None,
                };
                if !done(current.answer().await) {
                    return;
                }
                match ahead {
                    Some(a) => current = a,
                    None => return,
                }
            }
        }
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

    fn pipeline(
        &mut self,
        mut next: impl FnMut() -> Option<String>,
        mut done: impl FnMut(Answer) -> bool,
    ) -> impl Future<Output = ()> {
        while let Some(sql) = next() {
            if !done(self.simple_query(&sql)) {
                break;
            }
        }
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
