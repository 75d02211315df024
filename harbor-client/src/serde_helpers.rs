//! Serde adapters for the shapes real Harbor answers use, referenced by the generated models.

use serde::{Deserialize, Deserializer};

/// Reads `null` as the type's default (Harbor sends `null` for empty lists and maps).
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// RFC 3339 times where `0001-01-01T00:00:00Z` (Go's zero time, Harbor's "never") is `None`.
pub mod harbor_time {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    /// Parses a time; the zero time, an empty string and `null` are `None`.
    pub fn parse(text: &str) -> Result<Option<OffsetDateTime>, time::error::Parse> {
        let text = text.trim();
        if text.is_empty() || text.starts_with("0001-01-01") {
            return Ok(None);
        }
        OffsetDateTime::parse(text, &Rfc3339).map(Some)
    }

    /// Serde `deserialize_with`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            None => Ok(None),
            Some(text) => parse(&text).map_err(D::Error::custom),
        }
    }

    /// Serde `serialize_with`: RFC 3339.
    pub fn serialize<S: Serializer>(
        value: &Option<OffsetDateTime>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            None => serializer.serialize_none(),
            Some(time) => {
                let text = time.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
                serializer.serialize_str(&text)
            }
        }
    }
}

/// Credentials held as [`Secret`](wharf_oci_core::secret::Secret), so they never show in `Debug`.
pub mod secret {
    use serde::{Deserialize, Deserializer, Serializer};
    use wharf_oci_core::secret::Secret;

    /// Serde `deserialize_with`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Secret>, D::Error> {
        Ok(Option::<String>::deserialize(deserializer)?.map(Secret::new))
    }

    /// Serde `serialize_with`: the value itself, because it is going to the server.
    pub fn serialize<S: Serializer>(
        value: &Option<Secret>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            None => serializer.serialize_none(),
            Some(secret) => serializer.serialize_str(secret.expose()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::harbor_time;

    #[test]
    fn zero_time_means_never() {
        assert_eq!(harbor_time::parse("0001-01-01T00:00:00Z").unwrap(), None);
        assert_eq!(harbor_time::parse("").unwrap(), None);
        let time = harbor_time::parse("2024-05-01T10:00:00.123Z")
            .unwrap()
            .unwrap();
        assert_eq!(time.year(), 2024);
        assert!(harbor_time::parse("yesterday").is_err());
    }
}
