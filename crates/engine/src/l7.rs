//! L7 policies of an HTTP listener, compiled once per configuration generation (regexes
//! included) and decided per request the way HAProxy decides Octavia's rendering of them
//! (reference §9.2):
//! - a policy counts when it is enabled and has at least one enabled rule; its enabled rules
//!   are AND-ed, each one an ACL (`invert` is `!`);
//! - HAProxy runs `http-request deny` before `redirect` before `use_backend`, whatever the
//!   positions: the first matching REJECT answers 403, else the first matching redirect
//!   answers, else the first matching REDIRECT_TO_POOL (to an enabled pool) serves; within
//!   each class, position order;
//! - no match: the default pool, or 503 without one.
//!
//! A fetch that has no sample (no Host header, no such cookie, a TLS fetch on a plain
//! connection) does not match, so its inverted rule does, as in HAProxy.

use crate::pool::Pool;
use model::{CompareType, L7Action, L7PolicyConfig, L7RuleConfig, L7RuleType};
use std::collections::HashMap;
use std::sync::Arc;

pub struct Policies {
    reject: Vec<Policy>,
    redirect: Vec<Policy>,
    to_pool: Vec<Policy>,
}

struct Policy {
    rules: Vec<Rule>,
    action: Action,
}

enum Action {
    Reject,
    Redirect { code: u16, target: Target },
    Pool(Arc<Pool>),
}

enum Target {
    Location(String),
    Prefix(String),
}

struct Rule {
    fetch: Fetch,
    test: Test,
    invert: bool,
}

enum Fetch {
    /// `req.hdr(host)`, compared case-insensitively (`-i`).
    Host,
    /// `path`: the URI's path, without the query string.
    Path,
    /// `path_end` (a suffix unless another match method is given).
    FileType,
    /// `req.hdr(<name>)`: every comma-separated value of every occurrence.
    Header(String),
    /// `req.cook(<name>)`: every value of that cookie.
    Cookie(String),
    /// `ssl_c_used`: a boolean, true when the client presented a certificate.
    SslUsed,
    /// `ssl_c_verify eq <n>`: the client certificate's verification result (0: verified).
    SslVerify(i64),
    /// `ssl_c_s_dn(<field>)`: a field of the client certificate's subject.
    SslDn(String),
}

enum Test {
    Regex(regex::Regex),
    Begins(String),
    Ends(String),
    Contains(String),
    Equals(String),
}

impl Test {
    fn matches(&self, sample: &str, fold: bool) -> bool {
        let folded;
        let sample = if fold {
            folded = sample.to_ascii_lowercase();
            folded.as_str()
        } else {
            sample
        };
        match self {
            Test::Regex(r) => r.is_match(sample),
            Test::Begins(v) => sample.starts_with(v.as_str()),
            Test::Ends(v) => sample.ends_with(v.as_str()),
            Test::Contains(v) => sample.contains(v.as_str()),
            Test::Equals(v) => sample == v,
        }
    }
}

/// What the policies decide for one request.
pub enum Verdict<'a> {
    /// 403.
    Reject,
    Redirect {
        code: u16,
        location: String,
    },
    Pool(&'a Arc<Pool>),
    /// No policy matched: the listener's default pool.
    Default,
}

/// The parts of a request head that rules look at.
pub struct RequestView<'h> {
    /// The request target as sent (origin or absolute form).
    pub target: &'h str,
    pub headers: &'h [httparse::Header<'h>],
    /// The TLS connection's facts; None on a plain connection, where TLS fetches have no
    /// sample.
    pub tls: Option<&'h crate::termination::TlsFacts>,
}

