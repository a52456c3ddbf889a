//! Request-body decoding with WSME's semantics: typed attributes with limits, unknown
//! attributes and missing mandatory attributes rejected with WSME's texts, absent attributes
//! (Unset) kept apart from JSON null. `decode_as` then hands the checked attributes over as
//! the service's typed body (absent and null stay apart there as `model::Patch`).

use crate::error::{ApiError, ApiResult};
use serde_json::{Map, Value};
use std::net::IpAddr;

#[derive(Clone, Copy, Debug)]
pub enum Ty {
    /// String of at most N characters.
    Str(usize),
    /// String of at most N characters that must satisfy a check (reason given on failure).
    StrCheck(usize, fn(&str) -> Result<(), String>),
    Uuid,
    Int(i64, i64),
    Bool,
    Enum(&'static [&'static str]),
    IntEnum(&'static [i64]),
    /// HTTP version: 1.0 or 1.1 as a JSON number.
    HttpVersion,
    Ip,
    /// List of strings of at most N characters each.
    StrList(usize),
    /// List of strings of at most N characters each, each of which must pass a check.
    StrListCheck(usize, fn(&str) -> Result<(), String>),
    UuidList,
    CidrList,
    /// Mapping of string to string (insert_headers).
    StrDict,
    Obj(&'static Spec),
    ObjList(&'static Spec),
}

/// A request type: groups of fields, in WSME's attribute order. Types share groups.
#[derive(Debug)]
pub struct Spec(pub &'static [&'static [Field]]);

impl Spec {
    pub fn fields(&self) -> impl Iterator<Item = &'static Field> {
        self.0.iter().flat_map(|group| group.iter())
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub mandatory: bool,
}

pub const fn f(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        mandatory: false,
    }
}

pub const fn m(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        mandatory: true,
    }
}

