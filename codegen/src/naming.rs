//! Rust names for SQL names: singular PascalCase structs, PascalCase enums and variants,
//! snake_case fields; raw identifiers for keywords; collisions reported, never merged.

use heck::{ToPascalCase, ToSnakeCase};
use proc_macro2::{Ident, Span};

/// Words whose singular is not the regular one.
const IRREGULAR: &[(&str, &str)] = &[
    ("people", "person"),
    ("children", "child"),
    ("men", "man"),
    ("women", "woman"),
    ("statuses", "status"),
    ("aliases", "alias"),
    ("buses", "bus"),
    ("viruses", "virus"),
    ("analyses", "analysis"),
    ("indices", "index"),
    ("matrices", "matrix"),
    ("vertices", "vertex"),
    ("criteria", "criterion"),
    ("responses", "response"),
    ("houses", "house"),
    ("courses", "course"),
    ("licenses", "license"),
    ("purchases", "purchase"),
    ("databases", "database"),
    ("releases", "release"),
    ("cases", "case"),
    ("bases", "base"),
    ("phases", "phase"),
    ("leases", "lease"),
    ("uses", "use"),
    ("causes", "cause"),
    ("clauses", "clause"),
];

/// Words that are the same in both numbers.
const UNCOUNTED: &[&str] = &[
    "data",
    "media",
    "news",
    "series",
    "species",
    "metadata",
    "information",
    "equipment",
    "settings",
];

/// The singular of an English word, for table names (`agent_sessions` -> `agent_session`).
pub fn singular(word: &str) -> String {
    let lower = word.to_lowercase();
    if let Some((_, s)) = IRREGULAR.iter().find(|(p, _)| lower == *p) {
        return keep_case(word, s);
    }
    if UNCOUNTED.contains(&lower.as_str()) {
        return word.to_string();
    }
    let cut = |n: usize, add: &str| format!("{}{add}", &word[..word.len() - n]);
    if lower.ends_with("ies") && lower.len() > 4 {
        cut(3, "y")
    } else if ["sses", "xes", "ches", "shes", "zzes"]
        .iter()
        .any(|e| lower.ends_with(e))
    {
        cut(2, "")
    } else if lower.ends_with('s')
        && !["ss", "us", "is"].iter().any(|e| lower.ends_with(e))
        && lower.len() > 1
    {
        cut(1, "")
    } else {
        word.to_string()
    }
}

fn keep_case(original: &str, replacement: &str) -> String {
    if original.chars().next().is_some_and(char::is_uppercase) {
        let mut c = replacement.chars();
        c.next().map_or_else(String::new, |f| {
            f.to_uppercase().collect::<String>() + c.as_str()
        })
    } else {
        replacement.to_string()
    }
}

/// The row struct's name for a table: the last word made singular, then PascalCase.
pub fn struct_name(table: &str) -> String {
    let snake = table.to_snake_case();
    let (head, last) = match snake.rsplit_once('_') {
        Some((h, l)) => (format!("{h}_"), l.to_string()),
        None => (String::new(), snake.clone()),
    };
    valid_type_name(
        &format!("{head}{}", singular(&last)).to_pascal_case(),
        table,
    )
}

/// An enum's, domain's or composite's name.
pub fn type_name(name: &str) -> String {
    valid_type_name(&name.to_pascal_case(), name)
}

/// An enum variant's name from its label.
pub fn variant_name(label: &str) -> String {
    valid_type_name(&label.to_pascal_case(), label)
}

fn valid_type_name(pascal: &str, original: &str) -> String {
    if pascal.is_empty() {
        // A label of only punctuation: name it by its bytes so it stays unique.
        return format!(
            "X{}",
            original
                .bytes()
                .map(|b| format!("{b:02X}"))
                .collect::<String>()
        );
    }
    if pascal.starts_with(|c: char| c.is_ascii_digit()) {
        return format!("N{pascal}");
    }
    if pascal == "Self" {
        return "Self_".into();
    }
    pascal.to_string()
}

/// A field's name from a column name.
pub fn field_name(column: &str) -> String {
    let s = column.to_snake_case();
    if s.is_empty() {
        return format!(
            "c_{}",
            column
                .bytes()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        return format!("c{s}");
    }
    s
}

/// A module's name from a schema name.
pub fn module_name(schema: &str) -> String {
    field_name(schema)
}

/// An identifier: a raw identifier for keywords; `self`, `Self`, `super` and `crate`,
/// which cannot be raw, get a trailing `_`.
pub fn ident(name: &str) -> Ident {
    match name {
        "self" | "Self" | "super" | "crate" | "_" => {
            Ident::new(&format!("{name}_"), Span::call_site())
        }
        n if is_keyword(n) => Ident::new_raw(n, Span::call_site()),
        n => Ident::new(n, Span::call_site()),
    }
}

fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "as" | "break"
            | "const"
            | "continue"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "fn"
            | "for"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "pub"
            | "ref"
            | "return"
            | "static"
            | "struct"
            | "trait"
            | "true"
            | "type"
            | "unsafe"
            | "use"
            | "where"
            | "while"
            | "async"
            | "await"
            | "dyn"
            | "abstract"
            | "become"
            | "box"
            | "do"
            | "final"
            | "macro"
            | "override"
            | "priv"
            | "typeof"
            | "unsized"
            | "virtual"
            | "yield"
            | "try"
            | "gen"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structs_are_singular_pascal_case() {
        assert_eq!(struct_name("agent_sessions"), "AgentSession");
        assert_eq!(struct_name("agent_chat_messages"), "AgentChatMessage");
        assert_eq!(struct_name("categories"), "Category");
        assert_eq!(struct_name("addresses"), "Address");
        assert_eq!(struct_name("boxes"), "Box");
        assert_eq!(struct_name("people"), "Person");
        assert_eq!(struct_name("user_statuses"), "UserStatus");
        assert_eq!(struct_name("user_"), "User");
        assert_eq!(struct_name("users"), "User");
        assert_eq!(struct_name("UserRoles"), "UserRole");
        assert_eq!(struct_name("site_aggregates"), "SiteAggregate");
        assert_eq!(struct_name("metadata"), "Metadata");
        assert_eq!(struct_name("status"), "Status");
        assert_eq!(struct_name("2fa_codes"), "N2faCode");
    }

    #[test]
    fn variants_and_fields() {
        assert_eq!(variant_name("SUPER_ADMIN"), "SuperAdmin");
        assert_eq!(variant_name("in progress"), "InProgress");
        assert_eq!(variant_name("1st"), "N1st");
        assert_eq!(variant_name("+"), "X2B");
        assert_eq!(field_name("emailVerified"), "email_verified");
        assert_eq!(field_name("userId"), "user_id");
        assert_eq!(field_name("2fa"), "c2fa");
        assert_eq!(ident("type").to_string(), "r#type");
        assert_eq!(ident("self").to_string(), "self_");
        assert_eq!(ident("name").to_string(), "name");
    }
}
