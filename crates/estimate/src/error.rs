//! The one error type of this crate.

/// What can go wrong when estimating: bad configuration or inputs outside their domain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EstimateError {
    /// The TOML text did not parse or did not match the schema.
    #[error("estimate config: {source}")]
    ConfigSyntax {
        #[source]
        source: toml::de::Error,
    },
    /// The configuration parsed but is inconsistent.
    #[error("estimate config: {field}: {reason}")]
    ConfigInvalid { field: String, reason: String },
    /// A named table entry (hardware class, factor set, region, coin) does not exist.
    #[error("unknown {table} '{name}' (known: {known})")]
    UnknownName {
        table: &'static str,
        name: String,
        known: String,
    },
    /// An input value is outside its domain (negative time, NaN, wrong length...).
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: String, reason: String },
    /// A miner API reply or banner could not be decoded.
    #[error("cannot decode {what} at byte {offset}: {reason}")]
    Decode {
        what: &'static str,
        offset: usize,
        reason: String,
    },
}

impl EstimateError {
    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> Self {
        EstimateError::InvalidInput {
            field: field.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn unknown<'a>(
        table: &'static str,
        name: &str,
        known: impl Iterator<Item = &'a String>,
    ) -> Self {
        let known: Vec<&str> = known.map(String::as_str).collect();
        EstimateError::UnknownName {
            table,
            name: name.to_string(),
            known: known.join(", "),
        }
    }
}

/// Reject NaN, infinities and negative numbers in one place.
pub(crate) fn non_negative(field: &str, v: f64) -> Result<f64, EstimateError> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(EstimateError::invalid(
            field,
            format!("{v} is not a finite non-negative number"),
        ))
    }
}

/// Reject anything that is not a finite number > 0.
pub(crate) fn positive(field: &str, v: f64) -> Result<f64, EstimateError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(EstimateError::invalid(
            field,
            format!("{v} is not a finite positive number"),
        ))
    }
}
