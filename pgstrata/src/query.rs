//! What generated queries call: one generic function per result kind, so each query
//! adds only its SQL, its argument list and its decoder to the build, and a per-call cost
//! that is the driver's own.

use tokio_postgres::types::ToSql;
use tokio_postgres::ToStatement;
use tokio_postgres::{Error, GenericClient, Row};

/// Arguments as the driver takes them.
pub type Args<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Decodes one row.
pub type Decode<T> = fn(&Row) -> Result<T, Error>;

/// Every row.
///
/// # Errors
/// The query fails, or a row does not decode.
#[inline]
pub async fn many<C: GenericClient + Sync, S: ToStatement + ?Sized + Sync + Send, T>(
    client: &C,
    statement: &S,
    args: Args<'_>,
    decode: Decode<T>,
) -> Result<Vec<T>, Error> {
    client
        .query(statement, args)
        .await?
        .iter()
        .map(decode)
        .collect()
}

/// Exactly one row.
///
/// # Errors
/// The query fails, returns no row or more than one, or the row does not decode.
#[inline]
pub async fn one<C: GenericClient + Sync, S: ToStatement + ?Sized + Sync + Send, T>(
    client: &C,
    statement: &S,
    args: Args<'_>,
    decode: Decode<T>,
) -> Result<T, Error> {
    decode(&client.query_one(statement, args).await?)
}

/// At most one row.
///
/// # Errors
/// The query fails, returns more than one row, or the row does not decode.
#[inline]
pub async fn maybe<C: GenericClient + Sync, S: ToStatement + ?Sized + Sync + Send, T>(
    client: &C,
    statement: &S,
    args: Args<'_>,
    decode: Decode<T>,
) -> Result<Option<T>, Error> {
    client
        .query_opt(statement, args)
        .await?
        .as_ref()
        .map(decode)
        .transpose()
}

/// The number of rows affected.
///
/// # Errors
/// The statement fails.
#[inline]
pub async fn rows<C: GenericClient + Sync, S: ToStatement + ?Sized + Sync + Send>(
    client: &C,
    statement: &S,
    args: Args<'_>,
) -> Result<u64, Error> {
    client.execute(statement, args).await
}

/// Runs a statement that returns no rows.
///
/// # Errors
/// The statement fails.
#[inline]
pub async fn exec<C: GenericClient + Sync, S: ToStatement + ?Sized + Sync + Send>(
    client: &C,
    statement: &S,
    args: Args<'_>,
) -> Result<(), Error> {
    client.execute(statement, args).await.map(drop)
}

/// The same for the blocking `postgres` client.
#[cfg(feature = "blocking")]
pub mod blocking {
    use super::{Args, Decode};
    use postgres::{Error, GenericClient, ToStatement};

    /// Every row.
    ///
    /// # Errors
    /// The query fails, or a row does not decode.
    #[inline]
    pub fn many<C: GenericClient, S: ToStatement + ?Sized, T>(
        client: &mut C,
        statement: &S,
        args: Args<'_>,
        decode: Decode<T>,
    ) -> Result<Vec<T>, Error> {
        client.query(statement, args)?.iter().map(decode).collect()
    }

    /// Exactly one row.
    ///
    /// # Errors
    /// The query fails, returns no row or more than one, or the row does not decode.
    #[inline]
    pub fn one<C: GenericClient, S: ToStatement + ?Sized, T>(
        client: &mut C,
        statement: &S,
        args: Args<'_>,
        decode: Decode<T>,
    ) -> Result<T, Error> {
        decode(&client.query_one(statement, args)?)
    }

    /// At most one row.
    ///
    /// # Errors
    /// The query fails, returns more than one row, or the row does not decode.
    #[inline]
    pub fn maybe<C: GenericClient, S: ToStatement + ?Sized, T>(
        client: &mut C,
        statement: &S,
        args: Args<'_>,
        decode: Decode<T>,
    ) -> Result<Option<T>, Error> {
        client
            .query_opt(statement, args)?
            .as_ref()
            .map(decode)
            .transpose()
    }