/// Python's `str()` of a JSON value, as WSME puts it in `Value: '…'`.
pub fn py_str(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("'{k}': {}", py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn py_repr(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        other => py_str(other),
    }
}

/// An error raised while decoding; unknown attributes carry the path WSME builds.
enum DecodeError {
    Api(ApiError),
    Unknown {
        path: Vec<String>,
        attrs: Vec<String>,
    },
    /// A JSON value WSME could not convert (`fromjson`): reported against the whole body.
    Convert(String),
}

impl DecodeError {
    fn into_api(self, argname: &str, envelope: &str, body: &Value) -> ApiError {
        match self {
            DecodeError::Api(e) => e,
            DecodeError::Unknown { mut path, attrs } => {
                path.insert(0, envelope.to_string());
                path.insert(0, argname.to_string());
                unknown_error(&path, &attrs)
            }
            DecodeError::Convert(msg) => ApiError::invalid_input(argname, py_str(body), &msg),
        }
    }
}

impl From<ApiError> for DecodeError {
    fn from(e: ApiError) -> DecodeError {
        DecodeError::Api(e)
    }
}

/// Decodes `{"<envelope>": {...}}` into the validated attribute map. `argname` is the
/// controller's parameter name, which WSME puts into unknown-attribute errors.
pub fn decode(
    body: &[u8],
    argname: &str,
    envelope: &str,
    fields: &Spec,
) -> ApiResult<Map<String, Value>> {
    let value: Value = parse_json(body, argname)?;
    let whole = value.clone();
    let Value::Object(mut root) = value else {
        return Err(ApiError::bad_request(format!(
            "Invalid input for field/attribute {envelope}. Value: '{}'. Wrong type. Expected 'dict', got '{}'",
            py_str(&value),
            py_type(&value)
        )));
    };
    let unknown: Vec<String> = root.keys().filter(|k| *k != envelope).cloned().collect();
    if !unknown.is_empty() {
        return Err(unknown_error(&[argname.to_string()], &unknown));
    }
    let inner = match root.remove(envelope) {
        Some(Value::Object(map)) => map,
        Some(Value::Null) | None => return Err(ApiError::mandatory(envelope)),
        Some(other) => {
            return Err(ApiError::invalid_input(
                envelope,
                py_str(&other),
                &format!("Wrong type. Expected 'dict', got '{}'", py_type(&other)),
            ))
        }
    };
    decode_object(inner, fields).map_err(|e| e.into_api(argname, envelope, &whole))
}

/// `decode`, then the attributes as the typed body `T`. The decoder has checked every type
/// and range, so a body that does not convert is Ostia's fault (500), never the caller's.
pub fn decode_as<T: serde::de::DeserializeOwned>(
    body: &[u8],
    argname: &str,
    envelope: &str,
    fields: &Spec,
) -> ApiResult<T> {
    typed(decode(body, argname, envelope, fields)?)
}

/// `decode_list`, each item as the typed body `T`.
pub fn decode_list_as<T: serde::de::DeserializeOwned>(
    body: &[u8],
    argname: &str,
    envelope: &str,
    fields: &Spec,
) -> ApiResult<Vec<T>> {
    decode_list(body, argname, envelope, fields)?
        .into_iter()
        .map(typed)
        .collect()
}

fn typed<T: serde::de::DeserializeOwned>(attrs: Map<String, Value>) -> ApiResult<T> {
    serde_json::from_value(Value::Object(attrs)).map_err(|e| {
        tracing::error!(error = %e, "a decoded body does not fit its type");
        ApiError::internal()
    })
}

/// Decodes a list envelope such as the batch member update's `{"members": [...]}`.
pub fn decode_list(
    body: &[u8],
    argname: &str,
    envelope: &str,
    fields: &Spec,
) -> ApiResult<Vec<Map<String, Value>>> {
    let value: Value = parse_json(body, argname)?;
    let whole = value.clone();
    let Value::Object(mut root) = value else {
        return Err(ApiError::bad_request(
            "Invalid input for field/attribute members. Value: 'None'. Mandatory field missing.",
        ));
    };
    let unknown: Vec<String> = root.keys().filter(|k| *k != envelope).cloned().collect();
    if !unknown.is_empty() {
        return Err(unknown_error(&[argname.to_string()], &unknown));
    }
    let items = match root.remove(envelope) {
        Some(Value::Array(items)) => items,
        Some(Value::Null) | None => return Err(ApiError::mandatory(envelope)),
        Some(other) => {
            return Err(ApiError::invalid_input(
                argname,
                py_str(&whole),
                &format!("Value not a valid list: {}", py_str(&other)),
            ))
        }
    };
    let mut out = Vec::new();
    for item in items {
        let Value::Object(map) = item else {
            return Err(ApiError::invalid_input(
                envelope,
                py_str(&item),
                "Wrong type. Expected 'dict'",
            ));
        };
        out.push(decode_object(map, fields).map_err(|e| e.into_api(argname, envelope, &whole))?);
    }
    Ok(out)
}

fn parse_json(body: &[u8], argname: &str) -> ApiResult<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(format!(
            "Missing argument: \"{argname}\""
        )));
    }
    serde_json::from_slice(body)
        .map_err(|_| ApiError::bad_request("Request is not in valid JSON format"))
}

fn unknown_error(path: &[String], attrs: &[String]) -> ApiError {
    let noun = if attrs.len() > 1 {
        "attributes"
    } else {
        "attribute"
    };
    ApiError::bad_request(format!(
        "Unknown {noun} for argument {}: {}",
        path.join("."),
        attrs.join(", ")
    ))
}

fn py_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn wrong_type(field: &str, v: &Value, expected: &str) -> ApiError {
    ApiError::invalid_input(
        field,
        py_str(v),
        &format!("Wrong type. Expected '{expected}', got '{}'", py_type(v)),
    )
}

