//! Emits the `MIGRATIONS` static: every migration embedded as string literals.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use pgstrata_core::{Migration, NoTransactionReason, Span, Transaction};

use crate::source::Source;

/// The `MIGRATIONS` static and the items that make the build depend on every file.
///
/// The SQL is embedded as literals (a dbmate section is part of a file, which
/// `include_str!` cannot express), and each file is also named in an `include_bytes!`
/// so that editing it rebuilds the crate. Adding or removing a file cannot be tracked
/// by a proc-macro on stable Rust: the build-script helper covers that.
pub fn migrations_static(sources: &[Source], migrations: &[Migration]) -> TokenStream {
    let items = migrations.iter().map(migration);
    let mut paths: Vec<String> = Vec::new();
    for s in sources {
        paths.push(s.up.path.display().to_string());
        if let Some(d) = &s.down {
            paths.push(d.path.display().to_string());
        }
    }
    paths.sort();
    paths.dedup();
    let count = migrations.len();
    let doc =
        format!(" The {count} migrations of this crate, embedded at build time, in version order.");
    quote! {
        #[doc = #doc]
        ///
        /// Apply them with [`run`](::pgstrata::Migrations::run) (tokio-postgres) or
        /// [`run_blocking`](::pgstrata::Migrations::run_blocking) (postgres).
        #[allow(dead_code)]
        pub static MIGRATIONS: ::pgstrata::Migrations = {
            static LIST: [::pgstrata::__private::Migration; #count] = [#(#items),*];
            ::pgstrata::Migrations::__embedded(&LIST, &schema::SHAPE)
        };
        #(const _: &[u8] = ::core::include_bytes!(#paths);)*
    }
}

fn migration(m: &Migration) -> TokenStream {
    let version = m.version();
    let name = m.name();
    let file = m.file();
    let up = Literal::string(m.up());
    let up_line = m.up_line();
    let opt = |v: Option<&str>| match v {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    };
    let down = opt(m.down());
    let checksum = m.checksum();
    let statements = m.statements().iter().map(|s| span(*s));
    let up_transaction = transaction(m.transaction());
    let down_statements = m.down_statements().iter().map(|s| span(*s));
    let down_transaction = transaction(m.down_transaction());
    let lock_timeout = opt(m.lock_timeout());
    let statement_timeout = opt(m.statement_timeout());
    quote! {
        ::pgstrata::__private::Migration::embedded(
            #version,
            #name,
            #file,
            #up,
            #up_line,
            #down,
            &[#(#down_statements),*],
            #down_transaction,
            #checksum,
            &[#(#statements),*],
            #up_transaction,
            #lock_timeout,
            #statement_timeout,
        )
    }
}

fn transaction(t: &Transaction) -> TokenStream {
    match t {
        Transaction::Wrapped => quote!(::pgstrata::__private::Transaction::Wrapped),
        Transaction::OwnBeginCommit { body } => {
            let body = span(*body);
            quote!(::pgstrata::__private::Transaction::OwnBeginCommit { body: #body })
        }
        Transaction::None { reason } => {
            let reason = match reason {
                NoTransactionReason::Directive => {
                    quote!(::pgstrata::__private::NoTransactionReason::Directive)
                }
                NoTransactionReason::RefusedInTransaction { index } => {
                    quote!(::pgstrata::__private::NoTransactionReason::RefusedInTransaction { index: #index })
                }
                NoTransactionReason::TransactionControl { index } => {
                    quote!(::pgstrata::__private::NoTransactionReason::TransactionControl { index: #index })
                }
            };
            quote!(::pgstrata::__private::Transaction::None { reason: #reason })
        }
    }
}

fn span(s: Span) -> TokenStream {
    let (start, end) = (s.start, s.end);
    quote!(::pgstrata::__private::Span { start: #start, end: #end })
}