    /// The number of rows affected.
    ///
    /// # Errors
    /// The statement fails.
    #[inline]
    pub fn rows<C: GenericClient, S: ToStatement + ?Sized>(
        client: &mut C,
        statement: &S,
        args: Args<'_>,
    ) -> Result<u64, Error> {
        client.execute(statement, args)
    }

    /// Runs a statement that returns no rows.
    ///
    /// # Errors
    /// The statement fails.
    #[inline]
    pub fn exec<C: GenericClient, S: ToStatement + ?Sized>(
        client: &mut C,
        statement: &S,
        args: Args<'_>,
    ) -> Result<(), Error> {
        client.execute(statement, args).map(drop)
    }
}

/// The arguments of a `query!`, owned: a tuple of values that bind as parameters.
pub trait QueryArgs {
    /// The arguments as the driver takes them.
    fn refs(&self) -> Vec<&(dyn ToSql + Sync)>;
}

macro_rules! query_args {
    ($($n:tt $t:ident),*) => {
        impl<$($t: ToSql + Sync),*> QueryArgs for ($($t,)*) {
            #[inline]
            fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
                vec![$(&self.$n as &(dyn ToSql + Sync)),*]
            }
        }
    };
}

query_args!();
query_args!(0 A);
query_args!(0 A, 1 B);
query_args!(0 A, 1 B, 2 C);
query_args!(0 A, 1 B, 2 C, 3 D);
query_args!(0 A, 1 B, 2 C, 3 D, 4 E);
query_args!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F);
query_args!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G);
query_args!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H);
query_args!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I);
query_args!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J);
query_args!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K);
query_args!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K, 11 L);
query_args!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K, 11 L, 12 M);
query_args!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K, 11 L, 12 M, 13 N);
query_args!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K, 11 L, 12 M, 13 N, 14 O);
query_args!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K, 11 L, 12 M, 13 N, 14 O, 15 P);

/// A query checked at compile time by `query!` or `query_as!`: its SQL, its arguments
/// (owned, so the query can be built in one place and run in another), and how a row
/// becomes a `T`. Run it with one of its methods.
#[must_use = "a query does nothing until it is run"]
pub struct Query<A, T> {
    sql: &'static str,
    args: A,
    decode: Decode<T>,
}

impl<A: QueryArgs, T> Query<A, T> {
    /// Used by `query!`.
    #[doc(hidden)]
    pub fn __new(sql: &'static str, args: A, decode: Decode<T>) -> Query<A, T> {
        Query { sql, args, decode }
    }

