//! HEC tokens: where a request's token comes from, and constant-time lookup.
//!
//! Splunk ("Format events for HTTP Event Collector", "HEC token"): the token is sent as
//! `Authorization: Splunk <token>`, or with HTTP Basic authentication where the password is
//! the token and the user is any string, or as the `token` query parameter, which splunkd
//! refuses with code 16 unless `allowQueryStringAuth` is set for the token (inputs.conf).
//! `Bearer` is not a HEC scheme (HEC tokens are separate from Splunk's bearer tokens, as
//! Splunk's JavaScript logging library's maintainers answered in its issue #35), so it is an
//! invalid authorization here too.
//!
//! Key design decision: every configured token is compared, in constant time, on every
//! lookup, so neither the match nor its position leaks through timing. Tokens never appear in
//! `Debug` output or logs.

use std::fmt;

use base64::Engine as _;
use subtle::ConstantTimeEq;

use super::reply::HecStatus;
use crate::config::TokenConfig;

/// A configured token.
#[derive(Clone)]
pub struct Token {
    value: Vec<u8>,
    config: TokenConfig,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("name", &self.config.display_name())
            .finish_non_exhaustive()
    }
}

impl Token {
    /// The token's settings.
    pub fn config(&self) -> &TokenConfig {
        &self.config
    }
}

/// The set of tokens the server accepts.
#[derive(Debug, Clone, Default)]
pub struct TokenStore {
    tokens: Vec<Token>,
}

impl TokenStore {
    /// A store of the given tokens.
    pub fn new(configs: &[TokenConfig]) -> TokenStore {
        TokenStore {
            tokens: configs
                .iter()
                .map(|c| Token {
                    value: c.value.as_bytes().to_vec(),
                    config: c.clone(),
                })
                .collect(),
        }
    }

    /// Whether no token is configured.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    fn find(&self, presented: &[u8]) -> Option<&Token> {
        let mut found = None;
        for token in &self.tokens {
            if bool::from(token.value.as_slice().ct_eq(presented)) {
                found = Some(token);
            }
        }
        found
    }

    /// Authenticates a request from its `Authorization` header and its `token` query
    /// parameter, in splunkd's order: missing, malformed, unknown, disabled, then query-string
    /// authentication not allowed.
    pub fn authenticate(
        &self,
        header: Option<&[u8]>,
        query_token: Option<&str>,
    ) -> Result<&Token, HecStatus> {
        let (presented, via_query) = match header {
            Some(h) => (credential(h).ok_or(HecStatus::InvalidAuthorization)?, false),
            None => match query_token {
                Some(q) => (q.as_bytes().to_vec(), true),
                None => return Err(HecStatus::TokenRequired),
            },
        };
        let token = self.find(&presented).ok_or(HecStatus::InvalidToken)?;
        if !token.config.enabled {
            return Err(HecStatus::TokenDisabled);
        }
        if via_query && !token.config.allow_query_string_auth {
            return Err(HecStatus::QueryStringAuthDisabled);
        }
        Ok(token)
    }
}

/// The token in an `Authorization` header value, if the header has a HEC scheme.
fn credential(header: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(header).ok()?.trim();
    let (scheme, rest) = text.split_once(' ')?;
    let rest = rest.trim();
    if rest.is_empty() {
        return None;
    }
    if scheme.eq_ignore_ascii_case("Splunk") {
        Some(rest.as_bytes().to_vec())
    } else if scheme.eq_ignore_ascii_case("Basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let colon = decoded.iter().position(|&b| b == b':')?;
        Some(decoded[colon + 1..].to_vec())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> TokenStore {
        TokenStore::new(&[
            TokenConfig::new("good-token"),
            TokenConfig {
                enabled: false,
                ..TokenConfig::new("off-token")
            },
            TokenConfig {
                allow_query_string_auth: true,
                ..TokenConfig::new("query-token")
            },
        ])
    }

    #[test]
    fn the_three_ways_to_present_a_token() {
        let s = store();
        assert!(s.authenticate(Some(b"Splunk good-token"), None).is_ok());
        assert!(s.authenticate(Some(b"splunk   good-token "), None).is_ok());
        // Basic: any user, the token as password ("x:good-token").
        assert!(
            s.authenticate(Some(b"Basic eDpnb29kLXRva2Vu"), None)
                .is_ok()
        );
        assert!(s.authenticate(None, Some("query-token")).is_ok());
    }

    #[test]
    fn each_failure_has_its_status() {
        let s = store();
        assert_eq!(
            s.authenticate(None, None).unwrap_err(),
            HecStatus::TokenRequired
        );
        assert_eq!(
            s.authenticate(Some(b"Bearer good-token"), None)
                .unwrap_err(),
            HecStatus::InvalidAuthorization
        );
        assert_eq!(
            s.authenticate(Some(b"good-token"), None).unwrap_err(),
            HecStatus::InvalidAuthorization
        );
        assert_eq!(
            s.authenticate(Some(b"Splunk nope"), None).unwrap_err(),
            HecStatus::InvalidToken
        );
        assert_eq!(
            s.authenticate(Some(b"Splunk off-token"), None).unwrap_err(),
            HecStatus::TokenDisabled
        );
        assert_eq!(
            s.authenticate(None, Some("good-token")).unwrap_err(),
            HecStatus::QueryStringAuthDisabled
        );
        assert_eq!(
            s.authenticate(None, Some("nope")).unwrap_err(),
            HecStatus::InvalidToken,
            "an unknown token is refused before query-string authentication is considered"
        );
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let s = store();
        assert!(!format!("{s:?}").contains("good-token"));
    }
}
