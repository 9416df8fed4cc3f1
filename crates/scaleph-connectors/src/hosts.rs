//! Which network endpoints SQL and datasources may name.
//!
//! An admin lists allowed endpoints with `--allowed-host` (repeatable; default: none). A rule is
//! one of
//! - `*` — any host, any port;
//! - a host name, `db.example.com`, or a suffix pattern, `*.example.com` (sub-domains only),
//!   optionally with `:port`; names compare case-insensitively, a trailing dot ignored;
//! - an address or network, `10.1.2.3`, `10.0.0.0/8`, `[fd00::]/8`, optionally with `:port`
//!   (IPv6 in brackets when a port follows: `[::1]:5432`).
//!
//! Names match name rules and address literals match address rules; a name is never matched
//! through DNS (no lookup at check time, so no DNS-rebinding window): to allow `db.internal`,
//! allow the name. A rule with a port matches only that port; an endpoint whose port is not
//! known (a URL without one) matches only rules without a port.

use scaleph_sql::{SqlError, Statement, StatementKind};
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// The host policy of one server (unrestricted for the local CLI). Cheap to clone.
#[derive(Debug, Clone)]
pub struct HostAccess {
    /// `None`: every host (the local CLI).
    rules: Option<Arc<Vec<HostRule>>>,
}

impl Default for HostAccess {
    fn default() -> Self {
        Self::unrestricted()
    }
}

/// One `--allowed-host` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRule {
    pattern: Pattern,
    port: Option<u16>,
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Any,
    Name(String),
    /// `*.suffix`, stored as `.suffix`.
    Suffix(String),
    Net(IpAddr, u8),
}

/// A host (and port, when known) named by a datasource or a connector option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or address literal, as written (IPv6 without brackets).
    pub host: String,
    /// Port, when written or implied by the setting.
    pub port: Option<u16>,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bracket = self.host.contains(':');
        match (bracket, self.port) {
            (true, Some(p)) => write!(f, "[{}]:{p}", self.host),
            (false, Some(p)) => write!(f, "{}:{p}", self.host),
            _ => f.write_str(&self.host),
        }
    }
}

/// A refused endpoint; displays as a sentence naming it and the rule, for a 422/403 problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostDenied {
    /// The endpoint as named.
    pub endpoint: String,
    /// Why it is refused.
    pub reason: HostDenyReason,
}

/// Why an endpoint is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostDenyReason {
    /// No rule matches; carries the rules (empty: the server allows no hosts).
    NotAllowed(Vec<String>),
    /// Not a host name or address (control characters, `/`, `@`, …).
    Malformed,
}

impl fmt::Display for HostDenied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.endpoint;
        match &self.reason {
            HostDenyReason::NotAllowed(rules) if rules.is_empty() => write!(
                f,
                "host '{e}' is not allowed: the server allows no hosts; an admin allows them with --allowed-host"
            ),
            HostDenyReason::NotAllowed(rules) => write!(
                f,
                "host '{e}' is not allowed: it matches none of the allowed hosts [{}]; an admin allows more with --allowed-host",
                rules.join(", ")
            ),
            HostDenyReason::Malformed => write!(f, "'{e}' is not a host name or address"),
        }
    }
}

impl std::error::Error for HostDenied {}

/// A rule that cannot be parsed: the text and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRule {
    /// The rule as given.
    pub text: String,
    /// What is wrong with it.
    pub why: String,
}

impl fmt::Display for BadRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid --allowed-host rule '{}': {}",
            self.text, self.why
        )
    }
}

impl std::error::Error for BadRule {}

impl HostAccess {
    /// Every host allowed (the local CLI, engine tests).
    pub fn unrestricted() -> Self {
        Self { rules: None }
    }

    /// Only endpoints matching one of `rules` (see the module docs for their syntax); an
    /// empty list allows nothing.
    ///
    /// # Errors
    /// The first rule that cannot be parsed.
    pub fn restricted<S: AsRef<str>>(rules: &[S]) -> Result<Self, BadRule> {
        let rules = rules
            .iter()
            .map(|r| HostRule::parse(r.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            rules: Some(Arc::new(rules)),
        })
    }

