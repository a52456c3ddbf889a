//! Listing: equality filters on any attribute, tag filters, sorting (both syntaxes), keyset
//! pagination with `*_links`, and `fields=` selection (reference §2.3).

use crate::error::{ApiError, ApiResult};
use serde_json::{json, Map, Value};
use std::cmp::Ordering;

const RESERVED: &[&str] = &[
    "limit",
    "marker",
    "sort",
    "sort_key",
    "sort_dir",
    "fields",
    "page_reverse",
];
const TAG_PARAMS: &[&str] = &["tags", "tags-any", "not-tags", "not-tags-any"];

/// The query string, parsed once.
#[derive(Clone, Debug, Default)]
pub struct Query {
    pub pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        Query {
            pairs: raw
                .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
                .unwrap_or_default(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Values of a repeatable, comma-separable parameter.
    fn split(&self, key: &str) -> Vec<String> {
        self.all(key)
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Equality filters: every parameter that is not reserved.
    pub fn filters(&self) -> Vec<(&str, &str)> {
        self.pairs
            .iter()
            .filter(|(k, _)| !RESERVED.contains(&k.as_str()) && !TAG_PARAMS.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    pub fn fields(&self) -> Vec<String> {
        self.split("fields")
    }
}

/// `oslo_utils.strutils.bool_from_string`.
pub fn bool_from_string(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "1" | "t" | "true" | "on" | "y" | "yes"
    )
}

fn matches_filter(obj: &Map<String, Value>, key: &str, wanted: &str) -> ApiResult<bool> {
    let Some(value) = obj.get(key) else {
        return Err(ApiError::invalid_filter());
    };
    Ok(match value {
        Value::String(s) => s == wanted,
        Value::Bool(b) => *b == bool_from_string(wanted),
        Value::Number(n) => n.to_string() == wanted || wanted.parse::<f64>().ok() == n.as_f64(),
        Value::Null => false,
        Value::Array(_) | Value::Object(_) => return Err(ApiError::invalid_filter()),
    })
}

fn matches_tags(obj: &Map<String, Value>, q: &Query) -> bool {
    let tags: Vec<&str> = match obj.get("tags") {
        Some(Value::Array(t)) => t.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let has = |t: &String| tags.contains(&t.as_str());
    let all = q.split("tags");
    let any = q.split("tags-any");
    let not_all = q.split("not-tags");
    let not_any = q.split("not-tags-any");
    (all.is_empty() || all.iter().all(has))
        && (any.is_empty() || any.iter().any(has))
        && (not_all.is_empty() || !not_all.iter().all(has))
        && (not_any.is_empty() || !not_any.iter().any(has))
}

#[derive(Clone, Debug)]
struct SortKey {
    key: String,
    ascending: bool,
}

fn sort_keys(q: &Query) -> ApiResult<Vec<SortKey>> {
    let mut keys = Vec::new();
    let dir = |d: &str| match d {
        "asc" => Ok(true),
        "desc" => Ok(false),
        other => Err(ApiError::bad_request(format!(
            "Supplied sort direction '{other}' is not valid."
        ))),
    };
    if let Some(sort) = q.get("sort") {
        for part in sort.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let pieces: Vec<&str> = part.split(':').collect();
            match pieces.as_slice() {
                [k] => keys.push(SortKey {
                    key: k.to_string(),
                    ascending: true,
                }),
                [k, d] => keys.push(SortKey {
                    key: k.to_string(),
                    ascending: dir(d)?,
                }),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "Supplied sort key '{part}' is not valid."
                    )))
                }
            }
        }
    } else if let Some(sort_key) = q.get("sort_key") {
        let dirs: Vec<&str> = q
            .get("sort_dir")
            .map(|d| d.split(',').map(str::trim).collect())
            .unwrap_or_default();
        for (i, k) in sort_key
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .enumerate()
        {
            let ascending = match dirs.get(i) {
                Some(d) => dir(d)?,
                None => true,
            };
            keys.push(SortKey {
                key: k.to_string(),
                ascending,
            });
        }
    }
    Ok(keys)
}

fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (x, y) => x.to_string().cmp(&y.to_string()),
    }
}

