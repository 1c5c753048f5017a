//! Process hardening done once at start, before anything holds a secret.
//!
//! - **No core dumps** (`RLIMIT_CORE` 0) and **not dumpable**
//!   (`PR_SET_DUMPABLE` 0, Linux): a SIGQUIT or a crash must not write the
//!   management, access and ID tokens we hold in memory to a core file, and
//!   another process of the same user cannot `ptrace` us or read
//!   `/proc/<pid>/mem` (see proc(5), "dumpable").
//! - **Standard descriptors 0–2 are open**: if we were started with one of
//!   them closed (`2>&-`), the next file we open would get that number and
//!   everything written "to stderr" would go into it — possibly a token file.
//!   They are pointed at `/dev/null` instead (as OpenSSH and sudo do).
//!
//! Best effort: a failure is logged, never fatal.

/// Apply everything above. Call first thing in `main`.
pub fn apply() {
    #[cfg(unix)]
    {
        reopen_std_fds();
        no_core_dumps();
    }
}

#[cfg(unix)]
fn reopen_std_fds() {
    for fd in 0..=2 {
        // SAFETY: F_GETFD on a small integer has no preconditions.
        let closed = unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1;
        if !closed {
            continue;
        }
        let flags = if fd == 0 {
            libc::O_RDONLY
        } else {
            libc::O_WRONLY
        };
        // SAFETY: the path is a NUL-terminated literal.
        let null = unsafe { libc::open(c"/dev/null".as_ptr(), flags) };
        if null >= 0 && null != fd {
            // SAFETY: both are descriptors we own; dup2 replaces `fd`.
            unsafe {
                libc::dup2(null, fd);
                libc::close(null);
            }
        }
    }
}

#[cfg(unix)]
fn no_core_dumps() {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit with a valid pointer to an initialised struct.
    if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) } != 0 {
        tracing::debug!(
            "cannot disable core dumps: {}",
            std::io::Error::last_os_error()
        );
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: PR_SET_DUMPABLE takes one integer argument; the rest are unused.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        tracing::debug!(
            "cannot mark the process not dumpable: {}",
            std::io::Error::last_os_error()
        );
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_os = "linux")]
    #[test]
    fn core_dumps_are_off_after_apply() {
        super::apply();
        let mut lim = libc::rlimit {
            rlim_cur: 1,
            rlim_max: 1,
        };
        // SAFETY: valid out-pointer.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut lim) }, 0);
        assert_eq!((lim.rlim_cur, lim.rlim_max), (0, 0));
        // SAFETY: no arguments for PR_GET_DUMPABLE.
        assert_eq!(unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) }, 0);
    }
}
