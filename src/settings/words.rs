//! Library messages in plain words: "did you mean" for config keys and
//! duration units, and the TOML/serde and humantime texts people meet most.
//! Nothing here reaches the network; everything is a pure function, tested
//! table by table below.

/// The closest candidate to `word`, when it is close enough to be a typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let w = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(&w, &c.to_ascii_lowercase()), *c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// The keys a table of our config file may hold, by the name of the table.
pub fn keys_of(table: &str) -> &'static [&'static str] {
    match table {
        "" => &["profile"],
        "profile" => &[
            "name",
            "product",
            "host",
            "port",
            "account_id",
            "cluster_id",
            "management_url",
            "management_backend",
            "influxctl",
            "mgmt_token",
            "tls",
            "auth",
        ],
        "tls" => &["insecure", "disable", "ca", "cert", "key"],
        "auth" => &["oauth2"],
        "oauth2" => &[
            "client_id",
            "scopes",
            "parameters",
            "token_url",
            "device_url",
            "revocation_url",
            "issuer",
            "grant",
            "client_secret_file",
            "private_key_file",
            "private_key_alg",
            "client_assertion_file",
        ],
        _ => &[],
    }
}

/// "did you mean `scopes`?" for an unknown key `key` in table `table`.
pub fn key_suggestion(table: &str, key: &str) -> Option<String> {
    did_you_mean(key, keys_of(table)).map(|k| format!("did you mean `{k}`?"))
}

/// The duration units people write, for suggestions.
const UNITS: &[&str] = &[
    "s", "sec", "secs", "second", "seconds", "m", "min", "mins", "minute", "minutes", "h", "hr",
    "hrs", "hour", "hours", "d", "day", "days", "w", "week", "weeks", "M", "month", "months", "y",
    "year", "years",
];

/// A duration that humantime refused, in plain words: what is wrong and
/// what to write instead. `example` is a typical value for this flag.
pub fn duration_problem(input: &str, example: &str) -> (String, String) {
    let t = input.trim();
    let units = "units: s, m, h, d, w, months, y (e.g. 90d, 12h, 1y 6months)";
    if t.is_empty() {
        return (
            "the duration is empty".into(),
            format!("write e.g. {example}; {units}"),
        );
    }
    if t.chars().all(|c| c.is_ascii_digit()) {
        return (
            format!("`{t}` has no unit"),
            format!("did you mean `{t}d` ({t} days)? {units}"),
        );
    }
    // The first number-then-letters group whose letters are not a unit.
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let after = rest[digits..].trim_start();
        let letters = after
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after.len());
        let unit = &after[..letters];
        if digits == 0 {
            break;
        }
        if !unit.is_empty() && !UNITS.contains(&unit) {
            let hint = match did_you_mean(unit, UNITS) {
                Some(u) => format!("did you mean `{u}`? {units}"),
                None => units.to_string(),
            };
            return (format!("`{t}`: `{unit}` is not a unit of time"), hint);
        }
        rest = after[letters..].trim_start();
    }
    (
        format!("`{t}` is not a duration"),
        format!("write e.g. {example}; {units}"),
    )
}

/// A TOML/serde message about our file in plain words (the rest as is).
pub fn toml_message(message: &str) -> String {
    let m = message.trim();
    if m.starts_with("invalid type: map, expected a sequence") {
        return "profiles are a list: write `[[profile]]` (two brackets), not `[profile]`".into();
    }
    if m.starts_with("invalid type: sequence, expected a map")
        || m.starts_with("invalid type: sequence, expected struct")
    {
        return "this is a table, not a list: write `[profile.tls]` or `[profile.auth.oauth2]` (one bracket)".into();
    }
    if let Some(rest) = m.strip_prefix("missing field ") {
        return format!("missing key {rest}");
    }
    m.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_for_keys() {
        let cases = [
            ("oauth2", "scope", Some("did you mean `scopes`?")),
            ("oauth2", "client-id", Some("did you mean `client_id`?")),
            ("profile", "hots", Some("did you mean `host`?")),
            ("tls", "insecur", Some("did you mean `insecure`?")),
            ("profile", "zzzzzz", None),
        ];
        for (table, key, want) in cases {
            assert_eq!(key_suggestion(table, key).as_deref(), want, "{table}.{key}");
        }
    }

    #[test]
    fn durations_in_plain_words() {
        // (input, words in the message, words in the hint)
        let cases = [
            ("90", "`90` has no unit", "did you mean `90d`"),
            (
                "90dys",
                "`dys` is not a unit of time",
                "did you mean `days`",
            ),
            (
                "12 hourz",
                "`hourz` is not a unit of time",
                "did you mean `hour",
            ),
            ("", "empty", "e.g. 90d"),
            ("soon", "`soon` is not a duration", "units:"),
        ];
        for (input, msg, hint) in cases {
            let (m, h) = duration_problem(input, "90d");
            assert!(m.contains(msg), "{input:?}: {m}");
            assert!(h.contains(hint), "{input:?}: {h}");
            assert!(!m.contains("supported units"), "{m}");
        }
    }

    #[test]
    fn toml_messages() {
        let cases = [
            ("invalid type: map, expected a sequence", "`[[profile]]`"),
            ("missing field `name`", "missing key `name`"),
            ("expected `=`", "expected `=`"),
        ];
        for (input, want) in cases {
            assert!(toml_message(input).contains(want), "{input}");
        }
    }
}
