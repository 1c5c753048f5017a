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
    // One downcast per classified type; every link of the chain tries them all.
    const AS_CLASSIFY: [for<'a> fn(&'a Cause) -> Option<&'a dyn Classify>; 10] = [
        as_classify::<StoreError>,
        as_classify::<MintError>,
        as_classify::<ProbeError>,
        as_classify::<ClusterError>,
        as_classify::<ConfigError>,
        as_classify::<AuthError>,
        as_classify::<ClientError>,
        as_classify::<HttpError>,
        as_classify::<StateError>,
        as_classify::<CacheError>,
    ];
    err.chain()
        .find_map(|cause| AS_CLASSIFY.iter().find_map(|cast| cast(cause)))
}

/// One link of an error chain.
type Cause = dyn std::error::Error + 'static;

/// `cause` as a [`Classify`] when it is an `E`.
fn as_classify<E: Classify + std::error::Error + 'static>(cause: &Cause) -> Option<&dyn Classify> {
    cause.downcast_ref::<E>().map(|e| e as &dyn Classify)
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