    /// The SQL.
    pub fn sql(&self) -> &'static str {
        self.sql
    }

    /// Every row.
    ///
    /// # Errors
    /// The query fails, or a row does not decode.
    pub async fn fetch_all<C: GenericClient + Sync>(self, client: &C) -> Result<Vec<T>, Error> {
        many(client, self.sql, &self.args.refs(), self.decode).await
    }

    /// Exactly one row.
    ///
    /// # Errors
    /// The query fails, returns no row or more than one, or the row does not decode.
    pub async fn fetch_one<C: GenericClient + Sync>(self, client: &C) -> Result<T, Error> {
        one(client, self.sql, &self.args.refs(), self.decode).await
    }

    /// At most one row.
    ///
    /// # Errors
    /// The query fails, returns more than one row, or the row does not decode.
    pub async fn fetch_optional<C: GenericClient + Sync>(
        self,
        client: &C,
    ) -> Result<Option<T>, Error> {
        maybe(client, self.sql, &self.args.refs(), self.decode).await
    }

    /// Runs it and returns the number of rows affected.
    ///
    /// # Errors
    /// The statement fails.
    pub async fn execute<C: GenericClient + Sync>(self, client: &C) -> Result<u64, Error> {
        rows(client, self.sql, &self.args.refs()).await
    }

    /// [`Query::fetch_all`] on a blocking client.
    ///
    /// # Errors
    /// As [`Query::fetch_all`].
    #[cfg(feature = "blocking")]
    pub fn fetch_all_blocking<C: postgres::GenericClient>(
        self,
        client: &mut C,
    ) -> Result<Vec<T>, Error> {
        blocking::many(client, self.sql, &self.args.refs(), self.decode)
    }

    /// [`Query::fetch_one`] on a blocking client.
    ///
    /// # Errors
    /// As [`Query::fetch_one`].
    #[cfg(feature = "blocking")]
    pub fn fetch_one_blocking<C: postgres::GenericClient>(
        self,
        client: &mut C,
    ) -> Result<T, Error> {
        blocking::one(client, self.sql, &self.args.refs(), self.decode)
    }

    /// [`Query::fetch_optional`] on a blocking client.
    ///
    /// # Errors
    /// As [`Query::fetch_optional`].
    #[cfg(feature = "blocking")]
    pub fn fetch_optional_blocking<C: postgres::GenericClient>(
        self,
        client: &mut C,
    ) -> Result<Option<T>, Error> {
        blocking::maybe(client, self.sql, &self.args.refs(), self.decode)
    }

    /// [`Query::execute`] on a blocking client.
    ///
    /// # Errors
    /// As [`Query::execute`].
    #[cfg(feature = "blocking")]
    pub fn execute_blocking<C: postgres::GenericClient>(
        self,
        client: &mut C,
    ) -> Result<u64, Error> {
        blocking::rows(client, self.sql, &self.args.refs())
    }
}

/// An argument that can be bound where the query expects a `T`: `query!` checks every
/// argument against it, so a wrong type is a compile error naming both types.
#[diagnostic::on_unimplemented(
    message = "a `{Self}` cannot be bound where the query expects a `{T}`",
    label = "the query's parameter here is a `{T}`",
    note = "pass a `{T}` (or a reference to one); convert the value, or cast the parameter in the SQL"
)]
pub trait Param<T: ?Sized> {}

/// `Some(x)` or `None` where a value may be NULL.
impl<T, A: Param<T>> Param<Option<T>> for Option<A> {}

macro_rules! params {
    ($($t:ty),* $(,)?) => {$(
        impl Param<$t> for $t {}
        impl Param<$t> for &$t {}
        impl Param<Option<$t>> for $t {}
        impl Param<Option<$t>> for &$t {}
    )*};
}

params!(bool, i8, i16, i32, i64, u32, f32, f64, std::net::IpAddr);

impl Param<String> for String {}
impl Param<String> for &String {}
impl Param<String> for &str {}
impl Param<String> for &&str {}
impl Param<Option<String>> for String {}
impl Param<Option<String>> for &String {}
impl Param<Option<String>> for &str {}
impl<T> Param<Vec<T>> for Vec<T> {}
impl<T> Param<Vec<T>> for &[T] {}
impl<T> Param<Vec<T>> for &&[T] {}
impl<T> Param<Vec<T>> for &Vec<T> {}
impl<T> Param<Vec<T>> for [T; 0] {}

#[cfg(feature = "chrono")]
params!(
    chrono::NaiveDateTime,
    chrono::NaiveDate,
    chrono::NaiveTime,
    chrono::DateTime<chrono::Utc>
);
#[cfg(feature = "time")]
params!(
    time::PrimitiveDateTime,
    time::OffsetDateTime,
    time::Date,
    time::Time
);
#[cfg(feature = "uuid")]
params!(uuid::Uuid);
#[cfg(feature = "serde_json")]
params!(serde_json::Value);
#[cfg(feature = "rust_decimal")]
params!(rust_decimal::Decimal);

/// Checks at compile time that `arg` can be bound as a `T`.
#[doc(hidden)]
#[inline(always)]
pub fn check<T: ?Sized, A: Param<T>>(_: &A) {}