impl RequestView<'_> {
    /// Path and query: what follows the authority of an absolute-form target.
    fn uri(&self) -> &str {
        let t = self.target;
        match t.find("://") {
            Some(i) => match t[i + 3..].find('/') {
                Some(j) => &t[i + 3 + j..],
                None => "/",
            },
            None => t,
        }
    }

    fn path(&self) -> &str {
        let uri = self.uri();
        uri.split_once('?').map(|(p, _)| p).unwrap_or(uri)
    }

    /// Every comma-separated value of every occurrence of `name`, trimmed.
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .filter_map(|h| std::str::from_utf8(h.value).ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
    }

    fn cookies<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("cookie"))
            .filter_map(|h| std::str::from_utf8(h.value).ok())
            .flat_map(|v| v.split(';'))
            .filter_map(move |pair| {
                let (k, v) = pair.trim().split_once('=')?;
                (k.trim() == name).then(|| v.trim())
            })
    }
}

impl Rule {
    fn holds(&self, req: &RequestView) -> bool {
        let matched = match &self.fetch {
            Fetch::Host => req
                .header_values("host")
                .any(|v| self.test.matches(v, true)),
            Fetch::Path => self.test.matches(req.path(), false),
            Fetch::FileType => self.test.matches(req.path(), false),
            Fetch::Header(name) => req.header_values(name).any(|v| self.test.matches(v, false)),
            Fetch::Cookie(name) => req.cookies(name).any(|v| self.test.matches(v, false)),
            // `acl <id> ssl_c_used`: the rule's value (always "True") is not compared.
            Fetch::SslUsed => req.tls.is_some_and(|t| t.has_cert),
            // OpenSSL's result is 0 (X509_V_OK) with a verified certificate and with none; a
            // certificate that did not verify never completes the handshake here.
            Fetch::SslVerify(n) => req.tls.is_some() && *n == 0,
            Fetch::SslDn(field) => req
                .tls
                .and_then(|t| t.field(field))
                .is_some_and(|v| self.test.matches(v, false)),
        };
        matched != self.invert
    }
}

/// A value as HAProxy reads it from Octavia's rendering: surrounding double quotes (the API's
/// quoted form) are the config's quoting, not part of the value.
fn unquote(value: &str) -> &str {
    if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        &value[1..value.len() - 1]
    } else {
        value
    }
}

fn compile_rule(r: &L7RuleConfig) -> Result<Rule, String> {
    let fold = r.rule_type == L7RuleType::HostName;
    let value = unquote(&r.value);
    let key = || {
        r.key
            .clone()
            .filter(|k| !k.is_empty())
            .ok_or_else(|| format!("L7 rule {}: {} needs a key", r.id, r.rule_type))
    };
    let fetch = match r.rule_type {
        L7RuleType::HostName => Fetch::Host,
        L7RuleType::Path => Fetch::Path,
        L7RuleType::FileType => Fetch::FileType,
        L7RuleType::Header => Fetch::Header(key()?),
        L7RuleType::Cookie => Fetch::Cookie(key()?),
        L7RuleType::SslConnHasCert => Fetch::SslUsed,
        L7RuleType::SslVerifyResult => Fetch::SslVerify(
            value
                .parse()
                .map_err(|_| format!("L7 rule {}: '{value}' is not a verify result", r.id))?,
        ),
        L7RuleType::SslDnField => Fetch::SslDn(key()?),
    };
    let literal = |v: &str| {
        if fold {
            v.to_ascii_lowercase()
        } else {
            v.to_string()
        }
    };
    let test = match (r.rule_type, r.compare_type) {
        (_, CompareType::Regex) => {
            let pattern = if fold {
                format!("(?i){value}")
            } else {
                value.to_string()
            };
            Test::Regex(
                regex::Regex::new(&pattern)
                    .map_err(|e| format!("L7 rule {}: regex '{value}': {e}", r.id))?,
            )
        }
        // `path_end <v>`: the match method is the fetch's own, a suffix.
        (L7RuleType::FileType, CompareType::EqualTo) => Test::Ends(literal(value)),
        (_, CompareType::StartsWith) => Test::Begins(literal(value)),
        (_, CompareType::EndsWith) => Test::Ends(literal(value)),
        (_, CompareType::Contains) => Test::Contains(literal(value)),
        (_, CompareType::EqualTo) => Test::Equals(literal(value)),
    };
    Ok(Rule {
        fetch,
        test,
        invert: r.invert,
    })
}

