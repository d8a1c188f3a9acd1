//! `ToSql`/`FromSql` for generated enums, domains and composites.
//!
//! postgres-types' derives would do the same, but their output names
//! `::postgres_types`, which only resolves in crates that depend on postgres-types
//! directly; generated code calls these functions instead, so a crate needs only
//! `pgstrata`. The behaviour follows the derives: an enum is accepted only when the
//! database's type has exactly the same labels, a domain when its base type is accepted,
//! a composite when every field's type is.

use std::error::Error;

use postgres_types::private::{read_be_i32, read_value, BytesMut};
use postgres_types::{FromSql, IsNull, Kind, ToSql, Type};

/// The error type of `ToSql`/`FromSql`.
pub type BoxError = Box<dyn Error + Sync + Send>;

/// Whether `ty` is the enum `name` with exactly `labels`.
pub fn enum_accepts(ty: &Type, name: &str, labels: &[&str]) -> bool {
    match ty.kind() {
        Kind::Enum(variants) => {
            ty.name() == name
                && variants.len() == labels.len()
                && variants.iter().all(|v| labels.contains(&v.as_str()))
        }
        Kind::Domain(base) => enum_accepts(base, name, labels),
        _ => false,
    }
}

/// Writes an enum label.
///
/// # Errors
/// Never; the signature is `ToSql`'s.
pub fn enum_to_sql(label: &str, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    out.extend_from_slice(label.as_bytes());
    Ok(IsNull::No)
}

/// The index in `labels` of the label in `raw`.
///
/// # Errors
/// A label this binary does not know (the database was changed after the build).
pub fn enum_from_sql(raw: &[u8], name: &str, labels: &[&str]) -> Result<usize, BoxError> {
    labels.iter().position(|l| l.as_bytes() == raw).ok_or_else(|| {
        format!(
            "enum {name} has a label this binary does not know: {:?} (rebuild against the current migrations)",
            String::from_utf8_lossy(raw)
        )
        .into()
    })
}

/// The base type of a domain (the type itself otherwise).
fn base(ty: &Type) -> &Type {
    match ty.kind() {
        Kind::Domain(b) => b,
        _ => ty,
    }
}

/// Whether a domain newtype over `T` takes `ty`: the domain `name` itself (what a
/// parameter bound to a domain column has), or its base type (what PostgreSQL reports
/// for a domain column in a row).
pub fn domain_accepts_to<T: ToSql>(ty: &Type, name: &str) -> bool {
    match ty.kind() {
        Kind::Domain(b) => ty.name() == name && T::accepts(b),
        _ => T::accepts(ty),
    }
}

/// [`domain_accepts_to`] for reading.
pub fn domain_accepts_from<'a, T: FromSql<'a>>(ty: &Type, name: &str) -> bool {
    match ty.kind() {
        Kind::Domain(b) => ty.name() == name && T::accepts(b),
        _ => T::accepts(ty),
    }
}

/// Writes a domain value as its base type.
///
/// # Errors
/// The inner value's own error.
pub fn domain_to_sql<T: ToSql>(
    value: &T,
    ty: &Type,
    out: &mut BytesMut,
) -> Result<IsNull, BoxError> {
    value.to_sql(base(ty), out)
}

/// Reads a domain value as its base type.
///
/// # Errors
/// The inner type's own error.
pub fn domain_from_sql<'a, T: FromSql<'a>>(ty: &Type, raw: &'a [u8]) -> Result<T, BoxError> {
    T::from_sql(base(ty), raw)
}

/// A composite field's name and its Rust type's `accepts`.
pub type FieldCheck<'a> = (&'a str, fn(&Type) -> bool);

/// Whether `ty` is the composite `name` whose fields have these names and types each
/// field's Rust type accepts.
pub fn composite_accepts(ty: &Type, name: &str, fields: &[FieldCheck<'_>]) -> bool {
    match ty.kind() {
        Kind::Composite(f) => {
            ty.name() == name
                && f.len() == fields.len()
                && f.iter()
                    .zip(fields)
                    .all(|(a, (n, accepts))| a.name() == *n && accepts(a.type_()))
        }
        Kind::Domain(b) => composite_accepts(b, name, fields),
        _ => false,
    }
}

/// Reads a composite value field by field (the binary record format).
pub struct CompositeReader<'t, 'a> {
    fields: &'t [postgres_types::Field],
    buf: &'a [u8],
    next: usize,
}

impl<'t, 'a> CompositeReader<'t, 'a> {
    /// Starts reading `raw` as a value of `ty`.
    ///
    /// # Errors
    /// `ty` is not a composite type, or the field count differs.
    pub fn new(ty: &'t Type, raw: &'a [u8]) -> Result<CompositeReader<'t, 'a>, BoxError> {
        let Kind::Composite(fields) = base(ty).kind() else {
            return Err(format!("type {} is not a composite type", ty.name()).into());
        };
        let mut buf = raw;
        let count = read_be_i32(&mut buf)?;
        if usize::try_from(count).ok() != Some(fields.len()) {
            return Err(format!(
                "composite {} has {count} fields, expected {}",
                ty.name(),
                fields.len()
            )
            .into());
        }
        Ok(CompositeReader {
            fields,
            buf,
            next: 0,
        })
    }

    /// Reads the next field.
    ///
    /// # Errors
    /// The value is truncated or of another type.
    pub fn field<T: FromSql<'a>>(&mut self) -> Result<T, BoxError> {
        let field = self.fields.get(self.next).ok_or("too many fields read")?;
        self.next += 1;
        // Each field carries its type's oid before its length.
        let _oid = read_be_i32(&mut self.buf)?;
        read_value(field.type_(), &mut self.buf)
    }
}

