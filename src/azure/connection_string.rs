//! Parses Azure Monitor (Application Insights) connection strings into the instrumentation
//! key and the ingestion endpoint the track requests go to.
//!
//! The rules follow the Azure SDKs (Azure.Core `ConnectionString` and the .NET, Java, Python
//! and JS exporters) and the documented schema:
//!
//! - settings are `key=value` pairs separated by `;`; each pair is split at its first `=`, so
//!   values may themselves contain `=`;
//! - keys are case-insensitive; whitespace around keys and values is trimmed; empty segments
//!   (such as a trailing `;`) are skipped; a setting with an empty value counts as absent;
//! - a key given twice is refused, as Azure.Core does ("Duplicated keyword"): the Python and
//!   JS exporters silently keep the last value, which hides copy-paste mistakes;
//! - unknown keys (`Authorization`, `LiveEndpoint`, `ApplicationId`, `AADAudience`, ...) are
//!   ignored;
//! - the endpoint is `IngestionEndpoint` if given, else `https://{Location.}dc.{EndpointSuffix}`
//!   if `EndpointSuffix` is given, else `https://dc.services.visualstudio.com`; it must be an
//!   `http(s)://host[/path]` URL without query or fragment and is kept without trailing `/`;
//! - the instrumentation key may be any non-empty printable ASCII token (only the Python
//!   exporter insists on a UUID);
//! - at most 4096 bytes, the documented maximum length.

use core::fmt;

/// Where telemetry goes when the connection string names no endpoint.
pub const DEFAULT_INGESTION_ENDPOINT: &str = "https://dc.services.visualstudio.com";
/// The documented maximum length of a connection string.
pub const MAX_LEN: usize = 4096;

/// A parsed connection string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionString {
    pub instrumentation_key: String,
    /// `http(s)://host[/path]`, without trailing slash.
    pub ingestion_endpoint: String,
}

/// Why a connection string was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectionStringError {
    /// Nothing but whitespace and `;`.
    Empty,
    /// Longer than [`MAX_LEN`] bytes (the length is given).
    TooLong(usize),
    /// A segment that is not `key=value` (truncated to 64 characters).
    MalformedPair(String),
    /// A key given more than once (as written in the second occurrence).
    DuplicateKey(String),
    MissingInstrumentationKey,
    /// The key contains whitespace, control or non-ASCII characters.
    InvalidInstrumentationKey,
    /// The ingestion endpoint is not an `http(s)://host[/path]` URL.
    InvalidEndpoint(String),
}

impl fmt::Display for ConnectionStringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("connection string is empty"),
            Self::TooLong(n) => write!(f, "connection string is {n} bytes long, more than the {MAX_LEN} allowed"),
            Self::MalformedPair(s) => write!(f, "connection string setting `{s}` is not of the form key=value"),
            Self::DuplicateKey(k) => write!(f, "connection string sets `{k}` more than once"),
            Self::MissingInstrumentationKey => f.write_str("connection string has no InstrumentationKey"),
            Self::InvalidInstrumentationKey => f.write_str(
                "connection string's InstrumentationKey contains spaces, quotes, control or non-ASCII characters",
            ),
            Self::InvalidEndpoint(u) => {
                write!(f, "connection string's ingestion endpoint `{u}` is not an http(s)://host URL")
            }
        }
    }
}

