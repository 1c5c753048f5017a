//! Token material (management tokens `M.V1.…`, database tokens `apiv1_…`), ids
//! and time formatting.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use ring::rand::{SecureRandom, SystemRandom};

/// Every management token starts with this; it is how a management token is told
/// apart from a JWT in `Authorization: Bearer`.
pub const TOKEN_PREFIX: &str = "M.V1.";
/// Number of characters of the random part shown in `tokenPrefix`.
pub const PREFIX_RANDOM_CHARS: usize = 6;
/// Length of a management token: prefix + 43 base64url characters (256 bits).
pub const TOKEN_LEN: usize = TOKEN_PREFIX.len() + 43;

fn random<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    SystemRandom::new()
        .fill(&mut buf)
        .expect("the operating system's random number generator failed");
    buf
}

/// A new management token: `M.V1.` + base64url (no padding) of 32 random bytes.
pub fn generate_token() -> String {
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(random::<32>()))
}

/// The displayable start of a token, e.g. `M.V1.ab12cd`.
pub fn display_prefix(token: &str) -> String {
    token
        .chars()
        .take(TOKEN_PREFIX.len() + PREFIX_RANDOM_CHARS)
        .collect()
}

/// SHA-256 of the whole token string; the only form in which tokens are stored.
pub fn hash_token(token: &str) -> [u8; 32] {
    sha256(token.as_bytes())
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Every database token starts with this (as on InfluxDB Clustered and Cloud Dedicated).
pub const DATABASE_TOKEN_PREFIX: &str = "apiv1_";
/// Length of a database token: prefix + 86 base64url characters (512 bits).
pub const DATABASE_TOKEN_LEN: usize = DATABASE_TOKEN_PREFIX.len() + 86;

/// A new database token: `apiv1_` + base64url (no padding) of 64 random bytes.
pub fn generate_database_token() -> String {
    format!(
        "{DATABASE_TOKEN_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(random::<64>())
    )
}

/// SHA-512 of the whole database token string; the only form in which
/// database tokens are stored.
pub fn hash_database_token(token: &str) -> [u8; 64] {
    let digest = ring::digest::digest(&ring::digest::SHA512, token.as_bytes());
    let mut out = [0u8; 64];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Whether `s` is a UUID in its hyphenated form (any version, either case).
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// A random (version 4) UUID in its lowercase hyphenated form.
pub fn new_uuid_v4() -> String {
    let mut b = random::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Current time in microseconds since the Unix epoch.
pub fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

/// RFC 3339 in UTC with `Z`; fractional seconds only when non-zero (3 or 6 digits).
pub fn format_micros(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Parses an RFC 3339 date-time (any offset) to microseconds since the epoch,
/// truncating sub-microsecond digits.
pub fn parse_rfc3339_micros(s: &str) -> Option<i64> {
    // chrono also accepts a space or lowercase `t` as the separator, as RFC 3339 allows.
    let t = DateTime::parse_from_rfc3339(s).ok()?;
    Some(t.with_timezone(&Utc).timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shape() {
        let t = generate_token();
        assert_eq!(t.len(), TOKEN_LEN);
        assert!(t.starts_with(TOKEN_PREFIX));
        assert_eq!(display_prefix(&t).len(), 11);
        assert_ne!(t, generate_token());
    }

    #[test]
    fn database_token_shape_and_hash() {
        let t = generate_database_token();
        assert_eq!(t.len(), DATABASE_TOKEN_LEN);
        assert!(t.len() >= 64);
        assert!(t.starts_with(DATABASE_TOKEN_PREFIX));
        assert!(
            t[DATABASE_TOKEN_PREFIX.len()..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(t, generate_database_token());
        // SHA-512("abc"), FIPS 180-2 appendix C.1.
        let h = hash_database_token("abc");
        assert_eq!(&h[..4], &[0xdd, 0xaf, 0x35, 0xa1]);
        assert_eq!(&h[60..], &[0xa5, 0x4c, 0xa4, 0x9f]);
    }

    #[test]
    fn uuids_are_recognised() {
        for (s, ok) in [
            ("11111111-1111-1111-1111-111111111111", true),
            ("0A1b2C3d-0000-4000-8000-00000000000F", true),
            ("11111111-1111-1111-1111-11111111111", false),
            ("11111111-1111-1111-1111-1111111111111", false),
            ("111111111111-1111-1111-111111111111", false),
            ("g1111111-1111-1111-1111-111111111111", false),
            ("", false),
        ] {
            assert_eq!(is_uuid(s), ok, "{s:?}");
        }
        assert!(is_uuid(&new_uuid_v4()));
    }

    #[test]
    fn uuid_shape() {
        let u = new_uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn times() {
        let m = parse_rfc3339_micros("2030-01-02T03:04:05+01:00").unwrap();
        assert_eq!(format_micros(m), "2030-01-02T02:04:05Z");
        let m = parse_rfc3339_micros("2030-01-02T03:04:05.123456789Z").unwrap();
        assert_eq!(format_micros(m), "2030-01-02T03:04:05.123456Z");
        assert!(parse_rfc3339_micros("2030-01-02").is_none());
        assert!(parse_rfc3339_micros("tomorrow").is_none());
    }
}
