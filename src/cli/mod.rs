//! kubectl-style verbs and printers. STUB.

/// Parse arguments, run the verb, return the process exit code.
pub fn main() -> i32 {
    0
}
