//! Keeping passwords out of everything the CLI prints.
//!
//! Connection strings are never printed, but errors from libraries and from `pg_dump`
//! are: every message passes through [`Scrub`], which replaces each spelling of each
//! password given on the command line or in `DATABASE_URL` (as written, and
//! percent-decoded) before it is shown.

/// The passwords to hide.
#[derive(Debug, Default)]
pub struct Scrub(Vec<String>);

impl Scrub {
    /// The passwords in `DATABASE_URL` and in the arguments.
    pub fn from_env() -> Scrub {
        let mut texts: Vec<String> = std::env::args().skip(1).collect();
        texts.extend(std::env::var("DATABASE_URL"));
        let mut found = Vec::new();
        for t in &texts {
            found.extend(passwords(t));
        }
        found.sort_by_key(|p: &String| std::cmp::Reverse(p.len()));
        found.dedup();
        Scrub(found)
    }

    /// `text` with every password replaced by `****`.
    pub fn clean(&self, text: &str) -> String {
        let mut out = text.to_string();
        for p in &self.0 {
            out = out.replace(p.as_str(), "****");
        }
        out
    }
}

/// Every spelling of the passwords in a connection string: the URL's user-info part as
/// written and decoded, and a key=value string's `password=` value.
fn passwords(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some((_, rest)) = s.split_once("://") {
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            if let Some((_, pw)) = userinfo.split_once(':') {
                out.push(pw.to_string());
                out.push(percent_decode(pw));
            }
        }
        // `?password=...` in the query.
        if let Some((_, query)) = rest.split_once('?') {
            for kv in query.split('&') {
                if let Some(pw) = kv.strip_prefix("password=") {
                    out.push(pw.to_string());
                    out.push(percent_decode(pw));
                }
            }
        }
    }
    for (i, _) in s.match_indices("password") {
        let rest = s[i + "password".len()..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim_start();
        let value = match rest.strip_prefix('\'') {
            Some(quoted) => quoted.split('\'').next().unwrap_or_default(),
            None => rest.split_whitespace().next().unwrap_or_default(),
        };
        out.push(value.to_string());
    }
    out.retain(|p| !p.is_empty());
    out
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).and_then(|&c| hex(c)),
            b.get(i + 2).and_then(|&c| hex(c)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_spelling() {
        let url = "postgres://u:p%40ss%3Aw@h:5/db?sslmode=disable";
        assert_eq!(passwords(url), ["p%40ss%3Aw", "p@ss:w"]);
        assert_eq!(passwords("host=h user=u password='a b' dbname=d"), ["a b"]);
        assert_eq!(passwords("host=h password=xyz"), ["xyz"]);
        assert!(passwords("postgres://u@h/db").is_empty());
        let s = Scrub(vec!["p@ss:w".into(), "p%40ss%3Aw".into()]);
        assert_eq!(s.clean("bad p@ss:w and p%40ss%3Aw"), "bad **** and ****");
    }
}
