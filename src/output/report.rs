//! The top-level error report: one line for the whole error chain, an
//! optional hint, and the documented exit code found in the chain.
use crate::error::{
    AuthError, CacheError, Classify, ClientError, ClusterError, ConfigError, HttpError, MintError,
    ProbeError, StateError, exit,
};
use crate::printer::Printer;
use crate::store::StoreError;

/// The first classified error in the chain (outermost first).
fn classify(err: &anyhow::Error) -> Option<&dyn Classify> {
    err.chain().find_map(|cause| -> Option<&dyn Classify> {
        if let Some(e) = cause.downcast_ref::<StoreError>() {
            return Some(e);
        }
        if let Some(e) = cause.downcast_ref::<MintError>() {
            return Some(e);
        }
        if let Some(e) = cause.downcast_ref::<ProbeError>() {
            return Some(e);
        }
        if let Some(e) = cause.downcast_ref::<ClusterError>() {
            return Some(e);
        }
        if let Some(e) = cause.downcast_ref::<ConfigError>() {
            return Some(e);
        }
        if let Some(e) = cause.downcast_ref::<AuthError>() {
            return Some(e);
        }
        if let Some(e) = cause.downcast_ref::<ClientError>() {
            return Some(e);
        }
        if let Some(e) = cause.downcast_ref::<HttpError>() {
            return Some(e);
        }
        if let Some(e) = cause.downcast_ref::<StateError>() {
            return Some(e);
        }
        cause
            .downcast_ref::<CacheError>()
            .map(|e| e as &dyn Classify)
    })
}

/// The hint of the first classified error in the chain, if it has one.
pub fn hint(err: &anyhow::Error) -> Option<String> {
    classify(err).and_then(|c| c.hint())
}

/// The exit code for an error chain.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    classify(err).map_or(exit::FAILURE, |c| c.exit_code())
}

/// Print the error chain as one line plus an optional hint; return the exit code.
pub fn report(err: &anyhow::Error, printer: &Printer) -> i32 {
    let code = exit_code(err);
    if code == exit::INTERRUPTED {
        match err.chain().find_map(|c| c.downcast_ref::<MintError>()) {
            Some(e) => printer.error(e),
            None => printer.error("interrupted"),
        }
        return code;
    }
    let mut line = String::from("error: ");
    for (i, cause) in err.chain().enumerate() {
        if i > 0 {
            line.push_str(": ");
        }
        line.push_str(&cause.to_string());
    }
    printer.error(line);
    if let Some(hint) = classify(err).and_then(|c| c.hint()) {
        printer.error(format!("hint: {hint}"));
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_found_through_context() {
        let cases: Vec<(anyhow::Error, i32)> = vec![
            (
                anyhow::Error::new(AuthError::Denied).context("login failed"),
                exit::DENIED,
            ),
            (
                anyhow::Error::new(AuthError::Expired {
                    valid_for: "10m".into(),
                }),
                exit::EXPIRED,
            ),
            (
                anyhow::Error::new(HttpError::Transport {
                    url: "u".into(),
                    cause: "c".into(),
                })
                .context("discovery"),
                exit::IDP,
            ),
            (
                anyhow::Error::new(CacheError::Insecure {
                    path: "/x".into(),
                    mode: 0o644,
                }),
                exit::LOCAL_STATE,
            ),
            (anyhow::anyhow!("plain"), exit::FAILURE),
            (
                anyhow::Error::new(AuthError::Interrupted),
                exit::INTERRUPTED,
            ),
        ];
        for (err, code) in cases {
            assert_eq!(exit_code(&err), code, "{err:#}");
        }
    }
}
