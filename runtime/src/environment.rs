//! libpq's environment variables: what a connection string leaves out, they give, as
//! they do for `psql` and every libpq program.

use tokio_postgres::config::Host;
use tokio_postgres::Config;

/// The variables read, with the connection option each one stands for.
const VARIABLES: [(&str, &str); 8] = [
    ("PGHOST", "host"),
    ("PGPORT", "port"),
    ("PGUSER", "user"),
    ("PGPASSWORD", "password"),
    ("PGDATABASE", "dbname"),
    ("PGAPPNAME", "application_name"),
    ("PGCONNECT_TIMEOUT", "connect_timeout"),
    ("PGSSLMODE", "sslmode"),
];

/// Fills what `config` (read from `given`) leaves out from the variables `var` returns.
/// The values are read by tokio-postgres's own parser, so a bad `PGPORT` is refused as
/// a bad `port=` would be.
///
/// # Errors
/// A variable's value is not valid for its option.
pub(crate) fn fill(
    config: &mut Config,
    given: &str,
    var: impl Fn(&str) -> Option<String>,
) -> Result<(), tokio_postgres::Error> {
    let pairs: Vec<String> = VARIABLES
        .iter()
        .filter_map(|(name, key)| {
            let value = var(name).filter(|v| !v.is_empty())?;
            let quoted = value.replace('\\', "\\\\").replace('\'', "\\'");
            Some(format!("{key}='{quoted}'"))
        })
        .collect();
    if pairs.is_empty() {
        return Ok(());
    }
    let env: Config = pairs.join(" ").parse()?;
    if config.get_hosts().is_empty() {
        for host in env.get_hosts() {
            match host {
                Host::Tcp(h) => config.host(h),
                #[cfg(unix)]
                Host::Unix(p) => config.host_path(p),
            };
        }
    }
    // tokio-postgres reads a URL's host without a port as port 5432, so PGPORT only
    // reaches a key/value string or a URL without a host.
    if config.get_ports().is_empty() {
        for port in env.get_ports() {
            config.port(*port);
        }
    }
    if let (None, Some(user)) = (config.get_user(), env.get_user()) {
        config.user(user);
    }
    if let (None, Some(password)) = (config.get_password(), env.get_password()) {
        config.password(password);
    }
    if let (None, Some(dbname)) = (config.get_dbname(), env.get_dbname()) {
        config.dbname(dbname);
    }
    if let (None, Some(name)) = (config.get_application_name(), env.get_application_name()) {
        config.application_name(name);
    }
    if let (None, Some(t)) = (config.get_connect_timeout(), env.get_connect_timeout()) {
        config.connect_timeout(*t);
    }
    // The mode has a default, so whether the string set one is read from the string.
    if var("PGSSLMODE").is_some_and(|v| !v.is_empty()) && !given.contains("sslmode") {
        config.ssl_mode(env.get_ssl_mode());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(given: &str, vars: &[(&str, &str)]) -> Config {
        let mut c: Config = given.parse().unwrap();
        let var = |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_string())
        };
        fill(&mut c, given, var).unwrap();
        c
    }

    #[test]
    fn the_string_wins_and_the_variables_fill_the_rest() {
        let vars = [
            ("PGHOST", "db.internal"),
            ("PGPORT", "6432"),
            ("PGUSER", "app"),
            ("PGPASSWORD", "it's \\ secret"),
            ("PGDATABASE", "shop"),
            ("PGSSLMODE", "require"),
        ];
        let c = filled("postgres://other@127.0.0.1:5433/orders", &vars);
        assert_eq!(c.get_hosts(), [Host::Tcp("127.0.0.1".into())]);
        assert_eq!(c.get_ports(), [5433]);
        assert_eq!(c.get_user(), Some("other"));
        assert_eq!(c.get_password(), Some(&b"it's \\ secret"[..]));
        assert_eq!(c.get_dbname(), Some("orders"));
        assert_eq!(c.get_ssl_mode(), tokio_postgres::config::SslMode::Require);

        let c = filled("sslmode=disable", &vars);
        assert_eq!(c.get_hosts(), [Host::Tcp("db.internal".into())]);
        assert_eq!(c.get_ports(), [6432]);
        assert_eq!(c.get_user(), Some("app"));
        assert_eq!(c.get_ssl_mode(), tokio_postgres::config::SslMode::Disable);
    }

    #[test]
    fn a_bad_variable_is_refused() {
        let mut c = Config::new();
        let var = |k: &str| (k == "PGPORT").then(|| "five".to_string());
        assert!(fill(&mut c, "", var).is_err());
    }
}