impl Policies {
    /// `None` when no policy counts. `pools` are the enabled pools of the configuration.
    pub fn compile(
        policies: &[L7PolicyConfig],
        pools: &HashMap<String, Arc<Pool>>,
    ) -> Result<Option<Policies>, String> {
        let mut ordered: Vec<&L7PolicyConfig> =
            policies.iter().filter(|p| p.admin_state_up).collect();
        ordered.sort_by_key(|p| p.position);
        let mut out = Policies {
            reject: Vec::new(),
            redirect: Vec::new(),
            to_pool: Vec::new(),
        };
        for p in ordered {
            let rules = p
                .rules
                .iter()
                .filter(|r| r.admin_state_up)
                .map(compile_rule)
                .collect::<Result<Vec<Rule>, String>>()?;
            if rules.is_empty() {
                continue;
            }
            let code = p.redirect_http_code.unwrap_or(302);
            let (class, action) = match p.action {
                L7Action::Reject => (&mut out.reject, Action::Reject),
                L7Action::RedirectToUrl | L7Action::RedirectPrefix => {
                    let target = match (p.action, &p.redirect_url, &p.redirect_prefix) {
                        (L7Action::RedirectToUrl, Some(url), _) => Target::Location(url.clone()),
                        (L7Action::RedirectPrefix, _, Some(prefix)) => {
                            Target::Prefix(prefix.clone())
                        }
                        _ => {
                            return Err(format!(
                                "L7 policy {}: {} without its target",
                                p.id, p.action
                            ))
                        }
                    };
                    (&mut out.redirect, Action::Redirect { code, target })
                }
                L7Action::RedirectToPool => {
                    // HAProxy's `use_backend` is rendered only for an enabled pool.
                    let Some(pool) = p.redirect_pool_id.as_ref().and_then(|id| pools.get(id))
                    else {
                        continue;
                    };
                    (&mut out.to_pool, Action::Pool(pool.clone()))
                }
            };
            class.push(Policy { rules, action });
        }
        let empty = out.reject.is_empty() && out.redirect.is_empty() && out.to_pool.is_empty();
        Ok((!empty).then_some(out))
    }

    /// The pools the policies send to.
    pub fn pool_ids(&self) -> impl Iterator<Item = &str> {
        self.to_pool.iter().filter_map(|p| match &p.action {
            Action::Pool(pool) => Some(pool.config.id.as_str()),
            _ => None,
        })
    }

    pub fn decide(&self, req: &RequestView) -> Verdict<'_> {
        let first = |class: &'_ [Policy]| {
            class
                .iter()
                .position(|p| p.rules.iter().all(|r| r.holds(req)))
        };
        if first(&self.reject).is_some() {
            return Verdict::Reject;
        }
        if let Some(i) = first(&self.redirect) {
            if let Action::Redirect { code, target } = &self.redirect[i].action {
                let location = match target {
                    Target::Location(url) => url.clone(),
                    // `redirect prefix /` would give `//path`: HAProxy leaves the prefix out.
                    Target::Prefix(p) if p == "/" => req.uri().to_string(),
                    Target::Prefix(p) => format!("{p}{}", req.uri()),
                };
                return Verdict::Redirect {
                    code: *code,
                    location,
                };
            }
        }
        if let Some(i) = first(&self.to_pool) {
            if let Action::Pool(pool) = &self.to_pool[i].action {
                return Verdict::Pool(pool);
            }
        }
        Verdict::Default
    }
}

/// HAProxy's answer to a `redirect` rule.
pub fn redirect_answer(code: u16, location: &str) -> Vec<u8> {
    let reason = match code {
        301 => "Moved Permanently",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        _ => "Found",
    };
    format!(
        "HTTP/1.1 {code} {reason}\r\ncontent-length: 0\r\nlocation: {location}\r\n\
         cache-control: no-cache\r\nconnection: close\r\n\r\n"
    )
    .into_bytes()
}
