//! Client-side-apply semantics computed in one place. STUB.