    /// The rules as given; `None` when unrestricted.
    pub fn rules(&self) -> Option<Vec<String>> {
        self.rules
            .as_ref()
            .map(|r| r.iter().map(|r| r.text.clone()).collect())
    }

    /// Checks one endpoint.
    ///
    /// # Errors
    /// [`HostDenied`] when the host is malformed or no rule matches.
    pub fn check(&self, ep: &Endpoint) -> Result<(), HostDenied> {
        let denied = |reason| HostDenied {
            endpoint: ep.to_string(),
            reason,
        };
        let host = Host::parse(&ep.host).ok_or_else(|| denied(HostDenyReason::Malformed))?;
        let Some(rules) = &self.rules else {
            return Ok(());
        };
        if rules.iter().any(|r| r.matches(&host, ep.port)) {
            Ok(())
        } else {
            Err(denied(HostDenyReason::NotAllowed(
                rules.iter().map(|r| r.text.clone()).collect(),
            )))
        }
    }
}

/// A normalised host: a lower-case name without trailing dot, or an address.
enum Host {
    Name(String),
    Addr(IpAddr),
}

impl Host {
    fn parse(s: &str) -> Option<Host> {
        let s = s
            .strip_prefix('[')
            .and_then(|x| x.strip_suffix(']'))
            .unwrap_or(s);
        if let Ok(a) = s.parse::<IpAddr>() {
            return Some(Host::Addr(a.to_canonical()));
        }
        let name = s.strip_suffix('.').unwrap_or(s).to_ascii_lowercase();
        let ok = !name.is_empty()
            && name.len() <= 253
            && name.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
        ok.then_some(Host::Name(name))
    }
}

impl HostRule {
    /// Parses one rule (module docs).
    ///
    /// # Errors
    /// [`BadRule`] naming what is wrong.
    pub fn parse(text: &str) -> Result<Self, BadRule> {
        let bad = |why: &str| BadRule {
            text: text.to_string(),
            why: why.to_string(),
        };
        let t = text.trim();
        if t == "*" {
            return Ok(Self {
                pattern: Pattern::Any,
                port: None,
                text: t.to_string(),
            });
        }
        let (host, port) = split_host_port(t).ok_or_else(|| bad("expected host[:port]"))?;
        let port = match port {
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| bad("port must be 1..65535"))?,
            ),
            None => None,
        };
        let pattern = if let Some((addr, len)) = host.split_once('/') {
            let addr: IpAddr = addr
                .parse()
                .map_err(|_| bad("a network is an address/prefix length"))?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let len: u8 = len
                .parse()
                .ok()
                .filter(|l| *l <= max)
                .ok_or_else(|| bad("prefix length out of range"))?;
            Pattern::Net(addr.to_canonical(), len)
        } else if let Some(suffix) = host.strip_prefix("*.") {
            match Host::parse(suffix) {
                Some(Host::Name(n)) => Pattern::Suffix(format!(".{n}")),
                _ => return Err(bad("'*.' must be followed by a domain name")),
            }
        } else {
            match Host::parse(&host) {
                Some(Host::Name(n)) => Pattern::Name(n),
                Some(Host::Addr(a)) => Pattern::Net(a, if a.is_ipv4() { 32 } else { 128 }),
                None => return Err(bad("not a host name, address or network")),
            }
        };
        Ok(Self {
            pattern,
            port,
            text: t.to_string(),
        })
    }

    fn matches(&self, host: &Host, port: Option<u16>) -> bool {
        if self.port.is_some() && self.port != port {
            return false;
        }
        match (&self.pattern, host) {
            (Pattern::Any, _) => true,
            (Pattern::Name(n), Host::Name(h)) => n == h,
            (Pattern::Suffix(s), Host::Name(h)) => h.ends_with(s.as_str()),
            (Pattern::Net(net, len), Host::Addr(a)) => in_network(*a, *net, *len),
            _ => false,
        }
    }
}