impl ConnectionString {
    /// Parses `text`; see the module documentation for the rules.
    pub fn parse(text: &str) -> Result<ConnectionString, ConnectionStringError> {
        use ConnectionStringError as E;
        if text.len() > MAX_LEN {
            return Err(E::TooLong(text.len()));
        }
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for segment in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = match segment.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => (k.trim(), v.trim()),
                _ => return Err(E::MalformedPair(clip(segment))),
            };
            if pairs.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
                return Err(E::DuplicateKey(clip(key)));
            }
            pairs.push((key, value));
        }
        if pairs.is_empty() {
            return Err(E::Empty);
        }
        let get = |name: &str| {
            pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| *v).filter(|v| !v.is_empty())
        };
        let key = get("InstrumentationKey").ok_or(E::MissingInstrumentationKey)?;
        if !key.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\'') {
            return Err(E::InvalidInstrumentationKey);
        }
        let endpoint = match (get("IngestionEndpoint"), get("EndpointSuffix")) {
            (Some(explicit), _) => explicit.to_owned(),
            (None, Some(suffix)) => {
                let mut url = String::from("https://");
                // Like the .NET exporter, forgive a stray '.' between the parts.
                let location = get("Location").map_or("", |l| l.trim_end_matches('.'));
                if !location.is_empty() {
                    url.push_str(location);
                    url.push('.');
                }
                url.push_str("dc.");
                url.push_str(suffix.trim_start_matches('.'));
                url
            }
            (None, None) => DEFAULT_INGESTION_ENDPOINT.to_owned(),
        };
        Ok(ConnectionString { instrumentation_key: key.to_owned(), ingestion_endpoint: check_endpoint(&endpoint)? })
    }

    /// `{ingestion_endpoint}/v2.1/track`
    pub fn track_url(&self) -> String {
        let mut url = String::with_capacity(self.ingestion_endpoint.len() + 12);
        url.push_str(&self.ingestion_endpoint);
        url.push_str("/v2.1/track");
        url
    }
}

/// Checks `url` is `http(s)://host[:port][/path]` and returns it without trailing slashes.
fn check_endpoint(url: &str) -> Result<String, ConnectionStringError> {
    let url = url.trim_end_matches('/');
    let after = |scheme: &str| {
        url.get(..scheme.len()).filter(|s| s.eq_ignore_ascii_case(scheme)).and_then(|_| url.get(scheme.len()..))
    };
    let valid = after("https://").or_else(|| after("http://")).is_some_and(|rest| {
        let host = rest.split('/').next().unwrap_or_default();
        host.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'[')
            && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b))
            && rest.bytes().all(|b| b.is_ascii_graphic() && b != b'?' && b != b'#')
    });
    if valid {
        Ok(url.to_owned())
    } else {
        Err(ConnectionStringError::InvalidEndpoint(url.to_owned()))
    }
}

