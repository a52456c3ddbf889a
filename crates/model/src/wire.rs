//! Enums whose values are Octavia's wire strings: the same spelling in the API, in the
//! `AmphoraConfig` document, in heartbeats and in the store. The strings appear in
//! (de)serialisation only: code compares and assigns the enums.

/// Declares an enum whose serde names, `as_str` and `FromStr` are the given wire strings.
#[macro_export]
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            #[allow(dead_code)]
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The wire names, in declaration order (the order validators list them in).
            #[allow(dead_code)]
            pub const NAMES: &'static [&'static str] = &[$($wire),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::wire::UnknownValue;

            fn from_str(s: &str) -> Result<$name, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    other => Err($crate::wire::UnknownValue {
                        what: stringify!($name),
                        value: other.to_string(),
                    }),
                }
            }
        }
    };
}

/// A string that is not one of an enum's wire values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
}

impl std::fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown {} '{}'", self.what, self.value)
    }
}

impl std::error::Error for UnknownValue {}

#[cfg(test)]
mod tests {
    crate::wire_enum!(Colour { Red = "RED", DarkBlue = "DARK_BLUE" });

    #[test]
    fn wire_names_round_trip_through_serde_and_from_str() {
        assert_eq!(
            serde_json::to_string(&Colour::DarkBlue).unwrap(),
            "\"DARK_BLUE\""
        );
        assert_eq!("RED".parse::<Colour>(), Ok(Colour::Red));
        assert_eq!(Colour::NAMES, ["RED", "DARK_BLUE"]);
        let err = "GREEN".parse::<Colour>().unwrap_err();
        assert_eq!(err.to_string(), "unknown Colour 'GREEN'");
        assert!(serde_json::from_str::<Colour>("\"GREEN\"").is_err());
    }
}