fn in_network(a: IpAddr, net: IpAddr, len: u8) -> bool {
    match (a, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// Splits `host[:port]`, `[v6]:port`, `[v6]/len[:port]`, or a bare IPv6 address or network
/// (no port); the host comes back without brackets.
fn split_host_port(s: &str) -> Option<(String, Option<&str>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        let (len, after) = match after.strip_prefix('/') {
            Some(a) => {
                let end = a.find(':').unwrap_or(a.len());
                (Some(&a[..end]), &a[end..])
            }
            None => (None, after),
        };
        let port = match after {
            "" => None,
            a => Some(a.strip_prefix(':')?),
        };
        let host = match len {
            Some(l) => format!("{h}/{l}"),
            None => h.to_string(),
        };
        return Some((host, port));
    }
    match s.matches(':').count() {
        0 => Some((s.to_string(), None)),
        1 => {
            let (h, p) = s.split_once(':')?;
            Some((h.to_string(), Some(p)))
        }
        _ => Some((s.to_string(), None)),
    }
}

/// The endpoints named by a connector's options (Flink option names), for checking a script
/// before it is sent to a cluster:
/// - `hostname` (with `port`; the CDC connectors);
/// - `*bootstrap.servers` (Kafka): `host:port` list separated by `,`;
/// - `hosts` (Elasticsearch): URLs or `host:port` separated by `;` or `,`;
/// - any value holding `scheme://authority` (`url` of `jdbc`, `uri`, `hdfs://` paths, …),
///   including multi-host JDBC URLs, and Oracle's `jdbc:oracle:thin:@host:port:sid`.
///
/// Object-store schemes (`s3`, `s3a`, `oss`, `gs`, …) name buckets, not hosts, and `file:` names
/// local paths: both are skipped here.
///
/// # Errors
/// The option key when a value names a host that cannot be read out of it.
pub fn endpoints_in_options<'a>(
    options: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
) -> Result<Vec<(&'a str, Endpoint)>, &'a str> {
    let port_opt = options
        .clone()
        .into_iter()
        .find(|(k, _)| *k == "port")
        .and_then(|(_, v)| v.trim().parse::<u16>().ok());
    let mut out = Vec::new();
    for (k, v) in options {
        let v = v.trim();
        if k == "hostname" || k.ends_with(".hostname") {
            out.push((
                k,
                Endpoint {
                    host: v.to_string(),
                    port: port_opt,
                },
            ));
        } else if k.ends_with("bootstrap.servers") {
            for s in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                out.push((k, authority_endpoint(s).ok_or(k)?));
            }
        } else if k == "hosts" {
            for s in v.split([';', ',']).map(str::trim).filter(|s| !s.is_empty()) {
                let eps = if s.contains("://") {
                    url_endpoints(s).ok_or(k)?
                } else {
                    vec![authority_endpoint(s).ok_or(k)?]
                };
                out.extend(eps.into_iter().map(|e| (k, e)));
            }
        } else if v.contains("://") || v.starts_with("jdbc:oracle:") {
            out.extend(url_endpoints(v).ok_or(k)?.into_iter().map(|e| (k, e)));
        }
    }
    Ok(out)
}

const NOT_HOSTS: [&str; 12] = [
    "file",
    "s3",
    "s3a",
    "s3n",
    "s3p",
    "oss",
    "gs",
    "cosn",
    "obs",
    "viewfs",
    "classpath",
    "jar",
];