fn decode_object(
    mut input: Map<String, Value>,
    fields: &Spec,
) -> Result<Map<String, Value>, DecodeError> {
    // `tenant_id` is an alias of `project_id` wherever the type has one.
    if fields.fields().any(|f| f.name == "project_id") {
        if let Some(tenant) = input.remove("tenant_id") {
            input.entry("project_id").or_insert(tenant);
        }
    }
    let mut out = Map::new();
    for field in fields.fields() {
        match input.remove(field.name) {
            None if field.mandatory => return Err(ApiError::mandatory(field.name).into()),
            None => {}
            Some(Value::Null) if field.mandatory => {
                return Err(ApiError::mandatory(field.name).into())
            }
            Some(Value::Null) => {
                out.insert(field.name.to_string(), Value::Null);
            }
            Some(v) => {
                let checked = check(field.name, field.ty, v).map_err(|e| match e {
                    DecodeError::Unknown { mut path, attrs } => {
                        path.insert(0, field.name.to_string());
                        DecodeError::Unknown { path, attrs }
                    }
                    other => other,
                })?;
                out.insert(field.name.to_string(), checked);
            }
        }
    }
    if !input.is_empty() {
        return Err(DecodeError::Unknown {
            path: Vec::new(),
            attrs: input.keys().cloned().collect(),
        });
    }
    Ok(out)
}