/// Writes a composite value field by field.
pub struct CompositeWriter<'a> {
    fields: &'a [postgres_types::Field],
    out: &'a mut BytesMut,
    next: usize,
}

impl<'a> CompositeWriter<'a> {
    /// Starts writing a value of `ty`.
    ///
    /// # Errors
    /// `ty` is not a composite type.
    pub fn new(ty: &'a Type, out: &'a mut BytesMut) -> Result<CompositeWriter<'a>, BoxError> {
        let Kind::Composite(fields) = base(ty).kind() else {
            return Err(format!("type {} is not a composite type", ty.name()).into());
        };
        let count = i32::try_from(fields.len())?;
        out.extend_from_slice(&count.to_be_bytes());
        Ok(CompositeWriter {
            fields,
            out,
            next: 0,
        })
    }

    /// Writes the next field.
    ///
    /// # Errors
    /// The value's own error.
    pub fn field<T: ToSql>(&mut self, value: &T) -> Result<(), BoxError> {
        let field = self
            .fields
            .get(self.next)
            .ok_or("too many fields written")?;
        self.next += 1;
        self.out
            .extend_from_slice(&field.type_().oid().to_be_bytes());
        let len_at = self.out.len();
        self.out.extend_from_slice(&[0; 4]);
        let len = match value.to_sql_checked(field.type_(), self.out)? {
            IsNull::Yes => -1,
            IsNull::No => i32::try_from(self.out.len() - len_at - 4)?,
        };
        self.out[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }

    /// Finishes the value.
    ///
    /// # Errors
    /// Never; the signature is `ToSql`'s.
    pub fn finish(self) -> Result<IsNull, BoxError> {
        Ok(IsNull::No)
    }
}

/// Reads several columns, by name, as a tuple of owned values: generated `from_row`
/// bodies make one such call per 16 columns instead of one fallible call per column,
/// which keeps large schemas quick to compile.
pub trait ReadTuple: Sized {
    /// Reads `names` (one per tuple element, in order).
    ///
    /// # Errors
    /// A column is missing or has another type.
    fn read(row: &tokio_postgres::Row, names: &[&str]) -> Result<Self, tokio_postgres::Error>;
}

macro_rules! read_tuple {
    ($($t:ident $i:tt),+) => {
        impl<$($t: postgres_types::FromSqlOwned),+> ReadTuple for ($($t,)+) {
            #[inline]
            fn read(row: &tokio_postgres::Row, names: &[&str]) -> Result<Self, tokio_postgres::Error> {
                // A missing name reads column "", which fails with the driver's error.
                Ok(($(row.try_get::<&str, $t>(names.get($i).copied().unwrap_or(""))?,)+))
            }
        }
    };
}

/// A value of a generated insert struct: [`Req`] is always sent, [`Opt`] only when
/// `Some` (`None` leaves the column to its default).
pub trait InsertValue<'a> {
    /// The value to bind, or `None` to leave the column out of the insert.
    fn value(self) -> Option<&'a (dyn ToSql + Sync)>;
}

/// A required column's value.
pub struct Req<'a, T>(pub &'a T);

/// An optional column's value.
pub struct Opt<'a, T>(pub &'a Option<T>);

impl<'a, T: ToSql + Sync> InsertValue<'a> for Req<'a, T> {
    #[inline]
    fn value(self) -> Option<&'a (dyn ToSql + Sync)> {
        Some(self.0)
    }
}

impl<'a, T: ToSql + Sync> InsertValue<'a> for Opt<'a, T> {
    #[inline]
    fn value(self) -> Option<&'a (dyn ToSql + Sync)> {
        self.0.as_ref().map(|v| v as &(dyn ToSql + Sync))
    }
}

/// The values of an insert struct, up to 16 columns per call: generated `values` bodies
/// make one call per 16 columns, so the compiler proves each column type bindable
/// once per type instead of once per column.
pub trait WriteTuple<'a> {
    /// Appends `(name, value)` for each tuple element, `names` in the same order.
    fn write(
        self,
        names: &[&'static str],
        out: &mut Vec<(&'static str, Option<&'a (dyn ToSql + Sync)>)>,
    );
}

macro_rules! write_tuple {
    ($($t:ident $i:tt),+) => {
        impl<'a, $($t: InsertValue<'a>),+> WriteTuple<'a> for ($($t,)+) {
            #[inline]
            fn write(
                self,
                names: &[&'static str],
                out: &mut Vec<(&'static str, Option<&'a (dyn ToSql + Sync)>)>,
            ) {
                $(out.push((names.get($i).copied().unwrap_or(""), self.$i.value()));)+
            }
        }
    };
}

/// Both tuple traits, for every arity up to 16.
macro_rules! tuples {
    ($($t:ident $i:tt),+) => {
        read_tuple!($($t $i),+);
        write_tuple!($($t $i),+);
    };
}

tuples!(A 0);
tuples!(A 0, B 1);
tuples!(A 0, B 1, C 2);
tuples!(A 0, B 1, C 2, D 3);
tuples!(A 0, B 1, C 2, D 3, E 4);
tuples!(A 0, B 1, C 2, D 3, E 4, F 5);
tuples!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuples!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuples!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuples!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuples!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuples!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
tuples!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12);
tuples!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13);
tuples!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14);
tuples!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15);
