//! Configuration errors, and the checks that turn raw values from JS into a valid [`Config`].
//!
//! [`Config`]: crate::telemetry::Config

use crate::azure::connection_string::ConnectionStringError;

/// Why a configuration was refused at init.
#[derive(Clone, Debug, PartialEq)]
pub enum ConfigError {
    /// The configuration is not an object.
    NotAnObject,
    ConnectionString(ConnectionStringError),
    /// A field has the wrong type: (field, what it should be).
    WrongType(&'static str, &'static str),
    /// A number outside its range: (field, lowest, highest).
    OutOfRange(&'static str, f64, f64),
    /// The sampler is neither "always", "never" nor `{type: "probability", probability}`.
    Sampler(String),
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ConfigError::NotAnObject => write!(f, "edgecensus: the configuration must be an object"),
            ConfigError::ConnectionString(e) => write!(f, "edgecensus: invalid connection string: {e}"),
            ConfigError::WrongType(field, expected) => write!(f, "edgecensus: `{field}` must be {expected}"),
            ConfigError::OutOfRange(field, low, high) => {
                // The bounds are whole numbers: printed as integers (no float formatting in wasm).
                write!(f, "edgecensus: `{field}` must be a whole number from {} to {}", *low as i64, *high as i64)
            }
            ConfigError::Sampler(why) => write!(f, "edgecensus: invalid `sampler`: {why}"),
        }
    }
}

/// A whole number in `low..=high` (JS numbers arrive as f64).
pub fn whole_number(field: &'static str, value: f64, low: f64, high: f64) -> Result<f64, ConfigError> {
    if value.is_finite() && value.fract() == 0.0 && value >= low && value <= high {
        Ok(value)
    } else {
        Err(ConfigError::OutOfRange(field, low, high))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_in_range() {
        assert_eq!(whole_number("n", 5.0, 1.0, 10.0), Ok(5.0));
        for bad in [0.0, 11.0, 2.5, f64::NAN, f64::INFINITY] {
            assert_eq!(whole_number("n", bad, 1.0, 10.0), Err(ConfigError::OutOfRange("n", 1.0, 10.0)));
        }
    }

    #[test]
    fn messages_name_the_field() {
        let e = ConfigError::OutOfRange("maxQueueSize", 1.0, 1e6);
        assert_eq!(e.to_string(), "edgecensus: `maxQueueSize` must be a whole number from 1 to 1000000");
        assert!(ConfigError::WrongType("console", "a boolean").to_string().contains("`console` must be a boolean"));
    }
}