/// Applies the query to rendered objects (given in creation order) and returns the list
/// envelope `{"<plural>": [...], "<links_key>": [...]}`. `hidden` names extra keys the objects
/// carry for filtering only (Octavia filters on columns such as `loadbalancer_id` that the
/// response does not show); they are removed before rendering.
pub fn respond(
    mut objects: Vec<Map<String, Value>>,
    hidden: &[&str],
    q: &Query,
    plural: &str,
    links_key: Option<&str>,
    base_url: &str,
    max_limit: usize,
) -> ApiResult<Value> {
    let sort = sort_keys(q)?;
    if let Some(first) = objects.first() {
        for k in &sort {
            let scalar = matches!(first.get(&k.key), Some(v) if !v.is_array() && !v.is_object());
            if !(scalar || k.key == "created_at" || k.key == "id") {
                return Err(ApiError::bad_request(format!(
                    "Supplied sort key '{}' is not valid.",
                    k.key
                )));
            }
        }
    }
    let limit = match q.get("limit") {
        None => max_limit,
        Some("infinite") => usize::MAX,
        Some(raw) => match raw.trim().parse::<i64>() {
            Ok(n) if n < 1 => usize::MAX,
            Ok(n) => (n as usize).min(max_limit),
            Err(_) => {
                return Err(ApiError::bad_request(format!(
                    "Supplied pagination limit '{raw}' is not valid."
                )))
            }
        },
    };
    let filters = q.filters();
    let mut kept = Vec::with_capacity(objects.len());
    for obj in objects.drain(..) {
        let mut keep = matches_tags(&obj, q);
        for (k, v) in &filters {
            if !matches_filter(&obj, k, v)? {
                keep = false;
            }
        }
        if keep {
            kept.push(obj);
        }
    }
    // Creation order is the default (Octavia: created_at, then id); a stable sort keeps it
    // as the final tie-breaker under explicit keys.
    if !sort.is_empty() {
        kept.sort_by(|a, b| {
            for k in &sort {
                let ord = compare(
                    a.get(&k.key).unwrap_or(&Value::Null),
                    b.get(&k.key).unwrap_or(&Value::Null),
                );
                let ord = if k.ascending { ord } else { ord.reverse() };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            Ordering::Equal
        });
    }
    let marker = q.get("marker");
    let reverse = q.get("page_reverse") == Some("True");
    let page: Vec<Map<String, Value>> = match marker {
        Some(m) => {
            let Some(pos) = kept
                .iter()
                .position(|o| o.get("id").and_then(Value::as_str) == Some(m))
            else {
                return Err(ApiError::bad_request(format!(
                    "Supplied pagination marker '{m}' is not valid."
                )));
            };
            if reverse {
                let start = pos.saturating_sub(limit);
                let mut before: Vec<_> = kept.drain(start..pos).collect();
                before.reverse();
                before
            } else {
                kept.into_iter().skip(pos + 1).take(limit).collect()
            }
        }
        None => kept.into_iter().take(limit).collect(),
    };
    let mut links = Vec::new();
    if !page.is_empty() && limit != usize::MAX {
        let mut params = format!("limit={limit}");
        for key in ["sort", "sort_key", "sort_dir"] {
            if let Some(v) = q.get(key) {
                params.push_str(&format!("&{key}={v}"));
            }
        }
        let id_of = |o: &Map<String, Value>| {
            o.get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        if marker.is_some() {
            let first = id_of(&page[0]);
            links.push(json!({"href": format!("{base_url}?{params}&marker={first}&page_reverse=True"), "rel": "previous"}));
        }
        if page.len() >= limit {
            let last = id_of(&page[page.len() - 1]);
            links
                .push(json!({"href": format!("{base_url}?{params}&marker={last}"), "rel": "next"}));
        }
    }
    let fields = q.fields();
    let items: Vec<Value> = page
        .into_iter()
        .map(|mut o| {
            for key in hidden {
                o.remove(*key);
            }
            Value::Object(select_fields(o, &fields))
        })
        .collect();
    let mut out = Map::new();
    out.insert(plural.to_string(), Value::Array(items));
    if let Some(key) = links_key {
        out.insert(key.to_string(), Value::Array(links));
    }
    Ok(Value::Object(out))
}

/// Keeps only the requested attributes (all when none were requested).
pub fn select_fields(obj: Map<String, Value>, fields: &[String]) -> Map<String, Value> {
    if fields.is_empty() {
        return obj;
    }
    obj.into_iter()
        .filter(|(k, _)| fields.iter().any(|f| f == k))
        .collect()
}