/// The hosts of a URL's authority (`scheme://[user@]h1[:p1][,h2[:p2]]/…`); JDBC's `jdbc:sub:`
/// prefix and Oracle's `@host:port:sid` form are understood. `None` when the authority cannot
/// be read.
fn url_endpoints(v: &str) -> Option<Vec<Endpoint>> {
    let body = v.strip_prefix("jdbc:").unwrap_or(v);
    if let Some(thin) = body.strip_prefix("oracle:thin:") {
        // `@//host:port/service` or `@host:port:sid`
        let rest = thin.rsplit_once('@').map(|(_, r)| r).unwrap_or(thin);
        if let Some(r) = rest.strip_prefix("//") {
            return authority_list(r);
        }
        let mut parts = rest.split(':');
        let host = parts.next()?.to_string();
        let port = parts.next().and_then(|p| p.parse().ok());
        return Some(vec![Endpoint { host, port }]);
    }
    let (scheme, rest) = body.split_once("://")?;
    let scheme = scheme
        .rsplit(':')
        .next()
        .unwrap_or(scheme)
        .to_ascii_lowercase();
    if NOT_HOSTS.contains(&scheme.as_str()) {
        return Some(Vec::new());
    }
    authority_list(rest)
}

fn authority_list(rest: &str) -> Option<Vec<Endpoint>> {
    let end = rest.find(['/', '?', '#', ';']).unwrap_or(rest.len());
    let auth = &rest[..end];
    let auth = auth.rsplit_once('@').map(|(_, h)| h).unwrap_or(auth);
    if auth.is_empty() {
        return Some(Vec::new()); // `hdfs:///path`: the cluster's default file system
    }
    auth.split(',').map(authority_endpoint).collect()
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`.
fn authority_endpoint(s: &str) -> Option<Endpoint> {
    let s = s.trim();
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            a => Some(a.strip_prefix(':')?.parse().ok()?),
        };
        (h, port)
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p.parse().ok()?)),
            None => (s, None),
        }
    };
    (!host.is_empty()).then(|| Endpoint {
        host: host.to_string(),
        port,
    })
}

/// Checks the endpoints every `CREATE TABLE` of a script names in its options
/// ([`endpoints_in_options`]) against `hosts`.
///
/// # Errors
/// A [`SqlError`] at the option: the refused endpoint and the rule, or an option whose host
/// cannot be read.
pub fn check_script_hosts(stmts: &[Statement], hosts: &HostAccess) -> Result<(), SqlError> {
    for st in stmts {
        // `/*+ OPTIONS(…) */` overrides a table's options in Flink.
        for h in &st.hints {
            if let Some(opts) = h.options() {
                let opts = opts.iter().map(|(k, v)| (k.as_str(), v.as_str(), h.pos));
                check_options(opts.collect(), hosts)?;
            }
        }
        // Tables' connectors, and catalogs (which connect when created).
        let options = match &st.kind {
            StatementKind::CreateTable(def) => &def.options,
            StatementKind::CreateCatalog { options, .. }
            | StatementKind::CreateDatabase { options, .. } => options,
            _ => continue,
        };
        let opts = options
            .iter()
            .map(|o| (o.key.as_str(), o.value.as_str(), o.pos));
        check_options(opts.collect(), hosts)?;
    }
    Ok(())
}

/// Checks the endpoints named by one set of options `(key, value, position)`.
fn check_options(
    opts: Vec<(&str, &str, scaleph_sql::Pos)>,
    hosts: &HostAccess,
) -> Result<(), SqlError> {
    let pos_of = |k: &str| {
        opts.iter()
            .find(|o| o.0 == k)
            .map(|o| o.2)
            .unwrap_or_default()
    };
    let eps = endpoints_in_options(opts.iter().map(|(k, v, _)| (*k, *v))).map_err(|k| {
        SqlError::invalid(
            pos_of(k),
            format!("cannot read the host and port out of option '{k}'"),
        )
    })?;
    for (k, ep) in eps {
        hosts
            .check(&ep)
            .map_err(|e| SqlError::invalid(pos_of(k), format!("option '{k}': {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(h: &str, p: Option<u16>) -> Endpoint {
        Endpoint {
            host: h.into(),
            port: p,
        }
    }

    #[test]
    fn rules_match_names_suffixes_networks_and_ports() {
        let a = HostAccess::restricted(&[
            "db.example.com:5432",
            "*.kafka.internal",
            "10.0.0.0/8",
            "[fd00::]/8:9092",
            "pg.local",
        ])
        .unwrap();
        assert!(a.check(&ep("DB.Example.com.", Some(5432))).is_ok());
        assert!(a.check(&ep("db.example.com", Some(5433))).is_err());
        assert!(a.check(&ep("db.example.com", None)).is_err());
        assert!(a.check(&ep("b1.kafka.internal", Some(9092))).is_ok());
        assert!(a.check(&ep("kafka.internal", Some(9092))).is_err());
        assert!(a.check(&ep("evilkafka.internal", Some(9092))).is_err());
        assert!(a.check(&ep("10.2.3.4", Some(1))).is_ok());
        assert!(a.check(&ep("::ffff:10.2.3.4", Some(1))).is_ok());
        assert!(a.check(&ep("11.2.3.4", Some(1))).is_err());
        assert!(a.check(&ep("fd12::1", Some(9092))).is_ok());
        assert!(a.check(&ep("[fd12::1]", Some(9093))).is_err());
        assert!(a.check(&ep("pg.local", None)).is_ok());
        // Names are never matched by address rules, and odd spellings of addresses are names.
        assert!(a.check(&ep("localhost", Some(5432))).is_err());
        assert!(a.check(&ep("167772161", Some(1))).is_err());
        let e = a.check(&ep("a/b@c", None)).unwrap_err();
        assert_eq!(e.reason, HostDenyReason::Malformed);
        let none = HostAccess::restricted::<&str>(&[]).unwrap();
        let e = none.check(&ep("127.0.0.1", Some(5432))).unwrap_err();
        assert!(e.to_string().contains("allows no hosts"), "{e}");
        assert!(HostAccess::restricted(&["*"])
            .unwrap()
            .check(&ep("x.y", Some(1)))
            .is_ok());
        assert!(HostAccess::unrestricted().check(&ep("x", None)).is_ok());
    }

    #[test]
    fn bad_rules_are_refused() {
        for r in [
            "",
            "a b",
            "10.0.0.0/33",
            "host:0",
            "host:x",
            "*.",
            "1.2.3.4/8/9",
            "[::1",
        ] {
            assert!(HostRule::parse(r).is_err(), "{r}");
        }
    }

    #[test]
    fn endpoints_are_read_out_of_flink_options() {
        let opts = [
            ("connector", "jdbc"),
            ("url", "jdbc:mysql://user@h1:3306,h2/db?x=1"),
            ("properties.bootstrap.servers", "k1:9092, [::1]:9093"),
            ("hostname", "cdc.db"),
            ("port", "3306"),
            ("hosts", "http://es1:9200;es2:9201"),
            ("path", "hdfs://nn:8020/warehouse"),
            ("sink.path", "s3://bucket/x"),
            ("other", "file:///tmp/x"),
        ];
        let eps = endpoints_in_options(opts.iter().map(|(k, v)| (*k, *v))).unwrap();
        let got: Vec<String> = eps.iter().map(|(k, e)| format!("{k}={e}")).collect();
        assert_eq!(
            got,
            [
                "url=h1:3306",
                "url=h2",
                "properties.bootstrap.servers=k1:9092",
                "properties.bootstrap.servers=[::1]:9093",
                "hostname=cdc.db:3306",
                "hosts=es1:9200",
                "hosts=es2:9201",
                "path=nn:8020"
            ]
        );
        let ora = [("url", "jdbc:oracle:thin:@ora.db:1521:ORCL")];
        let eps = endpoints_in_options(ora.iter().map(|(k, v)| (*k, *v))).unwrap();
        assert_eq!(eps[0].1, ep("ora.db", Some(1521)));
        let bad = [("properties.bootstrap.servers", "k1:notaport")];
        assert_eq!(
            endpoints_in_options(bad.iter().map(|(k, v)| (*k, *v))).unwrap_err(),
            "properties.bootstrap.servers"
        );
    }
}