/// The first 64 characters of `s`, with `…` when something was cut.
fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(64).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::ConnectionStringError as E;
    use super::*;

    const IKEY: &str = "00000000-0000-0000-0000-000000000000";

    fn endpoint(text: &str) -> String {
        ConnectionString::parse(text).unwrap().ingestion_endpoint
    }

    fn err(text: &str) -> ConnectionStringError {
        ConnectionString::parse(text).unwrap_err()
    }

    #[test]
    fn typical_portal_string() {
        let text = "InstrumentationKey=00000000-0000-0000-0000-000000000000;\
            IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;\
            LiveEndpoint=https://westeurope.livediagnostics.monitor.azure.com/;\
            ApplicationId=11111111-2222-3333-4444-555555555555";
        let cs = ConnectionString::parse(text).unwrap();
        assert_eq!(cs.instrumentation_key, IKEY);
        assert_eq!(cs.ingestion_endpoint, "https://westeurope-5.in.applicationinsights.azure.com");
        assert_eq!(cs.track_url(), "https://westeurope-5.in.applicationinsights.azure.com/v2.1/track");
    }

    #[test]
    fn key_only_uses_the_default_endpoint() {
        let cs = ConnectionString::parse("InstrumentationKey=k").unwrap();
        assert_eq!(cs.instrumentation_key, "k");
        assert_eq!(cs.track_url(), "https://dc.services.visualstudio.com/v2.1/track");
    }

    #[test]
    fn keys_are_case_insensitive() {
        let cs = ConnectionString::parse("instrumentationkey=abc;INGESTIONENDPOINT=https://x.example").unwrap();
        assert_eq!((cs.instrumentation_key.as_str(), cs.ingestion_endpoint.as_str()), ("abc", "https://x.example"));
        assert_eq!(endpoint("iNsTrUmEnTaTiOnKeY=abc;endpointsuffix=s.example;LOCATION=eu"), "https://eu.dc.s.example");
    }

    #[test]
    fn whitespace_and_empty_segments_are_ignored() {
        let cs =
            ConnectionString::parse("  ; InstrumentationKey = abc ;\t\n IngestionEndpoint =  https://x.example/  ;;  ")
                .unwrap();
        assert_eq!(cs.instrumentation_key, "abc");
        assert_eq!(cs.ingestion_endpoint, "https://x.example");
        assert_eq!(endpoint("InstrumentationKey=abc;"), DEFAULT_INGESTION_ENDPOINT);
    }

    #[test]
    fn endpoint_suffix_with_and_without_location() {
        let base = "InstrumentationKey=abc;EndpointSuffix=applicationinsights.azure.cn";
        assert_eq!(endpoint(base), "https://dc.applicationinsights.azure.cn");
        assert_eq!(
            endpoint(&format!("{base};Location=chinanorth2")),
            "https://chinanorth2.dc.applicationinsights.azure.cn"
        );
        // The documented example, and stray dots between the parts.
        assert_eq!(
            endpoint("InstrumentationKey=abc;EndpointSuffix=ai.contoso.com;Location=westus2"),
            "https://westus2.dc.ai.contoso.com"
        );
        assert_eq!(
            endpoint("InstrumentationKey=abc;EndpointSuffix=.ai.contoso.com/;Location=westus2."),
            "https://westus2.dc.ai.contoso.com"
        );
        // Location alone means nothing.
        assert_eq!(endpoint("InstrumentationKey=abc;Location=westus2"), DEFAULT_INGESTION_ENDPOINT);
        assert_eq!(endpoint("InstrumentationKey=abc;EndpointSuffix=;Location=westus2"), DEFAULT_INGESTION_ENDPOINT);
        assert_eq!(
            err("InstrumentationKey=abc;EndpointSuffix=ai.contoso.com;Location=west us"),
            E::InvalidEndpoint("https://west us.dc.ai.contoso.com".into())
        );
    }

    #[test]
    fn ingestion_endpoint_wins_over_suffix() {
        let text = "EndpointSuffix=ai.contoso.com;Location=westus2;IngestionEndpoint=https://custom.example:8443/ai/;InstrumentationKey=abc";
        assert_eq!(endpoint(text), "https://custom.example:8443/ai");
        assert_eq!(ConnectionString::parse(text).unwrap().track_url(), "https://custom.example:8443/ai/v2.1/track");
    }

    #[test]
    fn trailing_slashes_are_removed_and_http_is_kept() {
        assert_eq!(endpoint("InstrumentationKey=k;IngestionEndpoint=https://x.example//"), "https://x.example");
        assert_eq!(endpoint("InstrumentationKey=k;IngestionEndpoint=http://127.0.0.1:9"), "http://127.0.0.1:9");
        assert_eq!(endpoint("InstrumentationKey=k;IngestionEndpoint=HTTPS://[::1]:8080/"), "HTTPS://[::1]:8080");
    }

    #[test]
    fn values_may_contain_equals_signs() {
        let text = "AADAudience=https://monitor.azure.com/?a=b&c==d;InstrumentationKey=k==;IngestionEndpoint=https://p.example/x=1";
        let cs = ConnectionString::parse(text).unwrap();
        assert_eq!(cs.instrumentation_key, "k==");
        assert_eq!(cs.ingestion_endpoint, "https://p.example/x=1");
    }

    #[test]
    fn invalid_endpoints() {
        for bad in [
            "ftp://x.example",
            "x.example",
            "https://",
            "https:///path",
            "https://-x.example",
            "https://x.example/?q=1",
            "https://x.example#frag",
            "https://bad host.example",
            "https://ünïcode.example",
            "https://user@x.example",
        ] {
            let e = err(&format!("InstrumentationKey=k;IngestionEndpoint={bad}"));
            assert!(matches!(e, E::InvalidEndpoint(_)), "{bad}: {e:?}");
        }
    }

    #[test]
    fn missing_instrumentation_key() {
        assert_eq!(err("IngestionEndpoint=https://x.example"), E::MissingInstrumentationKey);
        assert_eq!(err("InstrumentationKey=;IngestionEndpoint=https://x.example"), E::MissingInstrumentationKey);
        assert_eq!(err("InstrumentationKey=   "), E::MissingInstrumentationKey);
        assert_eq!(err("Instrumentation Key=abc"), E::MissingInstrumentationKey);
    }

    #[test]
    fn invalid_instrumentation_key() {
        for bad in ["a b", "“abc”", "\"abc\"", "'abc'", "ab\u{7}c", "ключ"] {
            assert_eq!(err(&format!("InstrumentationKey={bad}")), E::InvalidInstrumentationKey, "{bad}");
        }
    }

    #[test]
    fn malformed_segments() {
        assert_eq!(err("InstrumentationKey"), E::MalformedPair("InstrumentationKey".into()));
        assert_eq!(err("InstrumentationKey=abc; garbage ;"), E::MalformedPair("garbage".into()));
        assert_eq!(err("=abc"), E::MalformedPair("=abc".into()));
        assert_eq!(err("InstrumentationKey=abc; =x"), E::MalformedPair("=x".into()));
        let long = "é".repeat(100);
        let E::MalformedPair(s) = err(&long) else { panic!() };
        assert_eq!(s.chars().count(), 65);
        assert!(s.ends_with('…'));
    }

    #[test]
    fn duplicate_keys_are_refused() {
        assert_eq!(err("InstrumentationKey=a;instrumentationkey=b"), E::DuplicateKey("instrumentationkey".into()));
        assert_eq!(err("InstrumentationKey=a;Foo=1;FOO=1"), E::DuplicateKey("FOO".into()));
    }

    #[test]
    fn empty_and_too_long() {
        for empty in ["", "   ", ";", " ; ;\t;\n"] {
            assert_eq!(err(empty), E::Empty, "{empty:?}");
        }
        let long = format!("InstrumentationKey=k;Other={}", "x".repeat(5000));
        assert_eq!(err(&long), E::TooLong(long.len()));
        let ok = format!("InstrumentationKey=k;Other={}", "x".repeat(MAX_LEN - 27));
        assert_eq!(ok.len(), MAX_LEN);
        assert!(ConnectionString::parse(&ok).is_ok());
    }

    #[test]
    fn non_ascii_never_panics() {
        assert_eq!(endpoint("Ключ=значение;InstrumentationKey=abc"), DEFAULT_INGESTION_ENDPOINT);
        assert_eq!(err("Ïnstrumentationkey=abc"), E::MissingInstrumentationKey);
        // Multi-byte characters right where byte offsets are probed.
        for text in [
            "ü",
            "InstrumentationKey=k;IngestionEndpoint=httpü",
            "InstrumentationKey=k;IngestionEndpoint=https:/ü",
            "🦀=🦀;;=",
            "\u{0}",
        ] {
            let _ = ConnectionString::parse(text);
        }
        let mut text = String::new();
        for i in 0..3000u32 {
            text.push(char::from_u32(0x20 + i * 37 % 0x2fff).unwrap_or('?'));
            let _ = ConnectionString::parse(&text);
        }
    }

    #[test]
    fn messages_name_the_problem() {
        assert_eq!(E::MissingInstrumentationKey.to_string(), "connection string has no InstrumentationKey");
        assert!(E::MalformedPair("abc".into()).to_string().contains("`abc`"));
        assert!(E::DuplicateKey("Location".into()).to_string().contains("Location"));
        assert!(E::InvalidEndpoint("ftp://x".into()).to_string().contains("ftp://x"));
        assert!(E::TooLong(5000).to_string().contains("4096"));
    }
}
