//! An attribute of a request body, as WSME tells them apart: absent (Unset), `null`, or a
//! value. Creates default what is absent or null; updates keep what is absent and reset
//! what is null.

use serde::{Deserialize, Deserializer};

#[derive(Clone, Debug, Default, PartialEq)]
pub enum Patch<T> {
    #[default]
    Absent,
    Null,
    Set(T),
}

impl<T> Patch<T> {
    /// The value given, else `default` (absent or null).
    pub fn or(self, default: T) -> T {
        match self {
            Patch::Set(v) => v,
            Patch::Absent | Patch::Null => default,
        }
    }

    /// The value given, else what `default` makes (absent or null).
    pub fn or_else(self, default: impl FnOnce() -> T) -> T {
        match self {
            Patch::Set(v) => v,
            Patch::Absent | Patch::Null => default(),
        }
    }

    /// The value given; `absent` when absent, `null` when null (`admin_state_up: null` is
    /// false on a create, absent is true).
    pub fn or_by(self, absent: T, null: T) -> T {
        match self {
            Patch::Set(v) => v,
            Patch::Absent => absent,
            Patch::Null => null,
        }
    }

    /// The value given, or None.
    pub fn into_option(self) -> Option<T> {
        match self {
            Patch::Set(v) => Some(v),
            Patch::Absent | Patch::Null => None,
        }
    }

    pub fn as_ref(&self) -> Patch<&T> {
        match self {
            Patch::Set(v) => Patch::Set(v),
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
        }
    }

    /// The value, if one is given.
    pub fn value(&self) -> Option<&T> {
        match self {
            Patch::Set(v) => Some(v),
            Patch::Absent | Patch::Null => None,
        }
    }

    pub fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Patch::Null)
    }

    /// An update of a field that always has a value: absent keeps it, null resets it to
    /// `null`, a value replaces it.
    pub fn update(self, field: &mut T, null: T) {
        match self {
            Patch::Absent => {}
            Patch::Null => *field = null,
            Patch::Set(v) => *field = v,
        }
    }

    /// An update of a field that takes no null (the caller refuses it or keeps the
    /// field): a value replaces it, absent and null keep it.
    pub fn assign(self, field: &mut T) {
        if let Patch::Set(v) = self {
            *field = v;
        }
    }

    /// An update of a nullable field whose null has a default of its own (a TLS list):
    /// absent keeps it, null resets it to `null`, a value replaces it.
    pub fn update_option_or(self, field: &mut Option<T>, null: Option<T>) {
        match self {
            Patch::Absent => {}
            Patch::Null => *field = null,
            Patch::Set(v) => *field = Some(v),
        }
    }

    /// An update of a nullable field: absent keeps it, null clears it, a value replaces it.
    pub fn update_option(self, field: &mut Option<T>) {
        match self {
            Patch::Absent => {}
            Patch::Null => *field = None,
            Patch::Set(v) => *field = Some(v),
        }
    }
}

/// A missing field is `Absent` only with `#[serde(default)]`; a present one is `Null` or a
/// value.
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            None => Patch::Null,
            Some(v) => Patch::Set(v),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        a: Patch<i64>,
        #[serde(default)]
        b: Patch<i64>,
        #[serde(default)]
        c: Patch<i64>,
    }

    #[test]
    fn absent_null_and_value_stay_apart() {
        let body: Body = serde_json::from_str(r#"{"b": null, "c": 7}"#).unwrap();
        assert_eq!(
            (body.a.clone(), body.b.clone()),
            (Patch::Absent, Patch::Null)
        );
        assert_eq!(body.c.clone().or(1), 7);
        assert_eq!(body.a.clone().or_by(1, 0), 1, "absent");
        assert_eq!(body.b.clone().or_by(1, 0), 0, "null");
        let mut field = 5;
        body.a.update(&mut field, 0);
        assert_eq!(field, 5, "absent keeps");
        body.b.update(&mut field, 0);
        assert_eq!(field, 0, "null resets");
        body.c.update(&mut field, 0);
        assert_eq!(field, 7);
    }
}