fn check(name: &str, ty: Ty, v: Value) -> Result<Value, DecodeError> {
    let invalid = |v: &Value, reason: String| ApiError::invalid_input(name, py_str(v), &reason);
    Ok(match ty {
        Ty::Str(max) | Ty::StrCheck(max, _) => {
            let Value::String(s) = &v else {
                return Err(invalid(&v, "Value should be string".into()).into());
            };
            if s.chars().count() > max {
                return Err(invalid(
                    &v,
                    format!("Value should have a maximum character requirement of {max}"),
                )
                .into());
            }
            if let Ty::StrCheck(_, test) = ty {
                test(s).map_err(|reason| invalid(&v, reason))?;
            }
            v
        }
        Ty::Uuid => match v.as_str().and_then(|s| uuid::Uuid::parse_str(s).ok()) {
            Some(u) => Value::String(u.hyphenated().to_string()),
            None => return Err(invalid(&v, "Value should be UUID format".into()).into()),
        },
        Ty::Int(min, max) => {
            let n = match &v {
                Value::Number(n) => match n.as_i64() {
                    Some(i) => i,
                    // Beyond i64 (2^63 and up, or a float out of range) is out of range, not
                    // clamped.
                    None => {
                        let two_63 = 9_223_372_036_854_775_808f64;
                        match n.as_f64().map(f64::trunc) {
                            Some(f) if !n.is_u64() && (-two_63..two_63).contains(&f) => f as i64,
                            Some(f) if f < 0.0 => {
                                let msg = format!("Value should be greater or equal to {min}");
                                return Err(invalid(&v, msg).into());
                            }
                            _ => {
                                let msg = format!("Value should be lower or equal to {max}");
                                return Err(invalid(&v, msg).into());
                            }
                        }
                    }
                },
                Value::Bool(b) => i64::from(*b),
                Value::String(s) => s.trim().parse::<i64>().map_err(|_| {
                    DecodeError::Convert(format!("invalid literal for int() with base 10: '{s}'"))
                })?,
                other => {
                    return Err(DecodeError::Convert(format!(
                        "int() argument must be a string, a bytes-like object or a real number, not '{}'",
                        py_type(other)
                    )))
                }
            };
            if n < min {
                return Err(
                    invalid(&v, format!("Value should be greater or equal to {min}")).into(),
                );
            }
            if n > max {
                return Err(invalid(&v, format!("Value should be lower or equal to {max}")).into());
            }
            Value::from(n)
        }
        Ty::Bool => match &v {
            Value::Bool(_) => v,
            Value::Number(n) if n.is_i64() || n.is_u64() => Value::Bool(n.as_f64() != Some(0.0)),
            Value::String(s) if ["true", "t", "yes", "y", "on", "1"].contains(&s.as_str()) => {
                Value::Bool(true)
            }
            Value::String(s) if ["false", "f", "no", "n", "off", "0"].contains(&s.as_str()) => {
                Value::Bool(false)
            }
            other => {
                return Err(DecodeError::Convert(format!(
                    "Value not an unambiguous boolean: {}",
                    py_str(other)
                )))
            }
        },
        Ty::Enum(values) => {
            let ok = matches!(&v, Value::String(s) if values.contains(&s.as_str()));
            if !ok {
                return Err(
                    invalid(&v, format!("Value should be one of: {}", values.join(", "))).into(),
                );
            }
            v
        }
        Ty::IntEnum(values) => {
            let n = v
                .as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()));
            match n {
                Some(n) if values.contains(&n) => Value::from(n),
                _ => {
                    let list: Vec<String> = values.iter().map(i64::to_string).collect();
                    return Err(invalid(
                        &v,
                        format!("Value should be one of: {}", list.join(", ")),
                    )
                    .into());
                }
            }
        }
        Ty::HttpVersion => match v.as_f64() {
            Some(x) if x == 1.0 || x == 1.1 => serde_json::json!(x),
            _ => return Err(invalid(&v, "Value should be one of: 1.0, 1.1".into()).into()),
        },
        Ty::Ip => {
            let ok = matches!(&v, Value::String(s) if s.parse::<IpAddr>().is_ok());
            if !ok {
                return Err(invalid(&v, "Value should be IPv4 or IPv6 format".into()).into());
            }
            v
        }
        Ty::StrList(max) | Ty::StrListCheck(max, _) => {
            let Value::Array(items) = &v else {
                return Err(DecodeError::Convert(format!(
                    "Value not a valid list: {}",
                    py_str(&v)
                )));
            };
            for item in items {
                let Value::String(s) = item else {
                    return Err(wrong_type(name, item, "str").into());
                };
                // WSME validates the list as a whole and reports all of it.
                if s.chars().count() > max {
                    return Err(invalid(
                        &v,
                        format!("Value should have a maximum character requirement of {max}"),
                    )
                    .into());
                }
                if let Ty::StrListCheck(_, test) = ty {
                    test(s).map_err(|reason| invalid(&v, reason))?;
                }
            }
            v
        }
        Ty::UuidList => {
            let Value::Array(items) = &v else {
                return Err(DecodeError::Convert(format!(
                    "Value not a valid list: {}",
                    py_str(&v)
                )));
            };
            for item in items {
                if !matches!(item, Value::String(s) if uuid::Uuid::parse_str(s).is_ok()) {
                    return Err(invalid(&v, "Value should be UUID format".into()).into());
                }
            }
            v
        }
        Ty::CidrList => {
            let Value::Array(items) = &v else {
                return Err(DecodeError::Convert(format!(
                    "Value not a valid list: {}",
                    py_str(&v)
                )));
            };
            let mut out: Vec<Value> = Vec::new();
            for item in items {
                let net = item
                    .as_str()
                    .and_then(|s| s.parse::<ipnet::IpNet>().ok())
                    .ok_or_else(|| {
                        invalid(&v, "Value should be IPv4 or IPv6 CIDR format".into())
                    })?;
                let normalised = Value::String(net.trunc().to_string());
                if !out.contains(&normalised) {
                    out.push(normalised);
                }
            }
            Value::Array(out)
        }
        Ty::StrDict => {
            let Value::Object(map) = &v else {
                return Err(DecodeError::Convert(format!(
                    "Value not a valid dict: {}",
                    py_str(&v)
                )));
            };
            for value in map.values() {
                let Value::String(s) = value else {
                    return Err(wrong_type(name, value, "str").into());
                };
                if s.chars().count() > 255 {
                    return Err(invalid(
                        value,
                        "Value should have a maximum character requirement of 255".into(),
                    )
                    .into());
                }
            }
            v
        }
        Ty::Obj(fields) => {
            let Value::Object(map) = v else {
                return Err(DecodeError::Convert(format!(
                    "Value not a valid dict: {}",
                    py_str(&v)
                )));
            };
            Value::Object(decode_object(map, fields)?)
        }
        Ty::ObjList(fields) => {
            let Value::Array(items) = v else {
                return Err(DecodeError::Convert(format!(
                    "Value not a valid list: {}",
                    py_str(&v)
                )));
            };
            let mut out = Vec::new();
            for item in items {
                let Value::Object(map) = item else {
                    return Err(wrong_type(name, &item, "dict").into());
                };
                out.push(Value::Object(decode_object(map, fields)?));
            }
            Value::Array(out)
        }
    })
}
