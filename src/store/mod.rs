//! Secret stores (see helper work in progress).
